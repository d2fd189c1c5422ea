#![doc = include_str!("../README.md")]

#[doc(inline)]
pub use autodiff_macros::differentiate;
#[doc(inline)]
pub use autodiff_macros::Differentiable;

/// Runtime support the generated code calls: derivative rules, the tape, tensors and
/// gradient-check helpers.
pub mod runtime {
    pub use autodiff_runtime::*;
}

pub use autodiff_runtime::check;
/// ```
/// use differentiate::{detach, differentiate};
///
/// // The value of `round(x)`, the derivative of `x` (a straight-through estimator).
/// #[differentiate]
/// fn straight_through(x: f64) -> f64 {
///     x + detach(x.round() - x)
/// }
///
/// assert_eq!(straight_through_grad(2.3), (2.0, 1.0));
/// ```
#[doc(inline)]
pub use autodiff_runtime::detach;
#[cfg(feature = "tensor")]
pub use autodiff_runtime::Tensor;
