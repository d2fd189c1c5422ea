//! `Vec<T>` results: `fn residuals(..) -> Vec<f64>`, whose length is known only when it runs.
//!
//! The vector-Jacobian product `seedᵀ·J` is the gradient of the number `seed · r(x)`, so the
//! function is differentiated as its *seeded* form, a function of one more (constant)
//! parameter returning that number:
//!
//! ```text
//! fn __NAME_seeded(params.., __seed: &[T]) -> T {
//!     ..the body, up to the returned buffer `r`..
//!     let mut __dot = 0; for __k in 0..r.len() { __dot += r[__k] * __seed[__k]; } __dot
//! }
//! ```
//!
//! which the rest of the pipeline differentiates like any scalar function (a struct
//! parameter is flattened on the way). `NAME_vjp` calls its gradient once, `NAME_jacobian`
//! once per output with unit seeds (one row each), and `NAME_jvp` its forward derivative
//! once per output.

use crate::errors::Errors;
use crate::options::{Options, Wrt};
use crate::signature::Signature;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::visit::Visit;

/// The seeded function, the options it is expanded with, and the items with the user's
/// signatures that call its generated ones.
pub struct Seeded {
    pub seeded: syn::ItemFn,
    pub options: Options,
    pub wrappers: TokenStream,
}

pub fn seeded(
    func: &syn::ItemFn,
    sig: &Signature,
    elem: &syn::Type,
    options: &Options,
    runtime: &TokenStream,
    errors: &mut Errors,
) -> Option<Seeded> {
    if let Some(vjp) = &options.vjp {
        errors.spanned(vjp, "a supplied derivative (`vjp = ..`) of a function returning a `Vec` is not supported yet; return an array `[T; N]` or a tuple");
        return None;
    }
    let mut returns = Returns(None);
    returns.visit_block(&func.block);
    if let Some(ret) = returns.0 {
        errors.spanned(ret, "a function returning a `Vec` is differentiated when it ends with the returned buffer; an early `return` is not supported yet: assign to the buffer and end with it");
        return None;
    }
    let mut block = (*func.block).clone();
    let tail = match block.stmts.pop() {
        Some(syn::Stmt::Expr(expr, None)) => expr,
        other => {
            let at = other
                .as_ref()
                .map_or_else(|| func.sig.ident.span(), syn::spanned::Spanned::span);
            errors.at(at, "a function returning a `Vec` must end with the returned buffer (`r`, or `vec![..]`)");
            return None;
        }
    };
    let buffer: syn::Ident = match &tail {
        syn::Expr::Path(p) if p.path.get_ident().is_some() => p.path.get_ident()?.clone(),
        syn::Expr::Macro(m) if m.mac.path.is_ident("vec") => {
            block.stmts.push(syn::parse_quote!(let __result = #tail;));
            format_ident!("__result")
        }
        other => {
            errors.spanned(other, "a function returning a `Vec` is differentiated when it ends with a local buffer (`let mut r = vec![0.0; n]; .. r`) or a `vec![..]` literal; bind this value to a buffer first");
            return None;
        }
    };
    let zero = match &sig.floats.generic {
        Some(t) => quote!(<#t as ::differentiate::runtime::num_traits::Zero>::zero()),
        None => quote!(0.0),
    };
    block.stmts.push(syn::parse_quote!(let mut __dot = #zero;));
    block.stmts.push(syn::parse_quote! {
        for __k in 0..#buffer.len() {
            __dot += #buffer[__k] * __seed[__k];
        }
    });
    block
        .stmts
        .push(syn::Stmt::Expr(syn::parse_quote!(__dot), None));

    let inputs = vec![syn::parse_quote!(__seed: &[#elem])];
    let wrappers = wrappers(func, sig, elem, runtime);
    Some(seeded_form(
        func, sig, options, block, inputs, elem, wrappers,
    ))
}

/// `__NAME_seeded`: the original with body `block`, the constant parameters `inputs` appended
/// (the seed), returning a number of type `number`; expanded with the original's active
/// parameters as its `wrt(..)`.
pub fn seeded_form(
    func: &syn::ItemFn,
    sig: &Signature,
    options: &Options,
    block: syn::Block,
    inputs: Vec<syn::FnArg>,
    number: &syn::Type,
    wrappers: TokenStream,
) -> Seeded {
    let mut seeded = func.clone();
    seeded.sig.ident = crate::naming::hidden_fn(&func.sig.ident, "seeded");
    seeded.attrs.retain(|a| a.path().is_ident("cfg"));
    seeded.attrs.push(syn::parse_quote!(#[doc(hidden)]));
    seeded
        .attrs
        .push(syn::parse_quote!(#[allow(clippy::too_many_arguments)]));
    seeded.sig.inputs.extend(inputs);
    seeded.sig.output = syn::parse_quote!(-> #number);
    seeded.block = Box::new(block);
    let active: Vec<syn::Ident> = sig.active_params().map(|p| p.ident.clone()).collect();
    Seeded {
        seeded,
        options: Options {
            wrt: Some(Wrt {
                keyword: format_ident!("wrt"),
                names: active,
            }),
            vjp: None,
            dump: options.dump,
            checkpoints: options.checkpoints.clone(),
            in_impl: options.in_impl,
        },
        wrappers,
    }
}

/// The first `return` outside closures.
pub struct Returns<'a>(pub Option<&'a syn::ExprReturn>);

impl<'a> Visit<'a> for Returns<'a> {
    fn visit_expr_return(&mut self, r: &'a syn::ExprReturn) {
        self.0.get_or_insert(r);
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// What the items with the user's signature around a seeded form share (here and in
/// `struct_results`): the signature's parts, and the calls of the original and of the seeded
/// form's gradient and forward derivative.
pub struct Wrapping<'a> {
    pub vis: &'a syn::Visibility,
    pub generics: &'a syn::Generics,
    pub where_clause: Option<&'a syn::WhereClause>,
    pub receiver: TokenStream,
    pub params: Vec<TokenStream>,
    pub args: Vec<&'a syn::Ident>,
    pub gradient: TokenStream,
    pub attrs: Vec<&'a syn::Attribute>,
    pub original: TokenStream,
    pub seeded_grad: TokenStream,
    pub seeded_jvp: TokenStream,
    pub seed: syn::Ident,
    pub tangent: syn::Ident,
}

impl<'a> Wrapping<'a> {
    pub fn new(func: &'a syn::ItemFn, sig: &'a Signature) -> Wrapping<'a> {
        let name = &func.sig.ident;
        let seeded = |suffix: &str| {
            crate::naming::item_fn(&crate::naming::hidden_fn(name, "seeded"), suffix)
        };
        let generics = &func.sig.generics;
        let (_, turbofish, _) = generics.split_for_impl();
        let turbofish = turbofish.as_turbofish();
        let call = |ident: &syn::Ident| {
            let sibling = crate::emit::sibling(sig, ident);
            quote!(#sibling #turbofish)
        };
        let gradient_types: Vec<TokenStream> =
            sig.active_params().map(|p| p.gradient_type()).collect();
        let own: Vec<syn::Ident> = sig.params.iter().map(|p| p.ident.clone()).collect();
        Wrapping {
            vis: &func.vis,
            generics,
            where_clause: generics.where_clause.as_ref(),
            receiver: if sig.has_self {
                quote!(&self,)
            } else {
                quote!()
            },
            params: sig
                .params
                .iter()
                .map(|p| {
                    let (ident, ty) = (&p.ident, &p.ty);
                    quote!(#ident: #ty)
                })
                .collect(),
            args: sig.params.iter().map(|p| &p.ident).collect(),
            gradient: crate::structs::one_or_tuple(&gradient_types),
            attrs: crate::structs::cfg_attrs(func),
            original: call(name),
            seeded_grad: call(&seeded("grad")),
            seeded_jvp: call(&seeded("jvp")),
            seed: crate::naming::public_param("seed", &own),
            tangent: crate::naming::public_param("tangent", &own),
        }
    }
}

fn wrappers(
    func: &syn::ItemFn,
    sig: &Signature,
    elem: &syn::Type,
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
    let (vjp, jacobian, jvp) = (item("vjp"), item("jacobian"), item("jvp"));
    let vec = quote!(::std::vec::Vec);
    let zero = quote!(<#elem as #rt::num_traits::Zero>::zero());
    let one = quote!(<#elem as #rt::num_traits::One>::one());
    let doc_vjp = format!("The value of [`{name}`] and the vector-Jacobian product `seedᵀ·J`, the gradient of `seed · {name}(..)`; `seed` has one entry per output.");
    let doc_jacobian = format!("The value of [`{name}`] and its Jacobian, one row (a gradient) per output: one reverse sweep per output.");
    let doc_jvp = format!("The value of [`{name}`] and the Jacobian-vector product `J·tangent`, one entry per output (the tangent is cloned once per output).");
    let length_check = format!("`{name}_vjp`: the seed has one entry per output of `{name}`");
    quote! {
        #(#attrs)*
        #[doc = #doc_vjp]
        #[allow(clippy::too_many_arguments)]
        #vis fn #vjp #generics (#receiver #(#params,)* #seed: &[#elem]) -> (#vec<#elem>, #gradient) #where_clause {
            let __value = #original(#(#args),*);
            ::core::assert_eq!(#seed.len(), __value.len(), #length_check);
            let (_, __gradient) = #seeded_grad(#(#args,)* #seed);
            (__value, __gradient)
        }

        #(#attrs)*
        #[doc = #doc_jacobian]
        #[allow(clippy::too_many_arguments)]
        #vis fn #jacobian #generics (#receiver #(#params),*) -> (#vec<#elem>, #vec<#gradient>) #where_clause {
            let __value = #original(#(#args),*);
            let mut __unit = ::std::vec![#zero; __value.len()];
            let mut __rows = #vec::with_capacity(__value.len());
            for __k in 0..__value.len() {
                __unit[__k] = #one;
                __rows.push(#seeded_grad(#(#args,)* &__unit).1);
                __unit[__k] = #zero;
            }
            (__value, __rows)
        }

        #(#attrs)*
        #[doc = #doc_jvp]
        #[allow(clippy::too_many_arguments)]
        #vis fn #jvp #generics (#receiver #(#params,)* #tangent: #gradient) -> (#vec<#elem>, #vec<#elem>) #where_clause {
            let __value = #original(#(#args),*);
            let mut __unit = ::std::vec![#zero; __value.len()];
            let mut __products = #vec::with_capacity(__value.len());
            for __k in 0..__value.len() {
                __unit[__k] = #one;
                __products.push(#seeded_jvp(#(#args,)* &__unit, ::core::clone::Clone::clone(&#tangent)).1);
                __unit[__k] = #zero;
            }
            (__value, __products)
        }
    }
}
