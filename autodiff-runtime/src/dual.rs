//! Dual numbers `re + eps·ε` (with `ε² = 0`): a value and its derivative in one direction.
//!
//! A function generic over `T: Float` evaluated at `Dual<T>` carries, beside each value, its
//! derivative along the direction the inputs' `eps` parts give: forward mode, with no
//! transform at all. Evaluating a generated pullback at dual numbers is forward mode over
//! reverse mode: the adjoints' `eps` parts are a Hessian-vector product.
//!
//! Every function takes its derivative from the same rule the reverse sweep uses
//! ([`crate::rules`]), so the conventions at kinks are the reverse sweep's (`abs` at 0 gives
//! 0, `max` on a tie averages the two directions, ..). Comparisons (`==`, `<`) compare
//! values only, as the original code would, so that a branch takes the same arm at a dual
//! number as at its value; [`Zero::is_zero`] is true only when both parts are zero.

use crate::rules;
use core::cmp::Ordering;
use core::num::FpCategory;
use core::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};
use num_traits::{Float, FloatConst, FromPrimitive, Num, NumCast, One, ToPrimitive, Zero};

/// `re + eps·ε`: a value and its derivative in one direction.
#[derive(Clone, Copy, Debug)]
pub struct Dual<T> {
    /// The value.
    pub re: T,
    /// The derivative (tangent) part.
    pub eps: T,
}

// Asking no more than `Zero` of `T` lets the generated items of a function bounded by `Real`
// alone build dual numbers; what they are then called with must be `Float`.
impl<T: Zero> Dual<T> {
    pub fn new(re: T, eps: T) -> Self {
        Dual { re, eps }
    }

    /// A constant: derivative zero.
    pub fn constant(re: T) -> Self {
        Dual { re, eps: T::zero() }
    }
}

impl<T: Zero> Default for Dual<T> {
    /// Zero, as `T::default()` is for the float types (asked of `Zero`, which every `Float`
    /// is, rather than of `Default`, which a generic `T: Float` need not be).
    fn default() -> Self {
        Dual::constant(T::zero())
    }
}

impl<T: Float> From<T> for Dual<T> {
    fn from(re: T) -> Self {
        Dual::constant(re)
    }
}

// ---- comparisons: by value ---------------------------------------------------------------

impl<T: PartialEq> PartialEq for Dual<T> {
    fn eq(&self, other: &Self) -> bool {
        self.re == other.re
    }
}

impl<T: PartialOrd> PartialOrd for Dual<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.re.partial_cmp(&other.re)
    }
}

impl<T: core::fmt::Display> core::fmt::Display for Dual<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} + {}ε", self.re, self.eps)
    }
}

// ---- arithmetic --------------------------------------------------------------------------

impl<T: Float> Add for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Dual::new(self.re + o.re, self.eps + o.eps)
    }
}

impl<T: Float> Sub for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Dual::new(self.re - o.re, self.eps - o.eps)
    }
}

impl<T: Float> Mul for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Dual::new(
            self.re * o.re,
            rules::mul_a(self.eps, o.re) + rules::mul_b(o.eps, self.re),
        )
    }
}

impl<T: Float> Div for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        let y = self.re / o.re;
        Dual::new(
            y,
            rules::div_a(self.eps, o.re) + rules::div_b(o.eps, o.re, y),
        )
    }
}

/// `a % b = a - b·trunc(a / b)`: slope 1 in `a`, `-trunc(a / b)` in `b`.
impl<T: Float> Rem for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn rem(self, o: Self) -> Self {
        Dual::new(self.re % o.re, self.eps - o.eps * (self.re / o.re).trunc())
    }
}

impl<T: Float> Neg for Dual<T> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Dual::new(-self.re, -self.eps)
    }
}

macro_rules! assign_ops {
    ($($trait:ident $method:ident $op:tt),*) => {$(
        impl<T: Float> $trait for Dual<T> {
            #[inline(always)]
            fn $method(&mut self, o: Self) {
                *self = *self $op o;
            }
        }
    )*};
}
assign_ops!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /, RemAssign rem_assign %);

// With a plain number on either side: `x * 2.0`, `2.0 * x`.
macro_rules! mixed_ops {
    ($($trait:ident $method:ident $op:tt),*) => {$(
        impl<T: Float> $trait<T> for Dual<T> {
            type Output = Self;
            #[inline(always)]
            fn $method(self, o: T) -> Self {
                self $op Dual::constant(o)
            }
        }
        impl $trait<Dual<f64>> for f64 {
            type Output = Dual<f64>;
            #[inline(always)]
            fn $method(self, o: Dual<f64>) -> Dual<f64> {
                Dual::constant(self) $op o
            }
        }
        impl $trait<Dual<f32>> for f32 {
            type Output = Dual<f32>;
            #[inline(always)]
            fn $method(self, o: Dual<f32>) -> Dual<f32> {
                Dual::constant(self) $op o
            }
        }
    )*};
}
mixed_ops!(Add add +, Sub sub -, Mul mul *, Div div /);

// With references on either side, as code over `&f64` writes it (`x.iter().map(|a| a * a)`).
macro_rules! ref_ops {
    ($($trait:ident $method:ident $op:tt),*) => {$(
        impl<'a, T: Float> $trait<&'a Dual<T>> for Dual<T> {
            type Output = Self;
            #[inline(always)]
            fn $method(self, o: &'a Dual<T>) -> Self {
                self $op *o
            }
        }
        impl<'a, T: Float> $trait<Dual<T>> for &'a Dual<T> {
            type Output = Dual<T>;
            #[inline(always)]
            fn $method(self, o: Dual<T>) -> Dual<T> {
                *self $op o
            }
        }
        impl<'a, 'b, T: Float> $trait<&'b Dual<T>> for &'a Dual<T> {
            type Output = Dual<T>;
            #[inline(always)]
            fn $method(self, o: &'b Dual<T>) -> Dual<T> {
                *self $op *o
            }
        }
    )*};
}
ref_ops!(Add add +, Sub sub -, Mul mul *, Div div /, Rem rem %);

impl<T: Float> Neg for &Dual<T> {
    type Output = Dual<T>;
    fn neg(self) -> Dual<T> {
        -*self
    }
}

impl<'a, T: Float> core::iter::Sum<&'a Dual<T>> for Dual<T> {
    fn sum<I: Iterator<Item = &'a Dual<T>>>(iter: I) -> Self {
        iter.fold(Self::zero(), |a, b| a + *b)
    }
}

impl<'a, T: Float> core::iter::Product<&'a Dual<T>> for Dual<T> {
    fn product<I: Iterator<Item = &'a Dual<T>>>(iter: I) -> Self {
        iter.fold(Self::one(), |a, b| a * *b)
    }
}

impl<T: Float> core::iter::Sum for Dual<T> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::zero(), |a, b| a + b)
    }
}

impl<T: Float> core::iter::Product for Dual<T> {
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::one(), |a, b| a * b)
    }
}

// ---- num-traits --------------------------------------------------------------------------

impl<T: Float> Zero for Dual<T> {
    fn zero() -> Self {
        Dual::constant(T::zero())
    }
    /// Both parts zero (a zero value can carry a nonzero derivative).
    fn is_zero(&self) -> bool {
        self.re.is_zero() && self.eps.is_zero()
    }
}

impl<T: Float> One for Dual<T> {
    fn one() -> Self {
        Dual::constant(T::one())
    }
}

impl<T: Float> Num for Dual<T> {
    type FromStrRadixErr = T::FromStrRadixErr;
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        T::from_str_radix(s, radix).map(Dual::constant)
    }
}

impl<T: Float> ToPrimitive for Dual<T> {
    fn to_i64(&self) -> Option<i64> {
        self.re.to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.re.to_u64()
    }
    fn to_f64(&self) -> Option<f64> {
        self.re.to_f64()
    }
    fn to_f32(&self) -> Option<f32> {
        self.re.to_f32()
    }
}

impl<T: Float> NumCast for Dual<T> {
    fn from<N: ToPrimitive>(n: N) -> Option<Self> {
        <T as NumCast>::from(n).map(Dual::constant)
    }
}

impl<T: Float + FromPrimitive> FromPrimitive for Dual<T> {
    fn from_i64(n: i64) -> Option<Self> {
        T::from_i64(n).map(Dual::constant)
    }
    fn from_u64(n: u64) -> Option<Self> {
        T::from_u64(n).map(Dual::constant)
    }
    fn from_f64(n: f64) -> Option<Self> {
        T::from_f64(n).map(Dual::constant)
    }
    fn from_f32(n: f32) -> Option<Self> {
        T::from_f32(n).map(Dual::constant)
    }
}

macro_rules! constants {
    ($($name:ident)*) => {
        impl<T: Float + FloatConst> FloatConst for Dual<T> {
            $(fn $name() -> Self { Dual::constant(T::$name()) })*
        }
    };
}
constants!(E FRAC_1_PI FRAC_1_SQRT_2 FRAC_2_PI FRAC_2_SQRT_PI FRAC_PI_2 FRAC_PI_3 FRAC_PI_4
    FRAC_PI_6 FRAC_PI_8 LN_10 LN_2 LOG10_E LOG2_E PI SQRT_2 TAU LOG10_2 LOG2_10);

/// A function of one number whose rule reads its operand: `(f, rule)`.
macro_rules! of_operand {
    ($($f:ident $rule:ident),*) => {$(
        #[inline(always)]
        fn $f(self) -> Self {
            Dual::new(self.re.$f(), rules::$rule(self.eps, self.re))
        }
    )*};
}

/// A function of one number whose rule reads its value: `(f, rule)`.
macro_rules! of_value {
    ($($f:ident $rule:ident),*) => {$(
        #[inline(always)]
        fn $f(self) -> Self {
            let y = self.re.$f();
            Dual::new(y, rules::$rule(self.eps, y))
        }
    )*};
}

/// A piecewise-constant function (derivative zero where it has one).
macro_rules! piecewise_constant {
    ($($f:ident),*) => {$(
        #[inline(always)]
        fn $f(self) -> Self {
            Dual::constant(self.re.$f())
        }
    )*};
}

/// A property of the value.
macro_rules! of_re {
    ($($f:ident -> $ty:ty),*) => {$(
        #[inline(always)]
        fn $f(self) -> $ty {
            self.re.$f()
        }
    )*};
}

/// A constant of the type.
macro_rules! constant {
    ($($f:ident),*) => {$(
        #[inline(always)]
        fn $f() -> Self {
            Dual::constant(T::$f())
        }
    )*};
}

impl<T: Float> Float for Dual<T> {
    constant!(
        nan,
        infinity,
        neg_infinity,
        neg_zero,
        min_value,
        min_positive_value,
        max_value,
        epsilon
    );
    of_re!(is_nan -> bool, is_infinite -> bool, is_finite -> bool, is_normal -> bool,
        classify -> FpCategory, is_sign_positive -> bool, is_sign_negative -> bool,
        integer_decode -> (u64, i16, i8));
    piecewise_constant!(floor, ceil, round, trunc, signum);
    of_operand!(abs abs_x, ln ln_x, log2 log2_x, log10 log10_x, ln_1p ln_1p_x, sin sin_x,
        cos cos_x, asin asin_x, acos acos_x, atan atan_x, sinh sinh_x, cosh cosh_x,
        asinh asinh_x, acosh acosh_x, atanh atanh_x);
    of_value!(sqrt sqrt_x, cbrt cbrt_x, exp exp_x, exp2 exp2_x, exp_m1 exp_m1_x, tan tan_x,
        tanh tanh_x, recip recip_x);

    #[inline(always)]
    fn fract(self) -> Self {
        Dual::new(self.re.fract(), rules::fract_x(self.eps))
    }
    #[inline(always)]
    fn to_degrees(self) -> Self {
        Dual::new(self.re.to_degrees(), rules::to_degrees_x(self.eps))
    }
    #[inline(always)]
    fn to_radians(self) -> Self {
        Dual::new(self.re.to_radians(), rules::to_radians_x(self.eps))
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        Dual::new(
            self.re.mul_add(a.re, b.re),
            rules::mul_add_a(self.eps, a.re)
                + rules::mul_add_b(a.eps, self.re)
                + rules::mul_add_c(b.eps),
        )
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        Dual::new(self.re.powi(n), rules::powi_x(self.eps, self.re, n))
    }
    #[inline(always)]
    fn powf(self, p: Self) -> Self {
        let y = self.re.powf(p.re);
        Dual::new(
            y,
            rules::powf_x(self.eps, self.re, p.re) + rules::powf_p(p.eps, self.re, y),
        )
    }
    #[inline(always)]
    fn log(self, base: Self) -> Self {
        let y = self.re.log(base.re);
        Dual::new(
            y,
            rules::log_x(self.eps, self.re, base.re) + rules::log_b(base.eps, base.re, y),
        )
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        Dual::new(
            self.re.max(o.re),
            rules::max_a(self.eps, self.re, o.re) + rules::max_b(o.eps, self.re, o.re),
        )
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        Dual::new(
            self.re.min(o.re),
            rules::min_a(self.eps, self.re, o.re) + rules::min_b(o.eps, self.re, o.re),
        )
    }
    #[inline(always)]
    fn clamp(self, lo: Self, hi: Self) -> Self {
        Dual::new(
            num_traits::clamp(self.re, lo.re, hi.re),
            rules::clamp_x(self.eps, self.re, lo.re, hi.re)
                + rules::clamp_lo(lo.eps, self.re, lo.re)
                + rules::clamp_hi(hi.eps, self.re, hi.re),
        )
    }
    #[inline(always)]
    fn abs_sub(self, o: Self) -> Self {
        if self <= o {
            Self::zero()
        } else {
            self - o
        }
    }
    #[inline(always)]
    fn hypot(self, o: Self) -> Self {
        let y = self.re.hypot(o.re);
        Dual::new(
            y,
            rules::hypot_a(self.eps, self.re, y) + rules::hypot_b(o.eps, o.re, y),
        )
    }
    #[inline(always)]
    fn atan2(self, o: Self) -> Self {
        Dual::new(
            self.re.atan2(o.re),
            rules::atan2_a(self.eps, self.re, o.re) + rules::atan2_b(o.eps, self.re, o.re),
        )
    }
    #[inline(always)]
    fn sin_cos(self) -> (Self, Self) {
        (self.sin(), self.cos())
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        Dual::new(
            self.re.copysign(sign.re),
            rules::copysign_x(self.eps, self.re, sign.re),
        )
    }
}

// ---- what the generated `NAME_jvp`, `NAME_hvp` and `NAME_hessian` call --------------------

/// Dual numbers `x[i] + t[i]·ε`: a slice argument and its tangent.
#[doc(hidden)]
pub fn lift_slice<T: Copy + Zero>(x: &[T], t: &[T]) -> Vec<Dual<T>> {
    assert_eq!(
        x.len(),
        t.len(),
        "the tangent of a slice argument has its length"
    );
    x.iter().zip(t).map(|(&x, &t)| Dual::new(x, t)).collect()
}

/// Constant dual numbers: a slice argument that is not differentiated.
#[doc(hidden)]
pub fn constant_slice<T: Copy + Zero>(x: &[T]) -> Vec<Dual<T>> {
    x.iter().map(|&x| Dual::constant(x)).collect()
}

/// Dual numbers `x[i] + t[i]·ε`: an array argument and its tangent.
#[doc(hidden)]
pub fn lift_array<T: Copy + Zero, const N: usize>(x: &[T; N], t: &[T; N]) -> [Dual<T>; N] {
    core::array::from_fn(|i| Dual::new(x[i], t[i]))
}

/// Constant dual numbers: an array argument that is not differentiated.
#[doc(hidden)]
pub fn constant_array<T: Copy + Zero, const N: usize>(x: &[T; N]) -> [Dual<T>; N] {
    core::array::from_fn(|i| Dual::constant(x[i]))
}

/// Values and tangents of a result or gradient entry of dual numbers.
#[doc(hidden)]
pub trait Parts {
    type Part;
    fn parts(self) -> (Self::Part, Self::Part);
}

impl<T> Parts for Dual<T> {
    type Part = T;
    fn parts(self) -> (T, T) {
        (self.re, self.eps)
    }
}

impl<T> Parts for Vec<Dual<T>> {
    type Part = Vec<T>;
    fn parts(self) -> (Vec<T>, Vec<T>) {
        self.into_iter().map(|d| (d.re, d.eps)).unzip()
    }
}

impl<T: Copy, const N: usize> Parts for [Dual<T>; N] {
    type Part = [T; N];
    fn parts(self) -> ([T; N], [T; N]) {
        (self.map(|d| d.re), self.map(|d| d.eps))
    }
}

macro_rules! parts_tuple {
    ($($p:ident $i:tt),+) => {
        impl<$($p: Parts),+> Parts for ($($p,)+) {
            type Part = ($($p::Part,)+);
            #[allow(non_snake_case)]
            fn parts(self) -> (Self::Part, Self::Part) {
                $(let $p = self.$i.parts();)+
                (($($p.0,)+), ($($p.1,)+))
            }
        }
    };
}
parts_tuple!(A 0);
parts_tuple!(A 0, B 1);
parts_tuple!(A 0, B 1, C 2);
parts_tuple!(A 0, B 1, C 2, D 3);
parts_tuple!(A 0, B 1, C 2, D 3, E 4);
parts_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

/// Values and tangents of `p`.
#[doc(hidden)]
pub fn parts<P: Parts>(p: P) -> (P::Part, P::Part) {
    p.parts()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(re: f64, eps: f64) -> Dual<f64> {
        Dual::new(re, eps)
    }

    #[test]
    fn derivative_of_a_polynomial_and_the_library() {
        // J(x) = x³ + x² - 6x + 1: J'(2) = 10.
        let x = d(2.0, 1.0);
        let j = x.powi(3) + x.powi(2) - 6.0 * x + 1.0;
        assert_eq!((j.re, j.eps), (1.0, 10.0));
        // d/dx (x sin x) = sin x + x cos x.
        let x = d(0.7, 1.0);
        let y = x * x.sin();
        assert!((y.eps - (0.7f64.sin() + 0.7 * 0.7f64.cos())).abs() < 1e-15);
    }

    #[test]
    fn comparisons_use_the_value_and_zero_needs_both_parts() {
        assert!(d(1.0, 5.0) == d(1.0, -3.0));
        assert!(d(1.0, 5.0) < d(2.0, -3.0));
        assert!(!d(0.0, 1.0).is_zero() && d(0.0, 0.0).is_zero());
    }

    #[test]
    fn nested_duals_give_second_derivatives() {
        // x³ at 2: value 8, first 12, second 12.
        let x = Dual::new(d(2.0, 1.0), d(1.0, 0.0));
        let y = x * x * x;
        assert_eq!(
            (y.re.re, y.re.eps, y.eps.re, y.eps.eps),
            (8.0, 12.0, 12.0, 12.0)
        );
    }

    #[test]
    fn kinks_follow_the_reverse_rules() {
        assert_eq!(d(0.0, 1.0).abs().eps, 0.0);
        assert_eq!(d(1.0, 1.0).max(d(1.0, 3.0)).eps, 2.0);
        assert_eq!(d(3.0, 1.0).clamp(d(-1.0, 0.0), d(2.0, 5.0)).eps, 5.0);
    }
}
