// Runtime of the generated differential-fuzzing crate. `tests/fuzz.rs` pastes this file into
// the generated `main.rs` as `mod fuzz_rt { .. }`; it is not compiled on its own.
//
// For each generated function `f`, `check_f` (generated) draws random points, and for each
// point hands the original's value, `f_grad`'s value and gradient, and a closure evaluating
// the original function at perturbed inputs to `Report::check`, which compares the gradient
// entry by entry with central finite differences.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Random points per function.
pub const POINTS: usize = 4;

static LAST_PANIC: Mutex<String> = Mutex::new(String::new());
static CURRENT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// splitmix64, for the points.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A scalar input, uniform in [-2, 2].
    pub fn scalar(&mut self) -> f64 {
        -2.0 + 4.0 * self.unit()
    }

    pub fn vector(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.scalar()).collect()
    }

    /// A `usize` constant parameter, in 0..=3.
    pub fn konst_usize(&mut self) -> usize {
        (self.next_u64() % 4) as usize
    }

    /// A `bool` parameter.
    pub fn flag(&mut self) -> bool {
        self.next_u64() % 2 == 0
    }

    /// An `i32` constant parameter, in -2..=2.
    pub fn konst_i32(&mut self) -> i32 {
        (self.next_u64() % 5) as i32 - 2
    }
}

/// Runs `f`, turning a panic into its message.
pub fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| LAST_PANIC.lock().map(|s| s.clone()).unwrap_or_default())
}

#[derive(Default)]
pub struct Report {
    pub failed: bool,
    pub lines: Vec<String>,
    pub points: usize,
    pub checked: usize,
    pub skipped_points: usize,
    pub skipped_entries: usize,
    pub signed_zero_only: usize,
    /// Gradient entries that are not zero (a measure of how much the generated functions
    /// exercise the derivative code).
    pub nonzero: usize,
    /// Hessian-vector product entries compared with a difference of gradients, and skipped.
    pub hvp_checked: usize,
    pub hvp_skipped: usize,
    /// The function rounds through `f32`: forward and reverse mode agree to its precision.
    pub f32_rounding: bool,
}

/// The central difference with step `h` along coordinate `j`, and the mean of the two
/// values it used.
fn central(f: &dyn Fn(&[f64]) -> f64, probe: &mut [f64], j: usize, h: f64) -> (f64, f64) {
    let x = probe[j];
    let (up, down) = (x + h, x - h);
    probe[j] = up;
    let fu = f(probe);
    probe[j] = down;
    let fd = f(probe);
    probe[j] = x;
    ((fu - fd) / (up - down), 0.5 * (fu + fd))
}

impl Report {
    pub fn fail(&mut self, msg: String) {
        self.failed = true;
        if self.lines.len() < 8 {
            self.lines.push(msg);
        }
    }

    /// Compares one point: the value bit for bit (NaN = NaN) with the original's, every
    /// gradient entry with a central finite difference of the original (step `h` scaled to
    /// the coordinate), and the `_vjp` with seed 2 with twice the gradient.
    ///
    /// A gradient entry that disagrees with the finite difference is reported only if the
    /// finite difference is stable: the differences with steps `h` and `h/10` must agree to
    /// a tenth of the disagreement. Near a kink or a discontinuity (a branch flipping, a
    /// `min`/`max` tie, `abs` at 0, a change of trip count) or where rounding noise dominates,
    /// they do not, and the entry is skipped.
    #[allow(clippy::too_many_arguments)]
    pub fn check(
        &mut self,
        point: usize,
        inputs: &str,
        original: f64,
        value: f64,
        grad: &[f64],
        vjp: (f64, &[f64]),
        labels: &[&str],
        x0: &[f64],
        f: &dyn Fn(&[f64]) -> f64,
    ) {
        self.points += 1;
        let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
        if !same(value, original) {
            self.fail(format!(
                "point {point}: value {value:?} from _grad, but the original returns {original:?}\n      at {inputs}"
            ));
        } else if value.to_bits() != original.to_bits() && !value.is_nan() {
            self.signed_zero_only += 1;
        }
        if !same(vjp.0, value) {
            self.fail(format!(
                "point {point}: value {:?} from _vjp, but {value:?} from _grad\n      at {inputs}",
                vjp.0
            ));
        }
        if grad.len() != x0.len() || vjp.1.len() != x0.len() {
            self.fail(format!(
                "point {point}: {} gradient entries from _grad, {} from _vjp, expected {}\n      at {inputs}",
                grad.len(),
                vjp.1.len(),
                x0.len()
            ));
            return;
        }
        for j in 0..x0.len() {
            let (g, twice) = (grad[j], vjp.1[j]);
            let expected = 2.0 * g;
            // `_grad` may run in forward mode, which adds the same terms in another order.
            let tolerance = if self.f32_rounding { 1e-6 } else { 1e-10 };
            if !(same(twice, expected)
                || (twice - expected).abs() <= tolerance * (1.0 + expected.abs()))
            {
                self.fail(format!(
                    "point {point}: d/d{}: _vjp with seed 2.0 gives {twice:?}, twice the _grad entry is {expected:?}\n      at {inputs}",
                    labels[j]
                ));
            }
        }
        if !original.is_finite() || original.abs() > 1e12 {
            self.skipped_points += 1;
            return;
        }
        let mut probe = x0.to_vec();
        for j in 0..x0.len() {
            let h = 1e-5 * x0[j].abs().max(1.0);
            let (d1, _) = central(f, &mut probe, j, h);
            let (d2, mean2) = central(f, &mut probe, j, h / 10.0);
            if !d1.is_finite() || !d2.is_finite() {
                self.skipped_entries += 1;
                continue;
            }
            let g = grad[j];
            if g != 0.0 {
                self.nonzero += 1;
            }
            let tol = 1e-5 * (1.0 + d1.abs());
            let err = (g - d1).abs();
            if g.is_finite() && err <= tol {
                self.checked += 1;
                continue;
            }
            let spread = (d1 - d2).abs();
            // Where the point itself is off its neighbours' mean (beyond the curvature term,
            // which is tiny at h/10), the function jumps at exactly this point, e.g. a branch
            // on `a < a.exp().ln()` that rounding flips: no derivative to compare.
            let isolated = (original - mean2).abs() > 1e-8 * (1.0 + original.abs());
            let stable = !isolated
                && if g.is_finite() {
                    spread <= 0.1 * err
                } else {
                    spread <= 1e-2 * (1.0 + d1.abs())
                };
            if stable {
                self.checked += 1;
                self.fail(format!(
                    "point {point}: d/d{}: reverse mode gives {g:?}, finite difference {d1:?} (with h/10: {d2:?})\n      at {inputs}",
                    labels[j]
                ));
            } else {
                self.skipped_entries += 1;
            }
        }
    }
}

impl Report {
    /// Compares one point's Hessian-vector product `hv` (of `what`: `_hvp` or the generic
    /// twin's at `f64`) with
    /// the central difference of the gradient `g` along `v`, and the gradient it comes with
    /// with reverse mode's (`vjp2`, `_vjp` with seed 2: `_grad` may run in forward mode), bit
    /// for bit or, for one computed forward, to rounding. An entry is skipped, as in
    /// [`Report::check`], where the differences with
    /// steps `h` and `h/10` disagree (a kink of the gradient between them).
    #[allow(clippy::too_many_arguments)]
    pub fn check_hvp(
        &mut self,
        point: usize,
        inputs: &str,
        what: &str,
        vjp2: &[f64],
        (hvp_grad, hv): (&[f64], &[f64]),
        labels: &[&str],
        x0: &[f64],
        v: &[f64],
        g: &dyn Fn(&[f64]) -> Vec<f64>,
    ) {
        // Bit for bit from the pullback; a function of one number computes its gradient
        // forward (dual numbers of dual numbers), which rounds differently.
        let same = |a: f64, b: f64| {
            a.to_bits() == b.to_bits()
                || (a.is_nan() && b.is_nan())
                || (a - b).abs() <= 1e-12 * (1.0 + b.abs())
        };
        for j in 0..vjp2.len() {
            if !same(2.0 * hvp_grad[j], vjp2[j]) {
                self.fail(format!(
                    "point {point}: d/d{}: {what} gives the gradient entry {:?}, _vjp with seed 2 {:?}\n      at {inputs}",
                    labels[j], hvp_grad[j], vjp2[j]
                ));
                return;
            }
        }
        let grad = hvp_grad;
        let scale = x0.iter().fold(1.0f64, |m, x| m.max(x.abs()));
        let along = |t: f64| -> Vec<f64> {
            let p: Vec<f64> = x0.iter().zip(v).map(|(x, d)| x + t * d).collect();
            g(&p)
        };
        let difference = |h: f64| -> Vec<f64> {
            let (up, down) = (along(h), along(-h));
            up.iter().zip(&down).map(|(u, d)| (u - d) / (2.0 * h)).collect()
        };
        let h = 1e-5 * scale;
        let (d1, d2) = (difference(h), difference(h / 10.0));
        let mean: Vec<f64> = {
            let (up, down) = (along(h / 10.0), along(-h / 10.0));
            up.iter().zip(&down).map(|(u, d)| 0.5 * (u + d)).collect()
        };
        for j in 0..hv.len() {
            if !d1[j].is_finite() || !d2[j].is_finite() || !grad[j].is_finite() {
                self.hvp_skipped += 1;
                continue;
            }
            let (got, err) = (hv[j], (hv[j] - d1[j]).abs());
            let tol = 1e-4 * (1.0 + d1[j].abs());
            if got.is_finite() && err <= tol {
                self.hvp_checked += 1;
                continue;
            }
            let isolated = (grad[j] - mean[j]).abs() > 1e-7 * (1.0 + grad[j].abs());
            let stable = !isolated && (d1[j] - d2[j]).abs() <= 0.1 * err;
            if stable {
                self.hvp_checked += 1;
                self.fail(format!(
                    "point {point}: (H·v) for {}: {what} gives {got:?}, the difference of _grad along v {:?} (with h/10: {:?})\n      at {inputs}, v = {v:?}",
                    labels[j], d1[j], d2[j]
                ));
            } else {
                self.hvp_skipped += 1;
            }
        }
    }
}

pub type Check = fn(&mut Report);

/// Runs every check; prints failures with the function's source and a summary line
/// `N passed, M failed`.
pub fn run(checks: &[(&str, Check)], sources: &[&str]) {
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut s) = LAST_PANIC.lock() {
            *s = info.to_string();
        }
    }));
    let limit: u64 = std::env::var("FUZZ_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let names: Vec<String> = checks.iter().map(|(n, _)| n.to_string()).collect();
    let srcs: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(limit));
        let i = CURRENT.load(Ordering::SeqCst);
        if let Some(name) = names.get(i) {
            println!("=== FAIL {name}");
            println!("  did not finish within {limit} s (an endless loop in the generated code?)");
            println!(
                "--- source of {name} (with the functions it calls):\n{}",
                srcs[i]
            );
            println!("=== END {name}");
        }
        println!("TIMEOUT");
        std::process::exit(3);
    });
    let (mut passed, mut failed) = (0, 0);
    let mut total = Report::default();
    for (i, (name, check)) in checks.iter().enumerate() {
        CURRENT.store(i, Ordering::SeqCst);
        let mut rep = Report::default();
        if let Err(msg) = guard(|| check(&mut rep)) {
            rep.fail(format!("the check panicked: {msg}"));
        }
        total.points += rep.points;
        total.checked += rep.checked;
        total.skipped_points += rep.skipped_points;
        total.skipped_entries += rep.skipped_entries;
        total.signed_zero_only += rep.signed_zero_only;
        total.nonzero += rep.nonzero;
        total.hvp_checked += rep.hvp_checked;
        total.hvp_skipped += rep.hvp_skipped;
        if rep.failed {
            failed += 1;
            println!("=== FAIL {name}");
            for l in &rep.lines {
                println!("  {l}");
            }
            println!(
                "--- source of {name} (with the functions it calls):\n{}",
                sources[i]
            );
            println!("=== END {name}");
        } else {
            passed += 1;
        }
    }
    println!(
        "STATS points={} checked={} nonzero={} skipped_points={} skipped_entries={} signed_zero_only={} hvp_checked={} hvp_skipped={}",
        total.points,
        total.checked,
        total.nonzero,
        total.skipped_points,
        total.skipped_entries,
        total.signed_zero_only,
        total.hvp_checked,
        total.hvp_skipped
    );
    println!("{passed} passed, {failed} failed");
}
