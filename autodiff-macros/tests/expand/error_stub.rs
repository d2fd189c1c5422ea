// A rejected construct: the original function stays, the error points at the construct, and
// the generated items are stubs so that callers still type-check.
#[differentiate]
fn chained(x: &[f64]) -> f64 {
    x.iter().chain(x.iter()).sum()
}
