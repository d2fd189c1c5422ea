//! The user's names never collide with the macro's: locals, parameters and functions named
//! like everything the macro generates leave the derivatives exact.

#![allow(clippy::let_and_return, non_snake_case)]

use differentiate::differentiate;

#[differentiate]
fn named_like_the_generated_code(seed: f64, grad: f64) -> f64 {
    let value = seed * grad;
    let x_0 = value + seed;
    let d_x_0 = x_0 * 2.0;
    let t_1 = d_x_0.sin();
    let arm_0 = if t_1 > 0.0 { t_1 } else { -t_1 };
    let grad_0 = arm_0 * seed;
    let done = grad_0;
    let ret0 = done + 1.0;
    let __DifferentiateArms2 = ret0;
    let grad_entry = __DifferentiateArms2;
    grad_entry
}

#[test]
fn locals_and_parameters_named_like_generated_ones() {
    let (s, g) = (0.3_f64, 0.9_f64);
    // f = |sin(2(sg + s))|·s + 1
    let inner = 2.0 * (s * g + s);
    let sign = inner.sin().signum();
    let ds = sign * inner.cos() * 2.0 * (g + 1.0) * s + (inner.sin()).abs();
    let dg = sign * inner.cos() * 2.0 * s * s;
    let (value, (d_seed, d_grad)) = named_like_the_generated_code_grad(s, g);
    assert_eq!(value, named_like_the_generated_code(s, g));
    assert!((d_seed - ds).abs() < 1e-12, "{d_seed} vs {ds}");
    assert!((d_grad - dg).abs() < 1e-12, "{d_grad} vs {dg}");
    // The public seed parameter is renamed when a parameter is called `seed`.
    let (_, (a, b)) = named_like_the_generated_code_vjp(s, g, 2.0);
    assert!((a - 2.0 * ds).abs() < 1e-12 && (b - 2.0 * dg).abs() < 1e-12);
}

/// A function named like another function's pullback, called from a differentiated body.
#[differentiate]
fn helper(x: f64) -> f64 {
    x * x
}

#[allow(dead_code)]
fn helper_grad_entry(x: f64) -> f64 {
    x
}

#[differentiate]
fn calls_helper(x: f64) -> f64 {
    let helper_pullback = 3.0; // a local named like the callee's pullback
    helper(x) * helper_pullback
}

#[test]
fn a_local_named_like_a_pullback_does_not_shadow_it() {
    assert_eq!(calls_helper_grad(2.0), (12.0, 12.0));
}
