//! Dual numbers inside nalgebra values: `Vector3<Dual<f64>>`, `Matrix3<Dual<f64>>`.
//!
//! nalgebra asks its scalars to be a `RealField` (simba's number traits, with `approx`'s
//! comparisons). Every operation here is the one [`Float`] already defines for [`Dual`], so a
//! nalgebra value of dual numbers carries, beside each entry, its derivative along one
//! direction: what `NAME_jvp`, `NAME_hvp` and `NAME_hessian` of a function over nalgebra
//! values evaluate. Comparisons read values only, as [`Dual`]'s own do.
//!
//! Beside the traits: lifting a nalgebra parameter to dual numbers ([`LiftValue`]), taking a
//! result or gradient entry of dual numbers apart ([`Parts`]), and the unit directions
//! `NAME_hessian` walks ([`unit_like`]).

use crate::compose::Zeros;
use crate::dual::{Dual, Parts};
use approx::{AbsDiffEq, RelativeEq, UlpsEq};
use nalgebra::allocator::Allocator;
use nalgebra::{
    ComplexField, DefaultAllocator, Dim, DimName, Field, OMatrix, OPoint, Quaternion, RealField,
    Unit, UnitQuaternion,
};
use num_traits::{Float, Signed, Zero};
use simba::scalar::{SubsetOf, SupersetOf};
use simba::simd::SimdValue;

/// What nalgebra's scalars are asked for: a real number that is also a [`Float`].
pub trait Real: RealField + Float + Copy {}
impl<T: RealField + Float + Copy> Real for T {}

impl<T: Real> SimdValue for Dual<T> {
    const LANES: usize = 1;
    type Element = Self;
    type SimdBool = bool;

    fn splat(val: Self) -> Self {
        val
    }
    fn extract(&self, _: usize) -> Self {
        *self
    }
    unsafe fn extract_unchecked(&self, _: usize) -> Self {
        *self
    }
    fn replace(&mut self, _: usize, val: Self) {
        *self = val
    }
    unsafe fn replace_unchecked(&mut self, _: usize, val: Self) {
        *self = val
    }
    fn select(self, cond: bool, other: Self) -> Self {
        if cond {
            self
        } else {
            other
        }
    }
}

impl<T: Real> Field for Dual<T> {}

impl<T: Real> SubsetOf<Dual<T>> for Dual<T> {
    fn to_superset(&self) -> Dual<T> {
        *self
    }
    fn from_superset_unchecked(element: &Dual<T>) -> Self {
        *element
    }
    fn is_in_subset(_: &Dual<T>) -> bool {
        true
    }
}

// A plain number is a dual number with no derivative; a dual number is a plain one only when
// its derivative is zero.
macro_rules! plain_subset {
    ($($float:ty),*) => {$(
        impl<T: Real> SubsetOf<Dual<T>> for $float {
            fn to_superset(&self) -> Dual<T> {
                Dual::constant(<T as SupersetOf<$float>>::from_subset(self))
            }
            fn from_superset_unchecked(element: &Dual<T>) -> Self {
                <T as SupersetOf<$float>>::to_subset_unchecked(&element.re)
            }
            fn is_in_subset(element: &Dual<T>) -> bool {
                element.eps.is_zero() && <T as SupersetOf<$float>>::is_in_subset(&element.re)
            }
        }
    )*};
}
plain_subset!(f32, f64);

impl<T: Real> Signed for Dual<T> {
    fn abs(&self) -> Self {
        Float::abs(*self)
    }
    fn abs_sub(&self, other: &Self) -> Self {
        Float::abs_sub(*self, *other)
    }
    fn signum(&self) -> Self {
        Float::signum(*self)
    }
    fn is_positive(&self) -> bool {
        Float::is_sign_positive(self.re) && !self.re.is_zero()
    }
    fn is_negative(&self) -> bool {
        Float::is_sign_negative(self.re) && !self.re.is_zero()
    }
}

// Equal within a tolerance: by value, as `==` is.
impl<T: Real> AbsDiffEq for Dual<T> {
    type Epsilon = Self;
    fn default_epsilon() -> Self {
        Dual::constant(T::default_epsilon())
    }
    fn abs_diff_eq(&self, other: &Self, epsilon: Self) -> bool {
        self.re.abs_diff_eq(&other.re, epsilon.re)
    }
}

impl<T: Real> RelativeEq for Dual<T> {
    fn default_max_relative() -> Self {
        Dual::constant(T::default_max_relative())
    }
    fn relative_eq(&self, other: &Self, epsilon: Self, max_relative: Self) -> bool {
        self.re.relative_eq(&other.re, epsilon.re, max_relative.re)
    }
}

impl<T: Real> UlpsEq for Dual<T> {
    fn default_max_ulps() -> u32 {
        T::default_max_ulps()
    }
    fn ulps_eq(&self, other: &Self, epsilon: Self, max_ulps: u32) -> bool {
        self.re.ulps_eq(&other.re, epsilon.re, max_ulps)
    }
}

/// Functions [`Float`] defines for dual numbers, for a trait that asks for them too.
macro_rules! as_float {
    ($($f:ident),*) => {$(
        #[inline(always)]
        fn $f(self) -> Self {
            Float::$f(self)
        }
    )*};
}

impl<T: Real> ComplexField for Dual<T> {
    type RealField = Self;

    fn from_real(re: Self) -> Self {
        re
    }
    fn real(self) -> Self {
        self
    }
    fn imaginary(self) -> Self {
        Self::zero()
    }
    fn modulus(self) -> Self {
        Float::abs(self)
    }
    fn modulus_squared(self) -> Self {
        self * self
    }
    fn argument(self) -> Self {
        if self.re >= T::zero() {
            Self::zero()
        } else {
            Dual::constant(T::pi())
        }
    }
    fn norm1(self) -> Self {
        Float::abs(self)
    }
    fn scale(self, factor: Self) -> Self {
        self * factor
    }
    fn unscale(self, factor: Self) -> Self {
        self / factor
    }
    as_float!(
        floor, ceil, round, trunc, fract, recip, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh,
        asinh, acosh, atanh, log2, log10, ln, ln_1p, sqrt, exp, exp2, exp_m1, cbrt
    );
    fn abs(self) -> Self {
        Float::abs(self)
    }
    fn mul_add(self, a: Self, b: Self) -> Self {
        Float::mul_add(self, a, b)
    }
    fn hypot(self, other: Self) -> Self {
        Float::hypot(self, other)
    }
    fn conjugate(self) -> Self {
        self
    }
    fn sin_cos(self) -> (Self, Self) {
        (Float::sin(self), Float::cos(self))
    }
    fn log(self, base: Self) -> Self {
        Float::log(self, base)
    }
    fn powi(self, n: i32) -> Self {
        Float::powi(self, n)
    }
    fn powf(self, n: Self) -> Self {
        Float::powf(self, n)
    }
    fn powc(self, n: Self) -> Self {
        Float::powf(self, n)
    }
    fn is_finite(&self) -> bool {
        Float::is_finite(*self)
    }
    fn try_sqrt(self) -> Option<Self> {
        (self.re >= T::zero()).then(|| Float::sqrt(self))
    }
}

/// Constants of the type: no derivative.
macro_rules! constants {
    ($($f:ident),*) => {$(
        #[inline(always)]
        fn $f() -> Self {
            Dual::constant(T::$f())
        }
    )*};
}

impl<T: Real> RealField for Dual<T> {
    fn is_sign_positive(&self) -> bool {
        Float::is_sign_positive(self.re)
    }
    fn is_sign_negative(&self) -> bool {
        Float::is_sign_negative(self.re)
    }
    fn copysign(self, sign: Self) -> Self {
        if Float::is_sign_negative(self.re) == Float::is_sign_negative(sign.re) {
            self
        } else {
            -self
        }
    }
    fn max(self, other: Self) -> Self {
        Float::max(self, other)
    }
    fn min(self, other: Self) -> Self {
        Float::min(self, other)
    }
    fn clamp(self, min: Self, max: Self) -> Self {
        Float::min(Float::max(self, min), max)
    }
    fn atan2(self, other: Self) -> Self {
        Float::atan2(self, other)
    }
    fn min_value() -> Option<Self> {
        Some(Float::min_value())
    }
    fn max_value() -> Option<Self> {
        Some(Float::max_value())
    }
    constants!(
        pi,
        two_pi,
        frac_pi_2,
        frac_pi_3,
        frac_pi_4,
        frac_pi_6,
        frac_pi_8,
        frac_1_pi,
        frac_2_pi,
        frac_2_sqrt_pi,
        e,
        log2_e,
        log10_e,
        ln_2,
        ln_10
    );
}

/// A nalgebra parameter at dual numbers: `NAME_jvp`'s and `NAME_hvp`'s inputs.
#[doc(hidden)]
pub trait LiftValue {
    type Lifted;
    /// Each entry with its tangent, taken from `tangent` (of the same shape).
    fn lift(&self, tangent: &Self) -> Self::Lifted;
    /// Each entry with no derivative.
    fn constant(&self) -> Self::Lifted;
}

impl<T: Real, R: Dim, C: Dim> LiftValue for OMatrix<T, R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    type Lifted = OMatrix<Dual<T>, R, C>;
    fn lift(&self, tangent: &Self) -> Self::Lifted {
        assert_eq!(
            self.shape(),
            tangent.shape(),
            "a tangent must have its parameter's shape"
        );
        self.zip_map(tangent, Dual::new)
    }
    fn constant(&self) -> Self::Lifted {
        self.map(Dual::constant)
    }
}

impl<T: Real, D: DimName> LiftValue for OPoint<T, D>
where
    DefaultAllocator: Allocator<D>,
{
    type Lifted = OPoint<Dual<T>, D>;
    fn lift(&self, tangent: &Self) -> Self::Lifted {
        OPoint::from(self.coords.zip_map(&tangent.coords, Dual::new))
    }
    fn constant(&self) -> Self::Lifted {
        self.map(Dual::constant)
    }
}

impl<T: Real> LiftValue for UnitQuaternion<T> {
    type Lifted = UnitQuaternion<Dual<T>>;
    /// Along a tangent of its four coordinates (`w` last, as nalgebra stores them).
    fn lift(&self, tangent: &Self) -> Self::Lifted {
        let coords = self.coords.zip_map(&tangent.coords, Dual::new);
        Unit::new_unchecked(Quaternion::from(coords))
    }
    fn constant(&self) -> Self::Lifted {
        Unit::new_unchecked(Quaternion::from(self.coords.map(Dual::constant)))
    }
}

/// `x` at dual numbers, with tangent `t`.
#[doc(hidden)]
pub fn lift_value<V: LiftValue>(x: &V, t: &V) -> V::Lifted {
    x.lift(t)
}

/// `x` at dual numbers, constant.
#[doc(hidden)]
pub fn constant_value<V: LiftValue>(x: &V) -> V::Lifted {
    x.constant()
}

impl<T: Real, R: Dim, C: Dim> Parts for OMatrix<Dual<T>, R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    type Part = OMatrix<T, R, C>;
    fn parts(self) -> (Self::Part, Self::Part) {
        (self.map(|d| d.re), self.map(|d| d.eps))
    }
}

impl<T: Real, D: DimName> Parts for OPoint<Dual<T>, D>
where
    DefaultAllocator: Allocator<D>,
{
    type Part = OPoint<T, D>;
    fn parts(self) -> (Self::Part, Self::Part) {
        (self.map(|d| d.re), self.map(|d| d.eps))
    }
}

// The zero seed of a fixed-size nalgebra result, with which a pullback computes only its
// value (`NAME_jvp`, and a twin's value for its callers).
impl<T: Real, R: DimName, C: DimName> Zeros for OMatrix<T, R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    fn zeros() -> Self {
        OMatrix::from_element(T::zero())
    }
}

impl<T: Real, D: DimName> Zeros for OPoint<T, D>
where
    DefaultAllocator: Allocator<D>,
{
    fn zeros() -> Self {
        OPoint::from(OMatrix::<T, D, nalgebra::U1>::from_element(T::zero()))
    }
}

/// A value shaped like a nalgebra parameter: one where its `k`-th number is (in nalgebra's
/// storage order, column by column), zero elsewhere and everywhere when `k` is out of range.
#[doc(hidden)]
pub trait UnitLike {
    fn unit_like(&self, k: usize) -> Self;
}

impl<T: Real, R: Dim, C: Dim> UnitLike for OMatrix<T, R, C>
where
    DefaultAllocator: Allocator<R, C>,
{
    fn unit_like(&self, k: usize) -> Self {
        let mut unit = self.map(|_| T::zero());
        if let Some(entry) = unit.as_mut_slice().get_mut(k) {
            *entry = T::one();
        }
        unit
    }
}

impl<T: Real, D: DimName> UnitLike for OPoint<T, D>
where
    DefaultAllocator: Allocator<D>,
{
    fn unit_like(&self, k: usize) -> Self {
        OPoint::from(self.coords.unit_like(k))
    }
}

/// The unit direction along `x`'s `k`-th number (see [`UnitLike`]).
#[doc(hidden)]
pub fn unit_like<V: UnitLike>(x: &V, k: usize) -> V {
    x.unit_like(k)
}
