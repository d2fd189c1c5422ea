//! Sensitivity of an ODE solution to its parameters: a damped oscillator
//! x'' = -k x - c x', integrated with 500 explicit-Euler steps. The gradient of the final
//! position with respect to the stiffness `k` and the damping `c` is computed both ways the
//! macro generates, and checked against central finite differences:
//!
//! - `final_position_grad` is in forward mode (two inputs and a loop): the derivatives with
//!   respect to `k` and `c` are carried beside `x` and `v` in the same pass, with no tape;
//! - `final_position_vjp` is in reverse mode: each step overwrites `x` and `v`, which the
//!   adjoint of the step reads, so the forward sweep records those two values per step
//!   (16 bytes) and nothing else, and the adjoint replays them backwards.
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
    let forward_bytes = bytes_recorded();
    reset_bytes_recorded();
    let (_, (rk, rc)) = final_position_vjp(k, c, x0, v0, dt, steps, 1.0);
    let reverse_bytes = bytes_recorded();

    let h = 1e-6;
    let fd_k = central_difference(|k| final_position(k, c, x0, v0, dt, steps), k, h);
    let fd_c = central_difference(|c| final_position(k, c, x0, v0, dt, steps), c, h);

    println!("damped oscillator, k = {k}, c = {c}, {steps} Euler steps of {dt}");
    println!("final position x(T) = {x_end:.12}");
    println!(
        "           forward mode (_grad)  reverse mode (_vjp)  central difference (h = {h:e})"
    );
    println!("∂x(T)/∂k   {dk:>20.12} {rk:>20.12} {fd_k:>20.12}");
    println!("∂x(T)/∂c   {dc:>20.12} {rc:>20.12} {fd_c:>20.12}");
    println!(
        "tape: {forward_bytes} bytes in forward mode, {reverse_bytes} in reverse mode ({} bytes per step)",
        reverse_bytes / steps
    );

    // A central difference with this step is accurate to about 1e-9 here.
    for (name, got, fd) in [
        ("k", dk, fd_k),
        ("c", dc, fd_c),
        ("k", rk, fd_k),
        ("c", rc, fd_c),
    ] {
        assert!((got - fd).abs() < 1e-7, "∂x/∂{name}: {got} vs {fd}");
    }
    assert!(
        (dk - rk).abs() < 1e-12 && (dc - rc).abs() < 1e-12,
        "the modes disagree"
    );
    assert_eq!(forward_bytes, 0, "forward mode records nothing");
    assert!(
        reverse_bytes <= 16 * steps,
        "the tape should hold x and v only"
    );
}
