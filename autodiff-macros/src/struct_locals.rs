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
//! A struct local used any other way (a method call on it, a borrow passed to a function, a
//! macro naming it) is left as written, and the transform reports the literal.

use quote::format_ident;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;

/// `func` with each struct local it can replace by its fields replaced.
pub fn scalar_replaced(func: &syn::ItemFn) -> syn::ItemFn {
    let mut func = func.clone();
    Blocks.visit_block_mut(&mut func.block);
    func
}

/// A struct local: its name, its type's path, and its fields in the literal's order.
struct StructLocal {
    name: syn::Ident,
    path: syn::Path,
    fields: Vec<syn::Ident>,
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
    if literal.rest.is_some() || ident.subpat.is_some() || ident.by_ref.is_some() {
        return None;
    }
    let fields = (literal.fields.iter())
        .map(|f| named(&f.member).cloned())
        .collect::<Option<Vec<_>>>()?;
    let local = StructLocal {
        name: ident.ident.clone(),
        path: literal.path.clone(),
        fields,
    };
    Some((local, ident.mutability.is_some(), literal))
}

/// Visits every block, innermost first, replacing the struct locals each declares.
struct Blocks;

impl VisitMut for Blocks {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        syn::visit_mut::visit_block_mut(self, block);
        let mut i = 0;
        while i < block.stmts.len() {
            if let Some((local, mutable, literal)) = struct_local(&block.stmts[i]) {
                let rest = &block.stmts[i + 1..];
                if replaceable(&local, rest) {
                    let decl = declaration(&local, mutable, literal);
                    let mut replacer = Replacer { local: &local };
                    for stmt in &mut block.stmts[i + 1..] {
                        replacer.visit_stmt_mut(stmt);
                    }
                    replacer.splice_assignments(block, i + 1);
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
    let mut uses = Uses { local, ok: true };
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
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
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
            syn::Expr::Path(p) if p.path.is_ident(name) => self.ok = false,
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
        if mentions(m.tokens.clone(), &self.local.name) {
            self.ok = false;
        }
    }
}

fn mentions(tokens: proc_macro2::TokenStream, name: &syn::Ident) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == *name,
        proc_macro2::TokenTree::Group(g) => mentions(g.stream(), name),
        _ => false,
    })
}

/// Rewrites the uses `replaceable` accepted.
struct Replacer<'a> {
    local: &'a StructLocal,
}

impl Replacer<'_> {
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

    /// Splices the statements of each whole assignment into `block`, from statement `start`.
    fn splice_assignments(&self, block: &mut syn::Block, start: usize) {
        let mut stmts = Vec::with_capacity(block.stmts.len());
        for (k, stmt) in std::mem::take(&mut block.stmts).into_iter().enumerate() {
            match self.is_whole_assignment(&stmt) {
                Some(literal) if k >= start => stmts.extend(self.assignment(literal)),
                _ => stmts.push(stmt),
            }
        }
        block.stmts = stmts;
    }
}

impl VisitMut for Replacer<'_> {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        syn::visit_mut::visit_block_mut(self, block);
        self.splice_assignments(block, 0);
    }

    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
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
