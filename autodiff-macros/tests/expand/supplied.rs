// A supplied derivative (`vjp = ..`): the pullback calls it, and callers call the pullback.
#[differentiate(vjp = erf_vjp)]
fn erf(x: f64) -> f64 {
    libm::erf(x)
}

#[differentiate]
fn scaled_erf(x: f64) -> f64 {
    3.0 * erf(x * x)
}
