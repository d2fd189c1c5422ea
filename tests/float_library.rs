//! Every float-library function the macro knows, written as a method and as a path
//! (`x.sin()` and `f64::sin(x)`), differentiated and compared with central finite
//! differences of the original at several points of its domain, in `f64` and `f32`.

use differentiate::check::central_difference;
use differentiate::differentiate;

/// `f(x)` through the method form and the path form, checked at `points`.
macro_rules! unary {
    ($test:ident: $method:ident at $points:expr) => {
        mod $test {
            use super::*;

            #[differentiate]
            fn method(x: f64) -> f64 {
                x.$method()
            }

            #[differentiate]
            fn path(x: f64) -> f64 {
                f64::$method(x)
            }

            #[differentiate]
            fn single(x: f32) -> f32 {
                x.$method()
            }

            #[test]
            fn matches_finite_differences() {
                for x in $points {
                    let x: f64 = x;
                    let expected = central_difference(method, x, 1e-6 * x.abs().max(1.0));
                    for (form, (value, d)) in [("method", method_grad(x)), ("path", path_grad(x))] {
                        assert_eq!(value, method(x), "{} value at {x}", stringify!($method));
                        let tolerance = 1e-6 * (1.0 + expected.abs());
                        assert!(
                            (d - expected).abs() <= tolerance,
                            "{}'s derivative ({form}) at {x}: {d}, finite difference {expected}",
                            stringify!($method)
                        );
                    }
                    let (_, d32) = single_grad(x as f32);
                    assert!(
                        ((d32 as f64) - expected).abs() <= 1e-3 * (1.0 + expected.abs()),
                        "{}'s f32 derivative at {x}: {d32}, finite difference {expected}",
                        stringify!($method)
                    );
                }
            }
        }
    };
}

unary!(abs: abs at [-1.5, 0.3, 2.0]);
unary!(sqrt: sqrt at [0.2, 1.0, 7.5]);
unary!(cbrt: cbrt at [-2.0, 0.4, 9.0]);
unary!(exp: exp at [-1.0, 0.0, 2.5]);
unary!(exp2: exp2 at [-1.0, 0.5, 3.0]);
unary!(exp_m1: exp_m1 at [-1.0, 1e-3, 2.0]);
unary!(ln: ln at [0.1, 1.0, 30.0]);
unary!(log2: log2 at [0.1, 1.0, 30.0]);
unary!(log10: log10 at [0.1, 1.0, 30.0]);
unary!(ln_1p: ln_1p at [-0.5, 0.0, 4.0]);
unary!(sin: sin at [-2.0, 0.0, 7.0]);
unary!(cos: cos at [-2.0, 0.5, 7.0]);
unary!(tan: tan at [-1.0, 0.2, 1.2]);
unary!(asin: asin at [-0.7, 0.0, 0.9]);
unary!(acos: acos at [-0.7, 0.1, 0.9]);
unary!(atan: atan at [-3.0, 0.0, 7.0]);
unary!(sinh: sinh at [-2.0, 0.0, 3.0]);
unary!(cosh: cosh at [-2.0, 0.3, 3.0]);
unary!(tanh: tanh at [-2.0, 0.0, 1.5]);
unary!(asinh: asinh at [-5.0, 0.0, 5.0]);
unary!(acosh: acosh at [1.2, 2.0, 10.0]);
unary!(atanh: atanh at [-0.8, 0.0, 0.6]);
unary!(recip: recip at [-2.0, 0.5, 4.0]);
unary!(to_degrees: to_degrees at [-1.0, 0.5, 3.0]);
unary!(to_radians: to_radians at [-90.0, 10.0, 270.0]);
unary!(fract: fract at [-1.25, 0.3, 2.7]);
unary!(floor: floor at [-1.25, 0.3, 2.7]);
unary!(ceil: ceil at [-1.25, 0.3, 2.7]);
unary!(round: round at [-1.25, 0.3, 2.7]);
unary!(trunc: trunc at [-1.25, 0.3, 2.7]);
unary!(signum: signum at [-1.25, 0.3, 2.7]);

/// A binary function of two active operands, as a method and as a path.
macro_rules! binary {
    ($test:ident: $method:ident at $points:expr) => {
        mod $test {
            use super::*;

            #[differentiate]
            fn method(a: f64, b: f64) -> f64 {
                a.$method(b)
            }

            #[differentiate]
            fn path(a: f64, b: f64) -> f64 {
                f64::$method(a, b)
            }

            #[test]
            fn matches_finite_differences() {
                for (a, b) in $points {
                    let (a, b): (f64, f64) = (a, b);
                    let da_fd = central_difference(|a| method(a, b), a, 1e-6);
                    let db_fd = central_difference(|b| method(a, b), b, 1e-6);
                    for (form, (value, (da, db))) in
                        [("method", method_grad(a, b)), ("path", path_grad(a, b))]
                    {
                        assert_eq!(value, method(a, b));
                        assert!(
                            (da - da_fd).abs() <= 1e-6 * (1.0 + da_fd.abs()),
                            "{}: ∂/∂a ({form}) at ({a}, {b}): {da}, finite difference {da_fd}",
                            stringify!($method)
                        );
                        assert!(
                            (db - db_fd).abs() <= 1e-6 * (1.0 + db_fd.abs()),
                            "{}: ∂/∂b ({form}) at ({a}, {b}): {db}, finite difference {db_fd}",
                            stringify!($method)
                        );
                    }
                }
            }
        }
    };
}

binary!(powf: powf at [(1.5, 2.3), (0.4, -1.2), (3.0, 0.5)]);
binary!(log: log at [(5.0, 2.0), (0.3, 10.0), (8.0, 0.5)]);
binary!(atan2: atan2 at [(1.0, 2.0), (-1.0, -0.5), (0.3, -2.0)]);
binary!(hypot: hypot at [(3.0, 4.0), (-1.0, 0.5), (0.2, -2.0)]);
binary!(min: min at [(1.0, 2.0), (3.0, -1.0)]);
binary!(max: max at [(1.0, 2.0), (3.0, -1.0)]);

#[differentiate]
fn powi(x: f64) -> f64 {
    x.powi(3) + f64::powi(x, -2) + x.powi(0)
}

#[differentiate]
fn mul_add(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c) + f64::mul_add(c, a, b)
}

#[differentiate]
fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    x.clamp(lo, hi) * 2.0
}

#[differentiate]
fn copysign(x: f64, s: f64) -> f64 {
    x.copysign(s) * 3.0
}

#[test]
fn powi_by_hand() {
    let x = 1.7_f64;
    let (_, d) = powi_grad(x);
    let by_hand = 3.0 * x * x - 2.0 / x.powi(3);
    assert!((d - by_hand).abs() < 1e-12);
    assert!((d - central_difference(powi, x, 1e-6)).abs() < 1e-6);
}

#[test]
fn mul_add_by_hand() {
    let (a, b, c) = (1.5, -2.0, 0.25);
    let (value, (da, db, dc)) = mul_add_grad(a, b, c);
    assert_eq!(value, mul_add(a, b, c));
    assert_eq!((da, db, dc), (b + c, a + 1.0, 1.0 + a));
}

#[test]
fn clamp_inside_below_above() {
    assert_eq!(clamp_grad(0.5, 0.0, 1.0).1, (2.0, 0.0, 0.0));
    assert_eq!(clamp_grad(-0.5, 0.0, 1.0).1, (0.0, 2.0, 0.0));
    assert_eq!(clamp_grad(1.5, 0.0, 1.0).1, (0.0, 0.0, 2.0));
}

#[test]
fn copysign_sign_source_has_no_derivative() {
    assert_eq!(copysign_grad(2.0, -1.0).1, (-3.0, 0.0));
    assert_eq!(copysign_grad(-2.0, -1.0).1, (3.0, 0.0));
    assert_eq!(copysign_grad(2.0, 5.0).1, (3.0, 0.0));
}

#[differentiate]
fn polar_point(r: f64, t: f64) -> f64 {
    let (s, c) = t.sin_cos();
    r * c + r * r * s
}

#[test]
fn sin_cos_destructured() {
    let (r, t) = (1.5_f64, 0.7_f64);
    let (value, (dr, dt)) = polar_point_grad(r, t);
    assert_eq!(value, polar_point(r, t));
    assert!((dr - (t.cos() + 2.0 * r * t.sin())).abs() < 1e-14);
    assert!((dt - (-r * t.sin() + r * r * t.cos())).abs() < 1e-14);
}
