use differentiate::{differentiate, Tensor};

#[differentiate]
fn f(x: &Tensor) -> f64 {
    let doubled = x.map(|v| v * 2.0);
    doubled.sum()
}

fn main() {}
