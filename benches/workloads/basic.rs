//! Workloads 1 to 3: the functions `#[differentiate]` differentiates and their hand-written
//! gradients.

// Index loops and the oscillator's update read like the formulas they come from.
#![allow(
    clippy::needless_range_loop,
    clippy::too_many_arguments,
    clippy::type_complexity
)]

use differentiate::differentiate;
use num_traits::{Float, NumAssign};

// ---- 1. the seed function and `fonction_complexe` ------------------------------------------

/// `J(x) = x³ + x² - 6x + 1`, the project's first example.
#[differentiate]
pub fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}

pub fn j_hand_grad(x: f64) -> (f64, f64) {
    (
        x.powi(3) + x.powi(2) - 6.0 * x + 1.0,
        3.0 * x * x + 2.0 * x - 6.0,
    )
}

/// `f(x, y, z) = xy·atan(x/y)·cos(z² - x)/z + atan(x/y) - cos(z² - x)`.
#[differentiate]
pub fn fonction_complexe(x: f64, y: f64, z: f64) -> f64 {
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

/// `fonction_complexe` written once for every float type, as a numerical crate writes it: the
/// "generic" contender, whose `f64` instantiation must cost what the `f64` function costs and
/// give the same bits.
#[differentiate]
pub fn fonction_complexe_generic<T: Float>(x: T, y: T, z: T) -> T {
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

/// The partial derivatives worked out by hand, sharing subexpressions as one would.
pub fn fonction_complexe_hand_grad(x: f64, y: f64, z: f64) -> (f64, (f64, f64, f64)) {
    let a = (x / y).atan();
    let u = z * z - x;
    let (s, c) = u.sin_cos();
    let r2 = x * x + y * y;
    let (da_dx, da_dy) = (y / r2, -x / r2);
    let xy = x * y;
    let inv_z = 1.0 / z;
    let t = xy * a * c * inv_z;
    let value = t + a - c;
    // d/dx [xy·a·c/z] = (y·a·c + xy·a'·c + xy·a·s)/z ; d/dx [-cos u] = -s
    let dx = (y * a * c + xy * da_dx * c + xy * a * s) * inv_z + da_dx - s;
    let dy = (x * a * c + xy * da_dy * c) * inv_z + da_dy;
    let dz = -2.0 * xy * a * s - t * inv_z + 2.0 * z * s;
    (value, (dx, dy, dz))
}

// ---- 2. a separable sum over three slices --------------------------------------------------

/// `Σᵢ (wᵢxᵢ - yᵢ)² + sin xᵢ`, gradient in all of `w`, `x` and `y`.
#[differentiate]
pub fn residual_sum(w: &[f64], x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let r = w[i] * x[i] - y[i];
        s += r * r + x[i].sin();
    }
    s
}

/// `residual_sum` over any float type (see [`fonction_complexe_generic`]).
#[differentiate]
pub fn residual_sum_generic<T: Float + NumAssign>(w: &[T], x: &[T], y: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() {
        let r = w[i] * x[i] - y[i];
        s += r * r + x[i].sin();
    }
    s
}

pub fn residual_sum_hand_grad(
    w: &[f64],
    x: &[f64],
    y: &[f64],
) -> (f64, (Vec<f64>, Vec<f64>, Vec<f64>)) {
    let n = x.len();
    let (mut dw, mut dx, mut dy) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut s = 0.0;
    for i in 0..n {
        let r = w[i] * x[i] - y[i];
        let (sin, cos) = x[i].sin_cos();
        s += r * r + sin;
        dw[i] = 2.0 * r * x[i];
        dx[i] = 2.0 * r * w[i] + cos;
        dy[i] = -2.0 * r;
    }
    (s, (dw, dx, dy))
}

// ---- 3. explicit-Euler damped oscillator ---------------------------------------------------

/// Final position of `x'' = -k x - c x'` after `steps` explicit-Euler steps.
#[differentiate(wrt(k, c))]
pub fn oscillator(k: f64, c: f64, x0: f64, v0: f64, dt: f64, steps: usize) -> f64 {
    let mut x = x0;
    let mut v = v0;
    for _ in 0..steps {
        let a = -k * x - c * v;
        x += dt * v;
        v += dt * a;
    }
    x
}

/// The sensitivities `∂(x, v)/∂(k, c)` carried forward beside the state: what one writes by
/// hand for two parameters (no storage, one pass).
pub fn oscillator_hand_grad(
    k: f64,
    c: f64,
    x0: f64,
    v0: f64,
    dt: f64,
    steps: usize,
) -> (f64, (f64, f64)) {
    let (mut x, mut v) = (x0, v0);
    let (mut xk, mut vk, mut xc, mut vc) = (0.0, 0.0, 0.0, 0.0);
    for _ in 0..steps {
        let a = -k * x - c * v;
        let ak = -x - k * xk - c * vk;
        let ac = -k * xc - v - c * vc;
        x += dt * v;
        xk += dt * vk;
        xc += dt * vc;
        v += dt * a;
        vk += dt * ak;
        vc += dt * ac;
    }
    (x, (xk, xc))
}

/// A hand-written *adjoint* of [`oscillator`] (reverse mode as one writes it by hand: the
/// trajectory stored in a pre-sized buffer, then one backward loop). Not the `hand` entry of
/// the report (forward sensitivities are the better algorithm for two parameters), but the
/// like-for-like comparison for the generated reverse sweep.
pub fn oscillator_hand_adjoint(
    k: f64,
    c: f64,
    x0: f64,
    v0: f64,
    dt: f64,
    steps: usize,
) -> (f64, (f64, f64)) {
    let mut trajectory = Vec::with_capacity(steps);
    let (mut x, mut v) = (x0, v0);
    for _ in 0..steps {
        trajectory.push((x, v));
        let a = -k * x - c * v;
        x += dt * v;
        v += dt * a;
    }
    let (mut xb, mut vb, mut kb, mut cb) = (1.0, 0.0, 0.0, 0.0);
    for &(x, v) in trajectory.iter().rev() {
        // x' = x + dt·v, v' = v + dt·(-k x - c v)
        let ab = dt * vb;
        kb -= ab * x;
        cb -= ab * v;
        let new_xb = xb - k * ab;
        vb = dt * xb + vb - c * ab;
        xb = new_xb;
    }
    let _ = (xb, vb);
    (x, (kb, cb))
}

/// The inputs the benchmarks use.
pub const OSCILLATOR: (f64, f64, f64, f64, f64, usize) = (4.0, 0.3, 1.0, 0.0, 0.01, 1000);
