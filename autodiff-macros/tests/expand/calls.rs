// Calls between differentiated functions: a tuple result read by component, and a slice
// passed on.
#[differentiate]
fn polar(x: f64, y: f64) -> (f64, f64) {
    ((x * x + y * y).sqrt(), y.atan2(x))
}

#[differentiate]
fn norm(v: &[f64]) -> f64 {
    v.iter().map(|t| t * t).sum::<f64>().sqrt()
}

#[differentiate]
fn uses_both(x: f64, y: f64, v: &[f64]) -> f64 {
    let (r, theta) = polar(x, y);
    r * theta + norm(v)
}
