use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64], y: &[f64]) -> f64 {
    x.iter().chain(y.iter()).skip(1).map(|v| v * v).sum()
}

fn main() {}
