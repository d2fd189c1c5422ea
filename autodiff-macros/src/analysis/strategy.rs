//! The decisions the facts settle: how the seed and result are shaped, whether `NAME_grad`
//! runs in forward mode, and how `NAME_jacobian` computes its rows. Each is made here, once,
//! and the sweeps and generated items follow it.

use super::Facts;
use crate::ir::*;
use crate::kinds::Kind;
use crate::signature::{Output, Signature};
use std::collections::BTreeSet;

/// How the seed and the result are shaped.
pub enum Shape {
    Scalar,
    Tuple,
    Array,
}

/// How `NAME_jacobian` computes its rows.
pub enum Jacobian {
    /// There is none: the result is one number or a tensor, or the rows would need the
    /// parameters more than once and they are not `Copy`.
    None,
    /// One reverse sweep whose adjoints are lanes, one per output, all of type `ty`.
    Lanes { outputs: usize, ty: syn::Type },
    /// One forward sweep, then one reverse sweep per output (the sweep consumes nothing of the
    /// forward sweep's).
    Sweeps,
    /// One pullback call per output.
    Calls,
}

pub struct Strategy {
    pub shape: Shape,
    /// `NAME_grad` carries the derivatives forward beside the values (see `reverse::tangent`).
    pub forward_grad: bool,
    pub jacobian: Jacobian,
}

/// The most active inputs forward mode is used for.
pub const MAX_FORWARD_INPUTS: usize = 2;

impl Strategy {
    pub fn choose(ir: &FnIr, facts: &Facts, sig: &Signature) -> Strategy {
        let shape = match &sig.output {
            Some(Output::Tuple(_)) => Shape::Tuple,
            Some(Output::Array(..)) => Shape::Array,
            _ => Shape::Scalar,
        };
        Strategy {
            shape,
            forward_grad: forward_grad(ir, facts, sig),
            jacobian: jacobian(ir, facts, sig),
        }
    }
}

/// `NAME_grad` in forward mode: one to [`MAX_FORWARD_INPUTS`] active number parameters, a
/// number result, a loop (without one, reverse mode is plain arithmetic already), and nothing
/// forward mode has no rule for here (arrays or tensors with derivatives, calls of
/// differentiated functions, `while` conditions computing derivatives).
fn forward_grad(ir: &FnIr, facts: &Facts, sig: &Signature) -> bool {
    let active = &facts.activity.active;
    let mut inputs = 0;
    for (slot, param) in ir.params.iter().zip(&sig.params) {
        match (slot, param.active) {
            (_, false) => {}
            (ParamSlot::Var(_), true) => inputs += 1,
            (ParamSlot::Array(_), true) => return false,
        }
    }
    let active_call = ir.body.any(&|stmt| match stmt {
        Stmt::Let { var, rhs, .. } => {
            active[*var] && matches!(rhs, Rhs::Call { .. } | Rhs::Component { .. })
        }
        _ => false,
    });
    let active_head = ir.body.any(&|stmt| match stmt {
        Stmt::Loop(l) => {
            let mut defs = BTreeSet::new();
            l.head.defs(&mut defs);
            defs.iter().any(|v| active[*v])
        }
        _ => false,
    });
    (1..=MAX_FORWARD_INPUTS).contains(&inputs)
        && ir.result.len() == 1
        && facts.kinds.iter().all(|k| *k == Kind::Scalar)
        && !facts.activity.active_arrays.iter().any(|a| *a)
        && ir.body.any(&|stmt| matches!(stmt, Stmt::Loop(_)))
        && !active_call
        && !active_head
}

fn jacobian(ir: &FnIr, facts: &Facts, sig: &Signature) -> Jacobian {
    let (outputs, ty) = match &sig.output {
        Some(Output::Tuple(types)) if !types.is_empty() => {
            let same = types.iter().all(|t| t == &types[0]);
            (types.len(), same.then(|| types[0].clone()))
        }
        Some(Output::Array(ty, n)) if *n > 0 => (*n, Some(ty.clone())),
        _ => return Jacobian::None,
    };
    let calls = ir.body.any(&|stmt| {
        matches!(
            stmt,
            Stmt::Let {
                rhs: Rhs::Call { .. } | Rhs::Component { .. },
                ..
            }
        )
    });
    let repeatable = repeatable(ir, &facts.kinds);
    match ty {
        Some(ty) if repeatable && !calls => Jacobian::Lanes { outputs, ty },
        _ if repeatable => Jacobian::Sweeps,
        _ if params_are_copy(sig) => Jacobian::Calls,
        _ => Jacobian::None,
    }
}

/// Whether the reverse sweep consumes nothing of the forward sweep's (tapes are popped, a
/// buffer snapshot may be moved into a call, tensors are moved into rules), so that it can run
/// once per output after a single forward sweep. Branch records are `Copy` when what they hold
/// is; numbers are.
pub fn repeatable(ir: &FnIr, kinds: &[Kind]) -> bool {
    fn plain(block: &Block) -> bool {
        block.stmts.iter().all(|stmt| match stmt {
            Stmt::Loop(_) => false,
            Stmt::Branch { arms, .. } => arms.iter().all(plain),
            Stmt::Let {
                rhs: Rhs::Call { args, .. },
                ..
            } => !args.iter().any(|a| matches!(a, CallArg::Array { .. })),
            _ => true,
        })
    }
    // Without loops there are no tapes.
    kinds.iter().all(|k| *k == Kind::Scalar) && plain(&ir.body)
}

/// Whether every parameter is known to be `Copy`, so that each output's pullback call can
/// take them again.
pub fn params_are_copy(sig: &Signature) -> bool {
    sig.params.iter().all(|p| is_copy(&p.ty))
}

/// Whether values of this type are known to be `Copy` from its spelling.
fn is_copy(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(r) => r.mutability.is_none(),
        syn::Type::Array(a) => is_copy(&a.elem),
        syn::Type::Tuple(t) => t.elems.iter().all(is_copy),
        syn::Type::Paren(p) => is_copy(&p.elem),
        syn::Type::Path(p) => {
            p.qself.is_none()
                && p.path.get_ident().is_some_and(|i| {
                    crate::signature::is_integer_type(i)
                        || matches!(i.to_string().as_str(), "f32" | "f64" | "bool" | "char")
                })
        }
        _ => false,
    }
}
