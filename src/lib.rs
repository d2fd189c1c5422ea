#![doc = include_str!("../README.md")]

#[doc(inline)]
pub use autodiff_macros::differentiate;

/// Runtime support the generated code calls: derivative rules, the tape, tensors and
/// gradient-check helpers.
pub mod runtime {
    pub use autodiff_runtime::*;
}

pub use autodiff_runtime::check;
#[cfg(feature = "tensor")]
pub use autodiff_runtime::Tensor;
