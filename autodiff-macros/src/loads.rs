//! Loads, simplified on the intermediate form before activity analysis.
//!
//! Reading an element costs nothing in the forward sweep, but a loop's adjoint must see the
//! element as it was, so a load from a buffer the function writes is recorded on the loop's
//! tape every iteration, and the adjoint of every load is added to the adjoint array, a chain
//! through memory. Two rewrites cut both:
//!
//! - **Repeated loads**: a load of the same element as an earlier load in the same block, with
//!   no store to the array in between (`q[j] * q[j]`), becomes a copy of the earlier one. An
//!   index computed twice (`q[j * n + i] * q[j * n + i]`) is the same element: integer
//!   arithmetic repeated in a block, on the same operands, becomes a copy of its first result
//!   (integers only: sharing a float product would change the order its adjoints are summed
//!   in).
//! - **Loads a range loop repeats**: a load at the top of a range loop's body whose index the
//!   loop does not change, from an array the loop does not write (`x[c]` inside `for r in ..`),
//!   moves before the loop. Its adjoint then sums in a register across the iterations and
//!   reaches the adjoint array once, and the loop does not record it. The loop may not run,
//!   and then the original code never read the element, which may be out of bounds: the moved
//!   load reads it only when the range is not empty (see [`Guard`]).

use crate::ir::*;
use quote::ToTokens;
use std::collections::BTreeSet;

pub fn optimise(ir: &mut FnIr) {
    let mut shared = Shared {
        integer: integer_vars(ir),
        first: (0..ir.vars.len()).collect(),
    };
    shared.block(&mut ir.body);
    remove_unused_copies(ir, &shared);
    hoist_invariant(&mut ir.body);
}

/// Drops the copies sharing made that nothing reads (the second `j * n` once the load it
/// indexed is shared), so the generated code does not compute them.
fn remove_unused_copies(ir: &mut FnIr, shared: &Shared) {
    let mut mentions = crate::ir::uses::Mentions::default();
    mentions.block(&ir.body);
    ir.result.iter().for_each(|op| mentions.operand(op));
    let unused = |v: &VarId| shared.first[*v] != *v && !mentions.count.contains_key(v);
    fn drop_in(block: &mut Block, unused: &impl Fn(&VarId) -> bool) {
        block
            .stmts
            .retain(|s| !matches!(s, Stmt::Let { var, rhs: Rhs::Use(_), .. } if unused(var)));
        for stmt in &mut block.stmts {
            stmt.nested_mut()
                .into_iter()
                .for_each(|b| drop_in(b, unused));
        }
    }
    drop_in(&mut ir.body, &unused);
}

/// What sharing knows: which variables hold integers, and of each variable the one it copies
/// (itself if none), so that a copy's key is its original's.
struct Shared {
    integer: Vec<bool>,
    first: Vec<VarId>,
}

impl Shared {
    /// Replaces a load of an element already loaded in the block (and not stored since), and
    /// integer arithmetic already done in the block, by a copy of the first, in this block and
    /// every nested one.
    fn block(&mut self, block: &mut Block) {
        // (array, index, the variable holding it).
        let mut loaded: Vec<(ArrayId, String, VarId)> = Vec::new();
        // (operation and operands, the variable holding it).
        let mut computed: Vec<(String, VarId)> = Vec::new();
        for stmt in &mut block.stmts {
            let mut written = BTreeSet::new();
            stmt.stored_arrays(&mut written);
            self.read_originals(stmt);
            match stmt {
                Stmt::Let { var, rhs, .. } => match rhs {
                    Rhs::Load {
                        array,
                        index,
                        guard: None,
                    } => {
                        let key = self.key(index);
                        match loaded.iter().find(|(a, k, _)| a == array && *k == key) {
                            Some((_, _, first)) => self.copy(*var, rhs, *first),
                            None => loaded.push((*array, key, *var)),
                        }
                    }
                    Rhs::Arith(op, a, b) if self.integer[*var] => {
                        let (mut a, mut b) = (self.key(a), self.key(b));
                        if matches!(op, ArithOp::Add | ArithOp::Mul) && a > b {
                            std::mem::swap(&mut a, &mut b);
                        }
                        let key = format!("{op:?} {a} {b}");
                        match computed.iter().find(|(k, _)| *k == key) {
                            Some((_, first)) => self.copy(*var, rhs, *first),
                            None => computed.push((key, *var)),
                        }
                    }
                    _ => {}
                },
                Stmt::DeclareArray { array, .. } => {
                    written.insert(*array);
                }
                Stmt::Branch { arms, .. } => arms.iter_mut().for_each(|arm| self.block(arm)),
                Stmt::Loop(l) => {
                    self.block(&mut l.head);
                    self.block(&mut l.body);
                }
                Stmt::Store { .. } | Stmt::Effect { .. } => {}
            }
            loaded.retain(|(a, _, _)| !written.contains(a));
        }
    }

    /// Points the indices, arithmetic and stores of `stmt` at the originals of the integer
    /// copies they read, so that a store and the load of the same element read the same index (an
    /// in-place update `q[i * n + j] += ..` is then seen as one, see `analysis::facts`) and
    /// the copies become unused.
    fn read_originals(&self, stmt: &mut Stmt) {
        // Integers only: a shared load stays a copy, whose adjoint the original receives once.
        let original = |op: &mut Operand| {
            if let Operand::Var(v) = op {
                if self.integer[*v] {
                    *v = self.first[*v];
                }
            }
        };
        match stmt {
            Stmt::Let { rhs, .. } => match rhs {
                Rhs::Use(a) => original(a),
                Rhs::Arith(_, a, b) => {
                    original(a);
                    original(b);
                }
                Rhs::Load { index, .. } => original(index),
                _ => {}
            },
            Stmt::Store { index, value, .. } => {
                original(index);
                original(value);
            }
            _ => {}
        }
    }

    /// Makes `var` a copy of `first`.
    fn copy(&mut self, var: VarId, rhs: &mut Rhs, first: VarId) {
        *rhs = Rhs::Use(Operand::Var(first));
        self.first[var] = self.first[first];
    }

    /// An operand as a key, a copy keyed as its original.
    fn key(&self, op: &Operand) -> String {
        match op {
            Operand::Var(v) => operand_key(&Operand::Var(self.first[*v])),
            Operand::Const(_) => operand_key(op),
        }
    }
}

/// Which variables surely hold integers: integer parameters and annotations, range loop
/// indices, lengths, and integer arithmetic, copies and loop-carried values of those.
fn integer_vars(ir: &FnIr) -> Vec<bool> {
    let mut integer: Vec<bool> = ir
        .vars
        .iter()
        .map(|v| v.ty.as_ref().is_some_and(crate::signature::is_integer_ty))
        .collect();
    while mark_integers(&ir.body, &mut integer) {}
    integer
}

/// One pass of [`integer_vars`] over a block; whether it learned anything.
fn mark_integers(block: &Block, integer: &mut [bool]) -> bool {
    let is_int = |op: &Operand, integer: &[bool]| match op {
        Operand::Var(v) => integer[*v],
        Operand::Const(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(_),
            ..
        })) => true,
        Operand::Const(_) => false,
    };
    // Marks `var`; whether it was new.
    let mark = |var: VarId, integer: &mut [bool]| !std::mem::replace(&mut integer[var], true);
    let mut changed = false;
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                let yes = match rhs {
                    Rhs::Len(_) => true,
                    Rhs::Use(a) => is_int(a, integer),
                    Rhs::Arith(_, a, b) => is_int(a, integer) && is_int(b, integer),
                    _ => false,
                };
                if yes {
                    changed |= mark(*var, integer);
                }
            }
            Stmt::Branch { arms, .. } => {
                for arm in arms {
                    changed |= mark_integers(arm, integer);
                }
            }
            Stmt::Loop(l) => {
                if let LoopKind::Range { index, .. } = &l.kind {
                    changed |= mark(*index, integer);
                }
                changed |= mark_integers(&l.head, integer);
                changed |= mark_integers(&l.body, integer);
                for c in &l.carried {
                    if is_int(&c.init, integer) && is_int(&c.next, integer) {
                        changed |= mark(c.header, integer);
                        changed |= mark(c.exit, integer);
                    }
                }
            }
            Stmt::DeclareArray { .. } | Stmt::Store { .. } | Stmt::Effect { .. } => {}
        }
    }
    changed
}

/// An operand as a key: equal keys, equal values.
pub(crate) fn operand_key(op: &Operand) -> String {
    match op {
        Operand::Var(v) => format!("#{v}"),
        Operand::Const(c) => c.to_token_stream().to_string(),
    }
}

/// Moves the loads each range loop repeats to just before it, innermost loops first (so a load
/// can move out of several loops when it is invariant in all of them; once guarded it stays).
fn hoist_invariant(block: &mut Block) {
    let mut stmts = Vec::with_capacity(block.stmts.len());
    for mut stmt in std::mem::take(&mut block.stmts) {
        match &mut stmt {
            Stmt::Branch { arms, .. } => arms.iter_mut().for_each(hoist_invariant),
            Stmt::Loop(l) => {
                hoist_invariant(&mut l.head);
                hoist_invariant(&mut l.body);
                stmts.extend(invariant_loads(l));
            }
            _ => {}
        }
        stmts.push(stmt);
    }
    block.stmts = stmts;
}

/// Takes the invariant loads out of the top of a range loop's body, guarded by its range.
fn invariant_loads(l: &mut Loop) -> Vec<Stmt> {
    let LoopKind::Range { index, iter, uses } = &l.kind else {
        return Vec::new();
    };
    // What changes from one iteration to the next, and what the loop writes.
    let mut varying = BTreeSet::from([*index]);
    l.head.defs(&mut varying);
    l.body.defs(&mut varying);
    varying.extend(l.carried.iter().map(|c| c.header));
    let mut written = BTreeSet::new();
    l.head.stored_arrays(&mut written);
    l.body.stored_arrays(&mut written);

    let mut hoisted = Vec::new();
    let mut kept = Vec::with_capacity(l.body.stmts.len());
    for stmt in std::mem::take(&mut l.body.stmts) {
        match stmt {
            Stmt::Let {
                var,
                rhs:
                    Rhs::Load {
                        array,
                        index,
                        guard: None,
                    },
                span,
            } if !written.contains(&array) && index.var().is_none_or(|i| !varying.contains(&i)) => {
                hoisted.push(Stmt::Let {
                    var,
                    rhs: Rhs::Load {
                        array,
                        index,
                        guard: Some(Guard {
                            range: iter.clone(),
                            uses: uses.clone(),
                        }),
                    },
                    span,
                });
            }
            other => kept.push(other),
        }
    }
    l.body.stmts = kept;
    hoisted
}
