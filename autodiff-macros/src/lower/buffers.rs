//! Buffers declared inside loops and branches (and after an early `return`, whose rest runs
//! in a branch). The transform keeps one location per buffer, declared in the function's
//! outermost block, so such a buffer is declared there, just before the top-level statement
//! that holds it, and each `let` inside starts it afresh by overwriting every element: the
//! same values the allocation would have held, in the same place.
//!
//! A buffer whose length depends on values computed inside the statement cannot move and
//! stays an error that says so.
use super::*;

/// A buffer declared ahead of the statement holding its `let`.
pub(super) struct Hoisted {
    name: String,
    /// The `let`'s initialiser as written (`vec![0.0; n]`), which identifies it.
    init: String,
    array: ArrayId,
}

/// `let [mut] name[: ty] = init;` of a buffer of floats, found inside a statement.
struct BufferLet<'s> {
    name: String,
    ty: Option<&'s syn::Type>,
    init: &'s Expr,
}

/// Finds the buffer `let`s inside statements: in nested blocks, loops and arms, not in
/// closures or items.
#[derive(Default)]
struct BufferLets<'s> {
    found: Vec<BufferLet<'s>>,
    /// Every name a pattern binds in the statements.
    bound: Vec<String>,
}

impl<'s> Visit<'s> for BufferLets<'s> {
    fn visit_local(&mut self, local: &'s syn::Local) {
        collect_pat_names(&local.pat, &mut self.bound);
        let (pat, ty) = match &local.pat {
            Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
            other => (other, None),
        };
        if let (Pat::Ident(p), Some(init)) = (pat, &local.init) {
            let is_buffer = match &*init.expr {
                Expr::Macro(m) => m.mac.path.is_ident("vec"),
                Expr::Array(_) | Expr::Repeat(_) => true,
                _ => false,
            };
            if is_buffer && init.diverge.is_none() {
                self.found.push(BufferLet {
                    name: p.ident.to_string(),
                    ty,
                    init: &init.expr,
                });
            }
        }
        syn::visit::visit_local(self, local);
    }
    // Loop patterns, match arms and `if let` bind names too.
    fn visit_pat_ident(&mut self, p: &'s syn::PatIdent) {
        self.bound.push(p.ident.to_string());
        syn::visit::visit_pat_ident(self, p);
    }
    fn visit_expr_closure(&mut self, _: &'s syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'s syn::Item) {}
}

impl Lowerer<'_> {
    /// Declares, ahead of `stmts` (lowered next, in the outermost block), the buffers their
    /// nested `let`s declare (`top`: also their own top-level `let`s, for the statements after
    /// an early `return`).
    pub(super) fn hoist_buffers(&mut self, stmts: &[syn::Stmt], top: bool, out: &mut Block) {
        let mut lets = BufferLets::default();
        for stmt in stmts {
            match stmt {
                syn::Stmt::Local(local) if !top => {
                    // Its own `let` stays where it is; what its initialiser holds may move.
                    if let Some(init) = &local.init {
                        lets.visit_expr(&init.expr);
                    }
                }
                other => lets.visit_stmt(other),
            }
        }
        if lets.found.is_empty() {
            return;
        }
        let mut assigned = loops::AssignFinder::default();
        for stmt in stmts {
            assigned.visit_stmt(stmt);
        }
        for buffer in lets.found {
            let Some((content, vec)) = buffer_content(buffer.init) else {
                continue;
            };
            let floats = buffer
                .ty
                .and_then(|t| element_type(t, &self.floats))
                .is_some();
            let len: Expr = match &content {
                Expr::Repeat(r) if floats || looks_float(&r.expr, self) => (*r.len).clone(),
                Expr::Array(a)
                    if !a.elems.is_empty()
                        && (floats || a.elems.iter().any(|e| looks_float(e, self))) =>
                {
                    let n = a.elems.len();
                    syn::parse_quote!(#n)
                }
                _ => continue,
            };
            // The length must be known here, and the same each time the `let` runs.
            let mut names = Vec::new();
            collect_expr_names(&len, &mut names);
            let movable = names.iter().all(|n| {
                !lets.bound.contains(n)
                    && !assigned.0.contains(n)
                    && !matches!(
                        self.lookup(n),
                        Some(
                            Binding::Uninit
                                | Binding::Array(_)
                                | Binding::View(_)
                                | Binding::Closure(_)
                        )
                    )
            });
            if !movable {
                continue;
            }
            let span = buffer.init.source_span();
            let elem = buffer.ty.and_then(|t| element_type(t, &self.floats));
            let len_op = self.lower_expr(&len, out);
            let fixed_len = match (&len_op, vec) {
                (Operand::Const(c), false) => Some(c.clone()),
                _ => None,
            };
            let array = self.ir.new_array(&buffer.name, elem, fixed_len, span);
            self.declare_zeroed(array, len_op, vec, out);
            self.hoisted.push(Hoisted {
                name: buffer.name,
                init: buffer.init.to_token_stream().to_string(),
                array,
            });
        }
    }

    /// Declares a local buffer of `len` zeros (a `Vec` with `vec`), to be overwritten.
    pub(super) fn declare_zeroed(
        &mut self,
        array: ArrayId,
        len: Operand,
        vec: bool,
        out: &mut Block,
    ) {
        let value = Operand::Const(self.ir.numbers.zero());
        let init = ArrayInit::Repeat { value, len };
        out.stmts.push(Stmt::DeclareArray { array, init, vec });
    }

    /// The buffer declared ahead for `let name = init;`, if there is one: taken, so a `let`
    /// run again in a later statement declares its own.
    pub(super) fn take_hoisted(&mut self, name: &str, init: &Expr) -> Option<ArrayId> {
        let init = init.to_token_stream().to_string();
        let k = self
            .hoisted
            .iter()
            .position(|h| h.name == name && h.init == init)?;
        Some(self.hoisted.remove(k).array)
    }

    /// Starts a hoisted buffer afresh where its `let` was: every element overwritten.
    pub(super) fn restart_buffer(
        &mut self,
        array: ArrayId,
        init: ArrayInit,
        span: Span,
        out: &mut Block,
    ) {
        match init {
            ArrayInit::Elements(values) => {
                for (k, value) in values.into_iter().enumerate() {
                    let index = Operand::Const(syn::parse_str(&k.to_string()).expect("an index"));
                    out.stmts.push(Stmt::Store {
                        array,
                        index,
                        value,
                    });
                }
            }
            ArrayInit::Repeat { value, .. } => {
                let whole = self.whole(array, span, out);
                self.fill_view(whole, value, span, out);
            }
        }
    }
}

/// `[v; n]` or `[a, b, ..]` of `vec![..]` or an array expression, and whether it is a `vec!`.
fn buffer_content(init: &Expr) -> Option<(Expr, bool)> {
    match init {
        Expr::Macro(m) if m.mac.path.is_ident("vec") => {
            let tokens = &m.mac.tokens;
            Some((syn::parse2(quote::quote!([#tokens])).ok()?, true))
        }
        Expr::Array(_) | Expr::Repeat(_) => Some((init.clone(), false)),
        _ => None,
    }
}

/// The single-identifier paths an expression mentions.
fn collect_expr_names(expr: &Expr, out: &mut Vec<String>) {
    struct Names<'o>(&'o mut Vec<String>);
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if let Some(ident) = p.path.get_ident() {
                self.0.push(ident.to_string());
            }
        }
    }
    Names(out).visit_expr(expr);
}
