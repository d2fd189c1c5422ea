//! A long time-stepping loop in bounded memory: the gradient of a 10⁶-step integration of a
//! chain of 100 coupled oscillators with respect to its stiffness and damping, taped and
//! checkpointed with 100 snapshots (`#[differentiate(checkpoint('time, 100))]`).
//!
//! `cargo run --release --example checkpointing [steps]` prints the peak memory each
//! reverse sweep held, the time each took, and checks that both give the same bits.

#![allow(clippy::needless_range_loop, clippy::manual_memcpy)]

use differentiate::differentiate;
use differentiate::runtime::checkpoint::repetitions;
use differentiate::runtime::tape::{peak_bytes, reset_bytes_recorded};
use std::time::Instant;

const SNAPSHOTS: usize = 100;

/// The energy left after `steps` semi-implicit Euler steps of a chain of oscillators.
#[differentiate(wrt(k, c))]
fn chain_energy(x0: &[f64], k: f64, c: f64, steps: usize) -> f64 {
    let n = x0.len();
    let dt = 0.01;
    let mut x = vec![0.0; n];
    let mut v = vec![0.0; n];
    x.copy_from_slice(x0);
    for _ in 0..steps {
        for i in 1..n - 1 {
            let force = k * (x[i - 1] - 2.0 * x[i] + x[i + 1]) - c * v[i];
            v[i] += dt * force;
        }
        for i in 1..n - 1 {
            x[i] += dt * v[i];
        }
    }
    let mut e = 0.0;
    for i in 0..n {
        e += 0.5 * v[i] * v[i] + 0.5 * x[i] * x[i];
    }
    e
}

/// The same, checkpointed.
#[differentiate(wrt(k, c), checkpoint('time, 100))]
fn chain_energy_checkpointed(x0: &[f64], k: f64, c: f64, steps: usize) -> f64 {
    let n = x0.len();
    let dt = 0.01;
    let mut x = vec![0.0; n];
    let mut v = vec![0.0; n];
    x.copy_from_slice(x0);
    'time: for _ in 0..steps {
        for i in 1..n - 1 {
            let force = k * (x[i - 1] - 2.0 * x[i] + x[i + 1]) - c * v[i];
            v[i] += dt * force;
        }
        for i in 1..n - 1 {
            x[i] += dt * v[i];
        }
    }
    let mut e = 0.0;
    for i in 0..n {
        e += 0.5 * v[i] * v[i] + 0.5 * x[i] * x[i];
    }
    e
}

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("the number of steps"))
        .unwrap_or(1_000_000);
    let x0: Vec<f64> = (0..100).map(|i| (i as f64 * 0.3).sin()).collect();
    let (k, c) = (1.5, 0.01);
    let state_bytes = 2 * x0.len() * 8;
    println!(
        "{steps} steps of 100 coupled oscillators (state {state_bytes} bytes), gradient with respect to (k, c)"
    );

    reset_bytes_recorded();
    let started = Instant::now();
    let taped = chain_energy_vjp(&x0, k, c, steps, 1.0);
    let taped_time = started.elapsed();
    let taped_peak = peak_bytes();

    reset_bytes_recorded();
    let started = Instant::now();
    let checkpointed = chain_energy_checkpointed_vjp(&x0, k, c, steps, 1.0);
    let checkpointed_time = started.elapsed();
    let checkpointed_peak = peak_bytes();

    let r = repetitions(steps, SNAPSHOTS);
    println!(
        "  taped:        {:>12} bytes held at peak, {:>8.3} s",
        taped_peak,
        taped_time.as_secs_f64()
    );
    println!(
        "  checkpointed: {:>12} bytes held at peak, {:>8.3} s ({SNAPSHOTS} snapshots; each step run again at most {r} times)",
        checkpointed_peak,
        checkpointed_time.as_secs_f64()
    );
    println!(
        "  memory ÷ {:.0}, time × {:.2}",
        taped_peak as f64 / checkpointed_peak as f64,
        checkpointed_time.as_secs_f64() / taped_time.as_secs_f64()
    );
    println!("  value {}, gradient {:?}", checkpointed.0, checkpointed.1);
    assert_eq!(taped, checkpointed, "checkpointing changed the result");
    // (s + 1) states and one step's record: the snapshots, the loop's own state, the record.
    let bound = (SNAPSHOTS + 1) * (state_bytes + 64) + 4096;
    assert!(
        checkpointed_peak <= bound,
        "checkpointed peak {checkpointed_peak} over the bound {bound}"
    );
    println!("  same bits as the taped sweep; peak within (s + 1) states and one step's record");
}
