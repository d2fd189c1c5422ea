// A method of an active struct parameter that is not differentiated (`energy` lacks
// `#[differentiate(wrt(self))]`): the caller calls the method's numbers form, which rustc
// reports missing at the call, naming the method and the type (`__energy_numbers_of` of
// `Model`), as it names `g_pullback` for an unannotated function `g`.
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
