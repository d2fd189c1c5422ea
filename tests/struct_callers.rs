//! Functions with struct parameters called from other differentiated functions.
#![allow(clippy::needless_range_loop)] // index loops, as the differentiated code is written

use differentiate::{differentiate, Differentiable};

mod common;

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Spring {
    k: f64,
    rest: f64,
}

#[differentiate]
fn energy(s: &Spring, x: f64) -> f64 {
    0.5 * s.k * (x - s.rest).powi(2)
}

/// `s` is a constant here: only `x` is differentiated, through `energy`.
#[differentiate(wrt(x))]
fn total(s: &Spring, x: f64) -> f64 {
    energy(s, x) + x
}

#[test]
fn calling_a_struct_function_on_a_constant_struct() {
    let s = Spring { k: 2.0, rest: 1.0 };
    let (value, g) = total_grad(&s, 3.0);
    assert_eq!(value, 4.0 + 3.0);
    assert_eq!(g, 2.0 * 2.0 + 1.0);
    // Second derivatives through the call: the struct's twin, its fields constants.
    let (_, g2, hv) = total_hvp(&s, 3.0, 1.0);
    assert_eq!((g2, hv), (5.0, 2.0));
    assert_eq!(total_derivatives::<4>(&s, 3.0), [7.0, 5.0, 2.0, 0.0]);
}

/// A slice field and a number field, read by a callee of a function of `x` alone.
#[derive(Clone, Debug, Differentiable)]
struct Poly {
    coefficients: Vec<f64>,
    shift: f64,
}

#[differentiate]
fn poly(p: &Poly, x: f64) -> f64 {
    let mut total = 0.0;
    for (k, c) in p.coefficients.iter().enumerate() {
        total += c * (x - p.shift).powi(k as i32);
    }
    total
}

#[differentiate(wrt(x))]
fn poly_squared(p: &Poly, x: f64) -> f64 {
    poly(p, x).powi(2)
}

#[test]
fn slice_fields_in_a_callers_second_derivatives() {
    let p = Poly {
        coefficients: vec![1.0, 2.0, 3.0],
        shift: 1.0,
    };
    // q(x) = 1 + 2u + 3u², u = x − 1; at x = 2: q = 6, q' = 2 + 6u = 8, q'' = 6.
    let (value, g, h) = poly_squared_hessian(&p, 2.0);
    assert_eq!(value, 36.0);
    assert_eq!(g, 2.0 * 6.0 * 8.0);
    assert_eq!(h, 2.0 * (8.0 * 8.0 + 6.0 * 6.0));
}

/// A linear model whose loss calls its prediction with the struct passed whole.
#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Linear {
    w: Vec<f64>,
    b: f64,
}

#[differentiate]
fn predict(m: &Linear, x: &[f64]) -> f64 {
    let mut total = m.b;
    for i in 0..x.len() {
        total += m.w[i] * x[i];
    }
    total
}

#[differentiate(wrt(m))]
fn squared_error(m: &Linear, x: &[f64], y: f64) -> f64 {
    let r = predict(m, x) - y;
    r * r + 0.1 * m.b * m.b
}

#[test]
fn a_struct_passed_whole_to_a_differentiated_call() {
    let m = Linear {
        w: vec![0.5, -1.0],
        b: 0.25,
    };
    let x = [2.0, 3.0];
    let (value, g) = squared_error_grad(&m, &x, 1.0);
    // r = 0.25 + 1 − 3 − 1 = −2.75.
    let r = -2.75;
    assert_eq!(value, r * r + 0.1 * 0.0625);
    assert_eq!(
        g,
        Linear {
            w: vec![2.0 * r * 2.0, 2.0 * r * 3.0],
            b: 2.0 * r + 0.2 * 0.25
        }
    );
}

impl Linear {
    #[differentiate(wrt(self))]
    fn output(&self, x: &[f64]) -> f64 {
        let mut total = self.b;
        for i in 0..x.len() {
            total += self.w[i] * x[i];
        }
        total
    }

    /// `self.output(x)` with `self` active: differentiated through the method.
    #[differentiate(wrt(self))]
    fn loss(&self, x: &[f64], y: f64) -> f64 {
        (self.output(x) - y).powi(2)
    }
}

#[test]
fn a_differentiated_method_called_on_an_active_self() {
    let m = Linear {
        w: vec![0.5, -1.0],
        b: 0.25,
    };
    let (value, g) = m.loss_grad(&[2.0, 3.0], 1.0);
    let r = -2.75;
    assert_eq!(value, r * r);
    assert_eq!(
        g,
        Linear {
            w: vec![2.0 * r * 2.0, 2.0 * r * 3.0],
            b: 2.0 * r
        }
    );
}

/// A line, fitted through a method of its own called on an active parameter (not `self`).
#[derive(Clone, Debug, PartialEq, differentiate::Differentiable)]
struct Line {
    w: f64,
    b: f64,
}

impl Line {
    #[differentiate(wrt(self))]
    fn predict(&self, x: f64) -> f64 {
        self.w * x + self.b
    }
}

#[differentiate(wrt(line))]
fn line_loss(line: &Line, xs: &[f64], ys: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.len() {
        let r = line.predict(xs[i]) - ys[i];
        total += r * r;
    }
    total
}

#[test]
fn a_differentiated_method_called_on_an_active_parameter() {
    let line = Line { w: 2.0, b: -1.0 };
    let (xs, ys) = ([0.0, 1.0, 2.0], [0.5, 1.5, 2.0]);
    let (value, g) = line_loss_grad(&line, &xs, &ys);
    // r = (−1.5, −0.5, 1.0): Σr² = 3.5; ∂/∂w = 2Σ r x = 2(−0.5 + 2) = 3, ∂/∂b = 2Σ r = −2.
    assert!((value - 3.5).abs() < 1e-14);
    assert_eq!(g, Line { w: 3.0, b: -2.0 });
}

/// Second derivatives through a struct passed whole (the callee's numbers form has a twin:
/// the flat function's, its fields read from the numbers where they lie), against
/// differences of the generated gradient.
#[differentiate]
fn poly_loss(p: &Poly, xs: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.len() {
        total += poly(p, xs[i]).powi(2);
    }
    total
}

#[test]
fn second_derivatives_through_a_struct_passed_whole() {
    let p = Poly {
        coefficients: vec![0.5, -1.0, 0.25],
        shift: 0.3,
    };
    let xs = [0.0, 1.0, 2.5];
    let (_, _, h) = poly_loss_hessian(&p, &xs);
    // Over (coefficients, shift, xs): differences of the gradient in each number.
    let flat = |x: &[f64]| {
        let p = Poly {
            coefficients: x[..3].to_vec(),
            shift: x[3],
        };
        let (_, (g, gx)) = poly_loss_grad(&p, &x[4..]);
        let mut all = g.coefficients.clone();
        all.push(g.shift);
        all.extend(gx);
        all
    };
    let mut x = p.coefficients.clone();
    x.push(p.shift);
    x.extend(xs);
    let expected = common::hessian_by_differences(flat, &x, 1e-5);
    for (i, row) in expected.iter().enumerate() {
        common::assert_close(&format!("H[{i}]"), &h[i], row, 1e-6);
    }
}

/// Second derivatives through a method call on an active `self` (the method's numbers form
/// has a twin: its flat twin on `self`'s numbers), against differences of the gradient.
#[test]
fn second_derivatives_through_a_method_on_self() {
    let m = Linear {
        w: vec![0.5, -1.0],
        b: 0.25,
    };
    let (x, y) = ([2.0, 3.0], 1.0);
    let (_, _, h) = m.loss_hessian(&x, y);
    let flat = |p: &[f64]| {
        let m = Linear {
            w: p[..2].to_vec(),
            b: p[2],
        };
        let (_, g) = m.loss_grad(&x, y);
        let mut all = g.w.clone();
        all.push(g.b);
        all
    };
    let expected = common::hessian_by_differences(flat, &[0.5, -1.0, 0.25], 1e-5);
    for (i, row) in expected.iter().enumerate() {
        common::assert_close(&format!("H[{i}]"), &h[i], row, 1e-6);
    }
}
