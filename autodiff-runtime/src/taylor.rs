//! Truncated Taylor series `c₀ + c₁h + .. + c_{K−1}h^{K−1}`: a value and its first `K − 1`
//! derivatives in one direction, carried through a function evaluated at them.
//!
//! `NAME_derivatives::<K>` evaluates the function at `x + h` (coefficients `[x, 1, 0, ..]`)
//! and reads the `k`-th derivative off the result as `k!·c_k`. The coefficients of every
//! operation follow from the standard recurrences (Griewank and Walther, *Evaluating
//! Derivatives*, ch. 13): a product is a Cauchy product, a quotient solves one for its
//! coefficients, and a function `f` with `f′` known in closed form is integrated term by
//! term from `r′ = a′·f′(a)`. Each is exact arithmetic on the coefficients, so a derivative
//! that is identically zero comes out as an exact `0` (the fourth derivative of `3x²`).
//!
//! At kinks the conventions are the reverse sweep's: `abs`, `max`, `min`, `clamp` and
//! `copysign` are linear near any point but their kinks, and there each coefficient goes
//! through the same rule as an adjoint does ([`crate::rules`]): `abs` at 0 has every
//! derivative 0, `max` on a tie averages the two series. Comparisons compare values only.

use crate::rules;
use core::cmp::Ordering;
use core::num::FpCategory;
use core::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};
use num_traits::{Float, FloatConst, FromPrimitive, Num, NumCast, One, ToPrimitive, Zero};

/// The first `K` Taylor coefficients of a value in one direction: `c[k] = f⁽ᵏ⁾/k!`.
#[derive(Clone, Copy, Debug)]
pub struct Taylor<T, const K: usize> {
    pub c: [T; K],
}

impl<T: Float, const K: usize> Taylor<T, K> {
    /// A constant: every coefficient but the value is zero.
    pub fn constant(value: T) -> Self {
        let mut c = [T::zero(); K];
        if K > 0 {
            c[0] = value;
        }
        Taylor { c }
    }

    /// The variable itself at `x`: `x + h`.
    pub fn variable(x: T) -> Self {
        let mut t = Self::constant(x);
        if K > 1 {
            t.c[1] = T::one();
        }
        t
    }

    /// The value (zero when `K = 0`).
    pub fn value(&self) -> T {
        self.c.first().copied().unwrap_or_else(T::zero)
    }

    /// The derivatives: `k!·c[k]`.
    pub fn derivatives(&self) -> [T; K] {
        let mut factorial = T::one();
        core::array::from_fn(|k| {
            if k > 1 {
                factorial = factorial * T::from(k).expect("k is a number");
            }
            self.c[k] * factorial
        })
    }

    fn is_constant(&self) -> bool {
        self.c.iter().skip(1).all(|c| c.is_zero())
    }

    /// `r` with `r₀ = r0` and `r′ = a′·g`: `r_k = (1/k) Σ_{j=1..k} j·a_j·g_{k−j}`.
    fn integral(r0: T, a: &Self, g: &Self) -> Self {
        let mut r = Self::constant(r0);
        for k in 1..K {
            let mut sum = T::zero();
            for j in 1..=k {
                sum = sum + number::<T>(j) * a.c[j] * g.c[k - j];
            }
            r.c[k] = sum / number::<T>(k);
        }
        r
    }

    /// `r` with `r₀ = r0` and `r′ = a′·(1 + sign·r²)` (`tan`: +1, `tanh`: −1), where the
    /// factor is built from the coefficients already known.
    fn integral_of_square(r0: T, a: &Self, sign: T) -> Self {
        let mut r = Self::constant(r0);
        let mut g = [T::zero(); K];
        for k in 1..K {
            // g_{k−1} from r_0..r_{k−1}.
            let m = k - 1;
            let mut square = T::zero();
            for i in 0..=m {
                square = square + r.c[i] * r.c[m - i];
            }
            g[m] = if m == 0 { T::one() } else { T::zero() } + sign * square;
            let mut sum = T::zero();
            for j in 1..=k {
                sum = sum + number::<T>(j) * a.c[j] * g[k - j];
            }
            r.c[k] = sum / number::<T>(k);
        }
        r
    }

    /// Each coefficient past the value through a rule linear in its first argument (the
    /// reverse sweep's rule at that point): for functions linear near the point.
    fn linear(value: T, a: &Self, rule: impl Fn(T) -> T) -> Self {
        let mut r = Self::constant(value);
        for k in 1..K {
            r.c[k] = rule(a.c[k]);
        }
        r
    }

    /// `sin` and `cos` together: `s′ = a′c`, `c′ = −a′s`.
    fn sin_cos_series(self) -> (Self, Self) {
        self.trig_pair(-T::one())
    }

    /// `(s, c)` with `s′ = a′c` and `c′ = sign·a′s`: `sin`/`cos` (−1), `sinh`/`cosh` (+1).
    fn trig_pair(self, sign: T) -> (Self, Self) {
        let a0 = self.value();
        let (mut s, mut c) = if sign < T::zero() {
            (Self::constant(a0.sin()), Self::constant(a0.cos()))
        } else {
            (Self::constant(a0.sinh()), Self::constant(a0.cosh()))
        };
        for k in 1..K {
            let (mut ss, mut cs) = (T::zero(), T::zero());
            for j in 1..=k {
                let ja = number::<T>(j) * self.c[j];
                ss = ss + ja * c.c[k - j];
                cs = cs + ja * s.c[k - j];
            }
            s.c[k] = ss / number::<T>(k);
            c.c[k] = sign * cs / number::<T>(k);
        }
        (s, c)
    }

    /// `exp` with the value `r0` (`exp` or `exp_m1` of the value).
    fn exp_series(self, r0: T) -> Self {
        let mut r = Self::constant(r0);
        let e0 = self.value().exp();
        for k in 1..K {
            let mut sum = T::zero();
            for j in 1..=k {
                let previous = if k == j { e0 } else { r.c[k - j] };
                sum = sum + number::<T>(j) * self.c[j] * previous;
            }
            r.c[k] = sum / number::<T>(k);
        }
        r
    }

    /// `a^p` for a constant `p`: `a·r′ = p·a′·r`, solved for each coefficient.
    fn powf_constant(self, p: T) -> Self {
        let a0 = self.value();
        if a0.is_zero() {
            // The recurrence divides by the value; a whole exponent multiplies instead.
            if p.fract().is_zero() && p.abs() < number::<T>(1 << 30) {
                return self.powi(p.to_i32().expect("a small whole exponent"));
            }
        }
        let mut r = Self::constant(a0.powf(p));
        for k in 1..K {
            let mut sum = T::zero();
            for i in 0..k {
                let weight = p * number::<T>(k - i) - number::<T>(i);
                sum = sum + weight * self.c[k - i] * r.c[i];
            }
            r.c[k] = sum / (number::<T>(k) * a0);
        }
        r
    }
}

fn number<T: Float>(n: usize) -> T {
    T::from(n).expect("a count converts into the float type")
}

impl<T: Float, const K: usize> From<T> for Taylor<T, K> {
    fn from(value: T) -> Self {
        Self::constant(value)
    }
}

// ---- comparisons: by value ---------------------------------------------------------------

impl<T: Float, const K: usize> PartialEq for Taylor<T, K> {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl<T: Float, const K: usize> PartialOrd for Taylor<T, K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value().partial_cmp(&other.value())
    }
}

impl<T: Float + core::fmt::Display, const K: usize> core::fmt::Display for Taylor<T, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.value())?;
        for (k, c) in self.c.iter().enumerate().skip(1) {
            write!(f, " + {c}·h^{k}")?;
        }
        Ok(())
    }
}

impl<T: Float, const K: usize> Default for Taylor<T, K> {
    fn default() -> Self {
        Self::constant(T::zero())
    }
}

// ---- arithmetic ----------------------------------------------------------------------------

impl<T: Float, const K: usize> Add for Taylor<T, K> {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        Taylor {
            c: core::array::from_fn(|k| self.c[k] + o.c[k]),
        }
    }
}

impl<T: Float, const K: usize> Sub for Taylor<T, K> {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        Taylor {
            c: core::array::from_fn(|k| self.c[k] - o.c[k]),
        }
    }
}

impl<T: Float, const K: usize> Mul for Taylor<T, K> {
    type Output = Self;
    /// The Cauchy product.
    #[inline]
    fn mul(self, o: Self) -> Self {
        Taylor {
            c: core::array::from_fn(|k| {
                (0..=k).fold(T::zero(), |sum, j| sum + self.c[j] * o.c[k - j])
            }),
        }
    }
}

impl<T: Float, const K: usize> Div for Taylor<T, K> {
    type Output = Self;
    /// `r = a/b` from `r·b = a`: `r_k = (a_k − Σ_{j=1..k} b_j r_{k−j}) / b₀`.
    #[inline]
    fn div(self, o: Self) -> Self {
        let mut r = Self::constant(T::zero());
        let b0 = o.value();
        for k in 0..K {
            let mut sum = self.c[k];
            for j in 1..=k {
                sum = sum - o.c[j] * r.c[k - j];
            }
            r.c[k] = sum / b0;
        }
        r
    }
}

impl<T: Float, const K: usize> Rem for Taylor<T, K> {
    type Output = Self;
    /// `a − b·trunc(a/b)`, the quotient's whole part a constant.
    fn rem(self, o: Self) -> Self {
        let whole = (self.value() / o.value()).trunc();
        self - o * Self::constant(whole)
    }
}

impl<T: Float, const K: usize> Neg for Taylor<T, K> {
    type Output = Self;
    fn neg(self) -> Self {
        Taylor {
            c: self.c.map(|c| -c),
        }
    }
}

macro_rules! assign_ops {
    ($($trait:ident $method:ident $op:tt),*) => {$(
        impl<T: Float, const K: usize> $trait for Taylor<T, K> {
            #[inline]
            fn $method(&mut self, o: Self) {
                *self = *self $op o;
            }
        }
    )*};
}
assign_ops!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /, RemAssign rem_assign %);

// With references on either side, as code over `&f64` writes it (`x.iter().map(|a| a * a)`).
macro_rules! ref_ops {
    ($($trait:ident $method:ident $op:tt),*) => {$(
        impl<'a, T: Float, const K: usize> $trait<&'a Taylor<T, K>> for Taylor<T, K> {
            type Output = Self;
            fn $method(self, o: &'a Taylor<T, K>) -> Self {
                self $op *o
            }
        }
        impl<'a, T: Float, const K: usize> $trait<Taylor<T, K>> for &'a Taylor<T, K> {
            type Output = Taylor<T, K>;
            fn $method(self, o: Taylor<T, K>) -> Taylor<T, K> {
                *self $op o
            }
        }
        impl<'a, 'b, T: Float, const K: usize> $trait<&'b Taylor<T, K>> for &'a Taylor<T, K> {
            type Output = Taylor<T, K>;
            fn $method(self, o: &'b Taylor<T, K>) -> Taylor<T, K> {
                *self $op *o
            }
        }
    )*};
}
ref_ops!(Add add +, Sub sub -, Mul mul *, Div div /, Rem rem %);

impl<T: Float, const K: usize> Neg for &Taylor<T, K> {
    type Output = Taylor<T, K>;
    fn neg(self) -> Taylor<T, K> {
        -*self
    }
}

impl<'a, T: Float, const K: usize> core::iter::Sum<&'a Taylor<T, K>> for Taylor<T, K> {
    fn sum<I: Iterator<Item = &'a Taylor<T, K>>>(iter: I) -> Self {
        iter.fold(Self::zero(), |a, b| a + *b)
    }
}

impl<'a, T: Float, const K: usize> core::iter::Product<&'a Taylor<T, K>> for Taylor<T, K> {
    fn product<I: Iterator<Item = &'a Taylor<T, K>>>(iter: I) -> Self {
        iter.fold(Self::one(), |a, b| a * *b)
    }
}

impl<T: Float, const K: usize> core::iter::Sum for Taylor<T, K> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::zero(), |a, b| a + b)
    }
}

impl<T: Float, const K: usize> core::iter::Product for Taylor<T, K> {
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::one(), |a, b| a * b)
    }
}

// ---- num-traits --------------------------------------------------------------------------

impl<T: Float, const K: usize> Zero for Taylor<T, K> {
    fn zero() -> Self {
        Self::constant(T::zero())
    }
    /// Every coefficient zero.
    fn is_zero(&self) -> bool {
        self.c.iter().all(|c| c.is_zero())
    }
}

impl<T: Float, const K: usize> One for Taylor<T, K> {
    fn one() -> Self {
        Self::constant(T::one())
    }
}

impl<T: Float, const K: usize> Num for Taylor<T, K> {
    type FromStrRadixErr = T::FromStrRadixErr;
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        T::from_str_radix(s, radix).map(Self::constant)
    }
}

impl<T: Float, const K: usize> ToPrimitive for Taylor<T, K> {
    fn to_i64(&self) -> Option<i64> {
        self.value().to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.value().to_u64()
    }
    fn to_f64(&self) -> Option<f64> {
        self.value().to_f64()
    }
    fn to_f32(&self) -> Option<f32> {
        self.value().to_f32()
    }
}

impl<T: Float, const K: usize> NumCast for Taylor<T, K> {
    fn from<N: ToPrimitive>(n: N) -> Option<Self> {
        <T as NumCast>::from(n).map(Self::constant)
    }
}

impl<T: Float + FromPrimitive, const K: usize> FromPrimitive for Taylor<T, K> {
    fn from_i64(n: i64) -> Option<Self> {
        T::from_i64(n).map(Self::constant)
    }
    fn from_u64(n: u64) -> Option<Self> {
        T::from_u64(n).map(Self::constant)
    }
    fn from_f64(n: f64) -> Option<Self> {
        T::from_f64(n).map(Self::constant)
    }
    fn from_f32(n: f32) -> Option<Self> {
        T::from_f32(n).map(Self::constant)
    }
}

macro_rules! constants {
    ($($name:ident)*) => {
        impl<T: Float + FloatConst, const K: usize> FloatConst for Taylor<T, K> {
            $(fn $name() -> Self { Self::constant(T::$name()) })*
        }
    };
}
constants!(E FRAC_1_PI FRAC_1_SQRT_2 FRAC_2_PI FRAC_2_SQRT_PI FRAC_PI_2 FRAC_PI_3 FRAC_PI_4
    FRAC_PI_6 FRAC_PI_8 LN_10 LN_2 LOG10_E LOG2_E PI SQRT_2 TAU LOG10_2 LOG2_10);

macro_rules! constant {
    ($($f:ident),*) => {$(
        fn $f() -> Self {
            Self::constant(T::$f())
        }
    )*};
}

macro_rules! of_value {
    ($($f:ident -> $ty:ty),*) => {$(
        fn $f(self) -> $ty {
            self.value().$f()
        }
    )*};
}

macro_rules! piecewise_constant {
    ($($f:ident),*) => {$(
        fn $f(self) -> Self {
            Self::constant(self.value().$f())
        }
    )*};
}

impl<T: Float, const K: usize> Float for Taylor<T, K> {
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
    of_value!(is_nan -> bool, is_infinite -> bool, is_finite -> bool, is_normal -> bool,
        classify -> FpCategory, is_sign_positive -> bool, is_sign_negative -> bool,
        integer_decode -> (u64, i16, i8));
    piecewise_constant!(floor, ceil, round, trunc, signum);

    fn fract(self) -> Self {
        self - Self::constant(self.value().trunc())
    }
    fn abs(self) -> Self {
        let a0 = self.value();
        Self::linear(a0.abs(), &self, |d| rules::abs_x(d, a0))
    }
    fn copysign(self, sign: Self) -> Self {
        let (a0, s0) = (self.value(), sign.value());
        Self::linear(a0.copysign(s0), &self, |d| rules::copysign_x(d, a0, s0))
    }
    fn max(self, o: Self) -> Self {
        let (a0, b0) = (self.value(), o.value());
        let mut r = Self::linear(a0.max(b0), &self, |d| rules::max_a(d, a0, b0));
        for k in 1..K {
            r.c[k] = r.c[k] + rules::max_b(o.c[k], a0, b0);
        }
        r
    }
    fn min(self, o: Self) -> Self {
        let (a0, b0) = (self.value(), o.value());
        let mut r = Self::linear(a0.min(b0), &self, |d| rules::min_a(d, a0, b0));
        for k in 1..K {
            r.c[k] = r.c[k] + rules::min_b(o.c[k], a0, b0);
        }
        r
    }
    fn clamp(self, lo: Self, hi: Self) -> Self {
        let (x0, l0, h0) = (self.value(), lo.value(), hi.value());
        let mut r = Self::linear(num_traits::clamp(x0, l0, h0), &self, |d| {
            rules::clamp_x(d, x0, l0, h0)
        });
        for k in 1..K {
            r.c[k] = r.c[k] + rules::clamp_lo(lo.c[k], x0, l0) + rules::clamp_hi(hi.c[k], x0, h0);
        }
        r
    }
    fn abs_sub(self, o: Self) -> Self {
        if self <= o {
            Self::zero()
        } else {
            self - o
        }
    }

    fn mul_add(self, a: Self, b: Self) -> Self {
        self * a + b
    }
    fn recip(self) -> Self {
        Self::one() / self
    }
    fn powi(self, n: i32) -> Self {
        // Repeated squaring: exact for polynomials, and at a zero value.
        let mut result = Self::one();
        let mut base = self;
        let mut e = n.unsigned_abs();
        while e > 0 {
            if e & 1 == 1 {
                result *= base;
            }
            base = base * base;
            e >>= 1;
        }
        if n < 0 {
            result.recip()
        } else {
            result
        }
    }
    fn powf(self, p: Self) -> Self {
        if p.is_constant() {
            self.powf_constant(p.value())
        } else {
            (p * self.ln()).exp()
        }
    }
    fn sqrt(self) -> Self {
        let r0 = self.value().sqrt();
        let mut r = Self::constant(r0);
        for k in 1..K {
            let mut sum = self.c[k];
            for j in 1..k {
                sum = sum - r.c[j] * r.c[k - j];
            }
            r.c[k] = sum / (r0 + r0);
        }
        r
    }
    fn cbrt(self) -> Self {
        self.powf_constant(T::one() / number::<T>(3))
    }
    fn hypot(self, o: Self) -> Self {
        (self * self + o * o).sqrt()
    }
    fn exp(self) -> Self {
        self.exp_series(self.value().exp())
    }
    fn exp_m1(self) -> Self {
        self.exp_series(self.value().exp_m1())
    }
    fn exp2(self) -> Self {
        (self * Self::constant(T::from(core::f64::consts::LN_2).expect("ln 2"))).exp()
    }
    fn ln(self) -> Self {
        Self::integral(self.value().ln(), &self, &self.recip())
    }
    fn ln_1p(self) -> Self {
        Self::integral(self.value().ln_1p(), &self, &(Self::one() + self).recip())
    }
    fn log(self, base: Self) -> Self {
        self.ln() / base.ln()
    }
    fn log2(self) -> Self {
        self.ln() / Self::constant(number::<T>(2).ln())
    }
    fn log10(self) -> Self {
        self.ln() / Self::constant(number::<T>(10).ln())
    }
    fn sin(self) -> Self {
        self.sin_cos_series().0
    }
    fn cos(self) -> Self {
        self.sin_cos_series().1
    }
    fn sin_cos(self) -> (Self, Self) {
        self.sin_cos_series()
    }
    fn tan(self) -> Self {
        Self::integral_of_square(self.value().tan(), &self, T::one())
    }
    fn sinh(self) -> Self {
        self.trig_pair(T::one()).0
    }
    fn cosh(self) -> Self {
        self.trig_pair(T::one()).1
    }
    fn tanh(self) -> Self {
        Self::integral_of_square(self.value().tanh(), &self, -T::one())
    }
    fn asin(self) -> Self {
        let g = (Self::one() - self * self).sqrt().recip();
        Self::integral(self.value().asin(), &self, &g)
    }
    fn acos(self) -> Self {
        let g = -(Self::one() - self * self).sqrt().recip();
        Self::integral(self.value().acos(), &self, &g)
    }
    fn atan(self) -> Self {
        let g = (Self::one() + self * self).recip();
        Self::integral(self.value().atan(), &self, &g)
    }
    fn atan2(self, x: Self) -> Self {
        // θ′ = (x·y′ − y·x′)/(x² + y²): integrated from the series of y′ and x′.
        let y = self;
        let (dy, dx) = (y.derivative_series(), x.derivative_series());
        let dtheta = (x * dy - y * dx) / (x * x + y * y);
        let mut r = Self::constant(y.value().atan2(x.value()));
        for k in 1..K {
            r.c[k] = dtheta.c[k - 1] / number::<T>(k);
        }
        r
    }
    fn asinh(self) -> Self {
        let g = (self * self + Self::one()).sqrt().recip();
        Self::integral(self.value().asinh(), &self, &g)
    }
    fn acosh(self) -> Self {
        let g = (self * self - Self::one()).sqrt().recip();
        Self::integral(self.value().acosh(), &self, &g)
    }
    fn atanh(self) -> Self {
        let g = (Self::one() - self * self).recip();
        Self::integral(self.value().atanh(), &self, &g)
    }
    fn to_degrees(self) -> Self {
        self * Self::constant(T::one().to_degrees())
    }
    fn to_radians(self) -> Self {
        self * Self::constant(T::one().to_radians())
    }
}

impl<T: Float, const K: usize> Taylor<T, K> {
    /// The series of the derivative in `h`, `c′_m = (m + 1)·c_{m+1}`; its last coefficient
    /// would need `c_K` and is zero (only the ones before it are read).
    fn derivative_series(&self) -> Self {
        let mut r = Self::constant(T::zero());
        for m in 0..K.saturating_sub(1) {
            r.c[m] = number::<T>(m + 1) * self.c[m + 1];
        }
        r
    }
}

// ---- what the generated `NAME_derivatives` calls ------------------------------------------

/// Constant series: a slice argument that is not differentiated.
#[doc(hidden)]
pub fn constant_slice<T: Float, const K: usize>(x: &[T]) -> Vec<Taylor<T, K>> {
    x.iter().map(|&x| Taylor::constant(x)).collect()
}

/// Constant series: an array argument that is not differentiated.
#[doc(hidden)]
pub fn constant_array<T: Float, const K: usize, const N: usize>(x: &[T; N]) -> [Taylor<T, K>; N] {
    core::array::from_fn(|i| Taylor::constant(x[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x<const K: usize>(v: f64) -> Taylor<f64, K> {
        Taylor::variable(v)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * (1.0 + b.abs())
    }

    #[test]
    fn polynomials_are_exact_and_end_in_zeros() {
        // 3x² at 2: 12, 12, 6, 0, 0.
        let t = Taylor::constant(3.0) * x::<5>(2.0) * x::<5>(2.0);
        assert_eq!(t.derivatives(), [12.0, 12.0, 6.0, 0.0, 0.0]);
        // J(x) = x³ + x² − 6x + 1 at 2: 1, 10, 14, 6.
        let v = x::<4>(2.0);
        let j = v.powi(3) + v.powi(2) - Taylor::constant(6.0) * v + Taylor::one();
        assert_eq!(j.derivatives(), [1.0, 10.0, 14.0, 6.0]);
    }

    #[test]
    fn the_library_against_closed_forms() {
        let a = 0.7;
        // exp: every derivative is exp.
        for d in x::<6>(a).exp().derivatives() {
            assert!(close(d, a.exp()));
        }
        // sin: sin, cos, −sin, −cos, sin.
        let s = x::<5>(a).sin().derivatives();
        let want = [a.sin(), a.cos(), -a.sin(), -a.cos(), a.sin()];
        assert!(s.iter().zip(want).all(|(s, w)| close(*s, w)), "{s:?}");
        // ln: 1/x, −1/x², 2/x³.
        let l = x::<4>(a).ln().derivatives();
        let want = [a.ln(), 1.0 / a, -1.0 / (a * a), 2.0 / (a * a * a)];
        assert!(l.iter().zip(want).all(|(s, w)| close(*s, w)), "{l:?}");
        // sqrt: x^(1/2) → ½x^(−½), −¼x^(−3/2).
        let r = x::<3>(a).sqrt().derivatives();
        let want = [a.sqrt(), 0.5 / a.sqrt(), -0.25 / (a * a.sqrt())];
        assert!(r.iter().zip(want).all(|(s, w)| close(*s, w)), "{r:?}");
        // atan: 1/(1+x²), −2x/(1+x²)².
        let t = x::<3>(a).atan().derivatives();
        let q = 1.0 + a * a;
        let want = [a.atan(), 1.0 / q, -2.0 * a / (q * q)];
        assert!(t.iter().zip(want).all(|(s, w)| close(*s, w)), "{t:?}");
        // tanh: 1 − t², −2t(1 − t²).
        let h = x::<3>(a).tanh().derivatives();
        let th = a.tanh();
        let want = [th, 1.0 - th * th, -2.0 * th * (1.0 - th * th)];
        assert!(h.iter().zip(want).all(|(s, w)| close(*s, w)), "{h:?}");
        // x^2.5: 2.5x^1.5, 3.75x^0.5.
        let p = x::<3>(a).powf(Taylor::constant(2.5)).derivatives();
        let want = [a.powf(2.5), 2.5 * a.powf(1.5), 3.75 * a.powf(0.5)];
        assert!(p.iter().zip(want).all(|(s, w)| close(*s, w)), "{p:?}");
        // 1/x: −1/x², 2/x³.
        let r = x::<3>(a).recip().derivatives();
        let want = [1.0 / a, -1.0 / (a * a), 2.0 / (a * a * a)];
        assert!(r.iter().zip(want).all(|(s, w)| close(*s, w)), "{r:?}");
    }

    #[test]
    fn kinks_follow_the_reverse_rules() {
        assert_eq!(x::<3>(0.0).abs().derivatives(), [0.0, 0.0, 0.0]);
        assert_eq!(x::<3>(-2.0).abs().derivatives(), [2.0, -1.0, 0.0]);
        let tie = x::<2>(1.0).max(Taylor::constant(1.0));
        assert_eq!(tie.derivatives(), [1.0, 0.5]);
        // A whole power at zero: x² has 0, 0, 2.
        let p = x::<3>(0.0).powf(Taylor::constant(2.0)).derivatives();
        assert_eq!(p, [0.0, 0.0, 2.0]);
    }
}
