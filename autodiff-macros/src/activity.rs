//! Activity analysis: which variables carry a derivative.
//!
//! A variable is *varied* when it depends on an active parameter through differentiable
//! operations, and *useful* when the result depends on it; it is *active* when both hold
//! (Tapenade's definition). Only active variables get adjoints, so constant parameters and
//! computations that do not reach the result cost nothing in the reverse sweep.
//!
//! Both analyses iterate to a fixed point, so a loop-carried variable that becomes varied in
//! a later iteration (the next stage adds loops) is found without changing this module.
//!
//! This is also where constructs that need a derivative they do not have are reported: an
//! unknown method or macro applied to a varied value whose result is useful.

use crate::errors::Errors;
use crate::ir::*;

pub struct Activity {
    pub active: Vec<bool>,
}

impl Activity {
    pub fn is_active(&self, op: &Operand) -> bool {
        op.var().is_some_and(|v| self.active[v])
    }
}

pub fn analyse(ir: &FnIr, active_params: &[bool], errors: &mut Errors) -> Activity {
    let n = ir.vars.len();
    let mut varied = vec![false; n];
    for (var, active) in ir.params.iter().zip(active_params) {
        varied[*var] = *active;
    }
    while forward(&ir.body, &mut varied) {}

    let mut useful = vec![false; n];
    for op in &ir.result {
        if let Some(v) = op.var() {
            useful[v] = true;
        }
    }
    while backward(&ir.body, &mut useful) {}

    report_missing_derivatives(&ir.body, &varied, &useful, errors);
    let active = varied.iter().zip(&useful).map(|(v, u)| *v && *u).collect();
    Activity { active }
}

fn any_varied(ops: &[Operand], varied: &[bool]) -> bool {
    ops.iter().any(|op| op.var().is_some_and(|v| varied[v]))
}

/// The operands a derivative flows into, for usefulness. Opaque passives are included so
/// that a missing derivative on a useful value can be reported.
fn derivative_operands(rhs: &Rhs) -> Vec<&Operand> {
    match rhs {
        Rhs::Use(a) | Rhs::Neg(a) => vec![a],
        Rhs::Cast { arg, .. } => vec![arg],
        Rhs::Arith(_, a, b) => vec![a, b],
        Rhs::Prim { prim, args, .. } => prim
            .rules
            .iter()
            .filter_map(|r| args.get(r.operand))
            .collect(),
        Rhs::Call { args, .. } => args.iter().collect(),
        Rhs::Passive(_) => Vec::new(),
    }
}

fn is_varied(rhs: &Rhs, varied: &[bool]) -> bool {
    match rhs {
        Rhs::Passive(_) => false,
        other => derivative_operands(other)
            .iter()
            .any(|op| op.var().is_some_and(|v| varied[v])),
    }
}

/// One forward pass; returns whether anything changed.
fn forward(block: &Block, varied: &mut [bool]) -> bool {
    let mut changed = false;
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                if !varied[*var] && is_varied(rhs, varied) {
                    varied[*var] = true;
                    changed = true;
                }
            }
            Stmt::Branch { arms, phis, .. } => {
                for arm in arms {
                    changed |= forward(arm, varied);
                }
                for phi in phis {
                    if !varied[phi.var] && any_varied(&phi.srcs, varied) {
                        varied[phi.var] = true;
                        changed = true;
                    }
                }
            }
            Stmt::Effect { .. } => {}
        }
    }
    changed
}

fn mark(op: &Operand, useful: &mut [bool], changed: &mut bool) {
    if let Some(v) = op.var() {
        if !useful[v] {
            useful[v] = true;
            *changed = true;
        }
    }
}

/// One backward pass; returns whether anything changed.
fn backward(block: &Block, useful: &mut [bool]) -> bool {
    let mut changed = false;
    for stmt in block.stmts.iter().rev() {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                if !useful[*var] {
                    continue;
                }
                for op in derivative_operands(rhs) {
                    mark(op, useful, &mut changed);
                }
                if let Rhs::Passive(Passive {
                    uses,
                    kind: PassiveKind::Opaque { .. },
                    ..
                }) = rhs
                {
                    for v in uses {
                        mark(&Operand::Var(*v), useful, &mut changed);
                    }
                }
            }
            Stmt::Branch { arms, phis, .. } => {
                for phi in phis {
                    if useful[phi.var] {
                        for src in &phi.srcs {
                            mark(src, useful, &mut changed);
                        }
                    }
                }
                for arm in arms.iter().rev() {
                    changed |= backward(arm, useful);
                }
            }
            Stmt::Effect { .. } => {}
        }
    }
    changed
}

fn report_missing_derivatives(
    block: &Block,
    varied: &[bool],
    useful: &[bool],
    errors: &mut Errors,
) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let {
                var,
                rhs: Rhs::Passive(p),
                span,
            } => {
                if let PassiveKind::Opaque { what, fix } = &p.kind {
                    if useful[*var] && p.uses.iter().any(|v| varied[*v]) {
                        errors.at(*span, format!("{what} has no derivative, and here it is applied to a value that depends on an active parameter; {fix}"));
                    }
                }
            }
            Stmt::Let { .. } | Stmt::Effect { .. } => {}
            Stmt::Branch { selector, arms, .. } => {
                if let Selector::Match {
                    scrutinee,
                    pat_spans,
                    ..
                } = selector
                {
                    let scrutinee_varied = scrutinee.var().is_some_and(|v| varied[v]);
                    for (span, arm) in pat_spans.iter().zip(arms) {
                        if scrutinee_varied && arm.bound.iter().any(|v| useful[*v]) {
                            errors.at(*span, "this pattern binds a value that depends on an active parameter, which would lose its derivative; match on a constant, or bind the value with `let` before the `match`");
                        }
                    }
                }
                for arm in arms {
                    report_missing_derivatives(arm, varied, useful, errors);
                }
            }
        }
    }
}
