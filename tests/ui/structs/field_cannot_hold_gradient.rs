use differentiate::{differentiate, Differentiable};
use std::collections::HashMap;

#[derive(Clone, Differentiable)]
struct Params {
    w: f64,
    cache: HashMap<String, f64>,
}

#[differentiate]
fn f(p: &Params, x: f64) -> f64 {
    p.w * x
}

fn main() {}
