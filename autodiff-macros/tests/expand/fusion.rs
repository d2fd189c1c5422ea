// A reduction whose adjoint runs inside the forward loop (no tape), with a scratch buffer
// wholly overwritten in every iteration.
#[differentiate(wrt(mu))]
fn sum_of_squared_distances(x: &[f64], mu: &[f64], d: usize) -> f64 {
    let mut diff = vec![0.0; d];
    let mut total = 0.0;
    for i in 0..x.len() / d {
        for j in 0..d {
            diff[j] = x[i * d + j] - mu[j];
        }
        let mut sq = 0.0;
        for j in 0..d {
            sq += diff[j] * diff[j];
        }
        total += 0.5 * sq;
    }
    total
}

/// Rosenbrock's function reads `x[i]` and `x[i + 1]`: `x[i + 1]`'s adjoint waits one
/// iteration in a variable, and each element of the gradient is written once (gathered).
#[differentiate]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += (1.0 - x[i]).powi(2) + 100.0 * (x[i + 1] - x[i] * x[i]).powi(2);
    }
    s
}
