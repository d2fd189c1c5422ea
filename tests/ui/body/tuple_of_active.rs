use differentiate::differentiate;

fn norm(p: (f64, f64)) -> f64 {
    (p.0 * p.0 + p.1 * p.1).sqrt()
}

#[differentiate]
fn f(x: f64) -> f64 {
    norm((x, 2.0)) * 3.0
}

fn main() {}
