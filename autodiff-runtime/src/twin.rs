//! What a function's second-order twin calls (see the macro's `twin` module): a call the
//! gradient does not differentiate (`helper(n)`, on constants only) runs at the function's
//! own float type, whatever the callee is, and its result comes back as the twin's number.
//!
//! The twin writes such a call `(&helper((&n).lower_arg())).promote_result::<N>()`. Which
//! `lower_arg` and `promote_result` apply is settled by the type of the receiver, the most
//! specific first (autoref specialization): a number of the twin (`N`, a dual number or
//! Taylor series) becomes its value, a float result becomes an `N`; anything else passes
//! through as it is.

use num_traits::NumCast;

/// The value of a number of a twin, at the function's float type.
pub trait Lowered {
    type Value;
    fn lowered(&self) -> Self::Value;
}

impl Lowered for f64 {
    type Value = f64;
    fn lowered(&self) -> f64 {
        *self
    }
}

impl Lowered for f32 {
    type Value = f32;
    fn lowered(&self) -> f32 {
        *self
    }
}

impl<T: Lowered> Lowered for crate::Dual<T> {
    type Value = T::Value;
    fn lowered(&self) -> T::Value {
        self.re.lowered()
    }
}

impl<T: Lowered + num_traits::Float, const K: usize> Lowered for crate::Taylor<T, K> {
    type Value = T::Value;
    fn lowered(&self) -> T::Value {
        self.value().lowered()
    }
}

/// An argument that is a number of the twin: its value.
pub trait LowerArg {
    type Out;
    fn lower_arg(&self) -> Self::Out;
}

impl<N: Lowered> LowerArg for N {
    type Out = N::Value;
    #[inline(always)]
    fn lower_arg(&self) -> N::Value {
        self.lowered()
    }
}

/// A `Vec` of numbers of the twin (`&vec![..]` of constants): their values.
pub trait LowerVec {
    type Out;
    fn lower_arg(&self) -> Self::Out;
}

impl<N: Lowered> LowerVec for Vec<N> {
    type Out = Vec<N::Value>;
    fn lower_arg(&self) -> Vec<N::Value> {
        self.iter().map(Lowered::lowered).collect()
    }
}

/// A slice of numbers of the twin (a slice parameter, a buffer): their values.
pub trait LowerSlice {
    type Out;
    fn lower_arg(&self) -> Self::Out;
}

impl<N: Lowered> LowerSlice for [N] {
    type Out = Vec<N::Value>;
    fn lower_arg(&self) -> Vec<N::Value> {
        self.iter().map(Lowered::lowered).collect()
    }
}

/// An array of numbers of the twin: their values.
pub trait LowerArray {
    type Out;
    fn lower_arg(&self) -> Self::Out;
}

impl<N: Lowered, const K: usize> LowerArray for [N; K] {
    type Out = [N::Value; K];
    fn lower_arg(&self) -> [N::Value; K] {
        core::array::from_fn(|i| self[i].lowered())
    }
}

/// Any other argument: itself.
pub trait LowerArgAsIs {
    type Out;
    fn lower_arg(&self) -> Self::Out;
}

impl<T: Clone> LowerArgAsIs for &T {
    type Out = T;
    #[inline(always)]
    fn lower_arg(&self) -> T {
        (*self).clone()
    }
}

/// A float result: a number of the twin.
pub trait PromoteResult {
    fn promote_result<N: NumCast>(&self) -> N;
}

impl PromoteResult for f64 {
    #[inline(always)]
    fn promote_result<N: NumCast>(&self) -> N {
        N::from(*self).expect("a float converts into the number type")
    }
}

impl PromoteResult for f32 {
    #[inline(always)]
    fn promote_result<N: NumCast>(&self) -> N {
        N::from(*self).expect("a float converts into the number type")
    }
}

/// An array of floats: an array of numbers of the twin.
pub trait PromoteArray<const K: usize> {
    fn promote_result<N: NumCast>(&self) -> [N; K];
}

impl<F: Copy + num_traits::ToPrimitive, const K: usize> PromoteArray<K> for [F; K] {
    fn promote_result<N: NumCast>(&self) -> [N; K] {
        self.map(|c| N::from(c).expect("a float converts into the number type"))
    }
}

/// A `Vec` of floats: a `Vec` of numbers of the twin.
pub trait PromoteVec {
    fn promote_result<N: NumCast>(&self) -> Vec<N>;
}

impl<F: Copy + num_traits::ToPrimitive> PromoteVec for Vec<F> {
    fn promote_result<N: NumCast>(&self) -> Vec<N> {
        self.iter()
            .map(|&c| N::from(c).expect("a float converts into the number type"))
            .collect()
    }
}

/// A pair of floats: a pair of numbers of the twin.
pub trait PromotePair {
    fn promote_result<N: NumCast>(&self) -> (N, N);
}

impl PromotePair for (f64, f64) {
    fn promote_result<N: NumCast>(&self) -> (N, N) {
        (self.0.promote_result(), self.1.promote_result())
    }
}

/// Any other result: itself.
pub trait PromoteAsIs {
    type Out;
    fn promote_result<N>(&self) -> Self::Out;
}

impl<T: Clone> PromoteAsIs for &T {
    type Out = T;
    #[inline(always)]
    fn promote_result<N>(&self) -> T {
        (*self).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dual;

    // The borrows select the implementation, as in the generated code.
    #[allow(clippy::needless_borrow)]
    fn twin_call<N: Lowered<Value = f64> + NumCast + Copy>(x: N, n: usize) -> (N, usize) {
        fn scale(x: f64, n: usize) -> f64 {
            x * n as f64
        }
        fn count(n: usize) -> usize {
            n + 1
        }
        let scaled = (&scale((&x).lower_arg(), (&n).lower_arg())).promote_result::<N>();
        let counted = (&count((&n).lower_arg())).promote_result::<N>();
        (scaled, counted)
    }

    #[test]
    #[allow(clippy::needless_borrow)]
    fn collections_of_numbers_go_down_to_their_values() {
        // A helper as users write them, `&Vec` included.
        #[allow(clippy::ptr_arg)]
        fn total(v: &Vec<f64>, a: [f64; 2]) -> f64 {
            v.iter().sum::<f64>() + a[0] + a[1]
        }
        let v = vec![Dual::new(1.0, 1.0), Dual::new(2.0, 0.5)];
        let a = [Dual::new(3.0, 1.0), Dual::new(4.0, 1.0)];
        let t: Dual<f64> = (&total(&(&v).lower_arg(), (&a).lower_arg())).promote_result();
        assert_eq!((t.re, t.eps), (10.0, 0.0));
    }

    #[test]
    fn numbers_go_down_to_their_value_and_floats_come_back_up() {
        let (scaled, counted) = twin_call(Dual::new(1.5, 1.0), 2);
        assert_eq!((scaled.re, scaled.eps, counted), (3.0, 0.0, 3));
        assert_eq!(twin_call(1.5, 2), (3.0, 3));
    }
}
