//! Walkers over the intermediate form: every statement of a block and of the blocks nested
//! in it, and the operands of a primitive. Stages that only need to visit use these instead of
//! writing the recursion through branches and loops again.

use super::*;

impl Stmt {
    /// The blocks nested directly in this statement: a branch's arms, a loop's head (the
    /// `while` condition) and body.
    pub fn nested(&self) -> Vec<&Block> {
        match self {
            Stmt::Branch { arms, .. } => arms.iter().collect(),
            Stmt::Loop(l) => vec![&l.head, &l.body],
            _ => Vec::new(),
        }
    }

    /// [`Stmt::nested`], to change.
    pub fn nested_mut(&mut self) -> Vec<&mut Block> {
        match self {
            Stmt::Branch { arms, .. } => arms.iter_mut().collect(),
            Stmt::Loop(l) => vec![&mut l.head, &mut l.body],
            _ => Vec::new(),
        }
    }
}

impl Block {
    /// Calls `visit` on every statement of this block and of the blocks nested in it, in
    /// program order, each statement before the blocks it nests.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Stmt)) {
        for stmt in &self.stmts {
            visit(stmt);
            for block in stmt.nested() {
                block.walk(visit);
            }
        }
    }

    /// Whether any statement here or nested satisfies `test`.
    pub fn any(&self, test: &impl Fn(&Stmt) -> bool) -> bool {
        self.stmts
            .iter()
            .any(|stmt| test(stmt) || stmt.nested().iter().any(|b| b.any(test)))
    }
}

impl Rhs {
    /// The operands the primitive reads directly (call arguments passed as values, a load's
    /// index; not arrays, not the variables a kept expression mentions).
    pub fn operands(&self) -> Vec<&Operand> {
        match self {
            Rhs::Use(a) | Rhs::Neg(a) | Rhs::Cast { arg: a, .. } => vec![a],
            Rhs::Arith(_, a, b) => vec![a, b],
            Rhs::Prim { args, .. } => args.iter().collect(),
            Rhs::Call { args, .. } => args
                .iter()
                .flat_map(|arg| match arg {
                    CallArg::Value(op) | CallArg::Ref(op) => vec![op],
                    // A sub-slice's bounds are read like a load's index.
                    CallArg::Array {
                        range: Some((start, len)),
                        ..
                    } => vec![start, len],
                    CallArg::Array { range: None, .. } => Vec::new(),
                })
                .collect(),
            Rhs::Load { index, .. } => vec![index],
            Rhs::Component { .. } | Rhs::Len(_) | Rhs::Passive(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn let_(var: VarId) -> Stmt {
        Stmt::Let {
            var,
            rhs: Rhs::Use(Operand::Var(0)),
            span: Span::call_site(),
        }
    }

    fn block(stmts: Vec<Stmt>) -> Block {
        Block {
            bound: Vec::new(),
            stmts,
        }
    }

    /// `let 1; if { let 2 } else { let 3 }; loop (head: let 4) { let 5; if { let 6 } }; let 7`
    fn nested() -> Block {
        let branch = |arms: Vec<Block>| Stmt::Branch {
            selector: Selector::If(Operand::Var(0)),
            arms,
            phis: Vec::new(),
            span: Span::call_site(),
        };
        let inner = branch(vec![block(vec![let_(6)]), Block::default()]);
        let l = Loop {
            id: LoopId(0),
            kind: LoopKind::Conditional,
            carried: Vec::new(),
            head: block(vec![let_(4)]),
            cond: Some(Operand::Var(4)),
            body: block(vec![let_(5), inner]),
            stop: None,
            checkpoint: None,
        };
        block(vec![
            let_(1),
            branch(vec![block(vec![let_(2)]), block(vec![let_(3)])]),
            Stmt::Loop(Box::new(l)),
            let_(7),
        ])
    }

    #[test]
    fn walk_visits_every_nested_statement_in_program_order() {
        let mut lets = Vec::new();
        nested().walk(&mut |stmt| {
            if let Stmt::Let { var, .. } = stmt {
                lets.push(*var);
            }
        });
        assert_eq!(lets, [1, 2, 3, 4, 5, 6, 7]);
        let mut defs = std::collections::BTreeSet::new();
        nested().defs(&mut defs);
        assert_eq!(defs.into_iter().collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn any_looks_inside_loops_and_arms() {
        let b = nested();
        assert!(b.any(&|s| matches!(s, Stmt::Let { var: 6, .. })));
        assert!(!b.any(&|s| matches!(s, Stmt::Let { var: 8, .. })));
    }

    #[test]
    fn operands_are_the_primitive_inputs() {
        let a = Operand::Var(1);
        let b = Operand::Const(syn::parse_quote!(2.0));
        let rhs = Rhs::Arith(ArithOp::Mul, a, b);
        let ops: Vec<Option<VarId>> = rhs.operands().iter().map(|o| o.var()).collect();
        assert_eq!(ops, [Some(1), None]);
    }
}
