//! Kept expressions: the user's code kept as written (passive values, ranges, patterns,
//! guards, statement macros), with each local variable replaced by the marker of its current
//! version (see `crate::ir::kept`), and the names a pattern or macro binds.
use super::*;

impl Lowerer<'_> {
    /// Renames every local variable an expression mentions to its current version.
    pub(super) fn rename(&mut self, expr: &Expr) -> (Expr, Vec<VarId>) {
        let (expr, uses, _) = self.rename_all(expr);
        (expr, uses)
    }

    /// [`Self::rename`], also telling which arrays the expression mentions.
    pub(super) fn rename_all(&mut self, expr: &Expr) -> (Expr, Vec<VarId>, Vec<ArrayId>) {
        let mut renamer = Renamer {
            lowerer: self,
            shadowed: Vec::new(),
            uses: Vec::new(),
            arrays: Vec::new(),
        };
        let mut expr = expr.clone();
        renamer.visit_expr_mut(&mut expr);
        let (uses, arrays) = (renamer.uses, renamer.arrays);
        (expr, uses, arrays)
    }
}

pub(super) fn is_self(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.path.is_ident("self"))
}

pub(super) struct Renamer<'l, 'e> {
    pub(super) lowerer: &'l mut Lowerer<'e>,
    /// Names bound inside the expression (closure parameters, inner `let`s).
    pub(super) shadowed: Vec<String>,
    pub(super) uses: Vec<VarId>,
    pub(super) arrays: Vec<ArrayId>,
}

impl Renamer<'_, '_> {
    pub(super) fn replace(&mut self, ident: &syn::Ident) -> Option<TokenStream> {
        let name = ident.to_string();
        if self.shadowed.contains(&name) {
            return None;
        }
        match self.lowerer.lookup(&name) {
            Some(Binding::Var(v)) => {
                if !self.uses.contains(&v) {
                    self.uses.push(v);
                }
                Some(located_marker(var_marker(v), ident))
            }
            Some(Binding::Array(a)) => {
                if !self.arrays.contains(&a) {
                    self.arrays.push(a);
                }
                Some(located_marker(array_marker(a), ident))
            }
            Some(Binding::View(view)) => {
                if !self.arrays.contains(&view.array) {
                    self.arrays.push(view.array);
                }
                for v in [view.start.var(), view.len.var()].into_iter().flatten() {
                    if !self.uses.contains(&v) {
                        self.uses.push(v);
                    }
                }
                Some(self.lowerer.view_tokens(&view, ident))
            }
            Some(Binding::Tuple(parts)) => {
                let parts: Vec<TokenStream> = parts
                    .iter()
                    .map(|op| match op {
                        Operand::Var(v) => {
                            if !self.uses.contains(v) {
                                self.uses.push(*v);
                            }
                            located_marker(var_marker(*v), ident)
                        }
                        Operand::Const(c) => c.to_token_stream(),
                    })
                    .collect();
                Some(quote::quote!((#(#parts,)*)))
            }
            Some(Binding::Closure(_)) => {
                self.lowerer.errors.spanned(
                    ident,
                    "using a closure as a value is not supported in a `#[differentiate]` function; call it (`f(x)`): calls of local closures are inlined",
                );
                None
            }
            _ => None,
        }
    }
}

/// A marker, located where the user wrote `ident`.
pub(super) fn located_marker(marker: TokenStream, ident: &syn::Ident) -> TokenStream {
    let marker: syn::Ident = syn::parse2(marker).expect("an identifier");
    let located = syn::Ident::new(&marker.to_string(), marker.span().located_at(ident.span()));
    quote::quote!(#located)
}

impl VisitMut for Renamer<'_, '_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        // `*v` of an element reference (`for v in x.iter()`) is the element itself.
        if let Expr::Unary(u) = e {
            if matches!(u.op, syn::UnOp::Deref(_)) {
                if let Some(ident) = Lowerer::local_ident(peel_derefs(&u.expr)) {
                    let name = ident.to_string();
                    if let (false, Some(Binding::Var(v))) =
                        (self.shadowed.contains(&name), self.lowerer.lookup(&name))
                    {
                        if self.lowerer.element_refs.contains(&v) {
                            let tokens = self.replace(ident).expect("a variable");
                            *e = Expr::Verbatim(tokens);
                            return;
                        }
                    }
                }
            }
        }
        match e {
            Expr::Path(p) if p.qself.is_none() => {
                if let Some(ident) = p.path.get_ident() {
                    if let Some(tokens) = self.replace(ident) {
                        *e = Expr::Verbatim(tokens);
                    }
                }
            }
            Expr::Closure(c) => {
                let before = self.shadowed.len();
                for input in &c.inputs {
                    collect_pat_names(input, &mut self.shadowed);
                }
                self.visit_expr_mut(&mut c.body);
                self.shadowed.truncate(before);
            }
            Expr::Macro(m) => {
                m.mac.tokens = self.rename_tokens(m.mac.tokens.clone());
            }
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        let before = self.shadowed.len();
        for stmt in &mut b.stmts {
            self.visit_stmt_mut(stmt);
            if let syn::Stmt::Local(local) = stmt {
                collect_pat_names(&local.pat, &mut self.shadowed);
            }
        }
        self.shadowed.truncate(before);
    }

    fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
        let before = self.shadowed.len();
        collect_pat_names(&arm.pat, &mut self.shadowed);
        if let Some((_, guard)) = &mut arm.guard {
            self.visit_expr_mut(guard);
        }
        self.visit_expr_mut(&mut arm.body);
        self.shadowed.truncate(before);
    }

    fn visit_field_value_mut(&mut self, field: &mut syn::FieldValue) {
        // `S { x }` must become `S { x: x_3 }`.
        if field.colon_token.is_none() {
            field.colon_token = Some(Default::default());
        }
        self.visit_expr_mut(&mut field.expr);
    }
}

impl Renamer<'_, '_> {
    /// Best effort inside macro arguments: an identifier that is not a field, path segment
    /// or macro name is a variable.
    pub(super) fn rename_tokens(&mut self, tokens: TokenStream) -> TokenStream {
        let mut result = Vec::new();
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Ident(ident) => {
                    let after_dot =
                        i > 0 && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
                    let before_path = matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':' || p.as_char() == '!');
                    match (after_dot || before_path)
                        .then_some(())
                        .map_or_else(|| self.replace(ident), |_| None)
                    {
                        Some(tokens) => result.extend(tokens),
                        None => result.push(tree.clone()),
                    }
                }
                TokenTree::Group(g) => {
                    let mut group =
                        proc_macro2::Group::new(g.delimiter(), self.rename_tokens(g.stream()));
                    group.set_span(g.span());
                    result.push(TokenTree::Group(group));
                }
                other => result.push(other.clone()),
            }
        }
        result.into_iter().collect()
    }
}

pub(super) fn collect_pat_names(pat: &Pat, out: &mut Vec<String>) {
    struct Names<'a>(&'a mut Vec<String>);
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            self.0.push(p.ident.to_string());
            syn::visit::visit_pat_ident(self, p);
        }
    }
    Names(out).visit_pat(pat);
}

/// Gives each binding of a `match` arm's pattern a new version. An identifier that starts
/// with an uppercase letter is a constant or unit variant (`None`, `MAX`), as Rust's naming
/// conventions make it; anything else binds.
pub(super) struct PatternBinder<'l, 'e> {
    pub(super) lowerer: &'l mut Lowerer<'e>,
    pub(super) bound: Vec<Local>,
}

impl VisitMut for PatternBinder<'_, '_> {
    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        if let Some((_, sub)) = &mut p.subpat {
            self.visit_pat_mut(sub);
        }
        let name = p.ident.to_string();
        if name.starts_with(|c: char| c.is_uppercase()) {
            return;
        }
        let var = match self.bound.iter().find(|l| l.name == name) {
            Some(Local {
                binding: Binding::Var(v),
                ..
            }) => *v,
            _ => {
                let v = self.lowerer.ir.new_named_var(&name, None, p.ident.span());
                self.bound.push(Local {
                    name: name.clone(),
                    binding: Binding::Var(v),
                    ty: None,
                });
                v
            }
        };
        let marker: syn::Ident = syn::parse2(var_marker(var)).expect("an identifier");
        p.ident = syn::Ident::new(
            &marker.to_string(),
            marker.span().located_at(p.ident.span()),
        );
    }

    fn visit_expr_mut(&mut self, _: &mut Expr) {
        // Expressions in patterns (range bounds, constants) mention no bindings.
    }
}

/// The identifiers a macro's arguments mention, including `{name}` captures in format strings.
pub(super) fn collect_macro_names(tokens: TokenStream, out: &mut Vec<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => out.push(ident.to_string()),
            TokenTree::Group(g) => collect_macro_names(g.stream(), out),
            TokenTree::Literal(lit) => {
                let text = lit.to_string();
                if text.starts_with('"') {
                    let mut rest = text.as_str();
                    while let Some(open) = rest.find('{') {
                        rest = &rest[open + 1..];
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
                            out.push(name);
                        }
                    }
                }
            }
            TokenTree::Punct(_) => {}
        }
    }
}
