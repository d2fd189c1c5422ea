use differentiate::differentiate;

#[allow(dead_code)]
struct Point {
    a: f64,
}

#[differentiate]
fn f(x: f64) -> f64 {
    let fut = async { 1.0 };
    drop(fut);
    x
}

fn main() {}
