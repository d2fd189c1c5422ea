// Local buffers written by index and read back, loop-carried (a prefix sum), and a
// data-dependent `while` loop whose trip count is recorded.
#[differentiate]
fn prefix_energy(x: &[f64]) -> f64 {
    let mut c = vec![0.0; x.len()];
    c[0] = x[0];
    for i in 1..x.len() {
        c[i] = c[i - 1] + x[i];
    }
    let mut e = 0.0;
    for i in 0..c.len() {
        e += c[i].sin() * c[i];
    }
    e
}

#[differentiate]
fn doubling(x: f64, limit: f64) -> f64 {
    let mut y = x;
    while y.abs() < limit {
        y = 2.0 * y;
    }
    y
}
