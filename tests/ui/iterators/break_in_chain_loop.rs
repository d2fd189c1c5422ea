use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.iter().chain(y.iter()) {
        if *v < 0.0 {
            break;
        }
        s += v;
    }
    s
}

fn main() {}
