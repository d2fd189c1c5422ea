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
/// What `NAME_graph(params..)` returns: the computation graph at a point, each node with its
/// value and adjoint (see [`runtime::graph`]).
///
/// ```
/// use differentiate::differentiate;
///
/// #[differentiate]
/// fn t(x: f64) -> f64 {
///     let y = x.cos();
///     let z = 4.0 * y * y;
///     z.tanh()
/// }
///
/// let graph = t_graph(7.0);
/// // TensorFlow's `tape.gradient(t, y)`: the adjoint of an intermediate value.
/// assert!((graph.adjoint_of("y").unwrap() - 0.2503759).abs() < 1e-6);
/// assert!(graph.to_dot().starts_with("digraph \"t\""));
/// ```
#[doc(inline)]
pub use autodiff_runtime::graph::Graph;
#[cfg(feature = "tensor")]
pub use autodiff_runtime::Tensor;
