//! Runtime support for `differentiate`: the derivative rules the generated code calls,
//! the calling convention between differentiated functions, and gradient-check helpers.
//!
//! Users reach everything here through the facade crate (`differentiate::runtime`).

pub mod check;
pub mod compose;
pub mod lanes;
pub mod rules;
pub mod tape;
pub mod tensor;
pub mod tensor_rules;

pub use compose::{
    add_array_entry, grad_entry, like, zero_like, ArrayGradEntry, Constant, GradEntry, ZeroLike,
};
pub use lanes::Lanes;
pub use tape::Tape;
pub use tensor::Tensor;
