//! The `#[differentiate]` attribute: compile-time reverse-mode automatic differentiation.
//!
//! Users depend on the `differentiate` facade crate, which re-exports this attribute and the
//! runtime the generated code calls. The transform runs in stages, one module each:
//!
//! | stage | module | entry point |
//! |---|---|---|
//! | attribute options | [`options`] | `options::parse` |
//! | signature: active parameters, result shape | [`signature`] | `signature::analyse` |
//! | lowering to one primitive per binding | [`lower`] (into [`ir`]) | `lower::lower` |
//! | activity analysis | [`activity`] | `activity::analyse` |
//! | kinds: tensors or numbers | [`kinds`] | `kinds::infer` |
//! | reverse mode | [`reverse`] | `reverse::pullback_body` |
//! | generated items | [`emit`] | `emit::generated`, `emit::stubs` |
//!
//! [`expand`] runs them in order; [`naming`] decides every generated identifier and
//! [`primitives`] maps float-library methods to their derivative rules in the runtime.

// IR nodes are built a few at a time, once per expansion: boxing large variants would only
// add noise.
#![allow(clippy::large_enum_variant)]

use proc_macro::TokenStream;

mod activity;
mod emit;
mod errors;
mod expand;
mod fusion;
mod hoist;
mod ir;
mod kinds;
mod loads;
mod lower;
mod naming;
mod options;
mod primitives;
mod reverse;
mod signature;

/// Generates the derivative of a numeric function at compile time.
///
/// ```ignore
/// use differentiate::differentiate;
///
/// #[differentiate]
/// fn j(x: f64) -> f64 {
///     x.powi(3) + x.powi(2) - 6.0 * x + 1.0
/// }
///
/// let (value, slope) = j_grad(2.0); // (1.0, 10.0)
/// let (value, vjp) = j_vjp(2.0, 0.5); // (1.0, 5.0)
/// ```
///
/// Beside `NAME` (emitted unchanged) it generates `NAME_vjp(params.., seed) -> (value,
/// gradient)` and, for a float result, `NAME_grad(params..) -> (value, gradient)`. The
/// gradient has one entry per active parameter (a tuple when there are several).
/// `#[differentiate(wrt(a, b))]` chooses the active parameters; by default every `f64` and
/// `f32` parameter is active. See the crate README for the supported syntax.
#[proc_macro_attribute]
pub fn differentiate(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(attr.into(), item.into()).into()
}

#[cfg(test)]
mod never_panics;
#[cfg(test)]
mod snapshots;
