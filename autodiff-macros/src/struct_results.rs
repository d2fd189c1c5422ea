//! Struct results: `fn forward(p: &Params, x: f64) -> Outputs { .. Outputs { a: .., b: .. } }`,
//! whose body ends with a literal of the returned struct, every field a number.
//!
//! As for `Vec` results (see `seeded`), `seedᵀ·J` is the gradient of the number
//! `seed · result`, so the function is differentiated as its *seeded* form, a function of one
//! more (constant) parameter, the seed, a value of the result's type:
//!
//! ```text
//! fn __NAME_seeded(params.., __seed_a: T, __seed_b: T) -> T {
//!     ..the body, up to the literal..
//!     let __a = ..; let __b = ..;          // the literal's fields, in its order
//!     __a * __seed_a + __b * __seed_b
//! }
//! ```
//!
//! (the seed passed field by field, numbers its second-order twin can follow).
//!
//! `NAME_vjp(params.., seed: Outputs)` calls its gradient once; `NAME_jvp` its forward
//! derivative once per field, with a unit seed built from the literal's field list.

use crate::errors::Errors;
use crate::options::Options;
use crate::seeded::{seeded_form, Returns, Seeded, Wrapping};
use crate::signature::Signature;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::visit::Visit;

pub fn seeded(
    func: &syn::ItemFn,
    sig: &Signature,
    ty: &syn::Type,
    options: &Options,
    runtime: &TokenStream,
    errors: &mut Errors,
) -> Option<Seeded> {
    if let Some(vjp) = &options.vjp {
        errors.spanned(vjp, "a supplied derivative (`vjp = ..`) of a function returning a struct is not supported yet; return a tuple or an array");
        return None;
    }
    let mut returns = Returns(None);
    returns.visit_block(&func.block);
    if let Some(ret) = returns.0 {
        errors.spanned(ret, "a function returning a struct is differentiated when it ends with a literal of the struct; an early `return` is not supported yet");
        return None;
    }
    let mut block = (*func.block).clone();
    let literal = match block.stmts.pop() {
        Some(syn::Stmt::Expr(syn::Expr::Struct(literal), None)) => literal,
        other => {
            let at = other
                .as_ref()
                .map_or_else(|| func.sig.ident.span(), syn::spanned::Spanned::span);
            errors.at(at, "a function returning a struct is differentiated when it ends with a literal of the struct, every field a number (`Outputs { a: .., b: .. }`); build the result there");
            return None;
        }
    };
    if let Some(rest) = &literal.rest {
        errors.spanned(rest, "a returned struct literal must list every field (no `..base`), each a number: the seed is built from that list");
        return None;
    }
    let mut fields = Vec::new();
    for field in &literal.fields {
        let syn::Member::Named(name) = &field.member else {
            errors.spanned(
                &field.member,
                "a returned struct literal names its fields (`a: ..`)",
            );
            return None;
        };
        fields.push(name.clone());
    }
    if fields.is_empty() {
        errors.spanned(
            &literal,
            "a returned struct with no fields has nothing to differentiate",
        );
        return None;
    }
    let number = number_type(sig);
    let mut terms = Vec::new();
    for (field, value) in fields.iter().zip(literal.fields.iter().map(|f| &f.expr)) {
        let (local, weight) = (format_ident!("__{}", field), seed_param(field));
        block
            .stmts
            .push(syn::parse_quote!(let #local: #number = #value;));
        terms.push(quote!(#local * #weight));
    }
    block
        .stmts
        .push(syn::Stmt::Expr(syn::parse_quote!(#(#terms)+*), None));

    let inputs = fields
        .iter()
        .map(|field| {
            let weight = seed_param(field);
            syn::parse_quote!(#weight: #number)
        })
        .collect();
    let wrappers = wrappers(func, sig, ty, &literal.path, &fields, &number, runtime);
    Some(seeded_form(
        func, sig, options, block, inputs, &number, wrappers,
    ))
}

/// The seeded function's parameter weighting field `field`.
fn seed_param(field: &syn::Ident) -> syn::Ident {
    format_ident!("__seed_{}", field)
}

/// The float type of the fields: the function's type parameter, else the first float
/// parameter's type, else `f64`.
fn number_type(sig: &Signature) -> syn::Type {
    if let Some(t) = &sig.floats.generic {
        return syn::parse_quote!(#t);
    }
    sig.params
        .iter()
        .find(|p| sig.floats.is_float(&p.ty))
        .map_or_else(|| syn::parse_quote!(f64), |p| p.ty.clone())
}

fn wrappers(
    func: &syn::ItemFn,
    sig: &Signature,
    ty: &syn::Type,
    literal: &syn::Path,
    fields: &[syn::Ident],
    number: &syn::Type,
    rt: &TokenStream,
) -> TokenStream {
    let name = &func.sig.ident;
    let item = |suffix: &str| crate::naming::item_fn(name, suffix);
    let Wrapping {
        vis,
        generics,
        where_clause,
        receiver,
        params,
        args,
        gradient,
        attrs,
        original,
        seeded_grad,
        seeded_jvp,
        seed,
        tangent,
    } = Wrapping::new(func, sig);
    let (vjp, jvp) = (item("vjp"), item("jvp"));
    let zero = quote!(<#number as #rt::num_traits::Zero>::zero());
    let one = quote!(<#number as #rt::num_traits::One>::one());
    // One unit seed per field: that field 1, the others 0.
    let products = fields.iter().map(|field| {
        let unit = fields.iter().map(|f| if f == field { &one } else { &zero });
        quote! {
            #field: #seeded_jvp(#(#args,)* #(#unit,)* ::core::clone::Clone::clone(&#tangent)).1
        }
    });
    let doc_vjp = format!("The value of [`{name}`] and the vector-Jacobian product `seedᵀ·J`, the gradient of the sum over the fields of `seed.f · {name}(..).f`.");
    let doc_jvp = format!("The value of [`{name}`] and the Jacobian-vector product `J·tangent`, a value of the result's type (one forward derivative per field; the tangent is cloned once per field).");
    quote! {
        #(#attrs)*
        #[doc = #doc_vjp]
        #[allow(clippy::too_many_arguments)]
        #vis fn #vjp #generics (#receiver #(#params,)* #seed: #ty) -> (#ty, #gradient) #where_clause {
            let __value = #original(#(#args),*);
            let (_, __gradient) = #seeded_grad(#(#args,)* #(#seed.#fields,)*);
            (__value, __gradient)
        }

        #(#attrs)*
        #[doc = #doc_jvp]
        #[allow(clippy::too_many_arguments)]
        #vis fn #jvp #generics (#receiver #(#params,)* #tangent: #gradient) -> (#ty, #ty) #where_clause {
            let __value = #original(#(#args),*);
            let __product = #literal { #(#products),* };
            (__value, __product)
        }
    }
}
