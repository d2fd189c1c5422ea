//! A long time-stepping loop in bounded memory: the gradient of a 10⁶-step integration of a
//! chain of 100 coupled oscillators with respect to its stiffness and damping, taped and
//! checkpointed with 100 snapshots (`#[differentiate(checkpoint('time, 100))]`).
//!
//! `cargo run --release --example checkpointing [steps]` prints the peak memory each
//! reverse sweep held, the time each took, and checks that both give the same bits.

#![allow(clippy::needless_range_loop, clippy::manual_memcpy)]

use differentiate::runtime::checkpoint::repetitions;
use differentiate::runtime::tape::{peak_bytes, reset_bytes_recorded};
use std::time::Instant;

// The chain and its two gradients, shared with the benchmark report.
#[path = "../benches/workloads/checkpoint.rs"]
mod chain;

use chain::*;

fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("the number of steps"))
        .unwrap_or(1_000_000);
    let x0 = start();
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
