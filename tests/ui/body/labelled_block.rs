use differentiate::differentiate;

#[allow(dead_code)]
struct Point {
    a: f64,
}

#[differentiate]
fn f(x: f64) -> f64 {
    let y = 'b: { break 'b x * 2.0; };
    y
}

fn main() {}
