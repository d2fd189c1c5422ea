//! Gradient descent on `J(x) = x³ + x² − 6x + 1`, first with the exact derivative that
//! `#[differentiate]` generates (`j_grad`), then with a forward finite difference, to show
//! what the exact derivative buys.
//!
//! Run with `cargo run --release --example gradient_descent`.

use differentiate::differentiate;

/// The function to minimise. `#[differentiate]` keeps it as is and generates, beside it,
/// `j_grad(x) -> (J(x), J'(x))` and `j_vjp(x, seed)`.
#[differentiate]
fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}

/// `J'(x) = 3x² + 2x − 6`, derived by hand. Used only to measure the finite-difference error;
/// the descent itself never sees it.
fn j_prime_by_hand(x: f64) -> f64 {
    3.0 * x * x + 2.0 * x - 6.0
}

const START: f64 = 3.0;
const STEP: f64 = 0.1;
const STEPS: usize = 20;

/// Where 20 steps with the generated derivative end. The local minimum of `J` is at
/// `x* = (−1 + √19) / 3 ≈ 1.1196329811802246`, and the descent reaches it to the last bit;
/// the example fails if that ever changes (a changed derivative would change every step).
const EXPECTED_FINAL_X: f64 = 1.1196329811802246;

/// Step of the finite difference. Its error is first order in `dx`, see below.
const DX: f64 = 0.001;

fn main() {
    println!("Gradient descent on J(x) = x^3 + x^2 - 6x + 1, from x = {START}, step {STEP}");
    println!();
    println!("1. with the exact derivative from `j_grad`");
    println!(
        "{:>4}  {:<20}  {:>20}  {:>20}",
        "step", "x", "J(x)", "J'(x)"
    );
    let mut x = START;
    for step in 0..STEPS {
        // One call gives both the value and the derivative, with no tape and no allocation:
        // `j_grad` is straight-line arithmetic generated at compile time.
        let (value, slope) = j_grad(x);
        println!("{step:>4}  {x:<20?}  {value:>20.16}  {slope:>20.16}");
        x -= STEP * slope;
    }
    let exact_final = x;
    println!("final x = {exact_final:?}");
    println!(
        "matches {EXPECTED_FINAL_X:?}: {}",
        exact_final == EXPECTED_FINAL_X
    );
    assert_eq!(exact_final, EXPECTED_FINAL_X);

    println!();
    println!("2. with a forward finite difference (J(x + dx) - J(x)) / dx, dx = {DX}");
    // Taylor: (J(x + dx) − J(x)) / dx = J'(x) + J''(x)·dx/2 + J'''(x)·dx²/6 + …
    // For this cubic, J'' = 6x + 2 and J''' = 6, so the error is exactly (3x + 1)·dx + dx²
    // (up to rounding): first order in dx. The last column is that (3x + 1)·dx prediction.
    println!(
        "{:>4}  {:<20}  {:>20}  {:>12}  {:>12}",
        "step", "x", "FD J'(x)", "FD - exact", "(3x+1)dx"
    );
    let mut x = START;
    for step in 0..STEPS {
        let finite_difference = (j(x + DX) - j(x)) / DX;
        let error = finite_difference - j_prime_by_hand(x);
        let predicted = (3.0 * x + 1.0) * DX;
        println!(
            "{step:>4}  {x:<20?}  {finite_difference:>20.16}  {error:>12.3e}  {predicted:>12.3e}"
        );
        x -= STEP * finite_difference;
    }
    let fd_final = x;
    println!("final x = {fd_final:?}");
    // The biased derivative moves the fixed point: descent stops where the finite difference
    // is zero (the rows above where it rounds to 0 and x no longer moves), i.e. where
    // J'(x) ≈ −(3x + 1)·dx, about (3x* + 1)·dx / J''(x*) = dx/2 to the left of the true
    // minimum. Shrinking dx shrinks this bias only until rounding in J(x + dx) − J(x) takes
    // over; the generated derivative has neither problem.
    println!(
        "distance from the exact descent: {:.3e} (about dx/2 = {:.1e})",
        fd_final - exact_final,
        DX / 2.0
    );
}
