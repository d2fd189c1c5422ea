//! Lowering of statements and blocks: scopes of `let`s, early exits (`return` makes the rest
//! of a block conditional), statement macros kept for their effect, local buffers.
use super::*;

impl Lowerer<'_> {
    /// Lowers a statement list in a new scope. With `want > 0` the tail expression gives
    /// that many components; with `tail_returns` the tail is the function's result. Returns
    /// `None` when the list ends in `return` (its value is never used).
    pub(super) fn lower_stmts(
        &mut self,
        stmts: &[syn::Stmt],
        out: &mut Block,
        want: usize,
        tail_returns: bool,
    ) -> Option<Vec<Operand>> {
        self.scopes.push(Vec::new());
        let value = self.lower_stmts_in_scope(stmts, out, want, tail_returns);
        self.scopes.pop();
        value
    }

    pub(super) fn lower_stmts_in_scope(
        &mut self,
        stmts: &[syn::Stmt],
        out: &mut Block,
        want: usize,
        tail_returns: bool,
    ) -> Option<Vec<Operand>> {
        // Items are visible in the whole block: emit them once, ahead of everything.
        for stmt in stmts {
            if let syn::Stmt::Item(item) = stmt {
                self.ir.items.push(item.clone());
            }
        }
        let is_code = |s: &syn::Stmt| !matches!(s, syn::Stmt::Item(_));
        for (i, stmt) in stmts.iter().enumerate() {
            if !is_code(stmt) {
                continue;
            }
            let rest = &stmts[i + 1..];
            let is_last = !rest.iter().any(is_code);
            if is_last {
                if let syn::Stmt::Expr(expr, None) = stmt {
                    if tail_returns {
                        self.lower_return(expr, out);
                        return None;
                    }
                    if want > 0 {
                        return Some(self.lower_expr_n(expr, want, out));
                    }
                    self.lower_effect(expr, out);
                    return Some(Vec::new());
                }
            }
            if let syn::Stmt::Expr(
                exit @ (Expr::Return(_) | Expr::Break(_) | Expr::Continue(_)),
                _,
            ) = stmt
            {
                self.lower_exit(exit, out);
                return None;
            }
            if self.nesting == 0 {
                self.hoist_buffers(std::slice::from_ref(stmt), false, out);
            }
            if let syn::Stmt::Local(local) = stmt {
                if let Some(stmts) = let_else_statements(local) {
                    // The statements after it run only where the pattern matched.
                    let mut continued = stmts;
                    continued.extend(rest.iter().cloned());
                    return self.lower_stmts_in_scope(&continued, out, want, tail_returns);
                }
            }
            self.lower_stmt(stmt, out);
            if !is_last && self.may_exit(stmt) {
                if self.nesting == 0 {
                    self.hoist_buffers(rest, true, out);
                }
                return self.lower_rest_unless_exited(rest, out, want, tail_returns, stmt.span());
            }
        }
        if tail_returns {
            self.errors.at(
                Span::call_site(),
                "the function body must end with the returned value",
            );
            return None;
        }
        Some(vec![self.dummy(); want])
    }

    /// Whether `stmt` may leave the current block early: `return`, or `break`/`continue`
    /// of the innermost loop.
    pub(super) fn may_exit(&self, stmt: &syn::Stmt) -> bool {
        let exits = loops::ExitFinder::in_stmt(stmt);
        (self.returns && exits.returns)
            || (!self.loops.is_empty() && (exits.breaks || exits.continues))
    }

    /// The flags that say the rest of the current block must not run: `done`, and the
    /// innermost loop's `break` and `continue` flags.
    pub(super) fn exit_flags(&self) -> Vec<VarId> {
        let mut names = Vec::new();
        if self.returns {
            names.push(DONE.to_string());
        }
        if let Some(frame) = self.loops.last() {
            names.extend(frame.brk.iter().cloned());
            names.extend(frame.cont.iter().cloned());
        }
        names
            .iter()
            .filter_map(|n| match self.lookup(n) {
                Some(Binding::Var(v)) => Some(v),
                _ => None,
            })
            .collect()
    }

    /// A constant boolean: whether any of `flags` is set.
    pub(super) fn any_flag(
        &mut self,
        flags: &[VarId],
        hint: &str,
        negate: bool,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let markers: Vec<TokenStream> = flags.iter().map(|&v| var_marker(v)).collect();
        let expr: Expr = if negate {
            syn::parse_quote!(!(false #(|| #markers)*))
        } else {
            syn::parse_quote!(false #(|| #markers)*)
        };
        let passive = Passive {
            expr,
            uses: flags.to_vec(),
            arrays: Vec::new(),
            kind: PassiveKind::Discrete,
        };
        self.bind(hint, Rhs::Passive(passive), span, out)
    }

    /// The statements after one that may have left the block: `if !(done || ..) { rest }`.
    pub(super) fn lower_rest_unless_exited(
        &mut self,
        rest: &[syn::Stmt],
        out: &mut Block,
        want: usize,
        tail_returns: bool,
        span: Span,
    ) -> Option<Vec<Operand>> {
        let flags = self.exit_flags();
        if flags.is_empty() {
            return Some(vec![self.dummy(); want]);
        }
        let cond = self.any_flag(&flags, "go_on", true, span, out);
        let value = self.lower_branch(
            Selector::If(cond),
            vec![ArmSource::Rest(rest, tail_returns), ArmSource::Empty],
            want,
            span,
            out,
        );
        Some(value)
    }

    pub(super) fn lower_stmt(&mut self, stmt: &syn::Stmt, out: &mut Block) {
        match stmt {
            syn::Stmt::Local(local) => self.lower_local(local, out),
            syn::Stmt::Item(_) => {}
            syn::Stmt::Expr(expr, _) => self.lower_effect(expr, out),
            syn::Stmt::Macro(mac) => self.lower_macro_stmt(stmt, &mac.mac, out),
        }
    }

    pub(super) fn lower_local(&mut self, local: &syn::Local, out: &mut Block) {
        if let Some(init) = &local.init {
            if init.diverge.is_some() {
                // Handled with the statements after it (`lower_stmts_in_scope`).
                self.errors.spanned(
                    local,
                    "internal: `let .. else` found late; please report this",
                );
                return;
            }
        }
        // `let (a, b): (f64, f64) = ..`: each name takes its element's type.
        if let (Pat::Type(typed), Some(_)) = (&local.pat, &local.init) {
            if let (Pat::Tuple(t), syn::Type::Tuple(types)) = (&*typed.pat, &*typed.ty) {
                if t.elems.len() == types.elems.len() {
                    let mut elems = t.clone();
                    for (p, ty) in elems.elems.iter_mut().zip(&types.elems) {
                        if matches!(p, Pat::Ident(_)) {
                            *p = Pat::Type(syn::PatType {
                                attrs: Vec::new(),
                                pat: Box::new(p.clone()),
                                colon_token: Default::default(),
                                ty: Box::new(ty.clone()),
                            });
                        }
                    }
                    let mut retyped = local.clone();
                    retyped.pat = Pat::Tuple(elems);
                    return self.lower_local(&retyped, out);
                }
            }
        }
        let (pat, ty) = match &local.pat {
            Pat::Type(typed) => (&*typed.pat, Some((*typed.ty).clone())),
            other => (other, None),
        };
        if let Some(init) = &local.init {
            if self.lower_structured_let(pat, &init.expr, out) {
                return;
            }
        }
        match pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                let name = p.ident.to_string();
                match &local.init {
                    None => self.declare(&name, Binding::Uninit, ty),
                    Some(init)
                        if self.lower_special_local(
                            &name,
                            &p.ident,
                            ty.as_ref(),
                            &init.expr,
                            out,
                        ) => {}
                    Some(init) => {
                        let op = self.lower_expr(&init.expr, out);
                        let var = self.name_value(op, &name, ty.clone(), p.ident.span(), out);
                        self.declare(&name, Binding::Var(var), ty);
                    }
                }
            }
            Pat::Wild(_) => {
                if let Some(init) = &local.init {
                    self.lower_effect(&init.expr, out);
                }
            }
            Pat::Tuple(t)
                if local.init.is_some()
                    && t.elems
                        .iter()
                        .all(|p| matches!(p, Pat::Ident(_) | Pat::Wild(_) | Pat::Type(_))) =>
            {
                let init = &local.init.as_ref().expect("checked").expr;
                let pats: Vec<&Pat> = t.elems.iter().collect();
                if self.lower_split_at(&pats, init, out) {
                    return;
                }
                match init.as_ref() {
                    // `x.sin_cos()` is `(x.sin(), x.cos())` (the optimiser fuses them again).
                    Expr::MethodCall(m)
                        if m.method == "sin_cos" && m.args.is_empty() && t.elems.len() == 2 =>
                    {
                        for (pat, name) in t.elems.iter().zip(["sin", "cos"]) {
                            let prim = primitives::lookup(name, 1).expect("a float primitive");
                            let method = syn::Ident::new(name, m.method.span());
                            let value = self.lower_prim(
                                prim,
                                CallForm::Method(method),
                                std::iter::once(&*m.receiver),
                                m.source_span(),
                                out,
                            );
                            self.bind_pattern(pat, value, out);
                        }
                    }
                    Expr::Tuple(values) if values.elems.len() == t.elems.len() => {
                        self.bind_each(t.elems.iter(), &values.elems, out);
                    }
                    // `let (a, b) = g(x);`: each name takes its component of the result.
                    _ => self.bind_components(t.elems.iter(), init, true, out),
                }
            }
            Pat::Slice(slice) if local.init.is_some() => {
                let init = &local.init.as_ref().expect("checked").expr;
                self.lower_array_pattern(slice, init, out);
            }
            other => {
                self.reject(other, Rejected::LetPattern);
            }
        }
    }

    /// `let t = (x * y, x + y);` (a tuple held in a variable), `let (a, b) = t;`, and patterns
    /// nested in a literal of the same shape (`let ((a, b), c) = ((x, y), z);`). Returns
    /// whether `pat` and `init` were one of those.
    fn lower_structured_let(&mut self, pat: &Pat, init: &Expr, out: &mut Block) -> bool {
        let init = strip_parens(init);
        match (pat, init) {
            (Pat::Ident(p), Expr::Tuple(t)) if p.subpat.is_none() && !t.elems.is_empty() => {
                let parts = t.elems.iter().map(|e| self.lower_expr(e, out)).collect();
                self.declare(&p.ident.to_string(), Binding::Tuple(parts), None);
                true
            }
            (Pat::Tuple(p), _)
                if self
                    .tuple_of(init)
                    .is_some_and(|t| t.len() == p.elems.len()) =>
            {
                let parts = self.tuple_of(init).expect("checked");
                for (pat, part) in p.elems.iter().zip(parts) {
                    self.bind_pattern(pat, part, out);
                }
                true
            }
            _ if nested(pat) && same_shape(pat, init) => {
                // All values first, then the names, as a `let` of a literal evaluates them.
                let mut leaves = Vec::new();
                leaf_pairs(pat, init, &mut leaves);
                let values: Vec<Operand> = leaves
                    .iter()
                    .map(|(_, e)| self.lower_expr(e, out))
                    .collect();
                for ((pat, _), value) in leaves.into_iter().zip(values) {
                    self.bind_pattern(pat, value, out);
                }
                true
            }
            _ => false,
        }
    }

    /// The components of a tuple held in a variable.
    pub(super) fn tuple_of(&self, expr: &Expr) -> Option<Vec<Operand>> {
        match self.lookup(&Self::local_ident(expr)?.to_string())? {
            Binding::Tuple(parts) => Some(parts),
            _ => None,
        }
    }

    /// `let [a, b, ..] = *x;` (or `= x`, `= g(..)`): each name takes its element, a load of
    /// an array or a component of an array a call returned; `..` at the end skips the rest.
    fn lower_array_pattern(&mut self, slice: &syn::PatSlice, init: &Expr, out: &mut Block) {
        let mut elems: Vec<&Pat> = slice.elems.iter().collect();
        if matches!(elems.last(), Some(Pat::Rest(_))) {
            elems.pop();
        }
        if let Some(bad) = elems
            .iter()
            .find(|p| !matches!(p, Pat::Ident(_) | Pat::Wild(_) | Pat::Type(_)))
        {
            self.reject(bad, Rejected::LetPattern);
            return;
        }
        let source = match init {
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &*u.expr,
            Expr::Paren(p) => &*p.expr,
            other => other,
        };
        // `let [a, b] = [x * y, x + y];`: each name takes its value.
        if let Expr::Array(values) = source {
            if values.elems.len() == elems.len() {
                self.bind_each(elems.into_iter(), &values.elems, out);
                return;
            }
        }
        // `let [a, b] = *w;` of a sub-slice (a window): its elements, checked.
        if self.names_view(source) {
            let view = self.view_of(source, out).expect("checked");
            for (index, pat) in elems.into_iter().enumerate() {
                let at = Operand::Const(syn::parse_str(&index.to_string()).expect("an index"));
                let value = self.load_from_view(&view, at, pat.span(), out);
                self.bind_pattern(pat, value, out);
            }
            return;
        }
        // `let [a, b] = x.map(|v| 2.0 * v);` of an array: each element mapped.
        if let Expr::MethodCall(m) = source {
            if let (true, Some(array), Some(Expr::Closure(c))) = (
                m.method == "map" && m.args.len() == 1,
                self.array_of(&m.receiver),
                m.args.first().map(strip_parens),
            ) {
                if c.inputs.len() == 1 {
                    for (index, pat) in elems.into_iter().enumerate() {
                        let at =
                            Operand::Const(syn::parse_str(&index.to_string()).expect("an index"));
                        let load = Rhs::Load {
                            array,
                            index: at,
                            guard: None,
                        };
                        let element = self.bind("t", load, pat.span(), out);
                        self.scopes.push(Vec::new());
                        self.bind_pattern(&c.inputs[0], element, out);
                        let value = self.lower_expr(&c.body, out);
                        self.scopes.pop();
                        self.bind_pattern(pat, value, out);
                    }
                    return;
                }
            }
        }
        if let Some(array) = self.array_of(source) {
            for (index, pat) in elems.into_iter().enumerate() {
                let at = Operand::Const(syn::parse_str(&index.to_string()).expect("an index"));
                let load = Rhs::Load {
                    array,
                    index: at,
                    guard: None,
                };
                let value = self.bind("t", load, pat.span(), out);
                self.bind_pattern(pat, value, out);
            }
            return;
        }
        // An array a call returned: its components.
        self.bind_components(elems.into_iter(), init, false, out);
    }

    /// `let (a, b) = (x * y, x + y);` or `[..]`: each pattern takes its value, all values
    /// computed first.
    fn bind_each<'p>(
        &mut self,
        pats: impl Iterator<Item = &'p Pat>,
        values: &syn::punctuated::Punctuated<Expr, syn::Token![,]>,
        out: &mut Block,
    ) {
        let ops: Vec<Operand> = values.iter().map(|e| self.lower_expr(e, out)).collect();
        for (pat, op) in pats.zip(ops) {
            self.bind_pattern(pat, op, out);
        }
    }

    /// `let (a, b) = g(x);` or `let [a, b] = g(x);`: each pattern takes its component (of a
    /// tuple with `tuple`) of the value `init` computes.
    fn bind_components<'p>(
        &mut self,
        pats: impl Iterator<Item = &'p Pat>,
        init: &Expr,
        tuple: bool,
        out: &mut Block,
    ) {
        let value = self.lower_expr(init, out);
        let Operand::Var(of) = value else {
            self.reject(init, Rejected::DestructureConstant);
            return;
        };
        for (index, pat) in pats.enumerate() {
            let component = Rhs::Component {
                of,
                index,
                tuple,
                field: None,
            };
            let value = self.bind("t", component, pat.span(), out);
            self.bind_pattern(pat, value, out);
        }
    }

    /// `let` of an array (a local buffer, or another name for one) or of a closure. Returns
    /// whether it was one.
    pub(super) fn lower_special_local(
        &mut self,
        name: &str,
        ident: &syn::Ident,
        ty: Option<&syn::Type>,
        init: &Expr,
        out: &mut Block,
    ) -> bool {
        let original_init = init;
        let init = match init {
            Expr::Paren(p) => &*p.expr,
            other => other,
        };
        if let Expr::Closure(closure) = init {
            if loops::ExitFinder::in_expr(&closure.body).returns {
                self.errors.spanned(closure, "a closure containing `return` cannot be inlined; use a function marked `#[differentiate]`");
            }
            let mut assigned = loops::AssignFinder::default();
            assigned.visit_expr(&closure.body);
            if let Some(captured) = assigned.0.iter().find(|n| self.find(n).is_some()) {
                self.errors.spanned(
                    closure,
                    format!("a closure that assigns the captured variable `{captured}` cannot be inlined; compute the value outside the closure"),
                );
            }
            let definition = (closure.clone(), self.scopes.clone());
            self.declare(name, Binding::Closure(Rc::new(definition)), None);
            return true;
        }
        if let Some(array) = self.array_of(init) {
            self.declare(name, Binding::Array(array), None);
            return true;
        }
        if self.names_view(init) {
            let view = self.view_of(init, out).expect("checked");
            self.declare(name, Binding::View(view), None);
            return true;
        }
        if self.lower_collect(name, ident, ty, init, out) {
            return true;
        }
        let Some((init, vec)) = self.array_init(init, ty, out) else {
            return false;
        };
        if self.nesting > 0 {
            if let Some(array) = self.take_hoisted(name, original_init) {
                self.restart_buffer(array, init, ident.span(), out);
                self.declare(name, Binding::Array(array), None);
                return true;
            }
            // Reported, and declared here all the same so that its uses lower.
            self.errors.spanned(
                ident,
                "this buffer's length is computed inside the loop or branch that declares it; a local buffer is one location for the whole function, so compute its length before the loop, branch or first `return` (or declare the buffer there, and overwrite its elements)",
            );
        }
        let elem = ty.and_then(|t| element_type(t, &self.floats));
        let fixed_len = match (&init, vec) {
            (_, true) => None,
            (
                ArrayInit::Repeat {
                    len: Operand::Const(len),
                    ..
                },
                false,
            ) => Some(len.clone()),
            (ArrayInit::Elements(elements), false) => {
                let n = elements.len();
                Some(syn::parse_quote!(#n))
            }
            _ => None,
        };
        let array = self.ir.new_array(name, elem, fixed_len, ident.span());
        out.stmts.push(Stmt::DeclareArray { array, init, vec });
        self.declare(name, Binding::Array(array), None);
        true
    }

    /// `vec![v; n]`, `vec![a, b]`, `[v; N]`, `[a, b]` of floats: the buffer's start.
    pub(super) fn array_init(
        &mut self,
        init: &Expr,
        ty: Option<&syn::Type>,
        out: &mut Block,
    ) -> Option<(ArrayInit, bool)> {
        let (content, vec): (Expr, bool) = match init {
            Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                let tokens = &m.mac.tokens;
                (syn::parse2(quote::quote!([#tokens])).ok()?, true)
            }
            Expr::Array(_) | Expr::Repeat(_) => (init.clone(), false),
            _ => return None,
        };
        let floats = ty.and_then(|t| element_type(t, &self.floats)).is_some();
        match &content {
            Expr::Repeat(r) if floats || looks_float(&r.expr, self) => {
                let value = self.lower_expr(&r.expr, out);
                let len = self.lower_expr(&r.len, out);
                Some((ArrayInit::Repeat { value, len }, vec))
            }
            Expr::Array(a)
                if !a.elems.is_empty()
                    && (floats
                        || (a.elems.iter().any(|e| looks_float(e, self))
                            && a.elems
                                .iter()
                                .all(|e| looks_float(e, self) || is_constant_path(e)))) =>
            {
                let elements = a.elems.iter().map(|e| self.lower_expr(e, out)).collect();
                Some((ArrayInit::Elements(elements), vec))
            }
            _ => None,
        }
    }

    /// Gives the user's name to the value of `let name = ..`: renames a temporary made just
    /// for it, or copies anything else into a new version.
    pub(super) fn name_value(
        &mut self,
        op: Operand,
        name: &str,
        ty: Option<syn::Type>,
        span: Span,
        out: &mut Block,
    ) -> VarId {
        if let Operand::Var(v) = op {
            let fresh = v + 1 == self.ir.vars.len()
                && matches!(out.stmts.last(), Some(Stmt::Let { var, .. }) if *var == v)
                && self.temporaries.contains(&v);
            if fresh {
                self.ir.vars[v].hint = name.to_string();
                self.ir.vars[v].named = true;
                self.ir.vars[v].ty = ty;
                return v;
            }
        }
        let var = self.ir.new_named_var(name, ty, span);
        out.stmts.push(Stmt::Let {
            var,
            rhs: Rhs::Use(op),
            span,
        });
        var
    }

    /// An expression evaluated for its effect (a statement): assignments, branches, calls.
    pub(super) fn lower_effect(&mut self, expr: &Expr, out: &mut Block) {
        match expr {
            Expr::If(_) | Expr::Match(_) | Expr::Block(_) => {
                self.lower_structured(expr, 0, out);
            }
            Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => self.lower_exit(expr, out),
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => self.lower_loop(expr, out),
            Expr::Macro(mac) => {
                let stmt = syn::Stmt::Expr(expr.clone(), Some(Default::default()));
                self.lower_macro_stmt(&stmt, &mac.mac, out)
            }
            _ => {
                self.lower_expr(expr, out);
            }
        }
    }

    /// A statement macro (`println!`, `assert!`) is kept as written, with the variables it
    /// mentions rebound under their own names just before it.
    pub(super) fn lower_macro_stmt(&mut self, stmt: &syn::Stmt, mac: &syn::Macro, out: &mut Block) {
        let mut names = Vec::new();
        collect_macro_names(mac.tokens.clone(), &mut names);
        let mut rebind = Vec::new();
        for name in names {
            if rebind.iter().any(|(i, _): &(syn::Ident, VarId)| *i == name) {
                continue;
            }
            if let Some(Binding::Var(v)) = self.lookup(&name) {
                rebind.push((syn::Ident::new(&name, mac.path.span()), v));
            }
        }
        out.stmts.push(Stmt::Effect {
            rebind,
            stmt: stmt.clone(),
        });
    }

    /// The variable a path names, if it names a local variable holding a value.
    pub(super) fn local_var(&self, expr: &Expr) -> Option<VarId> {
        match self.lookup(&Self::local_ident(expr)?.to_string())? {
            Binding::Var(v) => Some(v),
            _ => None,
        }
    }

    /// The array a path names, if it names one (`x`, `&x`, `(*x)`).
    pub(super) fn array_of(&self, expr: &Expr) -> Option<ArrayId> {
        let expr = match strip_parens(expr) {
            Expr::Reference(r) => &*r.expr,
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => strip_parens(&u.expr),
            other => other,
        };
        match self.lookup(&Self::local_ident(expr)?.to_string())? {
            Binding::Array(array) => Some(array),
            _ => None,
        }
    }

    /// `return`, `break` or `continue`: set the flags, skip the rest (the caller stops).
    pub(super) fn lower_exit(&mut self, exit: &Expr, out: &mut Block) {
        let truth = || Operand::Const(syn::parse_quote!(true));
        match exit {
            Expr::Return(ret) => match &ret.expr {
                Some(value) => self.lower_return(value, out),
                None => {
                    self.errors
                        .spanned(ret, "`return` needs a value in a differentiated function");
                }
            },
            Expr::Break(b) => {
                let Some(target) = self.exit_target(b.label.as_ref()) else {
                    return;
                };
                if let Some(value) = &b.expr {
                    match self.loops[target].value.clone() {
                        Some(name) => {
                            let op = self.lower_expr(value, out);
                            self.assign(&name, op, value.source_span(), out);
                        }
                        None => {
                            self.errors.spanned(value, "`break` with a value is supported in a `loop` whose value is used (`let v = loop { .. break x; };`)");
                            return;
                        }
                    }
                }
                // The target stops, and every loop inside it that the `break` leaves.
                for frame in target..self.loops.len() {
                    if let Some(flag) = self.loops[frame].brk.clone() {
                        self.assign(&flag, truth(), b.span(), out);
                    }
                }
            }
            Expr::Continue(c) => {
                let Some(target) = self.exit_target(c.label.as_ref()) else {
                    return;
                };
                // The target goes on with its next iteration; the loops inside it stop.
                if let Some(flag) = self.loops[target].cont.clone() {
                    self.assign(&flag, truth(), c.span(), out);
                }
                for frame in target + 1..self.loops.len() {
                    if let Some(flag) = self.loops[frame].brk.clone() {
                        self.assign(&flag, truth(), c.span(), out);
                    }
                }
            }
            _ => {}
        }
    }

    /// The loop a `break` or `continue` (with `label`) leaves: an index into `loops`.
    fn exit_target(&mut self, label: Option<&syn::Lifetime>) -> Option<usize> {
        match label {
            None => self.loops.len().checked_sub(1),
            Some(label) => {
                let name = label.ident.to_string();
                let found = self
                    .loops
                    .iter()
                    .rposition(|f| f.label.as_deref() == Some(&name));
                if found.is_none() {
                    self.errors.spanned(label, format!("`'{name}` labels no loop around this in the `#[differentiate]` function; labelled blocks are not supported, label the loop"));
                }
                found
            }
        }
    }

    pub(super) fn lower_return(&mut self, value: &Expr, out: &mut Block) {
        let components = self.lower_expr_n(value, self.components, out);
        if self.returns {
            for (k, op) in components.into_iter().enumerate() {
                self.assign(&ret_name(k), op, value.source_span(), out);
            }
            self.assign(
                DONE,
                Operand::Const(syn::parse_quote!(true)),
                value.source_span(),
                out,
            );
        } else {
            self.errors
                .spanned(value, "internal: `return` found late; please report this");
        }
    }
}

/// A tuple or slice pattern with another inside it.
fn nested(pat: &Pat) -> bool {
    let inner = |elems: &syn::punctuated::Punctuated<Pat, syn::Token![,]>| {
        elems
            .iter()
            .any(|p| matches!(p, Pat::Tuple(_) | Pat::Slice(_)))
    };
    match pat {
        Pat::Tuple(t) => inner(&t.elems),
        Pat::Slice(s) => inner(&s.elems),
        _ => false,
    }
}

/// Whether a pattern takes apart a literal of its shape, down to names.
fn same_shape(pat: &Pat, init: &Expr) -> bool {
    match (pat, strip_parens(init)) {
        (Pat::Tuple(p), Expr::Tuple(e)) => {
            p.elems.len() == e.elems.len()
                && p.elems.iter().zip(&e.elems).all(|(p, e)| same_shape(p, e))
        }
        (Pat::Slice(p), Expr::Array(e)) => {
            p.elems.len() == e.elems.len()
                && p.elems.iter().zip(&e.elems).all(|(p, e)| same_shape(p, e))
        }
        (Pat::Tuple(_) | Pat::Slice(_), _) => false,
        (Pat::Ident(p), _) => p.subpat.is_none(),
        (Pat::Type(t), e) => same_shape(&t.pat, e),
        (Pat::Wild(_), _) => true,
        _ => false,
    }
}

/// The names of a nested pattern with the parts of the literal they take.
fn leaf_pairs<'p>(pat: &'p Pat, init: &'p Expr, out: &mut Vec<(&'p Pat, &'p Expr)>) {
    match (pat, strip_parens(init)) {
        (Pat::Tuple(p), Expr::Tuple(e)) => p
            .elems
            .iter()
            .zip(&e.elems)
            .for_each(|(p, e)| leaf_pairs(p, e, out)),
        (Pat::Slice(p), Expr::Array(e)) => p
            .elems
            .iter()
            .zip(&e.elems)
            .for_each(|(p, e)| leaf_pairs(p, e, out)),
        (pat, init) => out.push((pat, init)),
    }
}

/// `let PAT = EXPR else { DIVERGE };` as the statements it stands for:
/// `let e = EXPR; match e { PAT => {} _ => DIVERGE }`, then, reached only when `e` matched,
/// `let (a, b, ..) = match e { PAT => (a, b, ..), _ => unreachable!() };` (so no value has to
/// stand in for the names on the path that diverged). `None` for any other `let`.
fn let_else_statements(local: &syn::Local) -> Option<Vec<syn::Stmt>> {
    let init = local.init.as_ref()?;
    let (_, diverge) = init.diverge.as_ref()?;
    let mut names = Vec::new();
    collect_pat_names(&local.pat, &mut names);
    let span = local.pat.span();
    let idents: Vec<syn::Ident> = names.iter().map(|n| syn::Ident::new(n, span)).collect();
    let (pat, expr) = (&local.pat, &init.expr);
    let scrutinee = syn::Ident::new("__differentiate_else", span);
    let bind: syn::Stmt = match idents.as_slice() {
        [one] => {
            syn::parse_quote!(let #one = match #scrutinee { #pat => #one, _ => ::core::unreachable!() };)
        }
        many => {
            syn::parse_quote!(let (#(#many),*) = match #scrutinee { #pat => (#(#many),*), _ => ::core::unreachable!() };)
        }
    };
    Some(vec![
        syn::parse_quote!(let #scrutinee = #expr;),
        syn::parse_quote!(match #scrutinee { #pat => {} _ => #diverge }),
        bind,
    ])
}
