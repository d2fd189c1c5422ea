//! Struct patterns on a struct parameter, `let Params { w, b, .. } = p;` (or `= *p`, `= &p`):
//! each name stands for the field it binds, so it is read as the field (`p.w`, `p.b`) where
//! it is used, and the reads of the struct stage see what each field is used for. Nested
//! patterns (`inner: Inner { a, .. }`) name nested fields. A `mut` binding is a copy the body
//! changes, and is left as written.
use super::*;
use std::collections::BTreeMap;

/// Replaces the struct patterns on `roots` in `block` (at any depth) by their fields.
pub(super) fn expand(block: &mut syn::Block, roots: &[syn::Ident]) {
    Expander { roots }.visit_block_mut(block);
}

struct Expander<'r> {
    roots: &'r [syn::Ident],
}

impl VisitMut for Expander<'_> {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        let mut k = 0;
        while k < block.stmts.len() {
            let fields = match &block.stmts[k] {
                syn::Stmt::Local(local) => self.fields_bound(local),
                _ => None,
            };
            match fields {
                Some(fields) => {
                    block.stmts.remove(k);
                    let mut substitute = Substitute { fields };
                    for stmt in &mut block.stmts[k..] {
                        substitute.visit_stmt_mut(stmt);
                        // A later `let` of the same name ends the substitution of it.
                        if let syn::Stmt::Local(local) = stmt {
                            let mut names = Vec::new();
                            crate::lower::pattern_names(&local.pat, &mut names);
                            substitute.fields.retain(|name, _| !names.contains(name));
                        }
                    }
                }
                None => {
                    syn::visit_mut::visit_stmt_mut(self, &mut block.stmts[k]);
                    k += 1;
                }
            }
        }
    }
}

impl Expander<'_> {
    /// The names `let Struct { .. } = root;` binds, each with the field path it reads;
    /// `None` for any other statement.
    fn fields_bound(&self, local: &syn::Local) -> Option<BTreeMap<String, syn::Expr>> {
        let init = local.init.as_ref()?;
        if init.diverge.is_some() {
            return None;
        }
        let mut source = &*init.expr;
        while let syn::Expr::Reference(syn::ExprReference { expr, .. })
        | syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Deref(_),
            expr,
            ..
        })
        | syn::Expr::Paren(syn::ExprParen { expr, .. }) = source
        {
            source = expr;
        }
        // The root, or a field of it (`&line.offset`).
        let mut root = source;
        while let syn::Expr::Field(f) = root {
            root = &f.base;
        }
        let syn::Expr::Path(path) = root else {
            return None;
        };
        if !self.roots.contains(path.path.get_ident()?) {
            return None;
        }
        let base = source.clone();
        let mut fields = BTreeMap::new();
        collect(&local.pat, &base, &mut fields).then_some(fields)
    }
}

/// The names a struct pattern binds, each with the field expression on `base`; false for a
/// pattern that is not made of struct patterns and plain names.
fn collect(pat: &Pat, base: &syn::Expr, out: &mut BTreeMap<String, syn::Expr>) -> bool {
    let Pat::Struct(s) = pat else {
        return false;
    };
    s.fields.iter().all(|field| {
        let member = &field.member;
        let place: syn::Expr = syn::parse_quote!(#base.#member);
        match &*field.pat {
            Pat::Ident(p) if p.mutability.is_none() && p.subpat.is_none() => {
                out.insert(p.ident.to_string(), place);
                true
            }
            Pat::Wild(_) => true,
            nested @ Pat::Struct(_) => collect(nested, &place, out),
            _ => false,
        }
    })
}

/// Reads each bound name as its field: `w` and `*w` become `p.w`.
struct Substitute {
    fields: BTreeMap<String, syn::Expr>,
}

impl VisitMut for Substitute {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        let name = match expr {
            syn::Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
            // `*b` of the reference the pattern bound (`p: &Params`).
            syn::Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Deref(_),
                expr: inner,
                ..
            }) => match &**inner {
                syn::Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
                _ => None,
            },
            _ => None,
        };
        if let Some(field) = name.and_then(|n| self.fields.get(&n)) {
            *expr = syn::parse_quote!((#field));
            return;
        }
        if let syn::Expr::Closure(c) = expr {
            // Names a closure's parameters shadow stay as they are inside it.
            let mut shadowed = Vec::new();
            for input in &c.inputs {
                crate::lower::pattern_names(input, &mut shadowed);
            }
            let kept: BTreeMap<String, syn::Expr> = self
                .fields
                .iter()
                .filter(|(name, _)| !shadowed.contains(name))
                .map(|(n, e)| (n.clone(), e.clone()))
                .collect();
            let all = std::mem::replace(&mut self.fields, kept);
            self.visit_expr_mut(&mut c.body);
            self.fields = all;
            return;
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    // In a macro's arguments (`println!("{w:?}")` aside), a name not after `.` is a variable.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        mac.tokens = self.tokens(mac.tokens.clone());
    }
}

impl Substitute {
    fn tokens(&self, tokens: TokenStream) -> TokenStream {
        use proc_macro2::TokenTree;
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = Vec::new();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Ident(ident) => {
                    let after_dot =
                        i > 0 && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
                    match self.fields.get(&ident.to_string()) {
                        Some(field) if !after_dot => out.extend(quote!((#field))),
                        _ => out.push(tree.clone()),
                    }
                }
                TokenTree::Group(g) => {
                    let mut group = proc_macro2::Group::new(g.delimiter(), self.tokens(g.stream()));
                    group.set_span(g.span());
                    out.push(TokenTree::Group(group));
                }
                other => out.push(other.clone()),
            }
        }
        out.into_iter().collect()
    }
}
