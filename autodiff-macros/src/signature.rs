//! Reads the function's signature: which parameters are active, what shape the result has.
//! Every rule about what may be differentiated is checked here, one `check_*` per rule.

use crate::errors::Errors;
use crate::options::Options;
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{FnArg, Pat, ReturnType, Type};

mod generics;

pub use generics::{mentions, FloatTypes, FLOAT_TRAITS};

/// How a parameter enters the derivative.
pub struct Param {
    pub ident: syn::Ident,
    pub ty: Type,
    pub kind: ParamKind,
    pub active: bool,
}

impl Param {
    /// A tensor passed by reference (`x: &Tensor`): its copies are passed on as `&x` too.
    pub fn tensor_ref(&self) -> bool {
        matches!(&self.ty, Type::Reference(_)) && matches!(self.kind, ParamKind::Value { .. })
    }
}

/// What a parameter's type allows.
#[derive(Clone)]
pub enum ParamKind {
    /// `f64` or `f32`.
    Scalar,
    /// `&[T]` or `&Vec<T>` of floats: gradient `Vec<T>`.
    Slice { elem: Type },
    /// `[T; N]` or `&[T; N]` of floats: gradient `[T; N]`.
    Array { elem: Type, len: syn::Expr },
    /// A value with derivative rules of its own, by value or `&`: the runtime's tensor type, or
    /// a nalgebra vector, matrix or point the body computes with whole (see `linalg`).
    /// Gradient: the same type (`ty`, without the reference).
    Value { ty: Type },
    /// A user struct (`p: &Params`, `p: Params`) that derives `Differentiable`: gradient the
    /// struct type (`ty`, without the reference). Active by default; `structs` flattens it.
    Struct { ty: Type },
    /// Anything else: always a constant.
    Constant,
}

impl Param {
    /// Whether its type could carry a gradient.
    pub fn differentiable(&self) -> bool {
        !matches!(self.kind, ParamKind::Constant)
    }

    /// The type of its gradient entry.
    pub fn gradient_type(&self) -> TokenStream {
        match &self.kind {
            ParamKind::Slice { elem } => quote!(::std::vec::Vec<#elem>),
            ParamKind::Array { elem, len } => quote!([#elem; #len]),
            ParamKind::Value { ty } | ParamKind::Struct { ty } => ty.to_token_stream(),
            ParamKind::Scalar | ParamKind::Constant => self.ty.to_token_stream(),
        }
    }
}

/// The owned array type of an ndarray view type (`ArrayView1<'a, f64>` → `Array1<f64>`,
/// through the runtime's re-export of ndarray): a view parameter's gradient.
pub fn view_gradient_type(ty: &Type) -> Option<Type> {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        other => other,
    };
    let Type::Path(p) = ty else {
        return None;
    };
    let last = p.path.segments.last()?;
    let name = last.ident.to_string();
    let owned = format!("Array{}", name.strip_prefix("ArrayView")?);
    let size = &owned["Array".len()..];
    if !(size.is_empty() || size == "D" || size.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let owned = syn::Ident::new(&owned, last.ident.span());
    let args: Vec<&syn::GenericArgument> = match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter(|a| !matches!(a, syn::GenericArgument::Lifetime(_)))
            .collect(),
        _ => Vec::new(),
    };
    Some(syn::parse_quote!(::differentiate::runtime::ndarray::#owned<#(#args),*>))
}

/// Classifies a parameter type.
pub fn param_kind(ty: &Type, floats: &FloatTypes) -> ParamKind {
    let is_float_type = |t: &Type| floats.is_float(t);
    if let Some(owned) = view_gradient_type(ty) {
        // An ndarray view: read as numbers, its gradient an owned array.
        return ParamKind::Struct { ty: owned };
    }
    match ty {
        t if is_float_type(t) => ParamKind::Scalar,
        t if is_tensor_type(t) => ParamKind::Value { ty: t.clone() },
        Type::Reference(r) if r.mutability.is_none() && is_tensor_type(&r.elem) => {
            ParamKind::Value {
                ty: (*r.elem).clone(),
            }
        }
        Type::Paren(p) => param_kind(&p.elem, floats),
        Type::Group(g) => param_kind(&g.elem, floats),
        Type::Array(a) if is_float_type(&a.elem) => ParamKind::Array {
            elem: (*a.elem).clone(),
            len: a.len.clone(),
        },
        Type::Reference(r) if r.mutability.is_none() => match &*r.elem {
            Type::Slice(s) if is_float_type(&s.elem) => ParamKind::Slice {
                elem: (*s.elem).clone(),
            },
            Type::Array(a) if is_float_type(&a.elem) => ParamKind::Array {
                elem: (*a.elem).clone(),
                len: a.len.clone(),
            },
            Type::Path(p) => match vec_element(p, floats) {
                Some(elem) => ParamKind::Slice { elem },
                None if is_struct_type(&r.elem, floats) => ParamKind::Struct {
                    ty: (*r.elem).clone(),
                },
                None => ParamKind::Constant,
            },
            _ => ParamKind::Constant,
        },
        t if is_struct_type(t, floats) => ParamKind::Struct { ty: t.clone() },
        _ => ParamKind::Constant,
    }
}

/// A named type that is not a float, a tensor, a type parameter or a constant by its spelling:
/// a user struct, which holds parameters if it derives `Differentiable`.
fn is_struct_type(ty: &Type, floats: &FloatTypes) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_none_or(|s| s.ident != "Vec"))
        && !floats.is_float(ty)
        && floats.other_parameter(ty).is_none()
        && !is_tensor_type(ty)
        && !is_constant_type(ty)
}

/// `T` of `Vec<T>` when `T` is a float.
fn vec_element(path: &syn::TypePath, floats: &FloatTypes) -> Option<Type> {
    let last = path.path.segments.last()?;
    if last.ident != "Vec" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) if floats.is_float(t) => Some(t.clone()),
        _ => None,
    }
}

/// The shape of the returned value, which is also the seed's.
pub enum Output {
    /// `f64` or `f32`: `NAME_grad` exists.
    Scalar(Type),
    /// `(f64, f32, ..)`
    Tuple(Vec<Type>),
    /// `[T; N]` with a literal `N`.
    Array(Type, usize),
    /// The tensor type, or a nalgebra vector, matrix or point: the seed has the result's type
    /// (and shape).
    Tensor(Type),
    /// `Vec<T>` of a float `T`: the seed is `&[T]` (see `seeded`).
    Vec(Type),
    /// A user struct of numbers, built by a literal at the end of the body: the seed has its
    /// type (see `struct_results`).
    Struct(Type),
}

impl Output {
    pub fn components(&self) -> usize {
        match self {
            Output::Scalar(_) | Output::Tensor(_) | Output::Vec(_) | Output::Struct(_) => 1,
            Output::Tuple(types) => types.len(),
            Output::Array(_, n) => *n,
        }
    }

    pub fn component_type(&self, k: usize) -> &Type {
        match self {
            Output::Scalar(ty) | Output::Tensor(ty) | Output::Vec(ty) | Output::Struct(ty) => ty,
            Output::Tuple(types) => &types[k],
            Output::Array(ty, _) => ty,
        }
    }
}

pub struct Signature {
    /// `&self`, the only receiver a differentiated method may take.
    pub has_self: bool,
    /// An associated function without `self`: its siblings are called as `Self::f`.
    pub associated: bool,
    /// `wrt(self)`: the fields of `self` are active, and the gradient starts with a `Self`.
    pub self_active: bool,
    pub params: Vec<Param>,
    /// `None` when the return type cannot be differentiated (already reported).
    pub output: Option<Output>,
    pub return_type: Type,
    /// `f64`, `f32` and the function's float type parameter.
    pub floats: FloatTypes,
    /// The loops to checkpoint (`checkpoint('label, s)`), by label.
    pub checkpoints: Vec<crate::options::Checkpoint>,
}

impl Signature {
    pub fn active_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.active)
    }
}

/// The primitive integer types.
pub const INTEGER_TYPES: &[&str] = &[
    "usize", "isize", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128",
];

/// Whether `ident` names a primitive integer type.
pub fn is_integer_type(ident: &syn::Ident) -> bool {
    INTEGER_TYPES.contains(&ident.to_string().as_str())
}

/// Whether `ty` is written as a primitive integer type (`usize`, `i32`, ..).
pub fn is_integer_ty(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.qself.is_none() && p.path.get_ident().is_some_and(is_integer_type))
}

/// Types that never hold a gradient, by their spelling: integers, `bool`, `char`, strings,
/// functions and closures, and collections, options and references of them.
pub fn is_constant_type(ty: &Type) -> bool {
    const CONSTANT_NAMES: &[&str] = &[
        "bool",
        "char",
        "str",
        "String",
        "PhantomData",
        "Range",
        "RangeInclusive",
        "Ordering",
    ];
    const CONTAINERS: &[&str] = &[
        "Vec", "Option", "Box", "Rc", "Arc", "HashMap", "BTreeMap", "HashSet", "BTreeSet",
        "VecDeque", "Cell", "RefCell",
    ];
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let Some(last) = p.path.segments.last() else {
                return false;
            };
            let name = last.ident.to_string();
            if is_integer_type(&last.ident) || CONSTANT_NAMES.contains(&name.as_str()) {
                return true;
            }
            if !CONTAINERS.contains(&name.as_str()) {
                return false;
            }
            if name != "Vec" {
                // Options, boxes and maps are passed through: a gradient has the value's
                // shape, and theirs can change from one call to the next.
                return true;
            }
            // A vector is a constant when what it holds is.
            match &last.arguments {
                syn::PathArguments::AngleBracketed(args) => args.args.iter().all(|a| match a {
                    syn::GenericArgument::Type(t) => is_constant_type(t),
                    _ => true,
                }),
                _ => false,
            }
        }
        Type::Reference(r) => is_constant_type(&r.elem),
        Type::Array(a) => is_constant_type(&a.elem),
        Type::Slice(s) => is_constant_type(&s.elem),
        Type::Tuple(t) => t.elems.iter().all(is_constant_type),
        Type::Paren(p) => is_constant_type(&p.elem),
        Type::Group(g) => is_constant_type(&g.elem),
        Type::BareFn(_) | Type::ImplTrait(_) | Type::TraitObject(_) | Type::Never(_) => true,
        _ => false,
    }
}

/// Whether `ty` names the runtime's tensor type (`Tensor`, `differentiate::Tensor`, ..).
pub fn is_tensor_type(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Tensor" && s.arguments.is_empty()),
        Type::Paren(p) => is_tensor_type(&p.elem),
        Type::Group(g) => is_tensor_type(&g.elem),
        _ => false,
    }
}

pub fn analyse(sig: &syn::Signature, options: &Options, errors: &mut Errors) -> Signature {
    check_qualifiers(sig, errors);
    let floats = generics::float_types(sig, errors);
    let mut has_self = false;
    let mut params = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                has_self = true;
                check_receiver(receiver, errors);
            }
            FnArg::Typed(typed) => {
                let ident = match &*typed.pat {
                    Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => p.ident.clone(),
                    Pat::Wild(w) => {
                        syn::Ident::new(&format!("__unnamed_{i}"), w.underscore_token.span)
                    }
                    other => {
                        errors.spanned(other, "patterns in parameters are not supported by `#[differentiate]`; bind the parameter to a name and destructure it in the body");
                        syn::Ident::new(&format!("__unnamed_{i}"), proc_macro2::Span::call_site())
                    }
                };
                check_param_type(&typed.ty, errors);
                let kind = param_kind(&typed.ty, &floats);
                params.push(Param {
                    ident,
                    ty: (*typed.ty).clone(),
                    kind,
                    active: false,
                });
            }
        }
    }
    let rejected = sig.inputs.iter().any(rejected_type);
    let reported_generic = choose_active(&mut params, sig, options, rejected, &floats, errors);
    for p in params.iter_mut().filter(|p| !p.active) {
        if matches!(p.kind, ParamKind::Struct { .. }) {
            // A struct left out of `wrt(..)` is a constant like any other.
            p.kind = ParamKind::Constant;
        }
    }
    let (mut output, return_type) = output_shape(sig, &floats, reported_generic, errors);
    if !check_one_number_type(&params, output.as_ref(), &floats, errors) {
        // The body's errors would only repeat that the types disagree.
        output = None;
    }
    Signature {
        has_self,
        associated: options.in_impl && !has_self,
        self_active: has_self
            && options
                .wrt
                .as_ref()
                .is_some_and(|w| w.names.iter().any(|n| n == "self")),
        params,
        output,
        return_type,
        floats,
        checkpoints: options.checkpoints.clone(),
    }
}

fn check_qualifiers(sig: &syn::Signature, errors: &mut Errors) {
    if let Some(token) = &sig.asyncness {
        errors.spanned(token, "`async fn` cannot be differentiated; differentiate a synchronous function and call it from async code");
    }
    if let Some(token) = &sig.unsafety {
        errors.spanned(token, "`unsafe fn` cannot be differentiated; move the unsafe operation into a helper with its own derivative, and differentiate a safe function");
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "variadic functions cannot be differentiated");
    }
}

fn check_receiver(receiver: &syn::Receiver, errors: &mut Errors) {
    if receiver.reference.is_none() {
        errors.spanned(
            receiver,
            "a differentiated method takes `&self`; taking `self` by value is not supported",
        );
    } else if receiver.mutability.is_some() {
        errors.spanned(receiver, "a differentiated method takes `&self`: its fields are constants of the derivative, and `&mut self` would let the adjoint observe mutation");
    }
}

/// Whether [`check_param_type`] rejects this parameter (then "no active parameter" would
/// only repeat that error).
fn rejected_type(input: &FnArg) -> bool {
    let FnArg::Typed(typed) = input else {
        return false;
    };
    match &*typed.ty {
        Type::Ptr(_) => true,
        Type::Reference(r) => r.mutability.is_some(),
        _ => false,
    }
}

fn check_param_type(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Reference(r) if r.mutability.is_some() => errors.spanned(
            r,
            "`&mut` parameters cannot be differentiated: the derivative needs the value before the mutation; take the value (or `&`) and return the result",
        ),
        Type::Ptr(p) => errors.spanned(p, "raw pointer parameters cannot be differentiated; pass the value or a reference"),
        _ => {}
    }
}

fn choose_active(
    params: &mut [Param],
    sig: &syn::Signature,
    options: &Options,
    rejected: bool,
    floats: &FloatTypes,
    errors: &mut Errors,
) -> bool {
    let mut generic_error = false;
    match &options.wrt {
        Some(wrt) => {
            let mut seen: Vec<String> = Vec::new();
            for name in &wrt.names {
                let key = name.to_string();
                if seen.contains(&key) {
                    errors.spanned(name, format!("`{name}` is listed twice in `wrt(..)`"));
                    continue;
                }
                seen.push(key);
                if name == "self" {
                    if sig.receiver().is_none() {
                        errors.spanned(
                            name,
                            format!(
                                "`wrt` names `self`, but `{}` has no `self` parameter",
                                sig.ident
                            ),
                        );
                    }
                    continue;
                }
                match params.iter_mut().find(|p| p.ident == *name) {
                    None => errors.spanned(name, format!("`wrt` names `{name}`, but `{}` has no parameter `{name}`", sig.ident)),
                    Some(p) if not_a_float_parameter(p, floats, errors) => generic_error = true,
                    Some(p) if !p.differentiable() => errors.spanned(
                        name,
                        format!(
                            "parameter `{name}` has type `{}`, which cannot be active; active parameters are `f64`, `f32`, slices `&[f64]`, `&Vec<f64>`, arrays `[f64; N]`, `Tensor` and structs that derive `Differentiable`",
                            p.ty.to_token_stream()
                        ),
                    ),
                    Some(p) => p.active = true,
                }
            }
            if wrt.names.is_empty() {
                errors.spanned(&wrt.keyword, "`wrt()` is empty; name at least one parameter to differentiate with respect to");
            }
        }
        None => {
            for p in params.iter_mut() {
                generic_error |= not_a_float_parameter(p, floats, errors);
                p.active = p.differentiable();
            }
            if !params.iter().any(|p| p.active) && !rejected && !generic_error {
                errors.spanned(
                    &sig.ident,
                    format!(
                        "`{}` has no parameter to differentiate with respect to; add an `f64`, `f32`, `&[f64]` or `[f64; N]` parameter",
                        sig.ident
                    ),
                );
            }
        }
    }
    generic_error
}

/// Reports a parameter of a type parameter that is not a float type (`x: T` with `T: Clone`),
/// where it would be active; whether it did.
fn not_a_float_parameter(param: &Param, floats: &FloatTypes, errors: &mut Errors) -> bool {
    let elem = match &param.ty {
        Type::Reference(r) => match &*r.elem {
            Type::Slice(s) => &*s.elem,
            Type::Array(a) => &*a.elem,
            other => other,
        },
        Type::Array(a) => &*a.elem,
        other => other,
    };
    let Some(t) = floats.other_parameter(elem) else {
        return false;
    };
    errors.spanned(
        &param.ty,
        format!(
            "`{}` has type `{}`, and `{t}` is not a float type: `#[differentiate]` differentiates with respect to a type parameter bounded by `num_traits::Float` (or `num_traits::real::Real`); add the bound `{t}: Float`, or leave `{}` out of `wrt(..)`",
            param.ident,
            param.ty.to_token_stream(),
            param.ident
        ),
    );
    true
}

/// `Vector3<T>` and the like, over the float type parameter `T`.
fn is_linalg_of(ty: &syn::Type, floats: &FloatTypes) -> bool {
    crate::linalg::scalar_type(ty).is_some_and(|t| floats.is_generic(t))
}

/// In a function generic over a float type `T`, every active value is a `T`: an active `f64`
/// or `f32` parameter beside it is reported, and so is such a result (then `false`).
fn check_one_number_type(
    params: &[Param],
    output: Option<&Output>,
    floats: &FloatTypes,
    errors: &mut Errors,
) -> bool {
    let Some(t) = &floats.generic else {
        return true;
    };
    let mut result_ok = true;
    if let Some(output) = output {
        let concrete = (0..output.components())
            .map(|k| output.component_type(k))
            .find(|ty| !floats.is_generic(ty) && !is_tensor_type(ty) && !is_linalg_of(ty, floats));
        if let Some(ty) = concrete {
            errors.spanned(
                ty,
                format!(
                    "a function generic over the float type `{t}` returns `{t}` (or a tuple or array of `{t}`), not `{}`: every active value must be a `{t}`",
                    ty.to_token_stream()
                ),
            );
            result_ok = false;
        }
    }
    for p in params.iter().filter(|p| p.active) {
        let elem = match &p.kind {
            ParamKind::Scalar => &p.ty,
            ParamKind::Slice { elem } | ParamKind::Array { elem, .. } => elem,
            ParamKind::Value { .. } | ParamKind::Constant | ParamKind::Struct { .. } => continue,
        };
        if !floats.is_generic(elem) {
            errors.spanned(
                &p.ty,
                format!(
                    "`{}` is active with type `{}` in a function generic over the float type `{t}`; every active value must be a `{t}`: write `{t}` here, or leave `{}` out of `wrt(..)`",
                    p.ident,
                    p.ty.to_token_stream(),
                    p.ident
                ),
            );
        }
    }
    result_ok
}

fn output_shape(
    sig: &syn::Signature,
    floats: &FloatTypes,
    reported_generic: bool,
    errors: &mut Errors,
) -> (Option<Output>, Type) {
    let is_float_type = |t: &Type| floats.is_float(t);
    let ty = match &sig.output {
        ReturnType::Default => {
            errors.at(
                sig.paren_token.span.close(),
                "a function returning `()` has nothing to differentiate; return the value (`-> f64`)",
            );
            return (None, syn::parse_quote!(()));
        }
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    let shape = match &ty {
        t if is_float_type(t) => Some(Output::Scalar(t.clone())),
        t if is_tensor_type(t) || crate::linalg::is_type(t) => Some(Output::Tensor(t.clone())),
        Type::Path(p) if vec_element(p, floats).is_some() => {
            vec_element(p, floats).map(Output::Vec)
        }
        Type::Tuple(tuple) if !tuple.elems.is_empty() && tuple.elems.iter().all(is_float_type) => {
            Some(Output::Tuple(tuple.elems.iter().cloned().collect()))
        }
        t if floats.other_parameter(t).is_none() && is_struct_type(t, floats) => {
            Some(Output::Struct(t.clone()))
        }
        Type::Array(array) if is_float_type(&array.elem) => match array_len(&array.len) {
            Some(n) if n > 0 => Some(Output::Array((*array.elem).clone(), n)),
            _ => {
                errors.spanned(
                    &array.len,
                    "the length of a returned array must be a positive integer literal",
                );
                None
            }
        },
        other => {
            match floats.other_parameter(other) {
                // `-> T` of a `T: Clone`: reported at the parameters of type `T`, if any.
                Some(_) if reported_generic => {}
                Some(t) => errors.spanned(
                    other,
                    format!("`{t}` is not a float type: `#[differentiate]` differentiates functions whose result is a type parameter bounded by `num_traits::Float` (or `num_traits::real::Real`); add the bound `{t}: Float`"),
                ),
                None => errors.spanned(
                    other,
                    format!(
                        "`{}` cannot be differentiated; return `f64`, `f32`, a tuple of them, an array `[f64; N]`, a `Vec<f64>` or a `Tensor`",
                        other.to_token_stream()
                    ),
                ),
            }
            None
        }
    };
    (shape, ty)
}

fn array_len(len: &syn::Expr) -> Option<usize> {
    match len {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.base10_parse().ok(),
        _ => None,
    }
}
