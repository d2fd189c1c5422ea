//! Fitting y = a·x + b to noisy synthetic data by gradient descent, with the gradient of the
//! mean squared error from `#[differentiate]` over tensors.
//!
//! Run with `cargo run --release --example linear_regression`.

use differentiate::{differentiate, Tensor};

/// Mean squared error of the line `a·x + b` on the data. Only `a` and `b` are differentiated.
#[differentiate(wrt(a, b))]
fn mse(a: f64, b: f64, x: &Tensor, y: &Tensor) -> f64 {
    let prediction = a * x + b;
    let residual = &prediction - y;
    (&residual * &residual).mean()
}

/// A small fixed-seed generator (xorshift), so every run prints the same numbers.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal sample (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn main() {
    let (true_a, true_b) = (2.5, -1.0);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let n = 200;
    let xs: Vec<f64> = (0..n).map(|_| 4.0 * rng.uniform() - 2.0).collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|x| true_a * x + true_b + 0.3 * rng.normal())
        .collect();
    let (x, y) = (Tensor::vector(&xs), Tensor::vector(&ys));
    println!("{n} points around y = {true_a}·x + {true_b}, noise σ = 0.3");

    let (mut a, mut b) = (0.0, 0.0);
    let rate = 0.1;
    for step in 0..=60 {
        let (loss, (da, db)) = mse_grad(a, b, &x, &y);
        if step % 5 == 0 {
            println!("step {step:3}: loss {loss:.6}  a = {a:.5}  b = {b:.5}");
        }
        a -= rate * da;
        b -= rate * db;
    }
    println!("fitted a = {a:.4} (true {true_a}), b = {b:.4} (true {true_b})");
    assert!(
        (a - true_a).abs() < 0.1 && (b - true_b).abs() < 0.1,
        "the fit should find the line"
    );
}
