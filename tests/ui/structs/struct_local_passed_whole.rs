use differentiate::{differentiate, Differentiable};

#[derive(Clone, Differentiable)]
struct Line {
    w: f64,
    b: f64,
}

#[differentiate]
fn predict(line: &Line, x: f64) -> f64 {
    line.w * x + line.b
}

// A struct built in the body and passed whole inside a closure, which runs where it is
// called rather than where it is written.
#[differentiate]
fn two_points(w: f64, b: f64) -> f64 {
    let line = Line { w, b };
    let at = |x: f64| predict(&line, x);
    at(1.0) + at(2.0)
}

fn main() {}
