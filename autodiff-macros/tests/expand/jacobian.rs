// `NAME_jacobian` in one sweep over lanes (one lane per output), and a sin/cos pair whose
// rules read each other.
#[differentiate]
fn polar_to_cartesian(r: f64, theta: f64) -> (f64, f64) {
    (r * theta.cos(), r * theta.sin())
}

#[differentiate]
fn ratios(x: [f64; 3]) -> [f64; 2] {
    [x[0] / x[1], x[1] / (x[2] * x[2] + 1.0)]
}
