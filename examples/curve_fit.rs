//! Fitting `a·exp(b·t) + c` to noisy data by Levenberg–Marquardt, with the Jacobian of the
//! residuals from `residuals_jacobian` (one row per data point).
//!
//! Run with `cargo run --release --example curve_fit`.

use differentiate::{differentiate, Differentiable};

/// The model's parameters, kept in a struct as a user would.
#[derive(Clone, Debug, Differentiable)]
struct Model {
    a: f64,
    b: f64,
    c: f64,
}

/// One residual per observation: the model at `t[i]` minus `y[i]`.
#[differentiate(wrt(m))]
fn residuals(m: &Model, t: &[f64], y: &[f64]) -> Vec<f64> {
    let mut r = vec![0.0; t.len()];
    for i in 0..t.len() {
        r[i] = m.a * (m.b * t[i]).exp() + m.c - y[i];
    }
    r
}

/// Deterministic noise in [-1, 1) (a linear congruential generator), so the run is repeatable.
fn noise(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// Solves the 3×3 system `a·x = b` by Gaussian elimination with partial pivoting.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> [f64; 3] {
    for col in 0..3 {
        let pivot = (col..3)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..3 {
            let factor = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (entry, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *entry -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let tail: f64 = (row + 1..3).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    x
}

fn sum_of_squares(r: &[f64]) -> f64 {
    r.iter().map(|v| v * v).sum()
}

fn main() {
    let truth = Model {
        a: 2.5,
        b: -1.3,
        c: 0.5,
    };
    let mut state = 42;
    let t: Vec<f64> = (0..40).map(|i| i as f64 * 0.1).collect();
    let y: Vec<f64> = t
        .iter()
        .map(|&ti| truth.a * (truth.b * ti).exp() + truth.c + 0.01 * noise(&mut state))
        .collect();

    let mut m = Model {
        a: 1.0,
        b: -0.5,
        c: 0.0,
    };
    let mut damping = 1e-3;
    println!("iteration  a           b           c           ‖r‖²");
    for iteration in 0..50 {
        let (r, rows) = residuals_jacobian(&m, &t, &y);
        let cost = sum_of_squares(&r);
        println!(
            "{iteration:>9}  {:<10.6}  {:<10.6}  {:<10.6}  {cost:.6e}",
            m.a, m.b, m.c
        );
        // Normal equations (JᵀJ + λ·diag(JᵀJ)) δ = −Jᵀr, with each row a `Model` of partials.
        let rows: Vec<[f64; 3]> = rows.iter().map(|g| [g.a, g.b, g.c]).collect();
        let mut jtj = [[0.0; 3]; 3];
        let mut jtr = [0.0; 3];
        for (row, ri) in rows.iter().zip(&r) {
            for i in 0..3 {
                jtr[i] -= row[i] * ri;
                for j in 0..3 {
                    jtj[i][j] += row[i] * row[j];
                }
            }
        }
        for (i, line) in jtj.iter_mut().enumerate() {
            line[i] *= 1.0 + damping;
        }
        let step = solve3(jtj, jtr);
        let trial = Model {
            a: m.a + step[0],
            b: m.b + step[1],
            c: m.c + step[2],
        };
        if sum_of_squares(&residuals(&trial, &t, &y)) < cost {
            m = trial;
            damping *= 0.3;
        } else {
            damping *= 10.0;
        }
        if step.iter().map(|s| s.abs()).fold(0.0, f64::max) < 1e-10 {
            break;
        }
    }
    println!("fitted {m:?}, true {truth:?}");
    assert!(
        (m.a - truth.a).abs() < 0.05
            && (m.b - truth.b).abs() < 0.05
            && (m.c - truth.c).abs() < 0.05
    );
}
