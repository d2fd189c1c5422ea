//! Supplying a derivative the macro cannot derive: `erf` from the `libm` crate.
//!
//! The macro cannot see into another crate's function, so a differentiated function that
//! calls it needs its derivative. `#[differentiate(vjp = erf_vjp)]` on a small wrapper says
//! where it is: `erf_vjp` returns the value and `seed · d erf/dx`, with d erf/dx = 2/√π·e^(−x²).
//! Every differentiated caller of `erf` then uses it.
//!
//! Run with `cargo run --release --example custom_derivative`.

use differentiate::check::central_difference;
use differentiate::differentiate;
use std::f64::consts::{PI, SQRT_2};

#[differentiate(vjp = erf_vjp)]
fn erf(x: f64) -> f64 {
    libm::erf(x)
}

/// The supplied derivative, with the signature `erf_vjp` would have had: the value and the
/// vector-Jacobian product.
fn erf_vjp(x: f64, seed: f64) -> (f64, f64) {
    (libm::erf(x), seed * 2.0 / PI.sqrt() * (-x * x).exp())
}

/// The standard normal CDF, Φ(x) = (1 + erf(x/√2)) / 2: its derivative is the normal density.
#[differentiate]
fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / SQRT_2))
}

/// A probit log-likelihood of one observation: the derivative flows through `erf`.
#[differentiate(wrt(w, b))]
fn probit_log_likelihood(w: f64, b: f64, x: f64, label: f64) -> f64 {
    let p = normal_cdf(w * x + b);
    label * p.ln() + (1.0 - label) * (1.0 - p).ln()
}

fn main() {
    println!(
        "     x      Φ(x)          Φ'(x) (reverse mode)   normal density      central difference"
    );
    for x in [-2.0, -0.5, 0.0, 0.7, 1.5] {
        let (value, slope) = normal_cdf_grad(x);
        let density = (-x * x / 2.0_f64).exp() / (2.0 * PI).sqrt();
        let fd = central_difference(normal_cdf, x, 1e-6);
        println!("{x:6.2}  {value:.10}  {slope:.15}   {density:.15}   {fd:.12}");
        assert!((slope - density).abs() < 1e-15);
    }

    let (w, b) = (1.3, -0.2);
    let (ll, (dw, db)) = probit_log_likelihood_grad(w, b, 0.8, 1.0);
    let fd_w = central_difference(|w| probit_log_likelihood(w, b, 0.8, 1.0), w, 1e-6);
    let fd_b = central_difference(|b| probit_log_likelihood(w, b, 0.8, 1.0), b, 1e-6);
    println!("\nprobit log-likelihood {ll:.12} at w = {w}, b = {b}");
    println!("  ∂/∂w = {dw:.12} (central difference {fd_w:.12})");
    println!("  ∂/∂b = {db:.12} (central difference {fd_b:.12})");
    assert!((dw - fd_w).abs() < 1e-8 && (db - fd_b).abs() < 1e-8);
}
