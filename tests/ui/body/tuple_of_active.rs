use differentiate::differentiate;

#[allow(dead_code)]
struct Point {
    a: f64,
}

#[differentiate]
fn f(x: f64) -> f64 {
    let t = (x, 2.0);
    t.0 * 3.0
}

fn main() {}
