use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64]) -> f64 {
    let (_, best) = x.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap();
    *best
}

fn main() {}
