use differentiate::differentiate;

#[allow(dead_code)]
struct Point {
    a: f64,
}

#[differentiate]
fn f(x: f64) -> f64 {
    let p = Point { a: x };
    p.a * 2.0
}

fn main() {}
