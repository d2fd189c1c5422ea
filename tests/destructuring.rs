//! Destructuring arrays in `let`: `let [x1, x2] = *param;` (the first line of most
//! two-variable test functions), by value, with `..`, typed, and an array a call returned.
//! Gradients worked by hand, and central differences.

mod common;

use common::assert_close;
use differentiate::check::central_gradient;
use differentiate::differentiate;

/// Booth's function, as optimisation crates write it.
#[differentiate]
fn booth(param: &[f64; 2]) -> f64 {
    let [x1, x2] = *param;
    (x1 + 2.0 * x2 - 7.0).powi(2) + (2.0 * x1 + x2 - 5.0).powi(2)
}

/// Himmelblau's function, the array by value and the pattern typed.
#[differentiate]
fn himmelblau(p: [f64; 2]) -> f64 {
    let [x, y]: [f64; 2] = p;
    (x * x + y - 11.0).powi(2) + (x + y * y - 7.0).powi(2)
}

#[differentiate]
fn first_two(x: &[f64; 4]) -> f64 {
    let [a, b, ..] = *x;
    a * b.sin()
}

#[differentiate]
fn polar(x: f64, y: f64) -> [f64; 2] {
    [(x * x + y * y).sqrt(), y.atan2(x)]
}

#[differentiate]
fn radius_times_angle(x: f64, y: f64) -> f64 {
    let [r, theta] = polar(x, y);
    r * theta
}

#[test]
fn booth_gradient_by_hand() {
    let p = [1.5, -0.5];
    let (value, grad) = booth_grad(&p);
    let (u, v) = (p[0] + 2.0 * p[1] - 7.0, 2.0 * p[0] + p[1] - 5.0);
    assert_eq!(value, u * u + v * v);
    assert_close(
        "booth",
        &grad,
        &[2.0 * u + 4.0 * v, 4.0 * u + 2.0 * v],
        1e-14,
    );
    // Booth's minimum is at (1, 3).
    assert_eq!(booth_grad(&[1.0, 3.0]).1, [0.0, 0.0]);
}

#[test]
fn himmelblau_gradient_by_hand_and_differences() {
    let p = [0.7, -1.3];
    let (_, grad) = himmelblau_grad(p);
    let (a, b) = (p[0] * p[0] + p[1] - 11.0, p[0] + p[1] * p[1] - 7.0);
    let by_hand = [4.0 * p[0] * a + 2.0 * b, 2.0 * a + 4.0 * p[1] * b];
    assert_close("himmelblau", &grad, &by_hand, 1e-13);
    let fd = central_gradient(|q| himmelblau([q[0], q[1]]), &p, 1e-6);
    assert_close("himmelblau vs differences", &grad, &fd, 1e-6);
    // (3, 2) is one of its four minima.
    assert_eq!(himmelblau_grad([3.0, 2.0]).1, [0.0, 0.0]);
}

#[test]
fn a_rest_pattern_leaves_the_other_elements_at_zero() {
    let x = [0.5, 1.25, 9.0, -4.0];
    let (value, grad) = first_two_grad(&x);
    assert_eq!(value, 0.5 * 1.25_f64.sin());
    assert_eq!(grad, [1.25_f64.sin(), 0.5 * 1.25_f64.cos(), 0.0, 0.0]);
}

#[test]
fn an_array_a_call_returned_is_destructured_by_component() {
    let (x, y) = (3.0, 4.0);
    let (value, (dx, dy)) = radius_times_angle_grad(x, y);
    let (r, theta) = (5.0, y.atan2(x));
    assert_close("value", &[value], &[r * theta], 1e-15);
    // d(r θ) = θ dr + r dθ, dr = (x, y)/r, dθ = (-y, x)/r².
    let by_hand = [
        theta * x / r - r * y / (r * r),
        theta * y / r + r * x / (r * r),
    ];
    assert_close("r θ", &[dx, dy], &by_hand, 1e-14);
}

#[differentiate]
fn sum_and_product(x: f64, y: f64) -> f64 {
    let [s, p] = [x + y, x * y];
    let (q, r) = (s * p, s - p);
    q + r
}

#[test]
fn literals_destructure_element_by_element() {
    // q + r = (x + y)·xy + (x + y) - xy, so d/dx = 2xy + y² + 1 - y, d/dy = x² + 2xy + 1 - x.
    let (x, y) = (2.0, 3.0);
    let (value, (dx, dy)) = sum_and_product_grad(x, y);
    assert_eq!(value, 5.0 * 6.0 + 5.0 - 6.0);
    assert_eq!(dx, 2.0 * x * y + y * y + 1.0 - y);
    assert_eq!(dy, x * x + 2.0 * x * y + 1.0 - x);
}

/// A tuple held in a variable, read by field and taken apart; nested patterns of literals.
#[differentiate]
fn held_tuples(x: f64, y: f64) -> f64 {
    let t = (x * y, x + y);
    let (a, b) = t;
    let u = t.0 * t.1;
    let ((c, d), e) = ((a, b), x);
    let [[p, q], [r, s]] = [[x, y], [y, x]];
    a * b + u + c * d * e + p * s - q * r
}

#[test]
fn tuples_held_in_variables_and_nested_patterns() {
    let (x, y) = (2.0, 3.0);
    let (value, (dx, dy)) = held_tuples_grad(x, y);
    assert_eq!(value, held_tuples(x, y));
    // f = 2xy(x + y) + xy(x + y)·x + x² − y²
    let expected_x = 2.0 * y * (x + y) + 2.0 * x * y + 2.0 * x * y * (x + y) + x * x * y + 2.0 * x;
    let expected_y = 2.0 * x * (x + y) + 2.0 * x * y + x * x * (x + y) + x * x * y - 2.0 * y;
    assert!((dx - expected_x).abs() < 1e-12, "{dx} vs {expected_x}");
    assert!((dy - expected_y).abs() < 1e-12, "{dy} vs {expected_y}");
}
