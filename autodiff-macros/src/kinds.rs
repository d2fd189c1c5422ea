//! Kinds: which variables hold tensors, which nalgebra values, and which numbers.
//!
//! The transform is the same for all; only the code it emits differs (a tensor or a nalgebra
//! value is borrowed where a number is copied, and its rules are the runtime's tensor or
//! nalgebra rules). A variable is a tensor when it is a tensor parameter, is declared
//! `let x: Tensor`, is built by `Tensor::..`, or is computed from a tensor by arithmetic or a
//! tensor method that returns one; a nalgebra value likewise (`Vector3<f64>` parameters and
//! annotations, `Vector3::new(..)`, `Matrix3::identity()`, `m * v`, `a.cross(&b)`). Anything
//! else is a number: annotate `let h: Tensor = helper(..)` when a call returns a tensor.

use crate::ir::*;
use crate::primitives::Family;
use crate::signature::is_tensor_type;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Scalar,
    Tensor,
    /// A nalgebra vector, matrix or point (see `linalg`).
    Linalg,
}

impl Kind {
    /// Whether values of this kind are borrowed by their rules and cloned where taken
    /// (a tensor or a nalgebra value), unlike numbers.
    pub fn is_value(self) -> bool {
        self != Kind::Scalar
    }

    /// The runtime module of this kind's rules.
    pub fn rules_module(self) -> &'static str {
        match self {
            Kind::Linalg => "linalg_rules",
            Kind::Scalar | Kind::Tensor => "tensor_rules",
        }
    }
}

pub fn infer(ir: &FnIr) -> Vec<Kind> {
    crate::analysis::ran("kinds");
    let mut kinds: Vec<Kind> = ir
        .vars
        .iter()
        .map(|v| v.ty.as_ref().map_or(Kind::Scalar, declared))
        .collect();
    for slot in &ir.params {
        if let ParamSlot::Var(p) = slot {
            if !ir.value_params.contains(p) {
                kinds[*p] = Kind::Scalar;
            }
        }
    }
    while pass(&ir.body, &mut kinds) {}
    kinds
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

fn declared(ty: &syn::Type) -> Kind {
    let ty = match ty {
        syn::Type::Reference(r) => &*r.elem,
        other => other,
    };
    if is_tensor_type(ty) {
        Kind::Tensor
    } else if crate::linalg::is_type(ty) {
        Kind::Linalg
    } else {
        Kind::Scalar
    }
}

/// The kind of an operand: its variable's, or a constant's by what builds it.
pub fn operand_kind(op: &Operand, kinds: &[Kind]) -> Kind {
    match op {
        Operand::Var(v) => kinds[*v],
        Operand::Const(expr) => constant(expr),
    }
}

/// A constant built by a nalgebra type's function (`Matrix3::identity()`) is a nalgebra value.
fn constant(expr: &syn::Expr) -> Kind {
    match expr {
        syn::Expr::Call(c) => match &*c.func {
            syn::Expr::Path(p) if crate::linalg::type_function(&p.path).is_some() => Kind::Linalg,
            _ => Kind::Scalar,
        },
        syn::Expr::Paren(p) => constant(&p.expr),
        _ => Kind::Scalar,
    }
}

/// The first operand that is not a number decides (a number times a vector is a vector).
fn either(a: Kind, b: Kind) -> Kind {
    if a.is_value() {
        a
    } else {
        b
    }
}

fn rhs_kind(rhs: &Rhs, kinds: &[Kind]) -> Kind {
    match rhs {
        Rhs::Use(a) | Rhs::Neg(a) | Rhs::Cast { arg: a, .. } => operand_kind(a, kinds),
        Rhs::Arith(_, a, b) => either(operand_kind(a, kinds), operand_kind(b, kinds)),
        Rhs::Prim { prim, args, .. } => {
            let receiver = args
                .first()
                .map_or(Kind::Scalar, |a| operand_kind(a, kinds));
            match prim.family {
                Family::Float => receiver,
                Family::Tensor {
                    scalar_output: true,
                }
                | Family::Linalg {
                    scalar_output: true,
                } => Kind::Scalar,
                Family::Tensor { .. } if receiver == Kind::Linalg => Kind::Linalg,
                Family::Tensor { .. } => Kind::Tensor,
                // `v.map(..)` is of the receiver's kind (a `map` of another local: a number).
                Family::Linalg { .. } if prim.name == "map" => receiver,
                Family::Linalg { .. } => Kind::Linalg,
            }
        }
        Rhs::Call {
            callee: Callee::Function(path),
            ..
        } if path.path.segments.len() >= 2
            && path.path.segments[path.path.segments.len() - 2].ident == "Tensor" =>
        {
            Kind::Tensor
        }
        Rhs::Passive(p) => constant(&p.expr),
        Rhs::Call { .. } | Rhs::Load { .. } | Rhs::Len(_) | Rhs::Component { .. } => Kind::Scalar,
    }
}

fn mark(v: VarId, kind: Kind, kinds: &mut [Kind]) -> bool {
    let changed = kinds[v] != kind;
    kinds[v] = kind;
    changed
}

/// One pass; whether anything changed. A variable's kind only ever changes from a number to
/// a value kind, so the passes end.
fn pass(block: &Block, kinds: &mut [Kind]) -> bool {
    let mut changed = false;
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                let kind = rhs_kind(rhs, kinds);
                if kinds[*var] == Kind::Scalar && kind.is_value() {
                    changed |= mark(*var, kind, kinds);
                }
            }
            Stmt::Branch { arms, phis, .. } => {
                for arm in arms {
                    changed |= pass(arm, kinds);
                }
                for phi in phis {
                    let kind = phi
                        .srcs
                        .iter()
                        .map(|s| operand_kind(s, kinds))
                        .fold(Kind::Scalar, either);
                    if kinds[phi.var] == Kind::Scalar && kind.is_value() {
                        changed |= mark(phi.var, kind, kinds);
                    }
                }
            }
            Stmt::Loop(l) => {
                for c in &l.carried {
                    let kind = either(
                        either(operand_kind(&c.init, kinds), operand_kind(&c.next, kinds)),
                        kinds[c.header],
                    );
                    if kind.is_value() {
                        changed |= mark(c.header, kind, kinds);
                        changed |= mark(c.exit, kind, kinds);
                    }
                }
                changed |= pass(&l.head, kinds);
                changed |= pass(&l.body, kinds);
            }
            Stmt::Effect { .. } | Stmt::DeclareArray { .. } | Stmt::Store { .. } => {}
        }
    }
    changed
}
