use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64], weights: &std::collections::VecDeque<f64>) -> f64 {
    x.iter().zip(weights.iter()).map(|(a, w)| a * w).sum()
}

fn main() {}
