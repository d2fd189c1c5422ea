use differentiate::Differentiable;

#[derive(Differentiable)]
enum Model {
    Linear(f64),
    Quadratic(f64, f64),
}

fn main() {}
