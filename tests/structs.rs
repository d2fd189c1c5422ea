//! Struct parameters that derive `Differentiable`.

use differentiate::{differentiate, Differentiable};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Params {
    w: Vec<f64>,
    b: f64,
    n: usize,
}

#[differentiate]
fn loss(p: &Params, x: &[f64], y: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..p.n {
        let mut pred = p.b;
        for j in 0..p.w.len() {
            pred += p.w[j] * x[i * p.w.len() + j];
        }
        let r = pred - y[i];
        total += r * r;
    }
    total
}

#[test]
fn linear_model_in_a_struct() {
    let p = Params { w: vec![0.5, -1.0], b: 0.25, n: 2 };
    let x = [1.0, 2.0, 3.0, 4.0];
    let y = [1.0, -2.0];
    let (value, (gp, gx, gy)) = loss_grad(&p, &x, &y);
    // By hand: pred0 = 0.25 + 0.5 - 2 = -1.25, r0 = -2.25; pred1 = 0.25 + 1.5 - 4 = -2.25, r1 = -0.25.
    assert!((value - (2.25f64 * 2.25 + 0.0625)).abs() < 1e-12);
    assert_eq!(gp.n, 2);
    let (r0, r1) = (-2.25, -0.25);
    assert!((gp.b - 2.0 * (r0 + r1)).abs() < 1e-12);
    assert!((gp.w[0] - 2.0 * (r0 * 1.0 + r1 * 3.0)).abs() < 1e-12);
    assert!((gp.w[1] - 2.0 * (r0 * 2.0 + r1 * 4.0)).abs() < 1e-12);
    assert!((gx[0] - 2.0 * r0 * 0.5).abs() < 1e-12);
    assert!((gy[1] + 2.0 * r1).abs() < 1e-12);
}
