//! Derivatives the user supplies (`#[differentiate(vjp = ..)]`) for functions the macro cannot
//! see into, used by differentiated callers for numbers, slices and tensors.

use differentiate::check::{central_difference, central_gradient};
use differentiate::{differentiate, Tensor};
use std::f64::consts::PI;

/// `erf` from another crate, with its derivative 2/√π·e^(−x²) written by hand. The function
/// named `erf_vjp` is the supplied one, so the macro does not generate its own.
#[differentiate(vjp = erf_vjp)]
fn erf(x: f64) -> f64 {
    libm::erf(x)
}

fn erf_vjp(x: f64, seed: f64) -> (f64, f64) {
    (libm::erf(x), seed * 2.0 / PI.sqrt() * (-x * x).exp())
}

#[differentiate]
fn normal_cdf_loss(x: f64, target: f64) -> f64 {
    let p = 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
    (p - target).powi(2)
}

#[test]
fn a_scalar_function_from_another_crate() {
    let (value, d) = erf_grad(0.3);
    assert_eq!(value, libm::erf(0.3));
    assert!((d - 2.0 / PI.sqrt() * (-0.09f64).exp()).abs() < 1e-15);
    let (x, t) = (0.4, 0.2);
    let (_, (dx, dt)) = normal_cdf_loss_grad(x, t);
    let fd_x = central_difference(|x| normal_cdf_loss(x, t), x, 1e-6);
    let fd_t = central_difference(|t| normal_cdf_loss(x, t), t, 1e-6);
    assert!((dx - fd_x).abs() < 1e-8, "{dx} vs {fd_x}");
    assert!((dt - fd_t).abs() < 1e-8, "{dt} vs {fd_t}");
}

/// A numerically careful norm (scaled by the largest entry), with its derivative x/‖x‖.
#[differentiate(vjp = careful_norm_derivative)]
fn careful_norm(x: &[f64]) -> f64 {
    let scale = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    if scale == 0.0 {
        return 0.0;
    }
    scale * x.iter().map(|v| (v / scale).powi(2)).sum::<f64>().sqrt()
}

fn careful_norm_derivative(x: &[f64], seed: f64) -> (f64, Vec<f64>) {
    let n = careful_norm(x);
    let grad = x
        .iter()
        .map(|v| if n == 0.0 { 0.0 } else { seed * v / n })
        .collect();
    (n, grad)
}

#[differentiate]
fn normalised_first(x: &[f64]) -> f64 {
    x[0] / careful_norm(x)
}

#[test]
fn a_slice_function() {
    let x = [3.0, -4.0, 12.0];
    let (value, grad) = careful_norm_grad(&x);
    assert_eq!(value, 13.0);
    assert_eq!(grad, vec![3.0 / 13.0, -4.0 / 13.0, 12.0 / 13.0]);
    let (_, g) = normalised_first_grad(&x);
    let fd = central_gradient(normalised_first, &x, 1e-6);
    for (a, b) in g.iter().zip(&fd) {
        assert!((a - b).abs() < 1e-8, "{g:?} vs {fd:?}");
    }
}

/// Softplus ln(1 + eˣ) on a tensor, with the derivative σ(x) supplied.
#[differentiate(vjp = softplus_derivative)]
fn softplus(x: &Tensor) -> Tensor {
    x.map(|v| v.max(0.0) + (-v.abs()).exp().ln_1p())
}

fn softplus_derivative(x: &Tensor, seed: Tensor) -> (Tensor, Tensor) {
    let sigmoid = x.map(|v| 1.0 / (1.0 + (-v).exp()));
    (softplus(x), &seed * &sigmoid)
}

#[differentiate]
fn softplus_total(x: &Tensor) -> f64 {
    let y: Tensor = softplus(x);
    (&y * 2.0).sum()
}

#[test]
fn a_tensor_function() {
    let x = Tensor::vector(&[-2.0, 0.0, 1.5]);
    let (_, g) = softplus_total_grad(&x);
    let expected: Vec<f64> = [-2.0f64, 0.0, 1.5]
        .iter()
        .map(|v| 2.0 / (1.0 + (-v).exp()))
        .collect();
    for (a, b) in g.to_vec().iter().zip(&expected) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
}
