//! Iterator chains over arrays as index arithmetic: `x.iter().skip(1)`, `.zip(..)`,
//! `.rev()`, `.step_by(k)`, `.take(n)`, `.enumerate()`, `windows(k)`, `chunks(k)`,
//! `chunks_exact(k)`, ranges, `map` and `filter`.
//!
//! A chain is one index loop over `0..count`. Each of its *parts* (an array's elements, a
//! counter, windows or chunks) finds its position from the loop index, `offset + i * step`
//! (counted from the end when reversed), and loads its element there or makes its window a
//! view. Adaptors only change the count, offsets and steps, computed once before the loop,
//! so every element read is a plain load whose adjoint lands where the element came from.
use super::views::View;
use super::*;

/// A chain as written, before anything is computed.
pub(super) enum Plan<'e> {
    /// The elements of an array or sub-slice: `x`, `&x[1..]`, `x.iter()`.
    Elements(&'e Expr),
    Windows(&'e Expr, &'e Expr),
    Chunks(&'e Expr, &'e Expr, bool),
    Range(&'e syn::ExprRange),
    Copied(Box<Plan<'e>>),
    Skip(Box<Plan<'e>>, &'e Expr),
    Take(Box<Plan<'e>>, &'e Expr),
    StepBy(Box<Plan<'e>>, &'e Expr),
    Rev(Box<Plan<'e>>),
    Enumerate(Box<Plan<'e>>),
    Zip(Box<Plan<'e>>, Box<Plan<'e>>),
    Map(Box<Plan<'e>>, &'e syn::ExprClosure),
    Filter(Box<Plan<'e>>, &'e syn::ExprClosure),
}

/// What planning found.
pub(super) enum Planned<'e> {
    Chain(Plan<'e>),
    /// Not an iterator over arrays or a range (the caller lowers it as something else).
    Other,
    /// An iterator over arrays with a step that has no lowering: the node and a message.
    Unsupported(TokenStream, String),
}

/// What one part of a chain yields.
enum Source {
    Elements(View),
    /// `enumerate`'s index, or a range's integers.
    Counter,
    Windows(View, Operand),
    Chunks(View, Operand, bool),
}

struct Part {
    source: Source,
    offset: Operand,
    step: Operand,
    rev: bool,
    /// Whether its items are references (`x.iter()`) rather than values (`.copied()`).
    by_ref: bool,
}

/// How the parts make up one item: a part, a pair (`zip`, `enumerate`), or a mapped item.
#[derive(Clone)]
enum Shape<'e> {
    Part(usize),
    Pair(Box<Shape<'e>>, Box<Shape<'e>>),
    Map(&'e syn::ExprClosure, Box<Shape<'e>>),
}

/// A lowered chain: its parts, how many items it has, and what each item is.
pub(super) struct Chain<'e> {
    parts: Vec<Part>,
    pub count: Operand,
    shape: Shape<'e>,
    /// `filter` predicates, each on the item as it was where it was applied.
    filters: Vec<(&'e syn::ExprClosure, Shape<'e>)>,
}

fn one_input(closure: &syn::ExprClosure) -> bool {
    closure.inputs.len() == 1
}

impl Lowerer<'_> {
    /// Whether `expr` is an array or a sub-slice.
    fn is_elements(&self, expr: &Expr) -> bool {
        self.array_of(expr).is_some() || self.names_view(expr)
    }

    /// Reads an iterator chain over arrays, ranges and sub-slices.
    pub(super) fn plan<'e>(&self, expr: &'e Expr) -> Planned<'e> {
        let expr = strip_parens(expr);
        if self.is_elements(expr) {
            return Planned::Chain(Plan::Elements(expr));
        }
        let m = match expr {
            Expr::Range(r) if r.start.is_some() && r.end.is_some() => {
                return Planned::Chain(Plan::Range(r))
            }
            Expr::MethodCall(m) => m,
            _ => return Planned::Other,
        };
        let name = m.method.to_string();
        if self.is_elements(&m.receiver) {
            return match (name.as_str(), m.args.len()) {
                ("iter" | "into_iter", 0) => Planned::Chain(Plan::Elements(&m.receiver)),
                ("windows", 1) => Planned::Chain(Plan::Windows(&m.receiver, &m.args[0])),
                ("chunks", 1) => Planned::Chain(Plan::Chunks(&m.receiver, &m.args[0], false)),
                ("chunks_exact", 1) => Planned::Chain(Plan::Chunks(&m.receiver, &m.args[0], true)),
                _ => Planned::Other,
            };
        }
        let inner = match self.plan(&m.receiver) {
            Planned::Chain(inner) => Box::new(inner),
            other => return other,
        };
        let filtered = inner.filtered();
        let plan = match (name.as_str(), m.args.len()) {
            ("copied" | "cloned", 0) => Plan::Copied(inner),
            ("iter" | "into_iter", 0) => *inner,
            ("map", 1) => match strip_parens(&m.args[0]) {
                Expr::Closure(c) if one_input(c) => Plan::Map(inner, c),
                other => {
                    return Planned::Unsupported(
                        other.to_token_stream(),
                        "`.map(..)` over an array takes a closure of one argument here".into(),
                    )
                }
            },
            ("filter", 1) => match strip_parens(&m.args[0]) {
                Expr::Closure(c) if one_input(c) => Plan::Filter(inner, c),
                other => {
                    return Planned::Unsupported(
                        other.to_token_stream(),
                        "`.filter(..)` over an array takes a closure of one argument here".into(),
                    )
                }
            },
            ("skip" | "take" | "step_by" | "rev" | "enumerate" | "zip", _) if filtered => {
                return Planned::Unsupported(
                    m.method.to_token_stream(),
                    format!("`{name}` after `filter` is not supported in a `#[differentiate]` function; put `filter` after the adaptors that count (`skip`, `take`, `step_by`, `rev`, `enumerate`, `zip`)"),
                );
            }
            ("skip", 1) => Plan::Skip(inner, &m.args[0]),
            ("take", 1) => Plan::Take(inner, &m.args[0]),
            ("step_by", 1) => Plan::StepBy(inner, &m.args[0]),
            ("rev", 0) => Plan::Rev(inner),
            ("enumerate", 0) => Plan::Enumerate(inner),
            ("zip", 1) => match self.plan(&m.args[0]) {
                Planned::Chain(other) => Plan::Zip(inner, Box::new(other)),
                Planned::Other => {
                    return Planned::Unsupported(
                        m.args[0].to_token_stream(),
                        "`zip` with this iterator is not supported in a `#[differentiate]` function; zip with an array, a sub-slice (`&x[1..]`), a range or an iterator chain over one".into(),
                    )
                }
                unsupported => return unsupported,
            },
            _ => {
                return Planned::Unsupported(
                    m.method.to_token_stream(),
                    format!("the iterator adaptor `{name}` is not supported in a `#[differentiate]` function; use `skip`, `take`, `step_by`, `rev`, `zip`, `enumerate`, `windows`, `chunks`, `map`, `filter`, or an index loop"),
                )
            }
        };
        Planned::Chain(plan)
    }

    /// `a.chain(b)` followed by `map`, `filter` or `copied` stages: the two iterators the
    /// stages apply to, `a.S` and `b.S`, walked one after the other. `None` when there is no
    /// `chain`; an error for a stage after it that counts (`skip` of the joined sequence is
    /// not `skip` of each part).
    pub(super) fn split_chain(&self, expr: &Expr) -> Option<Result<(Expr, Expr), syn::Error>> {
        let mut stages: Vec<&syn::ExprMethodCall> = Vec::new();
        let mut at = strip_parens(expr);
        loop {
            let Expr::MethodCall(m) = at else {
                return None;
            };
            if m.method == "chain" && m.args.len() == 1 {
                if let Some(counting) = stages.iter().find(|s| {
                    !matches!(
                        s.method.to_string().as_str(),
                        "map" | "filter" | "copied" | "cloned"
                    )
                }) {
                    let message = format!("`{}` after `chain` is not supported in a `#[differentiate]` function; apply it to each part before `chain`, or use an index loop", counting.method);
                    return Some(Err(syn::Error::new_spanned(&counting.method, message)));
                }
                let reapply = |base: &Expr| {
                    stages.iter().rev().fold(base.clone(), |acc, s| {
                        let mut stage = (*s).clone();
                        stage.receiver = Box::new(acc);
                        Expr::MethodCall(stage)
                    })
                };
                let first: Expr = reapply(&m.receiver);
                // `chain` takes any `IntoIterator`: `&y` and `&y[1..]` as `.iter()`.
                let other = &m.args[0];
                let second: Expr = if self.is_elements(other) {
                    reapply(&syn::parse_quote!((#other).iter()))
                } else {
                    reapply(other)
                };
                return Some(Ok((first, second)));
            }
            stages.push(m);
            at = strip_parens(&m.receiver);
        }
    }

    /// Computes a chain's count, offsets and steps (before the loop that walks it).
    pub(super) fn lower_chain<'e>(&mut self, plan: &Plan<'e>, out: &mut Block) -> Chain<'e> {
        let zero = || Operand::Const(syn::parse_quote!(0));
        let one = || Operand::Const(syn::parse_quote!(1));
        let part = |source, by_ref| Part {
            source,
            offset: zero(),
            step: one(),
            rev: false,
            by_ref,
        };
        let single = |count, p: Part| Chain {
            parts: vec![p],
            count,
            shape: Shape::Part(0),
            filters: Vec::new(),
        };
        match plan {
            Plan::Elements(of) => {
                let view = self.view_of(of, out).expect("planned as elements");
                let count = view.len.clone();
                single(count, part(Source::Elements(view), true))
            }
            Plan::Windows(of, k) => {
                let span = k.source_span();
                let view = self.view_of(of, out).expect("planned as elements");
                let k = self.lower_expr(k, out);
                let count = self.index_call("n", "windows_count", &[&view.len, &k], span, out);
                single(count, part(Source::Windows(view, k), true))
            }
            Plan::Chunks(of, k, exact) => {
                let span = k.source_span();
                let view = self.view_of(of, out).expect("planned as elements");
                let k = self.lower_expr(k, out);
                let count = if *exact {
                    let (n, tk) = (operand_tokens(&view.len), operand_tokens(&k));
                    self.index_value(
                        "n",
                        syn::parse_quote!(#n / #tk),
                        &[&view.len, &k],
                        span,
                        out,
                    )
                } else {
                    self.index_call("n", "chunks_count", &[&view.len, &k], span, out)
                };
                single(count, part(Source::Chunks(view, k, *exact), true))
            }
            Plan::Range(r) => {
                let span = r.span();
                let start = self.lower_expr(r.start.as_ref().expect("planned"), out);
                let mut end = self.lower_expr(r.end.as_ref().expect("planned"), out);
                if matches!(r.limits, syn::RangeLimits::Closed(_)) {
                    end = self.index_arith(quote::quote!(+), &end, &one(), span, out);
                }
                let count = self.index_call("n", "range_count", &[&start, &end], span, out);
                let mut counter = part(Source::Counter, false);
                counter.offset = start;
                single(count, counter)
            }
            Plan::Copied(inner) => {
                let mut chain = self.lower_chain(inner, out);
                chain.parts.iter_mut().for_each(|p| p.by_ref = false);
                chain
            }
            Plan::Skip(inner, n) => {
                let span = n.source_span();
                let mut chain = self.lower_chain(inner, out);
                let n = self.lower_expr(n, out);
                for p in chain.parts.iter_mut().filter(|p| !p.rev) {
                    let moved = self.index_arith(quote::quote!(*), &n, &p.step, span, out);
                    p.offset = self.index_arith(quote::quote!(+), &p.offset, &moved, span, out);
                }
                chain.count = self.index_call("n", "range_count", &[&n, &chain.count], span, out);
                chain
            }
            Plan::Take(inner, n) => {
                let span = n.source_span();
                let chain = self.lower_chain(inner, out);
                let n = self.lower_expr(n, out);
                let taken = self.index_call("n", "take_count", &[&chain.count, &n], span, out);
                self.truncate(chain, taken, span, out)
            }
            Plan::StepBy(inner, k) => {
                let span = k.source_span();
                let mut chain = self.lower_chain(inner, out);
                let k = self.lower_expr(k, out);
                let count = self.index_call("n", "step_count", &[&chain.count, &k], span, out);
                let first = if chain.parts.iter().any(|p| p.rev) {
                    self.index_call("at", "reversed_step_offset", &[&chain.count, &k], span, out)
                } else {
                    zero()
                };
                for p in chain.parts.iter_mut() {
                    if p.rev {
                        let moved = self.index_arith(quote::quote!(*), &first, &p.step, span, out);
                        p.offset = self.index_arith(quote::quote!(+), &p.offset, &moved, span, out);
                    }
                    p.step = self.index_arith(quote::quote!(*), &p.step, &k, span, out);
                }
                chain.count = count;
                chain
            }
            Plan::Rev(inner) => {
                let mut chain = self.lower_chain(inner, out);
                chain.parts.iter_mut().for_each(|p| p.rev = !p.rev);
                chain
            }
            Plan::Enumerate(inner) => {
                let mut chain = self.lower_chain(inner, out);
                chain.parts.push(part(Source::Counter, false));
                let counter = Shape::Part(chain.parts.len() - 1);
                chain.shape = Shape::Pair(Box::new(counter), Box::new(chain.shape));
                chain
            }
            Plan::Zip(a, b) => {
                let span = Span::call_site();
                let a = self.lower_chain(a, out);
                let b = self.lower_chain(b, out);
                let count = self.index_call("n", "take_count", &[&a.count, &b.count], span, out);
                let a = self.truncate(a, count.clone(), span, out);
                let mut b = self.truncate(b, count.clone(), span, out);
                let shift = a.parts.len();
                let b_shape = b.shape.shifted(shift);
                let mut parts = a.parts;
                parts.append(&mut b.parts);
                Chain {
                    parts,
                    count,
                    shape: Shape::Pair(Box::new(a.shape), Box::new(b_shape)),
                    filters: Vec::new(),
                }
            }
            Plan::Map(inner, closure) => {
                let mut chain = self.lower_chain(inner, out);
                chain.shape = Shape::Map(closure, Box::new(chain.shape));
                chain
            }
            Plan::Filter(inner, closure) => {
                let mut chain = self.lower_chain(inner, out);
                chain.filters.push((closure, chain.shape.clone()));
                chain
            }
        }
    }

    /// The first `count` items of a chain (`count` no more than it has): reversed parts
    /// move their start, as `take` on a reversed iterator keeps its last elements.
    fn truncate<'e>(
        &mut self,
        mut chain: Chain<'e>,
        count: Operand,
        span: Span,
        out: &mut Block,
    ) -> Chain<'e> {
        if chain.parts.iter().any(|p| p.rev) {
            let dropped = self.index_arith(quote::quote!(-), &chain.count, &count, span, out);
            for p in chain.parts.iter_mut().filter(|p| p.rev) {
                let moved = self.index_arith(quote::quote!(*), &dropped, &p.step, span, out);
                p.offset = self.index_arith(quote::quote!(+), &p.offset, &moved, span, out);
            }
        }
        chain.count = count;
        chain
    }

    /// `let y: Vec<f64> = x.iter().map(..).collect();` (or `collect::<Vec<_>>()`): a local
    /// buffer as long as the chain, its items stored in order. Returns whether `init` was
    /// such a call.
    pub(super) fn lower_collect(
        &mut self,
        name: &str,
        ident: &syn::Ident,
        ty: Option<&syn::Type>,
        init: &Expr,
        out: &mut Block,
    ) -> bool {
        let Expr::MethodCall(m) = strip_parens(init) else {
            return false;
        };
        if m.method == "map" && m.args.len() == 1 {
            return self.lower_array_map(name, ident, m, out);
        }
        if m.method != "collect" || !m.args.is_empty() {
            return false;
        }
        let Planned::Chain(plan) = self.plan(&m.receiver) else {
            return false;
        };
        if plan.items_by_ref().is_none() && !matches!(plan, Plan::Map(..)) {
            return false;
        }
        if self.nesting > 0 {
            self.errors.spanned(
                ident,
                "a buffer collected from an iterator must be declared in the function's outermost block, outside loops and branches; collect it before the loop or branch",
            );
            return true;
        }
        let turbofish = m.turbofish.as_ref().and_then(|t| match t.args.first() {
            Some(syn::GenericArgument::Type(ty)) => Some(ty.clone()),
            _ => None,
        });
        let elem = ty
            .or(turbofish.as_ref())
            .and_then(|t| element_type(t, &self.floats))
            .or_else(|| {
                let root = plan.root_elements()?;
                let array = self.array_of(root).or_else(|| self.view_array(root))?;
                self.ir.arrays[array].elem.clone()
            });
        let count = self.lower_chain(&plan, out).count;
        let array = self.ir.new_array(name, elem, None, ident.span());
        self.declare_zeroed(array, count, true, out);
        // `for (k, &v) in SOURCE.enumerate() { name[k] = v; }` (`&v` binds an item whether it
        // is a reference or a value).
        let (k, v, source) = (
            syn::Ident::new("__differentiate_k", ident.span()),
            syn::Ident::new("__differentiate_v", ident.span()),
            &m.receiver,
        );
        self.declare(name, Binding::Array(array), None);
        let fill: Expr =
            syn::parse_quote!(for (#k, &#v) in (#source).enumerate() { #ident[#k] = #v; });
        self.lower_loop(&fill, out);
        true
    }

    /// `let y = x.map(|v| ..);` of a fixed-size array: a local array of the same length, each
    /// element the closure's value. Returns whether `m` was such a call.
    fn lower_array_map(
        &mut self,
        name: &str,
        ident: &syn::Ident,
        m: &syn::ExprMethodCall,
        out: &mut Block,
    ) -> bool {
        let (Some(source), Expr::Closure(closure)) =
            (self.array_of(&m.receiver), strip_parens(&m.args[0]))
        else {
            return false;
        };
        let Some(len) = self.ir.arrays[source].fixed_len.clone() else {
            return false;
        };
        if closure.inputs.len() != 1 {
            return false;
        }
        if self.nesting > 0 {
            self.errors.spanned(
                ident,
                "an array mapped with `map` must be declared in the function's outermost block, outside loops and branches; map it before the loop or branch",
            );
            return true;
        }
        let elem = self.ir.arrays[source].elem.clone();
        let array = self
            .ir
            .new_array(name, elem, Some(len.clone()), ident.span());
        self.declare_zeroed(array, Operand::Const(len), false, out);
        self.declare(name, Binding::Array(array), None);
        let (k, v, receiver) = (
            syn::Ident::new("__differentiate_k", ident.span()),
            syn::Ident::new("__differentiate_v", ident.span()),
            &m.receiver,
        );
        let (param, body) = (&closure.inputs[0], &closure.body);
        let fill: Expr = syn::parse_quote!(for (#k, &#v) in (#receiver).iter().enumerate() {
            let #param = #v;
            #ident[#k] = #body;
        });
        self.lower_loop(&fill, out);
        true
    }

    /// Binds the loop pattern to item `index` of the chain, inside the loop body. Returns
    /// the condition the body runs under when the chain filters.
    pub(super) fn bind_chain_item(
        &mut self,
        chain: &Chain<'_>,
        pat: &Pat,
        index: VarId,
        out: &mut Block,
    ) -> Option<Operand> {
        let span = pat.span();
        let values: Vec<PartValue> = (0..chain.parts.len())
            .map(|k| self.part_value(chain, k, index, span, out))
            .collect();
        let mut condition: Option<Operand> = None;
        for (closure, shape) in &chain.filters {
            let kept = self.apply_filter(closure, shape, &values, out);
            condition = Some(match condition {
                None => kept,
                Some(before) => {
                    let (a, b) = (operand_tokens(&before), operand_tokens(&kept));
                    self.index_value(
                        "keep",
                        syn::parse_quote!(#a && #b),
                        &[&before, &kept],
                        span,
                        out,
                    )
                }
            });
        }
        self.bind_shape(&chain.shape, pat, &values, out);
        condition
    }

    /// Item `index`'s value of part `k`.
    fn part_value(
        &mut self,
        chain: &Chain<'_>,
        k: usize,
        index: VarId,
        span: Span,
        out: &mut Block,
    ) -> PartValue {
        let p = &chain.parts[k];
        let i = Operand::Var(index);
        let position = if p.rev {
            let (n, ti) = (operand_tokens(&chain.count), operand_tokens(&i));
            self.index_value(
                "at",
                syn::parse_quote!(#n - 1 - #ti),
                &[&chain.count, &i],
                span,
                out,
            )
        } else {
            i
        };
        let moved = self.index_arith(quote::quote!(*), &position, &p.step, span, out);
        let at = self.index_arith(quote::quote!(+), &p.offset, &moved, span, out);
        match &p.source {
            Source::Counter => PartValue::Value(at),
            Source::Elements(view) => {
                let index = self.index_arith(quote::quote!(+), &view.start, &at, span, out);
                let elem = self.ir.arrays[view.array].elem.clone();
                let var = self.ir.new_var("v", elem, span);
                out.stmts.push(Stmt::Let {
                    var,
                    rhs: Rhs::Load {
                        array: view.array,
                        index,
                        guard: None,
                    },
                    span,
                });
                PartValue::Element(var, p.by_ref)
            }
            Source::Windows(view, k) => {
                let start = self.index_arith(quote::quote!(+), &view.start, &at, span, out);
                PartValue::View(View {
                    array: view.array,
                    start,
                    len: k.clone(),
                })
            }
            Source::Chunks(view, k, exact) => {
                let first = self.index_arith(quote::quote!(*), &at, k, span, out);
                let start = self.index_arith(quote::quote!(+), &view.start, &first, span, out);
                let len = if *exact {
                    k.clone()
                } else {
                    self.index_call("len", "chunk_len", &[&at, k, &view.len], span, out)
                };
                PartValue::View(View {
                    array: view.array,
                    start,
                    len,
                })
            }
        }
    }

    /// Binds a pattern to an item of the given shape.
    fn bind_shape(&mut self, shape: &Shape<'_>, pat: &Pat, values: &[PartValue], out: &mut Block) {
        let pat = match pat {
            Pat::Type(t) => &*t.pat,
            Pat::Paren(p) => &*p.pat,
            other => other,
        };
        match shape {
            Shape::Part(k) => match &values[*k] {
                PartValue::Value(op) => self.bind_pattern(pat, op.clone(), out),
                PartValue::Element(var, by_ref) => self.bind_element(pat, *var, *by_ref, out),
                PartValue::View(view) => self.bind_view(pat, view.clone()),
            },
            Shape::Pair(a, b) => match pat {
                Pat::Tuple(t) if t.elems.len() == 2 => {
                    self.bind_shape(a, &t.elems[0], values, out);
                    self.bind_shape(b, &t.elems[1], values, out);
                }
                Pat::Wild(_) => {}
                // `|&(a, b)|` of a reference to a pair.
                Pat::Reference(r) => self.bind_shape(shape, &r.pat, values, out),
                other => {
                    self.reject(other, Rejected::LoopPairPattern);
                }
            },
            Shape::Map(closure, inner) => {
                let value = self.apply_map(closure, inner, values, out);
                self.bind_pattern(pat, value, out);
            }
        }
    }

    /// An element bound to a pattern: `v` stands for a reference to it (so `*v` is the
    /// element) unless the items are values or the pattern takes the reference apart (`&v`).
    fn bind_element(&mut self, pat: &Pat, var: VarId, by_ref: bool, out: &mut Block) {
        let mut inner = pat;
        let mut peeled = 0;
        while let Pat::Reference(r) = inner {
            inner = &r.pat;
            peeled += 1;
        }
        let reference = by_ref && peeled == 0;
        if reference {
            self.element_refs.insert(var);
        }
        self.bind_pattern(inner, Operand::Var(var), out);
        if reference {
            if let Some(Binding::Var(bound)) = pat_name(inner).and_then(|n| self.lookup(&n)) {
                self.element_refs.insert(bound);
            }
        }
    }

    /// `map`'s closure applied to an item: its parameter bound like a loop pattern, its body
    /// lowered in place.
    fn apply_map(
        &mut self,
        closure: &syn::ExprClosure,
        shape: &Shape<'_>,
        values: &[PartValue],
        out: &mut Block,
    ) -> Operand {
        self.scopes.push(Vec::new());
        self.bind_shape(shape, &closure.inputs[0], values, out);
        let value = self.lower_expr(&closure.body, out);
        self.scopes.pop();
        value
    }

    /// `filter`'s predicate on an item, which it receives by reference (`|v| **v > 0.0`,
    /// `|&&v| v > 0.0`, `|(i, _)| ..`): a constant boolean.
    fn apply_filter(
        &mut self,
        closure: &syn::ExprClosure,
        shape: &Shape<'_>,
        values: &[PartValue],
        out: &mut Block,
    ) -> Operand {
        // The predicate's argument is one reference further than the item.
        let pat = match &closure.inputs[0] {
            Pat::Reference(r) => (*r.pat).clone(),
            other => {
                let mut marked = other.clone();
                if let Pat::Ident(p) = &mut marked {
                    p.mutability = None;
                }
                syn::parse_quote!(#marked)
            }
        };
        let deref_once = !matches!(&closure.inputs[0], Pat::Reference(_));
        self.scopes.push(Vec::new());
        self.bind_shape(shape, &pat, values, out);
        if deref_once {
            // `v` names a reference to the item: `*v` (and `**v` of an element) is the item.
            if let Some(Binding::Var(v)) = pat_name(&pat).and_then(|n| self.lookup(&n)) {
                self.element_refs.insert(v);
            }
        }
        let value = self.lower_expr(&closure.body, out);
        self.scopes.pop();
        value
    }
}

/// One part's value for the current item.
enum PartValue {
    Value(Operand),
    /// A loaded element, and whether the item is a reference to it.
    Element(VarId, bool),
    View(View),
}

impl Shape<'_> {
    fn shifted(&self, by: usize) -> Self {
        match self {
            Shape::Part(k) => Shape::Part(k + by),
            Shape::Pair(a, b) => Shape::Pair(Box::new(a.shifted(by)), Box::new(b.shifted(by))),
            Shape::Map(c, inner) => Shape::Map(c, Box::new(inner.shifted(by))),
        }
    }
}

impl Plan<'_> {
    fn filtered(&self) -> bool {
        match self {
            Plan::Filter(..) => true,
            Plan::Map(inner, _) | Plan::Copied(inner) => inner.filtered(),
            _ => false,
        }
    }

    /// Whether the items are references to elements (`x.iter()`) or values (`.copied()`,
    /// `map`); `None` for pairs and windows.
    pub(super) fn items_by_ref(&self) -> Option<bool> {
        match self {
            Plan::Elements(_) => Some(true),
            Plan::Copied(inner) => inner.items_by_ref().map(|_| false),
            Plan::Map(..) => Some(false),
            Plan::Skip(inner, _)
            | Plan::Take(inner, _)
            | Plan::StepBy(inner, _)
            | Plan::Rev(inner)
            | Plan::Filter(inner, _) => inner.items_by_ref(),
            Plan::Windows(..)
            | Plan::Chunks(..)
            | Plan::Range(_)
            | Plan::Enumerate(_)
            | Plan::Zip(..) => None,
        }
    }

    /// The array or sub-slice a chain reads (the first, for `zip`); `None` for a range.
    pub(super) fn root_elements(&self) -> Option<&Expr> {
        match self {
            Plan::Elements(of) => Some(of),
            Plan::Windows(of, _) | Plan::Chunks(of, ..) => Some(of),
            Plan::Range(_) => None,
            Plan::Copied(inner)
            | Plan::Skip(inner, _)
            | Plan::Take(inner, _)
            | Plan::StepBy(inner, _)
            | Plan::Rev(inner)
            | Plan::Enumerate(inner)
            | Plan::Map(inner, _)
            | Plan::Filter(inner, _) => inner.root_elements(),
            Plan::Zip(a, b) => a.root_elements().or_else(|| b.root_elements()),
        }
    }
}

pub(super) fn pat_name(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(p) => Some(p.ident.to_string()),
        Pat::Type(t) => pat_name(&t.pat),
        _ => None,
    }
}
