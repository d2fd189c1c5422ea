use differentiate::{differentiate, Differentiable};

#[derive(Clone, Differentiable)]
struct Params {
    w: f64,
}

#[differentiate]
fn predict(p: &Params, x: f64) -> f64 {
    p.w * x
}

#[differentiate]
fn loss(p: &Params, x: f64) -> f64 {
    predict(p, x).powi(2)
}

fn main() {}
