//! The generated items: `NAME_grad`, `NAME_vjp` and the hidden `NAME_pullback`.
//!
//! ```text
//! fn NAME_pullback(params.., seed: R) -> (R, (E0, E1, ..))   // one entry per parameter
//!     { forward sweep; adjoint; (value, (d_p0 or 0, Constant, ..)) }
//! fn NAME_vjp(params.., seed: R) -> (R, G)     // G: the active entries only (API.md)
//!     { let (value, (g0, _, ..)) = NAME_pullback(params.., seed); (value, (g0, ..)) }
//! fn NAME_grad(params..) -> (R, G)             // only for a float result
//!     { NAME_vjp(params.., 1.0) }
//! ```
//! On error, [`stubs`] emits the same signatures with bodies that never run, so code that
//! calls them does not add errors of its own to the real one.

use crate::analysis::strategy;
use crate::ir::Numbers;
use crate::naming;
use crate::reverse::PullbackBody;
use crate::signature::{Output, ParamKind, Signature};
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use std::collections::BTreeSet;

mod higher_order;

struct Parts<'a> {
    func: &'a syn::ItemFn,
    sig: &'a Signature,
    runtime: &'a TokenStream,
    /// The user wrote `NAME_vjp` (and supplied it with `vjp = NAME_vjp`): not generated.
    user_vjp: bool,
    /// What each taped loop keeps, for `NAME_vjp`'s documentation.
    loop_notes: &'a [String],
    /// There is a `__NAME_twin_forward` (see `twin::forward`).
    forward_twin: bool,
}

impl Parts<'_> {
    fn name(&self) -> &syn::Ident {
        &self.func.sig.ident
    }

    /// `&self,` for methods.
    fn receiver(&self) -> TokenStream {
        if self.sig.has_self {
            quote!(&self,)
        } else {
            TokenStream::new()
        }
    }

    fn params(&self) -> Vec<TokenStream> {
        self.sig
            .params
            .iter()
            .map(|p| {
                let (ident, ty) = (&p.ident, &p.ty);
                quote!(#ident: #ty)
            })
            .collect()
    }

    fn args(&self) -> Vec<&syn::Ident> {
        self.sig.params.iter().map(|p| &p.ident).collect()
    }

    /// How a generated function calls a sibling: `f(..)`, `self.f(..)` or `Self::f(..)`.
    fn call(&self, ident: &syn::Ident) -> TokenStream {
        sibling(self.sig, ident)
    }

    /// `G`: the gradient, one entry per active parameter; the entry itself when only one.
    fn gradient_type(&self) -> TokenStream {
        let types: Vec<TokenStream> = self
            .sig
            .active_params()
            .map(|p| p.gradient_type())
            .collect();
        match types.as_slice() {
            [one] => one.to_token_stream(),
            many => quote!((#(#many,)*)),
        }
    }

    /// The gradient entries of the active parameters as `G` holds them: the entry itself when
    /// there is one, a tuple when there are several.
    fn active_entries(&self) -> TokenStream {
        let active: Vec<syn::Ident> = self
            .sig
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.active)
            .map(|(i, _)| naming::grad_entry(i))
            .collect();
        match active.as_slice() {
            [one] => one.to_token_stream(),
            many => quote!((#(#many,)*)),
        }
    }

    /// Patterns binding the pullback's entries: the active ones by name, `_` for the others.
    fn entry_patterns(&self) -> Vec<TokenStream> {
        self.sig
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if p.active {
                    naming::grad_entry(i).into_token_stream()
                } else {
                    quote!(_)
                }
            })
            .collect()
    }

    /// Entry types of the pullback: the gradient for an active parameter, `Constant` else.
    fn entry_types(&self) -> Vec<TokenStream> {
        let rt = self.runtime;
        self.sig
            .params
            .iter()
            .map(|p| {
                if p.active {
                    p.gradient_type()
                } else {
                    quote!(#rt::Constant)
                }
            })
            .collect()
    }

    /// Attributes the generated items share with the original: `cfg`s, so they exist exactly
    /// when it does.
    fn shared_attrs(&self) -> Vec<&syn::Attribute> {
        self.func
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .collect()
    }

    /// The numbers the generated items write themselves (unit seeds).
    fn numbers(&self) -> Numbers {
        Numbers::new(self.sig.floats.generic.as_ref())
    }

    fn doc_link(&self) -> String {
        if self.sig.has_self || self.sig.associated {
            format!("[`Self::{}`]", self.name())
        } else {
            format!("[`{}`]", self.name())
        }
    }

    fn doc_value(&self) -> String {
        let args: Vec<String> = self
            .sig
            .params
            .iter()
            .map(|p| p.ident.to_string())
            .collect();
        format!("{}({})", self.name(), args.join(", "))
    }

    fn doc_partials(&self, weighted: bool) -> String {
        let name = self.name();
        let partials: Vec<String> = self
            .sig
            .active_params()
            .map(|p| {
                if weighted {
                    format!("seed·∂{name}/∂{}", p.ident)
                } else {
                    format!("∂{name}/∂{}", p.ident)
                }
            })
            .collect();
        match partials.as_slice() {
            [one] => one.clone(),
            many => format!("({})", many.join(", ")),
        }
    }

    /// The three items; `pullback` is the body of the pullback (or a stub's).
    /// The three items; `pullback` is the body of the pullback. A stub (`stub`) has no real
    /// body anywhere, so nothing in it can add an error to the one reported.
    fn items(
        &self,
        pullback: TokenStream,
        tangent: Option<TokenStream>,
        jacobian: JacobianBody,
        stub: bool,
    ) -> TokenStream {
        let vis = &self.func.vis;
        // The function's own generics and bounds: the runtime's rules ask `T: Real` of a float
        // type, which every `Float` is (see `runtime::rules`).
        let generics = &self.func.sig.generics;
        let where_clause = &generics.where_clause;
        let attrs = self.shared_attrs();
        let receiver = self.receiver();
        let params = self.params();
        let args = self.args();
        let ret = &self.sig.return_type;
        let name = self.name();
        let grad_ident = naming::grad_fn(name);
        let vjp_ident = naming::vjp_fn(name);
        let pullback_ident = naming::pullback_fn(name, name.span());
        let public_seed = naming::public_seed(
            &self
                .sig
                .params
                .iter()
                .map(|p| p.ident.clone())
                .collect::<Vec<_>>(),
        );
        let gradient = self.gradient_type();
        let value = naming::result_value();

        let entry_pats = self.entry_patterns();
        let gradient_value = self.active_entries();
        let call_pullback = self.call(&pullback_ident);
        let mention_original = mention_original(self.func, self.sig);
        let call_vjp = self.call(&vjp_ident);

        let link = self.doc_link();
        let value_doc = self.doc_value();
        let mut vjp_doc = format!(
            " Value of {link} and its vector-Jacobian product: returns `({value_doc}, {})`.\n\n \
             For a tuple or array result, `seed` weights each output: `(1, 0, ..)` picks the \
             gradient of the first. Generated by `#[differentiate]`.",
            self.doc_partials(true)
        );
        if !self.loop_notes.is_empty() {
            vjp_doc.push_str("\n\n What the loops keep for the reverse sweep:\n");
            for note in self.loop_notes {
                vjp_doc.push_str(&format!("\n - {note}."));
            }
        }
        let grad_doc = format!(
            " Value and gradient of {link}: returns `({value_doc}, {})`.\n\n Generated by `#[differentiate]`.",
            self.doc_partials(false)
        );
        // A stub's parameters are unused by design.
        let stub_allow = if stub {
            quote!(#[allow(unused_variables)])
        } else {
            TokenStream::new()
        };
        // Forward mode keeps the function's own bindings, some unused, as the pullback does.
        let grad_allow = if tangent.is_some() && !stub {
            quote!(#[allow(unused, non_snake_case)])
        } else {
            TokenStream::new()
        };
        let grad_body = match (stub, tangent) {
            (true, _) => pullback.clone(),
            (false, Some(forward_mode)) => quote! {
                #mention_original
                #forward_mode
            },
            (false, None) => {
                let one = self.numbers().one();
                quote!(#call_vjp(#(#args,)* #one))
            }
        };
        let grad = match self.sig.output {
            Some(Output::Scalar(_)) | None => quote! {
                #(#attrs)*
                #[doc = #grad_doc]
                #[inline]
                #[allow(clippy::all)]
                #stub_allow
                #grad_allow
                #vis fn #grad_ident #generics (#receiver #(#params),*) -> (#ret, #gradient) #where_clause {
                    #grad_body
                }
            },
            _ => TokenStream::new(),
        };
        let vjp = if self.user_vjp {
            TokenStream::new()
        } else {
            quote! {
                #(#attrs)*
                #[doc = #vjp_doc]
                #[inline]
                #[allow(clippy::all)]
                #stub_allow
                #vis fn #vjp_ident #generics (#receiver #(#params,)* #public_seed: #ret) -> (#ret, #gradient) #where_clause {
                    #mention_original
                    let (#value, (#(#entry_pats,)*)) = #call_pullback(#(#args,)* #public_seed);
                    (#value, #gradient_value)
                }
            }
        };
        let jacobian = self.jacobian(&pullback, jacobian, stub);
        let pullback = self.pullback_item(pullback);
        quote! {
            #grad

            #vjp

            #jacobian

            #pullback
        }
    }

    /// `NAME_pullback(params.., seed) -> (R, (entry, ..))`, hidden: what `NAME_vjp` and
    /// callers call.
    fn pullback_item(&self, body: TokenStream) -> TokenStream {
        let vis = &self.func.vis;
        let generics = &self.func.sig.generics;
        let where_clause = &generics.where_clause;
        let attrs = self.shared_attrs();
        let receiver = self.receiver();
        let params = self.params();
        let ret = &self.sig.return_type;
        let name = self.name();
        let pullback_ident = naming::pullback_fn(name, name.span());
        let seed = naming::seed();
        let entry_types = self.entry_types();
        quote! {
            #(#attrs)*
            #[doc(hidden)]
            #[allow(unused, unreachable_code, non_snake_case, non_camel_case_types, clippy::all, clippy::pedantic)]
            #vis fn #pullback_ident #generics (#receiver #(#params,)* #seed: #ret) -> (#ret, (#(#entry_types,)*)) #where_clause {
                #body
            }
        }
    }

    /// `__NAME_twin` and `__NAME_twin_pullback` of a function generic over its float type:
    /// the function and its pullback, which callers' twins call by the twin's names.
    fn twin_aliases(&self) -> TokenStream {
        let vis = &self.func.vis;
        let generics = &self.func.sig.generics;
        let where_clause = &generics.where_clause;
        let attrs = self.shared_attrs();
        let receiver = self.receiver();
        let params = self.params();
        let args = self.args();
        let ret = &self.sig.return_type;
        let name = self.name();
        let twin = naming::twin_fn(name);
        let (pullback, twin_pullback) = (
            naming::pullback_fn(name, name.span()),
            naming::pullback_fn(&twin, name.span()),
        );
        let (call, call_pullback) = (self.call(name), self.call(&pullback));
        let seed = naming::seed();
        let entry_types = self.entry_types();
        quote! {
            #(#attrs)*
            #[doc(hidden)]
            #[inline(always)]
            #[allow(unused, non_snake_case, clippy::all)]
            #vis fn #twin #generics (#receiver #(#params),*) -> #ret #where_clause {
                #call(#(#args),*)
            }

            #(#attrs)*
            #[doc(hidden)]
            #[inline(always)]
            #[allow(unused, non_snake_case, clippy::all)]
            #vis fn #twin_pullback #generics (#receiver #(#params,)* #seed: #ret) -> (#ret, (#(#entry_types,)*)) #where_clause {
                #call_pullback(#(#args,)* #seed)
            }
        }
    }
}

/// What the twin of a function brings beside it (see `twin`).
pub enum TwinItems<'a> {
    /// A generic function: the aliases of itself.
    Itself,
    /// The twin, transformed: the twin (which callers' forward sweeps call, through its
    /// pullback) and its pullback.
    Transformed {
        func: &'a syn::ItemFn,
        sig: &'a Signature,
        body: PullbackBody,
        items: &'a [syn::Item],
    },
    /// None: the twin's signature, and items that fail where they are used with `message`.
    Unavailable {
        func: &'a syn::ItemFn,
        sig: &'a Signature,
        message: String,
    },
}

/// The twin's items; `func` and `sig` the original's.
pub fn twin_items(
    func: &syn::ItemFn,
    sig: &Signature,
    twin: TwinItems,
    runtime: &TokenStream,
) -> TokenStream {
    let parts = |func, sig| Parts {
        func,
        sig,
        runtime,
        user_vjp: false,
        loop_notes: &[],
        forward_twin: false,
    };
    match twin {
        TwinItems::Itself => parts(func, sig).twin_aliases(),
        TwinItems::Transformed {
            func,
            sig,
            body,
            items,
        } => {
            let parts = parts(func, sig);
            let pullback = parts.pullback_item(pullback_tokens(&body, items, runtime));
            // What a caller's forward sweep calls: the pullback's own forward sweep (a zero
            // seed), which treats `detach` and conversions as the gradient does.
            let call = parts.call(&naming::pullback_fn(parts.name(), parts.name().span()));
            let args = parts.args();
            let mut twin = func.clone();
            twin.block = syn::parse_quote!({ #call(#(#args,)* #runtime::zeros()).0 });
            quote!(#twin #pullback)
        }
        TwinItems::Unavailable { func, sig, message } => {
            let body = crate::twin::unavailable_body(&message);
            let mut twin = func.clone();
            twin.block = syn::parse_quote!({ #body });
            let pullback = parts(func, sig).pullback_item(body);
            quote!(#twin #pullback)
        }
    }
}

/// The body of a pullback from the reverse transform's parts.
fn pullback_tokens(body: &PullbackBody, items: &[syn::Item], rt: &TokenStream) -> TokenStream {
    let enums = arm_enums(&body.arm_enums);
    let tapes = body
        .tapes
        .iter()
        .map(|t| quote!(let mut #t = #rt::Tape::new();));
    let statements = &body.body;
    let value = &body.value;
    let entries = &body.param_entries;
    quote! {
        #(#enums)*
        #(#items)*
        #(#tapes)*
        #statements
        (#value, (#(#entries,)*))
    }
}

impl Parts<'_> {
    /// `NAME_jacobian(params) -> (R, [G; M])` for a result of `M` numbers (a tuple or an
    /// array): row `k` is the gradient of output `k`, computed as [`JacobianBody`] says (the
    /// strategy's choice, `analysis::Strategy::jacobian`, with its bodies).
    fn jacobian(&self, stub_body: &TokenStream, how: JacobianBody, stub: bool) -> TokenStream {
        let (m, array) = match &self.sig.output {
            Some(Output::Tuple(types)) => (types.len(), false),
            Some(Output::Array(_, n)) => (*n, true),
            _ => return TokenStream::new(),
        };
        if m == 0 {
            return TokenStream::new();
        }
        let (one, zero) = (self.numbers().one(), self.numbers().zero());
        let units: Vec<TokenStream> = (0..m)
            .map(|k| {
                let entries = (0..m).map(|j| if j == k { &one } else { &zero });
                if array {
                    quote!([#(#entries),*])
                } else {
                    quote!((#(#entries,)*))
                }
            })
            .collect();
        let ret = &self.sig.return_type;
        let rows: Vec<syn::Ident> = (0..m).map(|k| quote::format_ident!("__row{}", k)).collect();
        let value = naming::result_value();
        let body = match how {
            _ if stub => stub_body.clone(),
            JacobianBody::Lanes(sweep, entries) => {
                let rows = (0..m).map(|k| {
                    let row: Vec<TokenStream> = self
                        .sig
                        .params
                        .iter()
                        .zip(&entries)
                        .filter(|(p, _)| p.active)
                        .map(|(p, e)| match &p.kind {
                            ParamKind::Slice { .. } => quote! {
                                #e.iter().map(|lanes| lanes.lane(#k)).collect::<::std::vec::Vec<_>>()
                            },
                            ParamKind::Array { .. } => quote!(#e.map(|lanes| lanes.lane(#k))),
                            _ => quote!(#e.lane(#k)),
                        })
                        .collect();
                    match row.as_slice() {
                        [one] => one.clone(),
                        many => quote!((#(#many,)*)),
                    }
                });
                quote! {
                    #sweep
                    (#value, [#(#rows),*])
                }
            }
            JacobianBody::Sweeps(forward, sweep) => {
                let seed = naming::seed();
                quote! {
                    #forward
                    #(let #rows = {
                        let #seed: #ret = #units;
                        #sweep
                    };)*
                    (#value, [#(#rows),*])
                }
            }
            JacobianBody::None => return TokenStream::new(),
            JacobianBody::Calls => {
                let pullback = self.call(&naming::pullback_fn(self.name(), self.name().span()));
                let args = self.args();
                let pats = self.entry_patterns();
                let gradient = self.active_entries();
                let calls = rows.iter().zip(&units).map(|(row, unit)| {
                    quote! {
                        let (#value, #row) = {
                            let (#value, (#(#pats,)*)) = #pullback(#(#args,)* #unit);
                            (#value, #gradient)
                        };
                    }
                });
                quote! {
                    #(#calls)*
                    (#value, [#(#rows),*])
                }
            }
        };
        let vis = &self.func.vis;
        // The function's own generics and bounds: the runtime's rules ask `T: Real` of a float
        // type, which every `Float` is (see `runtime::rules`).
        let generics = &self.func.sig.generics;
        let where_clause = &generics.where_clause;
        let attrs = self.shared_attrs();
        let receiver = self.receiver();
        let params = self.params();
        let gradient = self.gradient_type();
        let ident = naming::jacobian_fn(self.name());
        let doc = format!(
            " Value of {} and its Jacobian: returns `({}, rows)`, row `k` the gradient of output \
             `k`, laid out as `{}_vjp` lays out a gradient.\n\n Generated by `#[differentiate]`.",
            self.doc_link(),
            self.doc_value(),
            self.name()
        );
        let allow = if stub {
            quote!(#[allow(unused_variables)])
        } else {
            quote!(#[allow(unused, non_snake_case)])
        };
        quote! {
            #(#attrs)*
            #[doc = #doc]
            #[inline]
            #[allow(clippy::all)]
            #allow
            #vis fn #ident #generics (#receiver #(#params),*) -> (#ret, [#gradient; #m]) #where_clause {
                #body
            }
        }
    }
}

/// The local enums recording which arm of a branch ran, one per arity. `Copy` where the
/// payloads are, so that `NAME_jacobian`'s reverse sweeps can each match on the same record.
fn arm_enums(arities: &BTreeSet<usize>) -> Vec<TokenStream> {
    arities
        .iter()
        .map(|&n| {
            let ident = naming::arms_enum(n);
            let params: Vec<syn::Ident> = (0..n).map(|i| quote::format_ident!("A{}", i)).collect();
            let variants = (0..n).map(|i| {
                let variant = naming::arm_variant(i);
                let param = &params[i];
                quote!(#variant(#param))
            });
            quote! {
                #[derive(Clone, Copy)]
                enum #ident<#(#params),*> { #(#variants),* }
            }
        })
        .collect()
}

/// How `NAME_jacobian` computes its rows (the strategy's choice), with the bodies that do it.
enum JacobianBody {
    /// One sweep over lanes of adjoints (the forward sweep and the sweep, ending with the
    /// value; then each parameter's entry, whose lane `k` is row `k`'s).
    Lanes(TokenStream, Vec<TokenStream>),
    /// One forward sweep, then one reverse sweep per output, starting from `seed` and ending
    /// with the gradient.
    Sweeps(TokenStream, TokenStream),
    /// One pullback call per output.
    Calls,
    /// No `NAME_jacobian`.
    None,
}

/// The generated items around a transformed body.
/// `tangent` is the body of `NAME_grad` in forward mode, and `lanes` the pullback over lanes of
/// adjoints for `NAME_jacobian`, where the function suits them.
#[allow(clippy::too_many_arguments)]
pub fn generated(
    func: &syn::ItemFn,
    sig: &Signature,
    body: PullbackBody,
    tangent: Option<TokenStream>,
    lanes: Option<PullbackBody>,
    strategy: &strategy::Jacobian,
    items: &[syn::Item],
    runtime: &TokenStream,
    forward_twin: bool,
) -> TokenStream {
    let parts = Parts {
        func,
        sig,
        runtime,
        user_vjp: false,
        loop_notes: &body.loop_notes,
        forward_twin,
    };
    let enums = arm_enums(&body.arm_enums);
    let entries = &body.param_entries;
    // `NAME_jacobian`'s sweeps: the forward sweep after the local items, and each reverse
    // sweep ending with the active parameters' gradient entries.
    let active: Vec<&TokenStream> = entries
        .iter()
        .zip(&sig.params)
        .filter(|(_, p)| p.active)
        .map(|(e, _)| e)
        .collect();
    let gradient = match active.as_slice() {
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    };
    let jacobian = match (strategy, lanes, &body.sweeps) {
        (strategy::Jacobian::Lanes { .. }, Some(lanes), _) => {
            let lane_enums = arm_enums(&lanes.arm_enums);
            let statements = &lanes.body;
            JacobianBody::Lanes(
                quote!(#(#lane_enums)* #(#items)* #statements),
                lanes.param_entries,
            )
        }
        (strategy::Jacobian::Sweeps, _, Some((forward, sweep))) => JacobianBody::Sweeps(
            quote!(#(#enums)* #(#items)* #forward),
            quote!(#sweep #gradient),
        ),
        (strategy::Jacobian::Calls, ..) => JacobianBody::Calls,
        _ => JacobianBody::None,
    };
    let generated = parts.items(
        pullback_tokens(&body, items, runtime),
        tangent.map(|body| quote!(#(#items)* #body)),
        jacobian,
        false,
    );
    let higher_order = parts.higher_order();
    quote!(#generated #higher_order)
}

/// The generated items around a derivative the user supplied with `vjp = path`: the pullback
/// spreads the supplied gradient over one entry per parameter.
pub fn supplied(
    func: &syn::ItemFn,
    sig: &Signature,
    vjp: &syn::Path,
    runtime: &TokenStream,
) -> TokenStream {
    let user_vjp = vjp.is_ident(&naming::vjp_fn(&func.sig.ident));
    let parts = Parts {
        func,
        sig,
        runtime,
        user_vjp,
        loop_notes: &[],
        forward_twin: false,
    };
    let rt = runtime;
    let args = parts.args();
    let seed = naming::seed();
    let value = naming::result_value();
    let pattern = parts.active_entries();
    let entries = sig.params.iter().enumerate().map(|(i, p)| {
        if p.active {
            naming::grad_entry(i).into_token_stream()
        } else {
            quote!(#rt::Constant)
        }
    });
    let call = if sig.has_self {
        quote!(self.#vjp)
    } else {
        quote!(#vjp)
    };
    let original = mention_original(func, sig);
    let items = parts.items(
        quote! {
            #original
            let (#value, #pattern) = #call(#(#args,)* #seed);
            (#value, (#(#entries,)*))
        },
        None,
        by_calls(sig),
        false,
    );
    let higher_order = parts.higher_order();
    quote!(#items #higher_order)
}

/// `NAME_graph(params..) -> Graph`: the computation graph at a point, each node with its
/// value and adjoint (see `graph`). `body` builds it; `None` for a stub.
/// `NAME_jvp` by reverse sweeps (see `Parts::jvp_by_reverse`), for the items of a function of
/// a struct parameter that do not run at dual numbers (tensor fields, views).
pub fn jvp_by_reverse(func: &syn::ItemFn, sig: &Signature, runtime: &TokenStream) -> TokenStream {
    Parts {
        func,
        sig,
        runtime,
        user_vjp: false,
        loop_notes: &[],
        forward_twin: false,
    }
    .jvp_by_reverse()
}

pub fn graph_item(
    func: &syn::ItemFn,
    sig: &Signature,
    body: Option<TokenStream>,
    runtime: &TokenStream,
) -> TokenStream {
    let parts = Parts {
        func,
        sig,
        runtime,
        user_vjp: false,
        loop_notes: &[],
        forward_twin: false,
    };
    let vis = &func.vis;
    let generics = &func.sig.generics;
    let where_clause = &generics.where_clause;
    let attrs = parts.shared_attrs();
    let receiver = parts.receiver();
    let params = parts.params();
    let ident = naming::item_fn(parts.name(), "graph");
    let link = parts.doc_link();
    let doc = format!(
        " The computation graph of {link} at this point: one node per primitive, each with its \
         value and its adjoint (the derivative of the result with respect to it), loops and \
         branches as clusters of what ran. `.to_dot()` draws it with Graphviz; \
         `.adjoint_of(\"y\")` gives the adjoint of the variable `y`.\n\n Generated by `#[differentiate]`."
    );
    let (body, allow) = match body {
        Some(body) => (
            body,
            quote!(#[allow(clippy::all, unused, non_snake_case, unused_mut)]),
        ),
        None => (
            quote!(::core::unreachable!(
                "`#[differentiate]` reported a compile error"
            )),
            quote!(#[allow(unused_variables)]),
        ),
    };
    let _ = runtime;
    quote! {
        #(#attrs)*
        #[doc = #doc]
        #allow
        #vis fn #ident #generics (#receiver #(#params),*) -> ::differentiate::Graph #where_clause {
            #body
        }
    }
}

/// Signatures of the generated items with bodies that never run, emitted beside errors.
pub fn stubs(func: &syn::ItemFn, sig: &Signature, runtime: &TokenStream) -> TokenStream {
    let parts = Parts {
        func,
        sig,
        runtime,
        user_vjp: false,
        loop_notes: &[],
        forward_twin: false,
    };
    parts.items(
        quote!(::core::unreachable!(
            "`#[differentiate]` reported a compile error"
        )),
        None,
        by_calls(sig),
        true,
    )
}

/// `NAME_jacobian` by one pullback call per output, where the parameters can be passed
/// several times (see `analysis::Strategy`).
fn by_calls(sig: &Signature) -> JacobianBody {
    if strategy::params_are_copy(sig) {
        JacobianBody::Calls
    } else {
        JacobianBody::None
    }
}

/// `NAME_dump() -> &'static str`: the code generated for `func`, pretty-printed, with the
/// landmarks of the landmarked pullback (`landmark!("..");`) turned into comments.
pub fn dump(func: &syn::ItemFn, sig: &Signature, generated: &TokenStream) -> TokenStream {
    let text = match syn::parse2::<syn::File>(generated.clone()) {
        Ok(file) => with_landmarks_as_comments(&prettyplease::unparse(&file)),
        Err(error) => format!("// the generated code does not parse: {error}\n{generated}"),
    };
    let vis = &func.vis;
    let name = &func.sig.ident;
    let ident = naming::dump_fn(name);
    let mention_original = mention_original(func, sig);
    let doc = format!(
        " The code `#[differentiate]` generated for [`{name}`], as text: the derivative items, \
         with comments marking the forward sweep, the reverse sweep, the adjoint of each \
         binding and what each loop keeps. Generated by `#[differentiate(dump)]`."
    );
    quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        #vis fn #ident() -> &'static str {
            #mention_original
            #text
        }
    }
}

/// `let _ = NAME;`: a generated item counts as a use of the function it derives from, so a
/// user who only calls `NAME_grad` (or reads `NAME_dump`) gets no dead-code warning for
/// `NAME`.
/// How a generated item calls a sibling `ident`: `f`, `self.f` or, for an associated
/// function, `Self::f`.
pub fn sibling(sig: &Signature, ident: &syn::Ident) -> TokenStream {
    if sig.has_self {
        quote!(self.#ident)
    } else if sig.associated {
        quote!(Self::#ident)
    } else {
        quote!(#ident)
    }
}

pub fn mention_original(func: &syn::ItemFn, sig: &Signature) -> TokenStream {
    let name = &func.sig.ident;
    let path = if func.sig.receiver().is_some() || sig.associated {
        quote!(Self::#name)
    } else {
        quote!(#name)
    };
    // Named with its own type and const parameters, which the items share.
    let own = own_generic_args(&func.sig.generics);
    if own.is_empty() {
        quote!(let _ = #path;)
    } else {
        quote!(let _ = #path::<#(#own),*>;)
    }
}

/// The type and const parameters of `generics`, as arguments (lifetimes are left to
/// inference).
fn own_generic_args(generics: &syn::Generics) -> Vec<TokenStream> {
    generics
        .params
        .iter()
        .filter_map(|g| match g {
            syn::GenericParam::Type(p) => Some(p.ident.to_token_stream()),
            syn::GenericParam::Const(c) => Some(c.ident.to_token_stream()),
            syn::GenericParam::Lifetime(_) => None,
        })
        .collect()
}

/// Each `landmark!("text");` of pretty-printed code (one line, or several where the text is
/// long) becomes `// text`, at its indent.
fn with_landmarks_as_comments(code: &str) -> String {
    let mut out = String::new();
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if !trimmed.starts_with("landmark!(") {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut call = trimmed.to_string();
        while !call.ends_with(");") {
            match lines.next() {
                Some(next) => call.push_str(next.trim()),
                None => break,
            }
        }
        let literal = call
            .strip_prefix("landmark!(")
            .and_then(|rest| rest.strip_suffix(");"))
            .and_then(|lit| syn::parse_str::<syn::LitStr>(lit).ok());
        let indent = &line[..line.len() - trimmed.len()];
        match literal {
            Some(text) => out.push_str(&format!("{indent}// {}\n", text.value())),
            None => out.push_str(&format!("{indent}{call}\n")),
        }
    }
    out
}
