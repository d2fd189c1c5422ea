use differentiate::differentiate;

fn parse(s: &str) -> Option<f64> {
    s.parse().ok()
}

#[differentiate]
fn f(x: f64, s: &str) -> f64 {
    let k = parse(s)?;
    x * k
}

fn main() {}
