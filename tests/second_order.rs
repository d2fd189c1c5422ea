//! Higher-order derivatives of ordinary `f64` functions (through their generic twin):
//! `NAME_jvp`, `NAME_hvp`, `NAME_hessian` and `NAME_derivatives::<K>`, checked against the
//! teaching material's values, closed forms worked by hand, central differences of
//! hand-written gradients, and first-order items that share no code path with them
//! (`jvp` against rows of `NAME_jacobian`, computed in reverse mode).

#![allow(clippy::needless_range_loop)]

mod common;

use common::{assert_close, fonction_complexe_gradient, hessian_by_differences};
use differentiate::differentiate;

fn matrix_times(h: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
    h.iter()
        .map(|row| row.iter().zip(v).map(|(a, b)| a * b).sum())
        .collect()
}

// ---- the teaching material ---------------------------------------------------------------

#[differentiate]
fn u(x: f64, y: f64) -> f64 {
    x * x + y
}

#[differentiate]
fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}

#[differentiate]
fn three_x_squared(x: f64) -> f64 {
    3.0 * x * x
}

#[test]
fn teaching_material_values() {
    // u_xx = 2 and u_xy = 0 at (10, 12).
    let (value, gradient, h) = u_hessian(10.0, 12.0);
    assert_eq!((value, gradient), (112.0, (20.0, 1.0)));
    assert_eq!(h, vec![vec![2.0, 0.0], vec![0.0, 0.0]]);
    // J at 2: value, J' = 10, J'' = 14, J''' = 6, and nothing after.
    assert_eq!(j_derivatives::<4>(2.0), [1.0, 10.0, 14.0, 6.0]);
    assert_eq!(j_derivatives::<6>(2.0), [1.0, 10.0, 14.0, 6.0, 0.0, 0.0]);
    assert_eq!(j_hessian(2.0), (1.0, 10.0, 14.0));
    assert_eq!(j_hvp(2.0, 0.5), (1.0, 10.0, 7.0));
    assert_eq!(j_jvp(2.0, 3.0), (1.0, 30.0));
    // 3x² at 2: 12, 6x = 12, 6, then exact zeros where PyTorch fails.
    assert_eq!(
        three_x_squared_derivatives::<5>(2.0),
        [12.0, 12.0, 6.0, 0.0, 0.0]
    );
    assert_eq!(three_x_squared_derivatives::<0>(2.0), [0.0; 0]);
    assert_eq!(three_x_squared_derivatives::<1>(2.0), [12.0]);
}

/// The descent of the teaching material, with Newton's step instead: J has its minimum at
/// x = (−1 + √19)/3, where J' = 0 and J'' > 0.
#[test]
fn newton_on_j_reaches_the_minimum_quadratically() {
    let mut x = 3.0;
    let mut steps = 0;
    loop {
        let (_, g, h) = j_hessian(x);
        if g.abs() < 1e-14 {
            break;
        }
        x -= g / h;
        steps += 1;
        assert!(steps < 10, "Newton converges in a few steps");
    }
    let minimum = (-1.0 + 19f64.sqrt()) / 3.0;
    assert!((x - minimum).abs() < 1e-15, "{x} vs {minimum}");
}

// ---- fonction_complexe ---------------------------------------------------------------------

#[differentiate]
fn fonction_complexe(x: f64, y: f64, z: f64) -> f64 {
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

#[test]
fn fonction_complexe_hessian_against_differences_of_the_hand_gradient() {
    let (_, gradient, _) = fonction_complexe_hessian(7.0, 5.0, 2.0);
    let published = [-5.66196787253764, -1.74937550466067, 17.0594520169513];
    assert_close(
        "published gradient",
        &[gradient.0, gradient.1, gradient.2],
        &published,
        1e-13,
    );
    for p in [[7.0, 5.0, 2.0], [0.3, -1.2, 0.8], [2.0, 1.0, -1.5]] {
        let (_, _, h) = fonction_complexe_hessian(p[0], p[1], p[2]);
        let fd = hessian_by_differences(fonction_complexe_gradient, &p, 1e-5);
        for (row, expected) in h.iter().zip(&fd) {
            assert_close("hessian", row, expected, 1e-6);
        }
        for i in 0..3 {
            for k in 0..3 {
                assert_eq!(h[i][k], h[k][i], "symmetric by construction");
            }
        }
        // H·v against the Hessian times v.
        let v = [0.5, -1.0, 2.0];
        let (_, _, hv) = fonction_complexe_hvp(p[0], p[1], p[2], (v[0], v[1], v[2]));
        assert_close("hvp", &[hv.0, hv.1, hv.2], &matrix_times(&h, &v), 1e-12);
    }
}

// ---- loops, buffers, calls ---------------------------------------------------------------

/// A runtime-length loop over a slice, with a passive weight and an `as f64` of the length.
#[differentiate(wrt(x))]
fn chain(x: &[f64], weight: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += weight * (x[i] * x[i + 1]).sin();
    }
    s / x.len() as f64
}

/// Its Hessian by hand: `∂²/∂x_i∂x_k` of `w/n · Σ sin(x_i x_{i+1})`.
fn chain_hessian_by_hand(x: &[f64], w: f64) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut h = vec![vec![0.0; n]; n];
    for i in 0..n - 1 {
        let (a, b) = (x[i], x[i + 1]);
        let (s, c) = (a * b).sin_cos();
        h[i][i] += -b * b * s;
        h[i + 1][i + 1] += -a * a * s;
        h[i][i + 1] += c - a * b * s;
        h[i + 1][i] += c - a * b * s;
    }
    for row in &mut h {
        for e in row.iter_mut() {
            *e *= w / n as f64;
        }
    }
    h
}

#[test]
fn runtime_length_loop_hessian_by_hand() {
    let x = [0.3, -1.1, 0.8, 2.0, 0.4, -0.6];
    let (value, gradient, h) = chain_hessian(&x, 1.7);
    assert_eq!(value, chain(&x, 1.7));
    assert_close("gradient", &gradient, &chain_grad(&x, 1.7).1, 1e-14);
    let by_hand = chain_hessian_by_hand(&x, 1.7);
    for (row, expected) in h.iter().zip(&by_hand) {
        assert_close("chain hessian", row, expected, 1e-13);
    }
    let v = vec![1.0, 0.5, -0.3, 0.0, 2.0, -1.0];
    let (_, _, hv) = chain_hvp(&x, 1.7, v.clone());
    assert_close("chain hvp", &hv, &matrix_times(&by_hand, &v), 1e-13);
}

/// The teaching material's data-dependent `while` loop: doubling `y = 2x` while `‖y‖ < 1000`.
#[differentiate]
fn doubling(x0: f64, x1: f64, x2: f64) -> f64 {
    let (mut y0, mut y1, mut y2) = (x0, x1, x2);
    while (y0 * y0 + y1 * y1 + y2 * y2).sqrt() < 1000.0 {
        y0 *= 2.0;
        y1 *= 2.0;
        y2 *= 2.0;
    }
    0.1 * y0 + y1 + 0.0001 * y2
}

#[test]
fn while_loop_gradient_is_published_and_hessian_is_exactly_zero() {
    let (_, gradient, h) = doubling_hessian(0.0245, -1.945, 0.3681);
    assert_close(
        "gradient",
        &[gradient.0, gradient.1, gradient.2],
        &[51.2, 512.0, 0.0512],
        1e-12,
    );
    // Linear between the loop's decisions: every second derivative is an exact zero.
    assert!(h.iter().flatten().all(|e| *e == 0.0), "{h:?}");
}

/// A nonlinear `while` loop calling another function: Newton's iteration for `√a`, whose
/// result's derivatives in `a` are those of `√a` (the iteration converges to it).
#[differentiate]
fn newton_step(r: f64, a: f64) -> f64 {
    0.5 * (r + a / r)
}

#[differentiate]
fn square_root(a: f64) -> f64 {
    let mut r = a;
    let mut steps = 0;
    while steps < 60 && (r * r - a).abs() > 1e-15 * a {
        r = newton_step(r, a);
        steps += 1;
    }
    r
}

#[test]
fn while_loop_with_a_call_against_closed_forms() {
    let a: f64 = 2.5;
    let d = square_root_derivatives::<4>(a);
    let expected = [
        a.sqrt(),
        0.5 / a.sqrt(),
        -0.25 / (a * a.sqrt()),
        0.375 / (a * a * a.sqrt()),
    ];
    // The iterate's derivatives converge with it (quadratically), not bit for bit.
    assert_close("derivatives of the iteration", &d, &expected, 1e-9);
    let (_, g, h) = square_root_hessian(a);
    assert_close("gradient and hessian", &[g, h], &expected[1..3], 1e-9);
}

/// A local buffer, filled in a loop and read back.
#[differentiate]
fn smoothed(x: &[f64]) -> f64 {
    let n = x.len();
    let mut y = vec![0.0; n];
    for i in 0..n {
        let left = if i > 0 { x[i - 1] } else { x[i] };
        y[i] = 0.5 * x[i] + 0.25 * left;
    }
    let mut s = 0.0;
    for i in 0..n {
        s += y[i] * y[i] * y[i];
    }
    s
}

fn smoothed_gradient(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let y: Vec<f64> = (0..n)
        .map(|i| 0.5 * x[i] + 0.25 * if i > 0 { x[i - 1] } else { x[i] })
        .collect();
    let mut g = vec![0.0; n];
    for i in 0..n {
        let d = 3.0 * y[i] * y[i];
        if i > 0 {
            g[i] += 0.5 * d;
            g[i - 1] += 0.25 * d;
        } else {
            g[i] += 0.75 * d;
        }
    }
    g
}

#[test]
fn buffer_hessian_against_differences_of_the_hand_gradient() {
    let x = [0.4, -1.3, 0.9, 1.6];
    let (_, gradient, h) = smoothed_hessian(&x);
    assert_close("gradient", &gradient, &smoothed_gradient(&x), 1e-14);
    let fd = hessian_by_differences(smoothed_gradient, &x, 1e-5);
    for (row, expected) in h.iter().zip(&fd) {
        assert_close("buffer hessian", row, expected, 1e-7);
    }
}

/// Recursion: `xⁿ` by `x·xⁿ⁻¹`.
#[differentiate(wrt(x))]
fn power(x: f64, n: u32) -> f64 {
    if n == 0 {
        1.0
    } else {
        x * power(x, n - 1)
    }
}

#[test]
fn recursion_through_every_order() {
    // x⁴ at 1.5: 4x³, 12x², 24x, 24, then zeros.
    let x: f64 = 1.5;
    let d = power_derivatives::<7>(x, 4);
    let expected = [
        x.powi(4),
        4.0 * x.powi(3),
        12.0 * x * x,
        24.0 * x,
        24.0,
        0.0,
        0.0,
    ];
    assert_close("x⁴", &d, &expected, 1e-15);
    assert_eq!(&d[5..], &[0.0, 0.0]);
}

/// An `f64` function calling a generic one and an `f64` one.
#[differentiate]
fn softplus<T: num_traits::Float>(x: T) -> T {
    (T::one() + x.exp()).ln()
}

#[differentiate]
fn energy(x: f64, y: f64) -> f64 {
    softplus(x * y) + u(x, y) * j(y)
}

fn energy_gradient(p: &[f64]) -> Vec<f64> {
    let (x, y) = (p[0], p[1]);
    let sigma = 1.0 / (1.0 + (-x * y).exp());
    let (uu, jj) = (x * x + y, y.powi(3) + y * y - 6.0 * y + 1.0);
    let dj = 3.0 * y * y + 2.0 * y - 6.0;
    vec![sigma * y + 2.0 * x * jj, sigma * x + jj + uu * dj]
}

#[test]
fn calls_of_generic_and_f64_functions() {
    let p = [0.7, -1.2];
    let (_, (gx, gy), h) = energy_hessian(p[0], p[1]);
    assert_close("gradient", &[gx, gy], &energy_gradient(&p), 1e-14);
    let fd = hessian_by_differences(energy_gradient, &p, 1e-5);
    for (row, expected) in h.iter().zip(&fd) {
        assert_close("energy hessian", row, expected, 1e-8);
    }
}

// ---- shapes, jvp against reverse-mode Jacobians ------------------------------------------

#[differentiate]
fn polar(x: f64, y: f64) -> (f64, f64) {
    ((x * x + y * y).sqrt(), y.atan2(x))
}

#[differentiate]
fn spread(x: [f64; 3]) -> [f64; 2] {
    [x[0] * x[1], x[1].sin() + x[2] * x[2]]
}

#[test]
fn jvp_against_rows_of_the_jacobian() {
    let (x, y) = (0.6, -1.4);
    let (_, rows) = polar_jacobian(x, y);
    let t = (0.3, 2.0);
    let (value, (jr, jtheta)) = polar_jvp(x, y, t);
    assert_eq!(value, polar(x, y));
    assert!((jr - (rows[0].0 * t.0 + rows[0].1 * t.1)).abs() < 1e-14);
    assert!((jtheta - (rows[1].0 * t.0 + rows[1].1 * t.1)).abs() < 1e-14);

    let p = [0.2, 1.1, -0.7];
    let (_, rows) = spread_jacobian(p);
    let t = [1.0, -0.5, 0.25];
    let (_, jt) = spread_jvp(p, t);
    for k in 0..2 {
        let expected: f64 = (0..3).map(|i| rows[k][i] * t[i]).sum();
        assert!((jt[k] - expected).abs() < 1e-14);
    }
}

/// An array parameter: `H` is `[[f64; 3]; 3]`.
#[differentiate]
fn cubic_form(x: [f64; 3]) -> f64 {
    x[0] * x[1] * x[2] + x[0].powi(3)
}

#[test]
fn array_parameter_hessian_by_hand() {
    let x = [1.5, -2.0, 0.5];
    let (_, _, h) = cubic_form_hessian(x);
    let expected = [
        [6.0 * x[0], x[2], x[1]],
        [x[2], 0.0, x[0]],
        [x[1], x[0], 0.0],
    ];
    assert_eq!(h, expected);
}

// ---- methods, detach, constants, kinks -----------------------------------------------------

struct Spring {
    stiffness: f64,
}

impl Spring {
    #[differentiate]
    fn energy(&self, x: f64) -> f64 {
        0.5 * x * x * x.cosh()
    }
}

#[test]
fn methods_have_second_derivatives() {
    let spring = Spring { stiffness: 2.0 };
    let x: f64 = 0.8;
    let (_, g, h) = spring.energy_hessian(x);
    assert!((g - (x * x.cosh() + 0.5 * x * x * x.sinh())).abs() < 1e-14);
    let expected = x.cosh() + 2.0 * x * x.sinh() + 0.5 * x * x * x.cosh();
    assert!((h - expected).abs() < 1e-14, "{h} vs {expected}");
    assert_eq!(spring.stiffness, 2.0);
}

const SCALE: f64 = 3.0;
const TERMS: usize = 4;

/// Constants written the usual way: an `f64` one, an integer one, `std::f64::consts`,
/// `f64::EPSILON`, and a detached value.
#[differentiate]
fn with_constants(x: f64) -> f64 {
    let mut s = 0.0;
    for k in 0..TERMS {
        s += (x * k as f64).sin() / SCALE;
    }
    s + std::f64::consts::PI * differentiate::detach(x * x) + f64::EPSILON
}

#[test]
fn constants_and_detach() {
    let x: f64 = 0.9;
    let d = with_constants_derivatives::<3>(x);
    let mut expected = [0.0; 3];
    for k in 0..TERMS {
        let k = k as f64;
        expected[0] += (x * k).sin() / SCALE;
        expected[1] += k * (x * k).cos() / SCALE;
        expected[2] += -k * k * (x * k).sin() / SCALE;
    }
    expected[0] += std::f64::consts::PI * x * x + f64::EPSILON;
    assert_close("derivatives", &d, &expected, 1e-14);
}

#[differentiate]
fn kinks(x: f64, y: f64) -> f64 {
    x.abs() * y + x.max(y) * x + (x * y).clamp(-1.0, 1.0)
}

#[test]
fn kink_conventions_at_second_order() {
    // Away from the kinks: by hand.
    let (x, y) = (0.5, -0.8);
    let (_, _, h) = kinks_hessian(x, y);
    // |x|·y + max(x, y)·x + clamp(xy) with x > 0, x > y, |xy| < 1: xy + x² + xy.
    assert_eq!(h, vec![vec![2.0, 2.0], vec![2.0, 0.0]]);
    // At x = 0: `abs` has derivative 0 there (the reverse rule's convention), so `|x|·y`
    // contributes nothing at first or second order; a tie of `max` averages the two sides.
    let (_, (gx, _), h) = kinks_hessian(0.0, 0.0);
    assert_eq!(gx, 0.0);
    // max(x, y)·x at a tie: ½(x + y)·x locally, so ∂²/∂x² = 1 and ∂²/∂x∂y = ½;
    // clamp(xy) inside: ∂²/∂x∂y = 1.
    assert_eq!(h, vec![vec![1.0, 1.5], vec![1.5, 0.0]]);
}

#[differentiate]
fn times_detached(x: f64) -> f64 {
    x * differentiate::detach(x)
}

#[test]
fn detach_stops_derivatives_at_every_order() {
    // The gradient is detach(x), whose own derivative is zero (JAX's `stop_gradient`).
    assert_eq!(times_detached_hessian(3.0), (9.0, 3.0, 0.0));
    assert_eq!(times_detached_derivatives::<3>(3.0), [9.0, 3.0, 0.0]);
    assert_eq!(times_detached_jvp(3.0, 2.0), (9.0, 6.0));
}

/// A conversion of a differentiated value (`x as f64` of an `f64`) is the identity to every
/// derivative.
#[differentiate]
#[allow(clippy::unnecessary_cast)]
fn converted(x: f64) -> f64 {
    let y = x as f64;
    y * y * y
}

#[test]
fn conversions_of_differentiated_values_keep_their_derivatives() {
    assert_eq!(converted_derivatives::<4>(2.0), [8.0, 12.0, 12.0, 6.0]);
    assert_eq!(converted_jvp(2.0, 1.0), (8.0, 12.0));
}

#[differentiate]
fn calls_times_detached(x: f64) -> f64 {
    times_detached(x) * x
}

#[test]
fn detach_in_a_callee_stops_derivatives_of_the_caller() {
    // x²·detach(x): gradient 2x·x = 18 at 3, Hessian 2·detach(x) = 6.
    assert_eq!(calls_times_detached_hessian(3.0), (27.0, 18.0, 6.0));
}

/// A supplied derivative written generic over the float type: its pullback runs at dual
/// numbers, so it has second derivatives, and so do its callers.
#[differentiate(vjp = softsign_vjp)]
fn softsign<T: num_traits::Float>(x: T) -> T {
    x / (T::one() + x.abs())
}

fn softsign_vjp<T: num_traits::Float>(x: T, seed: T) -> (T, T) {
    let d = T::one() + x.abs();
    (x / d, seed / (d * d))
}

#[differentiate]
fn softsign_squared(x: f64) -> f64 {
    softsign(x) * softsign(x)
}

#[test]
fn generic_supplied_derivatives_have_second_derivatives() {
    // softsign(x) = x/(1+x) for x > 0: f' = 1/(1+x)², f'' = −2/(1+x)³.
    let x: f64 = 0.5;
    let (_, g, h) = softsign_hessian(x);
    assert!((g - 1.0 / (1.5f64 * 1.5)).abs() < 1e-15);
    assert!((h + 2.0 / 1.5f64.powi(3)).abs() < 1e-15, "{h}");
    // s² has (s²)'' = 2s'² + 2s·s''.
    let (s, d1, d2) = (x / 1.5, 1.0 / 2.25, -2.0 / 3.375);
    let (_, _, h) = softsign_squared_hessian(x);
    assert!((h - (2.0 * d1 * d1 + 2.0 * s * d2)).abs() < 1e-14, "{h}");
}

#[differentiate]
fn f32_product(x: f32, y: f32) -> f32 {
    x * x * y + 0.5 * y.sin()
}

/// A const-generic length, and an `f32` function.
#[differentiate]
fn squared_norm<const N: usize>(x: [f64; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += x[i] * x[i] * (i + 1) as f64;
    }
    s
}

#[test]
fn f32_and_const_generic_functions() {
    let (_, _, h) = f32_product_hessian(1.5, 2.0);
    let expected = [[4.0, 3.0], [3.0, -0.5 * 2.0f32.sin()]];
    for i in 0..2 {
        for k in 0..2 {
            assert!((h[i][k] - expected[i][k]).abs() < 1e-6, "{h:?}");
        }
    }
    let (_, _, h) = squared_norm_hessian([1.0, 2.0, 3.0]);
    assert_eq!(h, [[2.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 6.0]]);
}

/// Plain helpers of `f64`s and integers, called on constants only: in the second-order items
/// they run at `f64`, whatever they are.
fn weight(n: usize, scale: f64) -> f64 {
    scale / n as f64
}

fn half(n: usize) -> usize {
    n / 2
}

#[differentiate]
fn weighted_squares(x: &[f64]) -> f64 {
    let w = weight(x.len(), 2.0);
    let mut s = 0.0;
    for i in 0..half(x.len() * 2) {
        s += w * x[i] * x[i] * x[i];
    }
    s
}

#[test]
fn helpers_on_constants_run_at_f64() {
    let x = [1.0, -2.0, 0.5];
    let (_, g, h) = weighted_squares_hessian(&x);
    let w = 2.0 / 3.0;
    assert_close("gradient", &g, &[3.0 * w, 12.0 * w, 0.75 * w], 1e-15);
    for i in 0..3 {
        for k in 0..3 {
            let expected = if i == k { 6.0 * w * x[i] } else { 0.0 };
            assert!((h[i][k] - expected).abs() < 1e-14, "{h:?}");
        }
    }
}

fn mean_of(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn first_of(a: [f64; 2]) -> f64 {
    a[0]
}

/// Helpers called with slices, buffers and arrays of constants.
#[differentiate(wrt(x))]
fn centred(x: &[f64], data: &[f64]) -> f64 {
    let m = mean_of(data);
    let buf = vec![1.0, 2.0, 3.0];
    let b = mean_of(&buf);
    let a = first_of([0.5, 1.5]);
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - m) * (x[i] - m) * b * a;
    }
    s
}

#[test]
fn helpers_on_constant_arrays_run_at_f64() {
    let (x, data) = ([1.0, 3.0], [2.0, 4.0, 6.0]);
    let (_, g, h) = centred_hessian(&x, &data);
    // (x_i − 4)²·2·0.5: gradient 2(x_i − 4), Hessian 2·I.
    assert_eq!(g, vec![-6.0, -2.0]);
    assert_eq!(h, vec![vec![2.0, 0.0], vec![0.0, 2.0]]);
}

fn spread_of(v: &[f64; 3]) -> f64 {
    v[2] - v[0]
}

fn sum_of(v: [f64; 2]) -> f64 {
    v[0] + v[1]
}

/// A helper called with an array parameter as it is, and with a local array by value.
#[differentiate(wrt(x))]
fn scaled_by_spread(x: f64, v: &[f64; 3]) -> f64 {
    let pair = [1.0, 2.0];
    x * x * spread_of(v) * sum_of(pair)
}

#[test]
fn helpers_on_array_parameters_run_at_f64() {
    let (_, g, h) = scaled_by_spread_hessian(2.0, &[1.0, 0.0, 4.0]);
    assert_eq!((g, h), (36.0, 18.0));
}
