//! `differentiate::detach(x)`: the value passes on, its derivative does not (JAX's
//! `stop_gradient`, PyTorch's `detach`). Derivatives worked by hand, and central differences
//! of the same functions written without `detach` where the detached part is held constant.

use differentiate::{detach, differentiate};

#[differentiate]
fn x_times_detached_x(x: f64) -> f64 {
    x * detach(x)
}

#[differentiate]
fn straight_through_round(x: f64) -> f64 {
    x + detach(x.round() - x)
}

#[differentiate]
fn frozen_and_trained(w: f64, b: f64, x: f64) -> f64 {
    // `w` is frozen: the loss uses its value, its gradient entry is zero.
    let y = differentiate::detach(w) * x + b;
    (y - 1.0).powi(2)
}

#[differentiate]
fn target_held_constant(x: &[f64]) -> f64 {
    // The target is the mean of `x` itself, held constant: d/dx_i of Σ (x_i - m)² with m fixed.
    let n = x.len() as f64;
    let mut mean = 0.0;
    for &v in x {
        mean += v / n;
    }
    let target = detach(mean);
    let mut s = 0.0;
    for &v in x {
        s += (v - target).powi(2);
    }
    s
}

#[test]
fn the_value_passes_and_the_derivative_stops() {
    // d/dx (x · c) with c = x held constant is c, not 2x.
    assert_eq!(x_times_detached_x_grad(3.0), (9.0, 3.0));
}

#[test]
fn a_straight_through_estimator_has_the_identity_derivative() {
    assert_eq!(straight_through_round_grad(2.3), (2.0, 1.0));
    assert_eq!(straight_through_round_grad(-0.7), (-1.0, 1.0));
}

#[test]
fn a_frozen_parameter_gets_a_zero_gradient() {
    let (value, (dw, db, dx)) = frozen_and_trained_grad(0.5, 0.25, 2.0);
    // y = 0.5·2 + 0.25 = 1.25; L = (y - 1)² = 0.0625; dL/dy = 0.5.
    assert_eq!(value, 0.0625);
    assert_eq!(dw, 0.0, "w is detached");
    assert_eq!(db, 0.5);
    assert_eq!(
        dx,
        0.5 * 0.5,
        "x still flows through the detached w's value"
    );
}

#[test]
fn a_detached_target_is_held_constant() {
    let x = [1.0, 2.0, 6.0];
    let (value, grad) = target_held_constant_grad(&x);
    let mean = 3.0;
    assert_eq!(value, 4.0 + 1.0 + 9.0);
    // With the mean held fixed: 2 (x_i - m). (Without `detach` the mean's own derivative
    // would add -2/n Σ (x_j - m) = 0 here too, so compare with differences at fixed m.)
    let fixed = |x: &[f64]| x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
    let fd = differentiate::check::central_gradient(fixed, &x, 1e-6);
    for i in 0..3 {
        assert_eq!(grad[i], 2.0 * (x[i] - mean));
        assert!((grad[i] - fd[i]).abs() < 1e-6, "{} vs {}", grad[i], fd[i]);
    }
}

#[test]
fn outside_a_differentiated_function_it_is_the_identity() {
    assert_eq!(detach(4.5_f64), 4.5);
    assert_eq!(detach([1.0, 2.0]), [1.0, 2.0]);
}
