//! Forward (tangent) mode, for `NAME_grad` of a function of one or two numbers with a loop
//! (the strategy decides: `analysis::Strategy::forward_grad`).
//!
//! Reverse mode costs one backward sweep whatever the number of inputs, but a loop has to
//! record what its adjoint reads and replay it backwards afterwards. With one or two inputs,
//! carrying the derivatives forward beside the values (`∂v/∂(k, c)` for every `v`) costs one
//! or two extra multiply-adds per operation in the same pass, and no memory: what one writes
//! by hand for the sensitivity of a simulation to its parameters. `NAME_vjp` and the pullback
//! stay in reverse mode, so the two modes check each other.
//!
//! The rules are the reverse-mode ones: a rule gives `d·∂f/∂a`; with the tangent of `a` in
//! place of `d` it gives `a`'s term of the tangent, conventions at kinks included.

use super::*;
use proc_macro2::Literal;

/// The body of `NAME_grad` in forward mode, for a function the strategy gives it to (see
/// `analysis::Strategy::forward_grad`).
pub fn grad_body(
    ir: &FnIr,
    facts: &Facts,
    active_params: &[bool],
    runtime: &TokenStream,
) -> TokenStream {
    let activity = &facts.activity;
    let mut inputs = Vec::new();
    // Which values depend on each input: entries of a tangent known to be zero are not
    // computed (`-k` has no derivative in `c`).
    let mut depends = Vec::new();
    for (i, (slot, active)) in ir.params.iter().zip(active_params).enumerate() {
        if let (ParamSlot::Var(v), true) = (slot, active) {
            inputs.push(*v);
            depends.push(activity.active_for(i));
        }
    }
    let no_fused = BTreeMap::new();
    let emitter = Emitter::new(ir, facts, runtime, &no_fused, &[]);
    let width = inputs.len();
    let mut code = emitter.rules_alias();
    code.extend([emitter.bind_params()]);
    // Input k's tangent is the k-th unit vector.
    for (k, &input) in inputs.iter().enumerate() {
        if activity.active[input] {
            let t = naming::tangent(ir, input);
            let (one, zero) = (ir.numbers.one(), ir.numbers.zero());
            let unit = (0..width).map(|j| if j == k { &one } else { &zero });
            code.extend([quote!(let #t = [#(#unit),*];)]);
        }
    }
    let mut tangent = Tangent {
        e: emitter,
        width,
        depends,
    };
    code.extend([tangent.block(&ir.body)]);
    let result = &ir.result[0];
    let value = tangent.e.operand(result);
    let of_result = tangent.of(result);
    let entries: Vec<TokenStream> = (0..width)
        .map(|k| {
            let k = Literal::usize_unsuffixed(k);
            quote!(#of_result[#k])
        })
        .collect();
    let gradient = match entries.as_slice() {
        [one] => one.clone(),
        many => quote!((#(#many,)*)),
    };
    quote! {
        #code
        (#value, #gradient)
    }
}

struct Tangent<'a> {
    e: Emitter<'a>,
    /// How many inputs: the length of every tangent.
    width: usize,
    /// `depends[k][v]`: whether value `v` depends on input `k` (else entry `k` of its tangent
    /// is zero).
    depends: Vec<Vec<bool>>,
}

impl Tangent<'_> {
    /// The tangent of an operand: its variable's, or zeros for a constant or inactive value.
    fn of(&self, op: &Operand) -> TokenStream {
        match op {
            Operand::Var(v) if self.e.facts.activity.active[*v] => {
                naming::tangent(self.e.ir, *v).into_token_stream()
            }
            _ => {
                let width = Literal::usize_unsuffixed(self.width);
                let zero = self.e.ir.numbers.zero();
                quote!([#zero; #width])
            }
        }
    }

    /// Entry `k` of an active operand's tangent; `None` for an inactive one.
    fn entry(&self, op: &Operand, k: usize) -> Option<TokenStream> {
        let v = op
            .var()
            .filter(|v| self.e.facts.activity.active[*v] && self.depends[k][*v])?;
        let (t, k) = (naming::tangent(self.e.ir, v), Literal::usize_unsuffixed(k));
        Some(quote!(#t[#k]))
    }

    fn block(&mut self, block: &Block) -> TokenStream {
        block.stmts.iter().map(|stmt| self.stmt(stmt)).collect()
    }

    fn stmt(&mut self, stmt: &Stmt) -> TokenStream {
        let mut scratch = Ctx::new(BTreeSet::new());
        match stmt {
            Stmt::Let { var, rhs, span } => {
                let mut code = self.e.forward_let(*var, rhs, *span);
                if self.e.facts.activity.active[*var] {
                    let t = naming::tangent(self.e.ir, *var);
                    let entries = (0..self.width).map(|k| self.term(*var, rhs, k));
                    code.extend([quote!(let #t = [#(#entries),*];)]);
                }
                code
            }
            Stmt::Branch {
                selector,
                arms,
                phis,
                ..
            } => self.branch(selector, arms, phis),
            Stmt::Loop(l) => self.forward_loop(l),
            // Arrays here carry no derivative (see `grad_body`): their forward code is all.
            _ => self.e.stmt(stmt, &mut scratch).0,
        }
    }

    /// The terms of entry `k` of `var`'s tangent from the table's rules of `prim`: each rule
    /// applied to its operand's tangent entry in place of the adjoint.
    fn rule_terms(
        &self,
        var: VarId,
        prim: &Primitive,
        args: &[Operand],
        k: usize,
    ) -> Vec<(bool, TokenStream)> {
        let rules = &self.e.rules;
        let mut terms = Vec::new();
        for rule in prim.rules {
            let Some(t) = args.get(rule.operand).and_then(|a| self.entry(a, k)) else {
                continue;
            };
            let func = format_ident!("{}", rule.func);
            let reads = rule.reads.iter().map(|r| match r {
                Read::Operand(i) => self.e.operand(&args[*i]),
                Read::Output => self.e.primal(var).into_token_stream(),
            });
            terms.push((false, quote!(#rules::#func(#t #(, #reads)*))));
        }
        terms
    }

    /// Entry `k` of the tangent of `var = rhs`: the rules applied to the operands' tangents.
    fn term(&self, var: VarId, rhs: &Rhs, k: usize) -> TokenStream {
        let rules = &self.e.rules;
        let operand = |op: &Operand| self.e.operand(op);
        // Terms with their sign: `(subtract, term)`.
        let mut terms: Vec<(bool, TokenStream)> = Vec::new();
        match rhs {
            Rhs::Use(a) => terms.extend(self.entry(a, k).map(|t| (false, t))),
            Rhs::Neg(a) => terms.extend(self.entry(a, k).map(|t| (true, t))),
            Rhs::Arith(op, a, b) => match primitives::arithmetic_rules(*op, false) {
                // `+` and `-`: the tangents pass on, negated for `-b`.
                None => {
                    terms.extend(self.entry(a, k).map(|t| (false, t)));
                    terms.extend(self.entry(b, k).map(|t| (*op == ArithOp::Sub, t)));
                }
                Some(prim) => terms.extend(self.rule_terms(var, prim, &[a.clone(), b.clone()], k)),
            },
            Rhs::Prim { prim, args, .. } => terms.extend(self.rule_terms(var, prim, args, k)),
            Rhs::Cast { arg, ty } if self.e.ir.numbers.is_generic(ty) => {
                terms.extend(self.entry(arg, k).map(|t| (false, t)));
            }
            Rhs::Cast { arg, .. } => {
                if let Some(t) = self.entry(arg, k) {
                    // Forward, the tangent converts to the cast's own type (its value names it).
                    let witness = operand(&Operand::Var(var));
                    terms.push((false, quote!(#rules::cast_x(#t, #witness))));
                }
            }
            // Loads from arrays without derivatives, lengths, passive values: no tangent
            // (calls are excluded by `grad_body`).
            _ => {}
        }
        let mut sum = TokenStream::new();
        for (i, (subtract, term)) in terms.into_iter().enumerate() {
            sum.extend([match (i, subtract) {
                (0, false) => term,
                (0, true) => quote!(-#term),
                (_, false) => quote!(+ #term),
                (_, true) => quote!(- #term),
            }]);
        }
        if sum.is_empty() {
            self.e.ir.numbers.zero().into_token_stream()
        } else {
            sum
        }
    }

    /// The user's branch, each arm also yielding the tangents of the values it joins.
    fn branch(&mut self, selector: &Selector, arms: &[Block], phis: &[Phi]) -> TokenStream {
        let active: Vec<&Phi> = phis
            .iter()
            .filter(|p| self.e.facts.activity.active[p.var])
            .collect();
        let bodies: Vec<TokenStream> = arms
            .iter()
            .enumerate()
            .map(|(i, arm)| {
                let code = self.block(arm);
                let srcs = phis.iter().map(|p| self.e.value(&p.srcs[i]));
                let tangents = active.iter().map(|p| self.of(&p.srcs[i]));
                quote!({ #code (#(#srcs,)* #(#tangents,)*) })
            })
            .collect();
        let names = phis.iter().map(|p| self.e.primal(p.var));
        let tangent_names = active.iter().map(|p| naming::tangent(self.e.ir, p.var));
        let types = phis.iter().map(|p| match &self.e.ir.vars[p.var].ty {
            Some(ty) => ty.to_token_stream(),
            None => quote!(_),
        });
        let tangent_types = active.iter().map(|_| quote!(_));
        let dispatch = self.e.dispatch(selector, &bodies);
        quote! {
            let (#(#names,)* #(#tangent_names,)*): (#(#types,)* #(#tangent_types,)*) = #dispatch;
        }
    }

    /// The user's loop, carrying each active value's tangent beside it.
    fn forward_loop(&mut self, l: &Loop) -> TokenStream {
        let mut code = self.e.carried_headers(l);
        let mut next = TokenStream::new();
        let mut exits = self.e.carried_exits(l);
        for c in l
            .carried
            .iter()
            .filter(|c| self.e.facts.activity.active[c.header])
        {
            let (header, exit) = (
                naming::tangent(self.e.ir, c.header),
                naming::tangent(self.e.ir, c.exit),
            );
            let (init, step) = (self.of(&c.init), self.of(&c.next));
            code.extend([quote!(let mut #header = #init;)]);
            if c.next.var() != Some(c.header) {
                next.extend([quote!(#header = #step;)]);
            }
            exits.extend([quote!(let #exit = #header;)]);
        }
        next.extend([self.e.carried_next(l)]);
        let body = self.block(&l.body);
        let range = self.e.loop_range(l);
        code.extend([self.e.forward_loop(l, &range, body, next), exits]);
        code
    }
}
