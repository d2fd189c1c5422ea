use differentiate::differentiate;

fn apply(g: &dyn Fn(f64) -> f64, t: f64) -> f64 {
    g(t)
}

#[differentiate]
fn f(x: f64) -> f64 {
    let g = |t: f64| t * x;
    apply(&g, 2.0)
}

fn main() {}
