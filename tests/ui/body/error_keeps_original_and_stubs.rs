use differentiate::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    for _ in 0..3 {
        y = y % x;
    }
    y
}

fn main() {
    let _a: f64 = f(1.0);
    let _b: (f64, f64) = f_grad(1.0);
    let _c: (f64, f64) = f_vjp(1.0, 1.0);
}
