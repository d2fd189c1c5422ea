use differentiate::differentiate;

#[differentiate]
fn f(x: f64, n: usize) -> f64 {
    let mut s = 0.0;
    for k in 0..n {
        let mut tmp = vec![0.0; k + 1];
        tmp[0] = x;
        s += tmp[0];
    }
    s
}

fn main() {}
