use differentiate::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    x.rem_euclid(2.0) * 3.0
}

fn main() {}
