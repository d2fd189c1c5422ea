use differentiate::differentiate;

#[allow(dead_code)]
struct Point {
    a: f64,
}

#[differentiate]
fn f(x: f64) -> f64 {
    let p = &raw const x;
    let _ = p;
    x * 2.0
}

fn main() {}
