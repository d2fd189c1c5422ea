//! Struct parameters: `fn loss(p: &Params, x: &[f64]) -> f64` where `Params` derives
//! `Differentiable`.
//!
//! The attribute cannot see the struct's definition, only how the body reads it, and that is
//! enough: each field path the body computes with (`p.b`, `p.layer.w`) becomes a parameter
//! of a hidden flat function, `__NAME_flat(__p_b: f64, __p_layer_w: &[f64], p: &Params, x)`,
//! which the rest of the pipeline differentiates like any function of numbers and slices.
//! A path the body indexes, iterates over, takes the length or the address of is a slice;
//! any other is a number. Reads whose value cannot carry a derivative (an index, a range
//! bound, a comparison, a condition, a cast to an integer, a macro's arguments) stay on
//! `p` itself, which the flat function also takes, as a constant. If a guess is wrong the
//! generated call says so at the field (`runtime::FieldNumber`), never silently.
//!
//! The items the user calls (`NAME_grad`, `NAME_vjp`, ...) keep the original signature:
//! they call the flat function's and build the struct's gradient from a zero copy of the
//! struct (constants kept) with each field's gradient stored in place.

use crate::errors::Errors;
use crate::options::{Options, Wrt};
use crate::signature::{is_constant_type, is_integer_ty, Output, ParamKind, Signature};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::Pat;

mod patterns;

/// How the body reads a field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    Number,
    Numbers,
    Tensor,
    /// The whole value, passed to a differentiated call: all its numbers, in a slice.
    All,
}

/// A field path the body reads, and the flat function's parameter that carries it.
#[derive(Clone)]
struct FieldRead {
    members: Vec<syn::Member>,
    reading: Reading,
    ident: syn::Ident,
    /// The first read, where a wrong guess is reported.
    span: Span,
}

/// An active struct parameter and the fields its body reads.
struct StructParam {
    ident: syn::Ident,
    /// `self` of a method with `wrt(self)`: the flat function is a method too, and `self`
    /// is its receiver rather than a parameter.
    is_self: bool,
    /// Where its type is written, where a type that cannot carry a gradient is reported.
    ty_span: Span,
    by_ref: bool,
    /// An ndarray view (`ArrayView1<f64>`): its gradient is an owned array.
    view: bool,
    fields: Vec<FieldRead>,
}

/// The flat function, the options it is expanded with, and the items with the user's
/// signatures that call its generated ones.
pub struct Flattened {
    pub flat: syn::ItemFn,
    pub options: Options,
    pub wrappers: TokenStream,
}

pub fn has_active_struct(sig: &Signature) -> bool {
    sig.self_active
        || sig
            .params
            .iter()
            .any(|p| p.active && matches!(p.kind, ParamKind::Struct { .. }))
}

/// `__NAME_numbers` (see [`Flat::numbers_form`]) of a function with a struct parameter whose
/// derivative is supplied (`vjp = ..`): built on its `NAME_vjp` like any other's.
pub fn numbers_form_of_supplied(
    func: &syn::ItemFn,
    sig: &Signature,
    runtime: &TokenStream,
) -> TokenStream {
    let flat = Flat {
        func,
        sig,
        structs: Vec::new(),
        number: number_type(sig),
        rt: runtime,
    };
    flat.numbers_form()
}

pub fn flatten(
    func: &syn::ItemFn,
    sig: &Signature,
    options: &Options,
    runtime: &TokenStream,
    errors: &mut Errors,
) -> Option<Flattened> {
    let mut roots: Vec<syn::Ident> = Vec::new();
    if sig.self_active {
        roots.push(syn::Ident::new("self", Span::call_site()));
    }
    roots.extend(
        sig.params
            .iter()
            .filter(|p| p.active && matches!(p.kind, ParamKind::Struct { .. }))
            .map(|p| p.ident.clone()),
    );
    let mut block = (*func.block).clone();
    patterns::expand(&mut block, &roots);
    let types: Vec<Option<syn::Type>> = roots
        .iter()
        .map(|root| {
            let p = sig.params.iter().find(|p| p.ident == *root)?;
            Some(match &p.ty {
                syn::Type::Reference(r) => (*r.elem).clone(),
                owned => owned.clone(),
            })
        })
        .collect();
    let mut reads = Reads {
        roots: &roots,
        types: &types,
        found: vec![Vec::new(); roots.len()],
        rename: None,
        context: Context::Value,
        discrete: false,
        errors,
    };
    reads.visit_block_mut(&mut block);
    let found = std::mem::take(&mut reads.found);
    let structs: Vec<StructParam> = roots
        .iter()
        .zip(found)
        .map(|(root, fields)| StructParam {
            is_self: root == "self",
            ident: root.clone(),
            ty_span: sig
                .params
                .iter()
                .find(|p| p.ident == *root)
                .map_or_else(Span::call_site, |p| p.ty.span()),
            by_ref: root == "self"
                || sig
                    .params
                    .iter()
                    .any(|p| p.ident == *root && matches!(p.ty, syn::Type::Reference(_))),
            view: sig
                .params
                .iter()
                .any(|p| p.ident == *root && crate::signature::view_gradient_type(&p.ty).is_some()),
            fields,
        })
        .collect();
    let renames: Vec<Vec<FieldRead>> = structs.iter().map(|s| s.fields.clone()).collect();
    let mut rename = Reads {
        roots: &roots,
        types: &types,
        found: vec![Vec::new(); roots.len()],
        rename: Some(&renames),
        context: Context::Value,
        discrete: false,
        errors,
    };
    rename.visit_block_mut(&mut block);
    if !errors.is_empty() {
        return None;
    }
    let flat = Flat {
        func,
        sig,
        structs,
        number: number_type(sig),
        rt: runtime,
    };
    let flat_fn = flat.function(block);
    let wrappers = flat.wrappers(options.dump);
    let options = Options {
        wrt: Some(Wrt {
            keyword: format_ident!("wrt"),
            names: flat.active_names(),
        }),
        vjp: None,
        dump: options.dump,
        checkpoints: options.checkpoints.clone(),
        in_impl: options.in_impl,
    };
    Some(Flattened {
        flat: flat_fn,
        options,
        wrappers,
    })
}

/// `base.a.b`, every token at `span`, so that an error about the field points at the body's
/// read of it rather than at the parameter's declaration.
fn field_at(base: &syn::Ident, members: &[syn::Member], span: Span) -> TokenStream {
    let base = syn::Ident::new(&base.to_string(), span);
    let members = members.iter().map(|m| match m {
        syn::Member::Named(ident) => syn::Member::Named(syn::Ident::new(&ident.to_string(), span)),
        syn::Member::Unnamed(index) => syn::Member::Unnamed(syn::Index {
            index: index.index,
            span,
        }),
    });
    quote_spanned!(span=> #base #(.#members)*)
}

/// One item as itself, several as a tuple: how a gradient holds its entries (API.md).
pub fn one_or_tuple<T: ToTokens>(items: &[T]) -> TokenStream {
    match items {
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    }
}

/// The original's `cfg` attributes, which the generated items share.
pub fn cfg_attrs(func: &syn::ItemFn) -> Vec<&syn::Attribute> {
    func.attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect()
}

/// The place a field read takes its value from: `p.a.b`, or `*x` for a reference parameter
/// read whole (`FieldNumbers::numbers(&*x)` of `x: &DVector<f64>`).
fn read_place(s: &StructParam, f: &FieldRead) -> TokenStream {
    let field = field_at(&s.ident, &f.members, f.span);
    if f.members.is_empty() && s.by_ref {
        quote_spanned!(f.span=> *#field)
    } else {
        field
    }
}

fn member_names(members: &[syn::Member]) -> Vec<String> {
    members
        .iter()
        .map(|m| m.to_token_stream().to_string())
        .collect()
}

/// The float type the fields are read as: the function's type parameter, or the result's.
fn number_type(sig: &Signature) -> syn::Type {
    if let Some(t) = &sig.floats.generic {
        return syn::parse_quote!(#t);
    }
    let from_output = sig.output.as_ref().and_then(|o| {
        (0..o.components())
            .map(|k| o.component_type(k))
            .find(|t| sig.floats.is_float(t))
            .cloned()
    });
    from_output.unwrap_or_else(|| syn::parse_quote!(f64))
}

/// Where an expression sits, which decides how a field read there is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Its value is computed with: a number.
    Value,
    /// Indexed, iterated, measured or borrowed: a slice of numbers.
    Numbers,
    /// The receiver or argument of a tensor method, or added by reference: a tensor.
    Tensor,
    /// Its value cannot carry a derivative (an index, a bound, a condition): left as written.
    Discrete,
}

/// Finds the field paths of the active struct parameters the body reads (`rename: None`),
/// or replaces them by the flat function's parameters.
struct Reads<'a, 'e> {
    roots: &'a [syn::Ident],
    /// Each root's type without its reference (`None` for `self`).
    types: &'a [Option<syn::Type>],
    found: Vec<Vec<FieldRead>>,
    rename: Option<&'a [Vec<FieldRead>]>,
    context: Context,
    /// Inside an expression whose value carries no derivative.
    discrete: bool,
    errors: &'e mut Errors,
}

/// Methods that read their receiver as a slice.
const SLICE_METHODS: &[&str] = &[
    "len",
    "is_empty",
    "iter",
    "first",
    "last",
    "get",
    "windows",
    "chunks",
    "chunks_exact",
    "split_at",
    "to_vec",
    "as_slice",
];

impl Reads<'_, '_> {
    /// `p.a.b` of an active struct parameter `p`: which one, and the members.
    fn field_path(&self, expr: &syn::Expr) -> Option<(usize, Vec<syn::Member>)> {
        let mut members = Vec::new();
        let mut at = expr;
        while let syn::Expr::Field(f) = at {
            members.push(f.member.clone());
            at = &f.base;
        }
        if members.is_empty() {
            return None;
        }
        members.reverse();
        let root = self.root_of(at)?;
        Some((root, members))
    }

    /// A field path, or in a slice or tensor context the parameter itself (`v[i]` of a
    /// `DVector`, `x.iter()` of an `Array1`), read whole as numbers.
    fn read_path(&self, expr: &syn::Expr, context: Context) -> Option<(usize, Vec<syn::Member>)> {
        if let Some(path) = self.field_path(expr) {
            return Some(path);
        }
        match context {
            Context::Numbers | Context::Tensor => self.root_of(expr).map(|r| (r, Vec::new())),
            Context::Value | Context::Discrete => None,
        }
    }

    /// Whether a call passes an active struct whole (`f(p, x)`, `f(&p, x)`).
    fn whole_arguments(&self, call: &syn::ExprCall) -> bool {
        matches!(&*call.func, syn::Expr::Path(_))
            && call.args.iter().any(|a| self.whole_root(a).is_some())
    }

    /// `p` or `&p` of an active struct parameter `p`.
    fn whole_root(&self, arg: &syn::Expr) -> Option<usize> {
        match arg {
            syn::Expr::Reference(r) => self.root_of(&r.expr),
            other => self.root_of(other),
        }
    }

    /// `f(p, x)` becomes `__f_numbers(p, __p_all, x)`: the callee's form that takes the
    /// struct's numbers as a slice, whose gradient the reverse sweep computes.
    fn call_with_whole(&mut self, call: &mut syn::ExprCall) {
        let mut args = syn::punctuated::Punctuated::new();
        for mut arg in std::mem::take(&mut call.args) {
            match self.whole_root(&arg) {
                Some(root) => {
                    let span = arg.span();
                    let all = self.whole(root, span);
                    args.push(arg);
                    if let Some(all) = all {
                        args.push(syn::parse_quote!(#all));
                    }
                }
                None => {
                    self.visit_in(Context::Value, &mut arg);
                    args.push(arg);
                }
            }
        }
        call.args = args;
        if self.rename.is_some() {
            if let syn::Expr::Path(p) = &mut *call.func {
                if let Some(last) = p.path.segments.last_mut() {
                    let name = last.ident.to_string();
                    last.ident = format_ident!(
                        "__{}_numbers",
                        name.trim_start_matches("r#"),
                        span = last.ident.span()
                    );
                }
            }
        }
    }

    /// Records (or, renaming, names) the slice of all the numbers of struct `root`.
    fn whole(&mut self, root: usize, span: Span) -> Option<syn::Ident> {
        match self.rename {
            None => {
                self.record_reading(root, Vec::new(), Reading::All, span);
                None
            }
            Some(renames) => renames[root]
                .iter()
                .find(|f| f.reading == Reading::All)
                .map(|f| syn::Ident::new(&f.ident.to_string(), span)),
        }
    }

    /// `self.m(..)` where `self` is active (`wrt(self)`) and `m` is not a slice method.
    fn method_on_self(&self, m: &syn::ExprMethodCall) -> bool {
        self.method_on_root(m)
            && self
                .root_of(&m.receiver)
                .is_some_and(|r| self.roots[r] == "self")
    }

    /// `self.m(x)` becomes `self.__m_numbers(__self_all, x)` (see [`Self::call_with_whole`]).
    fn self_method(&mut self, m: &mut syn::ExprMethodCall) {
        for arg in m.args.iter_mut() {
            self.visit_in(Context::Value, arg);
        }
        let root = self.root_of(&m.receiver).unwrap_or_default();
        let span = m.method.span();
        if let Some(all) = self.whole(root, span) {
            m.args.insert(0, syn::parse_quote!(#all));
            let name = m.method.to_string();
            m.method = format_ident!("__{}_numbers", name.trim_start_matches("r#"), span = span);
        }
    }

    /// `p.m(x)` of an active struct parameter `p` other than `self`, with a method that does
    /// not read it as numbers: a differentiated method of `p`'s type, called through its
    /// numbers form as an associated function (see `Flat::numbers_form`).
    fn method_on_other_root(&self, m: &syn::ExprMethodCall) -> bool {
        self.method_on_root(m)
            && self
                .root_of(&m.receiver)
                .is_some_and(|r| self.types[r].is_some())
    }

    /// `p.m(x)` becomes `<P>::__m_numbers_of(p, __p_all, x)`.
    fn other_root_method(&mut self, expr: &mut syn::Expr) {
        let syn::Expr::MethodCall(m) = expr else {
            return;
        };
        for arg in m.args.iter_mut() {
            self.visit_in(Context::Value, arg);
        }
        let root = self.root_of(&m.receiver).unwrap_or_default();
        let span = m.method.span();
        let Some(all) = self.whole(root, span) else {
            return;
        };
        let ty = &self.types[root];
        let name = m.method.to_string();
        let form = format_ident!(
            "__{}_numbers_of",
            name.trim_start_matches("r#"),
            span = span
        );
        let (receiver, args) = (&m.receiver, &m.args);
        *expr = syn::parse_quote_spanned!(span=> <#ty>::#form(#receiver, #all, #args));
    }

    /// `p.method(..)` of an active struct parameter `p` itself, with a method that does not
    /// read it as numbers (`len`, `iter`) or as a tensor.
    fn method_on_root(&self, m: &syn::ExprMethodCall) -> bool {
        let method = m.method.to_string();
        self.root_of(&m.receiver).is_some()
            && !SLICE_METHODS.contains(&method.as_str())
            && !crate::primitives::is_tensor_method(&method)
    }

    fn root_of(&self, expr: &syn::Expr) -> Option<usize> {
        let syn::Expr::Path(p) = expr else {
            return None;
        };
        let ident = p.path.get_ident()?;
        self.roots.iter().position(|r| r == ident)
    }

    fn record(&mut self, root: usize, members: Vec<syn::Member>, context: Context, span: Span) {
        let reading = match context {
            Context::Numbers => Reading::Numbers,
            Context::Tensor => Reading::Tensor,
            Context::Value | Context::Discrete => Reading::Number,
        };
        self.record_reading(root, members, reading, span);
    }

    fn record_reading(
        &mut self,
        root: usize,
        members: Vec<syn::Member>,
        reading: Reading,
        span: Span,
    ) {
        let names = member_names(&members);
        let fields = &mut self.found[root];
        let same = |f: &FieldRead| {
            member_names(&f.members) == names
                && (f.reading == Reading::All) == (reading == Reading::All)
        };
        match fields.iter_mut().find(|f| same(f)) {
            // A tensor reading decides, then a slice one.
            Some(f) if reading == Reading::Tensor => f.reading = Reading::Tensor,
            Some(f) if reading == Reading::Numbers && f.reading == Reading::Number => {
                f.reading = Reading::Numbers
            }
            Some(_) => {}
            None => {
                let root_name = self.roots[root].to_string();
                let root_name = root_name.trim_start_matches("r#");
                let ident = if reading == Reading::All {
                    format_ident!("__{}_all", root_name)
                } else if names.is_empty() {
                    format_ident!("__{}", root_name)
                } else {
                    format_ident!("__{}_{}", root_name, names.join("_"))
                };
                fields.push(FieldRead {
                    members,
                    reading,
                    ident,
                    span,
                });
            }
        }
    }

    /// Replaces a field path by the flat parameter carrying it (only a slice's, `slices_only`).
    fn rename_field(&mut self, expr: &mut syn::Expr, context: Context, slices_only: bool) {
        let (Some(renames), Some((root, members))) = (self.rename, self.read_path(expr, context))
        else {
            return;
        };
        let names = member_names(&members);
        let found = renames[root]
            .iter()
            .find(|f| member_names(&f.members) == names);
        if let Some(f) = found {
            if !slices_only || f.reading == Reading::Numbers {
                let ident = syn::Ident::new(&f.ident.to_string(), expr.span());
                *expr = syn::parse_quote!(#ident);
            }
        }
    }

    /// An operand of a tensor method or of arithmetic: `&p.w` there is a tensor, and is
    /// replaced by the flat parameter, itself a reference.
    fn visit_tensor_operand(&mut self, expr: &mut syn::Expr) {
        let syn::Expr::Reference(r) = expr else {
            return self.visit_in(Context::Value, expr);
        };
        if self.field_path(&r.expr).is_none() {
            return self.visit_in(Context::Value, expr);
        }
        match self.rename {
            None => self.visit_in(Context::Tensor, &mut r.expr),
            Some(_) => {
                let mut inner = (*r.expr).clone();
                self.rename_field(&mut inner, Context::Tensor, false);
                let renamed_to_tensor =
                    matches!(&inner, syn::Expr::Path(p) if self.is_tensor_field(p));
                if renamed_to_tensor {
                    *expr = inner;
                } else {
                    self.visit_in(Context::Numbers, &mut r.expr);
                }
            }
        }
    }

    /// Whether `path` is the flat parameter of a field read as a tensor.
    fn is_tensor_field(&self, path: &syn::ExprPath) -> bool {
        self.rename.is_some_and(|renames| {
            renames
                .iter()
                .flatten()
                .any(|f| f.reading == Reading::Tensor && path.path.is_ident(&f.ident))
        })
    }

    fn visit_in(&mut self, context: Context, expr: &mut syn::Expr) {
        self.context = context;
        self.visit_expr_mut(expr);
    }
}

fn is_comparison(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        Eq(_) | Ne(_) | Lt(_) | Le(_) | Gt(_) | Ge(_) | And(_) | Or(_)
    )
}

impl VisitMut for Reads<'_, '_> {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        let context = std::mem::replace(&mut self.context, Context::Value);
        if context == Context::Discrete || self.discrete {
            // Nothing here carries a derivative; a slice the body also computes with is
            // renamed all the same, so that its length is the flat parameter's.
            if self.rename.is_some() {
                let was = std::mem::replace(&mut self.discrete, true);
                if self.field_path(expr).is_some() {
                    self.rename_field(expr, Context::Discrete, true);
                } else {
                    syn::visit_mut::visit_expr_mut(self, expr);
                }
                self.discrete = was;
            }
            return;
        }
        if let Some((root, members)) = self.read_path(expr, context) {
            match self.rename {
                None => self.record(root, members, context, expr.span()),
                Some(_) => self.rename_field(expr, context, false),
            }
            return;
        }
        match expr {
            syn::Expr::Path(_) if self.rename.is_none() && self.root_of(expr).is_some() => {
                let root = &self.roots[self.root_of(expr).unwrap_or_default()];
                self.errors.spanned(
                    &*expr,
                    format!("the struct parameter `{root}` is used as a whole here; a `#[differentiate]` function reads an active struct through its fields (`{root}.w`, `{root}.b`), or passes it whole as an argument of a differentiated function (`f({root}, x)`) or, for `self`, to a differentiated method (`self.m(x)`). Read the fields here, or leave `{root}` out of `wrt(..)` to keep it a constant"),
                );
            }
            syn::Expr::Index(i) => {
                self.visit_in(Context::Numbers, &mut i.expr);
                self.visit_in(Context::Discrete, &mut i.index);
            }
            syn::Expr::Call(c) if self.whole_arguments(c) => self.call_with_whole(c),
            syn::Expr::MethodCall(m) if self.method_on_self(m) => self.self_method(m),
            syn::Expr::MethodCall(m) if self.method_on_other_root(m) => {
                self.other_root_method(expr)
            }
            syn::Expr::MethodCall(m) if self.rename.is_none() && self.method_on_root(m) => {
                let root = &self.roots[self.root_of(&m.receiver).unwrap_or_default()];
                let method = &m.method;
                self.errors.spanned(
                    method,
                    format!("`#[differentiate]` cannot differentiate through the method `{method}` of the active parameter `{root}` yet: methods of a struct parameter other than `self`, and operations of ndarray values, have no rules; pass `{root}` whole to a differentiated function (`{method}({root}, ..)`), or read its fields or components (`{root}.w`, `{root}.x`, `{root}[i]`, `{root}.iter()`)"),
                );
            }
            syn::Expr::MethodCall(m) => {
                let method = m.method.to_string();
                let tensor = crate::primitives::is_tensor_method(&method);
                let receiver = if tensor {
                    Context::Tensor
                } else if SLICE_METHODS.contains(&method.as_str()) {
                    Context::Numbers
                } else {
                    Context::Value
                };
                self.visit_in(receiver, &mut m.receiver);
                for arg in m.args.iter_mut() {
                    if tensor {
                        self.visit_tensor_operand(arg);
                    } else {
                        self.visit_in(Context::Value, arg);
                    }
                }
            }
            syn::Expr::Binary(b) if !is_comparison(&b.op) => {
                self.visit_tensor_operand(&mut b.left);
                self.visit_tensor_operand(&mut b.right);
            }
            syn::Expr::Reference(r) => self.visit_in(Context::Numbers, &mut r.expr),
            syn::Expr::ForLoop(f) => {
                self.visit_in(Context::Numbers, &mut f.expr);
                self.visit_block_mut(&mut f.body);
            }
            syn::Expr::Binary(b) if is_comparison(&b.op) => {}
            syn::Expr::Cast(c) if is_integer_ty(&c.ty) => {}
            syn::Expr::Range(_) => {}
            syn::Expr::If(i) => {
                self.visit_in(Context::Discrete, &mut i.cond);
                self.visit_block_mut(&mut i.then_branch);
                if let Some((_, other)) = &mut i.else_branch {
                    self.visit_in(Context::Value, other);
                }
            }
            syn::Expr::While(w) => self.visit_block_mut(&mut w.body),
            syn::Expr::Match(m) => {
                for arm in m.arms.iter_mut() {
                    self.visit_in(Context::Value, &mut arm.body);
                }
            }
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        // `let n: usize = p.n;` reads a constant.
        if let syn::Pat::Type(t) = &local.pat {
            if is_constant_type(&t.ty) {
                return;
            }
        }
        if let Some(init) = &mut local.init {
            self.visit_in(Context::Value, &mut init.expr);
            if let Some((_, other)) = &mut init.diverge {
                self.visit_in(Context::Value, other);
            }
        }
    }

    fn visit_macro_mut(&mut self, _: &mut syn::Macro) {}
}

/// The flat function and the user-facing items around it.
struct Flat<'a> {
    func: &'a syn::ItemFn,
    sig: &'a Signature,
    structs: Vec<StructParam>,
    /// The float type fields are read as.
    number: syn::Type,
    rt: &'a TokenStream,
}

/// Whose entries [`Flat::entries_from_gradient`] makes: the pullback's (a struct's gradient
/// as itself, `self`'s none), or the numbers form's (a struct's template a constant and its
/// gradient laid out flat, `self`'s first).
#[derive(Clone, Copy, PartialEq, Eq)]
enum EntriesFor {
    Pullback,
    Numbers,
}

/// What a parameter of the original function becomes in the flat one.
enum Becomes<'a> {
    Struct(&'a StructParam),
    Itself { ident: &'a syn::Ident, active: bool },
}

impl<'a> Flat<'a> {
    /// `__NAME_flat` (`suffix` empty) or its item `__NAME_flat_{suffix}`.
    fn name(&self, suffix: &str) -> syn::Ident {
        let flat = crate::naming::hidden_fn(&self.func.sig.ident, "flat");
        if suffix.is_empty() {
            flat
        } else {
            crate::naming::item_fn(&flat, suffix)
        }
    }

    /// `&self,` for a method.
    fn receiver(&self) -> TokenStream {
        if self.sig.has_self {
            quote!(&self,)
        } else {
            TokenStream::new()
        }
    }

    /// How an item calls a sibling, with the function's own generic arguments.
    fn call(&self, ident: &syn::Ident) -> TokenStream {
        let (_, turbofish, _) = self.func.sig.generics.split_for_impl();
        let turbofish = turbofish.as_turbofish();
        let sibling = crate::emit::sibling(self.sig, ident);
        quote!(#sibling #turbofish)
    }

    /// `NAME_vjp`'s gradient bound to names (`pattern`), and from them the entries of a
    /// pullback, one per parameter (`self`'s first, where `form` has one).
    fn entries_from_gradient(&self, form: EntriesFor) -> (TokenStream, Vec<TokenStream>) {
        let (rt, number) = (self.rt, &self.number);
        let active = usize::from(self.sig.self_active) + self.sig.active_params().count();
        let names: Vec<syn::Ident> = (0..active).map(|k| format_ident!("__g{}", k)).collect();
        let mut next = names.iter();
        let mut entries = Vec::new();
        if self.sig.self_active {
            let g = next.next();
            if form == EntriesFor::Numbers {
                entries.push(quote!(#rt::differentiable::numbers_of::<#number, _>(&#g)));
            }
        }
        for p in &self.sig.params {
            let g = p.active.then(|| next.next()).flatten();
            match (g, form) {
                (Some(g), EntriesFor::Numbers) if matches!(p.kind, ParamKind::Struct { .. }) => {
                    entries.push(quote!(#rt::Constant));
                    entries.push(quote!(#rt::differentiable::numbers_of::<#number, _>(&#g)));
                }
                (Some(g), _) => entries.push(quote!(#g)),
                (None, _) => entries.push(quote!(#rt::Constant)),
            }
        }
        (one_or_tuple(&names), entries)
    }

    /// `self`'s fields first (with `wrt(self)`), then each parameter.
    fn becomes(&self) -> Vec<Becomes<'_>> {
        let receiver = self
            .structs
            .iter()
            .filter(|s| s.is_self)
            .map(Becomes::Struct);
        let params = self.sig.params.iter().map(|p| {
            match self
                .structs
                .iter()
                .find(|s| !s.is_self && s.ident == p.ident)
            {
                Some(s) => Becomes::Struct(s),
                None => Becomes::Itself {
                    ident: &p.ident,
                    active: p.active,
                },
            }
        });
        receiver.chain(params).collect()
    }

    fn function(&self, block: syn::Block) -> syn::ItemFn {
        let mut flat = self.func.clone();
        flat.sig.ident = self.name("");
        flat.attrs.retain(|a| a.path().is_ident("cfg"));
        flat.attrs.push(syn::parse_quote!(#[doc(hidden)]));
        flat.attrs
            .push(syn::parse_quote!(#[allow(unused_variables, clippy::too_many_arguments)]));
        let mut inputs = syn::punctuated::Punctuated::new();
        for input in &self.func.sig.inputs {
            let syn::FnArg::Typed(typed) = input else {
                inputs.push(input.clone());
                for s in self.structs.iter().filter(|s| s.is_self) {
                    for f in &s.fields {
                        inputs.push(self.flat_param(f));
                    }
                }
                continue;
            };
            let ident = match &*typed.pat {
                syn::Pat::Ident(p) => &p.ident,
                _ => {
                    inputs.push(input.clone());
                    continue;
                }
            };
            let Some(s) = self
                .structs
                .iter()
                .find(|s| !s.is_self && s.ident == *ident)
            else {
                inputs.push(input.clone());
                continue;
            };
            for f in &s.fields {
                inputs.push(self.flat_param(f));
            }
            let ty = match &*typed.ty {
                syn::Type::Reference(_) => (*typed.ty).clone(),
                owned => syn::parse_quote!(&#owned),
            };
            inputs.push(syn::parse_quote!(#ident: #ty));
        }
        flat.sig.inputs = inputs;
        flat.block = Box::new(block);
        flat
    }

    /// Whether the flat function has `_jvp`, `_hvp` and `_hessian`: not with tensors (see
    /// `emit::higher_order`), nor with a constant that mentions the float type.
    fn has_higher_order(&self) -> bool {
        let number = match &self.number {
            syn::Type::Path(p) => p.path.get_ident().cloned(),
            _ => None,
        };
        let Some(number) = number else {
            return false;
        };
        let tensor_field = self
            .structs
            .iter()
            .flat_map(|s| &s.fields)
            .any(|f| f.reading == Reading::Tensor);
        // The flat function takes the struct itself as a constant: over a type parameter, it
        // could not be lifted to dual numbers.
        let generic_struct = self.sig.floats.generic.is_some()
            && self.sig.params.iter().any(|p| {
                matches!(p.kind, ParamKind::Struct { .. })
                    && crate::signature::mentions(&p.ty, &number)
            });
        let generic_self = self.sig.self_active && self.sig.floats.generic.is_some();
        // A view's numbers are not a `Differentiable` value (its gradient is another type).
        let view = self.structs.iter().any(|s| s.view);
        let unliftable = tensor_field || generic_struct || generic_self || view;
        !unliftable
            && self.sig.params.iter().all(|p| match &p.kind {
                // A nalgebra value computed with whole: the flat function lifts it itself.
                ParamKind::Value { ty } => crate::linalg::is_type(ty),
                ParamKind::Constant => {
                    !crate::signature::mentions(&p.ty, &number)
                        || (self.sig.floats.generic.is_none()
                            && crate::twin::foreign_generic(&p.ty))
                }
                _ => true,
            })
    }

    /// The function's `where` clause, with `S: Differentiable<T>` for each struct `S` over the
    /// float type parameter `T`: the derived impl needs `T: Differentiable<T>`, which holds
    /// at `f64` and `f32`, where the caller proves it.
    fn where_clause(&self) -> TokenStream {
        let rt = self.rt;
        let mut predicates: Vec<TokenStream> = self
            .func
            .sig
            .generics
            .where_clause
            .iter()
            .flat_map(|w| w.predicates.iter().map(|p| quote!(#p)))
            .collect();
        if let Some(t) = &self.sig.floats.generic {
            for p in &self.sig.params {
                if let ParamKind::Struct { ty } = &p.kind {
                    if crate::signature::mentions(ty, t) {
                        predicates.push(quote!(#ty: #rt::Differentiable<#t>));
                    }
                }
            }
        }
        if predicates.is_empty() {
            TokenStream::new()
        } else {
            quote!(where #(#predicates,)*)
        }
    }

    /// The flat function's parameter carrying a field.
    fn flat_param(&self, f: &FieldRead) -> syn::FnArg {
        let (name, number, rt) = (&f.ident, &self.number, self.rt);
        match f.reading {
            Reading::Number => syn::parse_quote!(#name: #number),
            Reading::Numbers => syn::parse_quote!(#name: &[#number]),
            Reading::Tensor => syn::parse_quote!(#name: &#rt::Tensor),
            Reading::All => syn::parse_quote!(#name: &[#number]),
        }
    }

    /// The flat function's active parameters, for its `wrt(..)`.
    fn active_names(&self) -> Vec<syn::Ident> {
        let mut names = Vec::new();
        for b in self.becomes() {
            match b {
                Becomes::Struct(s) => names.extend(s.fields.iter().map(|f| f.ident.clone())),
                Becomes::Itself {
                    ident,
                    active: true,
                } => names.push(ident.clone()),
                Becomes::Itself { .. } => {}
            }
        }
        names
    }

    /// The arguments of a call to a flat item, from the original parameters.
    fn flat_args(&self) -> Vec<TokenStream> {
        let (rt, number) = (self.rt, &self.number);
        let mut args = Vec::new();
        for b in self.becomes() {
            match b {
                Becomes::Struct(s) => {
                    let root = &s.ident;
                    for f in &s.fields {
                        let field = read_place(s, f);
                        args.push(match f.reading {
                            Reading::Number => quote_spanned!(f.span=>
                                #rt::differentiable::FieldNumber::<#number>::number(&#field)),
                            Reading::Numbers => quote_spanned!(f.span=>
                                #rt::differentiable::FieldNumbers::<#number>::numbers(&#field)),
                            Reading::Tensor => quote_spanned!(f.span=>
                                #rt::differentiable::FieldTensor::tensor(&#field)),
                            Reading::All => quote_spanned!(f.span=>
                                &#rt::differentiable::numbers_of::<#number, _>(&#field)[..]),
                        });
                    }
                    if !s.is_self {
                        args.push(if s.by_ref {
                            quote!(#root)
                        } else {
                            quote!(&#root)
                        });
                    }
                }
                Becomes::Itself { ident, .. } => args.push(quote!(#ident)),
            }
        }
        args
    }

    /// Names for the flat gradient's entries, one per active flat parameter, and the pattern
    /// that binds the flat `G` to them.
    fn flat_gradient_pattern(&self, prefix: &str) -> (Vec<syn::Ident>, TokenStream) {
        let n = self.active_names().len();
        let names: Vec<syn::Ident> = (0..n).map(|k| format_ident!("__{}{}", prefix, k)).collect();
        let pattern = one_or_tuple(&names);
        (names, pattern)
    }

    /// The user's `G` built from the flat entries `names` (in flat order).
    fn gradient(&self, names: &[syn::Ident]) -> TokenStream {
        let (rt, number) = (self.rt, &self.number);
        let mut next = names.iter();
        let mut entries = Vec::new();
        for b in self.becomes() {
            match b {
                Becomes::Struct(s) => {
                    let root = &s.ident;
                    let root_ref = if s.by_ref {
                        quote!(#root)
                    } else {
                        quote!(&#root)
                    };
                    // Where the body reads a value and a part of it (`v[0]` and `v.x`), both
                    // gradients add up; otherwise each is stored (a `Vec` moved in place).
                    let nested = s.fields.iter().any(|a| {
                        s.fields.iter().any(|b| {
                            b.members.len() > a.members.len()
                                && member_names(&b.members).starts_with(&member_names(&a.members))
                        })
                    });
                    let put = if nested {
                        format_ident!("add")
                    } else {
                        format_ident!("store")
                    };
                    let stores = s.fields.iter().map(|f| {
                        let field = field_at(&format_ident!("__gradient"), &f.members, f.span);
                        let entry = next.next();
                        match f.reading {
                            Reading::Number => quote_spanned!(f.span=> #rt::differentiable::FieldNumber::<#number>::#put(&mut #field, #entry);),
                            Reading::Numbers => quote_spanned!(f.span=> #rt::differentiable::FieldNumbers::<#number>::#put(&mut #field, #entry);),
                            Reading::Tensor => quote_spanned!(f.span=> #rt::differentiable::FieldTensor::#put(&mut #field, #entry);),
                            Reading::All => quote_spanned!(f.span=> #rt::differentiable::add_numbers::<#number, _>(&mut #field, &#entry);),
                        }
                    });
                    // Fields stored whole start as placeholders, not zeros (nothing allocated
                    // only to be dropped); a gradient added to needs its zeros.
                    let start = if s.view {
                        quote_spanned!(s.ty_span=> #rt::differentiable::view_gradient(#root_ref))
                    } else if nested || s.fields.iter().any(|f| f.reading == Reading::All) {
                        quote_spanned!(s.ty_span=> #rt::Differentiable::<#number>::zero_like(#root_ref))
                    } else {
                        let paths = s.fields.iter().map(|f| {
                            let names = member_names(&f.members);
                            quote!(&[#(#names),*])
                        });
                        quote_spanned!(s.ty_span=> #rt::Differentiable::<#number>::gradient_shell(#root_ref, &[#(#paths),*], 0))
                    };
                    entries.push(quote!({
                        let mut __gradient = #start;
                        #(#stores)*
                        __gradient
                    }));
                }
                Becomes::Itself { active: true, .. } => {
                    let entry = next.next();
                    entries.push(quote!(#entry));
                }
                Becomes::Itself { .. } => {}
            }
        }
        one_or_tuple(&entries)
    }

    /// The flat tangent (or direction) from the user's `G`-shaped `tangent`.
    fn flat_tangent(&self, tangent: &syn::Ident) -> TokenStream {
        let (rt, number) = (self.rt, &self.number);
        let active: Vec<Becomes<'_>> = self
            .becomes()
            .into_iter()
            .filter(|b| !matches!(b, Becomes::Itself { active: false, .. }))
            .collect();
        let names: Vec<syn::Ident> = (0..active.len())
            .map(|k| format_ident!("__t{}", k))
            .collect();
        let pattern = one_or_tuple(&names);
        let mut flat = Vec::new();
        for (b, name) in active.iter().zip(&names) {
            match b {
                Becomes::Struct(s) => {
                    for f in &s.fields {
                        let field = field_at(name, &f.members, f.span);
                        flat.push(match f.reading {
                            Reading::Number => quote_spanned!(f.span=> #rt::differentiable::FieldNumber::<#number>::number(&#field)),
                            Reading::Numbers => quote_spanned!(f.span=> #rt::differentiable::FieldNumbers::<#number>::numbers(&#field).to_vec()),
                            Reading::Tensor => quote_spanned!(f.span=> ::core::clone::Clone::clone(#rt::differentiable::FieldTensor::tensor(&#field))),
                            Reading::All => quote_spanned!(f.span=> #rt::differentiable::numbers_of::<#number, _>(&#field)),
                        });
                    }
                }
                Becomes::Itself { .. } => flat.push(quote!(#name)),
            }
        }
        let flat = one_or_tuple(&flat);
        quote!({ let #pattern = #tangent; #flat })
    }

    fn wrappers(&self, dump: bool) -> TokenStream {
        let func = self.func;
        let vis = &func.vis;
        let name = &func.sig.ident;
        let item = |suffix: &str| crate::naming::item_fn(name, suffix);
        let generics = &func.sig.generics;
        let where_clause = self.where_clause();
        let receiver = self.receiver();
        let call = |ident: &syn::Ident| self.call(ident);
        let params: Vec<TokenStream> = self
            .sig
            .params
            .iter()
            .map(|p| {
                let (ident, ty) = (&p.ident, &p.ty);
                quote!(#ident: #ty)
            })
            .collect();
        let args = self.flat_args();
        let ret = &self.sig.return_type;
        let rt = self.rt;
        let mut gradient_types: Vec<TokenStream> = self
            .sig
            .active_params()
            .map(|p| p.gradient_type())
            .collect();
        if self.sig.self_active {
            gradient_types.insert(0, quote!(Self));
        }
        let gradient_type = one_or_tuple(&gradient_types);
        let attrs: Vec<&syn::Attribute> = cfg_attrs(func);
        let (flat_names, flat_pattern) = self.flat_gradient_pattern("g");
        let gradient = self.gradient(&flat_names);
        let own: Vec<syn::Ident> = self.sig.params.iter().map(|p| p.ident.clone()).collect();
        let seed = crate::naming::public_param("seed", &own);
        let doc_of = |what: &str| {
            format!("{what} of [`{name}`]; see the `differentiate` crate for its shape (a struct parameter's gradient is a value of its type).")
        };
        let mut items = TokenStream::new();

        let vjp = item("vjp");
        let flat_vjp = call(&self.name("vjp"));
        let doc = doc_of("The value and the vector-Jacobian product");
        let mention_original = crate::emit::mention_original(func, self.sig);
        items.extend([quote! {
            #(#attrs)*
            #[doc = #doc]
            #[allow(clippy::too_many_arguments)]
            #vis fn #vjp #generics (#receiver #(#params,)* #seed: #ret) -> (#ret, #gradient_type) #where_clause {
                #mention_original
                let (__value, #flat_pattern) = #flat_vjp(#(#args,)* #seed);
                (__value, #gradient)
            }
        }]);

        // The hidden pullback differentiated callers use: one entry per parameter (an active
        // `self`'s gradient is not one), from `NAME_vjp`.
        let pullback = item("pullback");
        let own_vjp = call(&vjp);
        let arg_names: Vec<&syn::Ident> = self.sig.params.iter().map(|p| &p.ident).collect();
        let entry_types: Vec<TokenStream> = self
            .sig
            .params
            .iter()
            .map(|p| {
                if p.active {
                    p.gradient_type()
                } else {
                    quote!(#rt::Constant)
                }
            })
            .collect();
        let (pattern, entries) = self.entries_from_gradient(EntriesFor::Pullback);
        items.extend([quote! {
            #(#attrs)*
            #[doc(hidden)]
            #[allow(clippy::too_many_arguments)]
            #vis fn #pullback #generics (#receiver #(#params,)* #seed: #ret) -> (#ret, (#(#entry_types,)*)) #where_clause {
                let (__value, #pattern) = #own_vjp(#(#arg_names,)* #seed);
                (__value, (#(#entries,)*))
            }
        }]);

        let higher_order = self.has_higher_order();
        let tangent = crate::naming::public_param("tangent", &own);
        let jvp = item("jvp");
        let flat_jvp = call(&self.name("jvp"));
        let flat_tangent = self.flat_tangent(&tangent);
        let doc = doc_of("The value and the Jacobian-vector product");
        if higher_order {
            items.extend([quote! {
                #(#attrs)*
                #[doc = #doc]
                #[allow(clippy::too_many_arguments)]
                #vis fn #jvp #generics (#receiver #(#params,)* #tangent: #gradient_type) -> (#ret, #ret) #where_clause {
                    #flat_jvp(#(#args,)* #flat_tangent)
                }
            }]);
        } else {
            // Not at dual numbers (tensor fields, views): by reverse sweeps of `NAME_vjp`.
            items.extend([crate::emit::jvp_by_reverse(self.func, self.sig, rt)]);
        }

        match &self.sig.output {
            Some(Output::Scalar(_)) => {
                let grad = item("grad");
                let doc = doc_of("The value and the gradient");
                items.extend([quote! {
                    #(#attrs)*
                    #[doc = #doc]
                    #[allow(clippy::too_many_arguments)]
                    #vis fn #grad #generics (#receiver #(#params),*) -> (#ret, #gradient_type) #where_clause {
                        #own_vjp(#(#arg_names,)* <#ret as #rt::num_traits::One>::one())
                    }
                }]);
                let v = crate::naming::public_param("v", &own);
                let hvp = item("hvp");
                let flat_hvp = call(&self.name("hvp"));
                let flat_v = self.flat_tangent(&v);
                let (hv_names, hv_pattern) = self.flat_gradient_pattern("h");
                let hv = self.gradient(&hv_names);
                let doc = doc_of("The value, the gradient and the Hessian-vector product");
                items.extend(higher_order.then(|| quote! {
                    #(#attrs)*
                    #[doc = #doc]
                    #[allow(clippy::too_many_arguments)]
                    #vis fn #hvp #generics (#receiver #(#params,)* #v: #gradient_type) -> (#ret, #gradient_type, #gradient_type) #where_clause {
                        let (__value, #flat_pattern, #hv_pattern) = #flat_hvp(#(#args,)* #flat_v);
                        (__value, #gradient, #hv)
                    }
                }));
                if higher_order {
                    items.extend([self.hessian(&params, &gradient_type, &attrs)]);
                }
            }
            Some(Output::Tuple(_)) | Some(Output::Array(..)) => {
                let m = self.sig.output.as_ref().map_or(0, Output::components);
                let jacobian = item("jacobian");
                let flat_jacobian = call(&self.name("jacobian"));
                let doc = doc_of("The value and the Jacobian, one row per output,");
                items.extend([quote! {
                    #(#attrs)*
                    #[doc = #doc]
                    #[allow(clippy::too_many_arguments)]
                    #vis fn #jacobian #generics (#receiver #(#params),*) -> (#ret, [#gradient_type; #m]) #where_clause {
                        let (__value, __rows) = #flat_jacobian(#(#args),*);
                        (__value, __rows.map(|#flat_pattern| #gradient))
                    }
                }]);
            }
            _ => {}
        }
        items.extend([self.twin_items()]);
        if !self.structs.iter().any(|s| s.view) {
            // (A view passed whole to a differentiated function is not supported yet.)
            items.extend([self.numbers_form()]);
        }
        // The graph of the flat form: a struct's fields are its inputs (`__p_w[0]`, `__p_b`).
        // Tensors have none (see `graph`).
        let tensors = self
            .structs
            .iter()
            .flat_map(|s| &s.fields)
            .any(|f| f.reading == Reading::Tensor)
            || self
                .sig
                .params
                .iter()
                .any(|p| matches!(p.kind, ParamKind::Value { .. }));
        let graph = item("graph");
        let flat_graph = call(&self.name("graph"));
        if !tensors {
            items.extend([quote! {
                #(#attrs)*
                #[doc = "The computation graph at this point (see the `differentiate` crate's `Graph`); a struct's fields are inputs named after the flat form's parameters."]
                #[allow(clippy::too_many_arguments)]
                #vis fn #graph #generics (#receiver #(#params),*) -> ::differentiate::Graph #where_clause {
                    #flat_graph(#(#args),*)
                }
            }]);
        }
        if dump {
            let dump = item("dump");
            let flat_dump = self.name("dump");
            items.extend([quote! {
                #(#attrs)*
                #[doc = "The code generated for the function (its flat form, one parameter per field read)."]
                #vis fn #dump() -> &'static str {
                    #flat_dump()
                }
            }]);
        }
        items
    }

    /// `__NAME_twin` and `__NAME_twin_pullback`, which the second-order twins of callers call
    /// (passing the struct as a constant): the flat function's, its fields lifted to the
    /// number type. A generic function is its own twin.
    fn twin_items(&self) -> TokenStream {
        let (func, sig, rt) = (self.func, self.sig, self.rt);
        if sig.floats.generic.is_some() {
            // With the wrappers' bounds (`S: Differentiable<T>`), which its aliases call.
            let mut bounded = func.clone();
            let where_clause = self.where_clause();
            bounded.sig.generics.where_clause = if where_clause.is_empty() {
                None
            } else {
                syn::parse2(where_clause).ok()
            };
            return crate::emit::twin_items(&bounded, sig, crate::emit::TwinItems::Itself, rt);
        }
        let float = self.number.to_token_stream().to_string();
        let n = crate::twin::number();
        let mut twin = crate::twin::signature(func.clone(), &float);
        crate::twin::over_linalg(&mut twin, sig, &float);
        let name = &func.sig.ident;
        let twin_name = crate::naming::twin_fn(name);
        let twin_pullback = crate::naming::pullback_fn(&twin_name, name.span());
        let flat = self.name("");
        let flat_twin = crate::naming::twin_fn(&flat);
        let flat_twin_pullback = crate::naming::pullback_fn(&flat_twin, name.span());
        let sibling = |ident: &syn::Ident| crate::emit::sibling(sig, ident);
        let (call_flat_twin, call_flat_pullback) =
            (sibling(&flat_twin), sibling(&flat_twin_pullback));

        // The flat twin's arguments, and the pattern of its pullback's entries.
        let mut args = Vec::new();
        let mut flat_entries = Vec::new();
        let mut entries = Vec::new();
        let float_ty = &self.number;
        for (k, b) in self.becomes().into_iter().enumerate() {
            match b {
                Becomes::Struct(s) => {
                    let root = &s.ident;
                    for f in &s.fields {
                        let field = read_place(s, f);
                        let span = f.span;
                        args.push(match f.reading {
                            Reading::Number => quote_spanned!(span=> #rt::differentiable::lift_number::<#n, #float_ty>(
                                #rt::differentiable::FieldNumber::<#float_ty>::number(&#field))),
                            Reading::Numbers => quote_spanned!(span=> &#rt::differentiable::lift_numbers::<#n, #float_ty>(
                                #rt::differentiable::FieldNumbers::<#float_ty>::numbers(&#field))[..]),
                            Reading::Tensor => quote_spanned!(span=> #rt::differentiable::FieldTensor::tensor(&#field)),
                            Reading::All => quote_spanned!(span=> &#rt::differentiable::lift_numbers::<#n, #float_ty>(
                                &#rt::differentiable::numbers_of::<#float_ty, _>(&#field))[..]),
                        });
                        flat_entries.push(quote!(_));
                    }
                    if !s.is_self {
                        args.push(if s.by_ref {
                            quote!(#root)
                        } else {
                            quote!(&#root)
                        });
                        flat_entries.push(quote!(_));
                        entries.push(quote!(#rt::Constant));
                    }
                }
                Becomes::Itself { ident, active } => {
                    args.push(quote!(#ident));
                    if active {
                        let e = format_ident!("__e{}", k);
                        flat_entries.push(quote!(#e));
                        entries.push(quote!(#e));
                    } else {
                        flat_entries.push(quote!(_));
                        entries.push(quote!(#rt::Constant));
                    }
                }
            }
        }
        // Entry types: a struct is a constant of a caller's twin; the others as the twin has them.
        let mut errors = crate::errors::Errors::default();
        let twin_options = Options {
            wrt: Some(Wrt {
                keyword: format_ident!("wrt"),
                names: sig
                    .params
                    .iter()
                    .filter(|p| p.active && !matches!(p.kind, ParamKind::Struct { .. }))
                    .map(|p| p.ident.clone())
                    .collect(),
            }),
            vjp: None,
            dump: false,
            checkpoints: Vec::new(),
            in_impl: sig.associated,
        };
        let twin_sig = crate::signature::analyse(&twin.sig, &twin_options, &mut errors);
        let entry_types: Vec<TokenStream> = sig
            .params
            .iter()
            .zip(&twin_sig.params)
            .map(|(p, t)| {
                if p.active && !matches!(p.kind, ParamKind::Struct { .. }) {
                    t.gradient_type()
                } else {
                    quote!(#rt::Constant)
                }
            })
            .collect();
        let ret = match &twin.sig.output {
            syn::ReturnType::Type(_, ty) => quote!(#ty),
            syn::ReturnType::Default => quote!(()),
        };
        let seed = crate::naming::seed();
        twin.block = syn::parse_quote!({ #call_flat_twin(#(#args),*) });
        let mut pullback = twin.clone();
        pullback.sig.ident = twin_pullback;
        pullback.sig.inputs.push(syn::parse_quote!(#seed: #ret));
        pullback.sig.output = syn::parse_quote!(-> (#ret, (#(#entry_types,)*)));
        pullback.block = syn::parse_quote!({
            let (__value, (#(#flat_entries,)*)) = #call_flat_pullback(#(#args,)* #seed);
            (__value, (#(#entries,)*))
        });
        twin.sig.ident = twin_name;
        quote!(#twin #pullback)
    }

    /// `__NAME_numbers`, what a differentiated caller that passes a struct whole calls (see
    /// `Reads`): each active struct as a template (its constants) and its numbers in a slice,
    /// so that the caller's reverse sweep adds the struct's gradient to a slice of numbers.
    /// Its pullback calls `NAME_vjp` on the rebuilt struct and lays the struct's gradient out
    /// flat. Its twin is unavailable: second derivatives do not go through it yet.
    fn numbers_form(&self) -> TokenStream {
        let (func, sig, rt, number) = (self.func, self.sig, self.rt, &self.number);
        let name = &func.sig.ident;
        let form = crate::naming::hidden_fn(name, "numbers");
        let form_pullback = crate::naming::pullback_fn(&form, name.span());
        let vjp = crate::naming::vjp_fn(name);
        let vis = &func.vis;
        let generics = &func.sig.generics;
        let where_clause = self.where_clause();
        let attrs: Vec<&syn::Attribute> = cfg_attrs(func);

        let mut params = Vec::new();
        let mut names = Vec::new();
        let mut rebuild = Vec::new();
        let mut args = Vec::new();
        let mut entry_types = Vec::new();
        let receiver = self.receiver();
        // The original and its `NAME_vjp` are called on the rebuilt `self` where it is active.
        let mut call_on = if sig.has_self {
            quote!(self.)
        } else {
            TokenStream::new()
        };
        if sig.self_active {
            params.push(quote!(__self_numbers: &[#number]));
            names.push(format_ident!("__self_numbers"));
            rebuild.push(quote!(let __self_whole = #rt::differentiable::with_numbers::<#number, _>(self, __self_numbers);));
            call_on = quote!(__self_whole.);
            entry_types.push(quote!(::std::vec::Vec<#number>));
        }
        for p in &sig.params {
            let (ident, ty) = (&p.ident, &p.ty);
            if p.active && matches!(p.kind, ParamKind::Struct { .. }) {
                let numbers =
                    format_ident!("__{}_numbers", ident.to_string().trim_start_matches("r#"));
                let whole = format_ident!("__{}_whole", ident.to_string().trim_start_matches("r#"));
                let by_ref = matches!(ty, syn::Type::Reference(_));
                let template = if by_ref { quote!(#ty) } else { quote!(&#ty) };
                params.push(quote!(#ident: #template));
                params.push(quote!(#numbers: &[#number]));
                names.push(ident.clone());
                names.push(numbers.clone());
                rebuild.push(quote!(let #whole = #rt::differentiable::with_numbers::<#number, _>(#ident, #numbers);));
                args.push(if by_ref {
                    quote!(&#whole)
                } else {
                    quote!(#whole)
                });
                entry_types.push(quote!(#rt::Constant));
                entry_types.push(quote!(::std::vec::Vec<#number>));
            } else {
                params.push(quote!(#ident: #ty));
                names.push(ident.clone());
                args.push(quote!(#ident));
                entry_types.push(if p.active {
                    p.gradient_type()
                } else {
                    quote!(#rt::Constant)
                });
            }
        }
        let (pattern, entries) = self.entries_from_gradient(EntriesFor::Numbers);
        let ret = &sig.return_type;
        let seed = crate::naming::seed();
        let (call, vjp_call) = if sig.has_self {
            (quote!(#call_on #name), quote!(#call_on #vjp))
        } else {
            (self.call(name), self.call(&vjp))
        };
        let form_fn: syn::ItemFn = syn::parse_quote! {
            #(#attrs)*
            #[doc(hidden)]
            #[allow(clippy::too_many_arguments, non_snake_case)]
            #vis fn #form #generics (#receiver #(#params),*) -> #ret #where_clause {
                #(#rebuild)*
                #call(#(#args),*)
            }
        };
        let twin = self.numbers_twin(&form_fn);
        let associated = if sig.has_self && sig.self_active {
            // `p.m(x)` in a caller where `p` is an active struct parameter, not `self`: the
            // same form as an associated function, `p` a constant argument.
            let of = format_ident!("{}_of", form);
            let of_pullback = crate::naming::pullback_fn(&of, name.span());
            let g: Vec<syn::Ident> = (0..entry_types.len())
                .map(|k| format_ident!("__g{}", k))
                .collect();
            let of_fn: syn::ItemFn = syn::parse_quote! {
                #(#attrs)*
                #[doc(hidden)]
                #[allow(clippy::too_many_arguments, non_snake_case)]
                #vis fn #of #generics (this: &Self, #(#params),*) -> #ret #where_clause {
                    this.#form(#(#names),*)
                }
            };
            let of_twin = self.numbers_twin(&of_fn);
            quote! {
                #of_fn

                #(#attrs)*
                #[doc(hidden)]
                #[allow(clippy::too_many_arguments, non_snake_case)]
                #vis fn #of_pullback #generics (this: &Self, #(#params,)* #seed: #ret) -> (#ret, (#rt::Constant, #(#entry_types,)*)) #where_clause {
                    let (__value, (#(#g,)*)) = this.#form_pullback(#(#names,)* #seed);
                    (__value, (#rt::Constant, #(#g,)*))
                }

                #of_twin
            }
        } else {
            TokenStream::new()
        };
        quote! {
            #form_fn
            #associated

            #(#attrs)*
            #[doc(hidden)]
            #[allow(clippy::too_many_arguments, non_snake_case)]
            #vis fn #form_pullback #generics (#receiver #(#params,)* #seed: #ret) -> (#ret, (#(#entry_types,)*)) #where_clause {
                #(#rebuild)*
                let (__value, #pattern) = #vjp_call(#(#args,)* #seed);
                (__value, (#(#entries,)*))
            }

            #twin
        }
    }

    /// The twin of `__NAME_numbers`, which a caller's second-order items would call: there is
    /// none yet, so it says so where it is used.
    fn numbers_twin(&self, form: &syn::ItemFn) -> TokenStream {
        let rt = self.rt;
        // Active: the numbers, and the function's other active parameters.
        let mut names = Vec::new();
        if self.sig.self_active {
            names.push(format_ident!("__self_numbers"));
        }
        for p in &self.sig.params {
            if p.active && matches!(p.kind, ParamKind::Struct { .. }) {
                names.push(format_ident!(
                    "__{}_numbers",
                    p.ident.to_string().trim_start_matches("r#")
                ));
            } else if p.active {
                names.push(p.ident.clone());
            }
        }
        let options = Options {
            wrt: Some(Wrt {
                keyword: format_ident!("wrt"),
                names,
            }),
            vjp: None,
            dump: false,
            checkpoints: Vec::new(),
            in_impl: self.sig.associated,
        };
        let mut errors = crate::errors::Errors::default();
        let mut form_sig = crate::signature::analyse(&form.sig, &options, &mut errors);
        crate::linalg::promote_whole_values(&form.block, &mut form_sig);
        if self.sig.floats.generic.is_some() {
            return crate::emit::twin_items(form, &form_sig, crate::emit::TwinItems::Itself, rt);
        }
        let float = self.number.to_token_stream().to_string();
        let mut twin = crate::twin::signature(form.clone(), &float);
        // The form's nalgebra values are the function's (passed on whole to it).
        crate::twin::over_linalg(&mut twin, self.sig, &float);
        if let Some(body) = self.numbers_twin_body(form.sig.receiver().is_some()) {
            // The flat function's twin, its fields read from the numbers at their places.
            twin.block = Box::new(body);
            let twin = crate::twin::Twin::Rewritten(twin);
            return crate::expand::twin_items(form, &form_sig, twin, &options, rt);
        }
        twin.block = syn::parse_quote!({ ::core::unreachable!() });
        let twin_sig = crate::signature::analyse(&twin.sig, &options, &mut errors);
        let message = format!(
            "`{}` has no second derivatives where a caller passes it a struct whole: pass the struct's fields, or differentiate the caller to first order only",
            self.func.sig.ident
        );
        let unavailable = crate::emit::TwinItems::Unavailable {
            func: &twin,
            sig: &twin_sig,
            message,
        };
        crate::emit::twin_items(form, &form_sig, unavailable, rt)
    }

    /// The body of `__NAME_numbers`'s twin where it can be written: a call of the flat
    /// function's twin, each field it reads taken from the struct's numbers where
    /// `Differentiable::number_range` places it (`&__p_numbers[start..end]`, or one number).
    /// A method's (`receiver`) calls its flat twin on `self`, its own fields taken from
    /// `__self_numbers`. `None` for the associated form of a method (`__m_numbers_of`), a
    /// supplied derivative, and where the flat function has no twin (tensor fields, views).
    fn numbers_twin_body(&self, receiver: bool) -> Option<syn::Block> {
        let rt = self.rt;
        let number = &self.number;
        let flattened = |p: &crate::signature::Param| {
            self.structs
                .iter()
                .find(|s| !s.is_self && s.ident == p.ident)
        };
        let every_struct_flattened = self
            .sig
            .params
            .iter()
            .filter(|p| p.active && matches!(p.kind, ParamKind::Struct { .. }))
            .all(|p| flattened(p).is_some());
        let own = self.structs.iter().find(|s| s.is_self);
        let own_consistent = own.is_some() == self.sig.self_active;
        if receiver != self.sig.has_self
            || !own_consistent
            || !every_struct_flattened
            || !self.has_higher_order()
        {
            return None;
        }
        // Each field the flat function reads, from `numbers` where `Differentiable` places it.
        let fields = |of: TokenStream, numbers: &syn::Ident, s: &StructParam| {
            let mut args = Vec::new();
            for f in &s.fields {
                let path = member_names(&f.members).join(".");
                let start = quote!(#rt::differentiable::number_start::<#number, _>(&#of, #path));
                let end = quote!(#rt::differentiable::number_end::<#number, _>(&#of, #path));
                args.push(match f.reading {
                    Reading::Number => quote!(#numbers[#start]),
                    Reading::Numbers | Reading::All => quote!(&#numbers[#start..#end]),
                    Reading::Tensor => return None,
                });
            }
            Some(args)
        };
        let mut args = Vec::new();
        if let Some(s) = own {
            args.extend(fields(quote!(self), &format_ident!("__self_numbers"), s)?);
        }
        for p in &self.sig.params {
            let ident = &p.ident;
            let Some(s) = flattened(p).filter(|_| p.active) else {
                args.push(quote!(#ident));
                continue;
            };
            let numbers = format_ident!("__{}_numbers", ident.to_string().trim_start_matches("r#"));
            args.extend(fields(quote!(#ident), &numbers, s)?);
            args.push(quote!(#ident));
        }
        let flat_twin = crate::naming::twin_fn(&self.name(""));
        let conversions = crate::twin::conversions_in_scope();
        let call = if receiver {
            quote!(self.#flat_twin(#(#args),*))
        } else {
            quote!(#flat_twin(#(#args),*))
        };
        Some(syn::parse_quote!({ #conversions #call }))
    }

    /// `NAME_hessian`: one Hessian-vector product per number of the active parameters, laid
    /// out flat in parameter order (a struct's numbers in declaration order).
    fn hessian(
        &self,
        params: &[TokenStream],
        gradient_type: &TokenStream,
        attrs: &[&syn::Attribute],
    ) -> TokenStream {
        // Each row calls `NAME_hvp` with the parameters again.
        if !crate::analysis::strategy::params_are_copy(self.sig) {
            return TokenStream::new();
        }
        let (rt, number) = (self.rt, &self.number);
        let func = self.func;
        let name = &func.sig.ident;
        let ident = crate::naming::item_fn(name, "hessian");
        let vis = &func.vis;
        let generics = &func.sig.generics;
        let where_clause = self.where_clause();
        let receiver = self.receiver();
        let ret = &self.sig.return_type;
        let count = self.sig.active_params().count() + usize::from(self.sig.self_active);
        let entries: Vec<syn::Ident> = (0..count).map(|k| format_ident!("__e{}", k)).collect();
        let pattern = one_or_tuple(&entries);
        // The `Differentiable` calls at each parameter's type, where a type that is not one is
        // reported (once: the same error at the same place as the other items').
        let self_span = self.func.sig.receiver().map(|r| r.span());
        let spans: Vec<Span> = self_span
            .into_iter()
            .filter(|_| self.sig.self_active)
            .chain(self.sig.active_params().map(|p| p.ty.span()))
            .collect();
        let rebuilt: Vec<TokenStream> = entries
            .iter()
            .zip(&spans)
            .map(|(e, span)| {
                let e = syn::Ident::new(&e.to_string(), *span);
                quote_spanned!(*span=> {
                    let mut #e = #rt::Differentiable::<#number>::zero_like(#e);
                    #rt::Differentiable::<#number>::read_numbers(&mut #e, &mut __rest);
                    #e
                })
            })
            .collect();
        let rebuild = one_or_tuple(&rebuilt);
        let writes: Vec<TokenStream> = entries
            .iter()
            .zip(&spans)
            .map(|(e, span)| {
                let e = syn::Ident::new(&e.to_string(), *span);
                quote_spanned!(*span=> #rt::Differentiable::<#number>::write_numbers(#e, &mut __row);)
            })
            .collect();
        let counts: Vec<TokenStream> = entries
            .iter()
            .zip(&spans)
            .map(|(e, span)| {
                let e = syn::Ident::new(&e.to_string(), *span);
                quote_spanned!(*span=> #rt::Differentiable::<#number>::count_numbers(#e))
            })
            .collect();
        let grad = self.call(&crate::naming::grad_fn(name));
        let hvp = self.call(&crate::naming::item_fn(name, "hvp"));
        let arg_names: Vec<&syn::Ident> = self.sig.params.iter().map(|p| &p.ident).collect();
        let doc = format!("The value, the gradient and the Hessian of [`{name}`], over the active parameters' numbers laid out flat (a struct's in declaration order); one Hessian-vector product per number.");
        quote! {
            #(#attrs)*
            #[doc = #doc]
            #[allow(clippy::too_many_arguments)]
            #vis fn #ident #generics (#receiver #(#params),*) -> (#ret, #gradient_type, ::std::vec::Vec<::std::vec::Vec<#number>>) #where_clause {
                let (__value, __gradient) = #grad(#(#arg_names),*);
                let __n = { let #pattern = &__gradient; 0 #(+ #counts)* };
                let mut __hessian = ::std::vec::Vec::with_capacity(__n);
                // Row k is H·e_k, its direction built in the gradient's shape.
                let mut __unit = ::std::vec![<#number as #rt::num_traits::Zero>::zero(); __n];
                for __k in 0..__n {
                    __unit[__k] = <#number as #rt::num_traits::One>::one();
                    let mut __rest: &[#number] = &__unit;
                    let __direction = { let #pattern = &__gradient; #rebuild };
                    __unit[__k] = <#number as #rt::num_traits::Zero>::zero();
                    let (_, _, __hv) = #hvp(#(#arg_names,)* __direction);
                    let mut __row = ::std::vec::Vec::with_capacity(__n);
                    { let #pattern = &__hv; #(#writes)* }
                    __hessian.push(__row);
                }
                // Symmetric by construction: each pair of entries is averaged.
                let __half = <#number as #rt::num_traits::One>::one() / (<#number as #rt::num_traits::One>::one() + <#number as #rt::num_traits::One>::one());
                for __i in 0..__n {
                    for __j in 0..__i {
                        let __mean = (__hessian[__i][__j] + __hessian[__j][__i]) * __half;
                        __hessian[__i][__j] = __mean;
                        __hessian[__j][__i] = __mean;
                    }
                }
                (__value, __gradient, __hessian)
            }
        }
    }
}
