#[differentiate(wrt(x))]
fn piecewise(x: f64, k: f64, n: usize) -> f64 {
    let mut y = x * k;
    if x > 1.0 {
        y = y.sin() * x;
    } else if n > 2 {
        return y.exp();
    }
    let z = match n {
        0 => y,
        m => y * m as f64,
    };
    z + y
}
