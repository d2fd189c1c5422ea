// A struct parameter is active by default: a struct that does not derive `Differentiable`
// is an error that says to derive it or to name the active parameters, never a silent
// constant (a gradient with respect to `x` and `y` only).
use differentiate::differentiate;

struct Params {
    w: Vec<f64>,
    b: f64,
}

#[differentiate]
fn loss(p: &Params, x: &[f64], y: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        let r = p.w[0] * x[i] + p.b - y[i];
        total += r * r;
    }
    total
}

fn main() {}
