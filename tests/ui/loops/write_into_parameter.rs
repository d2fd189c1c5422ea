use differentiate::differentiate;

#[differentiate]
fn f(mut x: [f64; 2]) -> f64 {
    x[0] = x[1] * 2.0;
    x[0] + x[1]
}

fn main() {}
