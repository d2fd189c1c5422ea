use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    loop {
        s += x[0];
        if s > 1.0 {
            break s;
        }
    };
    s
}

fn main() {}
