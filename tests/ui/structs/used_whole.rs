// An active struct is read through its fields or passed whole to a differentiated function;
// a copy of it held in a variable is neither.
use differentiate::{differentiate, Differentiable};

#[derive(Clone, Differentiable)]
struct Params {
    w: f64,
}

#[differentiate]
fn loss(p: &Params, x: f64) -> f64 {
    let q = p;
    q.w * x
}

fn main() {}
