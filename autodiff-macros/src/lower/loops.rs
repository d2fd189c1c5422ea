//! Lowering of loops: `for` over ranges and slices, `while`, `loop`, and the iterator
//! reductions (`.map(..).sum()`, `.fold(..)`) that are loops in disguise.
//!
//! Every loop becomes a [`Loop`] in single-exit form. The user variables the body assigns
//! are *carried*: a header variable holds the value at the start of each iteration, and an
//! exit variable the value after the loop. `break` and `continue` set flags declared at the
//! top of each iteration; the rest of the iteration runs under `if !flag`, and the loop
//! stops after an iteration that set `break` (or `return`'s `done`).

use super::*;

/// What a statement or expression may leave early through: `return`, or `break` and
/// `continue` of the loop it is directly in (not of loops nested inside it).
#[derive(Default)]
pub(super) struct ExitFinder {
    pub returns: bool,
    pub breaks: bool,
    pub continues: bool,
    /// A labelled `break` or `continue` anywhere inside.
    pub labelled: bool,
    /// A `break value` of the loop it is directly in.
    pub breaks_with_value: bool,
    depth: usize,
}

impl ExitFinder {
    pub fn in_stmt(stmt: &syn::Stmt) -> Self {
        let mut finder = ExitFinder::default();
        finder.visit_stmt(stmt);
        finder
    }

    pub fn in_expr(expr: &Expr) -> Self {
        let mut finder = ExitFinder::default();
        finder.visit_expr(expr);
        finder
    }

    pub fn in_block(block: &syn::Block) -> Self {
        let mut finder = ExitFinder::default();
        finder.visit_block(block);
        finder
    }
}

impl<'ast> Visit<'ast> for ExitFinder {
    fn visit_expr_return(&mut self, ret: &'ast syn::ExprReturn) {
        self.returns = true;
        syn::visit::visit_expr_return(self, ret);
    }
    fn visit_expr_break(&mut self, b: &'ast syn::ExprBreak) {
        if self.depth == 0 || b.label.is_some() {
            self.breaks = true;
        }
        self.labelled |= b.label.is_some();
        self.breaks_with_value |= b.expr.is_some() && (self.depth == 0 || b.label.is_some());
        syn::visit::visit_expr_break(self, b);
    }
    fn visit_expr_continue(&mut self, c: &'ast syn::ExprContinue) {
        if self.depth == 0 || c.label.is_some() {
            self.continues = true;
        }
        // `continue 'outer` from an inner loop stops the inner loop: a break of it.
        if c.label.is_some() {
            self.breaks = true;
            self.labelled = true;
        }
    }
    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        self.depth += 1;
        self.visit_block(&f.body);
        self.depth -= 1;
    }
    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.depth += 1;
        self.visit_expr(&w.cond);
        self.visit_block(&w.body);
        self.depth -= 1;
    }
    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.depth += 1;
        self.visit_block(&l.body);
        self.depth -= 1;
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// The local variables a loop body assigns (`x = ..`, `x += ..`): candidates to carry.
#[derive(Default)]
pub(super) struct AssignFinder(pub Vec<String>);

impl<'ast> Visit<'ast> for AssignFinder {
    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let Some(ident) = Lowerer::local_ident(&a.left) {
            self.0.push(ident.to_string());
        }
        syn::visit::visit_expr_assign(self, a);
    }
    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        if matches!(
            b.op,
            AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_)
        ) {
            if let Some(ident) = Lowerer::local_ident(&b.left) {
                self.0.push(ident.to_string());
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// How each iteration starts.
enum Header<'s> {
    /// `for pat in a..b` (and `.rev()`, `.step_by(..)` of a range).
    Range {
        iter: &'s Expr,
        pat: &'s Pat,
    },
    /// `for pat in x.iter()` and friends: an index loop over `0..len` loading each element.
    Elements {
        arrays: Vec<ArrayId>,
        enumerate: bool,
        pat: &'s Pat,
    },
    /// Any other iterator chain over arrays (`.skip(1)`, `windows(2)`, sub-slices, ..): an
    /// index loop over `0..count` (see `iterators`).
    Chain {
        plan: iterators::Plan<'s>,
        pat: &'s Pat,
    },
    While(&'s Expr),
    Loop,
}

impl Lowerer<'_> {
    pub(super) fn lower_loop(&mut self, expr: &Expr, out: &mut Block) {
        if let Expr::ForLoop(f) = expr {
            if let Some(split) = self.split_chain(&f.expr) {
                self.lower_chained_loops(f, split, out);
                return;
            }
        }
        let (label, header, body, span): (&Option<syn::Label>, _, _, _) = match expr {
            Expr::ForLoop(f) => match self.for_header(f) {
                Some(header) => (&f.label, header, &f.body, f.for_token.span),
                None => return,
            },
            Expr::While(w) => {
                if let Expr::Let(l) = &*w.cond {
                    // `while let PAT = EXPR { BODY }` is
                    // `loop { if let PAT = EXPR { BODY } else { break } }`.
                    let (label, (pat, scrutinee), body) = (&w.label, (&l.pat, &l.expr), &w.body);
                    let desugared: Expr = syn::parse_quote_spanned!(w.while_token.span=>
                        #label loop {
                            if let #pat = #scrutinee #body else { break; }
                        }
                    );
                    self.lower_loop(&desugared, out);
                    return;
                }
                (
                    &w.label,
                    Header::While(&w.cond),
                    &w.body,
                    w.while_token.span,
                )
            }
            Expr::Loop(l) => (&l.label, Header::Loop, &l.body, l.loop_token.span),
            _ => return,
        };
        let label = label.as_ref().map(|l| l.name.ident.to_string());
        self.lower_loop_with(header, label, body, span, out);
    }

    /// `for pat in a.chain(b) { body }` as two loops, `for pat in a { body }` then
    /// `for pat in b { body }`: the same iterations in the same order, when the body does not
    /// leave the loop early.
    fn lower_chained_loops(
        &mut self,
        f: &syn::ExprForLoop,
        split: Result<(Expr, Expr), syn::Error>,
        out: &mut Block,
    ) {
        let (first, second) = match split {
            Ok(parts) => parts,
            Err(error) => return self.errors.push(error),
        };
        let exits = ExitFinder::in_block(&f.body);
        if exits.breaks || exits.continues || f.label.is_some() {
            self.errors.spanned(
                &f.expr,
                "`break` or `continue` in a loop over `chain` is not supported in a `#[differentiate]` function; loop over each part, or use an index loop",
            );
            return;
        }
        let (pat, body) = (&f.pat, &f.body);
        for part in [first, second] {
            let one: Expr = syn::parse_quote_spanned!(f.for_token.span=> for #pat in #part #body);
            self.lower_loop(&one, out);
        }
    }

    /// `loop { .. break value; .. }` as a value: the hidden variable `break` assigns.
    pub(super) fn lower_loop_value(&mut self, expr: &Expr, out: &mut Block) -> Operand {
        let name = format!("#loop{}", self.ir.loop_count);
        self.declare(&name, Binding::Uninit, None);
        self.loop_value = Some(name.clone());
        self.lower_loop(expr, out);
        self.loop_value = None;
        match self.lookup(&name) {
            Some(Binding::Var(v)) => Operand::Var(v),
            _ => self.dummy(),
        }
    }

    /// Recognises what a `for` iterates over.
    fn for_header<'s>(&mut self, f: &'s syn::ExprForLoop) -> Option<Header<'s>> {
        let iter = strip_parens(&f.expr);
        if is_range(iter) {
            return Some(Header::Range {
                iter: &f.expr,
                pat: &f.pat,
            });
        }
        // x, &x, x.iter(), x.iter().copied(), .enumerate(), .zip(y..)
        let mut enumerate = false;
        let mut zipped = None;
        let mut source = iter;
        if let Expr::MethodCall(m) = source {
            if m.method == "enumerate" && m.args.is_empty() {
                enumerate = true;
                source = strip_parens(&m.receiver);
            } else if m.method == "zip" && m.args.len() == 1 {
                zipped = Some(&m.args[0]);
                source = strip_parens(&m.receiver);
            }
        }
        let first = self.element_source(source);
        let second = zipped.map(|z| self.element_source(strip_parens(z)));
        match (first, second) {
            (Some(a), None) => Some(Header::Elements {
                arrays: vec![a],
                enumerate,
                pat: &f.pat,
            }),
            (Some(a), Some(Some(b))) => Some(Header::Elements {
                arrays: vec![a, b],
                enumerate,
                pat: &f.pat,
            }),
            _ => match self.plan(iter) {
                iterators::Planned::Chain(plan) => Some(Header::Chain { plan, pat: &f.pat }),
                iterators::Planned::Unsupported(node, message) => {
                    self.errors.spanned(node, message);
                    None
                }
                iterators::Planned::Other => {
                    self.reject(&f.expr, Rejected::ForIterator);
                    None
                }
            },
        }
    }

    /// The array behind `x`, `&x`, `x.iter()`, `x.iter().copied()`, `x.iter().cloned()`.
    fn element_source(&self, expr: &Expr) -> Option<ArrayId> {
        match strip_parens(expr) {
            Expr::MethodCall(m)
                if m.args.is_empty() && (m.method == "copied" || m.method == "cloned") =>
            {
                self.element_source(&m.receiver)
            }
            Expr::MethodCall(m) if m.args.is_empty() && m.method == "iter" => {
                self.array_of(&m.receiver)
            }
            other => self.array_of(other),
        }
    }

    /// The user variables a loop assigns (and `return`'s hidden result, if it may return
    /// from inside): each gets a header variable, bound in scope for the body, holding its
    /// value at the start of each iteration. Returns `(name, header, value before the loop)`.
    fn carried_headers(
        &mut self,
        header: &Header<'_>,
        body: &syn::Block,
        exits: &ExitFinder,
        value: Option<&str>,
        span: Span,
    ) -> Vec<(String, VarId, Operand)> {
        let mut finder = AssignFinder::default();
        finder.visit_block(body);
        finder.0.extend(value.map(str::to_string));
        // What `break 'outer` and `continue 'outer` set in the loops around.
        if exits.labelled {
            for frame in &self.loops {
                finder.0.extend(
                    frame
                        .brk
                        .iter()
                        .chain(&frame.cont)
                        .chain(&frame.value)
                        .cloned(),
                );
            }
        }
        if let Header::While(cond) = &header {
            finder.visit_expr(cond);
        }
        let mut names = finder.0;
        if self.returns && exits.returns {
            names.push(DONE.to_string());
            names.extend((0..self.components).map(ret_name));
        }
        let mut carried_names: Vec<String> = Vec::new();
        for name in names {
            let bound = matches!(self.lookup(&name), Some(Binding::Var(_) | Binding::Uninit));
            if bound && !carried_names.contains(&name) {
                carried_names.push(name);
            }
        }
        let mut carried = Vec::new();
        for name in &carried_names {
            let (si, li) = self.find(name).expect("carried variables are in scope");
            let local = &self.scopes[si][li];
            let init = match local.binding {
                Binding::Var(v) => Operand::Var(v),
                _ => self.placeholder(local.ty.as_ref()),
            };
            let ty = local.ty.clone();
            let header_var = self.ir.new_named_var(name, ty, span);
            self.scopes[si][li].binding = Binding::Var(header_var);
            carried.push((name.clone(), header_var, init));
        }
        carried
    }

    fn lower_loop_with(
        &mut self,
        header: Header<'_>,
        label: Option<String>,
        body: &syn::Block,
        span: Span,
        out: &mut Block,
    ) {
        // Identities in source order: a loop before the loops nested in it.
        let id = self.ir.new_loop();
        // A chain's count, offsets and steps are computed once, before the loop.
        let chain = match &header {
            Header::Chain { plan, .. } => Some(self.lower_chain(plan, out)),
            _ => None,
        };
        // The range is evaluated once, before the loop, with the variables as they are here.
        let kind_iter = match &header {
            Header::Chain { .. } => {
                let count = &chain.as_ref().expect("lowered above").count;
                let uses = count.var().into_iter().collect();
                let count = operand_tokens(count);
                Some((syn::parse_quote!(0..#count), uses))
            }
            Header::Range { iter, .. } => Some(self.rename(iter)),
            Header::Elements { arrays, .. } => {
                let lens: Vec<TokenStream> = arrays
                    .iter()
                    .map(|&a| {
                        let marker = array_marker(a);
                        quote::quote!(#marker.len())
                    })
                    .collect();
                let len = match lens.as_slice() {
                    [one] => one.clone(),
                    [a, b] => quote::quote!(#a.min(#b)),
                    _ => quote::quote!(0),
                };
                Some((syn::parse_quote!(0..#len), Vec::new()))
            }
            Header::While(_) | Header::Loop => None,
        };

        // Variables the loop assigns are carried across iterations.
        let exits = ExitFinder::in_block(body);
        let value = match &header {
            Header::Loop => self.loop_value.take(),
            _ => None,
        };
        let carried = self.carried_headers(&header, body, &exits, value.as_deref(), span);

        // `while`: the condition, computed at the head of each iteration.
        let mut head = Block::default();
        let cond = match &header {
            Header::While(cond) => {
                self.scopes.push(Vec::new());
                let op = self.lower_expr(cond, &mut head);
                self.scopes.pop();
                Some(op)
            }
            _ => None,
        };

        // The body, with its flags and the index and elements it binds.
        self.nesting += 1;
        let frame = LoopFrame {
            brk: exits.breaks.then(|| format!("#brk{}", self.loops.len())),
            cont: exits
                .continues
                .then(|| format!("#cont{}", self.loops.len())),
            label: label.clone(),
            value,
        };
        let mut block = Block::default();
        self.scopes.push(Vec::new());
        for flag in frame.brk.iter().chain(&frame.cont) {
            let var = self.constant_var(
                flag.trim_start_matches('#'),
                syn::parse_quote!(false),
                &mut block,
            );
            self.declare(flag, Binding::Var(var), None);
        }
        let brk = frame.brk.clone();
        self.loops.push(frame);
        let mut filter = None;
        let kind = match (header, kind_iter) {
            (Header::Range { pat, .. }, Some((iter, uses))) => {
                let index = self.loop_index(pat);
                LoopKind::Range { index, iter, uses }
            }
            (
                Header::Elements {
                    arrays,
                    enumerate,
                    pat,
                },
                Some((iter, uses)),
            ) => {
                let index = self.ir.new_var("i", None, span);
                self.bind_elements(&arrays, enumerate, pat, index, &mut block);
                LoopKind::Range { index, iter, uses }
            }
            (Header::Chain { pat, .. }, Some((iter, uses))) => {
                let index = self.ir.new_var("i", None, span);
                let chain = chain.as_ref().expect("lowered above");
                filter = self.bind_chain_item(chain, pat, index, &mut block);
                LoopKind::Range { index, iter, uses }
            }
            _ => LoopKind::Conditional,
        };
        match filter {
            // `filter`: the body runs for the items the predicates keep.
            Some(keep) => {
                let arms = vec![ArmSource::Block(body), ArmSource::Empty];
                self.lower_branch(Selector::If(keep), arms, 0, span, &mut block);
            }
            None => {
                self.lower_stmts(&body.stmts, &mut block, 0, false);
            }
        }
        let mut stop_flags: Vec<VarId> = Vec::new();
        if let Some(Binding::Var(v)) = brk.as_ref().and_then(|b| self.lookup(b)) {
            stop_flags.push(v);
        }
        if self.returns && exits.returns {
            if let Some(Binding::Var(v)) = self.lookup(DONE) {
                stop_flags.push(v);
            }
        }
        let stop = (!stop_flags.is_empty())
            .then(|| self.any_flag(&stop_flags, "stop", false, span, &mut block));
        self.loops.pop();
        self.scopes.pop();
        self.nesting -= 1;

        // What each carried variable is at the end of an iteration, and after the loop.
        let mut carried_ir = Vec::new();
        for (name, header_var, init) in carried {
            let (si, li) = self.find(&name).expect("carried variables are in scope");
            let local = &self.scopes[si][li];
            let next = match local.binding {
                Binding::Var(v) => Operand::Var(v),
                _ => self.placeholder(local.ty.as_ref()),
            };
            let exit = self
                .ir
                .new_named_var(&name, self.scopes[si][li].ty.clone(), span);
            self.scopes[si][li].binding = Binding::Var(exit);
            carried_ir.push(Carried {
                header: header_var,
                init,
                next,
                exit,
            });
        }
        let checkpoint = self.checkpoint_of(label.as_deref(), &kind, stop.is_some(), span);
        out.stmts.push(Stmt::Loop(Box::new(Loop {
            id,
            kind,
            carried: carried_ir,
            head,
            cond,
            body: block,
            stop,
            checkpoint,
        })));
    }

    /// The snapshots `checkpoint('label, s)` asks this loop (labelled `label`) to keep.
    fn checkpoint_of(
        &mut self,
        label: Option<&str>,
        kind: &LoopKind,
        stops: bool,
        span: Span,
    ) -> Option<usize> {
        let label = label?;
        let k = self
            .checkpoints
            .iter()
            .position(|(c, _)| c.label.ident == label)?;
        self.checkpoints[k].1 = true;
        let (checkpoint, _) = &self.checkpoints[k];
        if self.nesting > 0 {
            let message = format!("the checkpointed loop `{}` is inside a loop or branch (or after an early `return`); a checkpointed loop must be a statement of the function's outermost block", checkpoint.label);
            self.errors.at(span, message);
            return None;
        }
        if stops && matches!(kind, LoopKind::Range { .. }) {
            let message = format!("the checkpointed `for` loop `{}` may `break` or `return` early, so its trip count is not its range's; write it as a `while` or `loop`, whose trip count the checkpoints count as it runs", checkpoint.label);
            self.errors.at(span, message);
            return None;
        }
        Some(checkpoint.snapshots)
    }

    /// The index variable of `for pat in range`: `pat` is a name or `_`.
    fn loop_index(&mut self, pat: &Pat) -> VarId {
        match pat {
            Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => {
                let var = self
                    .ir
                    .new_named_var(&p.ident.to_string(), None, p.ident.span());
                self.declare(&p.ident.to_string(), Binding::Var(var), None);
                var
            }
            Pat::Wild(w) => self.ir.new_var("i", None, w.underscore_token.span),
            other => {
                self.reject(other, Rejected::LoopIndexPattern);
                self.ir.new_var("i", None, other.span())
            }
        }
    }

    /// Binds the pattern of `for pat in x.iter()` (`v`, `&v`), `.enumerate()` (`(i, v)`) or
    /// `.zip(..)` (`(a, b)`) to the index and the loaded elements.
    fn bind_elements(
        &mut self,
        arrays: &[ArrayId],
        enumerate: bool,
        pat: &Pat,
        index: VarId,
        out: &mut Block,
    ) {
        let parts: Vec<&Pat> = match (pat, enumerate || arrays.len() > 1) {
            (Pat::Tuple(t), true) => t.elems.iter().collect(),
            (other, false) => vec![other],
            (other, true) => {
                self.reject(other, Rejected::LoopPairPattern);
                return;
            }
        };
        let mut parts = parts.into_iter();
        if enumerate {
            if let Some(p) = parts.next() {
                self.bind_pattern(p, Operand::Var(index), out);
            }
        }
        for (&array, part) in arrays.iter().zip(parts) {
            let elem = self.ir.arrays[array].elem.clone();
            let var = self.ir.new_var("v", elem, part.span());
            out.stmts.push(Stmt::Let {
                var,
                rhs: Rhs::Load {
                    array,
                    index: Operand::Var(index),
                    guard: None,
                },
                span: part.span(),
            });
            // `v` in `for v in x.iter()` is a reference in the user's code: `*v` is `v`.
            if !matches!(part, Pat::Reference(_)) {
                self.element_refs.insert(var);
            }
            self.bind_pattern(part, Operand::Var(var), out);
            if let Some(Binding::Var(bound)) = pat_name(part).and_then(|n| self.lookup(&n)) {
                if !matches!(part, Pat::Reference(_)) {
                    self.element_refs.insert(bound);
                }
            }
        }
    }
}

fn pat_name(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(p) => Some(p.ident.to_string()),
        Pat::Type(t) => pat_name(&t.pat),
        _ => None,
    }
}

/// `a..b`, `a..=b`, and `.rev()`, `.step_by(k)`, `.skip(k)`, `.take(k)` of one.
fn is_range(expr: &Expr) -> bool {
    match strip_parens(expr) {
        Expr::Range(r) => r.start.is_some() && r.end.is_some(),
        Expr::MethodCall(m) => {
            matches!(
                m.method.to_string().as_str(),
                "rev" | "step_by" | "skip" | "take"
            ) && is_range(&m.receiver)
        }
        _ => false,
    }
}

/// `x.iter()[.map(f)..].sum()`, `.product()` or `.fold(init, g)` over an array, as the loop
/// it stands for:
///
/// ```text
/// { let mut acc = 0.0; for PAT in x.iter() { acc = acc + BODY; } acc }
/// ```
///
/// `None` when the receiver is not an iterator over an array (the call is something else).
pub(super) fn desugar_reduction(
    m: &syn::ExprMethodCall,
    lowerer: &Lowerer<'_>,
) -> Option<Result<Expr, syn::Error>> {
    let reduce = m.method.to_string();
    if !matches!(reduce.as_str(), "sum" | "product" | "fold") {
        return None;
    }
    // Peel `.map(..)` stages off the receiver, down to the element source.
    let mut maps: Vec<&syn::ExprClosure> = Vec::new();
    let mut source = strip_parens(&m.receiver);
    while let Expr::MethodCall(inner) = source {
        if inner.method != "map" || inner.args.len() != 1 {
            break;
        }
        match strip_parens(&inner.args[0]) {
            Expr::Closure(c) if c.inputs.len() == 1 => maps.push(c),
            other => {
                return Some(Err(syn::Error::new_spanned(
                    other,
                    "`.map(..)` over an array takes a closure of one argument here",
                )));
            }
        }
        source = strip_parens(&inner.receiver);
    }
    maps.reverse();
    let first = match first_part(source, lowerer) {
        Ok(first) => first,
        Err(error) => return Some(Err(error)),
    };
    match lowerer.plan(first.as_ref().unwrap_or(source)) {
        iterators::Planned::Chain(plan) => {
            // A range's integers summed stay integers: only a reduction of floats is a loop here.
            if plan.root_elements().is_none() && !reduces_floats(m, &maps, lowerer) {
                return None;
            }
        }
        iterators::Planned::Other => return None,
        iterators::Planned::Unsupported(node, message) => {
            return Some(Err(syn::Error::new_spanned(node, message)))
        }
    }
    let reduction = match reduce.as_str() {
        "sum" => Reduction::Sum,
        "product" => Reduction::Product,
        _ => {
            if m.args.len() != 2 {
                return Some(Err(syn::Error::new_spanned(
                    m,
                    "`fold` takes an initial value and a function",
                )));
            }
            match strip_parens(&m.args[1]) {
                Expr::Closure(c) if c.inputs.len() == 2 => Reduction::FoldClosure {
                    acc: strip_pat_type(&c.inputs[0]).clone(),
                    elem: c.inputs[1].clone(),
                    body: (*c.body).clone(),
                },
                Expr::Path(f) => Reduction::FoldPath(f.clone()),
                other => {
                    return Some(Err(syn::Error::new_spanned(
                        other,
                        "`fold` over an array takes a closure `|acc, v| ..` or a function path",
                    )));
                }
            }
        }
    };
    let item = syn::Ident::new("__differentiate_item", m.method.span());
    // The loop's pattern binds the first stage's argument; each later stage binds the
    // previous stage's value with `let`. `value` is `None` when the loop binds `fold`'s
    // element argument directly.
    let mut lets: Vec<syn::Stmt> = Vec::new();
    let (loop_pat, mut value): (Pat, Option<Expr>) = match maps.split_first() {
        None => match &reduction {
            Reduction::FoldClosure { elem, .. } => (strip_pat_type(elem).clone(), None),
            // `&item` binds the element whether the items are references or values.
            _ => (syn::parse_quote!(&#item), Some(syn::parse_quote!(#item))),
        },
        Some((first, rest)) => {
            let mut value: Expr = (*first.body).clone();
            for stage in rest {
                let pat = &stage.inputs[0];
                lets.push(syn::parse_quote!(let #pat = #value;));
                value = (*stage.body).clone();
            }
            (strip_pat_type(&first.inputs[0]).clone(), Some(value))
        }
    };
    if let Reduction::FoldClosure { elem, .. } = &reduction {
        if let Some(last) = value.take() {
            lets.push(syn::parse_quote!(let #elem = #last;));
        }
    }
    let acc: Expr = match &reduction {
        Reduction::FoldClosure { acc, .. } => match pat_name(acc) {
            Some(name) => {
                let ident = syn::Ident::new(&name, acc.span());
                syn::parse_quote!(#ident)
            }
            None => {
                return Some(Err(syn::Error::new_spanned(
                    acc,
                    "name the accumulator of `fold`",
                )))
            }
        },
        _ => {
            let ident = syn::Ident::new("__differentiate_acc", m.method.span());
            syn::parse_quote!(#ident)
        }
    };
    let (init, update): (Expr, Expr) = match &reduction {
        Reduction::Sum => (
            lowerer.ir.numbers.zero(),
            syn::parse_quote!(#acc + (#value)),
        ),
        Reduction::Product => (lowerer.ir.numbers.one(), syn::parse_quote!(#acc * (#value))),
        Reduction::FoldClosure { body, .. } => (m.args[0].clone(), body.clone()),
        Reduction::FoldPath(f) => (m.args[0].clone(), syn::parse_quote!(#f(#acc, #value))),
    };
    // The accumulator's type: `sum::<T>()`'s, else the elements'. A sum of floats needs it
    // for methods called on the result (`.sqrt()`).
    let turbofish = m.turbofish.as_ref().and_then(|t| match t.args.first() {
        Some(syn::GenericArgument::Type(ty)) => Some(ty.clone()),
        _ => None,
    });
    let elem = element_type_of(source, lowerer);
    let acc_type = match (&reduction, turbofish.or(elem)) {
        (Reduction::Sum | Reduction::Product, Some(ty)) => quote::quote!(: #ty),
        _ => TokenStream::new(),
    };
    let source = source.clone();
    Some(Ok(syn::parse_quote!({
        let mut #acc #acc_type = #init;
        for #loop_pat in #source {
            #(#lets)*
            #acc = #update;
        }
        #acc
    })))
}

/// The first part of `a.chain(b)` (what a reduction over it is planned by: the loop lowers
/// both parts), or `None` when there is no `chain`.
fn first_part(source: &Expr, lowerer: &Lowerer<'_>) -> Result<Option<Expr>, syn::Error> {
    match lowerer.split_chain(source) {
        Some(Ok((first, _))) => Ok(Some(first)),
        Some(Err(error)) => Err(error),
        None => Ok(None),
    }
}

/// The element type of the arrays a chain reads, when known.
fn element_type_of(source: &Expr, lowerer: &Lowerer<'_>) -> Option<syn::Type> {
    let first = first_part(source, lowerer).ok()?;
    let iterators::Planned::Chain(plan) = lowerer.plan(first.as_ref().unwrap_or(source)) else {
        return None;
    };
    let root = plan.root_elements()?;
    let array = lowerer
        .array_of(root)
        .or_else(|| lowerer.view_array(root))?;
    lowerer.ir.arrays[array].elem.clone()
}

/// Whether a reduction over a range reduces floats: `sum::<f64>()`, or maps whose last
/// value reads arrays or float literals.
fn reduces_floats(
    m: &syn::ExprMethodCall,
    maps: &[&syn::ExprClosure],
    lowerer: &Lowerer<'_>,
) -> bool {
    if let Some(syn::GenericArgument::Type(ty)) = m.turbofish.as_ref().and_then(|t| t.args.first())
    {
        return lowerer.floats.is_float(ty);
    }
    struct Floats<'l, 'e> {
        lowerer: &'l Lowerer<'e>,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Floats<'_, '_> {
        fn visit_lit_float(&mut self, _: &'ast syn::LitFloat) {
            self.found = true;
        }
        fn visit_expr_index(&mut self, i: &'ast syn::ExprIndex) {
            if self.lowerer.array_of(&i.expr).is_some() || self.lowerer.names_view(&i.expr) {
                self.found = true;
            }
            syn::visit::visit_expr_index(self, i);
        }
    }
    let mut floats = Floats {
        lowerer,
        found: false,
    };
    if let Some(last) = maps.last() {
        floats.visit_expr(&last.body);
    }
    if let Some(init) = m.args.first() {
        floats.visit_expr(init);
    }
    floats.found
}

enum Reduction {
    Sum,
    Product,
    FoldClosure { acc: Pat, elem: Pat, body: Expr },
    FoldPath(syn::ExprPath),
}

fn strip_pat_type(pat: &Pat) -> &Pat {
    match pat {
        Pat::Type(t) => &t.pat,
        other => other,
    }
}

/// `SRC.max_by(cmp)`, `.min_by(cmp)` or `.reduce(f)` over a chain, then `.unwrap()` or
/// `.expect(..)`, as the loop it stands for: the first item starts the accumulator, each
/// later one replaces it (`max_by` keeps the last of equal maxima and `min_by` the first,
/// as the standard library does) or is folded into it. The comparison is kept as written
/// (it has no derivative); the selected element carries its own.
///
/// `None` when `m` is not such a call.
pub(super) fn desugar_selection(
    m: &syn::ExprMethodCall,
    lowerer: &Lowerer<'_>,
) -> Option<Result<Expr, syn::Error>> {
    if !(m.method == "unwrap" || m.method == "expect") {
        return None;
    }
    let Expr::MethodCall(select) = strip_parens(&m.receiver) else {
        return None;
    };
    let kind = select.method.to_string();
    if !matches!(kind.as_str(), "max_by" | "min_by" | "reduce") || select.args.len() != 1 {
        return None;
    }
    let source = strip_parens(&select.receiver);
    let first = match first_part(source, lowerer) {
        Ok(first) => first,
        Err(error) => return Some(Err(error)),
    };
    let by_ref = match lowerer.plan(first.as_ref().unwrap_or(source)) {
        iterators::Planned::Chain(plan) if plan.root_elements().is_some() => {
            match plan.items_by_ref() {
                Some(by_ref) => by_ref,
                None => {
                    return Some(Err(syn::Error::new_spanned(
                        &select.method,
                        format!("`{kind}` over pairs is not supported in a `#[differentiate]` function; select over the floats themselves (`.map(..)` first)"),
                    )))
                }
            }
        }
        iterators::Planned::Unsupported(node, message) => {
            return Some(Err(syn::Error::new_spanned(node, message)))
        }
        _ => return None,
    };
    let span = select.method.span();
    let acc = syn::Ident::new("__differentiate_acc", span);
    let first = syn::Ident::new("__differentiate_first", span);
    let item = syn::Ident::new("__differentiate_item", span);
    let f = &select.args[0];
    let later: syn::Stmt = match kind.as_str() {
        "reduce" => {
            let Expr::Closure(c) = strip_parens(f) else {
                return Some(Err(syn::Error::new_spanned(
                    f,
                    "`reduce` takes a closure `|acc, v| ..` here",
                )));
            };
            if c.inputs.len() != 2 {
                return Some(Err(syn::Error::new_spanned(
                    c,
                    "`reduce` takes a closure of two arguments",
                )));
            }
            let (pa, pb, body) = (&c.inputs[0], &c.inputs[1], &c.body);
            syn::parse_quote!(#acc = { let #pa = #acc; let #pb = #item; #body };)
        }
        _ => {
            // The comparison gets references to the items, as the standard library passes them.
            let (a, b): (Expr, Expr) = if by_ref {
                (syn::parse_quote!(&&#item), syn::parse_quote!(&&#acc))
            } else {
                (syn::parse_quote!(&#item), syn::parse_quote!(&#acc))
            };
            let ordering: Expr = syn::parse_quote!(::differentiate::runtime::ordering(#f, #a, #b));
            let replaces: Expr = if kind == "max_by" {
                syn::parse_quote!(#ordering != ::core::cmp::Ordering::Less)
            } else {
                syn::parse_quote!(#ordering == ::core::cmp::Ordering::Less)
            };
            syn::parse_quote!(if #replaces { #acc = #item; })
        }
    };
    let zero = lowerer.ir.numbers.zero();
    let acc_type = element_type_of(source, lowerer).map(|ty| quote::quote!(: #ty));
    let message = "called `Option::unwrap()` on a `None` value";
    Some(Ok(syn::parse_quote!({
        let mut #acc #acc_type = #zero;
        let mut #first = true;
        for &#item in #source {
            if #first {
                #acc = #item;
                #first = false;
            } else {
                #later
            }
        }
        assert!(!#first, #message);
        #acc
    })))
}
