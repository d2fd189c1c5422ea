//! `Vec<T>` results: `NAME_vjp` with a `&[T]` seed, `NAME_jacobian` with one row per output,
//! `NAME_jvp` with one entry per output.

use differentiate::differentiate;

mod common;
use common::assert_close;

/// Residuals of the model `a·exp(b·t) + c` against data `y`.
#[differentiate(wrt(params))]
fn residuals(params: &[f64; 3], t: &[f64], y: &[f64]) -> Vec<f64> {
    let [a, b, c] = [params[0], params[1], params[2]];
    let mut r = vec![0.0; t.len()];
    for i in 0..t.len() {
        r[i] = a * (b * t[i]).exp() + c - y[i];
    }
    r
}

const T: [f64; 4] = [0.0, 0.5, 1.0, 1.5];
const Y: [f64; 4] = [3.0, 2.4, 2.1, 1.8];
const P: [f64; 3] = [2.0, -0.8, 0.9];

#[test]
fn jacobian_rows_are_worked_by_hand() {
    let (value, rows) = residuals_jacobian(&P, &T, &Y);
    assert_eq!(value, residuals(&P, &T, &Y));
    assert_eq!(rows.len(), 4);
    for (i, row) in rows.iter().enumerate() {
        let e = (P[1] * T[i]).exp();
        // ∂r/∂a = exp(b t), ∂r/∂b = a t exp(b t), ∂r/∂c = 1.
        assert_close(&format!("row {i}"), row, &[e, P[0] * T[i] * e, 1.0], 1e-14);
    }
}

#[test]
fn vjp_is_seed_times_jacobian() {
    let seed = [0.5, -1.0, 2.0, 0.25];
    let (value, g) = residuals_vjp(&P, &T, &Y, &seed);
    let (_, rows) = residuals_jacobian(&P, &T, &Y);
    assert_eq!(value.len(), 4);
    let expected: Vec<f64> = (0..3)
        .map(|j| (0..4).map(|i| seed[i] * rows[i][j]).sum())
        .collect();
    assert_close("vjp", &g, &expected, 1e-14);
    // A `Vec` seed passes as a slice.
    let seed_vec = seed.to_vec();
    assert_eq!(residuals_vjp(&P, &T, &Y, &seed_vec).1, g);
}

#[test]
fn jvp_against_differences() {
    let tangent = [0.3, -0.2, 1.0];
    let (value, jv) = residuals_jvp(&P, &T, &Y, tangent);
    assert_eq!(value, residuals(&P, &T, &Y));
    let h = 1e-6;
    let shifted = |s: f64| {
        let p = [
            P[0] + s * tangent[0],
            P[1] + s * tangent[1],
            P[2] + s * tangent[2],
        ];
        residuals(&p, &T, &Y)
    };
    let (up, down) = (shifted(h), shifted(-h));
    let expected: Vec<f64> = up
        .iter()
        .zip(&down)
        .map(|(u, d)| (u - d) / (2.0 * h))
        .collect();
    assert_close("jvp", &jv, &expected, 1e-8);
}

/// A `vec![..]` literal as the result, of every parameter by default.
#[differentiate]
fn polar_to_cartesian(r: f64, theta: f64) -> Vec<f64> {
    vec![r * theta.cos(), r * theta.sin()]
}

#[test]
fn literal_result_and_default_parameters() {
    let (value, rows) = polar_to_cartesian_jacobian(2.0, 0.5);
    assert_eq!(value, vec![2.0 * 0.5f64.cos(), 2.0 * 0.5f64.sin()]);
    assert_close(
        "dx",
        &[rows[0].0, rows[0].1],
        &[0.5f64.cos(), -2.0 * 0.5f64.sin()],
        1e-15,
    );
    assert_close(
        "dy",
        &[rows[1].0, rows[1].1],
        &[0.5f64.sin(), 2.0 * 0.5f64.cos()],
        1e-15,
    );
}

#[derive(Clone, Debug, differentiate::Differentiable)]
struct Model {
    a: f64,
    b: f64,
    c: f64,
}

/// A struct parameter and a `Vec` result together (the curve-fitting example's residuals).
#[differentiate(wrt(m))]
fn model_residuals(m: &Model, t: &[f64], y: &[f64]) -> Vec<f64> {
    let mut r = vec![0.0; t.len()];
    for i in 0..t.len() {
        r[i] = m.a * (m.b * t[i]).exp() + m.c - y[i];
    }
    r
}

#[test]
fn struct_parameter_with_vec_result() {
    let m = Model {
        a: P[0],
        b: P[1],
        c: P[2],
    };
    let (value, rows) = model_residuals_jacobian(&m, &T, &Y);
    let (expected_value, expected) = residuals_jacobian(&P, &T, &Y);
    assert_eq!(value, expected_value);
    for (row, e) in rows.iter().zip(&expected) {
        assert_eq!([row.a, row.b, row.c], *e);
    }
}
