//! Structs built in the body: `let mut s = State { x: a, v: b };`, read by field (`s.x`),
//! updated by field (`s.v += dt * f`) or whole (`s = State { x: .., v: .. }`), and returned
//! whole. Before any other stage sees the body, such a struct becomes one local per field
//! (the scalar replacement of aggregates compilers do), so the rest of the transform sees
//! numbers it already knows:
//!
//! ```text
//! let mut s = State { x: a, v: b };          let (mut __s_x, mut __s_v) = (a, b);
//! for _ in 0..n {                            for _ in 0..n {
//!     s = State { x: s.x + dt * s.v,             let (__s_x_next, __s_v_next) = (__s_x + dt * __s_v, __s_v - dt * __s_x);
//!                 v: s.v - dt * s.x };           __s_x = __s_x_next;
//! }                                              __s_v = __s_v_next;
//! s                                          }
//!                                            State { x: __s_x, v: __s_v }
//! ```
//!
//! Passed whole to a differentiated function (`predict(&s, x)`) or receiving a differentiated
//! method (`s.predict(x)`), the struct is rebuilt where the call's statement runs: a copy
//! holding the fields' values (for its constants and shape), and its numbers in a buffer
//! stored from the fields' locals, so the derivative flows through the stores. The call goes
//! to the callee's numbers form, as a struct parameter's does (see `structs`):
//!
//! ```text
//! let y = predict(&s, x);                    let __s_whole = State { x: detach(__s_x), v: detach(__s_v) };
//!                                            let mut __s_numbers = vec![0.0; count_numbers(&__s_whole)];
//!                                            __s_numbers[number_start(&__s_whole, "x")] = __s_x;
//!                                            __s_numbers[number_start(&__s_whole, "v")] = __s_v;
//!                                            let y = __predict_numbers(&__s_whole, &__s_numbers, x);
//! ```
//!
//! Every field the literal sets is taken for a number except an obvious constant (an integer,
//! `bool` or string literal, an integer cast, a `.len()`); a field of another type fails to
//! compile at its value. A struct local used any other way (a borrow kept in a local, a
//! macro naming it, a call in a loop's condition) is left as written, and the transform
//! reports the literal.

use quote::format_ident;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;

/// `func` with each struct local it can replace by its fields replaced; `float` is its float
/// type (`f64`, or the type parameter `T`: `generic`), that of a struct's numbers.
pub fn scalar_replaced(func: &syn::ItemFn, float: &syn::Type, generic: bool) -> syn::ItemFn {
    let mut func = func.clone();
    let zero: syn::Expr = if generic {
        syn::parse_quote!(<#float as ::differentiate::runtime::num_traits::Zero>::zero())
    } else {
        syn::parse_quote!(0.0)
    };
    Blocks {
        float: float.clone(),
        zero,
    }
    .visit_block_mut(&mut func.block);
    func
}

/// A struct local: its name, its type's path, and its fields in the literal's order, with
/// whether each is a number (see [`constant_value`]).
struct StructLocal {
    name: syn::Ident,
    path: syn::Path,
    fields: Vec<syn::Ident>,
    numbers: Vec<bool>,
}

impl StructLocal {
    fn field_local(&self, field: &syn::Ident) -> syn::Ident {
        format_ident!("__{}_{}", self.name, field, span = field.span())
    }

    /// The literal's fields, when it sets exactly this struct's fields (any order).
    fn same_fields(&self, literal: &syn::ExprStruct) -> bool {
        literal.rest.is_none()
            && literal.path == self.path
            && literal.fields.len() == self.fields.len()
            && self
                .fields
                .iter()
                .all(|f| literal.fields.iter().any(|v| named(&v.member) == Some(f)))
    }

    /// `Path { f: __s_f, .. }`: the struct whole, from its fields' locals.
    fn whole(&self) -> syn::Expr {
        let path = &self.path;
        let fields = self.fields.iter().map(|f| {
            let local = self.field_local(f);
            quote::quote!(#f: #local)
        });
        syn::parse_quote!(#path { #(#fields),* })
    }
}

fn named(member: &syn::Member) -> Option<&syn::Ident> {
    match member {
        syn::Member::Named(ident) => Some(ident),
        syn::Member::Unnamed(_) => None,
    }
}

/// `let [mut] s = Path { f: e, .. };` with named fields and no `..rest`.
fn struct_local(stmt: &syn::Stmt) -> Option<(StructLocal, bool, &syn::ExprStruct)> {
    let syn::Stmt::Local(local) = stmt else {
        return None;
    };
    let pat = match &local.pat {
        syn::Pat::Type(t) => &*t.pat,
        other => other,
    };
    let syn::Pat::Ident(ident) = pat else {
        return None;
    };
    let init = local.init.as_ref().filter(|i| i.diverge.is_none())?;
    let syn::Expr::Struct(literal) = &*init.expr else {
        return None;
    };
    // A copy this pass made to pass a struct whole (`__s_whole`) stays as it is.
    let generated = ident.ident.to_string().starts_with("__");
    if literal.rest.is_some() || ident.subpat.is_some() || ident.by_ref.is_some() || generated {
        return None;
    }
    let fields = (literal.fields.iter())
        .map(|f| named(&f.member).cloned())
        .collect::<Option<Vec<_>>>()?;
    let numbers = literal
        .fields
        .iter()
        .map(|f| !constant_value(&f.expr))
        .collect();
    let local = StructLocal {
        name: ident.ident.clone(),
        path: literal.path.clone(),
        fields,
        numbers,
    };
    Some((local, ident.mutability.is_some(), literal))
}

/// A field value that is surely not a number: an integer, `bool` or string literal, a cast
/// to an integer type, a length.
fn constant_value(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(l) => match &l.lit {
            syn::Lit::Float(_) => false,
            syn::Lit::Int(i) => !matches!(i.suffix(), "f64" | "f32"),
            _ => true,
        },
        syn::Expr::Cast(c) => crate::signature::is_integer_ty(&c.ty),
        syn::Expr::MethodCall(m) => m.method == "len" && m.args.is_empty(),
        syn::Expr::Paren(p) => constant_value(&p.expr),
        _ => false,
    }
}

/// Visits every block, innermost first, replacing the struct locals each declares.
struct Blocks {
    float: syn::Type,
    zero: syn::Expr,
}

impl VisitMut for Blocks {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        syn::visit_mut::visit_block_mut(self, block);
        let mut i = 0;
        while i < block.stmts.len() {
            if let Some((local, mutable, literal)) = struct_local(&block.stmts[i]) {
                let rest = &block.stmts[i + 1..];
                if replaceable(&local, rest) {
                    let decl = declaration(&local, mutable, literal);
                    let mut replacer = Replacer {
                        local: &local,
                        float: &self.float,
                        zero: &self.zero,
                    };
                    let mut rest = syn::Block {
                        brace_token: block.brace_token,
                        stmts: block.stmts.split_off(i + 1),
                    };
                    replacer.visit_block_mut(&mut rest);
                    block.stmts.extend(rest.stmts);
                    block.stmts[i] = decl;
                }
            }
            i += 1;
        }
    }

    // A closure's or an item's body is its own scope; closures are visited with the block
    // that holds them (their reads are the enclosing locals').
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// `let (mut __s_x, mut __s_v) = (a, b);`: every field's value first, then the names, as the
/// literal evaluates them.
fn declaration(local: &StructLocal, mutable: bool, literal: &syn::ExprStruct) -> syn::Stmt {
    let names = local.fields.iter().map(|f| {
        let ident = local.field_local(f);
        if mutable {
            quote::quote!(mut #ident)
        } else {
            quote::quote!(#ident)
        }
    });
    let values = local.fields.iter().map(|f| field_value(literal, f));
    syn::parse_quote!(let (#(#names,)*) = (#(#values,)*);)
}

fn field_value<'a>(literal: &'a syn::ExprStruct, field: &syn::Ident) -> &'a syn::Expr {
    &literal
        .fields
        .iter()
        .find(|v| named(&v.member) == Some(field))
        .expect("checked by same_fields")
        .expr
}

/// Whether every use of the local in `rest` is one the replacement can write with its fields:
/// a field read or assignment, an assignment of a literal of the same fields, the struct
/// returned whole. It must not be declared again, nor named in a macro.
fn replaceable(local: &StructLocal, rest: &[syn::Stmt]) -> bool {
    let mut uses = Uses {
        local,
        ok: true,
        call_site: true,
    };
    for (k, stmt) in rest.iter().enumerate() {
        let tail = k + 1 == rest.len() && matches!(stmt, syn::Stmt::Expr(_, None));
        match stmt {
            syn::Stmt::Expr(syn::Expr::Path(p), None) if tail && p.path.is_ident(&local.name) => {}
            _ => uses.visit_stmt(stmt),
        }
    }
    uses.ok
}

struct Uses<'a> {
    local: &'a StructLocal,
    ok: bool,
    /// Where a call passing the struct whole can be rebuilt for before its statement: not
    /// in a loop's condition, a closure, a branch's arm (which has statements of its own).
    call_site: bool,
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        self.call_site = true;
        // `s = Path { .. };` as a statement (spliced into its block's statements).
        if let syn::Stmt::Expr(syn::Expr::Assign(a), _) = stmt {
            if matches!(&*a.left, syn::Expr::Path(p) if p.path.is_ident(&self.local.name)) {
                match &*a.right {
                    syn::Expr::Struct(literal) if self.local.same_fields(literal) => {
                        literal.fields.iter().for_each(|f| self.visit_expr(&f.expr))
                    }
                    _ => self.ok = false,
                }
                return;
            }
        }
        syn::visit::visit_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'ast syn::Expr) {
        let name = &self.local.name;
        match expr {
            syn::Expr::Field(f) if matches!(&*f.base, syn::Expr::Path(p) if p.path.is_ident(name)) => {
                if !named(&f.member).is_some_and(|m| self.local.fields.contains(m)) {
                    self.ok = false;
                }
            }
            // `return s`: the struct whole, from its fields.
            syn::Expr::Return(r) if matches!(r.expr.as_deref(), Some(syn::Expr::Path(p)) if p.path.is_ident(name)) =>
                {}
            syn::Expr::Call(c) if self.call_site && passes_whole(c, name) => {
                for arg in &c.args {
                    if whole_argument(arg, name).is_none() {
                        self.visit_expr(arg);
                    }
                }
            }
            syn::Expr::MethodCall(m) if self.call_site && is_path(&m.receiver, name) => {
                m.args.iter().for_each(|a| self.visit_expr(a));
            }
            syn::Expr::Path(p) if p.path.is_ident(name) => self.ok = false,
            _ if !keeps_call_site(expr) => {
                let outer = std::mem::replace(&mut self.call_site, false);
                syn::visit::visit_expr(self, expr);
                self.call_site = outer;
            }
            _ => syn::visit::visit_expr(self, expr),
        }
    }

    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        if p.ident == self.local.name {
            self.ok = false;
        }
        syn::visit::visit_pat_ident(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if crate::twin::mentions_ident(m.tokens.clone(), &self.local.name.to_string()) {
            self.ok = false;
        }
    }
}

/// An expression through which a call is still evaluated once, right after the statements
/// before its own (not a loop, a closure, a block or a branch).
fn keeps_call_site(expr: &syn::Expr) -> bool {
    matches!(
        expr,
        syn::Expr::Binary(_)
            | syn::Expr::Unary(_)
            | syn::Expr::Paren(_)
            | syn::Expr::Reference(_)
            | syn::Expr::Call(_)
            | syn::Expr::MethodCall(_)
            | syn::Expr::Cast(_)
            | syn::Expr::Field(_)
            | syn::Expr::Index(_)
            | syn::Expr::Tuple(_)
            | syn::Expr::Array(_)
            | syn::Expr::Return(_)
            | syn::Expr::Assign(_)
            | syn::Expr::Lit(_)
            | syn::Expr::Path(_)
    )
}

fn is_path(expr: &syn::Expr, name: &syn::Ident) -> bool {
    matches!(expr, syn::Expr::Path(p) if p.path.is_ident(name))
}

/// `s` (by value: `Some(false)`) or `&s` (`Some(true)`).
fn whole_argument(arg: &syn::Expr, name: &syn::Ident) -> Option<bool> {
    match arg {
        syn::Expr::Reference(r) if r.mutability.is_none() && is_path(&r.expr, name) => Some(true),
        other if is_path(other, name) => Some(false),
        _ => None,
    }
}

/// `f(.., &s, ..)` of a function named by a path.
fn passes_whole(call: &syn::ExprCall, name: &syn::Ident) -> bool {
    matches!(&*call.func, syn::Expr::Path(p) if p.qself.is_none())
        && call.args.iter().any(|a| whole_argument(a, name).is_some())
}

/// Whether `stmt` itself (not a block inside it) passes the struct whole to a call.
fn calls_with_whole(stmt: &syn::Stmt, name: &syn::Ident) -> bool {
    struct Finder<'a> {
        name: &'a syn::Ident,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_expr(&mut self, expr: &'ast syn::Expr) {
            match expr {
                syn::Expr::Call(c) if passes_whole(c, self.name) => self.found = true,
                syn::Expr::MethodCall(m) if is_path(&m.receiver, self.name) => self.found = true,
                _ if keeps_call_site(expr) => syn::visit::visit_expr(self, expr),
                _ => {}
            }
        }
    }
    let mut finder = Finder { name, found: false };
    finder.visit_stmt(stmt);
    finder.found
}

/// Rewrites the uses `replaceable` accepted.
struct Replacer<'a> {
    local: &'a StructLocal,
    float: &'a syn::Type,
    zero: &'a syn::Expr,
}

impl Replacer<'_> {
    fn whole_local(&self) -> syn::Ident {
        format_ident!("__{}_whole", self.local.name)
    }

    fn numbers_local(&self) -> syn::Ident {
        format_ident!("__{}_numbers", self.local.name)
    }

    /// Before a statement passing the struct whole: the struct (its values, no derivative)
    /// and its numbers, stored from the fields' locals.
    fn rebuilt(&self) -> Vec<syn::Stmt> {
        let (whole, numbers, float, zero) = (
            self.whole_local(),
            self.numbers_local(),
            self.float,
            self.zero,
        );
        let count = self.local.numbers.iter().filter(|n| **n).count();
        let rt = quote::quote!(::differentiate::runtime::differentiable);
        let path = &self.local.path;
        let mut stmts: Vec<syn::Stmt> = Vec::new();
        // Each number's value, without its derivative: the copy is a constant.
        let values: Vec<proc_macro2::TokenStream> = (self.local.fields.iter())
            .zip(&self.local.numbers)
            .map(|(f, number)| {
                let local = self.local.field_local(f);
                if *number {
                    let value = format_ident!("{}_value", local);
                    stmts.push(syn::parse_quote!(let #value = ::differentiate::detach(#local);));
                    quote::quote!(#f: #value)
                } else {
                    quote::quote!(#f: #local)
                }
            })
            .collect();
        stmts.extend::<[syn::Stmt; 2]>([
            syn::parse_quote!(let #whole = #path { #(#values),* };),
            // One number per number field: a field that holds more does not store into one.
            syn::parse_quote!(let mut #numbers = [#zero; #count];),
        ]);
        for (f, number) in self.local.fields.iter().zip(&self.local.numbers) {
            if *number {
                let (local, name) = (self.local.field_local(f), f.to_string());
                stmts.push(syn::parse_quote_spanned!(f.span()=>
                    #numbers[#rt::number_start::<#float, _>(&#whole, #name)] = #local;
                ));
            }
        }
        stmts
    }

    /// `f(&s, x)` as `__f_numbers(&__s_whole, &__s_numbers, x)`; `s.m(x)` as
    /// `<S>::__m_numbers_of(&__s_whole, &__s_numbers, x)`.
    fn rewrite_call(&mut self, expr: &mut syn::Expr) -> bool {
        let name = self.local.name.clone();
        let (whole, numbers) = (self.whole_local(), self.numbers_local());
        match expr {
            syn::Expr::Call(c) if passes_whole(c, &name) => {
                let mut args = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::new();
                for mut arg in std::mem::take(&mut c.args) {
                    match whole_argument(&arg, &name) {
                        Some(true) => {
                            args.push(syn::parse_quote!(&#whole));
                            args.push(syn::parse_quote!(&#numbers));
                        }
                        Some(false) => {
                            args.push(syn::parse_quote!(::core::clone::Clone::clone(&#whole)));
                            args.push(syn::parse_quote!(&#numbers));
                        }
                        None => {
                            self.visit_expr_mut(&mut arg);
                            args.push(arg);
                        }
                    }
                }
                c.args = args;
                if let syn::Expr::Path(p) = &mut *c.func {
                    if let Some(last) = p.path.segments.last_mut() {
                        let callee = last.ident.to_string();
                        last.ident = format_ident!(
                            "__{}_numbers",
                            callee.trim_start_matches("r#"),
                            span = last.ident.span()
                        );
                    }
                }
                true
            }
            syn::Expr::MethodCall(m) if is_path(&m.receiver, &name) => {
                for arg in m.args.iter_mut() {
                    self.visit_expr_mut(arg);
                }
                let form = format_ident!(
                    "__{}_numbers_of",
                    m.method.to_string().trim_start_matches("r#"),
                    span = m.method.span()
                );
                let (path, args) = (&self.local.path, &m.args);
                *expr = syn::parse_quote_spanned!(m.method.span()=>
                    <#path>::#form(&#whole, &#numbers, #args)
                );
                true
            }
            _ => false,
        }
    }
    /// `s = Path { x: a, v: b };` as its statements: the new values first, then each field.
    fn assignment(&self, literal: &syn::ExprStruct) -> Vec<syn::Stmt> {
        let next: Vec<syn::Ident> = (self.local.fields.iter())
            .map(|f| format_ident!("{}_next", self.local.field_local(f)))
            .collect();
        let values = self.local.fields.iter().map(|f| field_value(literal, f));
        let mut stmts: Vec<syn::Stmt> = vec![syn::parse_quote!(let (#(#next,)*) = (#(#values,)*);)];
        for (f, n) in self.local.fields.iter().zip(&next) {
            let ident = self.local.field_local(f);
            stmts.push(syn::parse_quote!(#ident = #n;));
        }
        stmts
    }

    fn is_whole_assignment<'s>(&self, stmt: &'s syn::Stmt) -> Option<&'s syn::ExprStruct> {
        let syn::Stmt::Expr(syn::Expr::Assign(a), _) = stmt else {
            return None;
        };
        match (&*a.left, &*a.right) {
            (syn::Expr::Path(p), syn::Expr::Struct(literal))
                if p.path.is_ident(&self.local.name) =>
            {
                Some(literal)
            }
            _ => None,
        }
    }
}

impl VisitMut for Replacer<'_> {
    /// Each statement rewritten; a whole assignment spliced in as its statements; the struct
    /// rebuilt before a statement that passes it whole.
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        let mut stmts = Vec::with_capacity(block.stmts.len());
        for mut stmt in std::mem::take(&mut block.stmts) {
            if calls_with_whole(&stmt, &self.local.name) {
                stmts.extend(self.rebuilt());
            }
            self.visit_stmt_mut(&mut stmt);
            match self.is_whole_assignment(&stmt) {
                Some(literal) => stmts.extend(self.assignment(literal)),
                None => stmts.push(stmt),
            }
        }
        block.stmts = stmts;
    }

    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        if self.rewrite_call(expr) {
            return;
        }
        let name = &self.local.name;
        match expr {
            syn::Expr::Field(f) if matches!(&*f.base, syn::Expr::Path(p) if p.path.is_ident(name)) => {
                if let Some(field) = named(&f.member) {
                    let local = self.local.field_local(field);
                    *expr = syn::parse_quote!(#local);
                }
            }
            syn::Expr::Path(p) if p.path.is_ident(name) => *expr = self.local.whole(),
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_expr_assign_mut(&mut self, a: &mut syn::ExprAssign) {
        // `s = Path { .. }` is spliced by its block; only its values are rewritten here.
        if matches!(&*a.left, syn::Expr::Path(p) if p.path.is_ident(&self.local.name)) {
            self.visit_expr_mut(&mut a.right);
        } else {
            syn::visit_mut::visit_expr_assign_mut(self, a);
        }
    }
}
