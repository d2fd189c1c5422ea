//! `NAME_jacobian` for results of several numbers: row `k` is the gradient of output `k`.
//! Checked against `NAME_vjp` with unit seeds (a separate forward sweep per row) and against
//! central differences of the original function.

#![allow(clippy::needless_range_loop)]

use differentiate::check::central_difference;
use differentiate::differentiate;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

/// A rotation by an angle-axis vector and a projection, with a branch on the angle, as in
/// bundle adjustment: arrays in, a tuple out.
#[differentiate(wrt(r, p))]
fn project(r: &[f64; 3], p: &[f64; 3], focal: f64) -> (f64, f64) {
    let sq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
    let q0;
    let q1;
    let q2;
    if sq != 0.0 {
        let theta = sq.sqrt();
        let (s, c) = theta.sin_cos();
        let k = (1.0 - c) / sq;
        let dot = r[0] * p[0] + r[1] * p[1] + r[2] * p[2];
        q0 = p[0] * c + (r[1] * p[2] - r[2] * p[1]) * s / theta + r[0] * dot * k;
        q1 = p[1] * c + (r[2] * p[0] - r[0] * p[2]) * s / theta + r[1] * dot * k;
        q2 = p[2] * c + (r[0] * p[1] - r[1] * p[0]) * s / theta + r[2] * dot * k;
    } else {
        q0 = p[0];
        q1 = p[1];
        q2 = p[2];
    }
    (focal * q0 / q2, focal * q1 / q2)
}

#[test]
fn rows_match_unit_seeds_and_differences() {
    let r = [0.1, -0.3, 0.2];
    let p = [0.5, 0.25, 3.0];
    let (value, rows) = project_jacobian(&r, &p, 800.0);
    assert_eq!(value, project(&r, &p, 800.0));
    for (k, row) in rows.iter().enumerate() {
        let seed = if k == 0 { (1.0, 0.0) } else { (0.0, 1.0) };
        let (_, (dr, dp)) = project_vjp(&r, &p, 800.0, seed);
        // One sweep over two lanes gives each row exactly as a sweep of its own does.
        assert_eq!((row.0, row.1), (dr, dp), "row {k}");
        for i in 0..3 {
            let output = |r: &[f64; 3], p: &[f64; 3]| {
                let (a, b) = project(r, p, 800.0);
                if k == 0 {
                    a
                } else {
                    b
                }
            };
            let fd_r = central_difference(
                |t| {
                    let mut r2 = r;
                    r2[i] = t;
                    output(&r2, &p)
                },
                r[i],
                1e-6,
            );
            let fd_p = central_difference(
                |t| {
                    let mut p2 = p;
                    p2[i] = t;
                    output(&r, &p2)
                },
                p[i],
                1e-6,
            );
            assert!(
                close(row.0[i], fd_r, 1e-5),
                "row {k}, r[{i}]: {} vs {fd_r}",
                row.0[i]
            );
            assert!(
                close(row.1[i], fd_p, 1e-5),
                "row {k}, p[{i}]: {} vs {fd_p}",
                row.1[i]
            );
        }
    }
    // The branch's other arm.
    let (_, rows) = project_jacobian(&[0.0; 3], &p, 800.0);
    let by_hand = [
        [800.0 / 3.0, 0.0, -800.0 * 0.5 / 9.0],
        [0.0, 800.0 / 3.0, -800.0 * 0.25 / 9.0],
    ];
    for k in 0..2 {
        for i in 0..3 {
            assert!(close(rows[k].1[i], by_hand[k][i], 1e-15), "row {k}, p[{i}]");
        }
    }
}

/// An array result of a loop: the rows come from one pullback call each.
#[differentiate]
fn moments(x: &[f64]) -> [f64; 3] {
    let mut m = [0.0; 3];
    for v in x.iter() {
        m[0] += v;
        m[1] += v * v;
        m[2] += v * v * v;
    }
    m
}

#[test]
fn array_result_with_a_loop() {
    let x = [0.5, -1.0, 2.0];
    let (value, rows) = moments_jacobian(&x);
    assert_eq!(value, moments(&x));
    for (i, v) in x.iter().enumerate() {
        assert_eq!(rows[0][i], 1.0);
        assert_eq!(rows[1][i], 2.0 * v);
        assert_eq!(rows[2][i], 3.0 * v * v);
    }
}

/// One scalar input, two outputs: each row is a number.
#[differentiate]
fn polar(t: f64) -> (f64, f64) {
    (t.cos() * 2.0, t.sin() * t)
}

#[test]
fn scalar_input_rows() {
    let (value, [d0, d1]) = polar_jacobian(0.7);
    assert_eq!(value, polar(0.7));
    assert!(close(d0, -2.0 * 0.7f64.sin(), 1e-15));
    assert!(close(d1, 0.7f64.cos() * 0.7 + 0.7f64.sin(), 1e-15));
}

/// A slice and a number in, three `f32` outputs: rows of a `Vec` and a number, in one sweep.
#[differentiate]
fn mixed(v: &[f32], s: f32) -> [f32; 3] {
    let a = v[0] * s;
    let b = if a > 0.0 { a.exp() } else { -a };
    [a + v[1], b * v[2], (s * s).sqrt() + b]
}

#[test]
fn slice_and_number_rows_equal_the_vjps() {
    for s in [0.5f32, -1.5] {
        let v = [0.3f32, 1.0, 2.0];
        let (value, rows) = mixed_jacobian(&v, s);
        assert_eq!(value, mixed(&v, s));
        for (k, row) in rows.iter().enumerate() {
            let mut seed = [0.0f32; 3];
            seed[k] = 1.0;
            assert_eq!(*row, mixed_vjp(&v, s, seed).1, "row {k} at s = {s}");
        }
        // By hand, row 1 (b·v₂, b = exp(v₀s) or -v₀s): ∂/∂v₀ = v₂·b', ∂/∂v₂ = b.
        let (b, db) = if v[0] * s > 0.0 {
            ((v[0] * s).exp(), (v[0] * s).exp())
        } else {
            (-(v[0] * s), -1.0)
        };
        assert!((rows[1].0[0] - v[2] * db * s).abs() < 1e-5);
        assert!((rows[1].0[2] - b).abs() < 1e-6);
    }
}

#[differentiate]
fn square(x: f64) -> f64 {
    x * x
}

/// A call of another differentiated function: one reverse sweep per output after one forward
/// sweep.
#[differentiate]
fn with_call(x: f64, y: f64) -> (f64, f64) {
    (square(x) * y, square(y) + x)
}

#[test]
fn rows_through_a_call() {
    let (value, [(a, b), (c, d)]) = with_call_jacobian(1.5, -2.0);
    assert_eq!(value, with_call(1.5, -2.0));
    assert_eq!((a, b), (2.0 * 1.5 * -2.0, 1.5 * 1.5));
    assert_eq!((c, d), (1.0, -4.0));
}
