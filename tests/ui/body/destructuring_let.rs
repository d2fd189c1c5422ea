use differentiate::differentiate;

#[allow(dead_code)]
struct Point {
    a: f64,
}

#[differentiate]
fn f(x: f64) -> f64 {
    let Point { a } = Point { a: x };
    a
}

fn main() {}
