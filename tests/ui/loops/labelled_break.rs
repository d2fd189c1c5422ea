use differentiate::differentiate;

#[differentiate]
fn f(x: &[f64]) -> f64 {
    let mut s = 0.0;
    'sum: {
        for v in x {
            s += v;
            if s > 1.0 {
                break 'sum;
            }
        }
        s = 2.0 * s;
    }
    s
}

fn main() {}
