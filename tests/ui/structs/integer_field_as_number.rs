use differentiate::{differentiate, Differentiable};

#[derive(Clone, Differentiable)]
struct Params {
    w: f64,
    n: usize,
}

#[differentiate]
fn f(p: &Params, x: f64) -> f64 {
    let n = p.n;
    p.w * x * n as f64
}

fn main() {}
