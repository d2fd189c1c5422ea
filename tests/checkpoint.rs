//! Checkpointed loops (`#[differentiate(checkpoint('label, s))]`) against the same loops
//! taped: the same operations in the same order, so the same bits. Range, `while` and `loop`
//! with `break`, nested loops, loops that do not run, one step, as many steps as snapshots,
//! far more steps than snapshots; and the peak memory a checkpointed sweep holds. Through
//! `NAME_vjp`, which always runs the reverse sweep (`NAME_grad` may run forward mode).

#![allow(clippy::needless_range_loop, clippy::manual_memcpy)]

use differentiate::differentiate;
use differentiate::runtime::tape::{peak_bytes, reset_bytes_recorded};

/// A damped oscillator, `steps` explicit Euler steps: the taped reference.
#[differentiate(wrt(k, c))]
fn oscillator(k: f64, c: f64, steps: usize) -> f64 {
    let (mut x, mut v): (f64, f64) = (1.0, 0.0);
    let dt = 0.01;
    for _ in 0..steps {
        let a = -k * x.sin() - c * v * v.abs();
        x += dt * v;
        v += dt * a;
    }
    x * x + v
}

/// The same, checkpointed.
#[differentiate(wrt(k, c), checkpoint('time, 3))]
fn oscillator_checkpointed(k: f64, c: f64, steps: usize) -> f64 {
    let (mut x, mut v): (f64, f64) = (1.0, 0.0);
    let dt = 0.01;
    'time: for _ in 0..steps {
        let a = -k * x.sin() - c * v * v.abs();
        x += dt * v;
        v += dt * a;
    }
    x * x + v
}

#[test]
fn a_range_loop_gives_the_taped_bits() {
    for steps in [0, 1, 2, 3, 4, 7, 50, 1000] {
        assert_eq!(
            oscillator_checkpointed_vjp(2.0, 0.3, steps, 1.0),
            oscillator_vjp(2.0, 0.3, steps, 1.0),
            "{steps} steps"
        );
    }
}

/// A heat equation on a buffer: the state is the buffer, written every step.
#[differentiate(wrt(u0, alpha))]
fn heat(u0: &[f64], alpha: f64, steps: usize) -> f64 {
    let n = u0.len();
    let mut u = vec![0.0; n];
    let mut next = vec![0.0; n];
    for i in 0..n {
        u[i] = u0[i];
    }
    for _ in 0..steps {
        for i in 1..n - 1 {
            next[i] = u[i] + alpha * (u[i - 1] - 2.0 * u[i] + u[i + 1]);
        }
        for i in 1..n - 1 {
            u[i] = next[i].tanh();
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += u[i] * u[i];
    }
    s
}

#[differentiate(wrt(u0, alpha), checkpoint('time, 4))]
fn heat_checkpointed(u0: &[f64], alpha: f64, steps: usize) -> f64 {
    let n = u0.len();
    let mut u = vec![0.0; n];
    let mut next = vec![0.0; n];
    for i in 0..n {
        u[i] = u0[i];
    }
    'time: for _ in 0..steps {
        for i in 1..n - 1 {
            next[i] = u[i] + alpha * (u[i - 1] - 2.0 * u[i] + u[i + 1]);
        }
        for i in 1..n - 1 {
            u[i] = next[i].tanh();
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += u[i] * u[i];
    }
    s
}

#[test]
fn buffers_and_nested_loops_give_the_taped_bits() {
    let u0: Vec<f64> = (0..8).map(|i| (i as f64 * 0.7).sin()).collect();
    for steps in [0, 1, 4, 5, 33] {
        assert_eq!(
            heat_checkpointed_vjp(&u0, 0.2, steps, 1.0),
            heat_vjp(&u0, 0.2, steps, 1.0),
            "{steps} steps"
        );
    }
}

/// A `while` loop: its trip count is known when it ends.
#[differentiate(wrt(x))]
fn halving(x: f64, limit: f64) -> f64 {
    let mut y = x;
    let mut s = 0.0;
    while y.abs() > limit {
        s += y.sin();
        y *= 0.5;
    }
    s + y
}

#[differentiate(wrt(x), checkpoint('halve, 2))]
fn halving_checkpointed(x: f64, limit: f64) -> f64 {
    let mut y = x;
    let mut s = 0.0;
    'halve: while y.abs() > limit {
        s += y.sin();
        y *= 0.5;
    }
    s + y
}

/// A `loop` with `break`.
#[differentiate(wrt(x))]
fn until(x: f64, n: usize) -> f64 {
    let mut y = x;
    let mut k = 0;
    loop {
        y = (y * 1.1).cos() + 0.1 * y;
        k += 1;
        if k >= n {
            break;
        }
    }
    y
}

#[differentiate(wrt(x), checkpoint('iterate, 3))]
fn until_checkpointed(x: f64, n: usize) -> f64 {
    let mut y = x;
    let mut k = 0;
    'iterate: loop {
        y = (y * 1.1).cos() + 0.1 * y;
        k += 1;
        if k >= n {
            break;
        }
    }
    y
}

#[test]
fn while_and_loop_give_the_taped_bits() {
    for limit in [100.0, 3.0, 0.5, 1e-3] {
        assert_eq!(
            halving_checkpointed_vjp(5.0, limit, 1.0),
            halving_vjp(5.0, limit, 1.0),
            "limit {limit}"
        );
    }
    for n in [1, 2, 3, 4, 17, 200] {
        assert_eq!(
            until_checkpointed_vjp(0.4, n, 1.0),
            until_vjp(0.4, n, 1.0),
            "n = {n}"
        );
    }
}

#[test]
fn a_checkpointed_sweep_holds_snapshots_and_one_record() {
    let steps = 10_000;
    reset_bytes_recorded();
    let _ = oscillator_vjp(2.0, 0.3, steps, 1.0);
    let taped = peak_bytes();
    reset_bytes_recorded();
    let _ = oscillator_checkpointed_vjp(2.0, 0.3, steps, 1.0);
    let checkpointed = peak_bytes();
    // The state is (x, v) and its position: 3 snapshots of it, and one step's record.
    let state = std::mem::size_of::<Option<(usize, (f64, f64))>>();
    assert!(
        taped >= steps * 8,
        "the taped loop holds every step: {taped} bytes"
    );
    assert!(
        checkpointed <= 3 * state + 64,
        "checkpointed: {checkpointed} bytes held at most (taped: {taped})"
    );
}
