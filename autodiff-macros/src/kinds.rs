//! Kinds: which variables hold tensors and which hold numbers.
//!
//! The transform is the same for both; only the code it emits differs (a tensor is borrowed
//! where a number is copied, and its rules are the tensor rules). A variable is a tensor when
//! it is a tensor parameter, is declared `let x: Tensor`, is built by `Tensor::..`, or is
//! computed from a tensor by arithmetic or a tensor method that returns one. Anything else is
//! a number: annotate `let h: Tensor = helper(..)` when a call returns a tensor.

use crate::ir::*;
use crate::primitives::Family;
use crate::signature::is_tensor_type;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Scalar,
    Tensor,
}

pub fn infer(ir: &FnIr) -> Vec<Kind> {
    crate::analysis::ran("kinds");
    let mut tensor: Vec<bool> = ir
        .vars
        .iter()
        .map(|v| v.ty.as_ref().is_some_and(declared_tensor))
        .collect();
    while pass(&ir.body, &mut tensor) {}
    tensor
        .into_iter()
        .map(|t| if t { Kind::Tensor } else { Kind::Scalar })
        .collect()
}

/// The tensor variables that are references in the user's code (a `&Tensor` parameter and
/// its copies): passed to a call, they are passed as `&x`, as the user's `x` was.
pub fn borrowed(ir: &FnIr, param_refs: &[bool]) -> Vec<bool> {
    crate::analysis::ran("borrowed");
    let mut by_ref = vec![false; ir.vars.len()];
    for (slot, is_ref) in ir.params.iter().zip(param_refs) {
        if let ParamSlot::Var(v) = slot {
            by_ref[*v] = *is_ref;
        }
    }
    copies(&ir.body, &mut by_ref);
    by_ref
}

fn copies(block: &Block, by_ref: &mut [bool]) {
    block.walk(&mut |stmt| {
        if let Stmt::Let {
            var,
            rhs: Rhs::Use(Operand::Var(v)),
            ..
        } = stmt
        {
            if by_ref[*v] {
                by_ref[*var] = true;
            }
        }
    });
}

fn declared_tensor(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(r) => is_tensor_type(&r.elem),
        other => is_tensor_type(other),
    }
}

fn is(op: &Operand, tensor: &[bool]) -> bool {
    op.var().is_some_and(|v| tensor[v])
}

fn rhs_tensor(rhs: &Rhs, tensor: &[bool]) -> bool {
    match rhs {
        Rhs::Use(a) | Rhs::Neg(a) | Rhs::Cast { arg: a, .. } => is(a, tensor),
        Rhs::Arith(_, a, b) => is(a, tensor) || is(b, tensor),
        Rhs::Prim { prim, args, .. } => match prim.family {
            Family::Float => args.first().is_some_and(|a| is(a, tensor)),
            Family::Tensor { scalar_output } => !scalar_output,
        },
        Rhs::Call {
            callee: Callee::Function(path),
            ..
        } => {
            path.path.segments.len() >= 2
                && path.path.segments[path.path.segments.len() - 2].ident == "Tensor"
        }
        Rhs::Call { .. }
        | Rhs::Load { .. }
        | Rhs::Len(_)
        | Rhs::Passive(_)
        | Rhs::Component { .. } => false,
    }
}

fn mark(v: VarId, tensor: &mut [bool]) -> bool {
    let changed = !tensor[v];
    tensor[v] = true;
    changed
}

/// One pass; whether anything changed.
fn pass(block: &Block, tensor: &mut [bool]) -> bool {
    let mut changed = false;
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                if !tensor[*var] && rhs_tensor(rhs, tensor) {
                    changed |= mark(*var, tensor);
                }
            }
            Stmt::Branch { arms, phis, .. } => {
                for arm in arms {
                    changed |= pass(arm, tensor);
                }
                for phi in phis {
                    if !tensor[phi.var] && phi.srcs.iter().any(|s| is(s, tensor)) {
                        changed |= mark(phi.var, tensor);
                    }
                }
            }
            Stmt::Loop(l) => {
                for c in &l.carried {
                    if is(&c.init, tensor) || is(&c.next, tensor) || tensor[c.header] {
                        changed |= mark(c.header, tensor);
                        changed |= mark(c.exit, tensor);
                    }
                }
                changed |= pass(&l.head, tensor);
                changed |= pass(&l.body, tensor);
            }
            Stmt::Effect { .. } | Stmt::DeclareArray { .. } | Stmt::Store { .. } => {}
        }
    }
    changed
}
