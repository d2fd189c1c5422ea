//! Expressions the macro builds as syntax trees directly. Quoting tokens and parsing them back
//! (`parse_quote!`) is the easy way to build a `syn::Expr`, but lowering and the twin build one
//! per constant conversion, and the parsing was a twentieth of the expansion time.

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::Expr;

/// `func(args..)`.
pub fn call(func: Expr, args: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::Call(syn::ExprCall {
        attrs: Vec::new(),
        func: Box::new(func),
        paren_token: Default::default(),
        args: args.into_iter().collect(),
    })
}

/// `receiver.method(args..)`.
pub fn method_call(
    receiver: Expr,
    method: syn::Ident,
    args: Punctuated<Expr, syn::Token![,]>,
) -> Expr {
    Expr::MethodCall(syn::ExprMethodCall {
        attrs: Vec::new(),
        receiver: Box::new(receiver),
        dot_token: Default::default(),
        method,
        turbofish: None,
        paren_token: Default::default(),
        args,
    })
}

/// The path `first::second` as an expression.
pub fn path2(first: &syn::Ident, second: &str) -> Expr {
    let segments = [first.clone(), syn::Ident::new(second, Span::call_site())];
    Expr::Path(syn::ExprPath {
        attrs: Vec::new(),
        qself: None,
        path: syn::Path {
            leading_colon: None,
            segments: segments.into_iter().map(syn::PathSegment::from).collect(),
        },
    })
}

#[cfg(test)]
mod tests {
    use quote::ToTokens;

    /// The trees print as the tokens `parse_quote!` would have parsed them from.
    #[test]
    fn print_as_written() {
        let n = syn::Ident::new("__Number", proc_macro2::Span::call_site());
        let lit: syn::Expr = syn::parse_quote!(2.5_f64);
        let built = super::method_call(
            super::call(super::path2(&n, "from"), [lit]),
            syn::Ident::new("unwrap", proc_macro2::Span::call_site()),
            Default::default(),
        );
        let parsed: syn::Expr = syn::parse_quote!(__Number::from(2.5_f64).unwrap());
        assert_eq!(built, parsed);
        assert_eq!(
            built.to_token_stream().to_string(),
            parsed.to_token_stream().to_string()
        );
    }
}
