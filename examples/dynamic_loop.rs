//! The dynamic-graph example of the teaching material: a loop whose trip count depends on the
//! data. y = 2x, then y doubles while ‖y‖ < 1000; the output is Σ wᵢ yᵢ.
//!
//! The number of doublings is only known when the loop runs, so the forward sweep records
//! what the adjoint needs on a tape and the adjoint replays it backwards. Here the loop body
//! overwrites `y`, whose old values the adjoint reads, so each iteration records them.
//!
//! Run with `cargo run --release --example dynamic_loop`.

use differentiate::differentiate;
use differentiate::runtime::tape::{bytes_recorded, reset_bytes_recorded};

// Indexing keeps the loop in the form the teaching material writes it.
#[allow(clippy::needless_range_loop)]
#[differentiate(wrt(x))]
fn doubled_until_large(x: &[f64; 3], w: &[f64; 3]) -> f64 {
    let mut y = [2.0 * x[0], 2.0 * x[1], 2.0 * x[2]];
    let mut doublings = 0;
    while (y[0] * y[0] + y[1] * y[1] + y[2] * y[2]).sqrt() < 1000.0 {
        for i in 0..3 {
            y[i] *= 2.0;
        }
        doublings += 1;
    }
    println!("  the loop doubled y {doublings} times");
    w[0] * y[0] + w[1] * y[1] + w[2] * y[2]
}

fn main() {
    let x = [0.0245, -1.945, 0.3681];
    let w = [0.1, 1.0, 0.0001];
    println!("x = {x:?}, output weights w = {w:?}");

    reset_bytes_recorded();
    let (value, gradient) = doubled_until_large_grad(&x, &w);
    let bytes = bytes_recorded();

    println!("output Σ wᵢyᵢ = {value}");
    println!("x-gradient    = {gradient:?}");
    println!("expected      = [51.2, 512.0, 0.0512]");
    println!("tape bytes recorded by the gradient call: {bytes}");
    assert_eq!(gradient, [51.2, 512.0, 0.0512]);
}
