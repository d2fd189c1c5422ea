//! Functions generic over `T: Float`, written the way published crates write them
//! (optimisation test functions with `T::from_f64(..).unwrap()` constants, `len()`
//! conversions, iterator chains, destructured parameters), differentiated at `f64` and `f32`.
//! Every gradient is checked against one worked by hand and against central differences of
//! the function itself; the `f64` instantiation is checked bit for bit against the same
//! function written for `f64`.

// Written as user code is: index loops over a const-generic length, identity conversions.
#![allow(clippy::needless_range_loop, clippy::useless_conversion)]

mod common;

use common::{assert_close, central_differences};
use differentiate::differentiate;
use num_traits::{Float, FloatConst, FromPrimitive};
use std::iter::{Product, Sum};

fn to_f32(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

fn widened(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

// ---------------------------------------------------------------------------------------
// The test functions.
// ---------------------------------------------------------------------------------------

/// Rosenbrock with its parameters: Σ (a - xᵢ)² + b (xᵢ₊₁ - xᵢ²)².
#[differentiate]
pub fn rosenbrock<T: Float + FromPrimitive>(x: &[T], a: T, b: T) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        s = s + (a - x[i]).powi(2) + b * (x[i + 1] - x[i].powi(2)).powi(2);
    }
    s
}

/// The same function written for `f64`, for the bit-for-bit comparison.
#[differentiate]
pub fn rosenbrock_f64(x: &[f64], a: f64, b: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s = s + (a - x[i]).powi(2) + b * (x[i + 1] - x[i].powi(2)).powi(2);
    }
    s
}

fn rosenbrock_by_hand(x: &[f64], a: f64, b: f64) -> (Vec<f64>, f64, f64) {
    let n = x.len();
    let mut dx = vec![0.0; n];
    let (mut da, mut db) = (0.0, 0.0);
    for i in 0..n - 1 {
        let r = x[i + 1] - x[i] * x[i];
        dx[i] += -2.0 * (a - x[i]) - 4.0 * b * x[i] * r;
        dx[i + 1] += 2.0 * b * r;
        da += 2.0 * (a - x[i]);
        db += r * r;
    }
    (dx, da, db)
}

/// Ackley, as optimisation crates write it: constants through `from_f64`, the dimension
/// through `from_usize(param.len())`, sums as iterator chains.
#[differentiate]
pub fn ackley<T>(param: &[T]) -> T
where
    T: Float + FromPrimitive + FloatConst + Sum,
{
    let a = T::from_f64(20.0).unwrap();
    let b = T::from_f64(0.2).unwrap();
    let c = T::from_f64(2.0).unwrap() * T::PI();
    let n = T::from_usize(param.len()).unwrap();
    let sum_squares = param.iter().map(|x| x.powi(2)).sum::<T>();
    let sum_cosines = param.iter().map(|&x| (c * x).cos()).sum::<T>();
    -a * (-b * (sum_squares / n).sqrt()).exp() - (sum_cosines / n).exp() + a + T::E()
}

fn ackley_by_hand(x: &[f64]) -> Vec<f64> {
    let (a, b, c) = (20.0, 0.2, 2.0 * std::f64::consts::PI);
    let n = x.len() as f64;
    let r = (x.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    let e = (x.iter().map(|v| (c * v).cos()).sum::<f64>() / n).exp();
    x.iter()
        .map(|&v| a * b * (-b * r).exp() * v / (n * r) + e * c * (c * v).sin() / n)
        .collect()
}

/// Rastrigin: `A·n + Σ xᵢ² - A cos(2π xᵢ)`, with an untyped `.sum()`.
#[differentiate]
pub fn rastrigin<T>(param: &[T]) -> T
where
    T: Float + FromPrimitive + FloatConst + Sum,
{
    let a = T::from_f64(10.0).unwrap();
    let two_pi = T::from_f64(2.0).unwrap() * T::PI();
    a * T::from_usize(param.len()).unwrap()
        + param
            .iter()
            .map(|&x| x.powi(2) - a * (two_pi * x).cos())
            .sum()
}

fn rastrigin_by_hand(x: &[f64]) -> Vec<f64> {
    let c = 2.0 * std::f64::consts::PI;
    x.iter()
        .map(|&v| 2.0 * v + 10.0 * c * (c * v).sin())
        .collect()
}

/// Styblinski–Tang in two variables, destructured from an array parameter.
#[differentiate]
pub fn styblinski_tang<T: Float + FromPrimitive>(param: &[T; 2]) -> T {
    let [x1, x2] = *param;
    let half = T::from_f64(0.5).unwrap();
    let sixteen = T::from_f64(16.0).unwrap();
    let five = T::from_f64(5.0).unwrap();
    half * (x1.powi(4) - sixteen * x1.powi(2) + five * x1 + x2.powi(4) - sixteen * x2.powi(2)
        + five * x2)
}

/// Himmelblau, with its constants through `NumCast` (`T::from(11.0).unwrap()`).
#[differentiate]
pub fn himmelblau<T: Float>(param: &[T; 2]) -> T {
    let [x1, x2] = *param;
    let eleven = T::from(11.0).unwrap();
    let seven = T::from(7.0).unwrap();
    (x1.powi(2) + x2 - eleven).powi(2) + (x1 + x2.powi(2) - seven).powi(2)
}

/// Beale, by value, constants through `<T as NumCast>::from` and `expect`.
#[differentiate]
pub fn beale<T: Float>(param: [T; 2]) -> T {
    let [x1, x2] = param;
    let c1 = <T as num_traits::NumCast>::from(1.5).expect("1.5 is a float");
    let c2 = T::from(2.25).unwrap();
    let c3 = T::from(2.625).unwrap();
    (c1 - x1 + x1 * x2).powi(2)
        + (c2 - x1 + x1 * x2.powi(2)).powi(2)
        + (c3 - x1 + x1 * x2.powi(3)).powi(2)
}

fn beale_by_hand(x: [f64; 2]) -> [f64; 2] {
    let [x1, x2] = x;
    let u1 = 1.5 - x1 + x1 * x2;
    let u2 = 2.25 - x1 + x1 * x2 * x2;
    let u3 = 2.625 - x1 + x1 * x2 * x2 * x2;
    [
        2.0 * u1 * (x2 - 1.0) + 2.0 * u2 * (x2 * x2 - 1.0) + 2.0 * u3 * (x2 * x2 * x2 - 1.0),
        2.0 * u1 * x1 + 4.0 * u2 * x1 * x2 + 6.0 * u3 * x1 * x2 * x2,
    ]
}

/// Griewank: a product over `enumerate`, the index converted with `from_usize`.
#[differentiate]
pub fn griewank<T>(param: &[T]) -> T
where
    T: Float + FromPrimitive + Product,
{
    let scale = T::from_f64(4000.0).unwrap();
    let sum = param.iter().fold(T::zero(), |acc, &x| acc + x * x);
    let prod = param
        .iter()
        .enumerate()
        .map(|(i, &x)| (x / T::from_usize(i + 1).unwrap().sqrt()).cos())
        .product::<T>();
    T::one() + sum / scale - prod
}

fn griewank_by_hand(x: &[f64]) -> Vec<f64> {
    let s: Vec<f64> = (0..x.len()).map(|i| ((i + 1) as f64).sqrt()).collect();
    (0..x.len())
        .map(|i| {
            let others: f64 = (0..x.len())
                .filter(|&j| j != i)
                .map(|j| (x[j] / s[j]).cos())
                .product();
            x[i] / 2000.0 + (x[i] / s[i]).sin() / s[i] * others
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------

#[test]
fn rosenbrock_at_f64_and_f32() {
    let x = [1.5, -0.5, 2.0, 0.7];
    let (value, (dx, da, db)) = rosenbrock_grad::<f64>(&x, 1.0, 100.0);
    let (hx, ha, hb) = rosenbrock_by_hand(&x, 1.0, 100.0);
    assert_eq!(value, rosenbrock(&x, 1.0, 100.0));
    assert_close("rosenbrock x", &dx, &hx, 1e-12);
    assert_close("rosenbrock a, b", &[da, db], &[ha, hb], 1e-12);
    let fd = central_differences(|x| rosenbrock(x, 1.0, 100.0), &x, 1e-6);
    assert_close("rosenbrock vs differences", &dx, &fd, 1e-6);

    let xf = to_f32(&x);
    let (_, (dxf, daf, dbf)) = rosenbrock_grad::<f32>(&xf, 1.0, 100.0);
    assert_close("rosenbrock f32 x", &widened(&dxf), &hx, 1e-5);
    assert_close(
        "rosenbrock f32 a, b",
        &[daf as f64, dbf as f64],
        &[ha, hb],
        1e-5,
    );
}

#[test]
fn rosenbrock_at_f64_is_the_f64_function_bit_for_bit() {
    let x = [1.5, -0.5, 2.0, 0.7, -1.25];
    let generic = rosenbrock_grad::<f64>(&x, 1.0, 100.0);
    let concrete = rosenbrock_f64_grad(&x, 1.0, 100.0);
    assert_eq!(generic.0.to_bits(), concrete.0.to_bits());
    let bits = |g: &[f64]| g.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&generic.1 .0), bits(&concrete.1 .0));
    assert_eq!(generic.1 .1.to_bits(), concrete.1 .1.to_bits());
    assert_eq!(generic.1 .2.to_bits(), concrete.1 .2.to_bits());
}

#[test]
fn ackley_at_f64_and_f32() {
    let x = [0.3, -1.2, 0.8];
    let (value, grad) = ackley_grad(&x);
    assert_eq!(value, ackley(&x));
    assert_close("ackley", &grad, &ackley_by_hand(&x), 1e-12);
    assert_close(
        "ackley vs differences",
        &grad,
        &central_differences(ackley, &x, 1e-6),
        1e-7,
    );
    let (_, grad) = ackley_grad(&to_f32(&x));
    assert_close("ackley f32", &widened(&grad), &ackley_by_hand(&x), 1e-4);
    // The global minimum: value 0 (to rounding), gradient 0 by symmetry of the cosines.
    assert!(ackley(&[1e-9, -1e-9]).abs() < 1e-7);
}

#[test]
fn rastrigin_at_f64_and_f32() {
    let x = [0.3, -1.2, 0.8, 2.1];
    let (value, grad) = rastrigin_grad(&x);
    assert_eq!(value, rastrigin(&x));
    assert_close("rastrigin", &grad, &rastrigin_by_hand(&x), 1e-12);
    assert_close(
        "rastrigin vs differences",
        &grad,
        &central_differences(rastrigin, &x, 1e-6),
        1e-6,
    );
    let (_, grad) = rastrigin_grad(&to_f32(&x));
    assert_close(
        "rastrigin f32",
        &widened(&grad),
        &rastrigin_by_hand(&x),
        1e-4,
    );
}

#[test]
fn styblinski_tang_destructured() {
    let x = [0.5, -2.9];
    let (value, grad) = styblinski_tang_grad(&x);
    assert_eq!(value, styblinski_tang(&x));
    let by_hand = x.map(|v: f64| 0.5 * (4.0 * v.powi(3) - 32.0 * v + 5.0));
    assert_close("styblinski-tang", &grad, &by_hand, 1e-12);
    let fd = central_differences(|v| styblinski_tang(&[v[0], v[1]]), &x, 1e-6);
    assert_close("styblinski-tang vs differences", &grad, &fd, 1e-6);
    // Near its minimum, x = -2.903534 in each variable, the gradient vanishes.
    let (_, at_min) = styblinski_tang_grad(&[-2.903534f32, -2.903534]);
    assert!(at_min.iter().all(|g| g.abs() < 1e-3), "{at_min:?}");
}

#[test]
fn himmelblau_minima_and_gradient() {
    let x = [1.3, -0.4];
    let (_, grad) = himmelblau_grad(&x);
    let [x1, x2] = x;
    let by_hand = [
        4.0 * x1 * (x1 * x1 + x2 - 11.0) + 2.0 * (x1 + x2 * x2 - 7.0),
        2.0 * (x1 * x1 + x2 - 11.0) + 4.0 * x2 * (x1 + x2 * x2 - 7.0),
    ];
    assert_close("himmelblau", &grad, &by_hand, 1e-12);
    // (3, 2) is one of its four minima: value and gradient exactly zero.
    assert_eq!(himmelblau_grad(&[3.0f32, 2.0]), (0.0, [0.0, 0.0]));
}

#[test]
fn beale_by_value_with_expect() {
    let x = [1.1, 0.4];
    let (value, grad) = beale_grad(x);
    assert_eq!(value, beale(x));
    assert_close("beale", &grad, &beale_by_hand(x), 1e-12);
    let fd = central_differences(|v| beale([v[0], v[1]]), &x, 1e-6);
    assert_close("beale vs differences", &grad, &fd, 1e-6);
    // Its minimum (3, 0.5): the gradient vanishes.
    assert_eq!(beale_grad([3.0f32, 0.5]).1, [0.0, 0.0]);
}

#[test]
fn griewank_product_over_enumerate() {
    let x = [0.3, -1.2, 0.8, 2.1];
    let (value, grad) = griewank_grad(&x);
    assert_eq!(value, griewank(&x));
    assert_close("griewank", &grad, &griewank_by_hand(&x), 1e-12);
    assert_close(
        "griewank vs differences",
        &grad,
        &central_differences(griewank, &x, 1e-6),
        1e-7,
    );
    let (_, grad) = griewank_grad(&to_f32(&x));
    assert_close("griewank f32", &widened(&grad), &griewank_by_hand(&x), 1e-5);
}

// ---------------------------------------------------------------------------------------
// Bounds, calls and the float library through the trait.
// ---------------------------------------------------------------------------------------

/// A crate's own float trait, with `Float` as a supertrait: the macro cannot see into it.
pub trait Scalar: Float + FromPrimitive {}
impl<T: Float + FromPrimitive> Scalar for T {}

/// `x² sin x` through the user's trait.
#[differentiate]
pub fn through_own_trait<T: Scalar>(x: T) -> T {
    x * x * x.sin()
}

/// The same through `num_traits::real::Real`, which `Float` types implement.
#[differentiate]
pub fn through_real<T: num_traits::real::Real>(x: T, y: T) -> T {
    x.exp() * y.ln()
}

/// Every way of writing the float library: method, trait path, qualified path, type path.
#[differentiate]
pub fn library_forms<T: Float>(x: T, y: T) -> T {
    let a = Float::sin(x);
    let b = <T as Float>::cos(y);
    let c = T::exp(x * y);
    let d = num_traits::Float::sqrt(x * x + y * y);
    let e = x.mul_add(y, a);
    a + b + c + d + e
}

fn library_forms_by_hand(x: f64, y: f64) -> [f64; 2] {
    let r = (x * x + y * y).sqrt();
    let e = (x * y).exp();
    [
        x.cos() + y * e + x / r + y + x.cos(),
        -y.sin() + x * e + y / r + x,
    ]
}

/// Branches, comparisons, `max`/`min`, `num_traits::clamp` and constants of the type.
#[differentiate]
pub fn piecewise<T: Float>(x: T, y: T) -> T {
    let lo = -T::one();
    let hi = T::one() + T::one();
    let clamped = num_traits::clamp(x, lo, hi);
    let big = if y > T::zero() {
        y.max(x)
    } else {
        y.min(x * x)
    };
    let tiny = T::epsilon() * T::min_positive_value();
    clamped * big + tiny.min(T::max_value()).max(T::neg_infinity())
}

/// A const-generic array, and `into` as an identity conversion.
#[differentiate]
pub fn sphere<T: Float, const N: usize>(x: [T; N]) -> T {
    let mut s = T::zero();
    for i in 0..N {
        let v: T = x[i].into();
        s = s + v * v;
    }
    s
}

/// Calls of a generic differentiated function, with the type given and inferred.
#[differentiate]
pub fn calls_generic<T: Float + FromPrimitive>(x: &[T], a: T) -> T {
    let hundred = T::from_f64(100.0).unwrap();
    rosenbrock::<T>(x, a, hundred) + through_own_trait(a)
}

/// A result of several numbers: `NAME_jacobian` over `T`.
#[differentiate]
pub fn polar<T: Float>(r: T, theta: T) -> (T, T) {
    (r * theta.cos(), r * theta.sin())
}

#[test]
fn bounds_through_own_trait_and_real() {
    let x = 0.7f64;
    let (value, grad) = through_own_trait_grad(x);
    assert_eq!(value, through_own_trait(x));
    assert!((grad - (2.0 * x * x.sin() + x * x * x.cos())).abs() < 1e-15);
    let (_, (gx, gy)) = through_real_grad(0.4f32, 2.5f32);
    assert!((gx - 0.4f32.exp() * 2.5f32.ln()).abs() < 1e-6);
    assert!((gy - 0.4f32.exp() / 2.5).abs() < 1e-6);
}

#[test]
fn float_library_through_the_trait() {
    let (x, y) = (0.6, -1.3);
    let (value, (gx, gy)) = library_forms_grad(x, y);
    assert_eq!(value, library_forms(x, y));
    assert_close(
        "library forms",
        &[gx, gy],
        &library_forms_by_hand(x, y),
        1e-14,
    );
    let fd = central_differences(|v| library_forms(v[0], v[1]), &[x, y], 1e-6);
    assert_close("library forms vs differences", &[gx, gy], &fd, 1e-8);
}

#[test]
fn branches_and_clamp_over_generic_values() {
    // Inside the clamp, `y > 0` and `y > x`: clamped·big = x·y.
    let (_, (gx, gy)) = piecewise_grad(0.5, 1.5);
    assert_eq!((gx, gy), (1.5, 0.5));
    // Clamped at the upper bound 2 (no derivative in x), `y ≤ 0`: 2·min(y, x²) = 2y.
    let (_, (gx, gy)) = piecewise_grad(3.0f32, -1.0);
    assert_eq!((gx, gy), (0.0, 2.0));
    // Inside the clamp, `y ≤ 0`, and x² < y is impossible: 2y again, x·y for x = 0.5.
    let (_, (gx, gy)) = piecewise_grad(0.5, -2.0);
    assert_eq!((gx, gy), (-2.0, 0.5));
}

#[test]
fn const_generic_arrays_and_into() {
    let (value, grad) = sphere_grad([1.0, -2.0, 0.5]);
    assert_eq!((value, grad), (5.25, [2.0, -4.0, 1.0]));
    let (value, grad) = sphere_grad([3.0f32; 5]);
    assert_eq!((value, grad), (45.0, [6.0; 5]));
}

#[test]
fn calls_between_generic_functions() {
    let x = [1.5, -0.5, 2.0];
    let a = 0.8;
    let (value, (dx, da)) = calls_generic_grad(&x, a);
    assert_eq!(value, calls_generic(&x, a));
    let (hx, ha, _) = rosenbrock_by_hand(&x, a, 100.0);
    let own = 2.0 * a * a.sin() + a * a * a.cos();
    assert_close("calls, x", &dx, &hx, 1e-12);
    assert_close("calls, a", &[da], &[ha + own], 1e-12);
    let (_, (dxf, _)) = calls_generic_grad(&to_f32(&x), a as f32);
    assert_close("calls f32", &widened(&dxf), &hx, 1e-5);
}

#[test]
fn jacobian_over_a_generic_float() {
    let (r, t) = (2.0f64, 0.3f64);
    let (value, [row_x, row_y]) = polar_jacobian(r, t);
    assert_eq!(value, polar(r, t));
    assert_eq!(row_x, (t.cos(), -r * t.sin()));
    assert_eq!(row_y, (t.sin(), r * t.cos()));
    let (_, [row_x, _]) = polar_jacobian(2.0f32, 0.3f32);
    assert_eq!(row_x, (0.3f32.cos(), -2.0 * 0.3f32.sin()));
    let (_, grads) = polar_vjp(r, t, (1.0, 0.0));
    assert_eq!(grads, row_x_f64(r, t));
}

fn row_x_f64(r: f64, t: f64) -> (f64, f64) {
    (t.cos(), -r * t.sin())
}

/// A tuple result of a generic call, read by component, in a branch.
#[differentiate]
pub fn through_polar<T: Float>(r: T, t: T) -> T {
    let (x, y) = polar(r, t);
    if x > T::zero() {
        x * y
    } else {
        y
    }
}

/// An early `return` from a loop over a generic slice.
#[differentiate]
pub fn until_above_one<T: Float>(x: &[T]) -> T {
    let mut s = T::zero();
    for &v in x {
        if v > T::one() {
            return s;
        }
        s = s + v * v;
    }
    s
}

/// A local buffer of the float type, written and read back.
#[differentiate]
pub fn neighbours<T: Float>(x: &[T]) -> T {
    let mut b = vec![T::zero(); x.len()];
    for i in 0..x.len() {
        b[i] = x[i].sin();
    }
    let mut s = T::zero();
    for i in 1..x.len() {
        s = s + b[i] * b[i - 1];
    }
    s
}

#[test]
fn components_returns_and_buffers_over_a_generic_float() {
    // x·y = r² sin(2t) / 2 where x = r cos t > 0.
    let (r, t) = (2.0f64, 0.3f64);
    let (_, (dr, dt)) = through_polar_grad(r, t);
    assert_close(
        "through polar",
        &[dr, dt],
        &[r * (2.0 * t).sin(), r * r * (2.0 * t).cos()],
        1e-14,
    );
    // Stops at 2.0: Σ v² over the values before it.
    assert_eq!(
        until_above_one_grad(&[0.5f32, 0.7, 2.0, 0.1]).1,
        vec![1.0, 1.4, 0.0, 0.0]
    );
    let x = [0.5, 0.7, 2.0, 0.1];
    let (value, grad) = neighbours_grad(&x);
    assert_eq!(value, neighbours(&x));
    let by_hand: Vec<f64> = (0..4)
        .map(|i| {
            let left = if i > 0 { x[i - 1].sin() } else { 0.0 };
            let right = if i < 3 { x[i + 1].sin() } else { 0.0 };
            (left + right) * x[i].cos()
        })
        .collect();
    assert_close("neighbours", &grad, &by_hand, 1e-14);
}

/// The same conversions in an `f64` function: `f64::from_usize(x.len()).unwrap()` is a
/// constant of the derivative, as `x.len() as f64` is.
#[differentiate]
pub fn mean_square(x: &[f64]) -> f64 {
    let n = f64::from_usize(x.len()).unwrap();
    let half = f64::from_i32(1).unwrap() / f64::from(2.0f32);
    half * x.iter().map(|v| v * v).sum::<f64>() / n
}

/// `T::nan()` and `T::from_i32`: `max` ignores a NaN operand, as `f64::max` does.
#[differentiate]
pub fn ignores_nan<T: Float + FromPrimitive>(x: T) -> T {
    let three = T::from_i32(3).unwrap();
    x.max(T::nan()) * three
}

#[test]
fn integer_conversions_are_constants() {
    let x = [1.0, -2.0, 4.0];
    let (value, grad) = mean_square_grad(&x);
    assert_eq!(value, 0.5 * 21.0 / 3.0);
    assert_eq!(grad, vec![1.0 / 3.0, -2.0 / 3.0, 4.0 / 3.0]);
    assert_eq!(ignores_nan_grad(2.0f64), (6.0, 3.0));
}

/// An `f64` function calling a generic one: `T` is inferred as `f64`.
#[differentiate]
pub fn f64_caller(x: &[f64], a: f64) -> f64 {
    rosenbrock(x, a, 100.0) * 0.5
}

/// A loop over two scalar inputs: `NAME_grad` runs in forward mode (see the README), here
/// over `T`.
#[differentiate(wrt(k, c))]
pub fn oscillator<T: Float>(k: T, c: T, x0: T, v0: T, dt: T, steps: usize) -> T {
    let mut x = x0;
    let mut v = v0;
    for _ in 0..steps {
        let a = -k * x - c * v;
        x = x + dt * v;
        v = v + dt * a;
    }
    x
}

#[test]
fn f64_caller_of_a_generic_function() {
    let x = [1.5, -0.5, 2.0];
    let (_, (dx, da)) = f64_caller_grad(&x, 0.8);
    let (hx, ha, _) = rosenbrock_by_hand(&x, 0.8, 100.0);
    assert_close(
        "f64 caller, x",
        &dx,
        &hx.iter().map(|g| 0.5 * g).collect::<Vec<_>>(),
        1e-12,
    );
    assert_close("f64 caller, a", &[da], &[0.5 * ha], 1e-12);
}

#[test]
fn forward_mode_over_a_generic_float() {
    let (k, c, x0, v0, dt) = (2.0, 0.3, 1.0, 0.0, 0.01);
    let (value, (dk, dc)) = oscillator_grad(k, c, x0, v0, dt, 500);
    // Forward mode (`_grad`) against reverse mode (`_vjp`), and both against differences.
    let (vjp_value, (rk, rc)) = oscillator_vjp(k, c, x0, v0, dt, 500, 1.0);
    assert_eq!(value, vjp_value);
    assert_close("oscillator modes", &[dk, dc], &[rk, rc], 1e-12);
    let fd = central_differences(|p| oscillator(p[0], p[1], x0, v0, dt, 500), &[k, c], 1e-6);
    assert_close("oscillator vs differences", &[dk, dc], &fd, 1e-7);
    let (_, (dkf, dcf)) = oscillator_grad(k as f32, c as f32, 1.0, 0.0, 0.01, 500);
    assert_close("oscillator f32", &[dkf as f64, dcf as f64], &[dk, dc], 1e-4);
}
