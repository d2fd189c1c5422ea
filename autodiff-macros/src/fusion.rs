//! Loop fusion: which loops can run each iteration's adjoint right after the iteration.
//!
//! Reverse mode runs the forward sweep to the end and then the adjoint backwards, so a loop
//! records on a tape what its iterations' adjoints read. That order is only needed when an
//! iteration's adjoint depends on what comes after it. It does not for the commonest loop in
//! numerical code, a reduction: `s += term(i)`, with `s` reaching the result through linear
//! operations. The adjoint of `s` is then the same in every iteration, the adjoint of its
//! exit, and that is known before the loop: `seed` times coefficients computed before it. So
//! each iteration's adjoint can run inside the forward loop, reading the iteration's values
//! where they are, with no tape (and `x.sin()` in the value meets `x.cos()` in the adjoint,
//! which the compiler turns into one `sincos`). This is what a hand-written gradient does.
//!
//! A loop at the top level of the body is fused when:
//! - it has no `break` or `return` (every iteration runs to its end);
//! - each active carried value is a sum: its header is used once, by `+`/`-` (as the left
//!   operand of `-`) or a copy, down a chain that ends at the value carried to the next
//!   iteration;
//! - the adjoint of each sum's exit is a linear function of the seed, through `+`, `-`,
//!   negation, and multiplication or division by values computed before the loop;
//! - every active buffer the loop writes is private to it (not mentioned outside the loop
//!   but at its declaration) and, in each iteration, wholly overwritten before it is read
//!   (`for j in 0..n { buf[j] = .. }` for a buffer of length `n`), so that no iteration's
//!   adjoint owes anything to another iteration through the buffer;
//! - the adjoints it adds to outside the loop are numbers (not tensors or tuples).
//!
//! The buffer rule is what makes a loop like ADBench's GMM, which keeps per-point scratch in
//! buffers declared before the point loop, fusable; the adjoints of those buffers are scratch
//! that each iteration leaves at zero.

use crate::activity::Activity;
use crate::ir::kept::{parse_array_marker, parse_var_marker};
use crate::ir::uses::Mentions;
use crate::ir::*;
use crate::kinds::Kind;
use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};

/// The adjoint of a value, as a linear function of the seed computed before a loop.
#[derive(Clone)]
pub enum Linear {
    /// Component `k` of the seed (the seed itself for a scalar result).
    Seed(usize),
    Sum(Vec<Linear>),
    Neg(Box<Linear>),
    /// `adjoint * factor` (`Mul`) or `adjoint / factor` (`Div`).
    Scale(Box<Linear>, ArithOp, Operand),
}

/// A fused loop: the adjoint of each active carried value (by header), known before the loop.
pub struct Fused {
    pub exits: BTreeMap<VarId, Linear>,
    /// Loads `x[i]` of a parameter array at the loop's own index, the only mention of `x` in
    /// the loop and in everything before it: each element's adjoint receives its first
    /// contribution there, so it is written (`d_x[i] = ..`) rather than added to a zero.
    pub first_writes: BTreeSet<VarId>,
    /// Arrays read at the loop's index and at constant offsets from it (Rosenbrock's `x[i]`
    /// and `x[i + 1]`): their adjoints are gathered rather than scattered (see [`Shifted`]).
    pub shifted: Vec<Shifted>,
}

/// An array whose only mentions in an ascending range loop are loads `x[i + k]` at the top
/// of the iteration, at two or more distinct constant offsets `k`. Scattered as written,
/// iteration `i` adds to `d_x[i + 1]` and iteration `i + 1` adds to it again: every
/// iteration waits for the previous one's store (a store-to-load chain through memory that
/// also stops vectorisation). Instead the contribution of each load but the lowest-offset one
/// waits in a variable until the iteration whose lowest-offset load reaches the same element,
/// which then receives all its contributions at once at the end of that iteration, in the
/// order the scatter added them (older iterations first), so the sums are the same bits.
/// Contributions still waiting when the loop ends are added after it. (The element is written
/// at the end of the iteration, not where the lowest-offset load's adjoint is, because a load
/// whose value reaches no derivative has no adjoint code.)
pub struct Shifted {
    pub array: ArrayId,
    /// The loads and their offsets from the loop index, lowest offset first.
    pub loads: Vec<(VarId, i64)>,
    /// The index the lowest-offset load reads at (`i`, or `i + k` computed in the body).
    pub lowest_index: VarId,
    /// The array is a parameter whose adjoint nothing touches before the loop: the
    /// lowest-offset load writes its element (`d_x[i] = ..`) rather than adding to a zero,
    /// as [`Fused::first_writes`] does.
    pub first: bool,
}

impl Shifted {
    /// Iterations the contribution of load `k` waits: its offset above the lowest.
    pub fn delay(&self, k: usize) -> usize {
        (self.loads[k].1 - self.loads[0].1) as usize
    }
}

/// The fused loops among the top-level statements, by their [`LoopId`].
pub fn plan(
    ir: &FnIr,
    activity: &Activity,
    kinds: &[Kind],
    aggregates: &BTreeSet<VarId>,
) -> BTreeMap<LoopId, Fused> {
    crate::analysis::ran("fusion");
    let top = &ir.body.stmts;
    let params: BTreeSet<VarId> = ir
        .params
        .iter()
        .filter_map(|slot| match slot {
            ParamSlot::Var(v) => Some(*v),
            ParamSlot::Array(_) => None,
        })
        .collect();
    // Where each top-level value is defined (parameters before everything).
    let mut defined_at = BTreeMap::new();
    for (i, stmt) in top.iter().enumerate() {
        match stmt {
            Stmt::Let { var, .. } => {
                defined_at.insert(*var, i);
            }
            Stmt::Branch { phis, .. } => {
                for phi in phis {
                    defined_at.insert(phi.var, i);
                }
            }
            Stmt::Loop(l) => {
                for c in &l.carried {
                    defined_at.insert(c.exit, i);
                }
            }
            _ => {}
        }
    }
    let scalar = |v: VarId| kinds[v] == Kind::Scalar && !aggregates.contains(&v);
    let analysis = Analysis {
        ir,
        activity,
        kinds,
        params: &params,
        defined_at: &defined_at,
        scalar: &scalar,
    };
    let mut fused = BTreeMap::new();
    for (p, stmt) in top.iter().enumerate() {
        if let Stmt::Loop(l) = stmt {
            if let Some(plan) = analysis.fusable(p, l) {
                fused.insert(l.id, plan);
            }
        }
    }
    fused
}

struct Analysis<'a> {
    ir: &'a FnIr,
    activity: &'a Activity,
    kinds: &'a [Kind],
    params: &'a BTreeSet<VarId>,
    defined_at: &'a BTreeMap<VarId, usize>,
    scalar: &'a dyn Fn(VarId) -> bool,
}

/// At most this many terms in an exit's adjoint; beyond, the loop is taped as usual.
const MAX_TERMS: usize = 32;

impl Analysis<'_> {
    fn fusable(&self, p: usize, l: &Loop) -> Option<Fused> {
        if l.stop.is_some() {
            return None;
        }
        // Everything the loop mentions, with how often.
        let inside = loop_mentions(l);

        let mut exits = BTreeMap::new();
        for c in &l.carried {
            if !(self.activity.active[c.header] || self.activity.active[c.exit]) {
                continue;
            }
            if !(self.scalar)(c.header) || !is_sum(l, c, &inside) {
                return None;
            }
            let mut terms = 0;
            exits.insert(c.header, self.exit_adjoint(p, c.exit, &mut terms)?);
        }

        // Adjoints added to outside the loop are numbers or nalgebra values (accumulators of
        // a fixed size, declared before the loop).
        let mut defs = BTreeSet::new();
        l.body.defs(&mut defs);
        l.head.defs(&mut defs);
        let headers: BTreeSet<VarId> = l.carried.iter().map(|c| c.header).collect();
        let outer_active = inside
            .count
            .keys()
            .filter(|v| !defs.contains(v) && !headers.contains(v) && self.activity.active[**v]);
        let outer_accumulates = |v: VarId| (self.scalar)(v) || self.kinds[v] == Kind::Linalg;
        if !outer_active.into_iter().all(|v| outer_accumulates(*v)) {
            return None;
        }

        // Active buffers the loop writes are private scratch, overwritten before being read.
        let mut written = BTreeSet::new();
        l.body.stored_arrays(&mut written);
        l.head.stored_arrays(&mut written);
        for &array in written.iter().filter(|a| self.activity.active_arrays[**a]) {
            let len = self.ir.body.stmts.iter().find_map(|stmt| match stmt {
                Stmt::DeclareArray { array: a, init, .. } if *a == array => Some(match init {
                    ArrayInit::Repeat { len, .. } => Length::Operand(len),
                    ArrayInit::Elements(elements) => Length::Elements(elements.len()),
                }),
                _ => None,
            })?;
            let contained = self_contained(&l.head, array, &len, false)
                .and_then(|covered| self_contained(&l.body, array, &len, covered));
            if !self.private(p, array) || contained.is_none() {
                return None;
            }
        }
        let first_writes = self.first_writes(p, l);
        let shifted = self.shifted(p, l, &written);
        Some(Fused {
            exits,
            first_writes,
            shifted,
        })
    }

    /// See [`Shifted`]: the arrays of an ascending range loop read at constant offsets from
    /// its index and nowhere else in it.
    fn shifted(&self, p: usize, l: &Loop, written: &BTreeSet<ArrayId>) -> Vec<Shifted> {
        let LoopKind::Range { index, iter, .. } = &l.kind else {
            return Vec::new();
        };
        if !ascending(iter) {
            return Vec::new();
        }
        // Offsets of the body's top-level index values from the loop index.
        let mut offsets: BTreeMap<VarId, i64> = BTreeMap::from([(*index, 0)]);
        for stmt in &l.body.stmts {
            let Stmt::Let { var, rhs, .. } = stmt else {
                continue;
            };
            let is_index = |op: &Operand| op.var() == Some(*index);
            let literal = |op: &Operand| match op {
                Operand::Const(c) => constant_offset(c),
                Operand::Var(_) => None,
            };
            let k = match rhs {
                Rhs::Passive(passive) if passive.uses == [*index] => constant_offset(&passive.expr),
                Rhs::Arith(ArithOp::Add, a, b) if is_index(a) => literal(b),
                Rhs::Arith(ArithOp::Add, a, b) if is_index(b) => literal(a),
                Rhs::Arith(ArithOp::Sub, a, b) if is_index(a) => literal(b).map(|k| -k),
                _ => None,
            };
            if let Some(k) = k {
                offsets.insert(*var, k);
            }
        }
        let mut mentioned = BTreeMap::<ArrayId, usize>::new();
        for stmt in l.head.stmts.iter().chain(&l.body.stmts) {
            let mut m = Mentions::default();
            m.stmt(stmt);
            for a in m.arrays {
                *mentioned.entry(a).or_default() += 1;
            }
        }
        let mut loads = BTreeMap::<ArrayId, Vec<(VarId, i64, VarId)>>::new();
        for stmt in &l.body.stmts {
            if let Stmt::Let {
                var,
                rhs:
                    Rhs::Load {
                        array,
                        index: Operand::Var(at),
                        guard: None,
                    },
                ..
            } = stmt
            {
                if let Some(&k) = offsets.get(at) {
                    loads.entry(*array).or_default().push((*var, k, *at));
                }
            }
        }
        let mut out = Vec::new();
        for (array, mut found) in loads {
            found.sort_by_key(|&(_, k, _)| k);
            let distinct = found.windows(2).all(|w| w[0].1 < w[1].1);
            if found.len() >= 2
                && distinct
                && mentioned.get(&array) == Some(&found.len())
                && self.activity.active_arrays[array]
                && !written.contains(&array)
            {
                out.push(Shifted {
                    array,
                    lowest_index: found[0].2,
                    loads: found.iter().map(|&(v, k, _)| (v, k)).collect(),
                    first: self.untouched_before(p, l, array),
                });
            }
        }
        out
    }

    /// Whether `array` is an active parameter whose adjoint nothing touches before the body
    /// of loop `l` at top-level statement `p` (no mention before `p` or in the loop's head).
    fn untouched_before(&self, p: usize, l: &Loop, array: ArrayId) -> bool {
        self.ir
            .params
            .iter()
            .any(|slot| matches!(slot, ParamSlot::Array(a) if *a == array))
            && self.activity.active_arrays[array]
            && !self.ir.body.stmts[..p]
                .iter()
                .chain(&l.head.stmts)
                .any(|s| mentions(s, array))
    }

    /// See [`Fused::first_writes`].
    fn first_writes(&self, p: usize, l: &Loop) -> BTreeSet<VarId> {
        let LoopKind::Range { index, .. } = &l.kind else {
            return BTreeSet::new();
        };
        let mut found = BTreeSet::new();
        for slot in &self.ir.params {
            let ParamSlot::Array(array) = *slot else {
                continue;
            };
            if !self.untouched_before(p, l, array) {
                continue;
            }
            let mut in_body = l.body.stmts.iter().filter(|s| mentions(s, array));
            if let (Some(Stmt::Let { var, rhs, .. }), None) = (in_body.next(), in_body.next()) {
                if matches!(rhs, Rhs::Load { array: a, index: Operand::Var(i), guard: None } if *a == array && i == index)
                {
                    found.insert(*var);
                }
            }
        }
        found
    }

    /// The adjoint of top-level value `v` (defined by statement `p` or before), if every use
    /// of it after `p` is linear with coefficients known at `p`.
    fn exit_adjoint(&self, p: usize, v: VarId, terms: &mut usize) -> Option<Linear> {
        let mut sum = Vec::new();
        for (k, op) in self.ir.result.iter().enumerate() {
            if op.var() == Some(v) {
                sum.push(Linear::Seed(k));
            }
        }
        for stmt in &self.ir.body.stmts[p + 1..] {
            let mut mentions = Mentions::default();
            mentions.stmt(stmt);
            if !mentions.count.contains_key(&v) {
                continue;
            }
            let Stmt::Let { var, rhs, .. } = stmt else {
                return None;
            };
            if !self.activity.active[*var] {
                continue;
            }
            if !(self.scalar)(*var) {
                return None;
            }
            let known = |op: &Operand| match op {
                Operand::Const(_) => true,
                Operand::Var(b) => {
                    *b != v
                        && (self.params.contains(b)
                            || self.defined_at.get(b).is_some_and(|at| *at < p))
                        && (self.scalar)(*b)
                }
            };
            let is_v = |op: &Operand| op.var() == Some(v);
            *terms += 1;
            if *terms > MAX_TERMS {
                return None;
            }
            let after = self.exit_adjoint(p, *var, terms)?;
            let scaled =
                |by: &Operand| Linear::Scale(Box::new(after.clone()), ArithOp::Mul, by.clone());
            match rhs {
                Rhs::Use(_) => sum.push(after),
                Rhs::Neg(_) => sum.push(Linear::Neg(Box::new(after))),
                Rhs::Arith(ArithOp::Add, a, b) => {
                    for _ in [a, b].into_iter().filter(|o| is_v(o)) {
                        sum.push(after.clone());
                    }
                }
                Rhs::Arith(ArithOp::Sub, a, b) => {
                    if is_v(a) {
                        sum.push(after.clone());
                    }
                    if is_v(b) {
                        sum.push(Linear::Neg(Box::new(after)));
                    }
                }
                Rhs::Arith(ArithOp::Mul, a, b) if is_v(a) && known(b) => sum.push(scaled(b)),
                Rhs::Arith(ArithOp::Mul, a, b) if is_v(b) && known(a) => sum.push(scaled(a)),
                Rhs::Arith(ArithOp::Div, a, b) if is_v(a) && known(b) => {
                    sum.push(Linear::Scale(Box::new(after), ArithOp::Div, b.clone()));
                }
                _ => return None,
            }
        }
        Some(Linear::Sum(sum))
    }

    /// Whether a buffer is mentioned only by its declaration and the loop at `p`.
    fn private(&self, p: usize, array: ArrayId) -> bool {
        if self
            .ir
            .params
            .iter()
            .any(|s| matches!(s, ParamSlot::Array(a) if *a == array))
        {
            return false;
        }
        self.ir.body.stmts.iter().enumerate().all(|(i, stmt)| {
            if i == p || matches!(stmt, Stmt::DeclareArray { array: a, .. } if *a == array) {
                return true;
            }
            let mut mentions = Mentions::default();
            mentions.stmt(stmt);
            !mentions.arrays.contains(&array)
        })
    }
}

/// Everything a loop mentions, with how often: its head, body, condition, range and the
/// values it carries on.
fn loop_mentions(l: &Loop) -> Mentions {
    let mut inside = Mentions::default();
    inside.block(&l.head);
    inside.block(&l.body);
    if let Some(cond) = &l.cond {
        inside.operand(cond);
    }
    if let LoopKind::Range { uses, .. } = &l.kind {
        inside.vars(uses);
    }
    for c in &l.carried {
        inside.operand(&c.next);
    }
    inside
}

/// The headers of a loop's active carried values that are sums (see [`is_sum`]): in the
/// adjoint, each has the same adjoint in every iteration, its exit's.
pub fn sums(l: &Loop, activity: &Activity) -> Vec<VarId> {
    let inside = loop_mentions(l);
    l.carried
        .iter()
        .filter(|c| activity.active[c.header] && is_sum(l, c, &inside))
        .map(|c| c.header)
        .collect()
}

/// Whether `c` only accumulates: its header is used once, by an addition or a copy, and so
/// on down to the value carried to the next iteration.
fn is_sum(l: &Loop, c: &Carried, inside: &Mentions) -> bool {
    let mut v = c.header;
    loop {
        let uses = inside.count.get(&v).copied().unwrap_or(0);
        if c.next.var() == Some(v) {
            // The carried value itself: used only as `next` (counted once there).
            return uses == 1;
        }
        if uses != 1 {
            return false;
        }
        let step = l.body.stmts.iter().find_map(|stmt| match stmt {
            Stmt::Let { var, rhs, .. } => match rhs {
                Rhs::Use(Operand::Var(a)) if *a == v => Some(*var),
                Rhs::Arith(ArithOp::Add, a, b) if a.var() == Some(v) || b.var() == Some(v) => {
                    Some(*var)
                }
                Rhs::Arith(ArithOp::Sub, a, _) if a.var() == Some(v) => Some(*var),
                _ => None,
            },
            _ => None,
        });
        match step {
            Some(next) => v = next,
            None => return false,
        }
    }
}

/// How long a local buffer was declared: `vec![v; n]` (`n`) or a list of `n` elements.
enum Length<'a> {
    Operand(&'a Operand),
    Elements(usize),
}

/// Walks one iteration of a loop body in order: `Some(covered)` when every read of `array`
/// comes after a loop that overwrites all of it (`covered` says whether one has run by the end
/// of the block), `None` when a read may see a value from before the iteration.
fn self_contained(
    block: &Block,
    array: ArrayId,
    len: &Length<'_>,
    mut covered: bool,
) -> Option<bool> {
    for stmt in &block.stmts {
        // What the statement itself reads, apart from nested blocks and its own store.
        let mut m = Mentions::default();
        match stmt {
            Stmt::Store { index, value, .. } => {
                m.operand(index);
                m.operand(value);
            }
            Stmt::Branch { .. } | Stmt::Loop(_) => m.stmt_shallow(stmt),
            _ => m.stmt(stmt),
        }
        if m.arrays.contains(&array) && !covered {
            return None;
        }
        match stmt {
            Stmt::Branch { arms, .. } => {
                for arm in arms {
                    self_contained(arm, array, len, covered)?;
                }
            }
            Stmt::Loop(l) => {
                self_contained(&l.head, array, len, covered)?;
                self_contained(&l.body, array, len, covered)?;
                covered |= overwrites(l, array, len);
            }
            _ => {}
        }
    }
    Some(covered)
}

/// Whether loop `l` is `for j in 0..n { .. array[j] = .. }` with the store unconditional
/// (at the top of the body) and `n` the buffer's declared length or `array.len()`.
fn overwrites(l: &Loop, array: ArrayId, len: &Length<'_>) -> bool {
    let LoopKind::Range { index, iter, .. } = &l.kind else {
        return false;
    };
    let stores_each = l.body.stmts.iter().any(|stmt| {
        matches!(stmt, Stmt::Store { array: a, index: Operand::Var(i), .. } if *a == array && i == index)
    });
    l.stop.is_none() && stores_each && range_covers(iter, array, len)
}

fn range_covers(iter: &syn::Expr, array: ArrayId, len: &Length<'_>) -> bool {
    let syn::Expr::Range(range) = strip(iter) else {
        return false;
    };
    let (Some(start), Some(end)) = (&range.start, &range.end) else {
        return false;
    };
    if !matches!(range.limits, syn::RangeLimits::HalfOpen(_)) || int_literal(start) != Some(0) {
        return false;
    }
    let end = strip(end);
    if let syn::Expr::MethodCall(m) = end {
        let receiver = ident(&m.receiver).and_then(|i| parse_array_marker(&i));
        return m.method == "len" && m.args.is_empty() && receiver == Some(array);
    }
    match len {
        Length::Operand(Operand::Var(v)) => {
            ident(end).and_then(|i| parse_var_marker(&i)) == Some(*v)
        }
        Length::Operand(Operand::Const(c)) => {
            c.to_token_stream().to_string() == end.to_token_stream().to_string()
        }
        Length::Elements(n) => int_literal(end) == Some(*n as u128),
    }
}

fn strip(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Paren(p) => strip(&p.expr),
        syn::Expr::Group(g) => strip(&g.expr),
        other => other,
    }
}

/// The identifier an expression is: a path, or a variable's marker (kept as verbatim tokens).
fn ident(expr: &syn::Expr) -> Option<syn::Ident> {
    match strip(expr) {
        syn::Expr::Path(p) => p.path.get_ident().cloned(),
        syn::Expr::Verbatim(tokens) => syn::parse2(tokens.clone()).ok(),
        _ => None,
    }
}

fn int_literal(expr: &syn::Expr) -> Option<u128> {
    match strip(expr) {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse().ok(),
        _ => None,
    }
}

/// Whether a statement mentions an array.
fn mentions(stmt: &Stmt, array: ArrayId) -> bool {
    let mut m = Mentions::default();
    m.stmt(stmt);
    m.arrays.contains(&array)
}

/// Whether a range loop's range counts up by one: `a..b` or `a..=b`.
fn ascending(iter: &syn::Expr) -> bool {
    matches!(strip(iter), syn::Expr::Range(_))
}

/// `k` of an index written `i + k`, `k + i` or `i - k` for an integer literal `k` (the
/// expression reads the loop index `i` and nothing else), or of the literal `k` itself.
fn constant_offset(expr: &syn::Expr) -> Option<i64> {
    let literal = |e: &syn::Expr| int_literal(e).and_then(|k| i64::try_from(k).ok());
    match strip(expr) {
        syn::Expr::Binary(b) => match b.op {
            syn::BinOp::Add(_) if ident(&b.left).is_some() => literal(&b.right),
            syn::BinOp::Add(_) if ident(&b.right).is_some() => literal(&b.left),
            syn::BinOp::Sub(_) if ident(&b.left).is_some() => literal(&b.right).map(|k| -k),
            _ => None,
        },
        other => literal(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::Errors;
    use crate::{analysis, lower};

    /// Which top-level loops of `source` are fused, in order.
    fn fused(source: &str) -> Vec<bool> {
        let (mut ir, sig, active) = lower::lower_source("", source);
        crate::loads::optimise(&mut ir);
        let values = analysis::values(&ir, &active, &mut Errors::default());
        let plan = analysis::facts(&ir, values, &sig).0.fused;
        ir.body
            .stmts
            .iter()
            .filter_map(|stmt| match stmt {
                Stmt::Loop(l) => Some(plan.contains_key(&l.id)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn sums_reaching_the_result_linearly_are_fused() {
        let cases = [
            "fn f(w: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { let r = w[i] * x[i]; s += r * r + x[i].sin(); } s }",
            "fn f(a: f64, x: &[f64]) -> f64 { let c = a.sin(); let n = x.len() as f64; let mut s = 0.0; let mut t = 1.0; for i in 0..x.len() { s += c * x[i]; t -= x[i] * x[i]; } let y = s * a - t / n; -y + 2.0 * (t + 1.0) }",
            "fn f(x: &[f64]) -> f64 { let mut i = 0; let mut s = 0.0; while i < x.len() { s -= x[i].exp() * 0.5; i += 1; } s }",
            "fn f(x: &[f64]) -> (f64, f64) { let mut s = 0.0; let mut q = 0.0; for v in x.iter() { s += v.sin(); q += v * v; } (s, 3.0 * q) }",
            // Scratch buffers overwritten in each iteration before they are read.
            "fn f(x: &[f64], m: &[f64]) -> f64 { let d = m.len(); let mut c = vec![0.0; d]; let mut t = 0.0; for p in 0..x.len() / d { for j in 0..d { c[j] = x[p * d + j] - m[j]; } for j in 1..d { c[j] += c[j - 1]; } let mut n = 0.0; for j in 0..d { n += c[j].sin(); } t += n.ln(); } 0.5 * t }",
            "fn f(x: &[f64]) -> f64 { let mut b = [0.0; 3]; let mut t = 0.0; for i in 0..x.len() { for j in 0..b.len() { b[j] = x[i] * j as f64; } t += b[2] * b[1]; } t }",
        ];
        for source in cases {
            assert_eq!(fused(source), [true], "{source}");
        }
    }

    /// The offsets of the shifted loads of each fused loop of `source`.
    fn shifted(source: &str) -> Vec<Vec<i64>> {
        let (mut ir, sig, active) = lower::lower_source("", source);
        crate::loads::optimise(&mut ir);
        let values = analysis::values(&ir, &active, &mut Errors::default());
        let plan = analysis::facts(&ir, values, &sig).0.fused;
        plan.values()
            .flat_map(|f| &f.shifted)
            .map(|s| s.loads.iter().map(|(_, k)| *k).collect())
            .collect()
    }

    #[test]
    fn loads_at_constant_offsets_are_gathered() {
        let cases: [(&str, &[&[i64]]); 6] = [
            ("fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() - 1 { s += (1.0 - x[i]).powi(2) + 100.0 * (x[i + 1] - x[i].powi(2)).powi(2); } s }", &[&[0, 1]]),
            ("fn f(x: &[f64]) -> f64 { x.iter().zip(x.iter().skip(1)).map(|(&a, &b)| (b - a * a).powi(2)).sum() }", &[&[0, 1]]),
            ("fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 1..x.len() - 1 { s += x[i - 1] * x[i] * x[i + 1]; } s }", &[&[-1, 0, 1]]),
            ("fn f(x: &[f64], y: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() - 2 { s += x[i + 2].sin() * y[i]; } s }", &[]),
            // The same element twice, and a load at a computed index: scattered as written.
            ("fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() - 1 { s += x[i] * x[x.len() - 1 - i]; } s }", &[]),
            ("fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in (0..x.len() - 1).rev() { s += x[i] * x[i + 1]; } s }", &[]),
        ];
        for (source, expected) in cases {
            assert_eq!(shifted(source), expected, "{source}");
        }
    }

    #[test]
    fn loops_whose_iterations_depend_on_later_ones_are_not() {
        let cases = [
            // A buffer carrying a value to the next iteration.
            "fn f(x: &[f64]) -> f64 { let mut b = vec![1.0; 2]; let mut s = 0.0; for i in 0..x.len() { let p = b[0]; b[0] = p * x[i].cos() + b[1]; b[1] = x[i]; s += b[0] * b[0]; } s }",
            // Read after the loop.
            "fn f(x: &[f64]) -> f64 { let mut b = vec![0.0; 2]; let mut s = 0.0; for i in 0..x.len() { for j in 0..2 { b[j] = x[i]; } s += b[0] * b[1]; } s + b[1] }",
            // Overwritten but for one element.
            "fn f(x: &[f64]) -> f64 { let n = 3; let mut b = vec![0.5; n]; let mut s = 0.0; for i in 0..x.len() { for j in 0..n - 1 { b[j] = x[i]; } s += b[2] * b[0]; b[2] = x[i]; } s }",
            // Overwritten only in one arm.
            "fn f(x: &[f64]) -> f64 { let mut b = vec![0.25; 2]; let mut s = 0.0; for i in 0..x.len() { if x[i] > 0.0 { for j in 0..2 { b[j] = x[i] * b[j]; } } s += b[0] + b[1]; } s }",
            // The exit's adjoint needs the exit.
            "fn f(x: &[f64]) -> f64 { let mut s = 1.0; for i in 0..x.len() { s += x[i] * x[i]; } s.ln() }",
            // Not a sum.
            "fn f(x: &[f64]) -> f64 { let mut s = 1.0; for i in 0..x.len() { s += s * x[i]; } s }",
            "fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { s = x[i].sin() - s; } s }",
            "fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { s += x[i]; if s > 1.0 { break; } } s }",
        ];
        for source in cases {
            assert_eq!(fused(source), [false], "{source}");
        }
        // The first loop's exit is scaled by the second's; the second is a product.
        assert_eq!(
            fused("fn f(x: &[f64]) -> f64 { let mut s = 0.0; let mut p = 1.0; for i in 0..x.len() { s += x[i]; } for i in 0..x.len() { p *= x[i].cos(); } s * p }"),
            [false, false]
        );
    }
}
