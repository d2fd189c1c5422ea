//! Every identifier the macro generates is made here.
//!
//! Local variables of generated bodies use `Span::mixed_site()` hygiene: they can neither see
//! nor shadow the user's locals, whatever the user calls them (`seed`, `d_x_1`, ...). Among
//! themselves they cannot collide either: a version of a user variable is `{name}_{n}`, its
//! adjoint `{name}_d{n}` (its tangent, in forward mode, `{name}_t{n}`), an array `{name}_a{n}` (adjoint `{name}_da{n}`), and the macro's
//! own values start with `__` and never end in `_{digits}`. Items
//! (the generated functions, the arm-record enums) are visible at the call site, so their
//! names derive from the user's function name.

use crate::ir::{ArrayId, FnIr, VarId};
use proc_macro2::Span;
use syn::Ident;

fn hygienic(name: &str, at: Span) -> Ident {
    Ident::new(name, Span::mixed_site().located_at(at))
}

fn stem(hint: &str) -> &str {
    let hint = hint.strip_prefix("r#").unwrap_or(hint);
    // Names the lowering itself introduces (`__differentiate_acc`) read better short.
    hint.strip_prefix("__differentiate_").unwrap_or(hint)
}

/// The generated `NAME_grad`.
pub fn grad_fn(name: &Ident) -> Ident {
    Ident::new(&format!("{}_grad", stem(&name.to_string())), name.span())
}

/// The generated `NAME_jacobian`.
pub fn jacobian_fn(name: &Ident) -> Ident {
    Ident::new(
        &format!("{}_jacobian", stem(&name.to_string())),
        name.span(),
    )
}

/// The generated `NAME_vjp`.
pub fn vjp_fn(name: &Ident) -> Ident {
    Ident::new(&format!("{}_vjp", stem(&name.to_string())), name.span())
}

/// The hidden `NAME_pullback` that differentiated callers use: one gradient entry per
/// parameter. `at` is where a missing pullback should be reported (the call site).
pub fn pullback_fn(name: &Ident, at: Span) -> Ident {
    Ident::new(&format!("{}_pullback", stem(&name.to_string())), at)
}

/// The variable holding version `v` of a value in the forward sweep.
pub fn primal(ir: &FnIr, v: VarId) -> Ident {
    let var = &ir.vars[v];
    hygienic(&format!("{}_{v}", stem(&var.hint)), var.span)
}

/// The tangent (`∂v/∂inputs`, one entry per active parameter) of version `v`, in forward mode.
pub fn tangent(ir: &FnIr, v: VarId) -> Ident {
    let var = &ir.vars[v];
    hygienic(&format!("{}_t{v}", stem(&var.hint)), var.span)
}

/// The adjoint (`∂output/∂v`, accumulated) of version `v`.
pub fn adjoint(ir: &FnIr, v: VarId) -> Ident {
    let var = &ir.vars[v];
    hygienic(&format!("{}_d{v}", stem(&var.hint)), var.span)
}

/// The seed parameter of the pullback.
pub fn seed() -> Ident {
    hygienic("seed", Span::call_site())
}

/// The seed parameter of the public `NAME_vjp`: `seed`, unless a parameter is called that.
pub fn public_seed(params: &[Ident]) -> Ident {
    let mut name = String::from("seed");
    while params.iter().any(|p| *p == name) {
        name.push('_');
    }
    Ident::new(&name, Span::call_site())
}

/// Component `k` of the returned value, before it is assembled.
pub fn result_value() -> Ident {
    hygienic("value", Span::call_site())
}

/// The gradient entry of parameter `i` as returned by a pullback.
pub fn grad_entry(i: usize) -> Ident {
    hygienic(&format!("grad_{i}"), Span::call_site())
}

/// The gradient entry for argument `i` of the call computing `v`.
pub fn call_entry(v: VarId, i: usize, at: Span) -> Ident {
    hygienic(&format!("__grad{v}x{i}"), at)
}

/// The record of which arm of branch `n` ran, and what its adjoint needs.
pub fn arm_record(n: usize, at: Span) -> Ident {
    hygienic(&format!("__arm{n}"), at)
}

/// The local enum whose variant says which of `arms` arms ran.
pub fn arms_enum(arms: usize) -> Ident {
    Ident::new(&format!("__DifferentiateArms{arms}"), Span::call_site())
}

/// Variant `i` of an arms enum.
pub fn arm_variant(i: usize) -> Ident {
    Ident::new(&format!("Arm{i}"), Span::call_site())
}

/// Array `a` in the forward sweep.
pub fn array(ir: &FnIr, a: ArrayId) -> Ident {
    let array = &ir.arrays[a];
    hygienic(&format!("{}_a{a}", stem(&array.hint)), array.span)
}

/// The adjoint array of array `a`.
pub fn array_adjoint(ir: &FnIr, a: ArrayId) -> Ident {
    let array = &ir.arrays[a];
    hygienic(&format!("{}_da{a}", stem(&array.hint)), array.span)
}

/// The tape of loop `n`.
pub fn tape(n: usize) -> Ident {
    hygienic(&format!("__tape{n}"), Span::call_site())
}

/// The trip count of loop `n`, for loops whose count is known only after they ran.
pub fn trip_count(n: usize) -> Ident {
    hygienic(&format!("__trips{n}"), Span::call_site())
}

/// A value the adjoint takes and then clears or updates (`n` makes it unique).
pub fn taken(n: usize) -> Ident {
    hygienic(&format!("__taken{n}"), Span::call_site())
}
