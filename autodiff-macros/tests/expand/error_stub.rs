// A rejected construct: the original function stays, the error points at the construct, and
// the generated items are stubs so that callers still type-check.
#[differentiate]
fn positive_prefix(x: &[f64]) -> f64 {
    x.iter().take_while(|v| **v > 0.0).sum()
}
