//! Rows: the arrays an adjoint loop indexes at `base + i`, read and written through a slice.
//!
//! A replayed range loop `for i in (start..end).rev()` whose body indexes an array at
//! `base + i` (`xc[c * n + i]`, with `c` and `n` fixed for the loop) checks the bounds at every
//! access, and those checks keep the compiler from vectorising the loop. When the forward
//! iterations accessed `array[base + i]` in every iteration, the elements `base..base + end`
//! all exist, so when the loop runs at all the adjoint takes that row once before it and
//! indexes it as `row[i]`, an index the compiler knows is in bounds:
//!
//! ```text
//! for i in (0..n).rev() {            if !(0..n).is_empty() {
//!     let s = c * n + i;                 let base = c * n;
//!     .. xc[s] ..                        let xc_row0 = row(&xc[..], &(0..n), base);
//!     d_xc[s] += ..;                     let d_xc_row0 = row_mut(&mut d_xc[..], &(0..n), base);
//! }                                      for i in (0..n).rev() { .. xc_row0[i] .. d_xc_row0[i] += ..; }
//!                                    }
//! ```
//!
//! Works on the emitted iteration: every use of such an array in it must be an index by one of
//! the loop's `base + i` variables, so that the row is the only borrow of the array the loop
//! holds (an array also passed whole, or indexed otherwise, keeps its checks).

use super::{Emitter, TapePlan};
use crate::ir::*;
use crate::naming;
use proc_macro2::{Delimiter, Group, Spacing, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use std::collections::{BTreeMap, BTreeSet};

/// How the emitted iteration uses an array of interest.
enum Uses {
    /// Only indexed by the loop's `base + i` variables: each base met, and whether the
    /// iteration writes through it.
    Rows(BTreeMap<String, bool>),
    /// Some other way too.
    Other,
}

impl Emitter<'_> {
    /// The rows to take before the reverse loop of `l` (when its range is not empty), and its
    /// iteration reading them; the arrays with rows are added to `plan.rows`.
    pub(super) fn row_views(
        &self,
        l: &Loop,
        plan: &mut TapePlan,
        iter: &TokenStream,
        iteration: TokenStream,
    ) -> (TokenStream, TokenStream) {
        let LoopKind::Range {
            index, iter: range, ..
        } = &l.kind
        else {
            return (TokenStream::new(), iteration);
        };
        // `row` takes a `Range<usize>`; other ranges keep their checks.
        if !half_open(range) {
            return (TokenStream::new(), iteration);
        }
        let index = *index;
        let mut defs = BTreeSet::new();
        l.body.defs(&mut defs);
        let headers: BTreeSet<VarId> = l.carried.iter().map(|c| c.header).collect();
        let top = l.body.own_bindings();

        // The loop's index variables: `base + i`, or `i` itself (base `None`), each with the
        // body's arithmetic its base is computed by.
        let mut bases: BTreeMap<VarId, Option<Operand>> = BTreeMap::new();
        let mut chains: BTreeMap<VarId, BTreeSet<VarId>> = BTreeMap::new();
        bases.insert(index, None);
        for (&var, rhs) in &top {
            if let Rhs::Arith(ArithOp::Add, a, b) = rhs {
                let base = match (a, b) {
                    (Operand::Var(i), base) | (base, Operand::Var(i)) if *i == index => base,
                    _ => continue,
                };
                let mut chain = BTreeSet::new();
                if fixed_for_loop(base, &defs, &headers, index, &top, plan, &mut chain) {
                    bases.insert(var, Some(base.clone()));
                    if let Some(b) = base.var() {
                        chains.insert(b, chain);
                    }
                }
            }
        }
        let base_key = |base: &Option<Operand>| match base {
            None => "0".to_string(),
            Some(op) => self.operand(op).to_string(),
        };
        // Rows in bounds: what the forward iteration read or wrote at `base + i` whatever the
        // branch taken, so in every iteration.
        let mut in_bounds: BTreeSet<(ArrayId, String)> = BTreeSet::new();
        for stmt in &l.body.stmts {
            let (array, at) = match stmt {
                Stmt::Let {
                    rhs:
                        Rhs::Load {
                            array,
                            index: Operand::Var(at),
                            guard: None,
                        },
                    ..
                } => (*array, *at),
                Stmt::Store {
                    array,
                    index: Operand::Var(at),
                    ..
                } => (*array, *at),
                _ => continue,
            };
            if let Some(base) = bases.get(&at) {
                in_bounds.insert((array, base_key(base)));
            }
        }
        if in_bounds.is_empty() {
            return (TokenStream::new(), iteration);
        }
        let mut arrays: BTreeMap<String, (ArrayId, syn::Ident)> = BTreeMap::new();
        for &(a, _) in &in_bounds {
            for name in [naming::array(self.ir, a), naming::array_adjoint(self.ir, a)] {
                arrays.insert(name.to_string(), (a, name));
            }
        }
        let indices: BTreeMap<String, String> = bases
            .iter()
            .map(|(v, base)| (self.primal(*v).to_string(), base_key(base)))
            .collect();

        let mut uses: BTreeMap<String, Uses> = BTreeMap::new();
        scan(iteration.clone(), &arrays, &indices, &mut uses);
        // Each array's rows: one per base if only read, a single one to write through.
        let mut rows: BTreeMap<(String, String), syn::Ident> = BTreeMap::new();
        let mut prelude = TokenStream::new();
        let mut needed_bases = BTreeSet::new();
        let rt = &self.rt;
        let by_key: BTreeMap<String, &Option<Operand>> =
            bases.values().map(|b| (base_key(b), b)).collect();
        for (name, used) in &uses {
            let Uses::Rows(bases_met) = used else {
                continue;
            };
            let (array, ident) = &arrays[name];
            let array = *array;
            let writes = bases_met.values().any(|w| *w);
            if (writes && bases_met.len() > 1)
                || bases_met
                    .keys()
                    .any(|key| !in_bounds.contains(&(array, key.clone())))
            {
                continue;
            }
            for key in bases_met.keys() {
                let row = naming::row(self.ir, array, ident, rows.len());
                let base = match by_key[key] {
                    None => quote!(0),
                    Some(op) => {
                        needed_bases.extend(op.var());
                        self.operand(op)
                    }
                };
                prelude.extend([if writes {
                    quote!(let #row = #rt::slices::row_mut(&mut #ident[..], &(#iter), #base);)
                } else {
                    quote!(let #row = #rt::slices::row(&#ident[..], &(#iter), #base);)
                }]);
                rows.insert((name.clone(), key.clone()), row);
            }
            if !plan.rows.contains(&array) {
                plan.rows.push(array);
            }
        }
        if rows.is_empty() {
            return (TokenStream::new(), iteration);
        }
        // The arithmetic of the bases the rows start at, computed before the loop in the
        // body's order (the rows are taken only when the loop runs, so it computed them too).
        let hoisted: BTreeSet<VarId> = needed_bases
            .iter()
            .filter_map(|b| chains.get(b))
            .flatten()
            .copied()
            .collect();
        let mut before = TokenStream::new();
        for stmt in &l.body.stmts {
            if let Stmt::Let { var, rhs, span } = stmt {
                if hoisted.contains(var) {
                    before.extend([self.binding(*var, rhs, *span, false)]);
                }
            }
        }
        let i = self.primal(index);
        let iteration = rewrite(iteration, &rows, &indices, &i);
        (quote!(#before #prelude), iteration)
    }
}

/// Whether `op` is the same in every iteration of the loop and can be computed before it: a
/// constant, a variable from outside the loop, or `+`, `-`, `*` or a copy of such values
/// computed at the top of the body and recomputed by the adjoint (added to `hoisted`).
fn fixed_for_loop(
    op: &Operand,
    defs: &BTreeSet<VarId>,
    headers: &BTreeSet<VarId>,
    index: VarId,
    top: &BTreeMap<VarId, &Rhs>,
    plan: &TapePlan,
    hoisted: &mut BTreeSet<VarId>,
) -> bool {
    let Operand::Var(v) = op else {
        return true;
    };
    let v = *v;
    if v == index || headers.contains(&v) {
        return false;
    }
    if !defs.contains(&v) || hoisted.contains(&v) {
        return true;
    }
    if !plan.recomputed.contains(&v) {
        return false;
    }
    let operands: Vec<&Operand> = match top.get(&v) {
        Some(Rhs::Use(a)) => vec![a],
        Some(Rhs::Arith(ArithOp::Add | ArithOp::Sub | ArithOp::Mul, a, b)) => vec![a, b],
        _ => return false,
    };
    if operands
        .into_iter()
        .all(|a| fixed_for_loop(a, defs, headers, index, top, plan, hoisted))
    {
        hoisted.insert(v);
        true
    } else {
        false
    }
}

/// `start..end`, possibly in parentheses.
fn half_open(range: &syn::Expr) -> bool {
    match range {
        syn::Expr::Paren(p) => half_open(&p.expr),
        syn::Expr::Range(r) => {
            matches!(r.limits, syn::RangeLimits::HalfOpen(_))
                && r.start.is_some()
                && r.end.is_some()
        }
        _ => false,
    }
}

/// Records how `tokens` use each of `arrays`: `array[v]` for an index variable `v` (written
/// through when `&mut` comes before it or an assignment after it) or otherwise.
fn scan(
    tokens: TokenStream,
    arrays: &BTreeMap<String, (ArrayId, syn::Ident)>,
    indices: &BTreeMap<String, String>,
    uses: &mut BTreeMap<String, Uses>,
) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (k, tt) in tokens.iter().enumerate() {
        match tt {
            TokenTree::Group(g) => scan(g.stream(), arrays, indices, uses),
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                if !arrays.contains_key(&name) {
                    continue;
                }
                let base = indexed_at(tokens.get(k + 1), indices);
                let written = match (k.checked_sub(2).map(|j| &tokens[j..k]), tokens.get(k + 2..)) {
                    (Some([TokenTree::Punct(amp), TokenTree::Ident(m)]), _)
                        if amp.as_char() == '&' && m == "mut" =>
                    {
                        Some(true)
                    }
                    (_, Some([TokenTree::Punct(p), ..])) if p.as_char() == '.' => None,
                    (_, Some([TokenTree::Punct(p), rest @ ..])) => assignment(p, rest),
                    _ => Some(false),
                };
                let entry = uses
                    .entry(name)
                    .or_insert_with(|| Uses::Rows(BTreeMap::new()));
                match (base, written, &mut *entry) {
                    (Some(base), Some(written), Uses::Rows(bases)) => {
                        *bases.entry(base.clone()).or_insert(false) |= written;
                    }
                    _ => *entry = Uses::Other,
                }
            }
            _ => {}
        }
    }
}

/// After `array[v]`, punctuation `p` then `rest`: `Some(true)` for `=` or `op=`, `Some(false)`
/// for a read, `None` for what may be either (`<<=`).
fn assignment(p: &proc_macro2::Punct, rest: &[TokenTree]) -> Option<bool> {
    let next_is_eq = matches!(rest.first(), Some(TokenTree::Punct(q)) if q.as_char() == '=');
    match p.as_char() {
        '=' => Some(p.spacing() == Spacing::Alone),
        '+' | '-' | '*' | '/' | '%' | '^' | '&' | '|' if p.spacing() == Spacing::Joint => {
            Some(next_is_eq)
        }
        '<' | '>' if p.spacing() == Spacing::Joint => (!next_is_eq).then_some(false),
        _ => Some(false),
    }
}

/// The base of the index variable in `[v]`, the token after an array's name, if it is one.
fn indexed_at<'a>(
    next: Option<&TokenTree>,
    indices: &'a BTreeMap<String, String>,
) -> Option<&'a String> {
    let Some(TokenTree::Group(g)) = next else {
        return None;
    };
    let mut inside = g.stream().into_iter();
    match (g.delimiter(), inside.next(), inside.next()) {
        (Delimiter::Bracket, Some(TokenTree::Ident(v)), None) => indices.get(&v.to_string()),
        _ => None,
    }
}

/// `tokens` with each `array[v]` that has a row read as `row[i]`.
fn rewrite(
    tokens: TokenStream,
    rows: &BTreeMap<(String, String), syn::Ident>,
    indices: &BTreeMap<String, String>,
    i: &syn::Ident,
) -> TokenStream {
    let mut out = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(tt) = tokens.next() {
        match tt {
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), rewrite(g.stream(), rows, indices, i));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            TokenTree::Ident(ident) => {
                let row = indexed_at(tokens.peek(), indices)
                    .and_then(|base| rows.get(&(ident.to_string(), base.clone())));
                match row {
                    Some(row) => {
                        let Some(TokenTree::Group(g)) = tokens.next() else {
                            unreachable!("peeked");
                        };
                        let mut index = Group::new(Delimiter::Bracket, i.to_token_stream());
                        index.set_span(g.span());
                        out.push(TokenTree::Ident(row.clone()));
                        out.push(TokenTree::Group(index));
                    }
                    None => out.push(TokenTree::Ident(ident)),
                }
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}
