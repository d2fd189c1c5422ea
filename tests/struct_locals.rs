//! Structs built in the body: read and updated by field, assigned whole with a literal,
//! returned whole. Each derivative is checked against one worked by hand, central
//! differences of the function, or (for Hessians) differences of the gradient.

use differentiate::{differentiate, Differentiable};

mod common;
use common::{assert_close, central_differences as differences, hessian_by_differences};

/// A state a simulation carries from step to step.
#[derive(Clone, Copy, Debug, PartialEq, Differentiable)]
struct State {
    x: f64,
    v: f64,
}

/// Energy of a spring of stiffness `k` after `n` explicit Euler steps: the state is assigned
/// whole each step, both fields from the old ones.
#[differentiate(wrt(k, x0, v0))]
fn energy_after(k: f64, x0: f64, v0: f64, dt: f64, n: usize) -> f64 {
    let mut s = State { x: x0, v: v0 };
    for _ in 0..n {
        s = State {
            x: s.x + dt * s.v,
            v: s.v - dt * k * s.x,
        };
    }
    0.5 * s.v * s.v + 0.5 * k * s.x * s.x
}

#[test]
fn a_state_assigned_whole_worked_by_hand() {
    // One step from (x0, v0) = (1, 2), k = 3, dt = 0.1: x1 = 1.2, v1 = 2 − 0.3 = 1.7.
    // E = v1²/2 + k x1²/2; ∂E/∂x0 = v1·(−dt k) + k x1 = −0.51 + 3.6 = 3.09,
    // ∂E/∂v0 = v1 + k x1 dt = 1.7 + 0.36 = 2.06, ∂E/∂k = v1·(−dt x0) + x1²/2 = −0.17 + 0.72 = 0.55.
    let (value, (d_k, d_x0, d_v0)) = energy_after_grad(3.0, 1.0, 2.0, 0.1, 1);
    assert!((value - (1.7f64 * 1.7 / 2.0 + 3.0 * 1.44 / 2.0)).abs() < 1e-14);
    assert_close("∇", &[d_k, d_x0, d_v0], &[0.55, 3.09, 2.06], 1e-14);
}

#[test]
fn a_state_assigned_whole_against_differences() {
    let x = [3.0, 1.0, 2.0];
    let flat = |x: &[f64]| energy_after(x[0], x[1], x[2], 0.01, 200);
    let (value, (d_k, d_x0, d_v0)) = energy_after_grad(x[0], x[1], x[2], 0.01, 200);
    assert_eq!(value, flat(&x));
    assert_close("∇", &[d_k, d_x0, d_v0], &differences(flat, &x, 1e-6), 1e-6);
    // Second derivatives: the Hessian against differences of the gradient.
    let grad = |x: &[f64]| {
        let (_, (a, b, c)) = energy_after_grad(x[0], x[1], x[2], 0.01, 200);
        vec![a, b, c]
    };
    let (_, _, h) = energy_after_hessian(x[0], x[1], x[2], 0.01, 200);
    let expected = hessian_by_differences(grad, &x, 1e-5);
    for (i, (row, expected)) in h.iter().zip(&expected).enumerate() {
        assert_close(&format!("H row {i}"), row, expected, 1e-5);
    }
}

/// Updated field by field (semi-implicit Euler: the velocity first, then the position with
/// the new velocity), with a constant field beside the numbers.
struct Integrator {
    steps: usize,
    dt: f64,
}

#[differentiate(wrt(k, x0))]
fn position_after(k: f64, x0: f64, dt: f64) -> f64 {
    let config = Integrator { steps: 50, dt };
    let mut s = State { x: x0, v: 0.0 };
    for _ in 0..config.steps {
        s.v -= config.dt * k * s.x;
        s.x += config.dt * s.v;
    }
    s.x
}

#[test]
fn fields_updated_one_by_one_against_differences() {
    let x = [2.0, 0.7];
    let flat = |x: &[f64]| position_after(x[0], x[1], 0.05);
    let (value, (d_k, d_x0)) = position_after_grad(x[0], x[1], 0.05);
    assert_eq!(value, flat(&x));
    assert_close("∇", &[d_k, d_x0], &differences(flat, &x, 1e-6), 1e-8);
    // Linear in x0: the position is x0 times the same polynomial in k, so ∂/∂x0 = x / x0.
    assert!((d_x0 - value / x[1]).abs() < 1e-12);
}

/// A struct result built in a local, set field by field, and returned whole.
#[derive(Clone, Debug, PartialEq)]
struct Polar {
    radius: f64,
    angle: f64,
}

#[differentiate]
fn polar_of(x: f64, y: f64) -> Polar {
    let mut p = Polar {
        radius: 0.0,
        angle: 0.0,
    };
    p.radius = (x * x + y * y).sqrt();
    p.angle = y.atan2(x);
    p
}

#[test]
fn a_struct_local_returned_whole() {
    // r = 5 at (3, 4): ∂r = (x, y)/r, ∂θ = (−y, x)/r².
    let seed = Polar {
        radius: 1.0,
        angle: 10.0,
    };
    let (value, (d_x, d_y)) = polar_of_vjp(3.0, 4.0, seed);
    assert_eq!(value, polar_of(3.0, 4.0));
    assert_close(
        "seedᵀJ",
        &[d_x, d_y],
        &[0.6 + 10.0 * -4.0 / 25.0, 0.8 + 10.0 * 3.0 / 25.0],
        1e-14,
    );
}

/// A model built in the body from the parameters, then passed whole: to its own method and
/// to a function of the struct.
#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Line {
    w: f64,
    b: f64,
    name: &'static str,
}

impl Line {
    #[differentiate(wrt(self))]
    fn predict(&self, x: f64) -> f64 {
        self.w * x + self.b
    }
}

#[differentiate]
fn squared_norm(line: &Line) -> f64 {
    line.w * line.w + line.b * line.b
}

#[differentiate(wrt(slope, intercept))]
fn fit_error(slope: f64, intercept: f64, x: f64, y: f64) -> f64 {
    let line = Line {
        w: slope * 2.0,
        b: intercept,
        name: "fit",
    };
    let r = line.predict(x) - y;
    r * r + squared_norm(&line)
}

#[test]
fn a_struct_local_passed_whole_worked_by_hand() {
    // w = 2s, b = c: r = 2s·x + c − y, E = r² + 4s² + c²;
    // ∂E/∂s = 4r·x + 8s, ∂E/∂c = 2r + 2c. At s = 0.5, c = −1, x = 3, y = 1: r = 1.
    let (value, (d_s, d_c)) = fit_error_grad(0.5, -1.0, 3.0, 1.0);
    assert_eq!(value, 1.0 + 1.0 + 1.0);
    assert_eq!((d_s, d_c), (12.0 + 4.0, 2.0 - 2.0));
    let flat = |x: &[f64]| fit_error(x[0], x[1], 3.0, 1.0);
    let (_, (d_s, d_c)) = fit_error_grad(0.3, 0.7, 3.0, 1.0);
    assert_close(
        "∇",
        &[d_s, d_c],
        &differences(flat, &[0.3, 0.7], 1e-6),
        1e-8,
    );
}

/// A struct rebuilt in a loop and passed whole each step (its numbers restored before each
/// call, from the fields as they are then).
#[differentiate]
fn damped(k: f64, x0: f64) -> f64 {
    let mut s = State { x: x0, v: 0.0 };
    let mut total = 0.0;
    for _ in 0..20 {
        s = State {
            x: s.x + 0.1 * s.v,
            v: s.v - 0.1 * k * s.x,
        };
        total += kinetic(&s);
    }
    total
}

#[differentiate]
fn kinetic(s: &State) -> f64 {
    0.5 * s.v * s.v
}

#[test]
fn a_struct_local_passed_whole_in_a_loop_against_differences() {
    let x = [2.0, 0.8];
    let flat = |x: &[f64]| damped(x[0], x[1]);
    let (value, (d_k, d_x0)) = damped_grad(x[0], x[1]);
    assert_eq!(value, flat(&x));
    assert_close("∇", &[d_k, d_x0], &differences(flat, &x, 1e-6), 1e-7);
}
