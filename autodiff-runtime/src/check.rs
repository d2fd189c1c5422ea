//! Gradient checks by central finite differences, independent of the generated code.

/// Central difference `(f(x + h) - f(x - h)) / 2h` of a scalar function.
///
/// The truncation error is `O(h²)`; the rounding error grows like `ε·|f| / h`, so for `f64`
/// a step around `1e-6 · max(1, |x|)` balances the two.
///
/// # Example
///
/// ```
/// use autodiff_runtime::check::central_difference;
///
/// let d = central_difference(|x| x * x * x, 2.0, 1e-6);
/// assert!((d - 12.0).abs() < 1e-6);
/// ```
pub fn central_difference<F: Fn(f64) -> f64>(f: F, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// Central-difference gradient of `f: ℝⁿ → ℝ` at `x`, one coordinate at a time.
///
/// # Example
///
/// ```
/// use autodiff_runtime::check::central_gradient;
///
/// // f(x, y) = x² y has gradient (2xy, x²).
/// let g = central_gradient(|v| v[0] * v[0] * v[1], &[3.0, -2.0], 1e-6);
/// assert!((g[0] - (-12.0)).abs() < 1e-6);
/// assert!((g[1] - 9.0).abs() < 1e-6);
/// ```
pub fn central_gradient<F: Fn(&[f64]) -> f64>(f: F, x: &[f64], h: f64) -> Vec<f64> {
    let mut probe = x.to_vec();
    (0..x.len())
        .map(|i| {
            let xi = probe[i];
            probe[i] = xi + h;
            let up = f(&probe);
            probe[i] = xi - h;
            let down = f(&probe);
            probe[i] = xi;
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Whether `a` and `b` agree to a relative tolerance `rel` or an absolute tolerance `abs`,
/// whichever is looser: `|a - b| <= max(rel · max(|a|, |b|), abs)` (the rule of Python's
/// `math.isclose`). The test is symmetric in `a` and `b`. Equal values (including equal
/// infinities) are close; a NaN is close to nothing.
///
/// The absolute tolerance matters where the values are near zero, where any relative
/// tolerance would demand an exact match.
///
/// # Example
///
/// ```
/// use autodiff_runtime::check::close;
///
/// assert!(close(1.0, 1.0 + 1e-9, 1e-6, 0.0));
/// assert!(!close(1.0, 1.1, 1e-6, 0.0));
/// assert!(close(0.0, 1e-12, 1e-6, 1e-9)); // near zero only `abs` can hold
/// assert!(!close(f64::NAN, f64::NAN, 1.0, 1.0));
/// assert!(!close(f64::INFINITY, 1.0, 1e-6, 0.0));
/// ```
pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        // Unequal and one infinite: `rel · ∞` would otherwise accept any difference.
        return false;
    }
    // A NaN makes `diff` NaN, and the comparison false.
    let diff = (a - b).abs();
    diff <= (rel * a.abs().max(b.abs())).max(abs)
}

/// Compares a claimed gradient `grad` of `f` at `x` against the central-difference gradient
/// with step `h` (see [`central_gradient`]).
///
/// Coordinate `i` matches when [`close`]`(grad[i], fd[i], rel_tol, rel_tol)`: relative
/// agreement for components of magnitude above 1, absolute agreement to `rel_tol` below,
/// so that a zero component is not held to an exact match against finite-difference noise.
///
/// # Errors
///
/// Returns an `Err` describing the first mismatching coordinate (its index, the claimed
/// value and the finite-difference value), or the two lengths if `grad` and `x` differ in
/// length.
///
/// # Example
///
/// ```
/// use autodiff_runtime::check::check_gradient;
///
/// // f(x, y) = x·sin y has gradient (sin y, x·cos y).
/// let f = |v: &[f64]| v[0] * v[1].sin();
/// let x = [2.0, 0.5];
/// let right = [0.5f64.sin(), 2.0 * 0.5f64.cos()];
/// assert!(check_gradient(f, &x, &right, 1e-6, 1e-6).is_ok());
///
/// let wrong = [0.5f64.sin(), 0.5f64.cos()];
/// let err = check_gradient(f, &x, &wrong, 1e-6, 1e-6).unwrap_err();
/// assert!(err.contains("coordinate 1"), "{err}");
/// ```
pub fn check_gradient<F: Fn(&[f64]) -> f64>(
    f: F,
    x: &[f64],
    grad: &[f64],
    h: f64,
    rel_tol: f64,
) -> Result<(), String> {
    if grad.len() != x.len() {
        return Err(format!(
            "gradient has {} components but the point has {} coordinates",
            grad.len(),
            x.len()
        ));
    }
    let fd = central_gradient(f, x, h);
    match grad
        .iter()
        .zip(&fd)
        .position(|(&claimed, &reference)| !close(claimed, reference, rel_tol, rel_tol))
    {
        None => Ok(()),
        Some(i) => Err(format!(
            "gradient mismatch at coordinate {i} (x = {:?}): claimed {:e}, finite difference \
             {:e} (difference {:e}, h = {h:e}, rel_tol = {rel_tol:e})",
            x,
            grad[i],
            fd[i],
            (grad[i] - fd[i]).abs(),
        )),
    }
}
