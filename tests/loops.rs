//! Loops, slices, local buffers and iterator forms: every derivative compared with one
//! worked out by hand and with central finite differences of the original function.

// The functions spell out the forms users write (`&Vec<f64>`, `&y` on a slice, index loops).
#![allow(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::ptr_arg,
    clippy::needless_borrow,
    clippy::neg_multiply,
    clippy::useless_vec
)]

use differentiate::check::{central_difference, central_gradient};
use differentiate::differentiate;
use differentiate::runtime::tape::{bytes_recorded, reset_bytes_recorded};

mod common;
use common::assert_close;

const H: f64 = 1e-6;

// ---- ranges over slices ------------------------------------------------------------------

#[differentiate]
fn sum_of_squares(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s
}

#[test]
fn range_loop_over_a_slice_records_nothing() {
    let x = [1.0, -2.0, 3.5];
    reset_bytes_recorded();
    let (value, grad) = sum_of_squares_grad(&x);
    assert_eq!(
        bytes_recorded(),
        0,
        "reads only x and i, which the adjoint can recompute"
    );
    assert_eq!(value, 1.0 + 4.0 + 12.25);
    assert_eq!(grad, vec![2.0, -4.0, 7.0]);
    let fd = central_gradient(sum_of_squares, &x, H);
    assert_close("fd", &grad, &fd, 1e-7);
}

#[differentiate]
fn weighted_reverse(x: &[f64], w: &Vec<f64>) -> f64 {
    let mut s = 0.0;
    for i in (0..x.len()).rev() {
        s = s * 0.5 + w[i] * x[i].sin();
    }
    for i in (0..x.len()).step_by(2) {
        s += x[i].powi(2);
    }
    s
}

#[test]
fn rev_and_step_by() {
    let x = vec![0.3, 1.2, -0.7, 2.0, 0.1];
    let w = vec![1.0, 2.0, 3.0, 4.0, 5.0];
    let (value, (dx, dw)) = weighted_reverse_grad(&x, &w);
    assert_eq!(value, weighted_reverse(&x, &w));
    // By hand: s = Σ_i w_i sin(x_i) 0.5^i (i = 0 last, so it is scaled least) + Σ_even x_i².
    let by_hand_dx: Vec<f64> = (0..5)
        .map(|i| {
            w[i] * x[i].cos() * 0.5f64.powi(i as i32) + if i % 2 == 0 { 2.0 * x[i] } else { 0.0 }
        })
        .collect();
    let by_hand_dw: Vec<f64> = (0..5).map(|i| x[i].sin() * 0.5f64.powi(i as i32)).collect();
    assert_close("dx", &dx, &by_hand_dx, 1e-12);
    assert_close("dw", &dw, &by_hand_dw, 1e-12);
    let fd = central_gradient(|x| weighted_reverse(x, &w), &x, H);
    assert_close("dx fd", &dx, &fd, 1e-7);
}

// ---- element iteration ---------------------------------------------------------------------

#[differentiate]
fn element_forms(x: &[f64], y: &[f64]) -> f64 {
    let mut total = 0.0;
    for &v in x {
        total += v * v;
    }
    for v in x.iter() {
        total += *v * 2.0 + v.sin();
    }
    for (i, v) in x.iter().enumerate() {
        total += v * i as f64;
    }
    for (a, b) in x.iter().zip(y.iter()) {
        total += a * b;
    }
    total
}

#[test]
fn for_over_elements_enumerate_and_zip() {
    let x = [0.5, -1.5, 2.0];
    let y = [3.0, 4.0];
    let (value, (dx, dy)) = element_forms_grad(&x, &y);
    assert_eq!(value, element_forms(&x, &y));
    let by_hand_dx: Vec<f64> = (0..3)
        .map(|i| 2.0 * x[i] + 2.0 + x[i].cos() + i as f64 + if i < 2 { y[i] } else { 0.0 })
        .collect();
    assert_close("dx", &dx, &by_hand_dx, 1e-12);
    assert_close("dy", &dy, &[x[0], x[1]], 1e-12);
    assert_close(
        "dx fd",
        &dx,
        &central_gradient(|x| element_forms(x, &y), &x, H),
        1e-7,
    );
}

// ---- while, loop, break, continue, return --------------------------------------------------

#[differentiate]
fn doubling(x: &[f64; 3], w: [f64; 3]) -> f64 {
    let mut y = [2.0 * x[0], 2.0 * x[1], 2.0 * x[2]];
    let mut norm = (y[0] * y[0] + y[1] * y[1] + y[2] * y[2]).sqrt();
    while norm < 1000.0 {
        y[0] = 2.0 * y[0];
        y[1] = 2.0 * y[1];
        y[2] = 2.0 * y[2];
        norm = (y[0] * y[0] + y[1] * y[1] + y[2] * y[2]).sqrt();
    }
    w[0] * y[0] + w[1] * y[1] + w[2] * y[2]
}

#[test]
fn while_loop_with_runtime_trip_count() {
    let x = [0.0245, -1.945, 0.3681];
    let w = [0.1, 1.0, 0.0001];
    let (_, (dx, dw)) = doubling_grad(&x, w);
    assert_eq!(dx, [51.2, 512.0, 0.0512]);
    // ‖2x‖ ≈ 3.96, so the loop doubles 8 times: y = 2·2⁸·x = 512x
    assert_eq!(dw, [512.0 * x[0], 512.0 * x[1], 512.0 * x[2]]);
}

#[differentiate]
fn with_break_and_continue(x: f64, n: usize) -> f64 {
    let mut acc = 0.0;
    let mut k = 0;
    loop {
        k += 1;
        if k % 3 == 0 {
            continue;
        }
        acc += x.powi(k as i32) / k as f64;
        if k >= n {
            break;
        }
    }
    acc
}

#[test]
fn loop_with_break_and_continue() {
    let x = 0.8;
    let n = 7;
    let (value, dx) = with_break_and_continue_grad(x, n);
    assert_eq!(value, with_break_and_continue(x, n));
    // acc = Σ_{k ≤ 7, 3 ∤ k} x^k / k, so d/dx = Σ x^(k-1)
    let by_hand: f64 = (1..=7).filter(|k| k % 3 != 0).map(|k| x.powi(k - 1)).sum();
    assert!((dx - by_hand).abs() < 1e-12, "{dx} vs {by_hand}");
    assert!((dx - central_difference(|x| with_break_and_continue(x, n), x, H)).abs() < 1e-7);
}

#[differentiate]
fn first_above(x: &[f64], threshold: f64) -> f64 {
    for i in 0..x.len() {
        let v = x[i] * x[i];
        if v > threshold {
            return v * threshold;
        }
    }
    threshold.sqrt()
}

#[test]
fn return_inside_a_loop() {
    let x = [0.5, 1.0, 3.0, 5.0];
    let (value, (dx, dt)) = first_above_grad(&x, 4.0);
    assert_eq!(value, 36.0);
    assert_eq!(dx, vec![0.0, 0.0, 2.0 * 3.0 * 4.0, 0.0]);
    assert_eq!(dt, 9.0);
    let (value, (dx, dt)) = first_above_grad(&x, 100.0);
    assert_eq!(value, 10.0);
    assert_eq!(dx, vec![0.0; 4]);
    assert_eq!(dt, 0.5 / 10.0);
}

// ---- nested loops, branches in loops -------------------------------------------------------

#[differentiate]
fn matrix_quadratic(a: &[f64], x: &[f64], n: usize) -> f64 {
    // xᵀ A x with A row-major n×n
    let mut total = 0.0;
    for i in 0..n {
        let mut row = 0.0;
        for j in 0..n {
            row += a[i * n + j] * x[j];
        }
        total += x[i] * row;
    }
    total
}

#[test]
fn nested_loops() {
    let a = [1.0, 2.0, 0.5, -1.0];
    let x = [0.3, -0.8];
    let (value, (da, dx)) = matrix_quadratic_grad(&a, &x, 2);
    assert_eq!(value, matrix_quadratic(&a, &x, 2));
    // d/dA_ij = x_i x_j; d/dx = (A + Aᵀ) x
    assert_close("da", &da, &[0.09, -0.24, -0.24, 0.64], 1e-12);
    let dx_hand = [
        2.0 * 1.0 * 0.3 + (2.0 + 0.5) * -0.8,
        (2.0 + 0.5) * 0.3 + 2.0 * -1.0 * -0.8,
    ];
    assert_close("dx", &dx, &dx_hand, 1e-12);
}

#[differentiate]
fn relu_sum(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for &v in x {
        let r = if v > 0.0 { v.exp() } else { 0.1 * v };
        s += r;
    }
    s
}

#[test]
fn branch_decisions_inside_a_loop() {
    let x = [1.0, -2.0, 0.5, -0.1];
    let (_, dx) = relu_sum_grad(&x);
    assert_close("dx", &dx, &[1f64.exp(), 0.1, 0.5f64.exp(), 0.1], 1e-15);
    assert_close("fd", &dx, &central_gradient(relu_sum, &x, H), 1e-7);
}

// ---- local buffers -------------------------------------------------------------------------

#[differentiate]
fn cumulative(x: &[f64]) -> f64 {
    let n = x.len();
    let mut c = vec![0.0; n];
    c[0] = x[0];
    for i in 1..n {
        c[i] = c[i - 1] + x[i];
    }
    let mut s = 0.0;
    for i in 0..n {
        s += c[i] * c[i];
    }
    s
}

#[test]
fn buffer_with_loop_carried_dependence() {
    let x = [1.0, 2.0, -0.5, 0.25];
    let (value, dx) = cumulative_grad(&x);
    assert_eq!(value, cumulative(&x));
    // c_k = Σ_{i ≤ k} x_i, s = Σ c_k², so ∂s/∂x_i = 2 Σ_{k ≥ i} c_k
    let c = [1.0, 3.0, 2.5, 2.75];
    let by_hand: Vec<f64> = (0..4).map(|i| 2.0 * c[i..].iter().sum::<f64>()).collect();
    assert_close("dx", &dx, &by_hand, 1e-12);
}

#[differentiate]
fn polynomial_buffer(x: f64) -> [f64; 3] {
    let mut p = [1.0, 0.0, 0.0];
    p[1] = x;
    p[2] = p[1] * x;
    p[2] += p[1];
    p
}

#[test]
fn fixed_size_buffer_returned() {
    let (value, dx) = polynomial_buffer_vjp(2.0, [1.0, 1.0, 1.0]);
    assert_eq!(value, [1.0, 2.0, 6.0]);
    assert_eq!(dx, 1.0 + 2.0 * 2.0 + 1.0);
}

// ---- iterator forms and closures -----------------------------------------------------------

#[differentiate]
fn iterator_forms(x: &[f64], y: &[f64]) -> f64 {
    let squares: f64 = x.iter().map(|v| v * v).sum();
    let dot = x.iter().zip(y.iter()).map(|(a, b)| a * b).sum::<f64>();
    let folded = y.iter().fold(1.0, |acc, &v| acc * (1.0 + v));
    let largest = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    squares + dot + folded + largest
}

#[test]
fn map_sum_zip_fold() {
    let x = [0.5, 2.0, -1.0];
    let y = [1.5, -0.5, 0.25];
    let (value, (dx, dy)) = iterator_forms_grad(&x, &y);
    assert_eq!(value, iterator_forms(&x, &y));
    let dx_hand = [2.0 * 0.5 + 1.5, 2.0 * 2.0 - 0.5 + 1.0, 2.0 * -1.0 + 0.25];
    let prod: f64 = y.iter().map(|v| 1.0 + v).product();
    let dy_hand: Vec<f64> = (0..3).map(|i| x[i] + prod / (1.0 + y[i])).collect();
    assert_close("dx", &dx, &dx_hand, 1e-12);
    assert_close("dy", &dy, &dy_hand, 1e-12);
}

#[differentiate]
fn local_closure(x: f64) -> f64 {
    let f = |t: f64| t.sin() * t;
    f(x) + f(2.0 * x)
}

#[test]
fn local_closure_as_helper() {
    let x = 0.7_f64;
    let (_, dx) = local_closure_grad(x);
    let df = |t: f64| t.cos() * t + t.sin();
    assert!((dx - (df(x) + 2.0 * df(2.0 * x))).abs() < 1e-12);
}

// ---- calls taking slices ---------------------------------------------------------------------

#[differentiate]
fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

#[differentiate]
fn normalised_dot(x: &[f64], y: &[f64]) -> f64 {
    let mut dot = 0.0;
    for i in 0..x.len() {
        dot += x[i] * y[i];
    }
    dot / (norm2(x) * norm2(&y))
}

#[test]
fn calls_with_slices() {
    let x = [1.0, 2.0, 2.0];
    let y = [0.5, -1.0, 3.0];
    let (value, (dx, dy)) = normalised_dot_grad(&x, &y);
    assert_eq!(value, normalised_dot(&x, &y));
    assert_close(
        "dx",
        &dx,
        &central_gradient(|x| normalised_dot(x, &y), &x, H),
        1e-7,
    );
    assert_close(
        "dy",
        &dy,
        &central_gradient(|y| normalised_dot(&x, y), &y, H),
        1e-7,
    );
}

#[differentiate]
fn buffer_through_call(x: &[f64]) -> f64 {
    let mut b = vec![0.0; 3];
    for i in 0..3 {
        b[i] = x[i] * (i as f64 + 1.0);
    }
    let before = norm2(&b);
    b[0] = 10.0 * x[0];
    before + b[0]
}

#[test]
fn a_buffer_written_after_a_call_is_seen_as_it_was() {
    let x = [1.0, 2.0, 3.0];
    let (_, dx) = buffer_through_call_grad(&x);
    assert_close(
        "dx",
        &dx,
        &central_gradient(buffer_through_call, &x, H),
        1e-7,
    );
}

// ---- the tape --------------------------------------------------------------------------------

#[differentiate(wrt(k, c))]
fn oscillator(k: f64, c: f64, x0: f64, v0: f64, dt: f64, steps: usize) -> f64 {
    let mut x = x0;
    let mut v = v0;
    for _ in 0..steps {
        let a = -k * x - c * v;
        x += dt * v;
        v += dt * a;
    }
    x
}

#[test]
fn euler_oscillator_records_at_most_16_bytes_per_step() {
    let (k, c) = (4.0, 0.3);
    reset_bytes_recorded();
    // `NAME_vjp` is in reverse mode (`NAME_grad` of two inputs and a loop is in forward mode,
    // tested in `tests/forward_mode.rs`).
    let (value, (dk, dc)) = oscillator_vjp(k, c, 1.0, 0.0, 0.01, 500, 1.0);
    let bytes = bytes_recorded();
    assert!(bytes <= 16 * 500, "recorded {bytes} bytes for 500 steps");
    assert!(bytes > 0);
    assert_eq!(value, oscillator(k, c, 1.0, 0.0, 0.01, 500));
    let fd_k = central_difference(|k| oscillator(k, c, 1.0, 0.0, 0.01, 500), k, 1e-6);
    let fd_c = central_difference(|c| oscillator(k, c, 1.0, 0.0, 0.01, 500), c, 1e-6);
    assert!((dk - fd_k).abs() < 1e-7, "{dk} vs {fd_k}");
    assert!((dc - fd_c).abs() < 1e-7, "{dc} vs {fd_c}");
}

/// A matrix kept in a flat buffer that the loop writes, each element then read twice through
/// the same computed index (`m[i * n + j] * m[i * n + j]`), as flat-indexed code writes it.
#[differentiate(wrt(x))]
fn flat_matrix_squares(x: &[f64], n: usize) -> f64 {
    let rows = x.len() / n;
    let mut m = vec![0.0; n];
    let mut row = vec![0.0; rows * n];
    let mut total = 0.0;
    for i in 0..rows {
        for j in 0..n {
            m[j] = x[i * n + j] * x[i * n + j] - 1.0;
        }
        for j in 0..n {
            row[i * n + j] = m[j];
        }
        for j in 0..n {
            total += row[i * n + j] * row[i * n + j];
        }
    }
    total
}

#[test]
fn an_index_computed_twice_reads_one_element_recorded_once() {
    let x: Vec<f64> = (0..12).map(|i| 0.3 * i as f64 - 1.4).collect();
    let (rows, n) = (3, 4);
    reset_bytes_recorded();
    let (value, dx) = flat_matrix_squares_vjp(&x, n, 1.0);
    // The last loop reads `row[i * n + j]` once per iteration: one `f64` recorded, not two
    // (the buffer is written in the enclosing loop, so what the adjoint reads is recorded).
    assert_eq!(bytes_recorded(), rows * n * 8);
    // By hand: the total is Σ (x² - 1)², whose derivative is 4x(x² - 1).
    let by_hand: Vec<f64> = x.iter().map(|x| 4.0 * x * (x * x - 1.0)).collect();
    assert_close("dx", &dx, &by_hand, 1e-12);
    assert_close(
        "dx",
        &dx,
        &central_gradient(|x| flat_matrix_squares(x, n), &x, H),
        1e-6,
    );
    let expected: f64 = x.iter().map(|x| (x * x - 1.0).powi(2)).sum();
    assert!((value - expected).abs() < 1e-12);
}

/// A buffer each iteration of a loop rewrites in a nested loop and then reads many times, as
/// code blocked over points is written (here three passes over the points per component).
#[differentiate(wrt(a))]
fn rewritten_then_read_often(a: &[f64], x: &[f64]) -> f64 {
    let n = x.len();
    let mut c = vec![0.0; n];
    let mut total = 0.0;
    for ik in 0..a.len() {
        for ix in 0..n {
            c[ix] = x[ix] * a[ik];
        }
        for r in 0..3 {
            for ix in 0..n {
                total += (c[ix] * (r + 1) as f64).sin();
            }
        }
    }
    total * total
}

#[test]
fn a_buffer_rewritten_then_read_often_is_saved_once_per_iteration() {
    let a = [0.7, -1.2, 0.4, 2.0];
    let x = [0.3, -0.8, 1.1, 0.05, -0.4];
    reset_bytes_recorded();
    let (value, da) = rewritten_then_read_often_vjp(&a, &x, 1.0);
    // The buffer once per component (4 × 5 numbers), where recording what the adjoint reads
    // would record it once per pass (3 × 4 × 5).
    assert_eq!(bytes_recorded(), a.len() * x.len() * 8);
    // By hand: total = Σ sin((r + 1)·x·a) over components, passes and points; the result is
    // total², whose derivative in a_k is 2·total·Σ (r + 1)·x·cos((r + 1)·x·a_k).
    let mut total = 0.0;
    let mut inner = vec![0.0; a.len()];
    for (k, ak) in a.iter().enumerate() {
        for r in 1..=3 {
            for xi in &x {
                let t = r as f64 * xi;
                total += (t * ak).sin();
                inner[k] += t * (t * ak).cos();
            }
        }
    }
    let by_hand: Vec<f64> = inner.iter().map(|s| 2.0 * total * s).collect();
    assert!((value - total * total).abs() < 1e-12);
    assert_close("da", &da, &by_hand, 1e-12);
    assert_close(
        "da",
        &da,
        &central_gradient(|a| rewritten_then_read_often(a, &x), &a, H),
        1e-6,
    );
}

/// The same buffer read before the iteration rewrites it (what the previous iteration left):
/// the reads must see the old values, so the buffer is not put back whole.
#[differentiate(wrt(a))]
fn read_then_rewritten(a: &[f64], x: &[f64]) -> f64 {
    let n = x.len();
    let mut c = vec![0.5; n];
    let mut total = 0.0;
    for ik in 0..a.len() {
        for r in 0..2 {
            for ix in 0..n {
                total += (c[ix] * (r + 1) as f64).sin();
            }
        }
        for ix in 0..n {
            c[ix] = x[ix] * a[ik] + c[ix] * 0.5;
        }
    }
    total * total
}

#[test]
fn a_buffer_read_before_it_is_rewritten_keeps_its_reads() {
    let a = [0.7, -1.2, 0.4, 2.0];
    let x = [0.3, -0.8, 1.1, 0.05, -0.4];
    let (_, da) = read_then_rewritten_vjp(&a, &x, 1.0);
    assert_close(
        "da",
        &da,
        &central_gradient(|a| read_then_rewritten(a, &x), &a, H),
        1e-6,
    );
}

/// A lower-triangular matrix applied to points kept coordinate by coordinate in a flat buffer
/// (`x[c * n + i]`), as code batched over points writes it. The adjoint of the innermost loop
/// indexes `x`, `y` and their adjoints through rows taken once before it.
#[differentiate(wrt(l, x))]
fn triangular_apply(l: &[f64], x: &[f64], d: usize, n: usize) -> f64 {
    let mut y = vec![0.0; d * n];
    let mut li = 0;
    for c in 0..d {
        for r in c..d {
            let factor = l[li];
            for i in 0..n {
                y[r * n + i] += factor * x[c * n + i];
            }
            li += 1;
        }
    }
    let mut total = 0.0;
    for i in 0..d * n {
        total += y[i] * y[i];
    }
    total
}

#[test]
fn rows_indexed_at_an_offset_give_the_gradient_and_hessian() {
    let (d, n) = (3, 5);
    let l: Vec<f64> = (0..6).map(|k| 0.4 * k as f64 - 0.9).collect();
    let x: Vec<f64> = (0..d * n).map(|k| (0.7 * k as f64).sin()).collect();
    let (value, (dl, dx)) = triangular_apply_grad(&l, &x, d, n);
    // By hand: y = L x per point, total = Σ y²; ∂/∂L[r][c] = Σ_i 2 y[r][i] x[c][i] and
    // ∂/∂x[c][i] = Σ_r 2 y[r][i] L[r][c].
    let mut y = vec![0.0; d * n];
    let mut at = vec![vec![0; d]; d];
    let mut li = 0;
    for c in 0..d {
        for r in c..d {
            at[r][c] = li;
            li += 1;
        }
    }
    for r in 0..d {
        for c in 0..=r {
            for i in 0..n {
                y[r * n + i] += l[at[r][c]] * x[c * n + i];
            }
        }
    }
    let mut dl_hand = vec![0.0; l.len()];
    let mut dx_hand = vec![0.0; x.len()];
    for r in 0..d {
        for c in 0..=r {
            for i in 0..n {
                dl_hand[at[r][c]] += 2.0 * y[r * n + i] * x[c * n + i];
                dx_hand[c * n + i] += 2.0 * y[r * n + i] * l[at[r][c]];
            }
        }
    }
    assert!((value - y.iter().map(|y| y * y).sum::<f64>()).abs() < 1e-12);
    assert_close("dl", &dl, &dl_hand, 1e-12);
    assert_close("dx", &dx, &dx_hand, 1e-12);
    assert_close(
        "dl",
        &dl,
        &central_gradient(|l| triangular_apply(l, &x, d, n), &l, H),
        1e-6,
    );
    // H·v against differences of the gradient along v (the twin indexes rows too).
    let (vl, vx): (Vec<f64>, Vec<f64>) = (
        (0..l.len()).map(|k| 0.3 - 0.1 * k as f64).collect(),
        (0..x.len()).map(|k| (0.2 * k as f64).cos()).collect(),
    );
    let (_, _, (hl, hx)) = triangular_apply_hvp(&l, &x, d, n, (vl.clone(), vx.clone()));
    let h = 1e-5;
    let moved = |t: f64| {
        let l: Vec<f64> = l.iter().zip(&vl).map(|(a, v)| a + t * v).collect();
        let x: Vec<f64> = x.iter().zip(&vx).map(|(a, v)| a + t * v).collect();
        triangular_apply_grad(&l, &x, d, n).1
    };
    let ((ul, ux), (wl, wx)) = (moved(h), moved(-h));
    let fd_l: Vec<f64> = ul
        .iter()
        .zip(&wl)
        .map(|(u, w)| (u - w) / (2.0 * h))
        .collect();
    let fd_x: Vec<f64> = ux
        .iter()
        .zip(&wx)
        .map(|(u, w)| (u - w) / (2.0 * h))
        .collect();
    assert_close("H·v (l)", &hl, &fd_l, 1e-6);
    assert_close("H·v (x)", &hx, &fd_x, 1e-6);
}

/// Elements read only in some iterations (`x[i]` behind a test): the adjoint cannot take
/// `x[..n]` as a row, which would be out of bounds here, and must keep indexing per element.
#[differentiate(wrt(x, w))]
fn guarded_reads(x: &[f64], w: f64, n: usize) -> f64 {
    let mut p = 1.0;
    for i in 0..n {
        if i < x.len() {
            p = p * (1.0 + w * x[i]);
        }
    }
    p
}

#[test]
fn elements_read_in_some_iterations_only_take_no_row() {
    let x = [0.5, -1.5, 2.0];
    let w = 0.7;
    let (value, (dx, dw)) = guarded_reads_grad(&x, w, 6);
    // By hand: p = Π (1 + w x_i); ∂p/∂x_i = p w / (1 + w x_i), ∂p/∂w = Σ p x_i / (1 + w x_i).
    let factors: Vec<f64> = x.iter().map(|x| 1.0 + w * x).collect();
    let p: f64 = factors.iter().product();
    assert!((value - p).abs() < 1e-12);
    let by_hand: Vec<f64> = factors.iter().map(|f| p * w / f).collect();
    assert_close("dx", &dx, &by_hand, 1e-12);
    let dw_hand: f64 = x.iter().zip(&factors).map(|(x, f)| p * x / f).sum();
    assert!((dw - dw_hand).abs() < 1e-12, "{dw} vs {dw_hand}");
}

/// A row whose base is never computed by the original: with `n = 0` the inner loop does not
/// run, and `c * stride` would overflow (a panic in a debug build) if computed.
#[differentiate(wrt(x))]
fn strided_rows(x: &[f64], stride: usize, m: usize, n: usize) -> f64 {
    let mut s = 0.0;
    for c in 0..m {
        let mut t = 1.0;
        for i in 0..n {
            t = t * x[c * stride + i];
        }
        s += t;
    }
    s
}

#[test]
fn rows_of_loops_that_do_not_run_are_never_computed() {
    let x = [0.25, 0.5, -1.0, 2.0];
    let (value, dx) = strided_rows_grad(&x, usize::MAX, 3, 0);
    assert_eq!((value, dx), (3.0, vec![0.0; 4]));
    // And where it runs: s = x0 x1 + x2 x3.
    let (value, dx) = strided_rows_grad(&x, 2, 2, 2);
    assert!((value - (0.125 - 2.0)).abs() < 1e-12);
    assert_close("dx", &dx, &[0.5, 0.25, 2.0, -1.0], 1e-12);
}

/// One array read at two offsets in the same iteration (and its adjoint written at both): the
/// reads share the array, the writes cannot take two rows of one adjoint.
#[differentiate(wrt(x))]
fn two_offsets(x: &[f64], n: usize) -> f64 {
    let mut p = 1.0;
    for i in 0..n {
        p = p * (x[i] + x[n + i]);
    }
    p
}

#[test]
fn an_array_read_at_two_offsets_keeps_its_adjoint_exact() {
    let x = [0.5, -1.0, 1.5, 2.0, 0.25, -0.75];
    let (value, dx) = two_offsets_grad(&x, 3);
    // By hand: p = Π (x_i + x_{3+i}) = 2.5 · (-0.75) · 0.75; both elements of a factor get
    // p divided by that factor.
    let factors = [2.5, -0.75, 0.75];
    let p: f64 = factors.iter().product();
    assert!((value - p).abs() < 1e-12);
    let by_hand: Vec<f64> = (0..6).map(|k| p / factors[k % 3]).collect();
    assert_close("dx", &dx, &by_hand, 1e-12);
}

/// A value every iteration reads (`w`), whose adjoint is a sum over the iterations, and arrays
/// indexed through rows, at every length from an empty loop on.
#[differentiate]
fn broadcast_weight(w: f64, x: &[f64]) -> f64 {
    let mut y = vec![0.0; x.len()];
    for i in 0..x.len() {
        y[i] = w * x[i] * x[i];
    }
    let mut total = 0.0;
    for i in 0..y.len() {
        total += y[i].sin();
    }
    total
}

#[test]
fn a_broadcast_value_and_rows_give_every_length_right() {
    for n in 0..11 {
        let x: Vec<f64> = (0..n).map(|k| 0.3 * k as f64 - 1.1).collect();
        let w = 0.8;
        let (value, (dw, dx)) = broadcast_weight_grad(w, &x);
        // By hand: total = Σ sin(w x²); ∂/∂w = Σ x² cos(w x²), ∂/∂x_i = 2 w x_i cos(w x_i²).
        let expected: f64 = x.iter().map(|x| (w * x * x).sin()).sum();
        let dw_hand: f64 = x.iter().map(|x| x * x * (w * x * x).cos()).sum();
        let dx_hand: Vec<f64> = x.iter().map(|x| 2.0 * w * x * (w * x * x).cos()).collect();
        assert!((value - expected).abs() < 1e-12, "n = {n}");
        assert!((dw - dw_hand).abs() < 1e-12, "n = {n}: {dw} vs {dw_hand}");
        assert_close("dx", &dx, &dx_hand, 1e-12);
    }
}

#[test]
#[should_panic(expected = "index out of bounds")]
fn out_of_bounds_panics_like_the_original() {
    let _ = matrix_quadratic_grad(&[1.0, 2.0, 3.0], &[1.0, 2.0], 2);
}

#[differentiate]
fn typed_buffers(x: &[f64]) -> f64 {
    let n = x.len();
    let mut a: Vec<f64> = vec![0.0; n];
    let mut b: Vec<f64> = vec![1.0; n];
    for k in 0..3 {
        for i in 0..n {
            a[i] = b[i] * x[i] + a[i].sin();
            b[i] = a[i] * 0.5 + (k as f64);
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += a[i] * b[i];
    }
    s
}

#[test]
fn buffers_rewritten_in_nested_loops_keep_their_element_type() {
    let x = [0.3, 1.2, -0.5];
    let (value, dx) = typed_buffers_grad(&x);
    assert_eq!(value, typed_buffers(&x));
    assert_close("fd", &dx, &central_gradient(typed_buffers, &x, H), 1e-7);
}

#[differentiate]
fn store_in_one_arm(x: &[f64], a: f64) -> f64 {
    let mut b = vec![0.0; 2];
    if a > 0.0 {
        b[0] = x[0] * a;
    }
    b[0] + b[1] * x[1]
}

#[test]
fn a_branch_whose_arm_only_writes_a_buffer() {
    let x = [2.0, 3.0];
    assert_eq!(store_in_one_arm_grad(&x, 1.5).1, (vec![1.5, 0.0], 2.0));
    assert_eq!(store_in_one_arm_grad(&x, -1.0).1, (vec![0.0, 0.0], 0.0));
}

struct Weighted {
    scale: f64,
}

impl Weighted {
    #[differentiate]
    fn norm(&self, v: &[f64]) -> f64 {
        let mut s = 0.0;
        for &x in v {
            s += x * x;
        }
        s * self.scale
    }

    #[differentiate]
    fn combined(&self, v: &[f64]) -> f64 {
        self.norm(v) * 2.0 + self.norm(&v)
    }
}

#[test]
fn methods_calling_methods_with_slices() {
    let w = Weighted { scale: 0.5 };
    let v = [1.0, -2.0];
    let (value, grad) = w.combined_grad(&v);
    assert_eq!(value, w.combined(&v));
    // 3 · scale · Σ x², so the gradient is 3 · scale · 2x
    assert_eq!(grad, vec![3.0, -6.0]);
}

// ---- in-place updates `a[i] += e` ------------------------------------------------------------

/// `b[i] += ..` whose adjoint leaves `b[i]`'s adjoint in place, with a load of another index
/// that is sometimes the same element, and a value that is also used after the store.
#[differentiate]
fn in_place_updates(x: &[f64]) -> f64 {
    let n = x.len();
    let mut b = vec![1.0; n];
    let mut s = 0.0;
    for i in 0..n {
        let k = (i * 7) % n;
        b[i] += x[i] * b[k];
        let kept = b[k] - x[i];
        b[k] = kept;
        s += kept * b[i];
    }
    for r in 0..n {
        for c in 0..n {
            b[r] -= 0.1 * b[c].sin() * x[c];
        }
    }
    s + b.iter().map(|v| v * v).sum::<f64>()
}

#[test]
fn in_place_updates_match_differences() {
    let x = [0.3, -0.8, 1.1, 0.45, -0.2];
    let (value, dx) = in_place_updates_grad(&x);
    assert_eq!(value, in_place_updates(&x));
    assert_close("dx", &dx, &central_gradient(in_place_updates, &x, H), 1e-7);
}
