//! nalgebra parameters (`--features nalgebra`): vectors, matrices and points read by
//! component (`.x`, `.y`, `.z`), by index and by iteration, with gradients of the same type.

use differentiate::differentiate;
use nalgebra::{DVector, Matrix2, Point3, Vector3};

mod common;
use common::assert_close;

/// The potential of a spring from `anchor` to `p` with rest length 1, plus gravity on `p`.
#[differentiate]
fn spring_energy(p: &Point3<f64>, anchor: Vector3<f64>, k: f64) -> f64 {
    let (dx, dy, dz) = (p.x - anchor.x, p.y - anchor.y, p.z - anchor.z);
    let stretch = (dx * dx + dy * dy + dz * dz).sqrt() - 1.0;
    0.5 * k * stretch * stretch + 9.81 * p.z
}

#[test]
fn points_and_vectors_by_component() {
    let p = Point3::new(1.0, 2.0, 2.0);
    let anchor = Vector3::new(0.0, 0.0, 0.0);
    let (value, (g_p, g_anchor, g_k)) = spring_energy_grad(&p, anchor, 10.0);
    // |p − anchor| = 3, stretch 2: ∂/∂p = k·stretch·(p − a)/3 + (0, 0, 9.81).
    assert!((value - (0.5 * 10.0 * 4.0 + 9.81 * 2.0)).abs() < 1e-12);
    let expected = [20.0 / 3.0, 40.0 / 3.0, 40.0 / 3.0 + 9.81];
    assert_close("∂p", g_p.coords.as_slice(), &expected, 1e-14);
    assert_close(
        "∂anchor",
        g_anchor.as_slice(),
        &[-20.0 / 3.0, -40.0 / 3.0, -40.0 / 3.0],
        1e-14,
    );
    assert_eq!(g_k, 2.0);
}

/// A dynamic vector indexed like a slice: Σ wᵢ xᵢ² with weights from a `DVector`.
#[differentiate]
fn weighted_squares(w: &DVector<f64>, x: &DVector<f64>) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        total += w[i] * x[i] * x[i];
    }
    total
}

#[test]
fn dynamic_vectors_by_index() {
    let w = DVector::from_vec(vec![1.0, 2.0, 3.0]);
    let x = DVector::from_vec(vec![0.5, -1.0, 2.0]);
    let (value, (g_w, g_x)) = weighted_squares_grad(&w, &x);
    assert_eq!(value, 0.25 + 2.0 + 12.0);
    assert_eq!(g_w, DVector::from_vec(vec![0.25, 1.0, 4.0]));
    assert_eq!(g_x, DVector::from_vec(vec![1.0, -4.0, 12.0]));
}

/// A matrix read by its column-major linear index and a vector read both by index and by
/// `.x`: the two readings of `v` add up in its gradient.
#[differentiate]
fn quadratic_form(m: &Matrix2<f64>, v: &nalgebra::Vector2<f64>) -> f64 {
    let mut total = 0.0;
    for j in 0..2 {
        for i in 0..2 {
            total += v[i] * m[i + 2 * j] * v[j];
        }
    }
    total + v.x
}

#[test]
fn matrices_and_nested_readings() {
    let m = Matrix2::new(1.0, 2.0, 3.0, 4.0);
    let v = nalgebra::Vector2::new(0.5, -1.0);
    let (value, (g_m, g_v)) = quadratic_form_grad(&m, &v);
    assert!((value - ((v.transpose() * m * v)[(0, 0)] + v.x)).abs() < 1e-14);
    // ∂(vᵀMv)/∂M = v vᵀ; ∂/∂v = (M + Mᵀ) v, plus 1 on x from `v.x`.
    assert_eq!(g_m, v * v.transpose());
    let expected = (m + m.transpose()) * v + nalgebra::Vector2::new(1.0, 0.0);
    assert_eq!(g_v, expected);
    // The Hessian over (m column-major, v): the v block is M + Mᵀ, the (m, v) block v's.
    let (_, _, h) = quadratic_form_hessian(&m, &v);
    assert_eq!(h.len(), 6);
    let sym = m + m.transpose();
    for i in 0..2 {
        for j in 0..2 {
            assert_eq!(h[4 + i][4 + j], sym[(i, j)]);
            assert_eq!(h[i + 2 * j][i + 2 * j], 0.0);
        }
    }
    // ∂²/∂m₀₀∂v₀ = 2 v₀.
    assert_eq!(h[0][4], 2.0 * v[0]);
}

/// The README's example.
#[differentiate]
fn height_energy(p: &Point3<f64>, k: f64) -> f64 {
    0.5 * k * (p.x * p.x + p.y * p.y) + 9.81 * p.z
}

#[test]
fn readme_example() {
    let (_, (g_p, _)) = height_energy_grad(&Point3::new(1.0, 2.0, 3.0), 2.0);
    assert_eq!(g_p, Point3::new(2.0, 4.0, 9.81));
}
