//! `#[derive(Differentiable)]`: a struct whose numbers carry a gradient.
//!
//! The impl is generic over the number type `F` and bounds every field that holds numbers by
//! `Differentiable<F>`, so the compiler, not this macro, decides which number type a struct
//! holds, and a field of a type that cannot hold a gradient is reported at that field. Fields
//! whose type is a constant by its spelling (integers, `bool`, `String`, collections of
//! them) or marked `#[differentiate(constant)]` are cloned into the gradient.

use crate::signature::{is_constant_type, mentions};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

pub fn derive(input: TokenStream) -> TokenStream {
    let input: syn::DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    match expand(&input) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

/// A field, and whether it holds numbers.
struct Field<'a> {
    member: syn::Member,
    ty: &'a syn::Type,
    numbers: bool,
}

fn expand(input: &syn::DeriveInput) -> syn::Result<TokenStream> {
    let syn::Data::Struct(data) = &input.data else {
        let keyword = match &input.data {
            syn::Data::Enum(e) => e.enum_token.span,
            syn::Data::Union(u) => u.union_token.span,
            syn::Data::Struct(_) => unreachable!(),
        };
        return Err(syn::Error::new(
            keyword,
            "`Differentiable` derives for structs only: a gradient has the shape of the value, and an enum's shape depends on its variant",
        ));
    };
    let fields = data
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let member = match &f.ident {
                Some(ident) => syn::Member::Named(ident.clone()),
                None => syn::Member::Unnamed(syn::Index::from(i)),
            };
            Ok(Field {
                member,
                ty: &f.ty,
                numbers: !marked_constant(f)? && !is_constant_type(&f.ty),
            })
        })
        .collect::<syn::Result<Vec<_>>>()?;

    let rt = quote!(::differentiate::runtime);
    let name = &input.ident;
    let (_, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut with_number = input.generics.clone();
    with_number.params.push(syn::parse_quote!(__F));
    let (impl_generics, _, _) = with_number.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    for f in fields.iter().filter(|f| f.numbers) {
        let ty = f.ty;
        predicates.push(quote_spanned!(ty.span()=> #ty: #rt::Differentiable<__F>));
    }
    for f in fields.iter().filter(|f| !f.numbers) {
        let ty = f.ty;
        predicates.push(quote_spanned!(ty.span()=> #ty: ::core::clone::Clone));
    }

    let zero_fields = fields.iter().map(|f| {
        let member = &f.member;
        if f.numbers {
            quote!(#member: #rt::Differentiable::<__F>::zero_like(&self.#member))
        } else {
            quote!(#member: ::core::clone::Clone::clone(&self.#member))
        }
    });
    let shell_fields = fields.iter().map(|f| {
        let member = &f.member;
        if f.numbers {
            let name = member.to_token_stream().to_string();
            quote!(#member: #rt::differentiable::field_shell::<__F, _>(&self.#member, #name, stored, depth))
        } else {
            quote!(#member: ::core::clone::Clone::clone(&self.#member))
        }
    });
    let number_fields: Vec<&syn::Member> = fields
        .iter()
        .filter(|f| f.numbers)
        .map(|f| &f.member)
        .collect();
    let number_names: Vec<String> = number_fields
        .iter()
        .map(|m| m.to_token_stream().to_string())
        .collect();
    let count = if number_fields.is_empty() {
        quote!(0)
    } else {
        quote!(#(#rt::Differentiable::<__F>::count_numbers(&self.#number_fields))+*)
    };
    // Each field that holds numbers, checked where it is declared (a field whose type names
    // the struct's own type parameters is checked where the struct is used).
    let own: Vec<&syn::Ident> = input.generics.type_params().map(|t| &t.ident).collect();
    let checks = fields
        .iter()
        .filter(|f| f.numbers && !own.iter().any(|t| mentions(f.ty, t)))
        .map(|f| {
            let ty = f.ty;
            quote_spanned!(ty.span()=> #rt::differentiable::holds_numbers::<#ty>();)
        });
    let (plain_impl_generics, _, _) = input.generics.split_for_impl();
    Ok(quote! {
        const _: () = { #(#checks)* };
        impl #plain_impl_generics #rt::differentiable::HoldsNumbers for #name #ty_generics #where_clause {}
        impl #impl_generics #rt::Differentiable<__F> for #name #ty_generics
        where #(#predicates,)*
        {
            fn zero_like(&self) -> Self {
                #name { #(#zero_fields,)* }
            }
            fn count_numbers(&self) -> usize {
                #count
            }
            fn write_numbers(&self, out: &mut ::std::vec::Vec<__F>) {
                #(#rt::Differentiable::<__F>::write_numbers(&self.#number_fields, out);)*
            }
            fn read_numbers(&mut self, numbers: &mut &[__F]) {
                #(#rt::Differentiable::<__F>::read_numbers(&mut self.#number_fields, numbers);)*
            }
            fn gradient_shell(&self, stored: &[&[&str]], depth: usize) -> Self {
                #name { #(#shell_fields,)* }
            }
            fn number_range(&self, path: &[&str]) -> ::core::option::Option<(usize, usize)> {
                let ::core::option::Option::Some((first, rest)) = path.split_first() else {
                    return ::core::option::Option::Some((0, #rt::Differentiable::<__F>::count_numbers(self)));
                };
                let mut offset = 0usize;
                #(
                    if *first == #number_names {
                        return #rt::Differentiable::<__F>::number_range(&self.#number_fields, rest)
                            .map(|(a, b)| (offset + a, offset + b));
                    }
                    offset += #rt::Differentiable::<__F>::count_numbers(&self.#number_fields);
                )*
                let _ = offset;
                ::core::option::Option::None
            }
        }
    })
}

/// `#[differentiate(constant)]` on a field: a constant whatever its type.
fn marked_constant(field: &syn::Field) -> syn::Result<bool> {
    let mut constant = false;
    for attr in field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("differentiate"))
    {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("constant") {
                constant = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown field option: `#[differentiate(constant)]` marks a field that holds no parameters",
                ))
            }
        })?;
    }
    Ok(constant)
}
