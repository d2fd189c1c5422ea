// A rejected construct: the original function stays, the error points at the construct, and
// the generated items are stubs so that callers still type-check.
#[differentiate]
fn slices(x: &[f64]) -> f64 {
    let y = &x[1..];
    y.len() as f64
}
