//! Lowering of branches: `if`, `if let` and `match` arms are lowered from the same scopes and
//! joined by phis; patterns bind the values they destructure.
use super::*;

impl Lowerer<'_> {
    /// `if`, `match` and blocks, with `want` value components.
    pub(super) fn lower_structured(
        &mut self,
        expr: &Expr,
        want: usize,
        out: &mut Block,
    ) -> Vec<Operand> {
        match expr {
            Expr::Block(b) => {
                if let Some(label) = &b.label {
                    self.errors.spanned(
                        label,
                        "labelled blocks are not supported in a `#[differentiate]` function; compute the value with `if`/`else`",
                    );
                    // Its `break 'label` would only be reported again.
                    return vec![self.dummy(); want];
                }
                self.lower_stmts(&b.block.stmts, out, want, false)
                    .unwrap_or_else(|| vec![self.dummy(); want])
            }
            Expr::If(i) => {
                if let Expr::Let(l) = &*i.cond {
                    let wildcard: Pat = syn::parse_quote!(_);
                    let arms = vec![
                        (&*l.pat, None, ArmBody::Block(&i.then_branch)),
                        (&wildcard, None, else_body(i)),
                    ];
                    return self.lower_match(&l.expr, arms, want, expr.source_span(), out);
                }
                let cond = self.lower_expr(&i.cond, out);
                let else_arm = match &i.else_branch {
                    Some((_, e)) => ArmSource::Expr(e),
                    None => ArmSource::Empty,
                };
                self.lower_branch(
                    Selector::If(cond),
                    vec![ArmSource::Block(&i.then_branch), else_arm],
                    want,
                    expr.source_span(),
                    out,
                )
            }
            Expr::Match(m) => {
                let arms = m
                    .arms
                    .iter()
                    .map(|arm| {
                        (
                            &arm.pat,
                            arm.guard.as_ref().map(|(_, g)| &**g),
                            ArmBody::Expr(&arm.body),
                        )
                    })
                    .collect();
                self.lower_match(&m.expr, arms, want, expr.source_span(), out)
            }
            _ => vec![self.lower_expr(expr, out); want.max(1)],
        }
    }

    pub(super) fn lower_match(
        &mut self,
        scrutinee: &Expr,
        arms: Vec<(&Pat, Option<&Expr>, ArmBody<'_>)>,
        want: usize,
        span: Span,
        out: &mut Block,
    ) -> Vec<Operand> {
        let scrutinee = self.lower_expr(scrutinee, out);
        let mut pats = Vec::new();
        let mut pat_spans = Vec::new();
        let mut guards = Vec::new();
        let mut sources = Vec::new();
        for (pat, guard, body) in arms {
            let mut renamer = PatternBinder {
                lowerer: self,
                bound: Vec::new(),
            };
            let mut pat = pat.clone();
            pat_spans.push(pat.span());
            renamer.visit_pat_mut(&mut pat);
            let bound = renamer.bound;
            // The guard sees the pattern's bindings.
            self.scopes.push(bound.clone());
            let guard = guard.map(|g| self.rename(g).0);
            self.scopes.pop();
            pats.push(pat);
            guards.push(guard);
            sources.push(ArmSource::MatchArm(body, bound));
        }
        self.lower_branch(
            Selector::Match {
                scrutinee,
                pats,
                pat_spans,
                guards,
            },
            sources,
            want,
            span,
            out,
        )
    }

    /// Lowers each arm from the same scopes, then joins the user variables any arm changed
    /// (and the arms' values) with phis.
    pub(super) fn lower_branch(
        &mut self,
        selector: Selector,
        sources: Vec<ArmSource<'_>>,
        want: usize,
        span: Span,
        out: &mut Block,
    ) -> Vec<Operand> {
        let before = self.scopes.clone();
        self.nesting += 1;
        let mut arms = Vec::new();
        let mut ends: Vec<Scopes> = Vec::new();
        let mut values: Vec<Option<Vec<Operand>>> = Vec::new();
        for source in sources {
            self.scopes = before.clone();
            let mut block = Block::default();
            let value = match source {
                ArmSource::Block(b) => self.lower_stmts(&b.stmts, &mut block, want, false),
                ArmSource::Expr(e) => Some(self.lower_structured_or_expr(e, want, &mut block)),
                ArmSource::Rest(stmts, tail_returns) => {
                    self.lower_stmts(stmts, &mut block, want, tail_returns)
                }
                ArmSource::MatchArm(body, bound) => {
                    block.bound = bound
                        .iter()
                        .filter_map(|l| match l.binding {
                            Binding::Var(v) => Some(v),
                            _ => None,
                        })
                        .collect();
                    self.scopes.push(bound);
                    let value = match body {
                        ArmBody::Expr(e) => {
                            Some(self.lower_structured_or_expr(e, want, &mut block))
                        }
                        ArmBody::Block(b) => self.lower_stmts(&b.stmts, &mut block, want, false),
                        ArmBody::Empty => Some(vec![self.dummy(); want]),
                    };
                    self.scopes.pop();
                    value
                }
                ArmSource::Empty => Some(vec![self.dummy(); want]),
            };
            arms.push(block);
            ends.push(self.scopes.clone());
            values.push(value);
        }

        self.nesting -= 1;
        let mut merged = before.clone();
        let mut phis = Vec::new();
        for (si, scope) in before.iter().enumerate() {
            for (li, local) in scope.iter().enumerate() {
                let bindings: Vec<&Binding> = ends.iter().map(|end| &end[si][li].binding).collect();
                if bindings.iter().all(|b| *b == bindings[0]) {
                    merged[si][li].binding = bindings[0].clone();
                    continue;
                }
                let srcs: Vec<Operand> = bindings
                    .iter()
                    .map(|b| match b {
                        Binding::Var(v) => Operand::Var(*v),
                        _ => self.placeholder(local.ty.as_ref()),
                    })
                    .collect();
                let var = self.ir.new_named_var(&local.name, local.ty.clone(), span);
                phis.push(Phi { var, srcs });
                merged[si][li].binding = Binding::Var(var);
            }
        }
        let mut result = Vec::new();
        for k in 0..want {
            let srcs: Vec<Operand> = values
                .iter()
                .map(|v| {
                    v.as_ref()
                        .and_then(|v| v.get(k).cloned())
                        .unwrap_or_else(|| self.dummy())
                })
                .collect();
            let var = self.ir.new_var("t", None, span);
            phis.push(Phi { var, srcs });
            result.push(Operand::Var(var));
        }
        self.scopes = merged;
        out.stmts.push(Stmt::Branch {
            selector,
            arms,
            phis,
            span,
        });
        result
    }

    pub(super) fn lower_structured_or_expr(
        &mut self,
        expr: &Expr,
        want: usize,
        out: &mut Block,
    ) -> Vec<Operand> {
        if want == 0 {
            self.lower_effect(expr, out);
            Vec::new()
        } else {
            self.lower_expr_n(expr, want, out)
        }
    }
}

pub(super) enum ArmBody<'s> {
    Expr(&'s Expr),
    Block(&'s syn::Block),
    Empty,
}

pub(super) fn else_body(i: &syn::ExprIf) -> ArmBody<'_> {
    match &i.else_branch {
        Some((_, e)) => ArmBody::Expr(e),
        None => ArmBody::Empty,
    }
}
