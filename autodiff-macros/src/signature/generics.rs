//! The function's type parameters: which one is its float type (`T` of `T: Float`), so that
//! `T`, `&[T]` and `[T; N]` parameters can be active as `f64` ones are.
//!
//! A type parameter is the float type when a bound names a float trait (`Float`, `Real`,
//! `FloatCore`, nalgebra's `RealField`), or, failing that, when the function returns it and a
//! bound names a trait of the user's own, which the macro cannot see into (`T: MyFloat`, with
//! `trait MyFloat: Float`): the generated items require `T: Float` themselves, so a trait that
//! is not one makes the call, not the expansion, fail, with the bound named. One float type
//! parameter per function: every active value has that type, which is what lets the generated
//! code write its own zeros as `T::zero()`.

use crate::errors::Errors;
use quote::ToTokens;
use syn::{GenericParam, Type, TypeParamBound, WherePredicate};

/// Traits whose bound makes a type parameter the float type.
pub const FLOAT_TRAITS: &[&str] = &["Float", "Real", "FloatCore", "RealField"];

/// Traits that say nothing about being a float: a parameter bounded only by these is not one.
const OTHER_TRAITS: &[&str] = &[
    "Add",
    "AddAssign",
    "Any",
    "AsMut",
    "AsRef",
    "Borrow",
    "Bounded",
    "Clone",
    "Copy",
    "Debug",
    "Default",
    "Deserialize",
    "DeserializeOwned",
    "Display",
    "Div",
    "DivAssign",
    "DoubleEndedIterator",
    "Eq",
    "ExactSizeIterator",
    "Fn",
    "FnMut",
    "FnOnce",
    "FloatConst",
    "From",
    "FromPrimitive",
    "FromStr",
    "Hash",
    "Into",
    "IntoIterator",
    "Inv",
    "Iterator",
    "LowerExp",
    "Mul",
    "MulAdd",
    "MulAssign",
    "Neg",
    "Num",
    "NumAssign",
    "NumAssignOps",
    "NumCast",
    "NumOps",
    "NumRef",
    "One",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Pow",
    "Product",
    "RefNum",
    "Rem",
    "RemAssign",
    "Send",
    "Serialize",
    "Signed",
    "Sized",
    "Sub",
    "SubAssign",
    "Sum",
    "Sync",
    "ToPrimitive",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Unsigned",
    "UpperExp",
    "Zero",
];

/// The float types of a function: `f64`, `f32` and its float type parameter, if any.
#[derive(Clone, Default)]
pub struct FloatTypes {
    /// The type parameter that is the float type (`T` of `T: Float`).
    pub generic: Option<syn::Ident>,
    /// Its bounds, inline and in the `where` clause.
    pub bounds: Vec<TypeParamBound>,
    /// The other type parameters, which are not float types (for the error at a parameter
    /// of such a type).
    pub other: Vec<syn::Ident>,
}

impl FloatTypes {
    /// Whether the float type parameter is bounded by nalgebra's `RealField` and by `Float`
    /// (or `Real`), two traits with the same functions.
    pub fn is_real_field(&self) -> bool {
        let bounded_by = |names: &[&str]| {
            self.bounds.iter().any(|b| {
                matches!(b, TypeParamBound::Trait(t)
                    if t.path.segments.last().is_some_and(|s| names.iter().any(|n| s.ident == n)))
            })
        };
        bounded_by(&["RealField"]) && bounded_by(&["Float", "Real"])
    }

    /// Whether `ty` is `f64`, `f32` or the float type parameter.
    pub fn is_float(&self, ty: &Type) -> bool {
        match ty {
            Type::Path(p) if p.qself.is_none() => p
                .path
                .get_ident()
                .is_some_and(|i| self.is_float_name(&i.to_string())),
            Type::Paren(p) => self.is_float(&p.elem),
            Type::Group(g) => self.is_float(&g.elem),
            _ => false,
        }
    }

    /// Whether `name` names a float type: `f64`, `f32` or the float type parameter.
    pub fn is_float_name(&self, name: &str) -> bool {
        name == "f64" || name == "f32" || self.generic.as_ref().is_some_and(|t| t == name)
    }

    /// Whether `ty` is the float type parameter itself.
    pub fn is_generic(&self, ty: &Type) -> bool {
        match (ty, &self.generic) {
            (Type::Path(p), Some(t)) if p.qself.is_none() => p.path.is_ident(t),
            (Type::Paren(p), _) => self.is_generic(&p.elem),
            (Type::Group(g), _) => self.is_generic(&g.elem),
            _ => false,
        }
    }

    /// The type parameter `ty` names, when it is one that is not a float type.
    pub fn other_parameter(&self, ty: &Type) -> Option<&syn::Ident> {
        match ty {
            Type::Path(p) if p.qself.is_none() => {
                let ident = p.path.get_ident()?;
                self.other.iter().find(|o| *o == ident)
            }
            Type::Paren(p) => self.other_parameter(&p.elem),
            Type::Group(g) => self.other_parameter(&g.elem),
            _ => None,
        }
    }
}

/// How a type parameter's bounds read.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Bounds {
    /// A float trait among them.
    Float,
    /// A trait the macro does not know among them (the user's own, perhaps a float trait).
    Unknown,
    /// Only traits that are not float traits, or none.
    Other,
}

/// Finds the float type parameter of `sig`; a second one is an error.
pub fn float_types(sig: &syn::Signature, errors: &mut Errors) -> FloatTypes {
    let generics = &sig.generics;
    let mut params: Vec<(syn::Ident, Bounds)> = Vec::new();
    let mut all_bounds: Vec<Vec<TypeParamBound>> = Vec::new();
    for param in &generics.params {
        if let GenericParam::Type(t) = param {
            let mut bounds = classify(t.bounds.iter(), Bounds::Other);
            let mut written: Vec<TypeParamBound> = t.bounds.iter().cloned().collect();
            if let Some(clause) = &generics.where_clause {
                for predicate in &clause.predicates {
                    if let WherePredicate::Type(p) = predicate {
                        if matches!(&p.bounded_ty, Type::Path(path) if path.path.is_ident(&t.ident))
                        {
                            bounds = classify(p.bounds.iter(), bounds);
                            written.extend(p.bounds.iter().cloned());
                        }
                    }
                }
            }
            params.push((t.ident.clone(), bounds));
            all_bounds.push(written);
        }
    }
    let returned = |ident: &syn::Ident| match &sig.output {
        syn::ReturnType::Type(_, ty) => mentions(ty, ident),
        syn::ReturnType::Default => false,
    };
    let mut floats = FloatTypes::default();
    let explicit: Vec<&syn::Ident> = params
        .iter()
        .filter(|(_, b)| *b == Bounds::Float)
        .map(|(i, _)| i)
        .collect();
    let chosen: Option<syn::Ident> = match explicit.as_slice() {
        [] => params
            .iter()
            .find(|(i, b)| *b == Bounds::Unknown && returned(i))
            .map(|(i, _)| i.clone()),
        [first, rest @ ..] => {
            for second in rest {
                errors.spanned(
                    second,
                    format!(
                        "`{second}` is a second float type parameter; `#[differentiate]` supports one float type per function: write `{first}` for every float"
                    ),
                );
            }
            Some((*first).clone())
        }
    };
    if let Some(i) = chosen
        .as_ref()
        .and_then(|c| params.iter().position(|(p, _)| p == c))
    {
        floats.bounds = all_bounds.swap_remove(i);
    }
    for (ident, bounds) in params {
        // A second float type parameter is reported above, not again at its parameters.
        if Some(&ident) != chosen.as_ref() && bounds != Bounds::Float {
            floats.other.push(ident);
        }
    }
    floats.generic = chosen;
    floats
}

fn classify<'b>(bounds: impl Iterator<Item = &'b TypeParamBound>, mut so_far: Bounds) -> Bounds {
    for bound in bounds {
        let TypeParamBound::Trait(t) = bound else {
            continue;
        };
        let Some(last) = t.path.segments.last() else {
            continue;
        };
        let name = last.ident.to_string();
        if FLOAT_TRAITS.contains(&name.as_str()) {
            so_far = Bounds::Float;
        } else if !OTHER_TRAITS.contains(&name.as_str()) && so_far == Bounds::Other {
            so_far = Bounds::Unknown;
        }
    }
    so_far
}

/// Whether `ty` mentions the identifier `ident` anywhere.
pub fn mentions(ty: &Type, ident: &syn::Ident) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|tree| is_ident(&tree, ident))
}

fn is_ident(tree: &proc_macro2::TokenTree, ident: &syn::Ident) -> bool {
    match tree {
        proc_macro2::TokenTree::Ident(i) => i == ident,
        proc_macro2::TokenTree::Group(g) => g.stream().into_iter().any(|t| is_ident(&t, ident)),
        _ => false,
    }
}
