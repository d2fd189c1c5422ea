use differentiate::differentiate;

#[differentiate(wrt(a))]
fn scaled(a: f64, k: f64) -> f64 {
    a * k
}

#[differentiate]
fn f(x: f64) -> f64 {
    scaled(2.0, x.cos())
}

fn main() {}
