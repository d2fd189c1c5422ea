//! The second-order twin of an `f64` (or `f32`) function: the same function written over a
//! number type `__Number`, whose pullback `__NAME_twin_pullback` `NAME_jvp`, `NAME_hvp`,
//! `NAME_hessian` and `NAME_derivatives` evaluate at dual numbers or Taylor series (its
//! forward sweep is the function's value, with `detach` and conversions treated as the
//! gradient treats them; the twin itself is what callers' twins call).
//!
//! A function generic over its float type needs no twin: it is evaluated at `Dual<T>`
//! directly. For an `f64` function the attribute writes the twin the way a generic crate
//! would, and differentiates it like any generic function:
//!
//! ```text
//! fn f(x: &[f64], c: f64) -> f64 {            fn __f_twin<__Number: Float + ..>(x: &[__Number], c: __Number) -> __Number {
//!     let mut s = 0.0;                            let mut s = __Number::from(0.0_f64).unwrap();
//!     for i in 0..x.len() {                       for i in 0..x.len() {
//!         s += c * g(x[i]) / x.len() as f64;          s += c * __g_twin(x[i]) / __Number::from(x.len()).unwrap();
//!     }                                           }
//!     s                                           s
//! }                                           }
//! ```
//!
//! The float type becomes `__Number` wherever it is a type; a float literal, a cast to it and
//! an upper-case constant become conversions (the last through `runtime::promote`, which
//! leaves an integer constant an integer); a cast to an integer goes through
//! `runtime::as_int`; a call of a differentiated function calls its twin. Code the twin could
//! not follow (a call on constants only, which may be a plain helper of `f64`s; a field; a
//! method the transform does not know; tensors) leaves the function without one: its
//! second-order items then fail at their use, at compile time, naming the reason (see
//! [`unavailable_body`]).

use crate::ir::{Callee, FnIr, PassiveKind, Rhs, Stmt};
use crate::kinds::Kind;
use crate::signature::{is_integer_type, mentions, Output, ParamKind, Signature};
use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use std::collections::BTreeSet;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;

/// The twin's number type parameter.
pub fn number() -> syn::Ident {
    syn::Ident::new("__Number", Span::call_site())
}

/// What the twin of the function is.
pub enum Twin {
    /// Generic over its float type: the function is its own twin.
    Itself,
    /// The function rewritten over `__Number`.
    Rewritten(syn::ItemFn),
    /// None: the twin's signature (rewritten like a twin's), and why there is no body.
    Unavailable(syn::ItemFn, String),
}

/// The twin of `func`, from its intermediate form before any rewrite (`kinds` its facts):
/// what it calls, and what it uses that the twin could not follow.
pub fn twin(func: &syn::ItemFn, sig: &Signature, ir: &FnIr, kinds: &[Kind]) -> Twin {
    if sig.floats.generic.is_some() {
        return Twin::Itself;
    }
    let float = match float_type(sig) {
        Ok(float) => float,
        Err(reason) => return unavailable(func, sig, "f64", reason),
    };
    if let Some(reason) = blocker(sig, ir, kinds, &float) {
        return unavailable(func, sig, &float, reason);
    }
    // A conversion to the other float type (`y as f32` in an `f64` function) leaves the
    // twin's number type, whose conversions go to and from its own float type only.
    let other = if float == "f64" { "f32" } else { "f64" };
    if mentions_ident(func.block.to_token_stream(), other) {
        let reason = format!(
            "it converts values to `{other}`, which its second-order twin over `{float}` \
             cannot follow; keep the computation in `{float}`, or write the function generic \
             over `T: Float`"
        );
        return unavailable(func, sig, &float, reason);
    }
    let mut calls = BTreeSet::new();
    let mut methods = BTreeSet::new();
    ir.body.walk(&mut |stmt| {
        if let Stmt::Let {
            rhs: Rhs::Call { callee, .. },
            ..
        } = stmt
        {
            match callee {
                Callee::Function(path) => {
                    if let Some(last) = path.path.segments.last() {
                        calls.insert(last.ident.to_string());
                    }
                }
                Callee::SelfMethod(method) => {
                    methods.insert(method.to_string());
                }
            }
        }
    });
    let mut twin = func.clone();
    let mut locals = Locals::default();
    locals.visit_item_fn(func);
    // A plain function declared in the body has no twin: a call of it is not renamed (on
    // constants only, the pullback calls it at the float type).
    for stmt in &func.block.stmts {
        if let syn::Stmt::Item(syn::Item::Fn(f)) = stmt {
            let differentiated = f.attrs.iter().any(|a| {
                a.path()
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "differentiate")
            });
            if !differentiated {
                calls.remove(&f.sig.ident.to_string());
                locals.0.insert(f.sig.ident.to_string());
            }
        }
    }
    // Generic parameters (`N` of `[f64; N]`) are not constants to promote.
    for g in &func.sig.generics.params {
        match g {
            syn::GenericParam::Type(t) => locals.0.insert(t.ident.to_string()),
            syn::GenericParam::Const(c) => locals.0.insert(c.ident.to_string()),
            syn::GenericParam::Lifetime(_) => false,
        };
    }
    let mut rewrite = Rewrite {
        float: &float,
        number: number(),
        calls,
        methods,
        locals: locals.0,
    };
    rewrite.visit_block_mut(&mut twin.block);
    twin.block.stmts.insert(0, conversions_in_scope());
    let mut twin = signature(twin, &float);
    over_linalg(&mut twin, sig, &float);
    Twin::Rewritten(twin)
}

/// Whether the function takes or returns nalgebra values it computes with whole.
pub fn takes_linalg_values(sig: &Signature) -> bool {
    let value = |ty: &syn::Type| crate::linalg::is_type(ty);
    sig.params
        .iter()
        .any(|p| matches!(&p.kind, ParamKind::Value { ty } if value(ty)))
        || matches!(&sig.output, Some(Output::Tensor(ty)) if value(ty))
}

/// A twin of a function that takes or returns nalgebra values (see [`takes_linalg_values`]):
/// those values hold its numbers (`&Vector3<__Number>`), which are then a `RealField`, as
/// nalgebra asks. A caller passing it such a value takes one too, so its twin asks the same of
/// its numbers. The generated code calls the numbers' own functions as `Float::sin(x)`, since
/// `x.sin()` would be ambiguous between the two traits.
pub fn over_linalg(twin: &mut syn::ItemFn, sig: &Signature, float: &str) {
    if !takes_linalg_values(sig) {
        return;
    }
    let mut rewrite = Rewrite {
        float,
        number: number(),
        calls: BTreeSet::new(),
        methods: BTreeSet::new(),
        locals: BTreeSet::new(),
    };
    let values: BTreeSet<String> = (sig.params.iter())
        .filter(|p| matches!(&p.kind, ParamKind::Value { ty } if crate::linalg::is_type(ty)))
        .map(|p| p.ident.to_string())
        .collect();
    for input in &mut twin.sig.inputs {
        if let syn::FnArg::Typed(t) = input {
            let is_value =
                matches!(&*t.pat, syn::Pat::Ident(i) if values.contains(&i.ident.to_string()));
            if is_value {
                rewrite.visit_type_mut(&mut t.ty);
            }
        }
    }
    if let syn::ReturnType::Type(_, ty) = &mut twin.sig.output {
        if crate::linalg::is_type(ty) {
            rewrite.visit_type_mut(ty);
        }
    }
    let n = number();
    (twin.sig.generics.make_where_clause().predicates)
        .push(syn::parse_quote!(#n: ::differentiate::runtime::nalgebra::RealField));
    QualifiedInMaps.visit_block_mut(&mut twin.block);
}

/// In the closure of a `map` (`v.map(|x| x.sin() * 2.0)`), kept as written, a number's
/// methods become `Float::sin(x)`: the closure's number is then a `RealField` too, and
/// `x.sin()` ambiguous.
struct QualifiedInMaps;

impl VisitMut for QualifiedInMaps {
    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        syn::visit_mut::visit_expr_method_call_mut(self, call);
        if call.method != "map" {
            return;
        }
        for arg in &mut call.args {
            if let syn::Expr::Closure(closure) = arg {
                let param = match closure.inputs.first() {
                    Some(syn::Pat::Ident(p)) => Some(p.ident.clone()),
                    Some(syn::Pat::Type(t)) => match &*t.pat {
                        syn::Pat::Ident(p) => Some(p.ident.clone()),
                        _ => None,
                    },
                    _ => None,
                };
                QualifiedNumberMethods { param }.visit_expr_mut(&mut closure.body);
            }
        }
    }
}

/// `x.sin()` as `Float::sin(x)`, for each float function the transform knows; a constant
/// (`__Number::from(0.5).unwrap()`) typed like the closure's argument `param`, which is a
/// dual number of `__Number` where the rule calls the closure.
struct QualifiedNumberMethods {
    param: Option<syn::Ident>,
}

impl VisitMut for QualifiedNumberMethods {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        let syn::Expr::MethodCall(call) = expr else {
            return;
        };
        if let (Some(param), Some(constant)) = (&self.param, converted_constant(call)) {
            *expr = syn::parse_quote!(::differentiate::runtime::like(
                &#param,
                ::differentiate::runtime::cast(#constant)
            ));
            return;
        }
        let name = call.method.to_string();
        let float_function = crate::primitives::PRIMITIVES
            .iter()
            .any(|p| p.name == name && p.arity == call.args.len() + 1);
        if float_function {
            let (method, receiver, args) = (&call.method, &call.receiver, &call.args);
            *expr = syn::parse_quote!(
                ::differentiate::runtime::num_traits::Float::#method(#receiver, #args)
            );
        }
    }
}

/// `c` of `__Number::from(c).unwrap()`, a constant the twin converts.
pub(crate) fn converted_constant(call: &syn::ExprMethodCall) -> Option<&syn::Expr> {
    let syn::Expr::Call(from) = &*call.receiver else {
        return None;
    };
    let syn::Expr::Path(path) = &*from.func else {
        return None;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    (call.method == "unwrap" && segments == [number().to_string(), "from".to_string()])
        .then(|| from.args.first())
        .flatten()
}

/// The `use` a twin's body starts with: the traits through which it passes arguments to, and
/// takes results from, calls the gradient does not differentiate.
pub fn conversions_in_scope() -> syn::Stmt {
    syn::parse_quote!(
        #[allow(unused_imports)]
        use ::differentiate::runtime::twin::{
            LowerArg as _, LowerArgAsIs as _, LowerArray as _, LowerSlice as _, LowerVec as _,
            PromoteArray as _, PromoteAsIs as _, PromotePair as _, PromoteResult as _,
            PromoteVec as _,
        };
    )
}

/// The twin as written, `__NAME_twin_forward`, for a function of one active number whose
/// twin is exact when run directly (nothing in it that only its pullback treats as the
/// gradient does: `detach`, a conversion of a differentiated value, a call the gradient does
/// not differentiate). Its higher derivatives are then forward mode alone: at dual numbers of
/// dual numbers for `NAME_hvp`, at Taylor series for `NAME_derivatives`, without a reverse
/// sweep (what num-dual's hyper-dual numbers do).
pub fn forward(
    twin: &Twin,
    sig: &Signature,
    ir: &FnIr,
    activity: &crate::activity::Activity,
) -> Option<syn::ItemFn> {
    let Twin::Rewritten(rewritten) = twin else {
        return None;
    };
    // Over nalgebra values its body as written would call a number's functions ambiguously
    // (`Float` and `RealField` both have `sin`; see `over_linalg`).
    if takes_linalg_values(sig) {
        return None;
    }
    let active: Vec<_> = sig.active_params().collect();
    let one_number = matches!(active.as_slice(), [p] if matches!(p.kind, ParamKind::Scalar));
    let plain_params = sig
        .params
        .iter()
        .all(|p| matches!(p.kind, ParamKind::Scalar | ParamKind::Constant));
    if !one_number || !plain_params || !matches!(sig.output, Some(Output::Scalar(_))) {
        return None;
    }
    let mut exact = !rewritten
        .block
        .to_token_stream()
        .to_string()
        .contains("detached");
    ir.body.walk(&mut |stmt| {
        if let Stmt::Let { var, rhs, .. } = stmt {
            match rhs {
                Rhs::Call { .. } if !activity.active[*var] => exact = false,
                Rhs::Cast { arg, .. } if activity.is_active(arg) => exact = false,
                _ => {}
            }
        }
    });
    if !exact {
        return None;
    }
    let mut forward = rewritten.clone();
    forward.sig.ident = quote::format_ident!("{}_forward", rewritten.sig.ident);
    forward.attrs.push(syn::parse_quote!(#[inline]));
    Some(forward)
}

/// The twin of a function whose derivative the user supplied (`vjp = path`): itself if it is
/// generic (the supplied pullback then runs at dual numbers), none otherwise.
pub fn supplied(func: &syn::ItemFn, sig: &Signature, vjp: &syn::Path) -> Twin {
    if sig.floats.generic.is_some() {
        return Twin::Itself;
    }
    let float = float_type(sig).unwrap_or_else(|_| "f64".into());
    let vjp = vjp.to_token_stream().to_string().replace(' ', "");
    let reason = format!(
        "its derivative is supplied (`vjp = {vjp}`) for `{float}` only. For second \
         derivatives, write `{}` and `{vjp}` generic over `T: Float` (the supplied derivative \
         then runs at dual numbers, so its formula must be written with `T`'s operations)",
        func.sig.ident
    );
    unavailable(func, sig, &float, reason)
}

/// The twin's signature: named `__NAME_twin`, the float type replaced by `__Number` (bounded
/// by what the rewritten body asks of it), hidden.
/// A type of another crate over the float type (`&Point3<f64>`, `DVector<f64>`): a
/// constant of the twin, kept at the float type (its bounds may not hold at a number type).
pub fn foreign_generic(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(r) => foreign_generic(&r.elem),
        syn::Type::Paren(p) => foreign_generic(&p.elem),
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| {
            !matches!(s.arguments, syn::PathArguments::None)
                && !matches!(s.ident.to_string().as_str(), "Vec" | "Option" | "Box")
        }),
        _ => false,
    }
}

pub fn signature(mut twin: syn::ItemFn, float: &str) -> syn::ItemFn {
    let mut rewrite = Rewrite {
        float,
        number: number(),
        calls: BTreeSet::new(),
        methods: BTreeSet::new(),
        locals: BTreeSet::new(),
    };
    for input in &mut twin.sig.inputs {
        if let syn::FnArg::Typed(t) = input {
            if !foreign_generic(&t.ty) {
                rewrite.visit_type_mut(&mut t.ty);
            }
        }
    }
    if let syn::ReturnType::Type(_, ty) = &mut twin.sig.output {
        // Another crate's type keeps its float type (a nalgebra result has no twin).
        if !foreign_generic(ty) {
            rewrite.visit_type_mut(ty);
        }
    }
    twin.sig.ident = crate::naming::twin_fn(&twin.sig.ident);
    let n = number();
    twin.sig.generics.params.push(syn::parse_quote!(
        #n: ::differentiate::runtime::num_traits::Float + ::differentiate::runtime::Number
    ));
    let predicates = &mut twin.sig.generics.make_where_clause().predicates;
    // Arithmetic on references (`a * b` of `&f64`s in `x.iter().map(|(a, b)| a * b)`).
    predicates.push(syn::parse_quote!(
        for<'__r> &'__r #n: ::differentiate::runtime::num_traits::RefNum<#n>
            + ::core::ops::Neg<Output = #n>
    ));
    // Its value at the float type, for the calls it makes at that type.
    let float = syn::Ident::new(float, Span::call_site());
    predicates.push(syn::parse_quote!(
        #n: ::differentiate::runtime::twin::Lowered<Value = #float>
    ));
    twin.attrs.retain(|a| a.path().is_ident("cfg"));
    twin.attrs.push(syn::parse_quote!(#[doc(hidden)]));
    twin.attrs.push(syn::parse_quote!(#[allow(
        unused,
        non_snake_case,
        clippy::all,
        clippy::pedantic
    )]));
    twin
}

fn unavailable(func: &syn::ItemFn, sig: &Signature, float: &str, reason: String) -> Twin {
    let mut twin = signature(func.clone(), float);
    over_linalg(&mut twin, sig, float);
    twin.block = syn::parse_quote!({ ::core::unreachable!() });
    let message = format!(
        "`{}` has no second derivatives (`{0}_jvp`, `{0}_hvp`, `{0}_hessian`, \
         `{0}_derivatives`, or those of a function calling it): {reason}",
        crate::naming::user_facing(&func.sig.ident)
    );
    Twin::Unavailable(twin, message)
}

/// The body of an unavailable twin's items: a constant evaluated when the item is
/// instantiated at a number type, that is, when a second-order item that needs it is used.
/// It fails there, at compile time, with `message`.
pub fn unavailable_body(message: &str) -> TokenStream {
    let n = number();
    quote! {
        struct __Unavailable<N>(::core::marker::PhantomData<N>);
        impl<N> __Unavailable<N> {
            const SECOND_DERIVATIVES: () = ::core::panic!(#message);
        }
        let () = __Unavailable::<#n>::SECOND_DERIVATIVES;
        ::core::unreachable!()
    }
}

/// `f64` or `f32`: the one float type of the signature.
pub fn float_type(sig: &Signature) -> Result<String, String> {
    let mut found = BTreeSet::new();
    let mut note = |ty: &syn::Type| {
        if let syn::Type::Path(p) = ty {
            if let Some(i) = p.path.get_ident() {
                if i == "f64" || i == "f32" {
                    found.insert(i.to_string());
                }
            }
        }
    };
    for p in &sig.params {
        match &p.kind {
            ParamKind::Scalar => note(&p.ty),
            ParamKind::Slice { elem } | ParamKind::Array { elem, .. } => note(elem),
            ParamKind::Value { ty } if crate::linalg::is_type(ty) => crate::linalg::scalar_type(ty)
                .into_iter()
                .for_each(&mut note),
            ParamKind::Value { .. } => {
                return Err("second derivatives of tensor code are not supported yet".into())
            }
            ParamKind::Constant | ParamKind::Struct { .. } => {}
        }
    }
    match &sig.output {
        Some(Output::Scalar(t)) | Some(Output::Array(t, _)) => note(t),
        Some(Output::Tuple(types)) => types.iter().for_each(&mut note),
        Some(Output::Tensor(ty)) if crate::linalg::is_type(ty) => crate::linalg::scalar_type(ty)
            .into_iter()
            .for_each(&mut note),
        Some(Output::Tensor(_)) => {
            return Err("second derivatives of tensor code are not supported yet".into())
        }
        _ => {}
    }
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (Some(_), Some(_)) => Err(
            "it mixes `f64` and `f32`; write it over one float type, or generic over `T: Float`"
                .into(),
        ),
        (None, _) => Ok("f64".into()),
    }
}

/// Methods of integers that floats do not have: on the constants of a twin, as written.
const INTEGER_METHODS: &[&str] = &[
    "checked_add",
    "checked_sub",
    "checked_mul",
    "checked_div",
    "saturating_add",
    "saturating_sub",
    "saturating_mul",
    "wrapping_add",
    "wrapping_sub",
    "wrapping_mul",
    "abs_diff",
    "pow",
    "count_ones",
    "leading_zeros",
    "trailing_zeros",
    "is_power_of_two",
    "next_power_of_two",
    "ilog2",
    "ilog10",
    "isqrt",
];

/// Whether `tokens` name the identifier `name` anywhere.
pub fn mentions_ident(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == name,
        proc_macro2::TokenTree::Group(g) => mentions_ident(g.stream(), name),
        _ => false,
    })
}

/// What in the function the twin could not follow, if anything.
fn blocker(sig: &Signature, ir: &FnIr, kinds: &[Kind], float: &str) -> Option<String> {
    let float_ident = syn::Ident::new(float, Span::call_site());
    for p in &sig.params {
        let kept = foreign_generic(&p.ty);
        if matches!(p.kind, ParamKind::Constant) && mentions(&p.ty, &float_ident) && !kept {
            let (ident, ty) = (&p.ident, &p.ty);
            return Some(format!(
                "its constant parameter `{ident}: {}` holds `{float}`s, which the second-order \
                 items cannot pass at dual numbers; pass them as a slice or an array of \
                 `{float}`, or write the function generic over `T: Float`",
                ty.to_token_stream()
            ));
        }
    }
    if kinds
        .iter()
        .any(|k| !matches!(k, Kind::Scalar | Kind::Linalg))
    {
        return Some("second derivatives of tensor code are not supported yet".into());
    }
    // Its nalgebra values hold the twin's numbers, which callers' twins must then allow: a
    // function computing with them inside a signature of plain numbers has none.
    if kinds.contains(&Kind::Linalg) && !takes_linalg_values(sig) {
        return Some(
            "it computes with nalgebra values inside a function of plain numbers; take or \
             return the nalgebra value (`v: &Vector3<f64>`) to have second derivatives through \
             it"
            .into(),
        );
    }
    let mut reason = None;
    // `%`, macros and arrays of numbers read the same at the number type (`N: Rem`,
    // `Display`; literals become the number type's), and methods only integers have act on
    // integers (`left.checked_sub(1)` of `while let`).
    let follows = |what: &str| {
        what.contains('%')
            || what.starts_with("the macro")
            || what == "an array"
            // A constant of nalgebra's (`Vector3::z_axis()`): built at the number type.
            || what.starts_with("the nalgebra function")
            || INTEGER_METHODS
                .iter()
                .any(|m| what == format!("the method `{m}`"))
    };
    ir.body.walk(&mut |stmt| {
        let Stmt::Let {
            rhs: Rhs::Passive(p),
            ..
        } = stmt
        else {
            return;
        };
        match &p.kind {
            PassiveKind::Opaque { what, .. } if reason.is_none() && !follows(what) => {
                reason = Some(format!(
                    "it uses {what}, which its second-order twin cannot follow; compute that \
                     value outside and pass it in as a parameter"
                ));
            }
            _ => {}
        }
    });
    reason
}

/// The body's rewrite onto the number type.
struct Rewrite<'a> {
    float: &'a str,
    number: syn::Ident,
    /// Functions the body calls as differentiated functions (by their last path segment).
    calls: BTreeSet<String>,
    /// Methods it calls on `self` as differentiated methods.
    methods: BTreeSet<String>,
    /// Every name the function binds (an upper-case one is not a constant).
    locals: BTreeSet<String>,
}

/// The names a function binds: its parameters, `let`s, closure parameters, patterns.
#[derive(Default)]
struct Locals(BTreeSet<String>);

impl<'ast> syn::visit::Visit<'ast> for Locals {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.0.insert(p.ident.to_string());
        syn::visit::visit_pat_ident(self, p);
    }
}

impl Rewrite<'_> {
    fn is_float(&self, path: &syn::Path) -> bool {
        path.is_ident(self.float)
    }

    fn convert(&self, e: syn::Expr) -> syn::Expr {
        let from = crate::syntax::call(crate::syntax::path2(&self.number, "from"), [e]);
        let unwrap = syn::Ident::new("unwrap", Span::call_site());
        crate::syntax::method_call(from, unwrap, Default::default())
    }

    /// A float literal as a conversion into the number type; `None` for any other literal.
    fn literal(&self, lit: &syn::Lit) -> Option<syn::Expr> {
        let digits = match lit {
            syn::Lit::Float(f) if f.suffix().is_empty() || f.suffix() == self.float => {
                f.base10_digits().to_string()
            }
            syn::Lit::Int(i) if i.suffix() == self.float => format!("{}.0", i.base10_digits()),
            _ => return None,
        };
        let digits = if digits.contains(['.', 'e', 'E']) {
            digits
        } else {
            format!("{digits}.0")
        };
        let lit = syn::LitFloat::new(&format!("{digits}_{}", self.float), lit.span());
        Some(self.convert(syn::Expr::Lit(syn::ExprLit {
            attrs: Vec::new(),
            lit: lit.into(),
        })))
    }

    /// `f64::MAX` and the like: the number type's own.
    fn float_constant(&self, name: &str) -> Option<syn::Expr> {
        let n = &self.number;
        let f = match name {
            "MAX" => "max_value",
            "MIN" => "min_value",
            "MIN_POSITIVE" => "min_positive_value",
            "EPSILON" => "epsilon",
            "INFINITY" => "infinity",
            "NEG_INFINITY" => "neg_infinity",
            "NAN" => "nan",
            _ => return None,
        };
        let f = syn::Ident::new(f, Span::call_site());
        Some(syn::parse_quote!(#n::#f()))
    }

    fn path(&mut self, p: &syn::ExprPath) -> Option<syn::Expr> {
        if p.qself.is_some() {
            return None;
        }
        let segments: Vec<String> = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let n = &self.number;
        match segments.as_slice() {
            [.., ty, "consts", _] if *ty == self.float => Some(self.convert(p.clone().into())),
            [ty, name] if *ty == self.float => {
                if let Some(constant) = self.float_constant(name) {
                    return Some(constant);
                }
                if name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                {
                    return Some(self.convert(p.clone().into()));
                }
                let name = syn::Ident::new(name, Span::call_site());
                Some(syn::parse_quote!(#n::#name))
            }
            [.., last]
                if is_constant_name(last)
                    && !(segments.len() == 1 && self.locals.contains(*last)) =>
            {
                // An upper-case constant: `promote` turns an `f64` into the number type and
                // leaves an integer an integer.
                Some(syn::parse_quote!(::differentiate::runtime::promote::<#n, _>(#p)))
            }
            _ => None,
        }
    }

    /// `helper(..)` where the transform does not follow the call (a loop's range, a closure
    /// never called): it runs at the float type, as in the twin's pullback a call the
    /// gradient does not differentiate does (see `runtime::twin`).
    fn unfollowed_call(&self, c: &syn::ExprCall) -> Option<syn::Expr> {
        let syn::Expr::Path(p) = &*c.func else {
            return None;
        };
        let name = p.path.get_ident()?.to_string();
        let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
        if !plain || name == "detach" || self.calls.contains(&name) || self.locals.contains(&name) {
            return None;
        }
        let (func, n) = (&c.func, &self.number);
        let args = c.args.iter().map(|a| match a {
            // `&e` lowers `e`, then borrows it: `&[..]` of the number type would otherwise be
            // passed as it is (`&T` is an argument "as is" before `[T; K]` is an array).
            syn::Expr::Reference(r) if r.mutability.is_none() => {
                let e = &r.expr;
                quote!(&(&(#e)).lower_arg())
            }
            a => quote!((&(#a)).lower_arg()),
        });
        // The traits are in scope from the top of the body (see `twin`).
        Some(syn::parse_quote!((&#func(#(#args),*)).promote_result::<#n>()))
    }

    /// `g(..)` of a differentiated function: its twin `__g_twin(..)`.
    fn rename_call(&self, func: &mut syn::Expr) {
        if let syn::Expr::Path(p) = func {
            if let Some(last) = p.path.segments.last_mut() {
                if self.calls.contains(&last.ident.to_string()) {
                    // Spanned at the attribute: were the callee not differentiated, the error
                    // at the call is the function's own (`helper_pullback` is missing), not
                    // the twin's.
                    let twin = crate::naming::twin_fn(&last.ident);
                    last.ident = syn::Ident::new(&twin.to_string(), Span::call_site());
                }
            }
        }
    }
}

/// `SCALE`, `N_STEPS`, `module::G`: the name of a constant by the Rust convention.
fn is_constant_name(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
}

impl VisitMut for Rewrite<'_> {
    fn visit_type_mut(&mut self, ty: &mut syn::Type) {
        match ty {
            syn::Type::Path(p) if p.qself.is_none() && self.is_float(&p.path) => {
                let n = &self.number;
                *ty = syn::parse_quote!(#n);
            }
            // A length is a constant of the type, not a number of the function.
            syn::Type::Array(a) => self.visit_type_mut(&mut a.elem),
            _ => syn::visit_mut::visit_type_mut(self, ty),
        }
    }

    fn visit_generic_argument_mut(&mut self, arg: &mut syn::GenericArgument) {
        if let syn::GenericArgument::Type(ty) = arg {
            self.visit_type_mut(ty);
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        match expr {
            syn::Expr::Lit(l) => {
                if let Some(converted) = self.literal(&l.lit) {
                    *expr = converted;
                }
            }
            syn::Expr::Cast(c) => {
                self.visit_expr_mut(&mut c.expr);
                let inner = &c.expr;
                match &*c.ty {
                    syn::Type::Path(p) if self.is_float(&p.path) => {
                        *expr = self.convert((**inner).clone())
                    }
                    syn::Type::Path(p) if p.path.get_ident().is_some_and(is_integer_type) => {
                        let ty = &c.ty;
                        *expr =
                            syn::parse_quote!(::differentiate::runtime::as_int::<#ty, _>(#inner));
                    }
                    _ => self.visit_type_mut(&mut c.ty),
                }
            }
            syn::Expr::Path(p) => {
                if let Some(replaced) = self.path(p) {
                    *expr = replaced;
                } else {
                    syn::visit_mut::visit_expr_path_mut(self, p);
                }
            }
            syn::Expr::Call(c) => {
                for arg in &mut c.args {
                    self.visit_expr_mut(arg);
                }
                if let syn::Expr::Path(p) = &*c.func {
                    let path = &p.path;
                    // `f64::from(k)`: a conversion into the number type.
                    if path.segments.len() == 2
                        && self.is_float(&syn::Path::from(path.segments[0].ident.clone()))
                        && path.segments[1].ident == "from"
                        && c.args.len() == 1
                    {
                        *expr = self.convert(c.args[0].clone());
                        return;
                    }
                }
                if let syn::Expr::Path(p) = &*c.func {
                    let segments: Vec<String> = p
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect();
                    let detach = matches!(segments.as_slice(), [d] if d == "detach")
                        || matches!(segments.as_slice(), [k, d] if k == "differentiate" && d == "detach");
                    if detach && c.args.len() == 1 {
                        // Callers' forward sweeps run the twin as written: `detach` must drop
                        // the derivative parts of a dual number there too.
                        let arg = &c.args[0];
                        *expr = syn::parse_quote!(::differentiate::runtime::detached(#arg));
                        return;
                    }
                }
                if let Some(at_float_type) = self.unfollowed_call(c) {
                    *expr = at_float_type;
                    return;
                }
                self.rename_call(&mut c.func);
                // The callee's generic arguments (`g::<f64>`) and a float-library path.
                if let syn::Expr::Path(p) = &mut *c.func {
                    match self.path(p) {
                        Some(replaced) => *c.func = replaced,
                        None => syn::visit_mut::visit_expr_path_mut(self, p),
                    }
                }
            }
            syn::Expr::MethodCall(m) => {
                syn::visit_mut::visit_expr_method_call_mut(self, m);
                let on_self = matches!(&*m.receiver, syn::Expr::Path(p) if p.path.is_ident("self"));
                if on_self && self.methods.contains(&m.method.to_string()) {
                    m.method = crate::naming::twin_fn(&m.method);
                }
            }
            syn::Expr::Macro(m) => self.visit_macro_mut(&mut m.mac),
            // `[0.0; N]`: the length stays a length.
            syn::Expr::Repeat(r) => self.visit_expr_mut(&mut r.expr),
            // `buf[i] += e` borrows `buf` mutably before `e` reads it when `+=` is a trait
            // method (it is built in for `f64`): written out, as generic code writes it.
            syn::Expr::Binary(b) if matches!(&*b.left, syn::Expr::Index(_)) => {
                syn::visit_mut::visit_expr_binary_mut(self, b);
                let (left, right) = (&b.left, &b.right);
                let op = match b.op {
                    syn::BinOp::AddAssign(_) => quote!(+),
                    syn::BinOp::SubAssign(_) => quote!(-),
                    syn::BinOp::MulAssign(_) => quote!(*),
                    syn::BinOp::DivAssign(_) => quote!(/),
                    _ => return,
                };
                *expr = syn::parse_quote!(#left = #left #op (#right));
            }
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }

    /// Items in the body (`fn`, `const`) are their own, kept as written.
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}

    fn visit_stmt_macro_mut(&mut self, m: &mut syn::StmtMacro) {
        self.visit_macro_mut(&mut m.mac);
    }

    /// `vec![..]`, `assert!(..)`, `println!(..)`: their arguments are expressions.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        let tokens = mac.tokens.clone();
        if mac.path.is_ident("vec") {
            if let Ok(mut array) = syn::parse2::<syn::Expr>(quote!([#tokens])) {
                self.visit_expr_mut(&mut array);
                match &array {
                    syn::Expr::Array(a) => {
                        let elems = &a.elems;
                        mac.tokens = quote!(#elems);
                    }
                    syn::Expr::Repeat(r) => {
                        let (e, n) = (&r.expr, &r.len);
                        mac.tokens = quote!(#e; #n);
                    }
                    _ => {}
                }
            }
            return;
        }
        let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(mut args) = syn::parse::Parser::parse2(parser, tokens) {
            for arg in args.iter_mut() {
                self.visit_expr_mut(arg);
            }
            mac.tokens = args.to_token_stream();
        }
    }
}
