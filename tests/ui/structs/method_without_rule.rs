// A method of an active struct parameter has no derivative rule: the error names the method
// and the parameter, and says to read its fields.
use differentiate::{differentiate, Differentiable};

#[derive(Clone, Differentiable)]
struct Model {
    w: Vec<f64>,
}

impl Model {
    fn energy(&self) -> f64 {
        self.w.iter().map(|v| v * v).sum()
    }
}

#[differentiate]
fn f(m: &Model, x: f64) -> f64 {
    m.energy() * x
}

fn main() {}
