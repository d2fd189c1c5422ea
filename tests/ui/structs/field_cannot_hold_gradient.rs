// A field whose type is neither numbers nor a constant by its spelling must derive
// `Differentiable` too (or be marked `#[differentiate(constant)]`): the error is at the field.
use differentiate::{differentiate, Differentiable};

#[derive(Clone)]
struct Schedule {
    rate: f64,
}

#[derive(Clone, Differentiable)]
struct Params {
    w: f64,
    schedule: Schedule,
}

#[differentiate]
fn f(p: &Params, x: f64) -> f64 {
    p.w * x
}

fn main() {}
