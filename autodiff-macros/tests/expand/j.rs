#[differentiate]
fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}
