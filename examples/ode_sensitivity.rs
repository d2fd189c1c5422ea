//! Sensitivity of an ODE solution to its parameters: a damped oscillator
//! x'' = -k x - c x', integrated with 500 explicit-Euler steps. The gradient of the final
//! position with respect to the stiffness `k` and the damping `c` comes from one reverse
//! sweep, and is checked here against central finite differences.
//!
//! Each step overwrites `x` and `v`, which the adjoint of the next step reads, so the forward
//! sweep records those two values per step (16 bytes) and nothing else.
//!
//! Run with `cargo run --release --example ode_sensitivity`.

use differentiate::check::central_difference;
use differentiate::differentiate;
use differentiate::runtime::tape::{bytes_recorded, reset_bytes_recorded};

#[differentiate(wrt(k, c))]
fn final_position(k: f64, c: f64, x0: f64, v0: f64, dt: f64, steps: usize) -> f64 {
    let mut x = x0;
    let mut v = v0;
    for _ in 0..steps {
        let a = -k * x - c * v;
        x += dt * v;
        v += dt * a;
    }
    x
}

fn main() {
    let (k, c) = (4.0, 0.3);
    let (x0, v0, dt, steps) = (1.0, 0.0, 0.01, 500);

    reset_bytes_recorded();
    let (x_end, (dk, dc)) = final_position_grad(k, c, x0, v0, dt, steps);
    let bytes = bytes_recorded();

    let h = 1e-6;
    let fd_k = central_difference(|k| final_position(k, c, x0, v0, dt, steps), k, h);
    let fd_c = central_difference(|c| final_position(k, c, x0, v0, dt, steps), c, h);

    println!("damped oscillator, k = {k}, c = {c}, {steps} Euler steps of {dt}");
    println!("final position x(T) = {x_end:.12}");
    println!("                reverse mode        central difference (h = {h:e})   difference");
    println!(
        "∂x(T)/∂k   {dk:>20.12} {fd_k:>20.12} {:>26.2e}",
        (dk - fd_k).abs()
    );
    println!(
        "∂x(T)/∂c   {dc:>20.12} {fd_c:>20.12} {:>26.2e}",
        (dc - fd_c).abs()
    );
    println!(
        "tape: {bytes} bytes for {steps} steps ({} bytes per step)",
        bytes / steps
    );

    // A central difference with this step is accurate to about 1e-9 here.
    assert!(
        (dk - fd_k).abs() < 1e-7 && (dc - fd_c).abs() < 1e-7,
        "reverse mode disagrees with finite differences"
    );
    assert!(bytes <= 16 * steps, "the tape should hold x and v only");
}
