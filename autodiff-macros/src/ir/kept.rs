//! Kept expressions: the user's code the transform keeps as written (a passive computation,
//! a loop's range, a `match` pattern or guard, a statement macro), in which every local
//! variable is replaced by a marker naming its version (`__differentiate_var_N`) and every
//! array by one naming the array (`__differentiate_arr_N`). Lowering writes the markers;
//! the stages after it read them back here ([`super::uses`] for what an expression reads,
//! [`rename_vars`] when a stage copies code, [`resolve`] when the emitter names them), so no
//! stage after lowering needs to know how lowering found them.

use super::{ArrayId, VarId};
use proc_macro2::{Group, Span, TokenStream, TokenTree};

/// A local variable reference inside a kept expression. The emitter replaces it with the
/// generated name of version `v` (names are decided by `naming`, after lowering).
pub fn var_marker(v: VarId) -> TokenStream {
    let ident = syn::Ident::new(&format!("__differentiate_var_{v}"), Span::mixed_site());
    quote::quote!(#ident)
}

/// Reads the version back out of a [`var_marker`].
pub fn parse_var_marker(ident: &syn::Ident) -> Option<VarId> {
    ident
        .to_string()
        .strip_prefix("__differentiate_var_")?
        .parse()
        .ok()
}

/// A reference to array `a` inside a kept expression; see [`var_marker`].
pub fn array_marker(a: ArrayId) -> TokenStream {
    let ident = syn::Ident::new(&format!("__differentiate_arr_{a}"), Span::mixed_site());
    quote::quote!(#ident)
}

/// Reads the array back out of an [`array_marker`].
pub fn parse_array_marker(ident: &syn::Ident) -> Option<ArrayId> {
    ident
        .to_string()
        .strip_prefix("__differentiate_arr_")?
        .parse()
        .ok()
}

/// `tokens` with every variable marker renamed by `rename` (a stage that copies code gives
/// the copy new versions of the variables it defines).
pub fn rename_vars(tokens: TokenStream, rename: &impl Fn(VarId) -> VarId) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) => match parse_var_marker(&ident) {
                Some(v) => var_marker(rename(v)),
                None => TokenTree::Ident(ident).into(),
            },
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), rename_vars(g.stream(), rename));
                group.set_span(g.span());
                TokenTree::Group(group).into()
            }
            other => other.into(),
        })
        .collect()
}

/// `tokens` with every marker replaced by the name `var` or `array` gives it (the emitter's
/// generated names), located where the user wrote the variable. A marker they give no name
/// stays as it is.
pub fn resolve(
    tokens: TokenStream,
    var: &impl Fn(VarId) -> Option<syn::Ident>,
    array: &impl Fn(ArrayId) -> Option<syn::Ident>,
) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) => {
                let name = match (parse_var_marker(&ident), parse_array_marker(&ident)) {
                    (Some(v), _) => var(v),
                    (_, Some(a)) => array(a),
                    _ => None,
                };
                match name {
                    Some(name) => TokenTree::Ident(syn::Ident::new(
                        &name.to_string(),
                        name.span().located_at(ident.span()),
                    )),
                    None => TokenTree::Ident(ident),
                }
            }
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), resolve(g.stream(), var, array));
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::uses::Mentions;
    use quote::{format_ident, quote};

    /// `(v3 + a1[v3]).max(a1.len() as f64)`, written with markers.
    fn kept() -> TokenStream {
        let (v, a) = (var_marker(3), array_marker(1));
        quote!((#v + #a[#v]).max(#a.len() as f64))
    }

    #[test]
    fn markers_read_back_as_what_they_name() {
        let ident = |tokens: TokenStream| syn::parse2::<syn::Ident>(tokens).unwrap();
        assert_eq!(parse_var_marker(&ident(var_marker(7))), Some(7));
        assert_eq!(parse_array_marker(&ident(array_marker(7))), Some(7));
        assert_eq!(parse_var_marker(&ident(array_marker(7))), None);
        assert_eq!(parse_var_marker(&format_ident!("x")), None);
    }

    #[test]
    fn renaming_then_resolving_names_every_marker() {
        let renamed = rename_vars(kept(), &|v| v + 10);
        let resolved = resolve(renamed, &|v| Some(format_ident!("x_{v}")), &|a| {
            Some(format_ident!("buf_{a}"))
        });
        let expected = quote!((x_13 + buf_1[x_13]).max(buf_1.len() as f64));
        assert_eq!(resolved.to_string(), expected.to_string());
    }

    #[test]
    fn uses_count_variables_and_skip_arrays_only_measured() {
        let mut reads = Mentions::default();
        reads.tokens(kept());
        assert_eq!(reads.count.get(&3), Some(&2));
        assert!(reads.arrays.contains(&1), "`a1[..]` reads the array");
        let mut measured = Mentions::default();
        let a = array_marker(2);
        measured.tokens(quote!(#a.len() as f64));
        assert!(
            measured.arrays.is_empty(),
            "`.len()` does not read the elements"
        );
    }
}
