//! Loops whose iterations recompute values that do not change from one iteration to the next
//! (`exp(q[k])` inside a loop over points): the macro computes them once, before the loop (see
//! `autodiff-macros/src/hoist.rs`, whose unit tests check which values move). Here every
//! gradient is compared with one worked out by hand or with central differences of the
//! original function, and every value with the original function, bit for bit: hoisting
//! changes where a value is computed, never how.

#![allow(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::useless_vec,
    clippy::type_complexity
)]

use differentiate::check::central_gradient;
use differentiate::differentiate;

mod common;
use common::assert_close;

const H: f64 = 1e-6;

const Q: [f64; 4] = [0.3, -0.8, 0.5, 1.1];
const X: [f64; 5] = [0.7, -1.3, 0.2, 1.9, -0.4];

// ---- a small GMM: per point, per component, exp(q) and a sum of q ---------------------------

/// Per point `i` and component `k`: `alpha_k + Σ_j q_kj - ½ Σ_j (exp(q_kj)(x_i - m_kj))²`,
/// through a log-sum-exp over components (ADBench's GMM, diagonal). `exp(q)` and the sum of
/// `q` are the same for every point.
#[differentiate(wrt(alpha, m, q))]
fn mixture(alpha: &[f64], m: &[f64], q: &[f64], x: &[f64], d: usize) -> f64 {
    let k = alpha.len();
    let mut term = vec![0.0; k];
    let mut total = 0.0;
    for i in 0..x.len() / d {
        for c in 0..k {
            let mut sum_q = 0.0;
            for j in 0..d {
                sum_q += q[c * d + j];
            }
            let mut norm = 0.0;
            for j in 0..d {
                let z = q[c * d + j].exp() * (x[i * d + j] - m[c * d + j]);
                norm += z * z;
            }
            term[c] = alpha[c] + sum_q - 0.5 * norm;
        }
        let mut sum = 0.0;
        for c in 0..k {
            sum += term[c].exp();
        }
        total += sum.ln();
    }
    total
}

#[test]
fn mixture_gradient_matches_the_hand_derivative_and_central_differences() {
    let (k, d) = (3, 2);
    let alpha = [0.1, -0.4, 0.6];
    let m = [0.2, -0.5, 1.0, 0.3, -0.7, 0.9];
    let q = [0.1, -0.2, 0.3, 0.05, -0.15, 0.2];
    let x = [0.4, -0.6, 1.2, 0.1, -0.9, 0.8, 0.3, 0.5];
    let (value, (da, dm, dq)) = mixture_grad(&alpha, &m, &q, &x, d);
    assert_eq!(value, mixture(&alpha, &m, &q, &x, d));

    // By hand: the softmax weight w_c of each point; d term_c/d alpha_c = 1,
    // d/d m_cj = exp(q_cj)·z_cj, d/d q_cj = 1 - z_cj².
    let (mut ha, mut hm, mut hq) = (vec![0.0; k], vec![0.0; k * d], vec![0.0; k * d]);
    for i in 0..x.len() / d {
        let mut terms = vec![0.0; k];
        let mut zs = vec![0.0; k * d];
        for c in 0..k {
            let mut t = alpha[c];
            for j in 0..d {
                let z = q[c * d + j].exp() * (x[i * d + j] - m[c * d + j]);
                zs[c * d + j] = z;
                t += q[c * d + j] - 0.5 * z * z;
            }
            terms[c] = t;
        }
        let sum: f64 = terms.iter().map(|t| t.exp()).sum();
        for c in 0..k {
            let w = terms[c].exp() / sum;
            ha[c] += w;
            for j in 0..d {
                let z = zs[c * d + j];
                hm[c * d + j] += w * q[c * d + j].exp() * z;
                hq[c * d + j] += w * (1.0 - z * z);
            }
        }
    }
    assert_close("d alpha", &da, &ha, 1e-12);
    assert_close("d m", &dm, &hm, 1e-12);
    assert_close("d q", &dq, &hq, 1e-12);

    let fd = central_gradient(|q: &[f64]| mixture(&alpha, &m, q, &x, d), &q, H);
    assert_close("d q (central differences)", &dq, &fd, 1e-6);
}

// ---- a value at the top of the body ------------------------------------------------------------

/// `c = sin(a)/b` is the same in every iteration: computed once, before the loop.
#[differentiate]
fn scaled_sum(a: f64, b: f64, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let c = a.sin() / b;
        s += c * x[i] * x[i];
    }
    s
}

#[test]
fn a_value_at_the_top_of_the_body_has_the_hand_derivative() {
    let (a, b) = (0.7, 1.3);
    let (value, (da, db, dx)) = scaled_sum_grad(a, b, &X);
    assert_eq!(value, scaled_sum(a, b, &X));
    let sq: f64 = X.iter().map(|v| v * v).sum();
    assert_close("d a", &[da], &[a.cos() / b * sq], 1e-14);
    assert_close("d b", &[db], &[-a.sin() / (b * b) * sq], 1e-14);
    let hand: Vec<f64> = X.iter().map(|v| 2.0 * a.sin() / b * v).collect();
    assert_close("d x", &dx, &hand, 1e-14);
}

// ---- inner loops that are not rectangular --------------------------------------------------

/// `exp(q_r - q_c)` over the triangle `c ≤ r`, for every point.
#[differentiate(wrt(q, x))]
fn triangle(q: &[f64], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        for c in 0..q.len() {
            for r in c..q.len() {
                s += (q[r] - q[c]).exp() * x[i];
            }
        }
    }
    s
}

#[test]
fn triangular_inner_loops_match_central_differences() {
    let (value, (dq, dx)) = triangle_grad(&Q, &X);
    assert_eq!(value, triangle(&Q, &X));
    let fd_q = central_gradient(|q: &[f64]| triangle(q, &X), &Q, H);
    assert_close("d q", &dq, &fd_q, 1e-6);
    // d/dx_i is the triangle's sum, the same for every point.
    let mut sum = 0.0;
    for c in 0..Q.len() {
        for r in c..Q.len() {
            sum += (Q[r] - Q[c]).exp();
        }
    }
    assert_close("d x", &dx, &vec![sum; X.len()], 1e-14);
}

/// An inner range computed in the body, and a hoisted value that is also read by other
/// values that do not vary (`e` feeds `f`, both used per point).
#[differentiate(wrt(q, x))]
fn shifted(q: &[f64], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let m = q.len() - 1;
        for k in 0..m {
            let e = q[k + 1].ln();
            let f = e * e + q[k];
            s += e * x[i] + f * x[i] * x[i];
        }
    }
    s
}

#[test]
fn computed_inner_ranges_and_chained_values_match_central_differences() {
    let q = [1.5, 0.4, 2.2, 0.9];
    let (value, (dq, dx)) = shifted_grad(&q, &X);
    assert_eq!(value, shifted(&q, &X));
    let fd_q = central_gradient(|q: &[f64]| shifted(q, &X), &q, H);
    assert_close("d q", &dq, &fd_q, 1e-6);
    let fd_x = central_gradient(|x: &[f64]| shifted(&q, x), &X, H);
    assert_close("d x", &dx, &fd_x, 1e-6);
}

// ---- the loop may not run ------------------------------------------------------------------

/// With no points the original never reads `q[k + 10]`, out of bounds: neither may the
/// hoisted copy.
#[differentiate(wrt(q, x))]
fn out_of_reach(q: &[f64], x: &[f64], m: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        for k in 0..m {
            s += q[k + 10].exp() * x[i];
        }
    }
    s + q[0]
}

#[test]
fn a_loop_that_does_not_run_evaluates_nothing_it_hoisted() {
    let (value, (dq, dx)) = out_of_reach_grad(&Q, &[], 3);
    assert_eq!(value, Q[0]);
    assert_eq!(dq, vec![1.0, 0.0, 0.0, 0.0]);
    assert!(dx.is_empty());
    let (value, (dq, dx)) = out_of_reach_vjp(&Q, &[], 3, 2.0);
    assert_eq!((value, dq[0], dx.len()), (Q[0], 2.0, 0));
}

#[test]
#[should_panic(expected = "index out of bounds")]
fn a_loop_that_runs_still_panics_where_the_original_would() {
    let _ = out_of_reach_grad(&Q, &X, 3);
}

// ---- what varies stays ---------------------------------------------------------------------

/// The loop writes `w`, so `exp(w[k] q[k])` changes between points and stays in the loop.
#[differentiate(wrt(q, x))]
fn rewritten(q: &[f64], x: &[f64]) -> f64 {
    let mut w = vec![1.0; 3];
    let mut s = 0.0;
    for i in 0..x.len() {
        for k in 0..w.len() {
            s += (w[k] * q[k]).exp() * x[i];
            w[k] = 0.5 * w[k] + 0.1 * x[i];
        }
    }
    s
}

/// Only the values under the branch's condition vary; `q[0].exp()` under a branch stays.
#[differentiate(wrt(q, x))]
fn branchy(q: &[f64], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let e = q[1].exp();
        if x[i] > 0.0 {
            s += q[0].exp() * x[i] * e;
        } else {
            s -= e * x[i] * x[i];
        }
    }
    s
}

#[test]
fn values_that_vary_and_values_under_branches_match_central_differences() {
    let (value, (dq, dx)) = rewritten_grad(&Q, &X);
    assert_eq!(value, rewritten(&Q, &X));
    assert_close(
        "rewritten d q",
        &dq,
        &central_gradient(|q: &[f64]| rewritten(q, &X), &Q, H),
        1e-6,
    );
    assert_close(
        "rewritten d x",
        &dx,
        &central_gradient(|x: &[f64]| rewritten(&Q, x), &X, H),
        1e-6,
    );
    let (value, (dq, dx)) = branchy_grad(&Q, &X);
    assert_eq!(value, branchy(&Q, &X));
    assert_close(
        "branchy d q",
        &dq,
        &central_gradient(|q: &[f64]| branchy(q, &X), &Q, H),
        1e-6,
    );
    assert_close(
        "branchy d x",
        &dx,
        &central_gradient(|x: &[f64]| branchy(&Q, x), &X, H),
        1e-6,
    );
}

// ---- single precision ----------------------------------------------------------------------

/// A cache of `f32`: its element type comes from the values stored in it.
#[differentiate(wrt(q))]
fn single(q: &[f32], x: &[f32]) -> f32 {
    let mut s = 0.0;
    for i in 0..x.len() {
        for k in 0..q.len() {
            s += q[k].exp() * x[i];
        }
    }
    s
}

#[test]
fn an_f32_cache_has_the_hand_derivative() {
    let q = [0.25f32, -0.5, 0.75];
    let x = [1.0f32, 2.0, -0.5];
    let (value, dq) = single_grad(&q, &x);
    assert_eq!(value, single(&q, &x));
    let sx: f32 = x.iter().sum();
    for k in 0..q.len() {
        assert!((dq[k] - q[k].exp() * sx).abs() <= 1e-6, "{dq:?}");
    }
}

// ---- forward mode --------------------------------------------------------------------------

/// Two numbers and a loop: `NAME_grad` is in forward mode, over the hoisted `exp(a)` too.
#[differentiate]
fn decay(a: f64, b: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..8 {
        let rate = a.exp() / b;
        s += rate * i as f64 + s * 0.1;
    }
    s
}

#[test]
fn forward_mode_over_a_hoisted_value_matches_reverse_mode_and_the_hand_derivative() {
    let (a, b) = (0.3, 1.7);
    let (value, (da, db)) = decay_grad(a, b);
    assert_eq!(value, decay(a, b));
    let (_, (ra, rb)) = decay_vjp(a, b, 1.0);
    assert_close("forward vs reverse", &[da, db], &[ra, rb], 1e-14);
    // s is linear in rate: s = rate · Σ_i i·1.1^(7-i), so ds/da = s and ds/db = -s/b.
    let weight: f64 = (0..8).map(|i| i as f64 * 1.1f64.powi(7 - i)).sum();
    let rate = a.exp() / b;
    assert_close("d a", &[da], &[rate * weight], 1e-12);
    assert_close("d b", &[db], &[-rate * weight / b], 1e-12);
}

// ---- sums over inner loops -----------------------------------------------------------------

/// `row` (a sum over an inner loop, per row) is read per point: cached, row by row; `t`
/// (a sum at the top of the body) is carried out. Neither loop runs per point any more.
#[differentiate(wrt(q, x))]
fn row_sums(q: &[f64], x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut t = 0.0;
        for j in 0..q.len() {
            t += q[j] * q[j];
        }
        for r in 0..n {
            let mut row = 0.0;
            for c in 0..n {
                row += q[r * n + c];
            }
            s += row * x[i] + t;
        }
    }
    s
}

#[test]
fn sums_over_inner_loops_have_the_hand_derivative() {
    let n = 2;
    let (value, (dq, dx)) = row_sums_grad(&Q, &X, n);
    assert_eq!(value, row_sums(&Q, &X, n));
    // s = Σ_i (Σ_r row_r · x_i + n·t): ds/dq_k = Σx + 2·n·|X|·q_k, ds/dx_i = Σ_r row_r.
    let sum_x: f64 = X.iter().sum();
    let hand_q: Vec<f64> = Q
        .iter()
        .map(|q| sum_x + 2.0 * (n * X.len()) as f64 * q)
        .collect();
    assert_close("d q", &dq, &hand_q, 1e-14);
    let rows: f64 = Q.iter().sum();
    assert_close("d x", &dx, &vec![rows; X.len()], 1e-14);
}
