use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64]) -> f64 {
    let first = x.first();
    x[0] * 2.0
}

fn main() {}
