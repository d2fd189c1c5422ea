use differentiate::differentiate;

#[differentiate]
fn f(x: *const f64, y: f64) -> f64 {
    let _ = x;
    y * y
}

fn main() {}
