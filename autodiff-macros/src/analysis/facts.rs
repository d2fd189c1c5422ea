//! Facts about the statements that the reverse sweep's emission reads: in-place updates
//! whose adjoint stays in place, `sin`/`cos` pairs whose rules share each other's value, and
//! the values read by component.

use crate::ir::*;
use crate::primitives::{Family, Primitive};
use std::collections::{BTreeMap, BTreeSet};

/// The in-place updates `a[i] = a[i] + e` (or `- e`; `a[i] += e`): a store of `v = l ± e`
/// where `l` loads the same element in the same block, nothing stores to `a` in between, and
/// `l` and `v` have no other use. The adjoint of such a store would take the element's
/// adjoint, clear it, and the load would add the same amount back; it leaves the element's
/// adjoint as it is instead. Maps `v` to `l`.
pub(super) fn increments(ir: &FnIr) -> BTreeMap<VarId, VarId> {
    super::ran("increments");
    fn walk(block: &Block, uses: &BTreeMap<VarId, usize>, out: &mut BTreeMap<VarId, VarId>) {
        for (s, stmt) in block.stmts.iter().enumerate() {
            match stmt {
                Stmt::Store { .. } => out.extend(in_place_load(block, s, uses)),
                Stmt::Branch { arms, .. } => arms.iter().for_each(|a| walk(a, uses, out)),
                Stmt::Loop(l) => {
                    walk(&l.head, uses, out);
                    walk(&l.body, uses, out);
                }
                _ => {}
            }
        }
    }
    // Uses anywhere in the function (a phi or a carried value may use them too), and by the
    // result.
    let mut uses = crate::ir::uses::Mentions::default();
    uses.block(&ir.body);
    for v in ir.result.iter().filter_map(Operand::var) {
        *uses.count.entry(v).or_default() += 1;
    }
    let mut out = BTreeMap::new();
    walk(&ir.body, &uses.count, &mut out);
    out
}

/// For the store `a[i] = v` at `block.stmts[s]`: `(v, l)` when it is an in-place update (see
/// [`increments`]).
pub(super) fn in_place_load(
    block: &Block,
    s: usize,
    uses: &BTreeMap<VarId, usize>,
) -> Option<(VarId, VarId)> {
    let Stmt::Store {
        array,
        index,
        value: Operand::Var(v),
    } = &block.stmts[s]
    else {
        return None;
    };
    let once = |x: &VarId| uses.get(x) == Some(&1);
    let binding = |x: VarId| {
        block.stmts[..s]
            .iter()
            .enumerate()
            .find_map(|(at, stmt)| match stmt {
                Stmt::Let { var, rhs, .. } if *var == x => Some((at, rhs)),
                _ => None,
            })
    };
    let (at_v, sum) = binding(*v).filter(|_| once(v))?;
    let operands = match sum {
        Rhs::Arith(ArithOp::Add, a, b) => [a.var(), b.var()],
        Rhs::Arith(ArithOp::Sub, a, _) => [a.var(), None],
        _ => return None,
    };
    let key = crate::loads::operand_key(index);
    let load = operands.into_iter().flatten().find(|l| {
        once(l)
            && binding(*l).is_some_and(|(at_l, rhs)| {
                at_l < at_v
                    && matches!(rhs, Rhs::Load { array: a, index: i, guard: None }
                        if a == array && crate::loads::operand_key(i) == key)
                    && !block.stmts[at_l + 1..s]
                        .iter()
                        .any(|b| stores_to(b, *array))
            })
    })?;
    Some((*v, load))
}

/// Whether a statement (or a block nested in it) stores to `array`.
pub(super) fn stores_to(stmt: &Stmt, array: ArrayId) -> bool {
    let mut stored = BTreeSet::new();
    stmt.stored_arrays(&mut stored);
    stored.contains(&array)
}

/// Pairs a number's `sin x` with its `cos x` (same `x`) where the adjoint of one can read the
/// other: defined in the same block, or earlier in an enclosing one. The derivative of each is
/// the other (up to sign), so the adjoint reads it instead of calling `cos` or `sin` again;
/// the compiler cannot always see that the value is the same once it has passed through a
/// branch record or a tape.
pub(super) fn sin_cos_partners(body: &Block) -> BTreeMap<VarId, VarId> {
    super::ran("partners");
    /// `(primitive, x, var)` of a binding of a primitive with a partner (`sin`, `cos`).
    fn trig(stmt: &Stmt) -> Option<(&'static Primitive, VarId, VarId)> {
        match stmt {
            Stmt::Let {
                var,
                rhs: Rhs::Prim { prim, args, .. },
                ..
            } if prim.partner.is_some() && prim.family == Family::Float => {
                Some((*prim, args[0].var()?, *var))
            }
            _ => None,
        }
    }
    fn walk(
        block: &Block,
        enclosing: &mut Vec<(&'static Primitive, VarId, VarId)>,
        out: &mut BTreeMap<VarId, VarId>,
    ) {
        let own: Vec<_> = block.stmts.iter().filter_map(trig).collect();
        let mark = enclosing.len();
        for stmt in &block.stmts {
            if let Some((prim, x, var)) = trig(stmt) {
                let partner = prim.partner.as_ref().map(|p| p.name);
                let candidates = own.iter().chain(enclosing[..mark].iter());
                if let Some((_, _, other)) = candidates
                    .into_iter()
                    .find(|(p, a, _)| Some(p.name) == partner && *a == x)
                {
                    out.insert(var, *other);
                }
                enclosing.push((prim, x, var));
            }
            match stmt {
                Stmt::Branch { arms, .. } => arms.iter().for_each(|a| walk(a, enclosing, out)),
                Stmt::Loop(l) => {
                    walk(&l.head, enclosing, out);
                    walk(&l.body, enclosing, out);
                }
                _ => {}
            }
        }
        enclosing.truncate(mark);
    }
    let mut out = BTreeMap::new();
    walk(body, &mut Vec::new(), &mut out);
    out
}

/// The variables read by component (`q.0`, `q[1]`).
pub(super) fn aggregates(block: &Block) -> BTreeSet<VarId> {
    super::ran("aggregates");
    let mut found = BTreeSet::new();
    block.walk(&mut |stmt| {
        if let Stmt::Let {
            rhs: Rhs::Component { of, .. },
            ..
        } = stmt
        {
            found.insert(*of);
        }
    });
    found
}
