//! Loads, simplified on the intermediate form before activity analysis.
//!
//! Reading an element costs nothing in the forward sweep, but a loop's adjoint must see the
//! element as it was, so a load from a buffer the function writes is recorded on the loop's
//! tape every iteration, and the adjoint of every load is added to the adjoint array, a chain
//! through memory. Two rewrites cut both:
//!
//! - **Repeated loads**: a load of the same element as an earlier load in the same block, with
//!   no store to the array in between (`q[j] * q[j]`), becomes a copy of the earlier one.
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
    share_repeated(&mut ir.body);
    hoist_invariant(&mut ir.body);
}

/// Replaces a load of an element already loaded in the block (and not stored since) by a
/// copy of the first load, in this block and every nested one.
fn share_repeated(block: &mut Block) {
    // (array, index, the variable holding it).
    let mut loaded: Vec<(ArrayId, String, VarId)> = Vec::new();
    for stmt in &mut block.stmts {
        let mut written = BTreeSet::new();
        stmt.stored_arrays(&mut written);
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                if let Rhs::Load {
                    array,
                    index,
                    guard: None,
                } = rhs
                {
                    let key = operand_key(index);
                    match loaded.iter().find(|(a, k, _)| a == array && *k == key) {
                        Some((_, _, first)) => *rhs = Rhs::Use(Operand::Var(*first)),
                        None => loaded.push((*array, key, *var)),
                    }
                }
            }
            Stmt::DeclareArray { array, .. } => {
                written.insert(*array);
            }
            Stmt::Branch { arms, .. } => arms.iter_mut().for_each(share_repeated),
            Stmt::Loop(l) => {
                share_repeated(&mut l.head);
                share_repeated(&mut l.body);
            }
            Stmt::Store { .. } | Stmt::Effect { .. } => {}
        }
        loaded.retain(|(a, _, _)| !written.contains(a));
    }
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
