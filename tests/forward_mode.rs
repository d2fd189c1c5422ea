//! `NAME_grad` in forward mode: a function of one or two numbers with a loop carries its
//! derivatives forward beside its values, while `NAME_vjp` stays in reverse mode. Each case is
//! checked against the reverse mode, against derivatives worked by hand or central
//! differences, and for what forward mode must not need: a tape.

#![allow(clippy::assign_op_pattern, clippy::needless_range_loop)]

use differentiate::check::central_difference;
use differentiate::differentiate;
use differentiate::runtime::tape::{bytes_recorded, reset_bytes_recorded};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

/// Explicit-Euler damped oscillator: `x'' = -k x - c x'`.
#[differentiate(wrt(k, c))]
fn oscillator(k: f64, c: f64, x0: f64, v0: f64, dt: f64, steps: usize) -> f64 {
    let mut x = x0;
    let mut v = v0;
    for _ in 0..steps {
        let a = -k * x - c * v;
        x += dt * v;
        v += dt * a;
    }
    x
}

#[test]
fn oscillator_forward_matches_reverse_without_a_tape() {
    let (k, c) = (3.0, 0.4);
    reset_bytes_recorded();
    let (value, (dk, dc)) = oscillator_grad(k, c, 1.0, 0.0, 0.01, 500);
    assert_eq!(bytes_recorded(), 0, "forward mode records nothing");
    assert_eq!(value, oscillator(k, c, 1.0, 0.0, 0.01, 500));
    let (reverse_value, (rk, rc)) = oscillator_vjp(k, c, 1.0, 0.0, 0.01, 500, 1.0);
    assert!(bytes_recorded() > 0, "reverse mode records the trajectory");
    assert_eq!(reverse_value, value);
    assert!(close(dk, rk, 1e-12), "{dk} vs {rk}");
    assert!(close(dc, rc, 1e-12), "{dc} vs {rc}");
    let fd_k = central_difference(|k| oscillator(k, c, 1.0, 0.0, 0.01, 500), k, 1e-6);
    let fd_c = central_difference(|c| oscillator(k, c, 1.0, 0.0, 0.01, 500), c, 1e-6);
    assert!(close(dk, fd_k, 1e-6), "{dk} vs {fd_k}");
    assert!(close(dc, fd_c, 1e-6), "{dc} vs {fd_c}");
}

/// Branches, a `while` loop with `break`, transcendental rules and a kink.
#[differentiate]
fn branchy(x: f64, y: f64) -> f64 {
    let mut s = 0.0;
    let mut p = x;
    let mut i = 0;
    while i < 20 {
        if p > 1.0 {
            p = p.sin() * y;
        } else {
            p = p * p + y.exp() / (1.0 + p.abs());
        }
        s += p.max(0.3 * y);
        i += 1;
        if s > 50.0 {
            break;
        }
    }
    s.tanh() + s / (1.0 + y * y)
}

#[test]
fn branches_and_while_match_reverse_and_differences() {
    for &(x, y) in &[(0.3, 0.7), (1.4, -0.2), (2.5, 1.1), (-0.6, 0.05)] {
        reset_bytes_recorded();
        let (value, (dx, dy)) = branchy_grad(x, y);
        assert_eq!(bytes_recorded(), 0);
        assert_eq!(value, branchy(x, y));
        let (_, (rx, ry)) = branchy_vjp(x, y, 1.0);
        assert!(close(dx, rx, 1e-12), "at ({x}, {y}): {dx} vs {rx}");
        assert!(close(dy, ry, 1e-12), "at ({x}, {y}): {dy} vs {ry}");
        let fd_x = central_difference(|x| branchy(x, y), x, 1e-7);
        let fd_y = central_difference(|y| branchy(x, y), y, 1e-7);
        assert!(close(dx, fd_x, 1e-5), "at ({x}, {y}): {dx} vs {fd_x}");
        assert!(close(dy, fd_y, 1e-5), "at ({x}, {y}): {dy} vs {fd_y}");
    }
}

/// One input, nested loops, an inactive buffer read in the loop, a cast and `powi`.
#[differentiate]
fn nested(a: f64, table: &[usize]) -> f64 {
    let weights = [0.5, 1.5, -0.25];
    let mut total = 0.0;
    for i in 0..table.len() {
        let t = table[i];
        let mut inner = a;
        for j in 0..3 {
            inner = inner * weights[j] + (t as f64) * a.powi(2);
        }
        total += inner.cos();
    }
    total
}

#[test]
fn one_input_nested_loops() {
    let table = [1, 4, 2];
    let a = 0.37;
    reset_bytes_recorded();
    let (value, da) = nested_grad(a, &table);
    assert_eq!(bytes_recorded(), 0);
    assert_eq!(value, nested(a, &table));
    let (_, ra) = nested_vjp(a, &table, 1.0);
    assert!(close(da, ra, 1e-12), "{da} vs {ra}");
    let fd = central_difference(|a| nested(a, &table), a, 1e-7);
    assert!(close(da, fd, 1e-6), "{da} vs {fd}");
}

#[differentiate]
fn geometric_f32(r: f32, n: u32) -> f32 {
    let mut s = 0.0f32;
    let mut term = 1.0f32;
    for _ in 0..n {
        s += term;
        term *= r;
    }
    s
}

#[test]
fn single_precision_by_hand() {
    // Σ_{i<n} r^i has derivative Σ i r^(i-1): at r = 0.5, n = 4: 1 + 1 + 0.75 = 2.75.
    let (value, dr) = geometric_f32_grad(0.5, 4);
    assert_eq!(value, 1.875);
    assert_eq!(dr, 2.75);
    assert_eq!(geometric_f32_vjp(0.5, 4, 1.0).1, 2.75);
}
