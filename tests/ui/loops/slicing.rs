use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64]) -> f64 {
    let tail = &x[1..];
    tail[0] * 2.0
}

fn main() {}
