//! The code `#[differentiate]` generates, as the macro wrote it: `#[differentiate(dump)]`
//! adds `NAME_dump()`, which returns it with comments marking the forward sweep, the reverse
//! sweep, the adjoint of each binding and what each loop keeps.
//!
//! `cargo run --example dump` prints the derivative of J(x) = x³ + x² − 6x + 1 and of the
//! teaching material's `fonction_complexe`, then checks the gradient of the latter against
//! the published values.

use differentiate::differentiate;

#[differentiate(dump)]
fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}

#[differentiate(dump)]
fn fonction_complexe(x: f64, y: f64, z: f64) -> f64 {
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

fn main() {
    println!("{}", j_dump());
    println!("{}", fonction_complexe_dump());
    let (_, (dx, dy, dz)) = fonction_complexe_grad(7.0, 5.0, 2.0);
    println!("gradient at (7, 5, 2): ({dx}, {dy}, {dz})");
    let published = [-5.66196787253764, -1.74937550466067, 17.0594520169513];
    for (got, expected) in [dx, dy, dz].into_iter().zip(published) {
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    }
    println!(
        "matches the published gradient (-5.66196787253764, -1.74937550466067, 17.0594520169513)"
    );
}
