//! The fuzzer's generic mode: each random function again, written over `T: Float` the way
//! generic crates write it, as the harness then checks at `T = f64` against the `f64` one,
//! bit for bit.
//!
//! `f64` becomes `T` wherever it is a type; a float literal `c` becomes `T::from(c).unwrap()`,
//! a cast `e as f64` becomes `T::from(e).unwrap()`, `f64::sin` becomes `T::sin`, the `f64`
//! constants (`SCALE`, `std::f64::consts::PI`, `f64::INFINITY`) become `T`'s, `buf[i] += e`
//! becomes `buf[i] = buf[i] + (e)`, and each call of another generated function calls its
//! generic twin.

use quote::{quote, ToTokens};
use syn::visit_mut::VisitMut;

/// The twin of a generated function's source, named `NAME_generic`; `names` are the batch's
/// functions (whose calls become calls of their twins).
/// A function using `f32` has none (the empty string): a generic function cannot leave its
/// float type (the README's limits), and the generator does not call such a function.
pub fn twin(source: &str, names: &[String]) -> String {
    if source.contains(" as f32") {
        return String::new();
    }
    let mut file: syn::File = syn::parse_str(source).expect("generated functions parse");
    let mut rewrite = Rewrite { names };
    for item in &mut file.items {
        if let syn::Item::Fn(f) = item {
            f.sig.ident = twin_name(&f.sig.ident);
            f.sig.generics = syn::parse_quote!(<T: ::num_traits::Float + ::num_traits::FloatConst + ::num_traits::NumAssign + ::std::iter::Sum + ::std::iter::Product>);
            rewrite.visit_item_fn_mut(f);
        }
    }
    prettyplease::unparse(&file)
}

pub fn twin_name(name: &syn::Ident) -> syn::Ident {
    quote::format_ident!("{}_generic", name)
}

struct Rewrite<'a> {
    names: &'a [String],
}

fn is_f64(path: &syn::Path) -> bool {
    path.is_ident("f64")
}

fn convert(e: impl ToTokens) -> syn::Expr {
    syn::parse_quote!(T::from(#e).unwrap())
}

impl VisitMut for Rewrite<'_> {
    fn visit_type_mut(&mut self, ty: &mut syn::Type) {
        if let syn::Type::Path(p) = ty {
            if p.qself.is_none() && is_f64(&p.path) {
                *ty = syn::parse_quote!(T);
                return;
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }

    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        match expr {
            syn::Expr::Lit(l) => {
                let float = match &l.lit {
                    syn::Lit::Float(f) => Some(f.base10_digits().to_string()),
                    syn::Lit::Int(i) if i.suffix() == "f64" => {
                        Some(format!("{}.0", i.base10_digits()))
                    }
                    _ => None,
                };
                if let Some(digits) = float {
                    let lit: syn::LitFloat = syn::parse_str(&format!("{digits}_f64"))
                        .unwrap_or_else(|_| syn::parse_str(&format!("{digits}.0_f64")).unwrap());
                    *expr = convert(lit);
                }
            }
            syn::Expr::Cast(c) if matches!(&*c.ty, syn::Type::Path(p) if is_f64(&p.path)) => {
                self.visit_expr_mut(&mut c.expr);
                let inner = &c.expr;
                *expr = convert(inner);
            }
            syn::Expr::Path(p) if p.qself.is_none() => {
                let segments: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
                match segments.as_slice() {
                    ["SCALE"] | ["HALF"] | ["std", "f64", "consts", _] => *expr = convert(&*p),
                    ["f64", "INFINITY"] => *expr = syn::parse_quote!(T::infinity()),
                    ["f64", "NEG_INFINITY"] => *expr = syn::parse_quote!(T::neg_infinity()),
                    ["f64", name] => {
                        let name = syn::Ident::new(name, proc_macro2::Span::call_site());
                        *expr = syn::parse_quote!(T::#name);
                    }
                    [name] if self.names.iter().any(|n| n == name) => {
                        let ident = twin_name(&p.path.segments[0].ident);
                        *expr = syn::parse_quote!(#ident);
                    }
                    _ => {}
                }
            }
            syn::Expr::Call(c) => {
                for arg in &mut c.args {
                    self.visit_expr_mut(arg);
                }
                // `f64::from(k)`: the integer `k` into `T`.
                if let syn::Expr::Path(p) = &*c.func {
                    let path = &p.path;
                    if path.segments.len() == 2
                        && path.segments[0].ident == "f64"
                        && path.segments[1].ident == "from"
                    {
                        let arg = &c.args[0];
                        *expr = convert(arg);
                        return;
                    }
                }
                self.visit_expr_mut(&mut c.func);
            }
            syn::Expr::Macro(m) => self.visit_macro_mut(&mut m.mac),
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

    /// `vec![..]` and statement macros: their arguments are expressions.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        if mac.path.is_ident("vec") {
            let wrapped = mac.tokens.clone();
            if let Ok(mut array) = syn::parse2::<syn::Expr>(quote!([#wrapped])) {
                self.visit_expr_mut(&mut array);
                if let syn::Expr::Array(a) = &array {
                    let elems = &a.elems;
                    mac.tokens = quote!(#elems);
                } else if let syn::Expr::Repeat(r) = &array {
                    let (e, n) = (&r.expr, &r.len);
                    mac.tokens = quote!(#e; #n);
                }
            }
        }
    }
}
