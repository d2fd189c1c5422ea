//! What derivatives are at points where they do not exist, through the generated code. The
//! rule is the minimum-norm subgradient, and never a NaN where a finite derivative exists
//! (README, "Conventions where the derivative does not exist").

use differentiate::differentiate;

#[differentiate]
fn abs(x: f64) -> f64 {
    x.abs()
}

#[differentiate]
fn max(a: f64, b: f64) -> f64 {
    a.max(b)
}

#[differentiate]
fn min(a: f64, b: f64) -> f64 {
    a.min(b)
}

#[differentiate]
fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    x.clamp(lo, hi)
}

#[differentiate]
fn sqrt(x: f64) -> f64 {
    x.sqrt()
}

#[differentiate]
fn cbrt(x: f64) -> f64 {
    x.cbrt()
}

#[differentiate]
fn unused_sqrt(x: f64, w: f64) -> f64 {
    w * x.sqrt() + x
}

#[differentiate]
fn powf(x: f64, p: f64) -> f64 {
    x.powf(p)
}

#[differentiate]
fn atan2(y: f64, x: f64) -> f64 {
    y.atan2(x)
}

#[differentiate]
fn hypot(a: f64, b: f64) -> f64 {
    a.hypot(b)
}

#[differentiate]
fn steps(x: f64) -> f64 {
    x.floor() + x.ceil() + x.round() + x.trunc() + x.signum() + x
}

#[test]
fn abs_at_zero_is_zero() {
    assert_eq!(abs_grad(0.0).1, 0.0);
    assert_eq!(abs_grad(-0.0).1, 0.0);
}

#[test]
fn ties_split_evenly() {
    assert_eq!(max_grad(1.5, 1.5).1, (0.5, 0.5));
    assert_eq!(min_grad(-2.0, -2.0).1, (0.5, 0.5));
}

#[test]
fn clamp_at_a_bound_splits_with_the_bound() {
    assert_eq!(clamp_grad(0.0, 0.0, 1.0).1, (0.5, 0.5, 0.0));
    assert_eq!(clamp_grad(1.0, 0.0, 1.0).1, (0.5, 0.0, 0.5));
    assert_eq!(clamp_grad(0.5, 0.0, 1.0).1, (1.0, 0.0, 0.0));
}

#[test]
fn roots_at_zero_are_infinite_but_an_unused_one_is_not_nan() {
    assert_eq!(sqrt_grad(0.0).1, f64::INFINITY);
    assert_eq!(cbrt_grad(0.0).1, f64::INFINITY);
    // w = 0: the square root does not matter, so its infinite slope must not become NaN.
    assert_eq!(unused_sqrt_grad(0.0, 0.0).1, (1.0, 0.0));
}

#[test]
fn powf_at_base_zero() {
    // x^p at x = 0: ∂/∂p = 0 (xᵖ ln x → 0), ∂/∂x = p·x^(p-1) (0 for p > 1, 1 for p = 1).
    assert_eq!(powf_grad(0.0, 2.0).1, (0.0, 0.0));
    assert_eq!(powf_grad(0.0, 1.0).1, (1.0, 0.0));
    assert_eq!(powf_grad(0.0, 0.0).1, (0.0, 0.0));
}

#[test]
fn atan2_and_hypot_at_the_origin_are_zero() {
    assert_eq!(atan2_grad(0.0, 0.0).1, (0.0, 0.0));
    assert_eq!(hypot_grad(0.0, 0.0).1, (0.0, 0.0));
}

#[test]
fn piecewise_constant_functions_have_zero_slope() {
    for x in [-1.5, -1.0, 0.0, 0.5, 2.0] {
        assert_eq!(steps_grad(x).1, 1.0, "at {x}");
    }
}

#[test]
fn nan_and_infinity_propagate_as_in_the_original() {
    let (value, slope) = sqrt_grad(-1.0);
    assert!(value.is_nan() && slope.is_nan());
    let (value, slope) = abs_grad(f64::NAN);
    assert!(value.is_nan() && slope.is_nan());
    let (value, _) = max_grad(f64::NAN, 1.0);
    assert_eq!(value, 1.0, "f64::max ignores a NaN operand");
    assert_eq!(max_grad(f64::NAN, 1.0).1, (0.0, 1.0));
    let (value, slope) = abs_grad(f64::INFINITY);
    assert_eq!((value, slope), (f64::INFINITY, 1.0));
}
