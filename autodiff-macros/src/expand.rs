//! The attribute's expansion, stage by stage: options and signature → lower → rewrite (loads,
//! hoist) → analyse (values before hoisting, the rest after) → transform (reverse and forward
//! sweeps) → emit. Errors from every stage are collected; if there are any, the original
//! function is emitted with the errors and stubs of the generated items.

use crate::analysis::{self, Jacobian};
use crate::emit::TwinItems;
use crate::errors::Errors;
use crate::ir::FnIr;
use crate::reverse::Form;
use crate::twin::Twin;
use crate::{
    emit, graph, hoist, loads, lower, options, reverse, seeded, signature, struct_locals,
    struct_results, structs, twin,
};
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
        Err(_) => match syn::parse2::<syn::ItemImpl>(item.clone()) {
            Ok(block) if errors.is_empty() && options.is_default() => return expand_impl(block),
            Ok(_) if errors.is_empty() => {
                errors.spanned(
                    &item,
                    "options of `#[differentiate]` on an `impl` block go on each method: `#[differentiate(wrt(x))] fn ..`",
                );
                let errors = errors.to_compile_errors();
                return quote!(#item #errors);
            }
            _ => return not_a_function(item, errors),
        },
    };
    expand_function(func, options, errors)
}

/// `#[differentiate]` on an `impl` block: each function in it marked `#[differentiate(..)]`
/// is expanded knowing it is an associated function (its siblings are `Self::f`). The items
/// generated for the methods of a trait impl go in an inherent impl of the same type beside
/// it, since a trait impl holds only the trait's items.
fn expand_impl(mut block: syn::ItemImpl) -> TokenStream {
    let trait_impl = block.trait_.is_some();
    let mut beside = TokenStream::new();
    for item in block.items.iter_mut() {
        let syn::ImplItem::Fn(method) = item else {
            continue;
        };
        let Some(at) = method
            .attrs
            .iter()
            .position(|a| a.path().is_ident("differentiate"))
        else {
            continue;
        };
        let attr = method.attrs.remove(at);
        let mut errors = Errors::default();
        let args = match attr.meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(list) => list.tokens,
            syn::Meta::NameValue(nv) => {
                errors.spanned(
                    &nv,
                    "write the options in parentheses: `#[differentiate(wrt(x))]`",
                );
                TokenStream::new()
            }
        };
        let mut options = options::parse(args, &mut errors);
        options.in_impl = true;
        let mut func = syn::ItemFn {
            attrs: method.attrs.clone(),
            vis: method.vis.clone(),
            sig: method.sig.clone(),
            block: Box::new(method.block.clone()),
        };
        if trait_impl {
            // A trait's methods are as visible as the trait; their derivatives are public.
            func.vis = syn::parse_quote!(pub);
            beside.extend([generated_items(&func, options, errors)]);
        } else {
            *item = syn::ImplItem::Verbatim(expand_function(func, options, errors));
        }
    }
    if beside.is_empty() {
        return quote!(#block);
    }
    let (impl_generics, _, where_clause) = block.generics.split_for_impl();
    let self_ty = &block.self_ty;
    quote! {
        #block
        impl #impl_generics #self_ty #where_clause {
            #beside
        }
    }
}

/// The function and the items generated beside it.
fn expand_function(
    mut func: syn::ItemFn,
    options: options::Options,
    errors: Errors,
) -> TokenStream {
    let checkpointed = !options.checkpoints.is_empty();
    let generated = generated_items(&func, options, errors);
    if checkpointed {
        // A label only `checkpoint('label, ..)` uses is not unused.
        func.attrs.push(syn::parse_quote!(#[allow(unused_labels)]));
    }
    quote!(#func #generated)
}

/// The items generated beside the function (not the function itself).
fn generated_items(
    func: &syn::ItemFn,
    options: options::Options,
    mut errors: Errors,
) -> TokenStream {
    let runtime = runtime_path();
    let mut sig = signature::analyse(&func.sig, &options, &mut errors);
    // Structs built in the body, as one local per field (the function itself is emitted as
    // written).
    let float: syn::Type = match &sig.floats.generic {
        Some(t) => syn::parse_quote!(#t),
        None => syn::parse_str(&twin::float_type(&sig).unwrap_or_else(|_| "f64".into()))
            .expect("a float type"),
    };
    let func = &struct_locals::scalar_replaced(func, &float, sig.floats.generic.is_some());
    crate::linalg::promote_whole_values(&func.block, &mut sig);
    if let Some(signature::Output::Vec(elem)) = &sig.output {
        // Differentiated as its seeded sum, a scalar function (see `seeded`).
        if errors.is_empty() {
            if let Some(s) = seeded::seeded(func, &sig, elem, &options, &runtime, &mut errors) {
                let inner = expand_function(s.seeded, s.options, Errors::default());
                let wrappers = s.wrappers;
                return quote!(#inner #wrappers);
            }
        }
        let errors = errors.to_compile_errors();
        return quote!(#errors);
    }
    if let Some(signature::Output::Struct(ty)) = &sig.output {
        // Differentiated as its seeded sum, a scalar function (see `struct_results`).
        if errors.is_empty() {
            let seeded = struct_results::seeded(func, &sig, ty, &options, &runtime, &mut errors);
            if let Some(s) = seeded {
                let inner = expand_function(s.seeded, s.options, Errors::default());
                let wrappers = s.wrappers;
                return quote!(#inner #wrappers);
            }
        }
        let errors = errors.to_compile_errors();
        return quote!(#errors);
    }
    if sig.output.is_some() && structs::has_active_struct(&sig) && options.vjp.is_none() {
        // Differentiated as the flat function of the fields its body reads (see `structs`).
        if errors.is_empty() {
            if let Some(flattened) = structs::flatten(func, &sig, &options, &runtime, &mut errors) {
                let flat = expand_function(flattened.flat, flattened.options, Errors::default());
                let wrappers = flattened.wrappers;
                return quote!(#flat #wrappers);
            }
        }
        let errors = errors.to_compile_errors();
        let stubs = emit::stubs(func, &sig, &runtime);
        return quote!(#errors #stubs);
    }
    // The items beside the function, and `NAME_dump` of them if asked for.
    let with_dump = |generated: TokenStream| {
        let dump = if options.dump {
            emit::dump(func, &sig, &generated)
        } else {
            TokenStream::new()
        };
        quote!(#generated #dump)
    };
    let stubs = |errors: Errors| {
        let errors = errors.to_compile_errors();
        let stubs = with_dump(emit::stubs(func, &sig, &runtime));
        let graph = emit::graph_item(func, &sig, None, &runtime);
        quote!(#errors #stubs #graph)
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
        let mut generated = with_dump(emit::supplied(func, &sig, vjp, &runtime));
        if structs::has_active_struct(&sig) {
            // What a differentiated caller passing the struct whole calls.
            generated.extend([structs::numbers_form_of_supplied(func, &sig, &runtime)]);
        }
        let graph = match &sig.output {
            // (Not over an active struct, whose numbers the graph's inputs would list.)
            Some(signature::Output::Scalar(_)) if !structs::has_active_struct(&sig) => {
                let body = graph::supplied_body(func, &sig, &runtime);
                emit::graph_item(func, &sig, Some(body), &runtime)
            }
            _ => TokenStream::new(),
        };
        let twin = twin_items(
            func,
            &sig,
            twin::supplied(func, &sig, vjp),
            &options,
            &runtime,
        );
        return quote!(#generated #twin #graph);
    }
    let Some((ir, values)) = lowered(func, &sig, &mut errors) else {
        return stubs(errors);
    };
    // The graph shows the function as lowered, before any rewrite for speed.
    // Not over tensors or nalgebra values with a derivative (a constant one is an input).
    let active_value =
        (values.kinds.iter().zip(&values.activity.active)).any(|(k, a)| k.is_value() && *a);
    let graph = if active_value {
        TokenStream::new()
    } else {
        let active_params: Vec<bool> = sig.params.iter().map(|p| p.active).collect();
        let float = twin::float_type(&sig).unwrap_or_else(|_| "f64".into());
        let body = graph::graph_body(
            &func.sig.ident,
            &ir,
            &values.activity,
            &active_params,
            &float,
            &runtime,
        );
        emit::graph_item(func, &sig, Some(body), &runtime)
    };
    let twin = twin::twin(func, &sig, &ir, &values.kinds);
    let forward = twin::forward(&twin, &sig, &ir, &values.activity);
    let twin = twin_items(func, &sig, twin, &options, &runtime);
    let active_params: Vec<bool> = sig.params.iter().map(|p| p.active).collect();
    let (ir, facts, strategy) = rewritten(ir, values, &sig);

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
            func,
            &sig,
            body,
            tangent,
            lanes,
            &strategy.jacobian,
            &ir.items,
            &runtime,
            forward.is_some(),
        )
    };
    let generated = transform(Form::Pullback);
    // The dump shows the landmarked pullback, which is never compiled.
    let dump = if options.dump {
        emit::dump(func, &sig, &transform(Form::Landmarked))
    } else {
        TokenStream::new()
    };
    quote!(#generated #twin #forward #graph #dump)
}

/// The function lowered to the intermediate form, and the facts about its values; `None`
/// after an error.
fn lowered(
    func: &syn::ItemFn,
    sig: &signature::Signature,
    errors: &mut Errors,
) -> Option<(FnIr, analysis::Values)> {
    let mut ir = lower::lower(func, sig, errors);
    loads::optimise(&mut ir);
    let active_params: Vec<bool> = sig.params.iter().map(|p| p.active).collect();
    let values = analysis::values(&ir, &active_params, errors);
    errors.is_empty().then_some((ir, values))
}

/// The intermediate form rewritten for speed (hoisting), with every fact the sweeps read.
fn rewritten(
    mut ir: FnIr,
    mut values: analysis::Values,
    sig: &signature::Signature,
) -> (FnIr, analysis::Facts, analysis::Strategy) {
    hoist::optimise(&mut ir, &values);
    values.catch_up(&ir);
    let (facts, strategy) = analysis::facts(&ir, values, sig);
    (ir, facts, strategy)
}

/// The items of the function's second-order twin (see `twin`): the twin transformed like any
/// generic function, or, if it cannot be, items that say why where they are used.
pub(crate) fn twin_items(
    func: &syn::ItemFn,
    sig: &signature::Signature,
    twin: Twin,
    options: &options::Options,
    runtime: &TokenStream,
) -> TokenStream {
    let (twin_func, message) = match twin {
        Twin::Itself => return emit::twin_items(func, sig, TwinItems::Itself, runtime),
        Twin::Unavailable(twin_func, message) => (twin_func, message),
        Twin::Rewritten(twin_func) => {
            let mut errors = Errors::default();
            let mut twin_sig = signature::analyse(&twin_func.sig, options, &mut errors);
            crate::linalg::promote_whole_values(&twin_func.block, &mut twin_sig);
            crate::linalg::promote_values_at(&crate::twin::number(), &mut twin_sig);
            if let Some((mut ir, values)) = lowered(&twin_func, &twin_sig, &mut errors) {
                ir.twin = true;
                let active_params: Vec<bool> = twin_sig.params.iter().map(|p| p.active).collect();
                let (ir, facts, strategy) = rewritten(ir, values, &twin_sig);
                let body = reverse::pullback_body(
                    &ir,
                    &facts,
                    &strategy,
                    &active_params,
                    runtime,
                    Form::Pullback,
                );
                let transformed = TwinItems::Transformed {
                    func: &twin_func,
                    sig: &twin_sig,
                    body,
                    items: &ir.items,
                };
                return emit::twin_items(func, sig, transformed, runtime);
            }
            let reason = errors.first().unwrap_or_default();
            let message = format!(
                "`{}` has no second derivatives: its twin over dual numbers could not be \
                 differentiated ({reason})",
                crate::naming::user_facing(&func.sig.ident)
            );
            (twin_func, message)
        }
    };
    let twin_sig = signature::analyse(&twin_func.sig, options, &mut Errors::default());
    let unavailable = TwinItems::Unavailable {
        func: &twin_func,
        sig: &twin_sig,
        message,
    };
    emit::twin_items(func, sig, unavailable, runtime)
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
