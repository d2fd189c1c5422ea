//! Second derivatives: `NAME_jvp`, `NAME_hvp` and `NAME_hessian`, checked against closed forms
//! worked by hand, central differences of hand-written gradients, and each other in the ways
//! that do not share a code path (`hvp` against `hessian · v` is a consistency check on top).
//! These functions are generic over their float type; `tests/second_order.rs` checks `f64` ones.

mod common;

use common::{assert_close, fonction_complexe_gradient, hessian_by_differences};
use differentiate::differentiate;
use num_traits::{Float, FromPrimitive};

/// The teaching material's `u = x² + y`.
#[differentiate]
fn u<T: Float>(x: T, y: T) -> T {
    x * x + y
}

/// `J(x) = x³ + x² − 6x + 1`.
#[differentiate]
fn j<T: Float + FromPrimitive>(x: T) -> T {
    x.powi(3) + x.powi(2) - T::from_f64(6.0).unwrap() * x + T::one()
}

#[test]
fn teaching_material_values() {
    // u_xx = 2 and u_xy = 0 at (10, 12).
    let (value, gradient, h) = u_hessian(10.0, 12.0);
    assert_eq!(value, 112.0);
    assert_eq!(gradient, (20.0, 1.0));
    assert_eq!(h, vec![vec![2.0, 0.0], vec![0.0, 0.0]]);
    // J'(2) = 10, J''(2) = 14.
    assert_eq!(j_hessian(2.0), (1.0, 10.0, 14.0));
    assert_eq!(j_hvp(2.0f32, 0.5), (1.0, 10.0, 7.0));
}

/// `fonction_complexe`, generic.
#[differentiate]
fn fonction_complexe<T: Float>(x: T, y: T, z: T) -> T {
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

#[test]
fn fonction_complexe_hessian_against_differences_of_the_hand_gradient() {
    for p in [[7.0, 5.0, 2.0], [0.3, -1.2, 0.8], [2.0, 1.0, -1.5]] {
        let (_, (gx, gy, gz), h) = fonction_complexe_hessian(p[0], p[1], p[2]);
        assert_close(
            "gradient",
            &[gx, gy, gz],
            &fonction_complexe_gradient(&p),
            1e-12,
        );
        let fd = hessian_by_differences(fonction_complexe_gradient, &p, 1e-5);
        for (row, expected) in h.iter().zip(&fd) {
            assert_close("hessian", row, expected, 1e-6);
        }
        // Symmetric by construction.
        for (i, row) in h.iter().enumerate() {
            for (k, entry) in row.iter().enumerate() {
                assert_eq!(*entry, h[k][i]);
            }
        }
    }
}

/// Rosenbrock over a slice: the hand-written Hessian is tridiagonal.
#[differentiate(wrt(x))]
fn rosenbrock<T: Float>(x: &[T], b: T) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        s = s + (T::one() - x[i]).powi(2) + b * (x[i + 1] - x[i].powi(2)).powi(2);
    }
    s
}

fn rosenbrock_hessian_by_hand(x: &[f64], b: f64) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut h = vec![vec![0.0; n]; n];
    for i in 0..n - 1 {
        h[i][i] += 2.0 - 4.0 * b * (x[i + 1] - x[i] * x[i]) + 8.0 * b * x[i] * x[i];
        h[i][i + 1] += -4.0 * b * x[i];
        h[i + 1][i] += -4.0 * b * x[i];
        h[i + 1][i + 1] += 2.0 * b;
    }
    h
}

#[test]
fn rosenbrock_hessian_and_hvp() {
    let x = [1.5, -0.5, 0.7, 1.1, -0.2];
    let (_, _, h) = rosenbrock_hessian(&x, 100.0);
    let by_hand = rosenbrock_hessian_by_hand(&x, 100.0);
    for (row, expected) in h.iter().zip(&by_hand) {
        assert_close("rosenbrock hessian", row, expected, 1e-12);
    }
    // H·v in one sweep, against the hand-written Hessian times v.
    let v = vec![0.3, -1.0, 2.0, 0.5, -0.7];
    let (_, _, hv) = rosenbrock_hvp(&x, 100.0, v.clone());
    let expected: Vec<f64> = by_hand
        .iter()
        .map(|row| row.iter().zip(&v).map(|(a, b)| a * b).sum())
        .collect();
    assert_close("rosenbrock hvp", &hv, &expected, 1e-12);
}

/// A data-dependent `while` loop and a call: the tape records what the second-order sweep
/// needs.
#[differentiate]
fn halve_until_small<T: Float>(x: T, y: T) -> T {
    let mut s = x * y;
    let limit = T::from(0.1).unwrap();
    while s.abs() > limit {
        s = s * T::from(0.5).unwrap() + u(x, y).sin() * T::from(0.01).unwrap();
    }
    s * s
}

#[test]
fn while_loop_and_call_against_differences() {
    let p = [1.3, 0.9];
    let (_, (gx, gy), h) = halve_until_small_hessian(p[0], p[1]);
    let gradient = |q: &[f64]| {
        let (_, (a, b)) = halve_until_small_grad(q[0], q[1]);
        vec![a, b]
    };
    assert_close("gradient", &[gx, gy], &gradient(&p), 1e-15);
    let fd = hessian_by_differences(gradient, &p, 1e-6);
    for (row, expected) in h.iter().zip(&fd) {
        assert_close("hessian", row, expected, 1e-5);
    }
}

/// A function of a fixed-size array: `H` is `[[T; N]; N]`.
#[differentiate]
fn quadratic<T: Float>(x: [T; 3]) -> T {
    let [a, b, c] = x;
    a * a + T::from(3.0).unwrap() * a * b + c * c * c
}

#[differentiate]
fn polar<T: Float>(r: T, theta: T) -> (T, T) {
    (r * theta.cos(), r * theta.sin())
}

#[test]
fn shapes_and_jvp_against_jacobian_rows() {
    let (_, _, h) = quadratic_hessian([1.0, 2.0, -1.0]);
    assert_eq!(h, [[2.0, 3.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, -6.0]]);
    // J·t against the Jacobian's rows.
    let (r, t) = (2.0, 0.3);
    let (_, [row_x, row_y]) = polar_jacobian(r, t);
    let tangent = (0.7, -1.1);
    let (value, (dx, dy)) = polar_jvp(r, t, tangent);
    assert_eq!(value, polar(r, t));
    assert_close(
        "jvp",
        &[dx, dy],
        &[
            row_x.0 * tangent.0 + row_x.1 * tangent.1,
            row_y.0 * tangent.0 + row_y.1 * tangent.1,
        ],
        1e-15,
    );
}

/// Parameters named like what the items add (`v`, `tangent`) or derive (`v_tangent`), and a
/// raw identifier: the generated items keep them apart.
#[differentiate]
fn named_like_the_items<T: Float>(v: &[T], tangent: T, r#type: T, v_tangent: T) -> T {
    v[0] * tangent * r#type * v_tangent
}

#[test]
fn parameter_names_do_not_clash() {
    let (_, g, h) = named_like_the_items_hvp(&[2.0], 3.0, 5.0, 7.0, (vec![1.0], 0.0, 0.0, 0.0));
    assert_eq!(g, (vec![105.0], 70.0, 42.0, 30.0));
    // Column 0 of the Hessian: ∂²/∂v₀∂(tangent, type, v_tangent).
    assert_eq!(h, (vec![0.0], 35.0, 21.0, 15.0));
    let (_, d) = named_like_the_items_jvp(&[2.0], 3.0, 5.0, 7.0, (vec![1.0], 0.0, 0.0, 0.0));
    assert_eq!(d, 105.0);
}

/// `T::from(x)` of a differentiated `x`: a `NumCast` of a dual number keeps only its value, so
/// the items evaluate the pullback's forward sweep, which treats it as the identity.
#[differentiate]
fn cube_of_converted<T: Float + FromPrimitive>(x: T) -> T {
    let y: T = T::from(x).unwrap();
    y * y * y
}

#[test]
fn generic_derivatives_and_conversions() {
    assert_eq!(j_derivatives::<f64, 4>(2.0), [1.0, 10.0, 14.0, 6.0]);
    assert_eq!(j_derivatives::<f32, 5>(2.0), [1.0, 10.0, 14.0, 6.0, 0.0]);
    assert_eq!(cube_of_converted_jvp(2.0, 1.0), (8.0, 12.0));
    assert_eq!(
        cube_of_converted_derivatives::<f64, 4>(2.0),
        [8.0, 12.0, 12.0, 6.0]
    );
    assert_eq!(cube_of_converted_hessian(2.0), (8.0, 12.0, 12.0));
}
