//! Checkpointing (issue 18): a chain of 100 coupled oscillators integrated for many steps,
//! its gradient with respect to stiffness and damping taped and checkpointed with 100
//! snapshots. The two must give the same bits; the report times them and reads the peak
//! memory each sweep held (`runtime::tape::peak_bytes`).

use differentiate::differentiate;

/// Snapshots of the checkpointed sweep.
pub const SNAPSHOTS: usize = 100;

/// The energy left after `steps` semi-implicit Euler steps of the chain, taped.
#[differentiate(wrt(k, c))]
pub fn chain_energy(x0: &[f64], k: f64, c: f64, steps: usize) -> f64 {
    let n = x0.len();
    let dt = 0.01;
    let mut x = vec![0.0; n];
    let mut v = vec![0.0; n];
    x.copy_from_slice(x0);
    for _ in 0..steps {
        for i in 1..n - 1 {
            let force = k * (x[i - 1] - 2.0 * x[i] + x[i + 1]) - c * v[i];
            v[i] += dt * force;
        }
        for i in 1..n - 1 {
            x[i] += dt * v[i];
        }
    }
    let mut e = 0.0;
    for i in 0..n {
        e += 0.5 * v[i] * v[i] + 0.5 * x[i] * x[i];
    }
    e
}

/// The same, checkpointed with [`SNAPSHOTS`] snapshots.
#[differentiate(wrt(k, c), checkpoint('time, 100))]
pub fn chain_energy_checkpointed(x0: &[f64], k: f64, c: f64, steps: usize) -> f64 {
    let n = x0.len();
    let dt = 0.01;
    let mut x = vec![0.0; n];
    let mut v = vec![0.0; n];
    x.copy_from_slice(x0);
    'time: for _ in 0..steps {
        for i in 1..n - 1 {
            let force = k * (x[i - 1] - 2.0 * x[i] + x[i + 1]) - c * v[i];
            v[i] += dt * force;
        }
        for i in 1..n - 1 {
            x[i] += dt * v[i];
        }
    }
    let mut e = 0.0;
    for i in 0..n {
        e += 0.5 * v[i] * v[i] + 0.5 * x[i] * x[i];
    }
    e
}

/// The chain's starting positions.
pub fn start() -> Vec<f64> {
    (0..100).map(|i| (i as f64 * 0.3).sin()).collect()
}
