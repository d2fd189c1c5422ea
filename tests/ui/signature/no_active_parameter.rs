use differentiate::differentiate;

#[differentiate]
fn f(a: usize, b: usize) -> f64 {
    (a + b) as f64
}

fn main() {}
