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
