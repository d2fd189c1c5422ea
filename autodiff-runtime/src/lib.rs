//! Runtime support for `differentiate`: the derivative rules the generated code calls,
//! the tape loops record on, the tensor type, and gradient-check helpers.
//!
//! Users reach everything here through the facade crate (`differentiate::runtime`). The
//! modules a user reads are [`rules`] (one derivative rule per primitive, with the conventions
//! at kinks), [`tape`] (how much the loops of a sweep recorded), [`check`] (finite
//! differences) and, with the `tensor` feature, [`Tensor`]. The rest is the calling
//! convention of the generated code, hidden from the documentation.

pub mod check;
pub mod checkpoint;
#[doc(hidden)]
pub mod compose;
pub mod differentiable;
pub mod dual;
#[cfg(feature = "nalgebra")]
#[doc(hidden)]
pub mod dual_linalg;
pub mod graph;
#[doc(hidden)]
pub mod lanes;
#[cfg(feature = "nalgebra")]
#[doc(hidden)]
pub mod linalg_rules;
pub mod rules;
#[doc(hidden)]
pub mod slices;
pub mod tape;
pub mod taylor;
#[cfg(feature = "tensor")]
pub mod tensor;
#[cfg(feature = "tensor")]
#[doc(hidden)]
pub mod tensor_rules;
#[doc(hidden)]
pub mod twin;

/// `x`, unchanged, with no derivative: inside a `#[differentiate]` function, the derivative
/// of whatever depends on `detach(x)` does not flow back into `x` (JAX's `stop_gradient`,
/// PyTorch's `detach`). For frozen parameters, targets, and straight-through estimators; see
/// `differentiate::detach` for an example. Outside a differentiated function it is the
/// identity.
#[inline(always)]
pub fn detach<T>(x: T) -> T {
    x
}

/// `detach` in a function's second-order twin: the value of a dual number or Taylor series,
/// its derivative parts dropped (a conversion into the type goes through `to_f64`).
#[doc(hidden)]
#[inline(always)]
pub fn detached<N: num_traits::NumCast + num_traits::ToPrimitive>(x: N) -> N {
    N::from(x).expect("a number converts into its own type")
}

/// The comparison of `max_by`/`min_by` in generated code, called as the iterator would.
#[doc(hidden)]
#[inline]
pub fn ordering<T, F: FnOnce(T, T) -> core::cmp::Ordering>(
    compare: F,
    a: T,
    b: T,
) -> core::cmp::Ordering {
    compare(a, b)
}

#[doc(hidden)]
pub use compose::{
    add_array_entry, as_int, cast, grad_entry, like, number_entry, promote, zero_like,
    zero_like_in, zeros, ArrayGradEntry, AsInt, Constant, GradEntry, Number, NumberEntry, Promote,
    ZeroLike, ZeroLikeIn, Zeros,
};
pub use differentiable::Differentiable;
pub use dual::Dual;
pub use graph::Graph;
#[doc(hidden)]
pub use lanes::Lanes;
#[cfg(feature = "nalgebra")]
#[doc(hidden)]
pub use nalgebra;
#[cfg(feature = "tensor")]
#[doc(hidden)]
pub use ndarray;
#[doc(hidden)]
pub use num_traits;
pub use taylor::Taylor;

#[doc(hidden)]
pub use tape::Tape;
#[cfg(feature = "tensor")]
pub use tensor::Tensor;
