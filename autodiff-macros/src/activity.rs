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
//! Varied values also record *which* active parameters they depend on (a bit per parameter),
//! so forward mode knows which entries of a tangent are zero without running the analysis
//! again per input.
//!
//! This is also where constructs that need a derivative they do not have are reported: an
//! unknown method or macro applied to a varied value whose result is useful.

use crate::errors::Errors;
use crate::ir::*;
use crate::kinds::Kind;

pub struct Activity {
    pub active: Vec<bool>,
    pub active_arrays: Vec<bool>,
    /// Per variable, the active parameters it depends on: bit `i` for parameter `i` (the
    /// last bit stands for every parameter from it on).
    varied_by: Vec<Inputs>,
    useful: Vec<bool>,
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

    /// Which variables would be active if parameter `param` were the only active one.
    pub fn active_for(&self, param: usize) -> Vec<bool> {
        let bit = input_bit(param);
        self.varied_by
            .iter()
            .zip(&self.useful)
            .map(|(by, useful)| by & bit != 0 && *useful)
            .collect()
    }

    /// Facts for a variable added after the analysis (by a rewrite that keeps them current):
    /// those of the variable it copies, or none (an integer counter).
    pub fn push_like(&mut self, like: Option<VarId>) {
        let (active, by, useful) = match like {
            Some(v) => (self.active[v], self.varied_by[v], self.useful[v]),
            None => (false, 0, false),
        };
        self.active.push(active);
        self.varied_by.push(by);
        self.useful.push(useful);
    }

    /// An array added after the analysis, active as the values stored in it.
    pub fn push_array(&mut self, active: bool) {
        self.active_arrays.push(active);
    }
}

/// The active parameters a value depends on, a bit each.
type Inputs = u64;

fn input_bit(param: usize) -> Inputs {
    1 << param.min(Inputs::BITS as usize - 1)
}

/// Per-variable and per-array flags, for the useful analysis.
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
}

/// Per-variable and per-array sets of the active parameters they depend on, for the varied
/// analysis.
struct Varied {
    vars: Vec<Inputs>,
    arrays: Vec<Inputs>,
    changed: bool,
}

impl Varied {
    fn var(&self, op: &Operand) -> Inputs {
        op.var().map_or(0, |v| self.vars[v])
    }

    fn arg(&self, arg: &CallArg) -> Inputs {
        match arg {
            CallArg::Value(op) | CallArg::Ref(op) => self.var(op),
            CallArg::Array { array, .. } => self.arrays[*array],
        }
    }

    fn join_var(&mut self, v: VarId, by: Inputs) {
        if self.vars[v] | by != self.vars[v] {
            self.vars[v] |= by;
            self.changed = true;
        }
    }

    fn join_array(&mut self, a: ArrayId, by: Inputs) {
        if self.arrays[a] | by != self.arrays[a] {
            self.arrays[a] |= by;
            self.changed = true;
        }
    }
}

pub fn analyse(ir: &FnIr, active_params: &[bool], kinds: &[Kind], errors: &mut Errors) -> Activity {
    crate::analysis::ran("activity");
    let mut varied = Varied {
        vars: vec![0; ir.vars.len()],
        arrays: vec![0; ir.arrays.len()],
        changed: false,
    };
    for (i, (slot, active)) in ir.params.iter().zip(active_params).enumerate() {
        if *active {
            match slot {
                ParamSlot::Var(v) => varied.vars[*v] |= input_bit(i),
                ParamSlot::Array(a) => varied.arrays[*a] |= input_bit(i),
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

    let report = Report {
        ir,
        kinds,
        varied: &varied,
        useful: &useful,
    };
    report.missing_derivatives(&ir.body, errors);
    let both = |a: &[Inputs], b: &[bool]| a.iter().zip(b).map(|(x, y)| *x != 0 && *y).collect();
    Activity {
        active: both(&varied.vars, &useful.vars),
        active_arrays: both(&varied.arrays, &useful.arrays),
        varied_by: varied.vars,
        useful: useful.vars,
    }
}

/// Whether a binding's value is varied, given its operands'.
fn rhs_varied(rhs: &Rhs, varied: &Varied) -> Inputs {
    match rhs {
        Rhs::Use(a) | Rhs::Neg(a) | Rhs::Cast { arg: a, .. } => varied.var(a),
        Rhs::Arith(_, a, b) => varied.var(a) | varied.var(b),
        Rhs::Prim { prim, args, .. } => prim
            .rules
            .iter()
            .filter_map(|r| args.get(r.operand))
            .fold(0, |by, a| by | varied.var(a)),
        Rhs::Call { args, .. } => args.iter().fold(0, |by, a| by | varied.arg(a)),
        Rhs::Load { array, .. } => varied.arrays[*array],
        Rhs::Component { of, .. } => varied.vars[*of],
        Rhs::Len(_) | Rhs::Passive(_) => 0,
    }
}

fn forward(block: &Block, varied: &mut Varied) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                let by = rhs_varied(rhs, varied);
                varied.join_var(*var, by);
            }
            Stmt::Branch { arms, phis, .. } => {
                for arm in arms {
                    forward(arm, varied);
                }
                for phi in phis {
                    let by = phi.srcs.iter().fold(0, |by, s| by | varied.var(s));
                    varied.join_var(phi.var, by);
                }
            }
            Stmt::DeclareArray { array, init, .. } => {
                let by = match init {
                    ArrayInit::Repeat { value, .. } => varied.var(value),
                    ArrayInit::Elements(elements) => {
                        elements.iter().fold(0, |by, e| by | varied.var(e))
                    }
                };
                varied.join_array(*array, by);
            }
            Stmt::Store { array, value, .. } => {
                let by = varied.var(value);
                varied.join_array(*array, by);
            }
            Stmt::Loop(l) => {
                for c in &l.carried {
                    let by = varied.var(&c.init) | varied.var(&c.next);
                    varied.join_var(c.header, by);
                    varied.join_var(c.exit, by);
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

/// What the missing-derivative report reads.
struct Report<'a> {
    ir: &'a FnIr,
    kinds: &'a [Kind],
    varied: &'a Varied,
    useful: &'a Flags,
}

impl Report<'_> {
    fn missing_derivatives(&self, block: &Block, errors: &mut Errors) {
        let (varied, useful) = (self.varied, self.useful);
        for stmt in &block.stmts {
            match stmt {
                Stmt::Let {
                    var,
                    rhs: Rhs::Passive(p),
                    span,
                } => {
                    if let PassiveKind::Opaque { what, fix } = &p.kind {
                        let varied_input = p.uses.iter().any(|v| varied.vars[*v] != 0)
                            || p.arrays.iter().any(|a| varied.arrays[*a] != 0);
                        if useful.vars[*var] && varied_input {
                            let nalgebra = p.uses.iter().find(|v| self.kinds[**v] == Kind::Linalg);
                            let message = match nalgebra {
                                Some(v) => self.without_nalgebra_rule(what, *v),
                                None => format!("{what} has no derivative, and here it is applied to a value that depends on an active parameter; {fix}"),
                            };
                            errors.at(*span, message);
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
                        let scrutinee_varied = varied.var(scrutinee) != 0;
                        for (span, arm) in pat_spans.iter().zip(arms) {
                            if scrutinee_varied && arm.bound.iter().any(|v| useful.vars[*v]) {
                                errors.at(*span, "this pattern binds a value that depends on an active parameter, which would lose its derivative; match on a constant, or bind the value with `let` before the `match`");
                            }
                        }
                    }
                    for arm in arms {
                        self.missing_derivatives(arm, errors);
                    }
                }
                Stmt::Loop(l) => {
                    self.missing_derivatives(&l.head, errors);
                    self.missing_derivatives(&l.body, errors);
                }
                _ => {}
            }
        }
    }

    /// An operation of a nalgebra value with no rule: named with the value's type where the
    /// code declares it, with the operations that have rules.
    fn without_nalgebra_rule(&self, what: &str, v: VarId) -> String {
        let var = &self.ir.vars[v];
        let mut declared = Some(v);
        while let Some(d) = declared.filter(|d| self.ir.vars[*d].ty.is_none()) {
            declared = self.ir.vars[d].like;
        }
        let ty = declared
            .and_then(|d| self.ir.vars[d].ty.as_ref())
            .map(|ty| {
                format!(
                    "`{}`",
                    quote::ToTokens::to_token_stream(ty)
                        .to_string()
                        .replace(' ', "")
                )
            })
            .unwrap_or_else(|| "a nalgebra type".into());
        format!(
            "{what} of `{}` (of {ty}) has no derivative rule in `#[differentiate]`; the nalgebra operations with rules are `+`, `-`, `*` (by a number, matrix and vector, matrix and matrix, unit quaternion and vector), `/` by a number, unary `-`, `dot`, `norm`, `norm_squared`, `normalize`, `cross`, `transpose`, `component_mul`, `sum`, `determinant`, `try_inverse().unwrap()`, `map` with a closure of one number, `new`, `UnitQuaternion::from_axis_angle` and the components `.x`, `.y`, `.z`, `.w`: compute the value from those",
            var.hint
        )
    }
}
