//! Reductions whose adjoint runs inside the forward loop (loop fusion), and the look-alikes
//! that must not be fused because an iteration's adjoint depends on later iterations.
//!
//! Which of these loops the macro fuses is tested in `autodiff-macros/src/fusion.rs`; here
//! every gradient is compared with one worked out by hand or with central differences of the
//! original function, fused or not.

#![allow(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::useless_vec,
    clippy::type_complexity
)]

use differentiate::check::central_gradient;
use differentiate::differentiate;
use differentiate::runtime::tape::{bytes_recorded, reset_bytes_recorded};

mod common;
use common::assert_close;

const H: f64 = 1e-6;

/// The gradient of a function of one slice against central differences of the function.
fn check_fd(name: &str, f: impl Fn(&[f64]) -> f64, grad: &[f64], x: &[f64]) {
    let fd = central_gradient(f, x, H);
    assert_close(name, grad, &fd, 1e-6);
}

const X: [f64; 6] = [0.3, -1.2, 0.7, 2.1, -0.4, 1.5];

// ---- fused: sums reaching the result linearly ----------------------------------------------

#[differentiate]
fn residual_sum(w: &[f64], x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let r = w[i] * x[i] - y[i];
        s += r * r + x[i].sin();
    }
    s
}

#[test]
fn separable_sum_matches_the_hand_gradient() {
    let w = [1.5, -0.5, 2.0, 0.25, 1.0, -1.0];
    let y = [0.1, 0.2, -0.3, 0.4, 0.0, 1.0];
    reset_bytes_recorded();
    let (value, (dw, dx, dy)) = residual_sum_grad(&w, &X, &y);
    assert_eq!(bytes_recorded(), 0);
    assert_eq!(value, residual_sum(&w, &X, &y));
    for i in 0..6 {
        let r = w[i] * X[i] - y[i];
        assert!((dw[i] - 2.0 * r * X[i]).abs() < 1e-12);
        assert!((dx[i] - (2.0 * r * w[i] + X[i].cos())).abs() < 1e-12);
        assert!((dy[i] + 2.0 * r).abs() < 1e-12);
    }
}

/// Two sums, the exits scaled by values computed before the loop, one of them by division,
/// and an outside scalar (`c`, from the parameter `a`) the iterations add to.
#[differentiate]
fn two_sums_scaled(a: f64, x: &[f64]) -> f64 {
    let c = a.sin();
    let n = x.len() as f64;
    let mut s = 0.0;
    let mut t = 1.0;
    for i in 0..x.len() {
        s += c * x[i];
        t -= x[i] * x[i];
    }
    let scaled = s * a - t / n;
    -scaled + 2.0 * (t + 1.0)
}

#[test]
fn scaled_exits_and_outside_adjoints() {
    let a = 0.8;
    let (value, (da, dx)) = two_sums_scaled_grad(a, &X);
    assert_eq!(value, two_sums_scaled(a, &X));
    // f = -a·sin(a)·Σx + t/n + 2t + 2 with t = 1 - Σx².
    let sx = X.iter().sum::<f64>();
    let n = X.len() as f64;
    let by_hand_da = -(a.sin() + a * a.cos()) * sx;
    assert!((da - by_hand_da).abs() < 1e-12, "{da} vs {by_hand_da}");
    let by_hand_dx: Vec<f64> = X
        .iter()
        .map(|v| -a * a.sin() - 2.0 * v * (1.0 / n + 2.0))
        .collect();
    assert_close("dx", &dx, &by_hand_dx, 1e-12);
    check_fd(
        "fd",
        |x| two_sums_scaled(a, x),
        &two_sums_scaled_grad(a, &X).1 .1,
        &X,
    );
}

/// Per-iteration scratch in buffers declared before the loop, wholly overwritten before each
/// read, as ADBench's GMM keeps `x - μ` and `Q(x - μ)`; an inner loop with its own tape.
#[differentiate]
fn scratch_per_point(x: &[f64], m: &[f64]) -> f64 {
    let d = m.len();
    let points = x.len() / d;
    let mut centred = vec![0.0; d];
    let mut scaled = vec![0.0; d];
    let mut total = 0.0;
    for p in 0..points {
        for j in 0..d {
            centred[j] = x[p * d + j] - m[j];
        }
        for j in 0..d {
            scaled[j] = centred[j].exp() * m[j];
        }
        for j in 1..d {
            scaled[j] += scaled[j - 1] * centred[j];
        }
        let mut norm = 0.0;
        for j in 0..d {
            norm += scaled[j].sin();
        }
        total += norm.ln_1p().powi(2);
    }
    0.5 * total
}

#[test]
fn scratch_buffers_overwritten_each_iteration() {
    let x = [
        0.3, -0.2, 0.5, 0.1, 0.9, -0.6, 0.4, 0.2, -0.3, 0.8, 0.7, 0.05,
    ];
    let m = [0.2, -0.1, 0.3];
    let (value, (dx, dm)) = scratch_per_point_grad(&x, &m);
    assert_eq!(value, scratch_per_point(&x, &m));
    check_fd("dx", |x| scratch_per_point(x, &m), &dx, &x);
    check_fd("dm", |m| scratch_per_point(&x, m), &dm, &m);
}

/// `while`, with a counter, and a sum subtracted from.
#[differentiate]
fn while_sum(x: &[f64]) -> f64 {
    let mut i = 0;
    let mut s = 0.0;
    while i < x.len() {
        s -= x[i].exp() * 0.5;
        i += 1;
    }
    s
}

#[test]
fn while_loop_sum() {
    let (value, dx) = while_sum_grad(&X);
    assert_eq!(value, while_sum(&X));
    let by_hand: Vec<f64> = X.iter().map(|v| -0.5 * v.exp()).collect();
    assert_close("dx", &dx, &by_hand, 1e-14);
}

/// Two results: each sum's adjoint is its own seed component.
#[differentiate]
fn two_outputs(x: &[f64]) -> (f64, f64) {
    let mut s = 0.0;
    let mut q = 0.0;
    for v in x.iter() {
        s += v.sin();
        q += v * v;
    }
    (s, 3.0 * q)
}

#[test]
fn tuple_results_seed_each_sum() {
    let (value, dx) = two_outputs_vjp(&X, (2.0, -1.0));
    assert_eq!(value, two_outputs(&X));
    let by_hand: Vec<f64> = X.iter().map(|v| 2.0 * v.cos() - 6.0 * v).collect();
    assert_close("dx", &dx, &by_hand, 1e-14);
}

#[differentiate]
fn sum_f32(x: &[f32], k: f32) -> f32 {
    let mut s = 0.0f32;
    for i in 0..x.len() {
        s += k * x[i] * x[i];
    }
    s / 2.0
}

#[test]
fn single_precision_sum() {
    let x = [1.0f32, -2.0, 0.5];
    let (value, (dx, dk)) = sum_f32_grad(&x, 3.0);
    assert_eq!(value, sum_f32(&x, 3.0));
    assert_eq!(dx, vec![3.0, -6.0, 1.5]);
    assert_eq!(dk, (1.0 + 4.0 + 0.25) / 2.0);
}

// ---- not fused: an iteration's adjoint depends on later ones -------------------------------

/// The buffer carries a value from one iteration to the next.
#[differentiate]
fn buffer_carried_across_iterations(x: &[f64]) -> f64 {
    let mut state = vec![1.0; 2];
    let mut s = 0.0;
    for i in 0..x.len() {
        let previous = state[0];
        state[0] = previous * x[i].cos() + state[1];
        state[1] = x[i];
        s += state[0] * state[0];
    }
    s
}

/// Overwritten in each iteration, but read after the loop.
#[differentiate]
fn buffer_read_after_the_loop(x: &[f64]) -> f64 {
    let mut last = vec![0.0; 2];
    let mut s = 0.0;
    for i in 0..x.len() {
        for j in 0..2 {
            last[j] = x[i] * (j as f64 + 1.0);
        }
        s += last[0] * last[1];
    }
    s + last[1].sin()
}

/// Overwritten but for its last element, which keeps the previous iteration's value.
#[differentiate]
fn buffer_partly_overwritten(x: &[f64]) -> f64 {
    let n = 3;
    let mut b = vec![0.5; n];
    let mut s = 0.0;
    for i in 0..x.len() {
        let keep = b[n - 1];
        for j in 0..n - 1 {
            b[j] = x[i] + keep;
        }
        b[n - 1] = b[0] * x[i];
        s += b[1] * b[2];
    }
    s
}

/// Overwritten only in one arm of a branch.
#[differentiate]
fn buffer_overwritten_conditionally(x: &[f64]) -> f64 {
    let mut b = vec![0.25; 2];
    let mut s = 0.0;
    for i in 0..x.len() {
        if x[i] > 0.0 {
            for j in 0..2 {
                b[j] = x[i] * b[j];
            }
        }
        s += b[0] + b[1] * x[i];
    }
    s
}

/// The sum's exit is used nonlinearly: its adjoint needs the exit.
#[differentiate]
fn log_of_sum(x: &[f64]) -> f64 {
    let mut s = 1.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s.ln()
}

/// The header is used twice in an iteration: not a plain sum.
#[differentiate]
fn compounding(x: &[f64]) -> f64 {
    let mut s = 1.0;
    for i in 0..x.len() {
        s += s * x[i];
    }
    s
}

/// The sum is subtracted from the term (`s = term - s`): its adjoint alternates in sign.
#[differentiate]
fn alternating(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s = x[i].sin() - s;
    }
    s
}

/// The exit is scaled by a value computed after the loop.
#[differentiate]
fn scaled_after(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut p = 1.0;
    for i in 0..x.len() {
        s += x[i];
    }
    for i in 0..x.len() {
        p *= x[i].cos();
    }
    s * p
}

#[test]
fn look_alikes_are_still_exact() {
    let cases: [(&str, fn(&[f64]) -> f64, fn(&[f64]) -> (f64, Vec<f64>)); 8] = [
        (
            "carried",
            buffer_carried_across_iterations,
            buffer_carried_across_iterations_grad,
        ),
        (
            "read after",
            buffer_read_after_the_loop,
            buffer_read_after_the_loop_grad,
        ),
        (
            "partly",
            buffer_partly_overwritten,
            buffer_partly_overwritten_grad,
        ),
        (
            "conditionally",
            buffer_overwritten_conditionally,
            buffer_overwritten_conditionally_grad,
        ),
        ("log", log_of_sum, log_of_sum_grad),
        ("compounding", compounding, compounding_grad),
        ("alternating", alternating, alternating_grad),
        ("scaled after", scaled_after, scaled_after_grad),
    ];
    for (name, f, grad) in cases {
        let (value, dx) = grad(&X);
        assert_eq!(value, f(&X), "{name}");
        check_fd(name, f, &dx, &X);
    }
}

#[test]
fn compounding_by_hand() {
    // s = Π (1 + x_i): ∂s/∂x_j = s / (1 + x_j).
    let (value, dx) = compounding_grad(&X);
    let by_hand: Vec<f64> = X.iter().map(|v| value / (1.0 + v)).collect();
    assert_close("dx", &dx, &by_hand, 1e-12);
}

/// The fused loop writes each element's adjoint first (`d_x[i] = ..`); the reads of `x`
/// before and after the loop add theirs in the reverse sweep, after it.
#[differentiate]
fn reads_around_the_loop(x: &[f64], w: &[f64]) -> f64 {
    let first = x[0] * w[1];
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] * w[i]).sin();
    }
    s * 2.0 + first + x[1].exp()
}

#[test]
fn first_writes_and_later_additions() {
    let w = [0.5, -1.0, 2.0, 0.25, 1.5, -0.75];
    let (value, (dx, dw)) = reads_around_the_loop_grad(&X, &w);
    assert_eq!(value, reads_around_the_loop(&X, &w));
    check_fd("dx", |x| reads_around_the_loop(x, &w), &dx, &X);
    check_fd("dw", |w| reads_around_the_loop(&X, w), &dw, &w);
}

// ---- gathered adjoints: loads at constant offsets from the loop index ----------------------
//
// `x[i]` and `x[i + 1]` in one iteration: the fused loop holds `x[i + 1]`'s contribution
// until the next iteration reaches that element, so each element of the gradient is written
// once. The sums must be the same bits as the scatter: each function has a twin whose offset
// is a run-time value (`ahead`), which the macro scatters as written.

#[differentiate]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += (1.0 - x[i]).powi(2) + 100.0 * (x[i + 1] - x[i].powi(2)).powi(2);
    }
    s
}

#[differentiate]
fn rosenbrock_scattered(x: &[f64], ahead: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += (1.0 - x[i]).powi(2) + 100.0 * (x[i + ahead] - x[i].powi(2)).powi(2);
    }
    s
}

/// A three-point stencil (a discrete second derivative, squared), offsets -1, 0, 1.
#[differentiate]
fn stencil(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() - 1 {
        let curvature = x[i - 1] - 2.0 * x[i] + x[i + 1];
        s += curvature * curvature * x[i].cos();
    }
    s
}

#[differentiate]
fn stencil_scattered(x: &[f64], back: usize, ahead: usize) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() - 1 {
        let curvature = x[i - back] - 2.0 * x[i] + x[i + ahead];
        s += curvature * curvature * x[i].cos();
    }
    s
}

/// Offsets 0 and 2: a contribution waits two iterations.
#[differentiate]
fn two_apart(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 2 {
        s += (x[i] * x[i + 2]).sin();
    }
    s
}

#[differentiate]
fn two_apart_scattered(x: &[f64], ahead: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 2 {
        s += (x[i] * x[i + ahead]).sin();
    }
    s
}

#[test]
fn gathered_adjoints_are_the_scattered_bits() {
    for n in [2, 3, 4, 6] {
        let x = &X[..n];
        assert_eq!(
            rosenbrock_grad(x),
            rosenbrock_scattered_grad(x, 1),
            "n = {n}"
        );
        assert_eq!(two_apart_grad(x), two_apart_scattered_grad(x, 2), "n = {n}");
        assert_eq!(stencil_grad(x), stencil_scattered_grad(x, 1, 1), "n = {n}");
    }
}

#[test]
fn gathered_adjoints_by_hand_and_by_differences() {
    // ∂/∂xᵢ: −2(1 − xᵢ) − 400 xᵢ (xᵢ₊₁ − xᵢ²) from term i, 200 (xᵢ − xᵢ₋₁²) from term i − 1.
    let (value, dx) = rosenbrock_grad(&X);
    assert_eq!(value, rosenbrock(&X));
    let n = X.len();
    let by_hand: Vec<f64> = (0..n)
        .map(|i| {
            let mine = if i + 1 < n {
                -2.0 * (1.0 - X[i]) - 400.0 * X[i] * (X[i + 1] - X[i] * X[i])
            } else {
                0.0
            };
            let previous = if i > 0 {
                200.0 * (X[i] - X[i - 1] * X[i - 1])
            } else {
                0.0
            };
            mine + previous
        })
        .collect();
    assert_close("rosenbrock", &dx, &by_hand, 1e-12);
    check_fd("rosenbrock", rosenbrock, &dx, &X);
    for n in [3, 4, 6] {
        let x = &X[..n];
        check_fd("stencil", stencil, &stencil_grad(x).1, x);
        check_fd("two_apart", two_apart, &two_apart_grad(x).1, x);
    }
    // No iteration: nothing added, nothing out of bounds.
    assert_eq!(two_apart_grad(&X[..2]).1, [0.0, 0.0]);
}

/// The same gathering in single precision and over a generic float, whose Hessian (forward
/// over the gathered reverse sweep) is checked against differences of the gradient.
#[differentiate]
fn rosenbrock_f32(x: &[f32]) -> f32 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += (1.0 - x[i]).powi(2) + 100.0 * (x[i + 1] - x[i] * x[i]).powi(2);
    }
    s
}

#[differentiate]
fn rosenbrock_generic<T: num_traits::Float>(x: &[T]) -> T {
    let hundred = T::from(100.0).unwrap();
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        s = s + (T::one() - x[i]).powi(2) + hundred * (x[i + 1] - x[i] * x[i]).powi(2);
    }
    s
}

#[test]
fn gathered_adjoints_in_f32_and_generic_code() {
    let x32: Vec<f32> = X.iter().map(|&v| v as f32).collect();
    let (_, d32) = rosenbrock_f32_grad(&x32);
    let (_, d64) = rosenbrock_grad(&X);
    let d32: Vec<f64> = d32.iter().map(|&v| v as f64).collect();
    assert_close("f32", &d32, &d64, 1e-5);
    let (value, grad, hessian) = rosenbrock_generic_hessian(&X);
    assert_eq!(value, rosenbrock(&X));
    assert_close("generic gradient", &grad, &d64, 1e-12);
    let by_differences = common::hessian_by_differences(|x| rosenbrock_generic_grad(x).1, &X, 1e-5);
    for (row, expected) in hessian.iter().zip(&by_differences) {
        assert_close("hessian", row, expected, 1e-5);
    }
}

/// Arithmetic only, offsets -1, 0 and 1: the adjoints run in a second loop over windows of
/// `x` (the value's loop keeps the sum), which must give the scattered form's bits.
#[differentiate]
fn smoothness(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() - 1 {
        let curvature = x[i - 1] - 2.0 * x[i] + x[i + 1];
        s += curvature * curvature;
    }
    s
}

#[differentiate]
fn smoothness_scattered(x: &[f64], back: usize, ahead: usize) -> f64 {
    let mut s = 0.0;
    for i in 1..x.len() - 1 {
        let curvature = x[i - back] - 2.0 * x[i] + x[i + ahead];
        s += curvature * curvature;
    }
    s
}

/// Rosenbrock over an inclusive range.
#[differentiate]
fn rosenbrock_inclusive(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..=x.len() - 2 {
        s += (1.0 - x[i]).powi(2) + 100.0 * (x[i + 1] - x[i].powi(2)).powi(2);
    }
    s
}

#[test]
fn adjoints_in_a_loop_of_their_own_are_the_scattered_bits() {
    for n in [2, 3, 4, 6] {
        let x = &X[..n];
        assert_eq!(
            smoothness_grad(x),
            smoothness_scattered_grad(x, 1, 1),
            "n = {n}"
        );
        assert_eq!(
            rosenbrock_inclusive_grad(x),
            rosenbrock_scattered_grad(x, 1),
            "n = {n}"
        );
        check_fd("smoothness", smoothness, &smoothness_grad(x).1, x);
    }
    // By hand: curvature cᵢ = xᵢ₋₁ − 2xᵢ + xᵢ₊₁ sends 2cᵢ to xᵢ₋₁ and xᵢ₊₁, −4cᵢ to xᵢ.
    let n = X.len();
    let mut by_hand = vec![0.0; n];
    for i in 1..n - 1 {
        let c = X[i - 1] - 2.0 * X[i] + X[i + 1];
        by_hand[i - 1] += 2.0 * c;
        by_hand[i] -= 4.0 * c;
        by_hand[i + 1] += 2.0 * c;
    }
    assert_close("smoothness", &smoothness_grad(&X).1, &by_hand, 1e-12);
    // Two elements: no iteration, no window, nothing added.
    assert_eq!(smoothness_grad(&X[..2]).1, [0.0, 0.0]);
    // Its Hessian (forward mode over the split loops) is the constant of the quadratic form.
    let (_, _, hessian) = smoothness_hessian(&X[..4]);
    let expected = [
        [2.0, -4.0, 2.0, 0.0],
        [-4.0, 10.0, -8.0, 2.0],
        [2.0, -8.0, 10.0, -4.0],
        [0.0, 2.0, -4.0, 2.0],
    ];
    for (row, expected) in hessian.iter().zip(&expected) {
        assert_close("smoothness hessian", row, expected, 1e-12);
    }
}

/// `x[i]` only decides a branch (no derivative flows through it) while `x[i + 1]` is summed:
/// every `x[i + 1]` contribution must still arrive.
#[differentiate]
fn gated(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let gate = x[i];
        let w = if gate > 0.0 { 2.0 } else { 3.0 };
        s += w * x[i + 1].sin();
    }
    s
}

#[test]
fn a_load_without_derivative_beside_a_gathered_one() {
    let (value, dx) = gated_grad(&X);
    assert_eq!(value, gated(&X));
    let by_hand: Vec<f64> = (0..X.len())
        .map(|i| {
            if i == 0 {
                0.0
            } else {
                let w = if X[i - 1] > 0.0 { 2.0 } else { 3.0 };
                w * X[i].cos()
            }
        })
        .collect();
    assert_close("gated", &dx, &by_hand, 1e-12);
}
