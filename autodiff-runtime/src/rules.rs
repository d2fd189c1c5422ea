//! Derivative rules of the scalar primitives, one function per (primitive, operand).
//!
//! Each rule is the vector-Jacobian product of one operand: given the adjoint `dy` of the
//! primitive's output, it returns the contribution to that operand's adjoint. For a scalar
//! primitive this is `dy * ∂y/∂operand`, so the same function also serves as the
//! tangent (JVP) rule of forward mode.
//!
//! A rule takes exactly the values it reads, after `dy`: the primitive's inputs by their
//! role name, and `y`, the primitive's output, where reusing it is cheaper than
//! recomputing (`exp`, `sqrt`, `tanh`). The macro's primitive table
//! (`autodiff-macros/src/primitives.rs`) mirrors these signatures, so that a loop records
//! only what its adjoint reads.
//!
//! Conventions at points where the derivative does not exist follow the minimum-norm
//! subgradient (as PyTorch documents): `abs` at 0 gives 0, `min`/`max` split a tie evenly,
//! `clamp` at a bound splits between `x` and that bound, `hypot` and `atan2` give 0 at the
//! origin, `powf` gives 0 for `∂/∂p` at base 0. Where the derivative is infinite (`sqrt`
//! and `cbrt` at 0, `ln` at 0, `asin` at ±1, ..) the rule returns the infinity, except that a
//! zero adjoint contributes zero (`guard`, also where the partial overflows: `exp` of a
//! large value): the value did not matter, and `0 · ∞` would make a NaN where the derivative
//! exists. `floor`, `ceil`, `round`, `trunc` and `signum`
//! are piecewise constant: the macro treats their outputs as constants and needs no rule
//! here.

use num_traits::real::Real;

// The rules are written for `Real`, which every `Float` type is (num-traits implements one for
// the other), so that a function generic over `T: Real`, `T: Real` or a trait of the user's
// with either as a supertrait calls them without a bound of its own: adding `T: Real` beside a
// user's `T: Real` would make every `x.exp()` in it ambiguous between the two traits.

#[inline(always)]
fn two<T: Real>() -> T {
    T::one() + T::one()
}

#[inline(always)]
fn half<T: Real>() -> T {
    two::<T>().recip()
}

/// The `f64` constant `c` in `T` (exact in `f64`, correctly rounded in `f32`).
#[inline(always)]
fn constant<T: Real>(c: f64) -> T {
    T::from(c).unwrap_or_else(nan)
}

/// `Real` has no `is_nan`: NaN is the one value not equal to itself.
#[inline(always)]
#[allow(clippy::eq_op)]
fn is_nan<T: Real>(x: T) -> bool {
    x != x
}

/// Nor `is_finite`: `x - x` is 0 exactly for finite `x` (NaN for infinities and NaN).
#[inline(always)]
#[allow(clippy::eq_op)]
fn is_finite<T: Real>(x: T) -> bool {
    x - x == T::zero()
}

#[inline(always)]
fn nan<T: Real>() -> T {
    T::zero() / T::zero()
}

/// `dy · partial`, or 0 when `dy` is 0: for rules whose partial can be infinite. "Is 0" is
/// `Zero::is_zero`, not `== 0`: a dual number's `==` compares values only, and a zero value
/// with a nonzero derivative must still contribute its derivative.
#[inline(always)]
fn guard<T: Real>(dy: T, contribution: impl FnOnce() -> T) -> T {
    if dy.is_zero() {
        T::zero()
    } else {
        contribution()
    }
}

// ---------------------------------------------------------------------------------------
// Arithmetic. `+`, `-` and unary `-` are linear and need no rule: the adjoint passes
// through (negated for the subtrahend).
// ---------------------------------------------------------------------------------------

/// `y = a * b`, adjoint of `a`.
#[inline(always)]
pub fn mul_a<T: Real>(dy: T, b: T) -> T {
    dy * b
}
/// `y = a * b`, adjoint of `b`.
#[inline(always)]
pub fn mul_b<T: Real>(dy: T, a: T) -> T {
    a * dy
}
/// `y = a / b`, adjoint of `a`.
#[inline(always)]
pub fn div_a<T: Real>(dy: T, b: T) -> T {
    dy / b
}
/// `y = a / b`, adjoint of `b`: `-dy · a / b² = -(dy / b) · y`, written with the `dy / b` of
/// [`div_a`] so that the optimiser computes that quotient once for both operands.
#[inline(always)]
pub fn div_b<T: Real>(dy: T, b: T, y: T) -> T {
    guard(dy, || -(dy / b * y))
}

// ---------------------------------------------------------------------------------------
// Unary functions of the float library: `y = x.f()`.
// ---------------------------------------------------------------------------------------

/// `abs`: sign of `x`, and 0 at `x = 0` (minimum-norm subgradient); NaN at NaN.
#[inline(always)]
pub fn abs_x<T: Real>(dy: T, x: T) -> T {
    if x > T::zero() {
        dy
    } else if x < T::zero() {
        -dy
    } else if is_nan(x) {
        x
    } else {
        T::zero() * dy
    }
}
/// `sqrt`: `1 / (2√x)`.
#[inline(always)]
pub fn sqrt_x<T: Real>(dy: T, y: T) -> T {
    guard(dy, || dy * half::<T>() / y)
}
/// `cbrt`: `1 / (3 ∛x²)`.
#[inline(always)]
pub fn cbrt_x<T: Real>(dy: T, y: T) -> T {
    guard(dy, || dy / ((two::<T>() + T::one()) * y * y))
}
/// `exp`: `eˣ`, which is the output.
#[inline(always)]
pub fn exp_x<T: Real>(dy: T, y: T) -> T {
    guard(dy, || dy * y)
}
/// `exp2`: `2ˣ · ln 2`.
#[inline(always)]
pub fn exp2_x<T: Real>(dy: T, y: T) -> T {
    guard(dy, || dy * y * constant::<T>(core::f64::consts::LN_2))
}
/// `exp_m1`: `eˣ = y + 1`.
#[inline(always)]
pub fn exp_m1_x<T: Real>(dy: T, y: T) -> T {
    guard(dy, || dy * (y + T::one()))
}
/// `ln`: `1 / x`.
#[inline(always)]
pub fn ln_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || dy / x)
}
/// `log2`: `1 / (x ln 2)`.
#[inline(always)]
pub fn log2_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || dy / (x * constant::<T>(core::f64::consts::LN_2)))
}
/// `log10`: `1 / (x ln 10)`.
#[inline(always)]
pub fn log10_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || dy / (x * constant::<T>(core::f64::consts::LN_10)))
}
/// `ln_1p`: `1 / (1 + x)`.
#[inline(always)]
pub fn ln_1p_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || dy / (T::one() + x))
}
/// `sin`: `cos x`.
#[inline(always)]
pub fn sin_x<T: Real>(dy: T, x: T) -> T {
    dy * x.cos()
}
/// `cos`: `-sin x`.
#[inline(always)]
pub fn cos_x<T: Real>(dy: T, x: T) -> T {
    -(dy * x.sin())
}
/// `sin`, where the function also computes `cos x` (`cos_x`): the same value as [`sin_x`]
/// without computing the cosine again.
#[inline(always)]
pub fn sin_x_from_cos<T: Real>(dy: T, cos_x: T) -> T {
    dy * cos_x
}
/// `cos`, where the function also computes `sin x` (`sin_x`): the same value as [`cos_x`].
#[inline(always)]
pub fn cos_x_from_sin<T: Real>(dy: T, sin_x: T) -> T {
    -(dy * sin_x)
}
/// `tan`: `1 + tan² x`.
#[inline(always)]
pub fn tan_x<T: Real>(dy: T, y: T) -> T {
    guard(dy, || dy * (T::one() + y * y))
}
/// `asin`: `1 / √(1 - x²)`.
#[inline(always)]
pub fn asin_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || dy / (T::one() - x * x).sqrt())
}
/// `acos`: `-1 / √(1 - x²)`.
#[inline(always)]
pub fn acos_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || -(dy / (T::one() - x * x).sqrt()))
}
/// `atan`: `1 / (1 + x²)`.
#[inline(always)]
pub fn atan_x<T: Real>(dy: T, x: T) -> T {
    dy / (T::one() + x * x)
}
/// `sinh`: `cosh x`.
#[inline(always)]
pub fn sinh_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || dy * x.cosh())
}
/// `cosh`: `sinh x`.
#[inline(always)]
pub fn cosh_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || dy * x.sinh())
}
/// `tanh`: `1 - tanh² x`.
#[inline(always)]
pub fn tanh_x<T: Real>(dy: T, y: T) -> T {
    dy * (T::one() - y * y)
}
/// `asinh`: `1 / √(x² + 1)`, as `hypot` so that large `x` does not overflow.
#[inline(always)]
pub fn asinh_x<T: Real>(dy: T, x: T) -> T {
    dy / x.hypot(T::one())
}
/// `acosh`: `1 / √(x² - 1)`.
#[inline(always)]
pub fn acosh_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || dy / ((x - T::one()) * (x + T::one())).sqrt())
}
/// `atanh`: `1 / (1 - x²)`.
#[inline(always)]
pub fn atanh_x<T: Real>(dy: T, x: T) -> T {
    guard(dy, || dy / ((T::one() - x) * (T::one() + x)))
}
/// `recip`: `-1 / x² = -y²`.
#[inline(always)]
pub fn recip_x<T: Real>(dy: T, y: T) -> T {
    guard(dy, || -(dy * y * y))
}
/// `to_degrees`: `180 / π`.
#[inline(always)]
pub fn to_degrees_x<T: Real>(dy: T) -> T {
    dy.to_degrees()
}
/// `to_radians`: `π / 180`.
#[inline(always)]
pub fn to_radians_x<T: Real>(dy: T) -> T {
    dy.to_radians()
}
/// `fract`: `x - trunc(x)` has slope 1 between integers.
#[inline(always)]
pub fn fract_x<T: Real>(dy: T) -> T {
    dy
}
/// `powi(x, n)`: `n xⁿ⁻¹`, and 0 for `n = 0` (the constant 1) even at `x = 0`. Only a
/// negative `n` makes the partial infinite at a finite point (`x = 0`), so only then is a
/// zero adjoint guarded: for `n ≥ 1` the rule stays plain arithmetic, which a loop of
/// `powi(2)` adjoints can vectorise (a test on `dy` in every iteration stopped that).
#[inline(always)]
pub fn powi_x<T: Real>(dy: T, x: T, n: i32) -> T {
    let partial = || dy * T::from(n).unwrap_or_else(nan) * x.powi(n - 1);
    match n {
        0 => T::zero(),
        1.. => partial(),
        _ => guard(dy, partial),
    }
}

// ---------------------------------------------------------------------------------------
// Binary and ternary functions: `y = a.f(b)`, `y = a.f(b, c)`.
// ---------------------------------------------------------------------------------------

/// `powf(x, p)`, adjoint of the base: `p xᵖ⁻¹`, and 0 for `p = 0`.
#[inline(always)]
pub fn powf_x<T: Real>(dy: T, x: T, p: T) -> T {
    if p == T::zero() || dy.is_zero() {
        T::zero()
    } else {
        dy * p * x.powf(p - T::one())
    }
}
/// `powf(x, p)`, adjoint of the exponent: `xᵖ ln x`, and 0 at base 0 with `p ≥ 0` (where
/// `xᵖ ln x → 0`, as PyTorch does).
#[inline(always)]
pub fn powf_p<T: Real>(dy: T, x: T, y: T) -> T {
    if y == T::zero() || (x == T::zero() && is_finite(y)) {
        T::zero()
    } else {
        dy * y * x.ln()
    }
}
/// `log(x, b) = ln x / ln b`, adjoint of `x`: `1 / (x ln b)`.
#[inline(always)]
pub fn log_x<T: Real>(dy: T, x: T, b: T) -> T {
    guard(dy, || dy / (x * b.ln()))
}
/// `log(x, b)`, adjoint of the base `b`: `-ln x / (b ln² b) = -y / (b ln b)`.
#[inline(always)]
pub fn log_b<T: Real>(dy: T, b: T, y: T) -> T {
    guard(dy, || -(dy * y / (b * b.ln())))
}
/// `a.atan2(b)` (angle of the point `(b, a)`), adjoint of `a`: `b / (a² + b²)`; 0 at the origin.
#[inline(always)]
pub fn atan2_a<T: Real>(dy: T, a: T, b: T) -> T {
    let r2 = a * a + b * b;
    if r2 == T::zero() {
        T::zero()
    } else {
        dy * b / r2
    }
}
/// `a.atan2(b)`, adjoint of `b`: `-a / (a² + b²)`; 0 at the origin.
#[inline(always)]
pub fn atan2_b<T: Real>(dy: T, a: T, b: T) -> T {
    let r2 = a * a + b * b;
    if r2 == T::zero() {
        T::zero()
    } else {
        -(dy * a / r2)
    }
}
/// `a.hypot(b)`, adjoint of `a`: `a / y`; 0 at the origin.
#[inline(always)]
pub fn hypot_a<T: Real>(dy: T, a: T, y: T) -> T {
    if y == T::zero() {
        T::zero()
    } else {
        dy * a / y
    }
}
/// `a.hypot(b)`, adjoint of `b`: `b / y`; 0 at the origin.
#[inline(always)]
pub fn hypot_b<T: Real>(dy: T, b: T, y: T) -> T {
    if y == T::zero() {
        T::zero()
    } else {
        dy * b / y
    }
}
/// `a.min(b)`, adjoint of `a`: all of it when `a` is chosen, half at a tie. `min` ignores a NaN
/// operand, so the other operand takes the whole adjoint.
#[inline(always)]
pub fn min_a<T: Real>(dy: T, a: T, b: T) -> T {
    choose(dy, a < b || is_nan(b), a == b)
}
/// `a.min(b)`, adjoint of `b`.
#[inline(always)]
pub fn min_b<T: Real>(dy: T, a: T, b: T) -> T {
    choose(dy, b < a || is_nan(a), a == b)
}
/// `a.max(b)`, adjoint of `a`: all of it when `a` is chosen, half at a tie.
#[inline(always)]
pub fn max_a<T: Real>(dy: T, a: T, b: T) -> T {
    choose(dy, a > b || is_nan(b), a == b)
}
/// `a.max(b)`, adjoint of `b`.
#[inline(always)]
pub fn max_b<T: Real>(dy: T, a: T, b: T) -> T {
    choose(dy, b > a || is_nan(a), a == b)
}

#[inline(always)]
fn choose<T: Real>(dy: T, chosen: bool, tie: bool) -> T {
    if chosen {
        dy
    } else if tie {
        dy * half::<T>()
    } else {
        T::zero()
    }
}

/// `x.clamp(lo, hi)`, adjoint of `x`: 1 strictly inside `(lo, hi)`; at a bound, `clamp` is
/// `max(x, lo)` (or `min(x, hi)`) at a tie, whose minimum-norm subgradient gives half to `x`
/// and half to the bound.
#[inline(always)]
pub fn clamp_x<T: Real>(dy: T, x: T, lo: T, hi: T) -> T {
    if is_nan(x) {
        return x;
    }
    choose(dy, lo < x && x < hi, x == lo || x == hi)
}
/// `x.clamp(lo, hi)`, adjoint of `lo`: 1 where `x < lo`, half at `x == lo`.
#[inline(always)]
pub fn clamp_lo<T: Real>(dy: T, x: T, lo: T) -> T {
    choose(dy, x < lo, x == lo)
}
/// `x.clamp(lo, hi)`, adjoint of `hi`: 1 where `x > hi`, half at `x == hi` (unless `x == lo`
/// too, where `lo` took the half).
#[inline(always)]
pub fn clamp_hi<T: Real>(dy: T, x: T, hi: T) -> T {
    choose(dy, x > hi, x == hi)
}
/// `x.copysign(s)`, adjoint of `x`: +1 where the signs agree, -1 where they differ. The sign
/// source `s` gets no derivative (its magnitude does not matter).
#[inline(always)]
pub fn copysign_x<T: Real>(dy: T, x: T, s: T) -> T {
    if x.is_sign_negative() == s.is_sign_negative() {
        dy
    } else {
        -dy
    }
}
/// `a.mul_add(b, c) = a·b + c`, adjoint of `a`.
#[inline(always)]
pub fn mul_add_a<T: Real>(dy: T, b: T) -> T {
    dy * b
}
/// `a.mul_add(b, c)`, adjoint of `b`.
#[inline(always)]
pub fn mul_add_b<T: Real>(dy: T, a: T) -> T {
    a * dy
}
/// `a.mul_add(b, c)`, adjoint of `c`.
#[inline(always)]
pub fn mul_add_c<T: Real>(dy: T) -> T {
    dy
}

/// `x as f64` (or `as f32`) of an active float: the adjoint converts back to `x`'s type,
/// which `x` itself only names.
#[inline(always)]
pub fn cast_x<T: num_traits::ToPrimitive, S: Real>(dy: T, x: S) -> S {
    let _ = x;
    S::from(dy).unwrap_or_else(nan)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants the rules convert from `f64` are the `f32` constants in `f32`: the
    /// derivatives at `f32` are the ones the `f32` library would give.
    #[test]
    fn constants_in_f32_are_the_f32_constants() {
        assert_eq!(
            constant::<f32>(core::f64::consts::LN_2),
            core::f32::consts::LN_2
        );
        assert_eq!(
            constant::<f32>(core::f64::consts::LN_10),
            core::f32::consts::LN_10
        );
        assert_eq!(
            constant::<f64>(core::f64::consts::LN_2),
            core::f64::consts::LN_2
        );
    }

    #[test]
    fn nan_and_finiteness_without_float() {
        assert!(is_nan(nan::<f64>()) && !is_nan(1.0f32));
        assert!(is_finite(2.5f64) && !is_finite(f64::INFINITY) && !is_finite(f32::NAN));
    }
}
