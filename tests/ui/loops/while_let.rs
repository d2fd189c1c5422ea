use differentiate::differentiate;

#[differentiate]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    let mut count = Some(n);
    while let Some(k) = count {
        y = y * x;
        count = if k > 0 { Some(k - 1) } else { None };
    }
    y
}

fn main() {}
