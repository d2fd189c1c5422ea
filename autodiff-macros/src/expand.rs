//! The attribute's expansion, stage by stage: options and signature → lower → rewrite (loads,
//! hoist) → analyse (values before hoisting, the rest after) → transform (reverse and forward
//! sweeps) → emit. Errors from every stage are collected; if there are any, the original
//! function is emitted with the errors and stubs of the generated items.

use crate::analysis::{self, Jacobian};
use crate::errors::Errors;
use crate::reverse::Form;
use crate::{emit, hoist, loads, lower, options, reverse, signature};
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
    // The items beside the function, and `NAME_dump` of them if asked for.
    let with_dump = |generated: TokenStream| {
        let dump = if options.dump {
            emit::dump(&func, &generated)
        } else {
            TokenStream::new()
        };
        quote!(#generated #dump)
    };
    let stubs = |errors: Errors| {
        let errors = errors.to_compile_errors();
        let stubs = with_dump(emit::stubs(&func, &sig, &runtime));
        quote!(#func #errors #stubs)
    };
    if sig.output.is_none() {
        // Without a result shape the body's errors would only be knock-on errors.
        return stubs(errors);
    }
    if let Some(vjp) = &options.vjp {
        // A supplied derivative: the body is the user's business, the calling convention ours.
        if !errors.is_empty() {
            return stubs(errors);
        }
        let generated = with_dump(emit::supplied(&func, &sig, vjp, &runtime));
        return quote!(#func #generated);
    }
    let mut ir = lower::lower(&func, &sig, &mut errors);
    loads::optimise(&mut ir);
    let active_params: Vec<bool> = sig.params.iter().map(|p| p.active).collect();
    let mut values = analysis::values(&ir, &active_params, &mut errors);
    if !errors.is_empty() {
        return stubs(errors);
    }
    hoist::optimise(&mut ir, &values);
    values.catch_up(&ir);
    let (facts, strategy) = analysis::facts(&ir, values, &sig);

    let transform = |form| {
        let body = reverse::pullback_body(&ir, &facts, &strategy, &active_params, &runtime, form);
        let lanes = match &strategy.jacobian {
            Jacobian::Lanes { outputs, ty } => Some(reverse::pullback_body(
                &ir,
                &facts,
                &strategy,
                &active_params,
                &runtime,
                Form::Lanes(*outputs, ty),
            )),
            _ => None,
        };
        let tangent = strategy
            .forward_grad
            .then(|| reverse::tangent_grad_body(&ir, &facts, &active_params, &runtime));
        emit::generated(
            &func,
            &sig,
            body,
            tangent,
            lanes,
            &strategy.jacobian,
            &ir.items,
            &runtime,
        )
    };
    let generated = transform(Form::Pullback);
    // The dump shows the landmarked pullback, which is never compiled.
    let dump = if options.dump {
        emit::dump(&func, &transform(Form::Landmarked))
    } else {
        TokenStream::new()
    };
    quote!(#func #generated #dump)
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
