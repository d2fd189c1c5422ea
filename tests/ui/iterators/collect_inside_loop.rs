use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for k in 0..3 {
        let scaled: Vec<f64> = x.iter().map(|v| v * k as f64).collect();
        s += scaled[0];
    }
    s
}

fn main() {}
