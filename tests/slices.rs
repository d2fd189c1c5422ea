//! Sub-slices and iterator adaptors over arrays: `&x[a..b]`, `split_at`, `first`/`last`,
//! `skip`, `take`, `step_by`, `rev`, `zip`, `enumerate`, `windows`, `chunks`,
//! `chunks_exact`, `filter`, `map` chains, and writes into a buffer's sub-slice. Each
//! against a gradient worked by hand and central differences.
#![allow(clippy::needless_range_loop)]

mod common;

use common::assert_close;
use differentiate::check::central_gradient;
use differentiate::differentiate;

/// Rosenbrock as crates write it: each element with the next.
#[differentiate]
fn rosenbrock(x: &[f64]) -> f64 {
    x.iter()
        .zip(x.iter().skip(1))
        .map(|(&a, &b)| 100.0 * (b - a * a).powi(2) + (1.0 - a).powi(2))
        .sum()
}

fn rosenbrock_by_hand(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut g = vec![0.0; n];
    for i in 0..n - 1 {
        g[i] += -400.0 * x[i] * (x[i + 1] - x[i] * x[i]) - 2.0 * (1.0 - x[i]);
        g[i + 1] += 200.0 * (x[i + 1] - x[i] * x[i]);
    }
    g
}

#[test]
fn rosenbrock_zip_skip() {
    let x = [0.3, -1.2, 0.8, 1.7, -0.4];
    let (value, grad) = rosenbrock_grad(&x);
    assert_eq!(value, rosenbrock(&x));
    assert_close("rosenbrock", &grad, &rosenbrock_by_hand(&x), 1e-14);
    assert_eq!(rosenbrock_grad(&[1.0, 1.0, 1.0]).1, vec![0.0; 3]);
}

/// Differences of neighbours through `windows(2)`.
#[differentiate]
fn total_variation(x: &[f64]) -> f64 {
    x.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>()
}

#[test]
fn windows_of_two() {
    let x = [0.5, 1.5, -2.0, 0.25];
    let (_, grad) = total_variation_grad(&x);
    let mut expected = vec![0.0; 4];
    for i in 0..3 {
        let d = 2.0 * (x[i + 1] - x[i]);
        expected[i + 1] += d;
        expected[i] -= d;
    }
    assert_close("windows", &grad, &expected, 1e-15);
}

/// Sub-slices named, indexed, iterated, measured and passed on.
#[differentiate]
fn weighted_tail(x: &[f64], w: &[f64]) -> f64 {
    let n = x.len();
    let inner = &x[1..n - 1];
    let mut s = 0.0;
    for (i, v) in inner.iter().enumerate() {
        s += w[i] * v * v;
    }
    s + inner[0] * x[n - 1] + inner.len() as f64 * x[0]
}

#[test]
fn named_sub_slice() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    let w = [0.5, -1.0, 2.0];
    let (_, (gx, gw)) = weighted_tail_grad(&x, &w);
    let expected_x = [
        3.0,
        2.0 * w[0] * x[1] + x[4],
        2.0 * w[1] * x[2],
        2.0 * w[2] * x[3],
        x[1],
    ];
    assert_close("x", &gx, &expected_x, 1e-15);
    assert_close("w", &gw, &[x[1] * x[1], x[2] * x[2], x[3] * x[3]], 1e-15);
}

/// `rev`, `step_by`, `take`, and a reversed chain zipped with a forward one.
#[differentiate]
fn adaptors(x: &[f64]) -> f64 {
    let a: f64 = x.iter().rev().step_by(2).map(|v| v * v).sum();
    let b: f64 = x.iter().skip(1).take(3).map(|v| v.sin()).sum();
    let c: f64 = x.iter().rev().zip(x.iter()).map(|(p, q)| p * q).sum();
    let d: f64 = x[..4].iter().rev().skip(1).step_by(2).copied().sum();
    a + 2.0 * b + 3.0 * c + 5.0 * d
}

#[test]
fn adaptors_against_differences() {
    let x = [0.7, -0.3, 1.1, 0.4, -1.6, 0.9, 0.2];
    let (value, grad) = adaptors_grad(&x);
    assert_eq!(value, adaptors(&x));
    let numeric = central_gradient(adaptors, &x, 1e-6);
    assert_close("adaptors", &grad, &numeric, 1e-8);
    // By hand: a reads x6, x4, x2, x0; b x1..x3; c pairs x[i] with x[n-1-i]; d x2, x0.
    let n = x.len();
    let mut expected = vec![0.0; n];
    for i in [6, 4, 2, 0] {
        expected[i] += 2.0 * x[i];
    }
    for i in 1..4 {
        expected[i] += 2.0 * x[i].cos();
    }
    for i in 0..n {
        expected[i] += 3.0 * 2.0 * x[n - 1 - i];
    }
    expected[2] += 5.0;
    expected[0] += 5.0;
    assert_close("adaptors by hand", &grad, &expected, 1e-14);
}

/// `chunks`, `chunks_exact`, `split_at`, `first`, `last`.
#[differentiate]
fn pieces(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for c in x.chunks(3) {
        s += c[0] * c[c.len() - 1];
    }
    for pair in x.chunks_exact(2) {
        s += pair[0] - pair[1];
    }
    let (left, right) = x.split_at(2);
    let l: f64 = left.iter().sum();
    let r: f64 = right.iter().map(|v| v * v).sum();
    s + l * r + x.first().unwrap() * *x.last().unwrap()
}

#[test]
fn pieces_against_differences() {
    let x = [0.5, -1.0, 2.0, 0.25, 1.5, -0.75, 3.0];
    let (value, grad) = pieces_grad(&x);
    assert_eq!(value, pieces(&x));
    let numeric = central_gradient(pieces, &x, 1e-6);
    assert_close("pieces", &grad, &numeric, 1e-8);
}

/// `filter` on a passive predicate, and `max_by`/`min_by`.
#[differentiate]
fn selections(x: &[f64]) -> f64 {
    let positive: f64 = x.iter().filter(|v| **v > 0.0).map(|v| v * v).sum();
    let big = *x.iter().max_by(|a, b| a.partial_cmp(b).unwrap()).unwrap();
    let small = x.iter().copied().min_by(|a, b| a.total_cmp(b)).unwrap();
    positive + 3.0 * big - small
}

#[test]
fn filter_and_extremes() {
    let x = [0.5, -1.0, 2.0, -0.25, 1.5];
    let (_, grad) = selections_grad(&x);
    let expected = [1.0, -1.0, 4.0 + 3.0, 0.0, 3.0];
    assert_close("selections", &grad, &expected, 1e-15);
}

/// Writing into a buffer's sub-slice.
#[differentiate]
fn shifted(x: &[f64]) -> f64 {
    let n = x.len();
    let mut buf = vec![0.0; n + 2];
    buf[1..n + 1].copy_from_slice(x);
    buf[..1].fill(x[0]);
    let mut s = 0.0;
    for w in buf.windows(3) {
        s += w[0] * w[2];
    }
    s
}

#[test]
fn writes_into_a_sub_slice() {
    let x = [0.5, -1.0, 2.0, 0.25];
    let (value, grad) = shifted_grad(&x);
    assert_eq!(value, shifted(&x));
    let numeric = central_gradient(shifted, &x, 1e-6);
    assert_close("shifted", &grad, &numeric, 1e-8);
}

#[differentiate]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

/// Sub-slices passed to a differentiated function.
#[differentiate]
fn halves(x: &[f64]) -> f64 {
    let h = x.len() / 2;
    dot(&x[..h], &x[h..2 * h]) + dot(&x[1..], &x[..x.len() - 1])
}

#[test]
fn sub_slices_passed_on() {
    let x = [0.5, -1.0, 2.0, 0.25, 1.5];
    let (_, grad) = halves_grad(&x);
    let numeric = central_gradient(halves, &x, 1e-6);
    assert_close("halves", &grad, &numeric, 1e-8);
}

#[test]
#[should_panic(expected = "out of range")]
fn a_sub_slice_out_of_range_panics_as_it_would() {
    let _ = halves_grad(&[]);
}

/// Buffers declared inside a loop, inside a branch, and after an early `return`.
#[differentiate]
fn local_buffers(x: &[f64]) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for k in 0..3 {
        let mut row = vec![0.0; n];
        for i in 0..n {
            row[i] = x[i] * (k as f64 + 1.0);
        }
        let pair = [row[0], row[n - 1]];
        s += row.iter().map(|v| v * v).sum::<f64>() + pair[0] * pair[1];
    }
    if s > 1e6 {
        return s;
    }
    let mut tail = vec![1.0; n];
    for i in 0..n {
        tail[i] *= x[i].sin();
    }
    s + tail.iter().sum::<f64>()
}

#[test]
fn buffers_declared_inside_loops_and_after_return() {
    let x = [0.5, -1.0, 2.0, 0.25];
    let (value, grad) = local_buffers_grad(&x);
    assert_eq!(value, local_buffers(&x));
    let numeric = central_gradient(local_buffers, &x, 1e-6);
    assert_close("local buffers", &grad, &numeric, 1e-7);
}

/// Iterator chains collected into a buffer, and an array mapped and destructured.
#[differentiate]
fn collected(x: &[f64], p: [f64; 2]) -> f64 {
    let scaled: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    let steps = x.windows(2).map(|w| w[1] - w[0]).collect::<Vec<f64>>();
    let [a, b] = p.map(|v| v * v);
    let q = p.map(|v| v.sin());
    scaled.iter().zip(&steps).map(|(s, d)| s * d).sum::<f64>() + a * b + scaled[0] + q[1]
}

#[test]
fn collect_into_buffers() {
    let x = [0.5, -1.0, 2.0, 0.25];
    let p = [1.5, -0.5];
    let (value, (gx, gp)) = collected_grad(&x, p);
    assert_eq!(value, collected(&x, p));
    let numeric = central_gradient(|q| collected(q, p), &x, 1e-6);
    assert_close("collected x", &gx, &numeric, 1e-8);
    // a·b = p0² p1²
    assert_close(
        "collected p",
        &gp,
        &[
            2.0 * p[0] * p[1] * p[1],
            2.0 * p[1] * p[0] * p[0] + p[1].cos(),
        ],
        1e-15,
    );
}

/// `chain` of two slices, in a loop and in reductions.
#[differentiate]
fn chained(x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for v in x.iter().chain(&y[1..]).map(|v| v * v) {
        s = 0.5 * s + v;
    }
    let t: f64 = x.iter().chain(y.iter()).map(|v| v.sin()).sum();
    let m = x
        .iter()
        .chain(y.iter())
        .copied()
        .max_by(|a, b| a.total_cmp(b))
        .unwrap();
    s + t + m
}

#[test]
fn chain_of_two_slices() {
    let (x, y) = ([0.5, -1.0, 2.0], [0.25, 1.5, -0.75]);
    let (value, (gx, gy)) = chained_grad(&x, &y);
    assert_eq!(value, chained(&x, &y));
    let both: Vec<f64> = x.iter().chain(&y).copied().collect();
    let numeric = central_gradient(|p| chained(&p[..3], &p[3..]), &both, 1e-6);
    let got: Vec<f64> = gx.iter().chain(&gy).copied().collect();
    assert_close("chained", &got, &numeric, 1e-8);
}

/// Second order through the adaptors: Rosenbrock's Hessian against differences of its
/// gradient, and a generic function's Hessian-vector product.
#[differentiate]
fn smooth_steps<T: num_traits::Float>(x: &[T]) -> T {
    x.windows(2)
        .map(|w| (w[1] - w[0]).sin())
        .fold(T::zero(), |acc, d| acc + d * d)
        + x[1..]
            .iter()
            .rev()
            .step_by(2)
            .fold(T::zero(), |acc, v| acc + *v * *v * *v)
}

#[test]
fn second_order_through_adaptors() {
    let x = [0.3, -1.2, 0.8, 1.7];
    let (_, _, h) = rosenbrock_hessian(&x);
    let by_differences = common::hessian_by_differences(|p| rosenbrock_grad(p).1, &x, 1e-5);
    for (row, expected) in h.iter().zip(&by_differences) {
        assert_close("rosenbrock hessian", row, expected, 1e-6);
    }
    let v = vec![0.5, -0.25, 1.0, 0.75];
    let (_, g, hv) = smooth_steps_hvp(&x[..], v.clone());
    assert_close(
        "generic grad",
        &g,
        &central_gradient(smooth_steps::<f64>, &x, 1e-6),
        1e-8,
    );
    let step = 1e-5;
    let up: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + step * b).collect();
    let down: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a - step * b).collect();
    let (gu, gd) = (smooth_steps_grad(&up[..]).1, smooth_steps_grad(&down[..]).1);
    let expected: Vec<f64> = gu
        .iter()
        .zip(&gd)
        .map(|(a, b)| (a - b) / (2.0 * step))
        .collect();
    assert_close("generic hvp", &hv, &expected, 1e-6);
}
