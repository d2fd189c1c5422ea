//! Newton's method with second derivatives that `#[differentiate]` generates for a function
//! generic over its float type:
//!
//! 1. on the two-dimensional Rosenbrock function, a full Newton step with `rosenbrock_hessian`
//!    (value, gradient and Hessian in one call), printing the quadratic convergence;
//! 2. on a 100-dimensional one, a damped Newton method whose Newton systems are solved by
//!    conjugate gradients with `rosenbrock_hvp` (one Hessian-vector product per iteration,
//!    the Hessian never formed).
//!
//! Run with `cargo run --release --example newton`.

use differentiate::differentiate;
use num_traits::Float;

/// `Σ (1 − xᵢ)² + 100 (xᵢ₊₁ − xᵢ²)²`, minimal (0) at `x = (1, .., 1)`.
#[differentiate]
fn rosenbrock<T: Float>(x: &[T]) -> T {
    let hundred = T::from(100.0).unwrap();
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        s = s + (T::one() - x[i]).powi(2) + hundred * (x[i + 1] - x[i].powi(2)).powi(2);
    }
    s
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves the 2 × 2 system `h · d = g`.
fn solve2(h: &[Vec<f64>], g: &[f64]) -> [f64; 2] {
    let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
    [
        (h[1][1] * g[0] - h[0][1] * g[1]) / det,
        (h[0][0] * g[1] - h[1][0] * g[0]) / det,
    ]
}

/// Newton's method from `(-1.2, 1)`, the classic start, with a backtracking line search so
/// that each step decreases the function; full steps near the minimum.
fn newton_two_dimensions() {
    println!("Newton's method on Rosenbrock in 2 dimensions (rosenbrock_hessian):");
    println!("  iter  f(x)                      |∇f|");
    let mut x = vec![-1.2, 1.0];
    for iter in 0..50 {
        let (f, g, h) = rosenbrock_hessian(&x);
        println!("  {iter:>4}  {f:<24.17e}  {:.3e}", norm(&g));
        if norm(&g) < 1e-12 {
            break;
        }
        let d = solve2(&h, &g);
        let mut t = 1.0;
        while rosenbrock(&[x[0] - t * d[0], x[1] - t * d[1]]) > f && t > 1e-10 {
            t *= 0.5;
        }
        x = vec![x[0] - t * d[0], x[1] - t * d[1]];
    }
    assert!(
        (x[0] - 1.0).abs() < 1e-10 && (x[1] - 1.0).abs() < 1e-10,
        "x = {x:?}"
    );
    println!("  minimum at ({:.15}, {:.15})\n", x[0], x[1]);
}

/// Conjugate gradients for `(H + λI) d = g`, `H` given by its products; stops at a direction
/// of negative curvature (then the steepest-descent direction or the iterate so far).
fn conjugate_gradients(x: &[f64], g: &[f64], lambda: f64, tolerance: f64) -> (Vec<f64>, usize) {
    let n = x.len();
    let mut d = vec![0.0; n];
    let mut r = g.to_vec();
    let mut p = r.clone();
    let mut rr = dot(&r, &r);
    for k in 0..n {
        let (_, _, mut hp) = rosenbrock_hvp(x, p.clone());
        for (h, p) in hp.iter_mut().zip(&p) {
            *h += lambda * p;
        }
        let curvature = dot(&p, &hp);
        if curvature <= 0.0 {
            return (if k == 0 { g.to_vec() } else { d }, k + 1);
        }
        let alpha = rr / curvature;
        for i in 0..n {
            d[i] += alpha * p[i];
            r[i] -= alpha * hp[i];
        }
        let next = dot(&r, &r);
        if next.sqrt() < tolerance {
            return (d, k + 1);
        }
        for i in 0..n {
            p[i] = r[i] + next / rr * p[i];
        }
        rr = next;
    }
    (d, n)
}

/// A damped (line-searched) Newton method in 100 dimensions, Newton systems by CG on
/// Hessian-vector products.
fn newton_cg_hundred_dimensions() {
    let n = 100;
    println!("Newton-CG on Rosenbrock in {n} dimensions (rosenbrock_hvp):");
    println!("  iter  f(x)                      |∇f|        CG products");
    let mut x: Vec<f64> = (0..n).map(|i| 0.5 + 0.3 * (i as f64).sin()).collect();
    let mut products = 0;
    for iter in 0..500 {
        let (f, g) = rosenbrock_grad(&x);
        let gradient_norm = norm(&g);
        if iter % 25 == 0 || gradient_norm < 1e-10 {
            println!("  {iter:>4}  {f:<24.17e}  {gradient_norm:.3e}  {products}");
        }
        if gradient_norm < 1e-10 {
            break;
        }
        // Inexact Newton: solve more precisely as the gradient shrinks.
        // Levenberg's damping, λ ∝ |∇f|, vanishes at the minimum: quadratic convergence there.
        let (d, used) = conjugate_gradients(
            &x,
            &g,
            gradient_norm,
            gradient_norm.min(0.5) * gradient_norm,
        );
        products += used;
        let mut t = 1.0;
        let step = |t: f64| -> Vec<f64> { x.iter().zip(&d).map(|(a, b)| a - t * b).collect() };
        while rosenbrock(&step(t)) > f - 1e-4 * t * dot(&g, &d) && t > 1e-12 {
            t *= 0.5;
        }
        x = step(t);
    }
    let error = x.iter().map(|a| (a - 1.0).abs()).fold(0.0, f64::max);
    assert!(error < 1e-8, "distance to the minimum {error}");
    println!(
        "  minimum reached: max |xᵢ − 1| = {error:.1e}, {products} Hessian-vector products in all"
    );
}

fn main() {
    newton_two_dimensions();
    newton_cg_hundred_dimensions();
}
