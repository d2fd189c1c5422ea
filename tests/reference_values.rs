//! The reference values of the teaching material this project grew out of. Each derivative
//! is checked against the published value, and against central finite differences of the
//! original function (a code path independent of the generated one).

use approx::assert_relative_eq;
use differentiate::check::central_difference;
use differentiate::differentiate;

#[differentiate]
fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}

#[differentiate]
fn fonction_complexe(x: f64, y: f64, z: f64) -> f64 {
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

#[differentiate]
fn tanh_of_cos(x: f64) -> f64 {
    (4.0 * x.cos().powi(2)).tanh()
}

#[differentiate]
fn ratio(x: f64) -> f64 {
    x.powi(2) * x.cos() / x.atan()
}

#[test]
fn j_prime_at_two_is_ten() {
    let (value, slope) = j_grad(2.0);
    assert_eq!(value, j(2.0));
    assert_relative_eq!(slope, 10.0, max_relative = 1e-15);
    assert_relative_eq!(slope, central_difference(j, 2.0, 1e-5), max_relative = 1e-8);
}

#[test]
fn gradient_descent_reaches_the_published_point() {
    let mut x = 3.0;
    for _ in 0..20 {
        let (_, slope) = j_grad(x);
        x -= 0.1 * slope;
    }
    assert_eq!(x, 1.1196329811802246);
}

#[test]
fn fonction_complexe_gradient_at_7_5_2() {
    let (value, (dx, dy, dz)) = fonction_complexe_grad(7.0, 5.0, 2.0);
    assert_eq!(value, fonction_complexe(7.0, 5.0, 2.0));
    assert_relative_eq!(dx, -5.66196787253764, max_relative = 1e-12);
    assert_relative_eq!(dy, -1.74937550466067, max_relative = 1e-12);
    assert_relative_eq!(dz, 17.0594520169513, max_relative = 1e-12);
    let h = 1e-5;
    assert_relative_eq!(
        dx,
        central_difference(|x| fonction_complexe(x, 5.0, 2.0), 7.0, h),
        max_relative = 1e-7
    );
    assert_relative_eq!(
        dy,
        central_difference(|y| fonction_complexe(7.0, y, 2.0), 5.0, h),
        max_relative = 1e-7
    );
    assert_relative_eq!(
        dz,
        central_difference(|z| fonction_complexe(7.0, 5.0, z), 2.0, h),
        max_relative = 1e-7
    );
}

#[test]
fn tanh_of_four_cos_squared_at_7() {
    let (_, slope) = tanh_of_cos_grad(7.0);
    assert_relative_eq!(slope, -0.1644936, max_relative = 1e-6);
    assert_relative_eq!(
        slope,
        central_difference(tanh_of_cos, 7.0, 1e-5),
        max_relative = 1e-7
    );
}

#[differentiate]
fn ratio_f32(x: f32) -> f32 {
    x.powi(2) * x.cos() / x.atan()
}

#[test]
fn x_squared_cos_over_atan_at_7() {
    // The published -15.504779 was computed in single precision: the f32 function matches it
    // to f32 accuracy, the f64 one to the 7 digits given (the exact value is -15.5047808436).
    let (value32, slope32) = ratio_f32_grad(7.0);
    assert_eq!(value32, ratio_f32(7.0));
    assert_relative_eq!(slope32, -15.504779, max_relative = 4.0 * f32::EPSILON);
    let (_, slope) = ratio_grad(7.0);
    assert_relative_eq!(slope, -15.504779, max_relative = 2e-7);
    assert_relative_eq!(
        slope,
        central_difference(ratio, 7.0, 1e-5),
        max_relative = 1e-8
    );
}

#[test]
fn vjp_scales_the_gradient_by_the_seed() {
    let (value, scaled) = j_vjp(2.0, -0.5);
    assert_eq!(value, 1.0);
    assert_relative_eq!(scaled, -5.0, max_relative = 1e-15);
}
