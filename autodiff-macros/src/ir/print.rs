//! A printer for the intermediate form, for stage unit tests and for reading what a stage did:
//! one line per binding, nested blocks indented, variables as `hint_N` and arrays as
//! `hint[N]`, kept user code with its markers named the same way. A variable marked by `mark`
//! is printed with a `*` (the active ones, for the activity analysis).

use super::kept;
use super::*;
use quote::ToTokens;
use std::fmt::Write;

impl FnIr {
    /// The whole function, printed.
    pub fn print(&self) -> String {
        self.print_marked(&|_| false)
    }

    /// The whole function, printed, with `*` after each variable `mark` is true of.
    pub fn print_marked(&self, mark: &dyn Fn(VarId) -> bool) -> String {
        let printer = Printer { ir: self, mark };
        let params: Vec<String> = self
            .params
            .iter()
            .map(|slot| match slot {
                ParamSlot::Var(v) => printer.var(*v),
                ParamSlot::Array(a) => printer.array(*a),
            })
            .collect();
        let result: Vec<String> = self.result.iter().map(|op| printer.operand(op)).collect();
        let mut out = format!("fn({}) -> ({})\n", params.join(", "), result.join(", "));
        printer.block(&self.body, 1, &mut out);
        out
    }
}

struct Printer<'a> {
    ir: &'a FnIr,
    mark: &'a dyn Fn(VarId) -> bool,
}

impl Printer<'_> {
    fn var(&self, v: VarId) -> String {
        let star = if (self.mark)(v) { "*" } else { "" };
        format!("{}_{v}{star}", self.ir.vars[v].hint)
    }

    fn array(&self, a: ArrayId) -> String {
        format!("{}[{a}]", self.ir.arrays[a].hint)
    }

    fn operand(&self, op: &Operand) -> String {
        match op {
            Operand::Var(v) => self.var(*v),
            Operand::Const(c) => self.kept(c.to_token_stream()),
        }
    }

    fn operands(&self, ops: &[Operand]) -> String {
        ops.iter()
            .map(|op| self.operand(op))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Kept user code with its markers named.
    fn kept(&self, tokens: proc_macro2::TokenStream) -> String {
        let named = kept::resolve(
            tokens,
            &|v| {
                Some(quote::format_ident!(
                    "{}_{v}",
                    self.ir.vars[v].hint.trim_start_matches('#')
                ))
            },
            &|a| Some(quote::format_ident!("{}_a{a}", self.ir.arrays[a].hint)),
        );
        named.to_string()
    }

    fn rhs(&self, rhs: &Rhs) -> String {
        match rhs {
            Rhs::Use(a) => self.operand(a),
            Rhs::Neg(a) => format!("-{}", self.operand(a)),
            Rhs::Arith(op, a, b) => {
                let op = match op {
                    ArithOp::Add => "+",
                    ArithOp::Sub => "-",
                    ArithOp::Mul => "*",
                    ArithOp::Div => "/",
                };
                format!("{} {op} {}", self.operand(a), self.operand(b))
            }
            Rhs::Prim { prim, args, .. } => format!("{}({})", prim.name, self.operands(args)),
            Rhs::Cast { arg, ty } => format!("{} as {}", self.operand(arg), ty.to_token_stream()),
            Rhs::Call { callee, args, .. } => {
                let callee = match callee {
                    Callee::Function(path) => path.to_token_stream().to_string(),
                    Callee::SelfMethod(m) => format!("self.{m}"),
                };
                let args: Vec<String> = args
                    .iter()
                    .map(|arg| match arg {
                        CallArg::Value(op) => self.operand(op),
                        CallArg::Ref(op) => format!("&{}", self.operand(op)),
                        CallArg::Array { array, .. } => self.array(*array),
                    })
                    .collect();
                format!("call {callee}({})", args.join(", "))
            }
            Rhs::Load {
                array,
                index,
                guard,
            } => {
                let guard = if guard.is_some() { " (guarded)" } else { "" };
                format!("{}[{}]{guard}", self.array(*array), self.operand(index))
            }
            Rhs::Component { of, index, .. } => format!("{}.{index}", self.var(*of)),
            Rhs::Len(a) => format!("len {}", self.array(*a)),
            Rhs::Passive(p) => {
                let kind = match &p.kind {
                    PassiveKind::Discrete => "passive",
                    PassiveKind::Opaque { .. } => "opaque",
                };
                format!("{kind} {}", self.kept(p.expr.to_token_stream()))
            }
        }
    }

    fn block(&self, block: &Block, depth: usize, out: &mut String) {
        let pad = "    ".repeat(depth);
        if !block.bound.is_empty() {
            let bound: Vec<String> = block.bound.iter().map(|v| self.var(*v)).collect();
            let _ = writeln!(out, "{pad}bound {}", bound.join(", "));
        }
        for stmt in &block.stmts {
            self.stmt(stmt, depth, out);
        }
    }

    fn stmt(&self, stmt: &Stmt, depth: usize, out: &mut String) {
        let pad = "    ".repeat(depth);
        match stmt {
            Stmt::Let { var, rhs, .. } => {
                let _ = writeln!(out, "{pad}{} = {}", self.var(*var), self.rhs(rhs));
            }
            Stmt::Branch {
                selector,
                arms,
                phis,
                ..
            } => {
                let head = match selector {
                    Selector::If(cond) => format!("if {}", self.operand(cond)),
                    Selector::Match { scrutinee, .. } => {
                        format!("match {}", self.operand(scrutinee))
                    }
                };
                let _ = writeln!(out, "{pad}{head}");
                for (i, arm) in arms.iter().enumerate() {
                    let _ = writeln!(out, "{pad}  arm {i}:");
                    self.block(arm, depth + 1, out);
                }
                for phi in phis {
                    let _ = writeln!(
                        out,
                        "{pad}  {} = phi({})",
                        self.var(phi.var),
                        self.operands(&phi.srcs)
                    );
                }
            }
            Stmt::DeclareArray { array, init, .. } => {
                let init = match init {
                    ArrayInit::Repeat { value, len } => {
                        format!("[{}; {}]", self.operand(value), self.operand(len))
                    }
                    ArrayInit::Elements(elements) => format!("[{}]", self.operands(elements)),
                };
                let _ = writeln!(out, "{pad}{} = {init}", self.array(*array));
            }
            Stmt::Store {
                array,
                index,
                value,
            } => {
                let _ = writeln!(
                    out,
                    "{pad}{}[{}] := {}",
                    self.array(*array),
                    self.operand(index),
                    self.operand(value)
                );
            }
            Stmt::Loop(l) => self.loop_(l, depth, out),
            Stmt::Effect { stmt, .. } => {
                let _ = writeln!(out, "{pad}effect {}", self.kept(stmt.to_token_stream()));
            }
        }
    }

    fn loop_(&self, l: &Loop, depth: usize, out: &mut String) {
        let pad = "    ".repeat(depth);
        let head = match &l.kind {
            LoopKind::Range { index, iter, .. } => {
                format!(
                    "for {} in {}",
                    self.var(*index),
                    self.kept(iter.to_token_stream())
                )
            }
            LoopKind::Conditional => "loop".to_string(),
        };
        let _ = writeln!(out, "{pad}{head}  [loop {}]", l.id.0);
        for c in &l.carried {
            let _ = writeln!(
                out,
                "{pad}  carried {} = {} then {}, exit {}",
                self.var(c.header),
                self.operand(&c.init),
                self.operand(&c.next),
                self.var(c.exit)
            );
        }
        if let Some(cond) = &l.cond {
            let _ = writeln!(out, "{pad}  while:");
            self.block(&l.head, depth + 1, out);
            let _ = writeln!(out, "{pad}  continues while {}", self.operand(cond));
        }
        if let Some(stop) = &l.stop {
            let _ = writeln!(
                out,
                "{pad}  stops after an iteration where {}",
                self.operand(stop)
            );
        }
        let _ = writeln!(out, "{pad}  do:");
        self.block(&l.body, depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use crate::errors::Errors;
    use crate::{analysis, lower};

    /// `source` lowered and printed, active values starred.
    fn printed(source: &str) -> String {
        let (ir, _, active) = lower::lower_source("", source);
        let values = analysis::values(&ir, &active, &mut Errors::default());
        ir.print_marked(&|v| values.activity.active[v])
    }

    #[test]
    fn lowering_makes_one_binding_per_primitive_and_activity_stars_what_is_active() {
        let printed = printed(
            "fn j(x: f64, n: usize) -> f64 { x.powi(3) + x.powi(2) - 6.0 * x + (n as f64) }",
        );
        let expected = "\
fn(x_0*, n_1) -> (sum_8*)
    powi_2* = powi(x_0*, 3)
    powi_3* = powi(x_0*, 2)
    sum_4* = powi_2* + powi_3*
    prod_5* = 6.0 * x_0*
    diff_6* = sum_4* - prod_5*
    cast_7 = n_1 as f64
    sum_8* = diff_6* + cast_7
";
        assert_eq!(printed, expected, "got:\n{printed}");
    }

    #[test]
    fn a_loop_prints_its_carried_values_and_body() {
        let source = "fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { s += x[i] * x[i]; } s }";
        let printed = lower::lower_source("", source).0.print();
        assert!(printed.contains("for i_"), "{printed}");
        assert!(printed.contains("carried s_"), "{printed}");
        assert!(printed.contains("= x[0][i_"), "{printed}");
    }
}
