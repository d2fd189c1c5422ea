//! `NAME_jvp`, `NAME_hvp` and `NAME_hessian` of a function generic over its float type `T`:
//! the function and its pullback evaluated at the runtime's dual numbers `Dual<T>`.
//!
//! ```text
//! fn NAME_jvp(params.., tangent: G) -> (R, R)      // NAME::<Dual<T>>(params + tangent·ε)
//! fn NAME_hvp(params.., v: G) -> (R, G, G)         // NAME_pullback::<Dual<T>>(params + v·ε, 1)
//! fn NAME_hessian(params..) -> (R, G, H)           // one NAME_hvp per unit vector
//! ```
//! The pullback at dual numbers is forward mode over reverse mode: its adjoints' values are the
//! gradient, their tangents the Hessian-vector product, in one forward and one reverse sweep.
//! Each item requires of `Dual<T>` what the function requires of `T` (`Dual<T>: Float +
//! FromPrimitive`, ..), in its `where` clause: a bound the runtime's dual numbers do not meet
//! makes the call, not the definition, fail, naming it.

use super::Parts;
use crate::naming;
use crate::signature::{mentions, Output, Param, ParamKind};
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

impl Parts<'_> {
    /// The three items, for a generic function whose parameters the items can lift to dual
    /// numbers; nothing otherwise.
    pub(super) fn higher_order(&self) -> TokenStream {
        let (Some(t), Some(_)) = (&self.sig.floats.generic, &self.sig.output) else {
            return TokenStream::new();
        };
        if !self.sig.params.iter().all(|p| self.liftable(p, t)) {
            return TokenStream::new();
        }
        let jvp = self.jvp(t);
        let hvp = match self.sig.output {
            Some(Output::Scalar(_)) => {
                let hvp = self.hvp(t);
                let hessian = self.hessian(t);
                quote!(#hvp #hessian)
            }
            _ => TokenStream::new(),
        };
        quote!(#jvp #hvp)
    }

    /// Whether a parameter can be passed at dual numbers: one of the float type (a number, a
    /// slice or an array of `T`), or a constant whose type does not mention `T`.
    fn liftable(&self, p: &Param, t: &syn::Ident) -> bool {
        let floats = &self.sig.floats;
        match &p.kind {
            ParamKind::Scalar => floats.is_generic(&p.ty),
            ParamKind::Slice { elem } | ParamKind::Array { elem, .. } => floats.is_generic(elem),
            ParamKind::Tensor { .. } => false,
            ParamKind::Constant => !mentions(&p.ty, t),
        }
    }

    /// `::<Dual<T>, _, ..>`: the function's generic arguments with `T` at dual numbers.
    fn at_duals(&self, t: &syn::Ident) -> TokenStream {
        let rt = self.runtime;
        let args = self
            .func
            .sig
            .generics
            .params
            .iter()
            .filter_map(|g| match g {
                syn::GenericParam::Type(p) if p.ident == *t => Some(quote!(#rt::Dual<#t>)),
                syn::GenericParam::Type(_) | syn::GenericParam::Const(_) => Some(quote!(_)),
                syn::GenericParam::Lifetime(_) => None,
            });
        quote!(::<#(#args),*>)
    }

    /// The `where` clause of the items: the function's, and each bound of `T` asked of
    /// `Dual<T>` too.
    fn dual_where(&self, t: &syn::Ident) -> TokenStream {
        let rt = self.runtime;
        let own = self
            .func
            .sig
            .generics
            .where_clause
            .iter()
            .flat_map(|w| w.predicates.iter());
        // `?Sized` is no bound to ask of another type.
        let bounds = self.sig.floats.bounds.iter().filter(|b| {
            !matches!(b, syn::TypeParamBound::Trait(t) if matches!(t.modifier, syn::TraitBoundModifier::Maybe(_)))
        });
        quote!(where #(#own,)* #rt::Dual<#t>: #(#bounds)+*)
    }

    /// `let` statements lifting each parameter to dual numbers (with the tangent `tangents[i]`
    /// of each active one), and the arguments passing them on.
    fn lifted(&self, tangents: &[Option<syn::Ident>]) -> (TokenStream, Vec<TokenStream>) {
        let rt = self.runtime;
        let mut lets = TokenStream::new();
        let mut args = Vec::new();
        for (p, tangent) in self.sig.params.iter().zip(tangents) {
            let ident = &p.ident;
            let by_ref = matches!(p.ty, syn::Type::Reference(_));
            let lifted = naming::local(&format!("{}_dual", ident));
            match (&p.kind, tangent) {
                (ParamKind::Scalar, Some(t)) => args.push(quote!(#rt::Dual::new(#ident, #t))),
                (ParamKind::Scalar, None) => args.push(quote!(#rt::Dual::constant(#ident))),
                (ParamKind::Slice { .. }, t) => {
                    let value = match t {
                        Some(t) => quote!(#rt::dual::lift_slice(&#ident[..], &#t[..])),
                        None => quote!(#rt::dual::constant_slice(&#ident[..])),
                    };
                    lets.extend(quote!(let #lifted = #value;));
                    args.push(quote!(&#lifted));
                }
                (ParamKind::Array { .. }, t) => {
                    let x = if by_ref {
                        quote!(#ident)
                    } else {
                        quote!(&#ident)
                    };
                    let value = match t {
                        Some(t) => quote!(#rt::dual::lift_array(#x, &#t)),
                        None => quote!(#rt::dual::constant_array(#x)),
                    };
                    lets.extend(quote!(let #lifted = #value;));
                    args.push(if by_ref {
                        quote!(&#lifted)
                    } else {
                        quote!(#lifted)
                    });
                }
                (ParamKind::Tensor { .. } | ParamKind::Constant, _) => args.push(quote!(#ident)),
            }
        }
        (lets, args)
    }

    /// The tangent of each parameter, named, where `G` (one entry per active parameter) is
    /// taken apart from `from`.
    fn tangents(&self, from: &syn::Ident) -> (TokenStream, Vec<Option<syn::Ident>>) {
        let names: Vec<Option<syn::Ident>> = self
            .sig
            .params
            .iter()
            .map(|p| {
                p.active
                    .then(|| naming::local(&format!("{}_tangent", p.ident)))
            })
            .collect();
        let active: Vec<&syn::Ident> = names.iter().flatten().collect();
        let pattern = match active.as_slice() {
            [one] => quote!(#one),
            many => quote!((#(#many,)*)),
        };
        (quote!(let #pattern = #from;), names)
    }

    /// How a generated item calls a sibling or the function itself at dual numbers.
    fn call_at_duals(&self, ident: &syn::Ident, t: &syn::Ident) -> TokenStream {
        let call = self.call(ident);
        let generics = self.at_duals(t);
        quote!(#call #generics)
    }

    fn jvp(&self, t: &syn::Ident) -> TokenStream {
        let name = self.name();
        let tangent = naming::public_param("tangent", &self.param_idents());
        let (take_apart, names) = self.tangents(&tangent);
        let (lets, args) = self.lifted(&names);
        let call = self.call_at_duals(name, t);
        let rt = self.runtime;
        let doc = format!(
            " Value of {} and its Jacobian-vector product: returns `({}, J·tangent)`, the \
             derivative along `tangent` (one entry per active parameter, shaped like the \
             gradient), shaped like the result. Forward mode: the function evaluated at dual \
             numbers.\n\n Generated by `#[differentiate]`.",
            self.doc_link(),
            self.doc_value()
        );
        let ident = quote::format_ident!("{}_jvp", name);
        let ret = &self.sig.return_type;
        let gradient = self.gradient_type();
        let body = quote! {
            #take_apart
            #lets
            #rt::dual::parts(#call(#(#args),*))
        };
        self.item(
            &ident,
            &doc,
            quote!(#tangent: #gradient),
            quote!((#ret, #ret)),
            body,
            t,
        )
    }

    /// The pullback at dual numbers with tangents `names`, its result taken apart into
    /// `value`, and `(g_i, h_i)` for each active parameter.
    fn pullback_at_duals(
        &self,
        t: &syn::Ident,
        names: &[Option<syn::Ident>],
    ) -> (TokenStream, Vec<(syn::Ident, syn::Ident)>) {
        let rt = self.runtime;
        let (lets, args) = self.lifted(names);
        let pullback = crate::naming::pullback_fn(self.name(), self.name().span());
        let call = self.call_at_duals(&pullback, t);
        let entries: Vec<TokenStream> = self
            .sig
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if p.active {
                    naming::local(&format!("__entry{}", i)).into_token_stream()
                } else {
                    quote!(_)
                }
            })
            .collect();
        let mut code = quote! {
            #lets
            let (__value, (#(#entries,)*)) = #call(#(#args,)* #rt::Dual::constant(#t::one()));
        };
        let mut parts = Vec::new();
        for (i, p) in self.sig.params.iter().enumerate().filter(|(_, p)| p.active) {
            let entry = naming::local(&format!("__entry{}", i));
            let (g, h) = (
                naming::local(&format!("{}_grad", p.ident)),
                naming::local(&format!("{}_hvp", p.ident)),
            );
            code.extend(quote!(let (#g, #h) = #rt::dual::parts(#entry);));
            parts.push((g, h));
        }
        (code, parts)
    }

    fn hvp(&self, t: &syn::Ident) -> TokenStream {
        let name = self.name();
        let v = naming::public_param("v", &self.param_idents());
        let (take_apart, names) = self.tangents(&v);
        let (code, parts) = self.pullback_at_duals(t, &names);
        let grads = parts.iter().map(|(g, _)| g);
        let hvps = parts.iter().map(|(_, h)| h);
        let (grad, hvp) = if parts.len() == 1 {
            (quote!(#(#grads)*), quote!(#(#hvps)*))
        } else {
            (quote!((#(#grads,)*)), quote!((#(#hvps,)*)))
        };
        let doc = format!(
            " Value, gradient and Hessian-vector product of {}: returns `({}, ∇, H·v)`, `v` \
             shaped like the gradient. Forward over reverse: the pullback evaluated at dual \
             numbers, one forward and one reverse sweep.\n\n Generated by `#[differentiate]`.",
            self.doc_link(),
            self.doc_value()
        );
        let ident = quote::format_ident!("{}_hvp", name);
        let ret = &self.sig.return_type;
        let gradient = self.gradient_type();
        let body = quote! {
            #take_apart
            #code
            (__value.re, #grad, #hvp)
        };
        self.item(
            &ident,
            &doc,
            quote!(#v: #gradient),
            quote!((#ret, #gradient, #gradient)),
            body,
            t,
        )
    }

    fn hessian(&self, t: &syn::Ident) -> TokenStream {
        let name = self.name();
        let active: Vec<&Param> = self.sig.active_params().collect();
        let hvp = self.call(&quote::format_ident!("{}_hvp", name));
        let args = self.args();
        // The offset of each active parameter's numbers among all of them.
        let offsets: Vec<syn::Ident> = (0..=active.len())
            .map(|i| naming::local(&format!("__offset{}", i)))
            .collect();
        let mut sizes = TokenStream::new();
        for (i, p) in active.iter().enumerate() {
            let (here, next) = (&offsets[i], &offsets[i + 1]);
            let ident = &p.ident;
            let size = match &p.kind {
                ParamKind::Scalar => quote!(1),
                _ => quote!(#ident.len()),
            };
            sizes.extend(quote!(let #next = #here + #size;));
        }
        let first = &offsets[0];
        let total = &offsets[active.len()];
        let units: Vec<TokenStream> = active
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let at = &offsets[i];
                let ident = &p.ident;
                let unit =
                    |j: TokenStream| quote!(if __k == #at + #j { #t::one() } else { #t::zero() });
                match &p.kind {
                    ParamKind::Scalar => unit(quote!(0)),
                    ParamKind::Slice { .. } => {
                        let u = unit(quote!(__j));
                        quote!((0..#ident.len()).map(|__j| #u).collect::<::std::vec::Vec<#t>>())
                    }
                    _ => {
                        let u = unit(quote!(__j));
                        quote!(::core::array::from_fn(|__j| #u))
                    }
                }
            })
            .collect();
        let unit = match units.as_slice() {
            [one] => one.clone(),
            many => quote!((#(#many,)*)),
        };
        let hvps: Vec<syn::Ident> = (0..active.len())
            .map(|i| naming::local(&format!("__hvp{}", i)))
            .collect();
        let hvp_pattern = match hvps.as_slice() {
            [one] => quote!(#one),
            many => quote!((#(#many,)*)),
        };
        let flatten = active.iter().zip(&hvps).map(|(p, h)| match &p.kind {
            ParamKind::Scalar => quote!(__column.push(#h);),
            _ => quote!(__column.extend(#h.iter().copied());),
        });
        let (h_type, h_value) = match (active.as_slice(), &active[0].kind) {
            ([_], ParamKind::Scalar) => (quote!(#t), quote!(__h[0][0])),
            ([_], ParamKind::Array { len, .. }) => (
                quote!([[#t; #len]; #len]),
                quote!(::core::array::from_fn(|__i| ::core::array::from_fn(
                    |__j| __h[__i][__j]
                ))),
            ),
            _ => (quote!(::std::vec::Vec<::std::vec::Vec<#t>>), quote!(__h)),
        };
        let ret = &self.sig.return_type;
        let gradient = self.gradient_type();
        let body = quote! {
            let #first = 0usize;
            #sizes
            let mut __columns: ::std::vec::Vec<::std::vec::Vec<#t>> = ::std::vec::Vec::with_capacity(#total);
            let mut __value_and_gradient = ::core::option::Option::None;
            for __k in 0..#total {
                let (__value, __gradient, #hvp_pattern) = #hvp(#(#args,)* #unit);
                let mut __column = ::std::vec::Vec::with_capacity(#total);
                #(#flatten)*
                __columns.push(__column);
                __value_and_gradient = ::core::option::Option::Some((__value, __gradient));
            }
            let (__value, __gradient) = match __value_and_gradient {
                ::core::option::Option::Some(found) => found,
                // No numbers to differentiate (empty slices): the gradient alone.
                ::core::option::Option::None => {
                    let __k = usize::MAX;
                    let (__value, __gradient, _) = #hvp(#(#args,)* #unit);
                    (__value, __gradient)
                }
            };
            // Symmetric by construction: each pair of entries is the mean of the two
            // products that computed it.
            let __h: ::std::vec::Vec<::std::vec::Vec<#t>> = (0..#total)
                .map(|__i| {
                    (0..#total)
                        .map(|__j| (__columns[__j][__i] + __columns[__i][__j]) / (#t::one() + #t::one()))
                        .collect()
                })
                .collect();
            (__value, __gradient, #h_value)
        };
        let doc = format!(
            " Value, gradient and Hessian of {}: returns `({}, ∇, H)`, `H` symmetric, over \
             the active parameters' numbers in order (one `{}_hvp` per number).\n\n \
             Generated by `#[differentiate]`.",
            self.doc_link(),
            self.doc_value(),
            name
        );
        let ident = quote::format_ident!("{}_hessian", name);
        self.item(
            &ident,
            &doc,
            TokenStream::new(),
            quote!((#ret, #gradient, #h_type)),
            body,
            t,
        )
    }

    fn param_idents(&self) -> Vec<syn::Ident> {
        self.sig.params.iter().map(|p| p.ident.clone()).collect()
    }

    /// One generated item: the function's parameters, then `extra`.
    fn item(
        &self,
        ident: &syn::Ident,
        doc: &str,
        extra: TokenStream,
        ret: TokenStream,
        body: TokenStream,
        t: &syn::Ident,
    ) -> TokenStream {
        let vis = &self.func.vis;
        let generics = &self.func.sig.generics;
        let where_clause = self.dual_where(t);
        let attrs = self.shared_attrs();
        let receiver = self.receiver();
        let params = self.params();
        quote! {
            #(#attrs)*
            #[doc = #doc]
            #[allow(clippy::all, non_snake_case, unused)]
            #vis fn #ident #generics (#receiver #(#params,)* #extra) -> #ret #where_clause {
                #body
            }
        }
    }
}
