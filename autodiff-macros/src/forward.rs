//! How the forward sweep writes the primitives of the intermediate form as Rust: shared by
//! the pullback's forward sweep (`reverse`) and by `NAME_graph` (`graph`), which run the same
//! function and must compute the same values.
use crate::ir::*;
use crate::naming;
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

/// `a + b`, `a - b`, `a * b`, `a / b`.
pub fn arith(op: ArithOp, a: TokenStream, b: TokenStream) -> TokenStream {
    match op {
        ArithOp::Add => quote!(#a + #b),
        ArithOp::Sub => quote!(#a - #b),
        ArithOp::Mul => quote!(#a * #b),
        ArithOp::Div => quote!(#a / #b),
    }
}

/// A float-library call as the user wrote it: `x.powi(3)` or `f64::powi(x, 3)`.
pub fn prim_call(form: &CallForm, args: Vec<TokenStream>) -> TokenStream {
    match form {
        CallForm::Method(method) => {
            let (receiver, rest) = args.split_first().expect("a method has a receiver");
            quote!(#receiver.#method(#(#rest),*))
        }
        CallForm::Path(path) => quote!(#path(#(#args),*)),
    }
}

/// `Float::sin(x)`: a method of a number whose type is nalgebra's `RealField` too, where
/// `x.sin()` would be ambiguous between the two traits.
pub fn float_method_call(
    method: &syn::Ident,
    args: Vec<TokenStream>,
    rt: &TokenStream,
) -> TokenStream {
    quote!(#rt::num_traits::Float::#method(#(#args),*))
}

/// `of.0` of a tuple, `of[0]` of an array.
pub fn component(
    of: &syn::Ident,
    index: usize,
    tuple: bool,
    field: Option<&syn::Ident>,
) -> TokenStream {
    if let Some(field) = field {
        quote!(#of.#field)
    } else if tuple {
        let index = syn::Index::from(index);
        quote!(#of.#index)
    } else {
        quote!(#of[#index])
    }
}

/// `array[index]`, or for a load moved before the loop that repeated it, the element only if
/// the loop's range is not empty (else `unused`: nothing reads it).
pub fn load(
    ir: &FnIr,
    array: &syn::Ident,
    index: TokenStream,
    guard: Option<&Guard>,
    unused: TokenStream,
) -> TokenStream {
    match guard {
        None => quote!(#array[#index]),
        Some(guard) => {
            let range = resolve(ir, guard.range.to_token_stream());
            quote! {
                if ::core::iter::Iterator::next(&mut (#range)).is_some() {
                    #array[#index]
                } else {
                    #unused
                }
            }
        }
    }
}

/// `name[start..start + len]`, a sub-slice passed to a call.
pub fn sub_slice(name: TokenStream, start: TokenStream, len: TokenStream) -> TokenStream {
    quote!(#name[#start..#start + #len])
}

/// The branch picking one of `bodies`: `if cond { .. } else { .. }` or the user's `match`.
pub fn dispatch(
    ir: &FnIr,
    selector: &Selector,
    bodies: &[TokenStream],
    operand: impl Fn(&Operand) -> TokenStream,
) -> TokenStream {
    match selector {
        Selector::If(cond) => {
            let cond = operand(cond);
            let (then, otherwise) = (&bodies[0], &bodies[1]);
            quote!(if #cond #then else #otherwise)
        }
        Selector::Match {
            scrutinee,
            pats,
            guards,
            ..
        } => {
            let scrutinee = operand(scrutinee);
            let arms = pats
                .iter()
                .zip(guards)
                .zip(bodies)
                .map(|((pat, guard), body)| {
                    let pat = resolve(ir, pat.to_token_stream());
                    let guard = guard.as_ref().map(|g| {
                        let g = resolve(ir, g.to_token_stream());
                        quote!(if #g)
                    });
                    quote!(#pat #guard => #body)
                });
            quote!(match #scrutinee { #(#arms)* })
        }
    }
}

/// Replaces the markers of kept user expressions with the generated names.
pub fn resolve(ir: &FnIr, tokens: TokenStream) -> TokenStream {
    kept::resolve(
        tokens,
        &|v| (v < ir.vars.len()).then(|| naming::primal(ir, v)),
        &|a| (a < ir.arrays.len()).then(|| naming::array(ir, a)),
    )
}
