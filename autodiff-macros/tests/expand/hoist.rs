// A value the point loop computes alike for every point (`exp(q[k])`, per component) is
// computed once before it, into a cache the loop reads back in order; the sum of `q` moves
// out too, carried out of the copy.
use differentiate::differentiate;

#[differentiate(wrt(q))]
fn per_point(q: &[f64], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut total = 0.0;
        for j in 0..q.len() {
            total += q[j];
        }
        for k in 0..q.len() {
            s += q[k].exp() * x[i] + total;
        }
    }
    s
}
