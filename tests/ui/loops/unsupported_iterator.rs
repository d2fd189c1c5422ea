use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.windows(2) {
        s += v[1] - v[0];
    }
    s
}

fn main() {}
