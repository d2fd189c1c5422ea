//! Hoisting: what a loop computes alike in every iteration is computed once, before it.
//!
//! ADBench's GMM objective computes `exp(q_k)` and `Σ q_k` of every component for every data
//! point, though neither depends on the point. The objective pays for them N times, and so
//! would its gradient, twice: in the forward sweep, and in the adjoint, which applies `exp`'s
//! rule per point. A hand-written gradient computes them once, before the point loop, and so
//! does this stage, on the intermediate form, for each loop at the top level of the body:
//!
//! ```text
//! for i in 0..n {                       let runs = (0..n) is not empty;      // 1 or 0
//!     let s = a[0] + a[1];              for _ in 0..runs {                   // count
//!     for k in 0..m {                       for k in 0..m { c += 1 } }
//!         let e = a[k].exp();           let mut e_cache = vec![0.0; c];
//!         y += e * x[i] + s;            for _ in 0..runs {                   // compute
//!     }                                     s_out = a[0] + a[1];
//! }                                         for k in 0..m { e_cache[c] = a[k].exp(); c += 1 } }
//!                                       for i in 0..n {
//!                                           let s = s_out;
//!                                           for k in 0..m { let e = e_cache[c]; c += 1; y += e * x[i] + s; } }
//! ```
//!
//! - A value is *invariant* when it is computed, by primitives, from constants, values defined
//!   before the loop, elements of arrays the loop does not write and other invariant values,
//!   under control that is the same in every iteration: the loop's body, and range loops in it
//!   whose ranges are invariant and which do not `break`. Values in branches and `while`
//!   loops, calls and opaque expressions are not.
//! - An invariant value is *hoisted* when code that varies uses it, it carries a derivative,
//!   and computing it costs something: its computation has a transcendental function, a
//!   division or a whole inner loop (`Σ q_k`). Integer index arithmetic is left alone.
//! - The hoisted values and what they are computed from run once, before the loop, in a copy
//!   of the loops around them. A value at the top of the body leaves that copy as a carried
//!   value. A value inside inner loops is computed once per iteration of them, so it gets a
//!   cache with one element per evaluation: the copy stores them in order and the loop reads
//!   them back in the same order, each with its own cursor (a counter). The cache's length is
//!   counted first by the copy's loops alone (integers only, no floats).
//! - The copies run only if the loop runs at least once (`for _ in 0..runs`), so nothing is
//!   evaluated, and nothing can panic, that the original would not have evaluated.
//! - What the loop no longer uses of the hoisted code is removed from it.
//! - Loops with effects (`println!`, `assert!`) are left alone: hoisting would reorder them.
//!
//! The derivative follows with no special case: a cache is a buffer like any other. The loop's
//! adjoint sums each value's adjoint into the cache's adjoint, and the copy's adjoint applies
//! the chain rule once per value (`exp`'s rule once per component, not per point).

use crate::analysis::Values;
use crate::ir::kept::{self, var_marker};
use crate::ir::uses::Mentions;
use crate::ir::*;
use crate::kinds::Kind;
use crate::primitives::Family;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};

/// Hoists the invariant values of every loop at the top level of the body. Only values with
/// derivatives are worth a cache, so it reads the facts about values; what it adds says what
/// it copies (`Var::copy_of`, `Array::holds`), for `Values::catch_up`.
pub fn optimise(ir: &mut FnIr, values: &Values) {
    if !ir.body.stmts.iter().any(|s| matches!(s, Stmt::Loop(_))) {
        return;
    }
    let (active, kinds) = (&values.activity.active, &values.kinds);
    for stmt in std::mem::take(&mut ir.body.stmts) {
        match stmt {
            Stmt::Loop(mut l) => {
                if let Some(plan) = Plan::new(&l, active, kinds) {
                    if let Some(prologue) = plan.apply(ir, &mut l) {
                        ir.body.stmts.extend(prologue);
                    }
                }
                ir.body.stmts.push(Stmt::Loop(l));
            }
            other => ir.body.stmts.push(other),
        }
    }
}

/// Float functions too cheap to cache: a load and a counter cost about as much.
const CHEAP: &[&str] = &[
    "abs",
    "min",
    "max",
    "copysign",
    "clamp",
    "mul_add",
    "to_degrees",
    "to_radians",
    "fract",
    "powi",
];

/// How an invariant value inside the loop is defined.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Site {
    Let,
    /// The index of an inner range loop.
    Index,
    Header,
    Exit,
}

/// One invariant value defined inside the loop.
struct Def {
    site: Site,
    /// What it is computed from, inside the loop or not, with the indices of the inner loops
    /// around it (its control).
    deps: Vec<VarId>,
    /// The indices of the inner loops around it.
    enclosing: Vec<VarId>,
    /// A `Let` of a transcendental function or a division.
    costly: bool,
}

struct Plan {
    /// Hoisted values at the top of the body: carried out of the copy.
    top: Vec<VarId>,
    /// Hoisted values inside inner loops: cached.
    deep: Vec<VarId>,
    /// What the copy computes: the hoisted values and everything they need.
    slice: BTreeSet<VarId>,
    /// What the counting copy computes: the indices and ranges of the loops around the cached
    /// values.
    counted: BTreeSet<VarId>,
}

impl Plan {
    fn new(l: &Loop, active: &[bool], kinds: &[Kind]) -> Option<Plan> {
        let LoopKind::Range { index, .. } = &l.kind else {
            return None;
        };
        if l.stop.is_some() || !l.head.stmts.is_empty() || has_effect_or_buffer(&l.body) {
            return None;
        }
        let mut written = BTreeSet::new();
        l.body.stored_arrays(&mut written);
        let variance = Variance {
            written: &written,
            kinds,
        };
        let mut varying: BTreeSet<VarId> = l.carried.iter().map(|c| c.header).collect();
        varying.insert(*index);
        while variance.mark(&l.body, &mut varying) {}

        let mut defs = BTreeMap::new();
        collect(&l.body, &varying, active, &mut Vec::new(), &mut defs);

        // Invariant values that varying code reads.
        let mut consumed: BTreeSet<VarId> = l.carried.iter().filter_map(|c| c.next.var()).collect();
        consumers(&l.body, &varying, &mut consumed);
        let closure = |from: &mut dyn Iterator<Item = VarId>| {
            let mut seen = BTreeSet::new();
            let mut pending: Vec<VarId> = from.collect();
            while let Some(v) = pending.pop() {
                if let Some(def) = defs.get(&v) {
                    if seen.insert(v) {
                        pending.extend(def.deps.iter().copied());
                    }
                }
            }
            seen
        };
        let worth = |v: VarId| {
            closure(&mut std::iter::once(v)).iter().any(|u| {
                let def = &defs[u];
                def.costly || (def.site == Site::Exit && active[*u])
            })
        };
        let hoisted: Vec<VarId> = consumed
            .iter()
            .copied()
            .filter(|v| {
                defs.get(v)
                    .is_some_and(|d| matches!(d.site, Site::Let | Site::Exit))
                    && active[*v]
                    && kinds[*v] == Kind::Scalar
                    && worth(*v)
            })
            .collect();
        if hoisted.is_empty() {
            return None;
        }
        let (top, deep): (Vec<VarId>, Vec<VarId>) =
            hoisted.iter().partition(|v| defs[*v].enclosing.is_empty());
        let slice = closure(&mut hoisted.iter().copied());
        let counted = closure(&mut deep.iter().flat_map(|v| defs[v].enclosing.clone()));
        Some(Plan {
            top,
            deep,
            slice,
            counted,
        })
    }

    /// Rewrites the loop and returns the statements to put before it; `None` (and the loop
    /// unchanged) if the copy cannot be made (an expression that does not parse back).
    fn apply(&self, ir: &mut FnIr, l: &mut Loop) -> Option<Vec<Stmt>> {
        let LoopKind::Range { iter, uses, .. } = &l.kind else {
            return None;
        };
        let span = ir.vars[*self.top.first().or(self.deep.first())?].span;
        let usize_ty: syn::Type = syn::parse_quote!(usize);
        let mut prologue = Vec::new();
        let let_const = |ir: &mut FnIr, prologue: &mut Vec<Stmt>, hint: &str, value: syn::Expr| {
            let var = ir.new_var(hint, None, span);
            prologue.push(Stmt::Let {
                var,
                rhs: Rhs::Use(Operand::Const(value)),
                span,
            });
            var
        };

        // 1 if the loop runs, else 0: the copies run that many times.
        let runs = ir.new_var("runs", Some(usize_ty.clone()), span);
        let mut arrays = Mentions::default();
        arrays.tokens(iter.to_token_stream());
        prologue.push(Stmt::Let {
            var: runs,
            rhs: Rhs::Passive(Passive {
                expr: syn::parse_quote!(
                    (::core::iter::Iterator::next(&mut (#iter)).is_some() as usize)
                ),
                uses: uses.clone(),
                arrays: arrays.arrays.into_iter().collect(),
                kind: PassiveKind::Discrete,
            }),
            span,
        });
        // Count the evaluations of each cached value, and make its cache.
        let mut caches = BTreeMap::new();
        if !self.deep.is_empty() {
            let zero = let_const(ir, &mut prologue, "zero", syn::parse_quote!(0usize));
            let mut copier = Copier::new(&self.counted, &self.deep, None);
            let mut body = start_cursors(ir, &self.deep, &mut copier.cursor, span);
            copier.block(ir, &l.body, &mut body)?;
            let mut carried = Vec::new();
            for &h in &self.deep {
                let count = ir.new_var("count", Some(usize_ty.clone()), span);
                carried.push(Carried {
                    header: ir.new_var("count", Some(usize_ty.clone()), span),
                    init: Operand::Var(zero),
                    next: Operand::Var(copier.cursor[&h]),
                    exit: count,
                });
                let hint = format!("{}_cache", ir.vars[h].hint);
                let cache = ir.new_array(&hint, ir.vars[h].ty.clone(), None, span);
                ir.arrays[cache].holds = Some(h);
                caches.insert(h, (cache, count));
            }
            prologue.push(once(ir, runs, body, carried, span));
            for (cache, count) in caches.values() {
                prologue.push(Stmt::DeclareArray {
                    array: *cache,
                    init: ArrayInit::Repeat {
                        value: Operand::Const(ir.numbers.zero()),
                        len: Operand::Var(*count),
                    },
                    vec: true,
                });
            }
        }

        // Compute the hoisted values: store the cached ones, carry out the others.
        let stored: BTreeMap<VarId, ArrayId> = caches.iter().map(|(h, (c, _))| (*h, *c)).collect();
        let mut copier = Copier::new(&self.slice, &self.deep, Some(&stored));
        let mut body = start_cursors(ir, &self.deep, &mut copier.cursor, span);
        copier.block(ir, &l.body, &mut body)?;
        let mut carried = Vec::new();
        let mut carried_out = BTreeMap::new();
        for &h in &self.top {
            let info = &ir.vars[h];
            let (hint, ty) = (info.hint.clone(), info.ty.clone());
            let zero = ir.numbers.zero();
            let init = let_const(ir, &mut prologue, &hint, zero);
            let exit = ir.new_var(&hint, ty.clone(), span);
            let header = ir.new_var(&hint, ty, span);
            ir.vars[exit].copy_of = Some(h);
            ir.vars[header].copy_of = Some(h);
            carried.push(Carried {
                header,
                init: Operand::Var(init),
                next: Operand::Var(copier.rename[&h]),
                exit,
            });
            carried_out.insert(h, exit);
        }
        prologue.push(once(ir, runs, body, carried, span));

        // The loop reads them back.
        let mut rewriter = Rewriter {
            stored,
            carried_out,
            cursor: BTreeMap::new(),
        };
        let mut starts = start_cursors(ir, &self.deep, &mut rewriter.cursor, span);
        rewriter.block(ir, &mut l.body);
        starts.append(&mut l.body.stmts);
        l.body.stmts = starts;

        // And no longer computes what only the hoisted values needed.
        let removable: BTreeSet<VarId> = self
            .slice
            .iter()
            .copied()
            .filter(|v| !self.top.contains(v) && !self.deep.contains(v))
            .collect();
        let mut live: BTreeSet<VarId> = l.carried.iter().filter_map(|c| c.next.var()).collect();
        while mark_live(ir, &l.body, &removable, &mut live) {}
        sweep(&mut l.body, &removable, &live);
        Some(prologue)
    }
}

/// Whether the block has an effect (whose order against hoisted code would change) or
/// declares a buffer.
fn has_effect_or_buffer(block: &Block) -> bool {
    block.any(&|stmt| matches!(stmt, Stmt::Effect { .. } | Stmt::DeclareArray { .. }))
}

/// The variables a right-hand side reads.
fn rhs_vars(rhs: &Rhs) -> Vec<VarId> {
    let mut m = Mentions::default();
    m.rhs(rhs);
    m.count.into_keys().collect()
}

/// Everything a statement mentions, nested blocks included.
fn stmt_vars(stmt: &Stmt) -> Vec<VarId> {
    let mut m = Mentions::default();
    m.stmt(stmt);
    m.count.into_keys().collect()
}

/// An inner loop whose iterations are the same in every iteration of the hoisting loop.
fn invariant_index(l: &Loop, varying: &BTreeSet<VarId>) -> Option<VarId> {
    match &l.kind {
        LoopKind::Range { index, .. } if !varying.contains(index) => Some(*index),
        _ => None,
    }
}

struct Variance<'a> {
    written: &'a BTreeSet<ArrayId>,
    kinds: &'a [Kind],
}

impl Variance<'_> {
    /// One pass marking what varies; whether anything new did.
    fn mark(&self, block: &Block, varying: &mut BTreeSet<VarId>) -> bool {
        let mut changed = false;
        for stmt in &block.stmts {
            match stmt {
                Stmt::Let { var, rhs, .. } => {
                    if !varying.contains(var) && self.varies(*var, rhs, varying) {
                        changed |= varying.insert(*var);
                    }
                }
                Stmt::Loop(l)
                    if matches!(&l.kind, LoopKind::Range { index, uses, .. }
                        if !varying.contains(index) && uses.iter().all(|u| !varying.contains(u)))
                        && l.stop.is_none()
                        && l.head.stmts.is_empty() =>
                {
                    for c in &l.carried {
                        let moves = [&c.init, &c.next]
                            .iter()
                            .any(|o| o.var().is_some_and(|v| varying.contains(&v)));
                        if moves && !varying.contains(&c.header) {
                            varying.insert(c.header);
                            varying.insert(c.exit);
                            changed = true;
                        }
                    }
                    changed |= self.mark(&l.body, varying);
                }
                // Branches, `while` loops and loops whose range varies: all they define varies.
                _ => {
                    let mut defs = BTreeSet::new();
                    stmt.defs(&mut defs);
                    for d in defs {
                        changed |= varying.insert(d);
                    }
                }
            }
        }
        changed
    }

    fn varies(&self, var: VarId, rhs: &Rhs, varying: &BTreeSet<VarId>) -> bool {
        let by_nature = match rhs {
            Rhs::Call { .. } => true,
            Rhs::Passive(p) => {
                matches!(p.kind, PassiveKind::Opaque { .. })
                    || p.arrays.iter().any(|a| self.written.contains(a))
            }
            Rhs::Prim { prim, .. } => prim.family != Family::Float,
            Rhs::Load { array, .. } => self.written.contains(array),
            _ => false,
        };
        by_nature || self.kinds[var].is_value() || rhs_vars(rhs).iter().any(|v| varying.contains(v))
    }
}

/// The invariant values defined in `block` (and the invariant inner loops in it).
fn collect(
    block: &Block,
    varying: &BTreeSet<VarId>,
    active: &[bool],
    enclosing: &mut Vec<VarId>,
    defs: &mut BTreeMap<VarId, Def>,
) {
    let def = |site, mut deps: Vec<VarId>, enclosing: &[VarId], costly| {
        deps.extend(enclosing.iter().copied());
        Def {
            site,
            deps,
            enclosing: enclosing.to_vec(),
            costly,
        }
    };
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, rhs, .. } if !varying.contains(var) => {
                let costly = match rhs {
                    Rhs::Prim { prim, .. } => {
                        prim.family == Family::Float && !CHEAP.contains(&prim.name)
                    }
                    Rhs::Arith(ArithOp::Div, ..) => active[*var],
                    _ => false,
                };
                defs.insert(*var, def(Site::Let, rhs_vars(rhs), enclosing, costly));
            }
            Stmt::Loop(l) => {
                let (Some(index), LoopKind::Range { uses, .. }) =
                    (invariant_index(l, varying), &l.kind)
                else {
                    continue;
                };
                defs.insert(index, def(Site::Index, uses.clone(), enclosing, false));
                let outside = enclosing.clone();
                enclosing.push(index);
                for c in l.carried.iter().filter(|c| !varying.contains(&c.header)) {
                    let deps = [&c.init, &c.next].iter().filter_map(|o| o.var()).collect();
                    defs.insert(c.header, def(Site::Header, deps, enclosing, false));
                    defs.insert(c.exit, def(Site::Exit, vec![c.header], &outside, false));
                }
                collect(&l.body, varying, active, enclosing, defs);
                enclosing.pop();
            }
            _ => {}
        }
    }
}

/// The variables read by code that varies (and so not hoisted with it).
fn consumers(block: &Block, varying: &BTreeSet<VarId>, out: &mut BTreeSet<VarId>) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                if varying.contains(var) {
                    out.extend(rhs_vars(rhs));
                }
            }
            Stmt::Loop(l) if invariant_index(l, varying).is_some() => {
                for c in l.carried.iter().filter(|c| varying.contains(&c.header)) {
                    out.extend(c.init.var());
                    out.extend(c.next.var());
                }
                consumers(&l.body, varying, out);
            }
            other => out.extend(stmt_vars(other)),
        }
    }
}

/// `for _ in 0..runs { body }`, carrying `carried` out.
fn once(ir: &mut FnIr, runs: VarId, body: Vec<Stmt>, carried: Vec<Carried>, span: Span) -> Stmt {
    let index = ir.new_var("once", Some(syn::parse_quote!(usize)), span);
    let runs_marker = var_marker(runs);
    let iter = syn::parse_quote!(0usize..#runs_marker);
    let id = ir.new_loop();
    range_loop(id, index, iter, vec![runs], carried, body)
}

/// A range loop with no `break`, as the copies make them.
fn range_loop(
    id: LoopId,
    index: VarId,
    iter: syn::Expr,
    uses: Vec<VarId>,
    carried: Vec<Carried>,
    body: Vec<Stmt>,
) -> Stmt {
    Stmt::Loop(Box::new(Loop {
        id,
        kind: LoopKind::Range { index, iter, uses },
        carried,
        head: Block::default(),
        cond: None,
        body: Block {
            bound: Vec::new(),
            stmts: body,
        },
        stop: None,
        checkpoint: None,
    }))
}

/// `next = cursor + 1`, and `cursor` is now `next`.
fn step(ir: &mut FnIr, cursor: &mut VarId, span: Span, out: &mut Vec<Stmt>) {
    let next = ir.new_var("cursor", Some(syn::parse_quote!(usize)), span);
    out.push(Stmt::Let {
        var: next,
        rhs: Rhs::Arith(
            ArithOp::Add,
            Operand::Var(*cursor),
            Operand::Const(syn::parse_quote!(1usize)),
        ),
        span,
    });
    *cursor = next;
}

/// `let cursor = 0usize;` for each cached value.
fn start_cursors(
    ir: &mut FnIr,
    deep: &[VarId],
    cursor: &mut BTreeMap<VarId, VarId>,
    span: Span,
) -> Vec<Stmt> {
    deep.iter()
        .map(|h| {
            let var = ir.new_var("cursor", Some(syn::parse_quote!(usize)), span);
            cursor.insert(*h, var);
            Stmt::Let {
                var,
                rhs: Rhs::Use(Operand::Const(syn::parse_quote!(0usize))),
                span,
            }
        })
        .collect()
}

/// Carries, through a loop that defines cached values, each one's cursor: a new header on
/// entry, the cursor after the body as the next value, a new exit after the loop.
struct Cursors(Vec<(VarId, VarId, VarId)>);

impl Cursors {
    fn enter(ir: &mut FnIr, l: &Loop, cursor: &mut BTreeMap<VarId, VarId>, span: Span) -> Cursors {
        let mut inside = BTreeSet::new();
        l.body.defs(&mut inside);
        let mut entries = Vec::new();
        for (h, current) in cursor.iter_mut().filter(|(h, _)| inside.contains(h)) {
            let header = ir.new_var("cursor", Some(syn::parse_quote!(usize)), span);
            entries.push((*h, *current, header));
            *current = header;
        }
        Cursors(entries)
    }

    fn leave(self, ir: &mut FnIr, cursor: &mut BTreeMap<VarId, VarId>, span: Span) -> Vec<Carried> {
        self.0
            .into_iter()
            .map(|(h, init, header)| {
                let exit = ir.new_var("cursor", Some(syn::parse_quote!(usize)), span);
                let next = std::mem::replace(cursor.get_mut(&h).expect("entered"), exit);
                Carried {
                    header,
                    init: Operand::Var(init),
                    next: Operand::Var(next),
                    exit,
                }
            })
            .collect()
    }
}

/// Copies the part of the loop's body that computes `keep`, under new names, stepping the
/// cursor of each cached value where it is defined (and storing it, if `stores` is given).
struct Copier<'a> {
    keep: &'a BTreeSet<VarId>,
    deep: &'a [VarId],
    stores: Option<&'a BTreeMap<VarId, ArrayId>>,
    rename: BTreeMap<VarId, VarId>,
    cursor: BTreeMap<VarId, VarId>,
}

impl<'a> Copier<'a> {
    fn new(
        keep: &'a BTreeSet<VarId>,
        deep: &'a [VarId],
        stores: Option<&'a BTreeMap<VarId, ArrayId>>,
    ) -> Self {
        Copier {
            keep,
            deep,
            stores,
            rename: BTreeMap::new(),
            cursor: BTreeMap::new(),
        }
    }

    fn block(&mut self, ir: &mut FnIr, block: &Block, out: &mut Vec<Stmt>) -> Option<()> {
        for stmt in &block.stmts {
            match stmt {
                Stmt::Let { var, rhs, span } => {
                    if self.keep.contains(var) {
                        let rhs = self.rhs(rhs)?;
                        let new = self.fresh(ir, *var);
                        out.push(Stmt::Let {
                            var: new,
                            rhs,
                            span: *span,
                        });
                    }
                    self.record(ir, *var, *span, out);
                }
                Stmt::Loop(l) => {
                    self.copy_loop(ir, l, out)?;
                    // A cached value carried out of the loop is recorded after it.
                    for c in &l.carried {
                        self.record(ir, c.exit, ir.vars[c.exit].span, out);
                    }
                }
                _ => {}
            }
        }
        Some(())
    }

    /// At a cached value's definition: store it (when storing) and step its cursor.
    fn record(&mut self, ir: &mut FnIr, var: VarId, span: Span, out: &mut Vec<Stmt>) {
        if !self.deep.contains(&var) {
            return;
        }
        if let Some(array) = self.stores.and_then(|s| s.get(&var)) {
            out.push(Stmt::Store {
                array: *array,
                index: Operand::Var(self.cursor[&var]),
                value: Operand::Var(self.rename[&var]),
            });
        }
        step(ir, self.cursor.get_mut(&var).expect("started"), span, out);
    }

    /// Copies an inner loop, if it holds anything kept.
    fn copy_loop(&mut self, ir: &mut FnIr, l: &Loop, out: &mut Vec<Stmt>) -> Option<()> {
        let LoopKind::Range { index, iter, uses } = &l.kind else {
            return Some(());
        };
        if !self.keep.contains(index) {
            return Some(());
        }
        let span = ir.vars[*index].span;
        let iter = self.expr(iter)?;
        let uses = uses.iter().map(|v| self.var(*v)).collect();
        let index = self.fresh(ir, *index);
        let kept: Vec<&Carried> = l
            .carried
            .iter()
            .filter(|c| self.keep.contains(&c.header))
            .collect();
        for c in &kept {
            self.fresh(ir, c.header);
        }
        let cursors = Cursors::enter(ir, l, &mut self.cursor, span);
        let mut body = Vec::new();
        self.block(ir, &l.body, &mut body)?;
        let mut carried = Vec::new();
        for c in kept {
            carried.push(Carried {
                header: self.rename[&c.header],
                init: self.operand(&c.init),
                next: self.operand(&c.next),
                exit: self.fresh(ir, c.exit),
            });
        }
        carried.extend(cursors.leave(ir, &mut self.cursor, span));
        let id = ir.new_loop();
        out.push(range_loop(id, index, iter, uses, carried, body));
        Some(())
    }

    /// A new variable standing for `v` in the copy.
    fn fresh(&mut self, ir: &mut FnIr, v: VarId) -> VarId {
        let info = &ir.vars[v];
        let (hint, ty, span) = (info.hint.clone(), info.ty.clone(), info.span);
        // The version it replaces has the type, if the copy has that version too.
        let like = info.like.and_then(|p| self.rename.get(&p).copied());
        let new = ir.new_var(&hint, ty, span);
        ir.vars[new].like = like;
        ir.vars[new].copy_of = Some(v);
        self.rename.insert(v, new);
        new
    }

    fn var(&self, v: VarId) -> VarId {
        self.rename.get(&v).copied().unwrap_or(v)
    }

    fn operand(&self, op: &Operand) -> Operand {
        match op {
            Operand::Var(v) => Operand::Var(self.var(*v)),
            Operand::Const(c) => Operand::Const(c.clone()),
        }
    }

    fn expr(&self, expr: &syn::Expr) -> Option<syn::Expr> {
        syn::parse2(self.tokens(expr.to_token_stream())).ok()
    }

    fn tokens(&self, tokens: TokenStream) -> TokenStream {
        kept::rename_vars(tokens, &|v| self.var(v))
    }

    fn rhs(&self, rhs: &Rhs) -> Option<Rhs> {
        let op = |o: &Operand| self.operand(o);
        Some(match rhs {
            Rhs::Use(a) => Rhs::Use(op(a)),
            Rhs::Neg(a) => Rhs::Neg(op(a)),
            Rhs::Arith(o, a, b) => Rhs::Arith(*o, op(a), op(b)),
            Rhs::Prim {
                prim,
                form,
                args,
                refs,
            } => Rhs::Prim {
                prim,
                form: form.clone(),
                args: args.iter().map(op).collect(),
                refs: refs.clone(),
            },
            Rhs::Cast { arg, ty } => Rhs::Cast {
                arg: op(arg),
                ty: ty.clone(),
            },
            Rhs::Load {
                array,
                index,
                guard,
            } => Rhs::Load {
                array: *array,
                index: op(index),
                guard: match guard {
                    Some(g) => Some(Guard {
                        range: self.expr(&g.range)?,
                        uses: g.uses.iter().map(|v| self.var(*v)).collect(),
                    }),
                    None => None,
                },
            },
            Rhs::Len(a) => Rhs::Len(*a),
            Rhs::Component {
                of,
                index,
                tuple,
                field,
            } => Rhs::Component {
                of: self.var(*of),
                index: *index,
                tuple: *tuple,
                field: field.clone(),
            },
            Rhs::Passive(p) => Rhs::Passive(Passive {
                expr: self.expr(&p.expr)?,
                uses: p.uses.iter().map(|v| self.var(*v)).collect(),
                arrays: p.arrays.clone(),
                kind: p.kind.clone(),
            }),
            Rhs::Call { .. } => return None,
        })
    }
}

/// Rewrites the loop's body to read the hoisted values: a cached one from its cache at its
/// cursor, one carried out of the copy from there.
struct Rewriter {
    stored: BTreeMap<VarId, ArrayId>,
    carried_out: BTreeMap<VarId, VarId>,
    cursor: BTreeMap<VarId, VarId>,
}

impl Rewriter {
    fn block(&mut self, ir: &mut FnIr, block: &mut Block) {
        let mut out = Vec::with_capacity(block.stmts.len());
        for mut stmt in std::mem::take(&mut block.stmts) {
            let mut hoisted = Vec::new();
            match &mut stmt {
                Stmt::Let { var, span, .. } if self.is_hoisted(*var) => {
                    self.read_back(ir, *var, *span, &mut out);
                    continue;
                }
                Stmt::Loop(l) => {
                    let span = match &l.kind {
                        LoopKind::Range { index, .. } => ir.vars[*index].span,
                        LoopKind::Conditional => Span::call_site(),
                    };
                    let cursors = Cursors::enter(ir, l, &mut self.cursor, span);
                    self.block(ir, &mut l.body);
                    let carried = cursors.leave(ir, &mut self.cursor, span);
                    l.carried.extend(carried);
                    // A hoisted value carried out of the loop is read back after it; the
                    // loop's own exit gets a new name, and goes unless something else reads it.
                    for c in l.carried.iter_mut().filter(|c| self.is_hoisted(c.exit)) {
                        let info = &ir.vars[c.exit];
                        let (hint, ty, span) = (info.hint.clone(), info.ty.clone(), info.span);
                        hoisted.push((c.exit, span));
                        let exit = ir.new_var(&hint, ty, span);
                        ir.vars[exit].copy_of = Some(c.exit);
                        c.exit = exit;
                    }
                }
                _ => {}
            }
            out.push(stmt);
            for (h, span) in hoisted {
                self.read_back(ir, h, span, &mut out);
            }
        }
        block.stmts = out;
    }

    fn is_hoisted(&self, v: VarId) -> bool {
        self.stored.contains_key(&v) || self.carried_out.contains_key(&v)
    }

    /// `let h = cache[cursor]; cursor += 1` or `let h = <its value carried out of the copy>`.
    fn read_back(&mut self, ir: &mut FnIr, h: VarId, span: Span, out: &mut Vec<Stmt>) {
        let rhs = match self.stored.get(&h) {
            Some(array) => Rhs::Load {
                array: *array,
                index: Operand::Var(self.cursor[&h]),
                guard: None,
            },
            None => Rhs::Use(Operand::Var(self.carried_out[&h])),
        };
        // Typed by the copy it comes from, not by the version it replaces.
        ir.vars[h].like = None;
        out.push(Stmt::Let { var: h, rhs, span });
        if self.stored.contains_key(&h) {
            step(ir, self.cursor.get_mut(&h).expect("started"), span, out);
        }
    }
}

/// One pass marking what the rewritten body still reads; whether anything new is.
/// Only `removable` values (the hoisted code's copies in the loop) can be dead.
fn mark_live(
    ir: &FnIr,
    block: &Block,
    removable: &BTreeSet<VarId>,
    live: &mut BTreeSet<VarId>,
) -> bool {
    let before = live.len();
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                if !removable.contains(var) || live.contains(var) {
                    live.extend(rhs_vars(rhs));
                    // A copy names the version it replaces for its type (see `Var::like`).
                    if matches!(rhs, Rhs::Use(_)) {
                        live.extend(ir.vars[*var].like);
                    }
                }
            }
            Stmt::Loop(l) if is_removable_loop(l, removable) => {
                for c in &l.carried {
                    if carried_kept(c, removable, live) {
                        live.extend([c.header, c.exit]);
                        live.extend(c.init.var());
                        live.extend(c.next.var());
                    }
                }
                mark_live(ir, &l.body, removable, live);
                if loop_kept(l, removable, live) {
                    if let LoopKind::Range { uses, .. } = &l.kind {
                        live.extend(uses.iter().copied());
                    }
                }
            }
            other => live.extend(stmt_vars(other)),
        }
    }
    live.len() != before
}

/// A copied inner loop: it may go, if nothing in it is still needed.
fn is_removable_loop(l: &Loop, removable: &BTreeSet<VarId>) -> bool {
    matches!(&l.kind, LoopKind::Range { index, .. } if removable.contains(index))
}

fn carried_kept(c: &Carried, removable: &BTreeSet<VarId>, live: &BTreeSet<VarId>) -> bool {
    !removable.contains(&c.header) || live.contains(&c.header) || live.contains(&c.exit)
}

fn loop_kept(l: &Loop, removable: &BTreeSet<VarId>, live: &BTreeSet<VarId>) -> bool {
    l.carried.iter().any(|c| carried_kept(c, removable, live))
        || l.body.stmts.iter().any(|stmt| match stmt {
            Stmt::Let { var, .. } => !removable.contains(var) || live.contains(var),
            Stmt::Loop(inner) if is_removable_loop(inner, removable) => {
                loop_kept(inner, removable, live)
            }
            _ => true,
        })
}

/// Removes what [`mark_live`] found dead.
fn sweep(block: &mut Block, removable: &BTreeSet<VarId>, live: &BTreeSet<VarId>) {
    block.stmts.retain_mut(|stmt| match stmt {
        Stmt::Let { var, .. } => !removable.contains(var) || live.contains(var),
        Stmt::Loop(l) if is_removable_loop(l, removable) => {
            let kept = loop_kept(l, removable, live);
            l.carried.retain(|c| carried_kept(c, removable, live));
            sweep(&mut l.body, removable, live);
            kept
        }
        _ => true,
    });
}

#[cfg(test)]
mod tests;
