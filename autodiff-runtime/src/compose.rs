//! The calling convention between differentiated functions.
//!
//! For every `#[differentiate] fn g`, the macro also emits a hidden `g_pullback` with the
//! same parameters plus the seed, returning the value and one gradient entry *per
//! parameter*: the gradient for an active parameter, [`Constant`] for a constant one. A
//! differentiated caller of `g` knows its arguments by position but not which of `g`'s
//! parameters are active, so it takes each entry it needs through [`grad_entry`], which
//! refuses `Constant` at compile time with a message saying how to fix the callee.

/// The gradient entry of a parameter that is not differentiated (not active).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Constant;

/// A gradient entry that can flow back into an active argument of the caller.
#[diagnostic::on_unimplemented(
    message = "an active argument is passed to a parameter that is not differentiated",
    label = "the callee treats this parameter as a constant",
    note = "add the parameter to the callee's `#[differentiate(wrt(..))]` list, or pass a constant here"
)]
///
/// `A` is the caller's adjoint type. It is a parameter rather than an associated type so that
/// a refused entry does not also leave the caller's adjoint without a type (one error, not a
/// cascade).
pub trait GradEntry<A> {
    /// Converts the entry into the caller's adjoint.
    fn into_adjoint(self) -> A;
}

impl GradEntry<f64> for f64 {
    #[inline(always)]
    fn into_adjoint(self) -> f64 {
        self
    }
}

impl GradEntry<f32> for f32 {
    #[inline(always)]
    fn into_adjoint(self) -> f32 {
        self
    }
}

#[cfg(feature = "tensor")]
impl GradEntry<crate::Tensor> for crate::Tensor {
    #[inline(always)]
    fn into_adjoint(self) -> crate::Tensor {
        self
    }
}

/// Takes the gradient entry a callee's pullback returned for an active argument.
#[inline(always)]
pub fn grad_entry<A, G: GradEntry<A>>(entry: G) -> A {
    entry.into_adjoint()
}

/// [`GradEntry`] in a function generic over the float type `T`, where the adjoint's type is
/// known to be `T` (the generated code names it). A trait of its own: a blanket `GradEntry`
/// impl for every float type would let a refused `Constant` entry pass for an adjoint of type
/// `Constant`, and report that instead.
#[diagnostic::on_unimplemented(
    message = "an active argument is passed to a parameter that is not differentiated",
    label = "the callee treats this parameter as a constant",
    note = "add the parameter to the callee's `#[differentiate(wrt(..))]` list, or pass a constant here"
)]
pub trait NumberEntry<T> {
    /// Converts the entry into the caller's adjoint.
    fn into_number(self) -> T;
}

impl<T: num_traits::real::Real> NumberEntry<T> for T {
    #[inline(always)]
    fn into_number(self) -> T {
        self
    }
}

/// Takes the gradient entry a callee's pullback returned for an active argument of the float
/// type `T` of a generic caller.
#[inline(always)]
pub fn number_entry<T, G: NumberEntry<T>>(entry: G) -> T {
    entry.into_number()
}

/// A gradient entry for an array argument (`Vec<T>` for a slice, `[T; N]` for an array) that
/// adds into the caller's adjoint array.
#[diagnostic::on_unimplemented(
    message = "an active array is passed to a parameter that is not differentiated",
    label = "the callee treats this parameter as a constant",
    note = "add the parameter to the callee's `#[differentiate(wrt(..))]` list, or pass a constant array here"
)]
pub trait ArrayGradEntry<T> {
    /// Adds the entry, element by element, into `adjoint`.
    fn add_to(self, adjoint: &mut [T]);
}

// `a + g` rather than `+=`: a generic float type promises `Add`, not `AddAssign`.
impl<T: Copy + core::ops::Add<Output = T>> ArrayGradEntry<T> for Vec<T> {
    #[inline]
    fn add_to(self, adjoint: &mut [T]) {
        for (a, g) in adjoint.iter_mut().zip(self) {
            *a = *a + g;
        }
    }
}

impl<T: Copy + core::ops::Add<Output = T>, const N: usize> ArrayGradEntry<T> for [T; N] {
    #[inline]
    fn add_to(self, adjoint: &mut [T]) {
        for (a, g) in adjoint.iter_mut().zip(self) {
            *a = *a + g;
        }
    }
}

/// Adds the gradient entry a callee returned for an active array argument into its adjoint.
#[inline]
pub fn add_array_entry<T, G: ArrayGradEntry<T>>(adjoint: &mut [T], entry: G) {
    entry.add_to(adjoint);
}

/// A value whose zero the adjoint can start from: numbers, arrays and tuples of them (the
/// results of differentiated functions, read by component).
pub trait ZeroLike {
    fn zero_like(&self) -> Self;
}

impl ZeroLike for f64 {
    fn zero_like(&self) -> f64 {
        0.0
    }
}

impl ZeroLike for f32 {
    fn zero_like(&self) -> f32 {
        0.0
    }
}

impl<T: ZeroLike, const N: usize> ZeroLike for [T; N] {
    fn zero_like(&self) -> [T; N] {
        std::array::from_fn(|i| self[i].zero_like())
    }
}

macro_rules! zero_like_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: ZeroLike),+> ZeroLike for ($($t,)+) {
            fn zero_like(&self) -> Self {
                ($(self.$i.zero_like(),)+)
            }
        }
    };
}

zero_like_tuple!(A 0);
zero_like_tuple!(A 0, B 1);
zero_like_tuple!(A 0, B 1, C 2);
zero_like_tuple!(A 0, B 1, C 2, D 3);
zero_like_tuple!(A 0, B 1, C 2, D 3, E 4);
zero_like_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

/// Zeros shaped like `x`.
pub fn zero_like<T: ZeroLike>(x: &T) -> T {
    x.zero_like()
}

/// [`ZeroLike`] in a function generic over the float type `T`, where a result read by
/// component is a tuple or array of `T`: a blanket `ZeroLike` for every float type would
/// overlap the tuple and array impls, so these name `T`.
pub trait ZeroLikeIn<T> {
    fn zero_like_in(&self) -> Self;
}

impl<T: num_traits::real::Real, const N: usize> ZeroLikeIn<T> for [T; N] {
    fn zero_like_in(&self) -> [T; N] {
        [T::zero(); N]
    }
}

macro_rules! zero_like_in_tuple {
    (@T $i:tt) => { T };
    (@zero $i:tt) => { T::zero() };
    ($($i:tt)+) => {
        impl<T: num_traits::real::Real> ZeroLikeIn<T> for ($(zero_like_in_tuple!(@T $i),)+) {
            fn zero_like_in(&self) -> Self {
                ($(zero_like_in_tuple!(@zero $i),)+)
            }
        }
    };
}

zero_like_in_tuple!(0);
zero_like_in_tuple!(0 1);
zero_like_in_tuple!(0 1 2);
zero_like_in_tuple!(0 1 2 3);
zero_like_in_tuple!(0 1 2 3 4);
zero_like_in_tuple!(0 1 2 3 4 5);

/// Zeros shaped like `x`, a tuple or array of the float type `T`.
pub fn zero_like_in<T, X: ZeroLikeIn<T>>(x: &X) -> X {
    x.zero_like_in()
}

/// `value`, typed like `previous`: a new version of a user variable has the type of the
/// version it replaces, as the variable in the user's code has one type.
#[inline(always)]
pub fn like<T>(previous: &T, value: T) -> T {
    let _ = previous;
    value
}

/// `T::from(x).unwrap()` in a function generic over the float type `T`, as the generated code
/// writes it (`as` cannot convert into a type parameter). Its derivative is `rules::cast_x`'s.
#[inline(always)]
pub fn cast<S: num_traits::NumCast, X: num_traits::ToPrimitive>(x: X) -> S {
    S::from(x).expect("the value converts into the float type")
}

/// `x as I` for a number of any kind: a primitive (as `as` converts it), or the value of a
/// dual number or Taylor series. The second-order twin of a function writes its casts to
/// integers so (`as` cannot convert a type parameter).
pub trait AsInt<I> {
    fn to_int(self) -> I;
}

macro_rules! as_int_of_primitives {
    ($($source:ty)*) => {$(
        impl<I: Copy + 'static> AsInt<I> for $source
        where
            $source: num_traits::AsPrimitive<I>,
        {
            #[inline(always)]
            fn to_int(self) -> I {
                num_traits::AsPrimitive::as_(self)
            }
        }
    )*};
}
as_int_of_primitives!(f64 f32 i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize bool char);

impl<I, T: AsInt<I>> AsInt<I> for crate::Dual<T> {
    #[inline(always)]
    fn to_int(self) -> I {
        self.re.to_int()
    }
}

impl<I, T: AsInt<I> + num_traits::Float, const K: usize> AsInt<I> for crate::Taylor<T, K> {
    #[inline(always)]
    fn to_int(self) -> I {
        self.value().to_int()
    }
}

/// `x as I`; see [`AsInt`].
#[inline(always)]
pub fn as_int<I, X: AsInt<I>>(x: X) -> I {
    x.to_int()
}

/// A constant named in a function's second-order twin (`SCALE`, `N_STEPS`): a float constant
/// becomes the twin's number type `N`, any other stays what it is.
pub trait Promote<N> {
    type Out;
    fn promote(self) -> Self::Out;
}

macro_rules! promote_floats {
    ($($float:ty)*) => {$(
        impl<N: num_traits::NumCast> Promote<N> for $float {
            type Out = N;
            #[inline(always)]
            fn promote(self) -> N {
                N::from(self).expect("the constant converts into the number type")
            }
        }
        impl<N: num_traits::NumCast, const K: usize> Promote<N> for [$float; K] {
            type Out = [N; K];
            #[inline(always)]
            fn promote(self) -> [N; K] {
                self.map(|c| N::from(c).expect("the constant converts into the number type"))
            }
        }
        impl<'a, N: num_traits::NumCast> Promote<N> for &'a [$float] {
            type Out = Vec<N>;
            fn promote(self) -> Vec<N> {
                self.iter().map(|&c| N::from(c).expect("the constant converts into the number type")).collect()
            }
        }
    )*};
}
promote_floats!(f64 f32);

macro_rules! promote_unchanged {
    ($($ty:ty)*) => {$(
        impl<N> Promote<N> for $ty {
            type Out = $ty;
            #[inline(always)]
            fn promote(self) -> $ty {
                self
            }
        }
    )*};
}
promote_unchanged!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize bool char &'static str);

/// See [`Promote`].
#[inline(always)]
pub fn promote<N, C: Promote<N>>(c: C) -> C::Out {
    c.promote()
}

/// What the second-order twin of an `f64` or `f32` function asks of its number type: what
/// the dual numbers and Taylor series of the runtime, and the float types, all are. (The twin
/// also asks `for<'r> &'r N: RefNum<N> + Neg<Output = N>`, arithmetic on references, which
/// a trait cannot imply.)
pub trait Number: NumberBounds {}

/// `total_cmp` on every number a twin computes with (the comparison a `min_by(|a, b|
/// a.total_cmp(b))` makes): on dual numbers and Taylor series, of their values.
pub trait TotalCmp {
    fn total_cmp(&self, other: &Self) -> core::cmp::Ordering;
}

impl TotalCmp for f64 {
    fn total_cmp(&self, other: &Self) -> core::cmp::Ordering {
        f64::total_cmp(self, other)
    }
}

impl TotalCmp for f32 {
    fn total_cmp(&self, other: &Self) -> core::cmp::Ordering {
        f32::total_cmp(self, other)
    }
}

impl<T: TotalCmp> TotalCmp for crate::Dual<T> {
    fn total_cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.re.total_cmp(&other.re)
    }
}

impl<T: TotalCmp + num_traits::Float, const K: usize> TotalCmp for crate::Taylor<T, K> {
    fn total_cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.value().total_cmp(&other.value())
    }
}

impl<N: NumberBounds> Number for N {}

macro_rules! number_bounds {
    ($($bound:tt)*) => {
        /// The bounds of [`Number`], written once.
        pub trait NumberBounds: $($bound)* {}
        impl<N: $($bound)*> NumberBounds for N {}
    };
}

number_bounds!(
    num_traits::Float
        + TotalCmp
        + Zeros
        + num_traits::NumRef
        + for<'r> core::iter::Sum<&'r Self>
        + for<'r> core::iter::Product<&'r Self>
        + num_traits::FloatConst
        + num_traits::FromPrimitive
        + num_traits::NumAssign
        + core::iter::Sum
        + core::iter::Product
        + Default
        + core::fmt::Debug
        + core::fmt::Display
        + AsInt<usize>
        + AsInt<isize>
        + AsInt<i8>
        + AsInt<i16>
        + AsInt<i32>
        + AsInt<i64>
        + AsInt<i128>
        + AsInt<u8>
        + AsInt<u16>
        + AsInt<u32>
        + AsInt<u64>
        + AsInt<u128>
);

/// Zeros of a result's shape at dual numbers or Taylor series: the seed with which a
/// pullback computes only its forward sweep's value (`NAME_jvp`, `NAME_derivatives`).
pub trait Zeros {
    fn zeros() -> Self;
}

impl Zeros for f64 {
    fn zeros() -> Self {
        0.0
    }
}

impl Zeros for f32 {
    fn zeros() -> Self {
        0.0
    }
}

impl<T: num_traits::Zero> Zeros for crate::Dual<T> {
    fn zeros() -> Self {
        crate::Dual::constant(T::zero())
    }
}

impl<T: num_traits::Float, const K: usize> Zeros for crate::Taylor<T, K> {
    fn zeros() -> Self {
        crate::Taylor::constant(T::zero())
    }
}

impl<Z: Zeros, const M: usize> Zeros for [Z; M] {
    fn zeros() -> Self {
        core::array::from_fn(|_| Z::zeros())
    }
}

macro_rules! zeros_tuple {
    ($($z:ident)+) => {
        impl<$($z: Zeros),+> Zeros for ($($z,)+) {
            fn zeros() -> Self {
                ($($z::zeros(),)+)
            }
        }
    };
}
zeros_tuple!(A);
zeros_tuple!(A B);
zeros_tuple!(A B C);
zeros_tuple!(A B C D);
zeros_tuple!(A B C D E);
zeros_tuple!(A B C D E F);

/// See [`Zeros`].
pub fn zeros<Z: Zeros>() -> Z {
    Z::zeros()
}
