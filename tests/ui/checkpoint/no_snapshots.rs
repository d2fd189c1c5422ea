use differentiate::differentiate;

#[differentiate(checkpoint('time, 0))]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    'time: for _ in 0..n {
        y = y.sin();
    }
    y
}

fn main() {}
