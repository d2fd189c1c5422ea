//! The attribute's options: `#[differentiate]`, `#[differentiate(wrt(a, b))]`,
//! `#[differentiate(vjp = path)]`, which supplies the derivative instead of deriving it, and
//! `#[differentiate(dump)]`, which also generates the generated code as text, and
//! `#[differentiate(checkpoint('label, s))]`, which reverses the loop labelled `'label` with
//! `s` snapshots of its state instead of recording every iteration.

use crate::errors::Errors;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Token};

#[derive(Default)]
pub struct Options {
    /// `wrt(a, b)`: exactly these parameters are active. `None`: every differentiable one.
    pub wrt: Option<Wrt>,
    /// `vjp = path`: the user's function computing `(value, seedᵀ·J)`, with the signature of
    /// the `NAME_vjp` the macro would generate. The body is then not differentiated.
    pub vjp: Option<syn::Path>,
    /// `dump`: also generate `NAME_dump() -> &'static str`, the generated code for a reader.
    pub dump: bool,
    /// `checkpoint('label, s)`: the loop labelled `'label` keeps `s` snapshots of its state
    /// and runs segments again in the reverse sweep (binomial checkpointing).
    pub checkpoints: Vec<Checkpoint>,
    /// Not an option the user writes: the function is in an `impl` block the attribute is on,
    /// so a function without `self` is an associated function, called as `Self::f`.
    pub in_impl: bool,
}

impl Options {
    /// `#[differentiate]` with no options.
    pub fn is_default(&self) -> bool {
        self.wrt.is_none() && self.vjp.is_none() && !self.dump && self.checkpoints.is_empty()
    }
}

#[derive(Clone)]
pub struct Checkpoint {
    pub label: syn::Lifetime,
    pub snapshots: usize,
}

pub struct Wrt {
    pub keyword: Ident,
    pub names: Vec<Ident>,
}

/// Parses the attribute arguments, reporting every malformed option.
pub fn parse(args: proc_macro2::TokenStream, errors: &mut Errors) -> Options {
    match syn::parse2::<RawOptions>(args) {
        Ok(raw) => {
            let mut options = Options::default();
            for option in raw.0 {
                match option {
                    RawOption::Wrt(wrt) => {
                        if options.wrt.is_some() {
                            errors.spanned(&wrt.keyword, "`wrt` is given twice; list every active parameter in one `wrt(..)`");
                        } else {
                            options.wrt = Some(wrt);
                        }
                    }
                    RawOption::Vjp(keyword, path) => {
                        if options.vjp.is_some() {
                            errors.spanned(&keyword, "`vjp` is given twice");
                        } else {
                            options.vjp = Some(path);
                        }
                    }
                    RawOption::Dump => options.dump = true,
                    RawOption::Checkpoint(checkpoint) => {
                        if checkpoint.snapshots == 0 {
                            errors.spanned(&checkpoint.label, "`checkpoint` needs at least one snapshot (the loop's start): `checkpoint('label, 100)`");
                            // Kept, so that its label is not reported unused as well.
                            options.checkpoints.push(checkpoint);
                        } else if options.checkpoints.iter().any(|c| c.label.ident == checkpoint.label.ident) {
                            errors.spanned(&checkpoint.label, format!("the loop `{}` is checkpointed twice", checkpoint.label));
                        } else {
                            options.checkpoints.push(checkpoint);
                        }
                    }
                    RawOption::Unknown(ident) => errors.spanned(
                        &ident,
                        format!("unknown option `{ident}`; the options are `wrt(a, b, ..)`, which names the active parameters, `vjp = path`, which supplies the derivative, `dump`, which generates `NAME_dump()` returning the generated code, and `checkpoint('label, snapshots)`, which checkpoints the loop labelled `'label`"),
                    ),
                }
            }
            options
        }
        Err(error) => {
            errors.push(error);
            Options::default()
        }
    }
}

struct RawOptions(Vec<RawOption>);

enum RawOption {
    Wrt(Wrt),
    Vjp(Ident, syn::Path),
    Dump,
    Checkpoint(Checkpoint),
    Unknown(Ident),
}

impl Parse for RawOptions {
    /// `option, option, ..` where an option is `wrt(ident, ..)` or any other word (reported).
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = Vec::new();
        while !input.is_empty() {
            let keyword: Ident = input
                .parse()
                .map_err(|e| syn::Error::new(e.span(), "expected an option such as `wrt(x, y)`"))?;
            if keyword == "wrt" {
                let content;
                syn::parenthesized!(content in input);
                let names: Punctuated<Ident, Token![,]> =
                    content.parse_terminated(syn::ext::IdentExt::parse_any, Token![,])?;
                options.push(RawOption::Wrt(Wrt {
                    keyword,
                    names: names.into_iter().collect(),
                }));
            } else if keyword == "checkpoint" && input.peek(syn::token::Paren) {
                let content;
                syn::parenthesized!(content in input);
                let label: syn::Lifetime = content.parse().map_err(|e| {
                    syn::Error::new(e.span(), "`checkpoint` names a loop by its label and gives the snapshots to keep: `checkpoint('steps, 100)`")
                })?;
                content.parse::<Token![,]>().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "give the number of snapshots after the label: `checkpoint('steps, 100)`",
                    )
                })?;
                let count: syn::LitInt = content.parse()?;
                options.push(RawOption::Checkpoint(Checkpoint {
                    label,
                    snapshots: count.base10_parse()?,
                }));
            } else if keyword == "dump" && (input.is_empty() || input.peek(Token![,])) {
                options.push(RawOption::Dump);
            } else if keyword == "vjp" && input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                let path: syn::Path = input.parse()?;
                options.push(RawOption::Vjp(keyword, path));
            } else {
                // Skip whatever follows the unknown word so that only the word is reported.
                if input.peek(syn::token::Paren) {
                    let _content;
                    syn::parenthesized!(_content in input);
                } else if input.peek(Token![=]) {
                    input.parse::<Token![=]>()?;
                    input.parse::<syn::Expr>()?;
                }
                options.push(RawOption::Unknown(keyword));
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(RawOptions(options))
    }
}
