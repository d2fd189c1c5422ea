//! The `#[differentiate]` attribute: compile-time reverse-mode automatic differentiation.
//!
//! Users depend on the `differentiate` facade crate, which re-exports this attribute and the
//! runtime the generated code calls. The transform runs in stages, one module each:
//!
//! | stage | module | entry point |
//! |---|---|---|
//! | attribute options | `options` | `options::parse` |
//! | signature: active parameters, result shape | `signature` | `signature::analyse` |
//! | lowering to one primitive per binding | `lower` (into `ir`) | `lower::lower` |
//! | rewrite: repeated loads and index arithmetic shared, loads moved before their loop | `loads` | `loads::optimise` |
//! | analyse values: activity, tensors or numbers | `analysis` (`activity`, `kinds`) | `analysis::values` |
//! | rewrite: loop-invariant values computed once (keeps the facts current) | `hoist` | `hoist::optimise` |
//! | analyse statements, and choose the strategy | `analysis` (`fusion`, `analysis::strategy`) | `analysis::facts` |
//! | transform: reverse sweep (tapes planned per loop), forward mode for `NAME_grad` | `reverse` | `reverse::pullback_body`, `reverse::tangent_grad_body` |
//! | generated items | `emit` | `emit::generated`, `emit::supplied`, `emit::stubs` |
//!
//! `expand` runs them in order; each analysis runs once per expansion (`analysis/tests.rs`
//! counts). The intermediate form `ir` is self-sufficient: `ir::kept` reads and rewrites the
//! markers of user code kept as written, `ir::uses` says what any part of it reads, `ir::walk`
//! visits nested blocks, and `ir::print` prints it for the stage tests, so no stage after
//! `lower` imports it. `lower` is split along its concerns (`stmts`, `exprs`, `calls`,
//! `branches`, `loops`, `kept`), with every rejection's message in `lower/rejections.rs`.
//! `primitives` is the one table of derivative rules (arithmetic, float library, tensors,
//! `sin`/`cos` partners) every emitter takes them from, and `naming` decides every generated
//! identifier.
//!
//! The emitters append generated code as whole streams, `code.extend([tokens])`
//! (`Extend<TokenStream>`): `code.extend(tokens)` would append it tree by tree, which inside
//! rustc sends every piece across the proc-macro bridge again at each level of nesting.

// IR nodes are built a few at a time, once per expansion: boxing large variants would only
// add noise.
#![allow(clippy::large_enum_variant)]

use proc_macro::TokenStream;

mod activity;
mod analysis;
mod derive;
mod emit;
mod errors;
mod expand;
mod forward;
mod fusion;
mod graph;
mod hoist;
mod ir;
mod kinds;
mod linalg;
mod loads;
mod lower;
mod naming;
mod options;
mod primitives;
mod reverse;
mod seeded;
mod signature;
mod struct_locals;
mod struct_results;
mod structs;
mod syntax;
mod twin;

/// Generates the derivative of a numeric function at compile time.
///
/// ```
/// use differentiate::differentiate;
///
/// #[differentiate]
/// fn j(x: f64) -> f64 {
///     x.powi(3) + x.powi(2) - 6.0 * x + 1.0
/// }
///
/// // The value and the gradient: J(2) = 1, J'(2) = 10.
/// assert_eq!(j_grad(2.0), (1.0, 10.0));
/// // The value and the vector-Jacobian product seed · J'(2).
/// assert_eq!(j_vjp(2.0, 0.5), (1.0, 5.0));
///
/// // A result of several numbers has a Jacobian, one row per output.
/// #[differentiate]
/// fn polar(x: f64, y: f64) -> (f64, f64) {
///     ((x * x + y * y).sqrt(), y.atan2(x))
/// }
/// let ((r, _), [dr, dtheta]) = polar_jacobian(3.0, 4.0);
/// assert_eq!(r, 5.0);
/// assert!((dr.0 - 0.6).abs() < 1e-15 && (dr.1 - 0.8).abs() < 1e-15);
/// assert!((dtheta.0 + 0.16).abs() < 1e-15 && (dtheta.1 - 0.12).abs() < 1e-15);
/// ```
///
/// `NAME` itself is emitted unchanged. Beside it, with the same visibility:
///
/// - `NAME_grad(params..) -> (value, gradient)`, when the result is a float (`f64`, `f32`);
/// - `NAME_vjp(params.., seed) -> (value, gradient)`, always: the vector-Jacobian product
///   `seedᵀ·J`, with `seed` of the result's type;
/// - `NAME_jacobian(params..) -> (value, [gradient; M])`, when the result holds `M` numbers
///   (a tuple or `[T; M]`);
/// - with `#[differentiate(dump)]`, `NAME_dump() -> &'static str`: the code generated for
///   `NAME`, pretty-printed, with comments marking the sweeps, each binding's adjoint and
///   what each loop keeps;
/// - a hidden `NAME_pullback`, through which other differentiated functions call `NAME`.
///
/// The gradient has one entry per active parameter (a tuple when there are several).
/// `#[differentiate(wrt(a, b))]` chooses the active parameters; by default every float
/// parameter (and slice, array or tensor of floats) is active.
/// `#[differentiate(vjp = path)]` supplies the derivative of a function the macro cannot see
/// into. See the `differentiate` crate's documentation for the supported syntax.
#[proc_macro_attribute]
pub fn differentiate(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), item.into()).into()
}

/// Derives `differentiate::runtime::Differentiable` for a struct whose numbers are
/// parameters: such a struct can be a parameter of a `#[differentiate]` function, and its
/// gradient is a value of the same type.
///
/// Fields of floats, `Vec`s and arrays of floats, tensors and other `Differentiable` structs
/// hold numbers; fields of integers, `bool`, `String` and collections of them, and fields
/// marked `#[differentiate(constant)]`, are constants, cloned into the gradient.
#[proc_macro_derive(Differentiable, attributes(differentiate))]
pub fn derive_differentiable(item: TokenStream) -> TokenStream {
    derive::derive(item.into()).into()
}

#[cfg(test)]
mod never_panics;
#[cfg(test)]
mod snapshots;
