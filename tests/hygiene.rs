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

/// The generated code calls the rules through a local `rules` alias; a parameter, a local
/// and a local function named `rules` leave the derivative exact.
#[differentiate]
fn named_like_the_rules_alias(rules: f64, powi_1: f64) -> f64 {
    let sum_3 = rules.sin() * powi_1;
    sum_3 + rules
}

#[differentiate]
fn a_local_named_rules(x: f64) -> f64 {
    let rules = x.exp();
    rules * x.cos()
}

#[differentiate]
fn a_local_function_named_rules(x: f64) -> f64 {
    fn rules() -> f64 {
        3.0
    }
    x.sin() * rules()
}

#[test]
fn names_like_the_rules_alias() {
    let (r, p) = (0.4_f64, 1.5_f64);
    let (value, (dr, dp)) = named_like_the_rules_alias_grad(r, p);
    assert_eq!(value, r.sin() * p + r);
    assert!((dr - (r.cos() * p + 1.0)).abs() < 1e-15 && (dp - r.sin()).abs() < 1e-15);
    let x = 0.7_f64;
    let (_, dx) = a_local_named_rules_grad(x);
    assert!((dx - (x.exp() * x.cos() - x.exp() * x.sin())).abs() < 1e-15);
    let (value, dx) = a_local_function_named_rules_grad(x);
    assert_eq!(value, x.sin() * 3.0);
    assert!((dx - 3.0 * x.cos()).abs() < 1e-15);
}

/// Parameters named like the twin's bound literals (`__constant0`, once `constant_0`, which
/// the parameter's first version shadowed: H·v came out (4, 1)).
#[differentiate]
fn named_like_the_twin_constants(constant: f64, __constant0: f64) -> f64 {
    2.0 * constant * constant + 3.0 * __constant0
}

#[test]
fn parameters_named_like_the_twins_literals() {
    // H = [[4, 0], [0, 0]] everywhere, by hand.
    let (value, _, hv) = named_like_the_twin_constants_hvp(1.5, 0.5, (1.0, 0.0));
    assert_eq!(value, named_like_the_twin_constants(1.5, 0.5));
    assert_eq!(hv, (4.0, 0.0));
    let (_, _, hv) = named_like_the_twin_constants_hvp(1.5, 0.5, (0.0, 1.0));
    assert_eq!(hv, (0.0, 0.0));
}
