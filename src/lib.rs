//! Compile-time reverse-mode automatic differentiation for Rust.
//!
//! ```
//! use differentiate::differentiate;
//!
//! #[differentiate]
//! fn j(x: f64) -> f64 {
//!     x.powi(3) + x.powi(2) - 6.0 * x + 1.0
//! }
//!
//! let (value, slope) = j_grad(2.0);
//! assert_eq!((value, slope), (1.0, 10.0));
//! ```
//!
//! See the README for what the attribute accepts and what it generates.

pub use autodiff_macros::differentiate;

/// Runtime support the generated code calls: derivative rules, the calling convention
/// between differentiated functions, and gradient-check helpers.
pub mod runtime {
    pub use autodiff_runtime::*;
}

pub use autodiff_runtime::check;
pub use autodiff_runtime::Tensor;
