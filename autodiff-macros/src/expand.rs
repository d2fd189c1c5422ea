//! The attribute's expansion, stage by stage: options and signature → lower → loads → hoist →
//! activity → reverse (with fusion) → emit. Errors from every stage are collected; if there are any, the original
//! function is emitted with the errors and stubs of the generated items.

use crate::errors::Errors;
use crate::reverse::Shape;
use crate::signature::Output;
use crate::{activity, emit, hoist, loads, lower, options, reverse, signature};
use proc_macro2::TokenStream;
use quote::quote;

/// Where generated code finds the runtime: through the facade, the only crate users depend on.
fn runtime_path() -> TokenStream {
    quote!(::differentiate::runtime)
}

pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let options = options::parse(attr, &mut errors);
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => return not_a_function(item, errors),
    };
    let runtime = runtime_path();
    let sig = signature::analyse(&func.sig, &options, &mut errors);
    if sig.output.is_none() {
        // Without a result shape the body's errors would only be knock-on errors.
        let errors = errors.to_compile_errors();
        let stubs = emit::stubs(&func, &sig, &runtime);
        return quote!(#func #errors #stubs);
    }
    if let Some(vjp) = &options.vjp {
        // A supplied derivative: the body is the user's business, the calling convention ours.
        if !errors.is_empty() {
            let errors = errors.to_compile_errors();
            let stubs = emit::stubs(&func, &sig, &runtime);
            return quote!(#func #errors #stubs);
        }
        let generated = emit::supplied(&func, &sig, vjp, &runtime);
        return quote!(#func #generated);
    }
    let mut ir = lower::lower(&func, &sig, &mut errors);
    loads::optimise(&mut ir);
    let active_params: Vec<bool> = sig.params.iter().map(|p| p.active).collect();
    hoist::optimise(&mut ir, &active_params);
    let activity = activity::analyse(&ir, &active_params, &mut errors);
    let shape = match &sig.output {
        Some(Output::Scalar(_) | Output::Tensor(_)) => Shape::Scalar,
        Some(Output::Tuple(_)) => Shape::Tuple,
        Some(Output::Array(..)) => Shape::Array,
        None => Shape::Scalar,
    };
    if !errors.is_empty() {
        let errors = errors.to_compile_errors();
        let stubs = emit::stubs(&func, &sig, &runtime);
        return quote!(#func #errors #stubs);
    }
    let tensor_refs: Vec<bool> = sig
        .params
        .iter()
        .map(|p| {
            matches!(&p.ty, syn::Type::Reference(_))
                && matches!(p.kind, signature::ParamKind::Tensor { .. })
        })
        .collect();
    let body = reverse::pullback_body(
        &ir,
        &activity,
        &active_params,
        &tensor_refs,
        &shape,
        &runtime,
        None,
    );
    // `NAME_jacobian` in one sweep, for outputs of one float type.
    let lanes = match &sig.output {
        Some(Output::Tuple(types))
            if types.iter().all(|t| {
                let first = &types[0];
                quote!(#t).to_string() == quote!(#first).to_string()
            }) =>
        {
            Some((types.len(), types[0].clone()))
        }
        Some(Output::Array(ty, n)) => Some((*n, ty.clone())),
        _ => None,
    }
    .and_then(|(m, ty)| {
        reverse::lanes_jacobian_body(
            &ir,
            &activity,
            &active_params,
            &tensor_refs,
            &shape,
            &runtime,
            m,
            &ty,
        )
    });
    let tangent = reverse::tangent_grad_body(&ir, &activity, &active_params, &runtime);
    let generated = emit::generated(&func, &sig, body, tangent, lanes, &ir.items, &runtime);
    quote!(#func #generated)
}

/// The attribute on something that is not a function: the item unchanged, and an error on
/// its keyword.
fn not_a_function(item: TokenStream, mut errors: Errors) -> TokenStream {
    use syn::spanned::Spanned;
    let message = |kind: &str| {
        format!(
            "`#[differentiate]` applies to functions, not to {kind}; put it on a `fn` with a body"
        )
    };
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(parsed) => {
            let (kind, span) = match &parsed {
                syn::Item::Struct(s) => ("a struct", s.struct_token.span),
                syn::Item::Enum(e) => ("an enum", e.enum_token.span),
                syn::Item::Impl(i) => {
                    ("an `impl` block (put it on each method)", i.impl_token.span)
                }
                syn::Item::Trait(t) => ("a trait", t.trait_token.span),
                syn::Item::Const(c) => ("a constant", c.const_token.span),
                syn::Item::Static(s) => ("a static", s.static_token.span),
                syn::Item::Mod(m) => ("a module", m.mod_token.span),
                syn::Item::Type(t) => ("a type alias", t.type_token.span),
                syn::Item::Use(u) => ("a `use`", u.use_token.span),
                syn::Item::Union(u) => ("a union", u.union_token.span),
                other => ("this item", other.span()),
            };
            errors.at(span, message(kind));
        }
        Err(_) => {
            let span = item
                .clone()
                .into_iter()
                .next()
                .map_or_else(proc_macro2::Span::call_site, |t| t.span());
            errors.at(span, "`#[differentiate]` applies to a function with a body; a declaration without one has nothing to differentiate");
        }
    }
    let errors = errors.to_compile_errors();
    quote!(#item #errors)
}
