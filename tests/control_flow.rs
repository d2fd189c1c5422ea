//! Control flow beyond `for`/`while`/`if`: labelled `break` and `continue`, `loop` with
//! `break value`, `while let`, `let .. else`, and conversions between `f32` and `f64`.
//! Gradients worked by hand and central differences.

mod common;

use common::assert_close;
use differentiate::check::central_gradient;
use differentiate::differentiate;

/// Sums `x[i] * x[j]` over pairs until the running sum passes `limit`: `break 'outer` leaves
/// both loops, `continue 'outer` skips the rest of a row.
#[differentiate(wrt(x))]
fn pairs_until(x: &[f64], limit: f64) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    'rows: for i in 0..n {
        for j in 0..n {
            if j > i {
                continue 'rows;
            }
            s += x[i] * x[j];
            if s > limit {
                break 'rows;
            }
        }
        s += 0.5 * x[i];
    }
    s
}

fn pairs_until_by_hand(x: &[f64], limit: f64) -> (f64, Vec<f64>) {
    let n = x.len();
    let (mut s, mut g) = (0.0, vec![0.0; n]);
    for i in 0..n {
        for j in 0..=i {
            s += x[i] * x[j];
            g[i] += x[j];
            g[j] += x[i];
            if s > limit {
                return (s, g);
            }
        }
        // `continue 'rows` skips the half step on every row but the last, where `j` never
        // passes `i`.
        if i == n - 1 {
            s += 0.5 * x[i];
            g[i] += 0.5;
        }
    }
    (s, g)
}

#[test]
fn labelled_break_and_continue() {
    let x = [0.5, 1.5, -0.25, 2.0];
    for limit in [0.1, 1.0, 2.5, 100.0] {
        let (value, grad) = pairs_until_grad(&x, limit);
        let (expected_value, expected) = pairs_until_by_hand(&x, limit);
        assert_eq!(value, pairs_until(&x, limit), "limit {limit}");
        assert_eq!(value, expected_value, "limit {limit}");
        assert_close("pairs_until", &grad, &expected, 1e-15);
    }
}

/// Newton's iteration for the cube root of `a`, as a `loop` whose value is the root.
#[differentiate]
fn cube_root(a: f64) -> f64 {
    let mut y = 1.0 + a / 3.0;
    let mut k = 0;
    let root = loop {
        let next = y - (y * y * y - a) / (3.0 * y * y);
        k += 1;
        if (next - y).abs() < 1e-15 || k == 50 {
            break next;
        }
        y = next;
    };
    root * 1.0
}

#[test]
fn loop_with_break_value() {
    let (value, grad) = cube_root_grad(8.0);
    assert!((value - 2.0).abs() < 1e-14);
    // d∛a/da = 1 / (3 ∛a²) = 1/12 at 8; the iteration converged, so its derivative has too.
    assert!((grad - 1.0 / 12.0).abs() < 1e-12, "{grad}");
}

/// `x^n` by repeated multiplication, counting down with `while let`.
#[differentiate(wrt(x))]
fn power(x: f64, n: usize) -> f64 {
    let mut y = 1.0;
    let mut left = n;
    while let Some(next) = left.checked_sub(1) {
        y *= x;
        left = next;
    }
    y
}

#[test]
fn while_let_counts_down() {
    for n in 0..5 {
        let (value, grad) = power_grad(1.7, n);
        assert_eq!(value, power(1.7, n));
        let expected = if n == 0 {
            0.0
        } else {
            n as f64 * 1.7f64.powi(n as i32 - 1)
        };
        assert!(
            (grad - expected).abs() < 1e-13,
            "n = {n}: {grad} vs {expected}"
        );
    }
}

/// `let .. else` on a constant option, diverging with an early `return`.
#[differentiate(wrt(x))]
fn scaled(x: f64, scale: Option<f64>) -> f64 {
    let Some(s) = scale else {
        return x.sin();
    };
    s * x * x
}

#[test]
fn let_else() {
    assert_eq!(scaled_grad(0.5, Some(3.0)).1, 3.0);
    assert_eq!(scaled_grad(0.5, None).1, 0.5f64.cos());
}

/// `f32` parameters converted to `f64` with `into`, `f64::from` and `as`, and back.
#[differentiate]
fn mixed(a: f32, b: f32) -> f64 {
    let x: f64 = a.into();
    let y = f64::from(b);
    let z = (x * y) as f32;
    x.sin() * y + f64::from(z * z) + (a as f64).exp()
}

#[test]
fn conversions_between_float_types() {
    let (a, b) = (0.75f32, -1.25f32);
    let (_, (ga, gb)) = mixed_grad(a, b);
    let (x, y) = (a as f64, b as f64);
    let z = (x * y) as f32 as f64;
    let expected_a = x.cos() * y + 2.0 * z * y + x.exp();
    let expected_b = x.sin() + 2.0 * z * x;
    let numeric = central_gradient(|p| mixed(p[0] as f32, p[1] as f32), &[x, y], 1e-3);
    assert!(
        (ga as f64 - expected_a).abs() < 1e-5,
        "{ga} vs {expected_a}"
    );
    assert!(
        (gb as f64 - expected_b).abs() < 1e-5,
        "{gb} vs {expected_b}"
    );
    assert_close(
        "mixed vs differences",
        &[ga as f64, gb as f64],
        &numeric,
        1e-2,
    );
}
