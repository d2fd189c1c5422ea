//! `NAME_jvp`, `NAME_hvp`, `NAME_hessian` and `NAME_derivatives`: the function and its
//! pullback evaluated at the runtime's dual numbers `Dual<T>` and Taylor series
//! `Taylor<T, K>`. A function generic over its float type `T` is evaluated as it is; an `f64`
//! function through its twin over a number type (see `twin`), `__NAME_twin`.
//!
//! ```text
//! fn NAME_jvp(params.., tangent: G) -> (R, R)      // NAME::<Dual<T>>(params + tangent·ε)
//! fn NAME_hvp(params.., v: G) -> (R, G, G)         // NAME_pullback::<Dual<T>>(params + v·ε, 1)
//! fn NAME_hessian(params..) -> (R, G, H)           // one NAME_hvp per unit vector
//! fn NAME_derivatives::<K>(x) -> [R; K]            // NAME::<Taylor<T, K>>(x + h)
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
use quote::{format_ident, quote, ToTokens};

/// What the items evaluate at other numbers.
enum Eval {
    /// The function itself, generic over its float type `T`.
    Generic(syn::Ident),
    /// The twin `__NAME_twin` of a function of the float type `f64` or `f32`.
    Twin(syn::Ident),
}

impl Eval {
    /// The float type: `T`, `f64` or `f32`.
    fn float(&self) -> &syn::Ident {
        match self {
            Eval::Generic(t) | Eval::Twin(t) => t,
        }
    }
}

/// One generated item: the function's parameters then `extra_param`, its generics then
/// `extra_generic` (`const K: usize`).
struct Item {
    ident: syn::Ident,
    doc: String,
    extra_generic: Option<syn::GenericParam>,
    extra_param: TokenStream,
    ret: TokenStream,
    body: TokenStream,
}

impl Parts<'_> {
    /// The items, for a function whose parameters they can lift to dual numbers; nothing
    /// otherwise (tensors).
    pub(super) fn higher_order(&self) -> TokenStream {
        if self.sig.output.is_none() {
            return TokenStream::new();
        }
        let eval = match &self.sig.floats.generic {
            Some(t) => Eval::Generic(t.clone()),
            None => Eval::Twin(self.float_type()),
        };
        // Tensors, and a supplied derivative of a function of an active struct (whose numbers
        // would have to be lifted field by field), do not run at dual numbers: `NAME_jvp` by
        // reverse sweeps, and no second-order items.
        let at_duals = self
            .sig
            .params
            .iter()
            .all(|p| self.liftable(p, eval.float()))
            && !matches!(&self.sig.output, Some(Output::Tensor(ty)) if !crate::linalg::is_type(ty))
            && !(self.sig.params.iter())
                .any(|p| p.active && matches!(p.kind, ParamKind::Struct { .. }));
        if !at_duals {
            return self.jvp_by_reverse();
        }
        let jvp = self.jvp(&eval);
        let hvp = match self.sig.output {
            Some(Output::Scalar(_)) => {
                let hvp = self.hvp(&eval);
                let hessian = self.hessian(&eval);
                let derivatives = self.derivatives(&eval);
                quote!(#hvp #hessian #derivatives)
            }
            _ => TokenStream::new(),
        };
        quote!(#jvp #hvp)
    }

    /// `f64` or `f32`, the float type of a function that is not generic.
    fn float_type(&self) -> syn::Ident {
        let mut types = self.sig.params.iter().filter_map(|p| match &p.kind {
            ParamKind::Scalar => Some(&p.ty),
            ParamKind::Slice { elem } | ParamKind::Array { elem, .. } => Some(elem),
            _ => None,
        });
        let from_output = match &self.sig.output {
            Some(Output::Scalar(t)) | Some(Output::Array(t, _)) => Some(t),
            Some(Output::Tuple(types)) => types.first(),
            _ => None,
        };
        from_output
            .or_else(|| types.next())
            .and_then(|t| match t {
                syn::Type::Path(p) => p.path.get_ident().cloned(),
                _ => None,
            })
            .unwrap_or_else(|| format_ident!("f64"))
    }

    /// Whether a parameter can be passed at dual numbers: one of the float type (a number, a
    /// slice or an array of `T`), or a constant whose type does not mention `T`.
    fn liftable(&self, p: &Param, t: &syn::Ident) -> bool {
        let is_t = |ty: &syn::Type| matches!(ty, syn::Type::Path(p) if p.path.is_ident(t));
        match &p.kind {
            ParamKind::Scalar => is_t(&p.ty),
            ParamKind::Slice { elem } | ParamKind::Array { elem, .. } => is_t(elem),
            ParamKind::Value { ty } => crate::linalg::is_type(ty),
            // A twin keeps another crate's types at the float type (`twin::foreign_generic`).
            ParamKind::Constant | ParamKind::Struct { .. } => {
                !mentions(&p.ty, t)
                    || (self.sig.floats.generic.is_none() && crate::twin::foreign_generic(&p.ty))
            }
        }
    }

    /// `::<Dual<T>, _, ..>`: the generic arguments of the function (or of its twin, whose
    /// number type comes last) with the float type at `number`.
    fn at(&self, eval: &Eval, number: &TokenStream) -> TokenStream {
        let own = self
            .func
            .sig
            .generics
            .params
            .iter()
            .filter_map(|g| match g {
                syn::GenericParam::Type(p) if matches!(eval, Eval::Generic(t) if p.ident == *t) => {
                    Some(number.clone())
                }
                syn::GenericParam::Type(_) | syn::GenericParam::Const(_) => Some(quote!(_)),
                syn::GenericParam::Lifetime(_) => None,
            });
        let twin = match eval {
            Eval::Twin(_) => Some(number.clone()),
            Eval::Generic(_) => None,
        };
        let args = own.chain(twin);
        quote!(::<#(#args),*>)
    }

    /// How an item calls the function (`pullback`: its pullback) at `number`.
    fn call_at(&self, eval: &Eval, pullback: bool, number: &TokenStream) -> TokenStream {
        let target = match eval {
            Eval::Generic(_) => self.name().clone(),
            Eval::Twin(_) => naming::twin_fn(self.name()),
        };
        let target = if pullback {
            naming::pullback_fn(&target, target.span())
        } else {
            target
        };
        let call = self.call(&target);
        let generics = self.at(eval, number);
        quote!(#call #generics)
    }

    /// `Dual<T>`.
    fn dual(&self, eval: &Eval) -> TokenStream {
        let (rt, t) = (self.runtime, eval.float());
        quote!(#rt::Dual<#t>)
    }

    /// The `where` clause of the items: the function's, and for a generic one each bound of
    /// `T` asked of `number` (`Dual<T>`, `Taylor<T, K>`) too.
    fn number_where(&self, eval: &Eval, number: &TokenStream) -> TokenStream {
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
        match eval {
            Eval::Generic(_) => quote!(where #(#own,)* #number: #(#bounds)+*),
            // What the twin asks of its numbers beyond what every number type is: a twin over
            // nalgebra values asks for a `RealField` (see `twin::over_linalg`), which Taylor
            // series are not, so `NAME_derivatives` fails where it is used, not here.
            Eval::Twin(_) if crate::twin::takes_linalg_values(self.sig) => {
                let rt = self.runtime;
                quote!(where #(#own,)* #number: #rt::nalgebra::RealField)
            }
            Eval::Twin(_) => quote!(where #(#own,)*),
        }
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
                    lets.extend([quote!(let #lifted = #value;)]);
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
                    lets.extend([quote!(let #lifted = #value;)]);
                    args.push(if by_ref {
                        quote!(&#lifted)
                    } else {
                        quote!(#lifted)
                    });
                }
                (ParamKind::Value { ty }, t) if crate::linalg::is_type(ty) => {
                    let x = if by_ref {
                        quote!(#ident)
                    } else {
                        quote!(&#ident)
                    };
                    let value = match t {
                        Some(t) => quote!(#rt::dual_linalg::lift_value(#x, &#t)),
                        None => quote!(#rt::dual_linalg::constant_value(#x)),
                    };
                    lets.extend([quote!(let #lifted = #value;)]);
                    args.push(if by_ref {
                        quote!(&#lifted)
                    } else {
                        quote!(#lifted)
                    });
                }
                (ParamKind::Value { .. } | ParamKind::Constant | ParamKind::Struct { .. }, _) => {
                    args.push(quote!(#ident))
                }
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

    fn jvp(&self, eval: &Eval) -> TokenStream {
        let name = self.name();
        let tangent = naming::public_param("tangent", &self.param_idents());
        let (take_apart, names) = self.tangents(&tangent);
        let (lets, args) = self.lifted(&names);
        let dual = self.dual(eval);
        let call = self.call_at(eval, true, &dual);
        let rt = self.runtime;
        let doc = format!(
            " Value of {} and its Jacobian-vector product: returns `({}, J·tangent)`, the \
             derivative along `tangent` (one entry per active parameter, shaped like the \
             gradient), shaped like the result. Forward mode: the function's forward sweep \
             evaluated at dual numbers.\n\n Generated by `#[differentiate]`.",
            self.doc_link(),
            self.doc_value()
        );
        let ident = quote::format_ident!("{}_jvp", name);
        let ret = &self.sig.return_type;
        let gradient = self.gradient_type();
        // The pullback with a zero seed computes only what its forward sweep computes; unlike
        // the function as written, it treats `detach(x)` and conversions of differentiated
        // values as the gradient does.
        let body = quote! {
            #take_apart
            #lets
            #rt::dual::parts(#call(#(#args,)* #rt::zeros()).0)
        };
        let item = Item {
            ident,
            doc,
            extra_generic: None,
            extra_param: quote!(#tangent: #gradient),
            ret: quote!((#ret, #ret)),
            body,
        };
        self.item(item, eval, &dual)
    }

    /// `NAME_jvp` of a function that does not run at dual numbers (tensors): `J·t` by reverse
    /// sweeps, each output's row of the Jacobian (`NAME_vjp` at a unit seed) times the
    /// tangent; one sweep for a number result, one per number of a tensor result. Nothing
    /// for other results.
    pub(super) fn jvp_by_reverse(&self) -> TokenStream {
        let scalar = matches!(self.sig.output, Some(Output::Scalar(_)));
        let tensor =
            matches!(&self.sig.output, Some(Output::Tensor(ty)) if !crate::linalg::is_type(ty));
        // Over a type parameter `T`, `T: Differentiable<T>` is not known where the item is
        // written (it holds at `f64` and `f32`).
        if (!scalar && !tensor) || self.sig.floats.generic.is_some() {
            return TokenStream::new();
        }
        let (rt, name) = (self.runtime, self.name());
        let float = self.float_type();
        // Every number active entry of the one float type (not `f32` beside `f64`).
        let is_float = |ty: &syn::Type| matches!(ty, syn::Type::Path(p) if p.path.is_ident(&float));
        let one_float = self.sig.active_params().all(|p| match &p.kind {
            ParamKind::Scalar => is_float(&p.ty),
            ParamKind::Slice { elem } | ParamKind::Array { elem, .. } => is_float(elem),
            _ => true,
        });
        if !one_float {
            return TokenStream::new();
        }
        let (one, zero) = (self.numbers().one(), self.numbers().zero());
        let tangent = naming::public_param("tangent", &self.param_idents());
        let vjp = self.call(&naming::vjp_fn(name));
        let function = self.call(name);
        // Each sweep takes the parameters again: one passed by value is cloned.
        let args: Vec<TokenStream> = (self.sig.params.iter())
            .map(|p| {
                let ident = &p.ident;
                match p.ty {
                    syn::Type::Reference(_) => quote!(#ident),
                    _ => quote!(::core::clone::Clone::clone(&#ident)),
                }
            })
            .collect();
        let active = self.sig.active_params().count();
        let inner = |g: TokenStream, t: TokenStream| quote!(#rt::differentiable::inner::<#float, _>(&#g, &#t));
        let along = match active {
            1 => inner(quote!(__row), quote!(#tangent)),
            n => {
                let terms = (0..n).map(|i| {
                    let i = syn::Index::from(i);
                    inner(quote!(__row.#i), quote!(#tangent.#i))
                });
                quote!(#(#terms)+*)
            }
        };
        let body = if scalar {
            quote! {
                let (__value, __row) = #vjp(#(#args,)* #one);
                (__value, #along)
            }
        } else {
            quote! {
                let __value = #function(#(#args),*);
                let __count = #rt::Differentiable::<#float>::count_numbers(&__value);
                let mut __unit = ::std::vec![#zero; __count];
                let mut __along = ::std::vec::Vec::with_capacity(__count);
                for __k in 0..__count {
                    __unit[__k] = #one;
                    let __seed = #rt::differentiable::with_numbers(&__value, &__unit);
                    __unit[__k] = #zero;
                    let (_, __row) = #vjp(#(#args,)* __seed);
                    __along.push(#along);
                }
                let __tangent = #rt::differentiable::with_numbers(&__value, &__along);
                (__value, __tangent)
            }
        };
        let doc = format!(
            " Value of {} and its Jacobian-vector product: returns `({}, J·tangent)`, the \
             derivative along `tangent` (one entry per active parameter, shaped like the \
             gradient), shaped like the result. By reverse sweeps (the function does not run \
             at dual numbers): each output's row of the Jacobian, `{}_vjp` at a unit seed, \
             times the tangent.\n\n Generated by `#[differentiate]`.",
            self.doc_link(),
            self.doc_value(),
            name
        );
        let (ret, gradient) = (&self.sig.return_type, self.gradient_type());
        let item = Item {
            ident: format_ident!("{}_jvp", name),
            doc,
            extra_generic: None,
            extra_param: quote!(#tangent: #gradient),
            ret: quote!((#ret, #ret)),
            body,
        };
        // Not generic, and at no other number type: the function's own `where` clause.
        self.item(item, &Eval::Twin(float.clone()), &quote!(#float))
    }

    /// The pullback at dual numbers with tangents `names`, its result taken apart into
    /// `value`, and `(g_i, h_i)` for each active parameter.
    fn pullback_at_duals(
        &self,
        eval: &Eval,
        names: &[Option<syn::Ident>],
    ) -> (TokenStream, Vec<(syn::Ident, syn::Ident)>) {
        let rt = self.runtime;
        let one = self.numbers().one();
        let (lets, args) = self.lifted(names);
        let call = self.call_at(eval, true, &self.dual(eval));
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
            let (__value, (#(#entries,)*)) = #call(#(#args,)* #rt::Dual::constant(#one));
        };
        let mut parts = Vec::new();
        for (i, p) in self.sig.params.iter().enumerate().filter(|(_, p)| p.active) {
            let entry = naming::local(&format!("__entry{}", i));
            let (g, h) = (
                naming::local(&format!("{}_grad", p.ident)),
                naming::local(&format!("{}_hvp", p.ident)),
            );
            code.extend([quote!(let (#g, #h) = #rt::dual::parts(#entry);)]);
            parts.push((g, h));
        }
        (code, parts)
    }

    fn hvp(&self, eval: &Eval) -> TokenStream {
        let name = self.name();
        let v = naming::public_param("v", &self.param_idents());
        let (take_apart, names) = self.tangents(&v);
        if let Some(body) = self.forward_hvp(eval, &names) {
            let doc = format!(
                " Value, gradient and Hessian-vector product of {}: returns `({}, ∇, H·v)`. \
                 Forward over forward: the function evaluated once at dual numbers of dual \
                 numbers (a function of one number needs no reverse sweep).\n\n Generated by \
                 `#[differentiate]`.",
                self.doc_link(),
                self.doc_value()
            );
            let (ret, gradient) = (&self.sig.return_type, self.gradient_type());
            let item = Item {
                ident: quote::format_ident!("{}_hvp", name),
                doc,
                extra_generic: None,
                extra_param: quote!(#v: #gradient),
                ret: quote!((#ret, #gradient, #gradient)),
                body: quote!(#take_apart #body),
            };
            return self.item(item, eval, &self.dual(eval));
        }
        let (code, parts) = self.pullback_at_duals(eval, &names);
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
        let item = Item {
            ident,
            doc,
            extra_generic: None,
            extra_param: quote!(#v: #gradient),
            ret: quote!((#ret, #gradient, #gradient)),
            body,
        };
        self.item(item, eval, &self.dual(eval))
    }

    /// `__NAME_twin_forward` (see `twin::forward`) at `number`, with each parameter lifted by
    /// `lift(ident, active)`; `None` without it.
    fn call_forward(
        &self,
        eval: &Eval,
        number: &TokenStream,
        lift: impl Fn(&syn::Ident, bool) -> TokenStream,
    ) -> Option<TokenStream> {
        if !self.forward_twin || !matches!(eval, Eval::Twin(_)) {
            return None;
        }
        let forward = quote::format_ident!("{}_forward", naming::twin_fn(self.name()));
        let call = self.call(&forward);
        let generics = self.at(eval, number);
        let args = self.sig.params.iter().map(|p| match p.kind {
            ParamKind::Scalar => lift(&p.ident, p.active),
            _ => p.ident.to_token_stream(),
        });
        Some(quote!(#call #generics(#(#args),*)))
    }

    /// `NAME_hvp` of a function of one number with a forward twin: `x + ε₁ + v·ε₂` at dual
    /// numbers of dual numbers gives `f`, `f′` and `f″·v` in one forward sweep.
    fn forward_hvp(&self, eval: &Eval, names: &[Option<syn::Ident>]) -> Option<TokenStream> {
        let (rt, t) = (self.runtime, eval.float());
        let (one, zero) = (self.numbers().one(), self.numbers().zero());
        let v = names.iter().flatten().next()?;
        let number = quote!(#rt::Dual<#rt::Dual<#t>>);
        let call = self.call_forward(eval, &number, |ident, active| {
            if active {
                quote!(#rt::Dual::new(#rt::Dual::new(#ident, #one), #rt::Dual::new(#v, #zero)))
            } else {
                quote!(#rt::Dual::constant(#rt::Dual::constant(#ident)))
            }
        })?;
        Some(quote! {
            let __y = #call;
            (__y.re.re, __y.re.eps, __y.eps.eps)
        })
    }

    fn hessian(&self, eval: &Eval) -> TokenStream {
        let t = eval.float();
        let (one, zero) = (self.numbers().one(), self.numbers().zero());
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
            sizes.extend([quote!(let #next = #here + #size;)]);
        }
        let first = &offsets[0];
        let total = &offsets[active.len()];
        let units: Vec<TokenStream> = active
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let at = &offsets[i];
                let ident = &p.ident;
                let unit = |j: TokenStream| quote!(if __k == #at + #j { #one } else { #zero });
                match &p.kind {
                    ParamKind::Scalar => unit(quote!(0)),
                    ParamKind::Slice { .. } => {
                        let u = unit(quote!(__j));
                        quote!((0..#ident.len()).map(|__j| #u).collect::<::std::vec::Vec<#t>>())
                    }
                    // Shaped like the nalgebra parameter; all zeros where `__k` is not its.
                    ParamKind::Value { .. } => {
                        let rt = self.runtime;
                        let x = match p.ty {
                            syn::Type::Reference(_) => quote!(#ident),
                            _ => quote!(&#ident),
                        };
                        quote!(#rt::dual_linalg::unit_like(#x, __k.wrapping_sub(#at)))
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
            ParamKind::Scalar => quote!(__row.push(#h);),
            _ => quote!(__row.extend(#h.iter().copied());),
        });
        // Row `k` is `H·e_k`; where the products disagree in the last bits, each pair of
        // entries becomes the mean of the two, so the result is symmetric by construction.
        let symmetrise = quote! {
            for __i in 0..#total {
                for __j in (__i + 1)..#total {
                    let __mean = (__h[__i][__j] + __h[__j][__i]) / (#one + #one);
                    __h[__i][__j] = __mean;
                    __h[__j][__i] = __mean;
                }
            }
        };
        // The value and gradient come with every product; with no numbers to differentiate
        // (empty slices), one product along nothing gives them.
        let value_and_gradient = quote! {
            let (__value, __gradient) = match __value_and_gradient {
                ::core::option::Option::Some(found) => found,
                ::core::option::Option::None => {
                    let __k = usize::MAX;
                    let (__value, __gradient, _) = #hvp(#(#args,)* #unit);
                    (__value, __gradient)
                }
            };
        };
        let (h_type, body) = match (active.as_slice(), &active[0].kind) {
            // One number: its one product is the Hessian.
            ([_], ParamKind::Scalar) => (
                quote!(#t),
                quote! {
                    let (#first, __k) = (0usize, 0usize);
                    #hvp(#(#args,)* #unit)
                },
            ),
            // One array: the rows in place, on the stack.
            ([_], ParamKind::Array { len, .. }) => (
                quote!([[#t; #len]; #len]),
                quote! {
                    let #first = 0usize;
                    #sizes
                    let mut __h = [[#zero; #len]; #len];
                    let mut __value_and_gradient = ::core::option::Option::None;
                    for __k in 0..#total {
                        let (__value, __gradient, __row) = #hvp(#(#args,)* #unit);
                        __h[__k] = __row;
                        __value_and_gradient = ::core::option::Option::Some((__value, __gradient));
                    }
                    #value_and_gradient
                    #symmetrise
                    (__value, __gradient, __h)
                },
            ),
            _ => (
                quote!(::std::vec::Vec<::std::vec::Vec<#t>>),
                quote! {
                    let #first = 0usize;
                    #sizes
                    let mut __h: ::std::vec::Vec<::std::vec::Vec<#t>> = ::std::vec::Vec::with_capacity(#total);
                    let mut __value_and_gradient = ::core::option::Option::None;
                    for __k in 0..#total {
                        let (__value, __gradient, #hvp_pattern) = #hvp(#(#args,)* #unit);
                        let mut __row = ::std::vec::Vec::with_capacity(#total);
                        #(#flatten)*
                        __h.push(__row);
                        __value_and_gradient = ::core::option::Option::Some((__value, __gradient));
                    }
                    #value_and_gradient
                    #symmetrise
                    (__value, __gradient, __h)
                },
            ),
        };
        let ret = &self.sig.return_type;
        let gradient = self.gradient_type();
        let doc = format!(
            " Value, gradient and Hessian of {}: returns `({}, ∇, H)`, `H` symmetric, over \
             the active parameters' numbers in order (one `{}_hvp` per number).\n\n \
             Generated by `#[differentiate]`.",
            self.doc_link(),
            self.doc_value(),
            name
        );
        let ident = quote::format_ident!("{}_hessian", name);
        let item = Item {
            ident,
            doc,
            extra_generic: None,
            extra_param: TokenStream::new(),
            ret: quote!((#ret, #gradient, #h_type)),
            body,
        };
        self.item(item, eval, &self.dual(eval))
    }

    fn param_idents(&self) -> Vec<syn::Ident> {
        self.sig.params.iter().map(|p| p.ident.clone()).collect()
    }

    /// One generated item, evaluating the function at `number`.
    fn item(&self, item: Item, eval: &Eval, number: &TokenStream) -> TokenStream {
        let Item {
            ident,
            doc,
            extra_generic,
            extra_param,
            ret,
            body,
        } = item;
        let vis = &self.func.vis;
        let mut generics = self.func.sig.generics.clone();
        generics.params.extend(extra_generic);
        let (generics, where_clause) = (&generics, self.number_where(eval, number));
        let attrs = self.shared_attrs();
        let receiver = self.receiver();
        let params = self.params();
        // Not generic, an `f64` function's item would be compiled whether used or not; inline,
        // it is compiled where it is used, so that a twin that is unavailable fails only there
        // (see `twin::unavailable_body`).
        let inline = match eval {
            Eval::Twin(_) => quote!(#[inline]),
            Eval::Generic(_) => TokenStream::new(),
        };
        let mention = super::mention_original(self.func, self.sig);
        quote! {
            #(#attrs)*
            #[doc = #doc]
            #inline
            #[allow(clippy::all, non_snake_case, unused)]
            #vis fn #ident #generics (#receiver #(#params,)* #extra_param) -> #ret #where_clause {
                #mention
                #body
            }
        }
    }

    /// `NAME_derivatives::<K>(params) -> [R; K]`, for a function of one active number: the
    /// function at the Taylor series `x + h`, its coefficients times `k!`.
    fn derivatives(&self, eval: &Eval) -> TokenStream {
        let active: Vec<&Param> = self.sig.active_params().collect();
        let [x] = active.as_slice() else {
            return TokenStream::new();
        };
        if !matches!(x.kind, ParamKind::Scalar) {
            return TokenStream::new();
        }
        let (rt, t) = (self.runtime, eval.float());
        let taken: Vec<String> = super::own_generic_args(&self.func.sig.generics)
            .iter()
            .map(ToString::to_string)
            .collect();
        let k = if taken.iter().any(|n| n == "K") {
            format_ident!("__K")
        } else {
            format_ident!("K")
        };
        let taylor = quote!(#rt::Taylor<#t, #k>);
        let args = self.sig.params.iter().map(|p| {
            let ident = &p.ident;
            let by_ref = matches!(p.ty, syn::Type::Reference(_));
            match &p.kind {
                ParamKind::Scalar if p.active => quote!(#rt::Taylor::variable(#ident)),
                ParamKind::Scalar => quote!(#rt::Taylor::constant(#ident)),
                ParamKind::Slice { .. } => {
                    quote!(&#rt::taylor::constant_slice::<#t, #k>(&#ident[..]))
                }
                ParamKind::Array { .. } if by_ref => {
                    quote!(&#rt::taylor::constant_array::<#t, #k, _>(#ident))
                }
                ParamKind::Array { .. } => {
                    quote!(#rt::taylor::constant_array::<#t, #k, _>(&#ident))
                }
                ParamKind::Value { .. } | ParamKind::Constant | ParamKind::Struct { .. } => {
                    quote!(#ident)
                }
            }
        });
        let forward = self.call_forward(eval, &taylor, |ident, active| {
            if active {
                quote!(#rt::Taylor::variable(#ident))
            } else {
                quote!(#rt::Taylor::constant(#ident))
            }
        });
        let body = match forward {
            // The function as written: forward mode needs nothing else.
            Some(call) => quote!(#call.derivatives()),
            None => {
                let call = self.call_at(eval, true, &taylor);
                quote!(#call(#(#args,)* #rt::zeros()).0.derivatives())
            }
        };
        let doc = format!(
            " The value of {} and its first `{k} − 1` derivatives in `{}`: element `k` is the \
             `k`-th derivative (`{k} = 4` gives f, f′, f″, f‴). Taylor arithmetic: the \
             function's forward sweep evaluated at a truncated series; a derivative that is \
             identically zero is an exact zero.\n\n Generated by `#[differentiate]`.",
            self.doc_link(),
            x.ident
        );
        let ident = format_ident!("{}_derivatives", self.name());
        let ret = &self.sig.return_type;
        let item = Item {
            ident,
            doc,
            extra_generic: Some(syn::parse_quote!(const #k: usize)),
            extra_param: TokenStream::new(),
            ret: quote!([#ret; #k]),
            body,
        };
        self.item(item, eval, &taylor)
    }
}
