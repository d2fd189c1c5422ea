//! The adjoints of several outputs at once, for `NAME_jacobian`.
//!
//! Reverse mode gives one row of a Jacobian per sweep. `NAME_jacobian` runs one sweep whose
//! adjoints are [`Lanes`], one lane per output, seeded with the unit vectors: the sweep's
//! sums and differences act lane by lane, and every rule is applied to each lane with
//! [`Lanes::map`], so lane `k` is exactly what a sweep seeded with output `k` alone would give
//! (JAX's `vmap` of the vector-Jacobian product). A partial derivative the rules share (a
//! quotient, a cosine) is computed once for all lanes, and with two lanes the arithmetic fits
//! the processor's vector registers.

use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// `M` adjoints of type `T`, one per output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lanes<T, const M: usize>(pub [T; M]);

impl<T: num_traits::real::Real, const M: usize> Lanes<T, M> {
    /// Zero in every lane.
    #[inline(always)]
    pub fn zero() -> Self {
        Lanes([T::zero(); M])
    }

    /// The seed of output `k`: one in lane `k`, zero elsewhere.
    #[inline(always)]
    pub fn unit(k: usize) -> Self {
        let mut lanes = [T::zero(); M];
        lanes[k] = T::one();
        Lanes(lanes)
    }

    /// A rule applied to each lane.
    #[inline(always)]
    pub fn map(self, rule: impl Fn(T) -> T) -> Self {
        Lanes(self.0.map(rule))
    }

    /// Lane `k`.
    #[inline(always)]
    pub fn lane(self, k: usize) -> T {
        self.0[k]
    }
}

impl<T: num_traits::real::Real, const M: usize> Add for Lanes<T, M> {
    type Output = Self;
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Lanes(std::array::from_fn(|k| self.0[k] + other.0[k]))
    }
}

impl<T: num_traits::real::Real, const M: usize> Sub for Lanes<T, M> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        Lanes(std::array::from_fn(|k| self.0[k] - other.0[k]))
    }
}

impl<T: num_traits::real::Real, const M: usize> Neg for Lanes<T, M> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.map(|x| -x)
    }
}

impl<T: num_traits::real::Real, const M: usize> AddAssign for Lanes<T, M> {
    #[inline(always)]
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

impl<T: num_traits::real::Real, const M: usize> SubAssign for Lanes<T, M> {
    #[inline(always)]
    fn sub_assign(&mut self, other: Self) {
        *self = *self - other;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_act_one_by_one() {
        let a = Lanes::<f64, 2>::unit(0) + Lanes([0.5, 2.0]);
        assert_eq!(a, Lanes([1.5, 2.0]));
        assert_eq!(-(a - Lanes::unit(1)), Lanes([-1.5, -1.0]));
        assert_eq!(a.map(|x| x * 2.0).lane(1), 4.0);
        let mut b = Lanes::<f32, 3>::zero();
        b += Lanes::unit(2);
        b -= Lanes([1.0, 0.0, 0.5]);
        assert_eq!(b, Lanes([-1.0, 0.0, 0.5]));
    }
}
