//! Activity analysis: which variables and arrays carry a derivative.
//!
//! A value is *varied* when it depends on an active parameter through differentiable
//! operations, and *useful* when the result depends on it; it is *active* when both hold
//! (Tapenade's definition). Only active values get adjoints, so constant parameters and
//! computations that do not reach the result cost nothing in the reverse sweep.
//!
//! An array is varied when an active parameter is it or a varied value is stored in it, and
//! useful when a useful value is loaded from it. Both analyses iterate to a fixed point, so a
//! loop-carried variable that becomes varied in a later iteration is found.
//!
//! This is also where constructs that need a derivative they do not have are reported: an
//! unknown method or macro applied to a varied value whose result is useful.

use crate::errors::Errors;
use crate::ir::*;

pub struct Activity {
    pub active: Vec<bool>,
    pub active_arrays: Vec<bool>,
}

impl Activity {
    pub fn is_active(&self, op: &Operand) -> bool {
        op.var().is_some_and(|v| self.active[v])
    }

    pub fn is_active_arg(&self, arg: &CallArg) -> bool {
        match arg {
            CallArg::Value(op) | CallArg::Ref(op) => self.is_active(op),
            CallArg::Array { array, .. } => self.active_arrays[*array],
        }
    }
}

/// Per-variable and per-array flags, for either analysis.
struct Flags {
    vars: Vec<bool>,
    arrays: Vec<bool>,
    changed: bool,
}

impl Flags {
    fn new(ir: &FnIr) -> Self {
        Flags {
            vars: vec![false; ir.vars.len()],
            arrays: vec![false; ir.arrays.len()],
            changed: false,
        }
    }

    fn var(&self, op: &Operand) -> bool {
        op.var().is_some_and(|v| self.vars[v])
    }

    fn set_var(&mut self, v: VarId) {
        if !self.vars[v] {
            self.vars[v] = true;
            self.changed = true;
        }
    }

    fn set_op(&mut self, op: &Operand) {
        if let Some(v) = op.var() {
            self.set_var(v);
        }
    }

    fn set_array(&mut self, a: ArrayId) {
        if !self.arrays[a] {
            self.arrays[a] = true;
            self.changed = true;
        }
    }

    fn arg(&self, arg: &CallArg) -> bool {
        match arg {
            CallArg::Value(op) | CallArg::Ref(op) => self.var(op),
            CallArg::Array { array, .. } => self.arrays[*array],
        }
    }
}

pub fn analyse(ir: &FnIr, active_params: &[bool], errors: &mut Errors) -> Activity {
    let mut varied = Flags::new(ir);
    for (slot, active) in ir.params.iter().zip(active_params) {
        if *active {
            match slot {
                ParamSlot::Var(v) => varied.vars[*v] = true,
                ParamSlot::Array(a) => varied.arrays[*a] = true,
            }
        }
    }
    loop {
        varied.changed = false;
        forward(&ir.body, &mut varied);
        if !varied.changed {
            break;
        }
    }

    let mut useful = Flags::new(ir);
    for op in &ir.result {
        useful.set_op(op);
    }
    loop {
        useful.changed = false;
        backward(&ir.body, &mut useful);
        if !useful.changed {
            break;
        }
    }

    report_missing_derivatives(&ir.body, &varied, &useful, errors);
    let both = |a: &[bool], b: &[bool]| a.iter().zip(b).map(|(x, y)| *x && *y).collect();
    Activity {
        active: both(&varied.vars, &useful.vars),
        active_arrays: both(&varied.arrays, &useful.arrays),
    }
}

/// Whether a binding's value is varied, given its operands'.
fn rhs_varied(rhs: &Rhs, varied: &Flags) -> bool {
    match rhs {
        Rhs::Use(a) | Rhs::Neg(a) | Rhs::Cast { arg: a, .. } => varied.var(a),
        Rhs::Arith(_, a, b) => varied.var(a) || varied.var(b),
        Rhs::Prim { prim, args, .. } => prim
            .rules
            .iter()
            .any(|r| args.get(r.operand).is_some_and(|a| varied.var(a))),
        Rhs::Call { args, .. } => args.iter().any(|a| varied.arg(a)),
        Rhs::Load { array, .. } => varied.arrays[*array],
        Rhs::Component { of, .. } => varied.vars[*of],
        Rhs::Len(_) | Rhs::Passive(_) => false,
    }
}

fn forward(block: &Block, varied: &mut Flags) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                if rhs_varied(rhs, varied) {
                    varied.set_var(*var);
                }
            }
            Stmt::Branch { arms, phis, .. } => {
                for arm in arms {
                    forward(arm, varied);
                }
                for phi in phis {
                    if phi.srcs.iter().any(|s| varied.var(s)) {
                        varied.set_var(phi.var);
                    }
                }
            }
            Stmt::DeclareArray { array, init, .. } => {
                let any = match init {
                    ArrayInit::Repeat { value, .. } => varied.var(value),
                    ArrayInit::Elements(elements) => elements.iter().any(|e| varied.var(e)),
                };
                if any {
                    varied.set_array(*array);
                }
            }
            Stmt::Store { array, value, .. } => {
                if varied.var(value) {
                    varied.set_array(*array);
                }
            }
            Stmt::Loop(l) => {
                for c in &l.carried {
                    if varied.var(&c.init) || varied.var(&c.next) {
                        varied.set_var(c.header);
                        varied.set_var(c.exit);
                    }
                }
                forward(&l.head, varied);
                forward(&l.body, varied);
            }
            Stmt::Effect { .. } => {}
        }
    }
}

fn backward(block: &Block, useful: &mut Flags) {
    for stmt in block.stmts.iter().rev() {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                if !useful.vars[*var] {
                    continue;
                }
                match rhs {
                    Rhs::Use(a) | Rhs::Neg(a) | Rhs::Cast { arg: a, .. } => useful.set_op(a),
                    Rhs::Arith(_, a, b) => {
                        useful.set_op(a);
                        useful.set_op(b);
                    }
                    Rhs::Prim { prim, args, .. } => {
                        for rule in prim.rules {
                            if let Some(a) = args.get(rule.operand) {
                                useful.set_op(a);
                            }
                        }
                    }
                    Rhs::Call { args, .. } => {
                        for arg in args {
                            match arg {
                                CallArg::Value(op) | CallArg::Ref(op) => useful.set_op(op),
                                CallArg::Array { array, .. } => useful.set_array(*array),
                            }
                        }
                    }
                    Rhs::Load { array, .. } => useful.set_array(*array),
                    Rhs::Component { of, .. } => useful.set_var(*of),
                    // Through an opaque value only to report it (see `report_missing_derivatives`).
                    Rhs::Passive(Passive {
                        uses,
                        arrays,
                        kind: PassiveKind::Opaque { .. },
                        ..
                    }) => {
                        for v in uses {
                            useful.set_var(*v);
                        }
                        for a in arrays {
                            useful.set_array(*a);
                        }
                    }
                    Rhs::Passive(_) | Rhs::Len(_) => {}
                }
            }
            Stmt::Branch { arms, phis, .. } => {
                for phi in phis {
                    if useful.vars[phi.var] {
                        for src in &phi.srcs {
                            useful.set_op(src);
                        }
                    }
                }
                for arm in arms.iter().rev() {
                    backward(arm, useful);
                }
            }
            Stmt::DeclareArray { array, init, .. } => {
                if useful.arrays[*array] {
                    match init {
                        ArrayInit::Repeat { value, .. } => useful.set_op(value),
                        ArrayInit::Elements(elements) => {
                            elements.iter().for_each(|e| useful.set_op(e))
                        }
                    }
                }
            }
            Stmt::Store { array, value, .. } => {
                if useful.arrays[*array] {
                    useful.set_op(value);
                }
            }
            Stmt::Loop(l) => {
                for c in &l.carried {
                    if useful.vars[c.exit] {
                        useful.set_var(c.header);
                    }
                    if useful.vars[c.header] {
                        useful.set_op(&c.init);
                        useful.set_op(&c.next);
                    }
                }
                backward(&l.body, useful);
                backward(&l.head, useful);
            }
            Stmt::Effect { .. } => {}
        }
    }
}

fn report_missing_derivatives(block: &Block, varied: &Flags, useful: &Flags, errors: &mut Errors) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let {
                var,
                rhs: Rhs::Passive(p),
                span,
            } => {
                if let PassiveKind::Opaque { what, fix } = &p.kind {
                    let varied_input = p.uses.iter().any(|v| varied.vars[*v])
                        || p.arrays.iter().any(|a| varied.arrays[*a]);
                    if useful.vars[*var] && varied_input {
                        errors.at(*span, format!("{what} has no derivative, and here it is applied to a value that depends on an active parameter; {fix}"));
                    }
                }
            }
            Stmt::Branch { selector, arms, .. } => {
                if let Selector::Match {
                    scrutinee,
                    pat_spans,
                    ..
                } = selector
                {
                    let scrutinee_varied = varied.var(scrutinee);
                    for (span, arm) in pat_spans.iter().zip(arms) {
                        if scrutinee_varied && arm.bound.iter().any(|v| useful.vars[*v]) {
                            errors.at(*span, "this pattern binds a value that depends on an active parameter, which would lose its derivative; match on a constant, or bind the value with `let` before the `match`");
                        }
                    }
                }
                for arm in arms {
                    report_missing_derivatives(arm, varied, useful, errors);
                }
            }
            Stmt::Loop(l) => {
                report_missing_derivatives(&l.head, varied, useful, errors);
                report_missing_derivatives(&l.body, varied, useful, errors);
            }
            _ => {}
        }
    }
}
