//! The adjoint of a loop.
//!
//! ```text
//! forward                                   adjoint
//! let mut h = init;                         let mut d_h = d_exit;
//! [let mut trips = 0;]                      for i in (ITER).rev() {     // or: for _ in 0..trips
//! for i in ITER {                               let (record..) = tape.pop();
//!     body                                      let d_next = d_h; d_h = 0.0;
//!     tape.push((record..));                    (adjoint of body, adding into d_h)
//!     [trips += 1;]                         }
//!     h = next;                             d_init += d_h;
//!     [if stop { break; }]
//! }
//! let exit = h;
//! ```
//!
//! What one iteration records is what its adjoint reads among the values that change from one
//! iteration to the next (the body's variables and the carried headers), except values the
//! adjoint can recompute exactly from what does not change: arithmetic on loop-invariant
//! values, the index of a range loop, and loads from arrays nothing writes from the loop's
//! top-level statement on. A range loop
//! without `break` replays its indices with `.rev()` and records no trip count; a loop whose
//! adjoint reads nothing per iteration has no tape at all. Tapes live at the top of the
//! pullback, one per loop, so the iterations of a nested loop stack up on one tape in the
//! order its adjoint pops them.

use super::*;

impl Emitter<'_> {
    /// Counters run backwards from their exit values: each one read by the adjoint starts at
    /// its exit value before the reverse loop, and steps back at the top of every iteration.
    fn counters_backwards(
        &self,
        counters: &[Counter],
        read: &BTreeSet<VarId>,
        ctx: &mut Ctx,
    ) -> (TokenStream, TokenStream) {
        let (mut start, mut step_back) = (TokenStream::new(), TokenStream::new());
        for counter in counters.iter().filter(|c| read.contains(&c.header)) {
            let (header, exit) = (
                self.primal(counter.header),
                self.read(ctx, &Operand::Var(counter.exit)),
            );
            let step = &counter.step;
            start.extend([quote!(let mut #header = #exit;)]);
            step_back.extend([match counter.op {
                ArithOp::Sub => quote!(#header = #header + #step;),
                _ => quote!(#header = #header - #step;),
            }]);
        }
        (start, step_back)
    }

    pub(super) fn loop_stmt(&mut self, l: &Loop, ctx: &mut Ctx) -> (TokenStream, TokenStream) {
        if let Some(plan) = self.fused.get(&l.id) {
            // Its adjoint runs beside each iteration: nothing to record, nothing to checkpoint.
            return self.fused_loop(l, plan, ctx);
        }
        if let Some(snapshots) = l.checkpoint {
            return self.checkpointed_loop(l, snapshots, ctx);
        }
        let n = self.loops;
        self.loops += 1;
        let range = self.loop_range(l);
        // Replaying the range backwards needs every iteration to have run.
        let replay_range = range.is_some() && l.stop.is_none();

        // Buffers the iteration rewrites and then only reads: saved whole at its end and put
        // back at the start of its adjoint, their loads are loaded again instead of recorded.
        let restored = if replay_range {
            self.restored_buffers(l)
        } else {
            Vec::new()
        };
        let restored_outside = self.restored.clone();
        self.restored.extend(restored.iter().copied());

        // The body's adjoint, with the carried adjoints as accumulators outside it.
        let mut defs = BTreeSet::new();
        l.body.defs(&mut defs);
        let headers: BTreeSet<VarId> = l.carried.iter().map(|c| c.header).collect();
        let mut body_ctx = Ctx::new(defs.clone());
        let (body_forward, iteration_reverse) = self.iteration(l, &mut body_ctx);

        // What changes per iteration, and which of it the adjoint can recompute.
        let mut per_iteration = defs.clone();
        per_iteration.extend(headers.iter().copied());
        if let Some((index, ..)) = &range {
            if !replay_range {
                per_iteration.insert(*index);
            }
        }
        let counters = counters(l, &self.facts.activity.active);
        let mut plan = self.plan_iteration(l, &per_iteration, &body_ctx, &counters, replay_range);
        plan.restored = restored.clone();
        self.restored = restored_outside;
        let mut recompute = TokenStream::new();
        let mut outer_reads = BTreeSet::new();
        for stmt in &l.body.stmts {
            if let Stmt::Let { var, rhs, span } = stmt {
                if plan.recomputed.contains(var) {
                    recompute.extend([self.binding(*var, rhs, *span, false)]);
                    outer_reads.extend(rhs_operands(rhs).into_iter().filter(|v| {
                        !per_iteration.contains(v) || Some(*v) == range.as_ref().map(|r| r.0)
                    }));
                }
            }
        }
        let record = plan.recorded.clone();
        // The rest is read from outside the loop; the replayed index is the loop's own.
        let own_index = range.as_ref().map(|r| r.0);
        let outside = |v: &VarId| !per_iteration.contains(v) && Some(*v) != own_index;
        ctx.reads
            .extend(body_ctx.reads.iter().copied().filter(outside));
        ctx.reads.extend(outer_reads.into_iter().filter(outside));
        if let Some((_, _, uses)) = &range {
            ctx.reads.extend(uses.iter().copied());
        }
        let record_values: Vec<TokenStream> = record
            .iter()
            .map(|v| self.value(&Operand::Var(*v)))
            .chain(body_ctx.records.iter().map(|r| r.into_token_stream()))
            .collect();
        // What the reverse sweep binds them to again (a tensor is pushed as a clone).
        let record_names: Vec<TokenStream> = record
            .iter()
            .map(|v| self.operand(&Operand::Var(*v)))
            .chain(body_ctx.records.iter().map(|r| r.into_token_stream()))
            .collect();
        let taped = !record_values.is_empty();
        let tape = naming::tape(n);
        if taped {
            self.tapes.push(tape.clone());
        }
        let trips = naming::trip_count(n);

        // Forward.
        let mut forward = self.carried_headers(l);
        if !replay_range {
            forward.extend([quote!(let mut #trips = 0usize;)]);
            ctx.records.push(trips.clone());
        }
        let mut iteration_end = TokenStream::new();
        let writer = naming::tape_writer(n);
        if taped && range.is_some() {
            // Into the room the writer reserved: one record per iteration of the range.
            iteration_end.extend([quote!(#writer.push((#(#record_values,)*));)]);
        } else if taped {
            iteration_end.extend([quote!(#tape.push((#(#record_values,)*));)]);
        }
        let mut put_back = TokenStream::new();
        for (k, array) in restored.iter().enumerate() {
            let saved = naming::saved_buffer(n, k);
            let name = self.array(*array);
            self.tapes.push(saved.clone());
            if let Some((_, iter, _)) = &range {
                forward.extend([quote!(#saved.reserve_slices(
                    ::core::iter::Iterator::size_hint(&(#iter)).0,
                    #name.len(),
                );)]);
            }
            iteration_end.extend([quote!(#saved.push_slice(&#name);)]);
            put_back.extend([quote!(#saved.pop_slice(&mut #name);)]);
        }
        if !replay_range {
            iteration_end.extend([quote!(#trips += 1;)]);
        }
        iteration_end.extend([self.carried_next(l)]);
        let looped = self.forward_loop(l, &range, body_forward, iteration_end);
        forward.extend([match &range {
            // A range loop knows how many records it will push.
            Some((_, iter, _)) if taped => quote!({
                let mut #writer = #tape.writer(::core::iter::Iterator::size_hint(&(#iter)).0);
                #looped
            }),
            _ => looped,
        }]);
        forward.extend([self.carried_exits(l)]);

        // Reverse.
        let mut reverse = TokenStream::new();
        reverse.extend([self.carried_adjoints_before(l, &body_ctx, &headers, ctx)]);
        let reader = naming::tape_reader(n);
        let pop = if taped {
            let pattern = record_names.iter();
            quote!(let (#(#pattern,)*) = #reader.pop();)
        } else {
            TokenStream::new()
        };
        let (start_counters, step_back) = self.counters_backwards(&counters, &plan.counters, ctx);
        if self.landmarks {
            let sources = ValueSources::new(self.ir);
            let forward_mark =
                self.landmark(&format!("a loop: {}", plan.describe(self.ir, &sources)));
            let reverse_mark = self.landmark("the loop's adjoint, iterations in reverse order");
            forward = quote!(#forward_mark #forward);
            reverse = quote!(#reverse_mark #reverse);
        }
        reverse.extend([start_counters]);
        let iteration = quote!({ #step_back #pop #put_back #recompute #iteration_reverse });
        let looped = match &range {
            Some((index, iter, _)) if replay_range => {
                let (rows, iteration) = self.row_views(l, &mut plan, iter, iteration);
                let index = self.primal(*index);
                let plain = quote!(for #index in (#iter).rev() #iteration);
                if rows.is_empty() {
                    plain
                } else {
                    let split = self.in_partial_sums(l, &body_ctx.touched_outer, iter, &iteration);
                    let looped = match split {
                        Some((sums, looped)) => {
                            plan.partial_sums = sums;
                            looped
                        }
                        None => plain,
                    };
                    // The rows exist only if the loop runs.
                    quote!(if !::core::ops::Range::is_empty(&(#iter)) { #rows #looped })
                }
            }
            _ => quote!(for _ in 0..#trips #iteration),
        };
        self.plans.push((l.id, plan));
        reverse.extend([if taped {
            quote!({
                let mut #reader = #tape.reader();
                #looped
            })
        } else {
            looped
        }]);
        reverse.extend([self.carried_adjoints_after(l, ctx)]);
        (forward, reverse)
    }

    /// Before a loop's reverse iterations: each carried adjoint starts at its exit's adjoint
    /// (as an accumulator the iterations take from and add to), and the outside adjoints the
    /// iterations add to become accumulators too.
    pub(super) fn carried_adjoints_before(
        &mut self,
        l: &Loop,
        body_ctx: &Ctx,
        headers: &BTreeSet<VarId>,
        ctx: &mut Ctx,
    ) -> TokenStream {
        let mut code = TokenStream::new();
        for c in &l.carried {
            code.extend([self.finalize(ctx, c.exit)]);
            if self.facts.activity.active[c.header] {
                let d_header = self.adjoint(c.header);
                let start = if ctx.available(c.exit) {
                    self.value_of_adjoint(c.exit)
                } else {
                    self.zero_like(ctx, c.exit)
                };
                code.extend([match &self.ir.vars[c.header].ty {
                    Some(ty) => quote!(let mut #d_header: #ty = #start;),
                    None => quote!(let mut #d_header = #start;),
                }]);
                ctx.declared.insert(c.header);
                ctx.mutable.insert(c.header);
            }
        }
        for v in &body_ctx.touched_outer {
            if headers.contains(v) {
                continue;
            }
            if ctx.local.contains(v) {
                if !ctx.mutable.contains(v) {
                    code.extend([self.declare_mutable(ctx, *v)]);
                }
            } else {
                ctx.touched_outer.insert(*v);
            }
        }
        code
    }

    /// After a loop's reverse iterations: each carried adjoint flows into the value the loop
    /// started from.
    pub(super) fn carried_adjoints_after(&mut self, l: &Loop, ctx: &mut Ctx) -> TokenStream {
        let mut code = TokenStream::new();
        for c in &l.carried {
            if self.facts.activity.active[c.header] {
                let d_header = self.adjoint(c.header);
                let taken = self.fresh_taken();
                code.extend([
                    quote!(let #taken = #d_header;),
                    self.accumulate(ctx, &c.init, taken.into_token_stream(), false),
                ]);
            }
        }
        code
    }

    /// A loop whose iterations each run their adjoint right after their forward code (see
    /// [`fusion`]): the carried adjoints start at their exits' adjoints, known before the
    /// loop, and so do the adjoints the iterations add to outside the loop; the reverse sweep
    /// then only adds what the loop accumulated.
    ///
    /// ```text
    /// let mut s = init;                  // forward sweep
    /// let mut d_s = seed * (coefficients known here);
    /// let mut d_w = 0.0;                 // each outside value the iterations add to
    /// for i in ITER {
    ///     body
    ///     { let t = d_s; (adjoint of body from t) }   // d_s itself never changes
    ///     s = next;
    /// }
    /// let exit = s; let taken_s = d_s; let taken_w = d_w;
    ///                                    // reverse sweep
    /// d_init += taken_s; d_w += taken_w;
    /// ```
    fn fused_loop(
        &mut self,
        l: &Loop,
        plan: &fusion::Fused,
        ctx: &mut Ctx,
    ) -> (TokenStream, TokenStream) {
        self.loops += 1;
        let range = self.loop_range(l);
        let mut defs = BTreeSet::new();
        l.body.defs(&mut defs);
        let headers: BTreeSet<VarId> = l.carried.iter().map(|c| c.header).collect();
        let mut body_ctx = Ctx::new(defs);
        let (body_forward, iteration_reverse) = self.iteration(l, &mut body_ctx);

        let mut forward = self.carried_headers(l);
        let mut taken_after = TokenStream::new();
        let mut reverse = TokenStream::new();
        for c in &l.carried {
            reverse.extend([self.finalize(ctx, c.exit)]);
        }
        // The adjoints the iterations add to, declared before the loop and taken after it.
        let mut adds = Vec::new();
        for c in l
            .carried
            .iter()
            .filter(|c| self.facts.activity.active[c.header])
        {
            adds.push((
                c.header,
                self.linear(&plan.exits[&c.header]),
                c.init.clone(),
            ));
        }
        for &v in body_ctx.touched_outer.difference(&headers) {
            let zero = if self.facts.kinds[v] == Kind::Linalg {
                self.zero_like(ctx, v)
            } else {
                self.zero_adjoint()
            };
            adds.push((v, zero, Operand::Var(v)));
        }
        for (v, start, target) in adds {
            let d = self.adjoint(v);
            forward.extend([match &self.ir.vars[v].ty {
                // A point's adjoint is a vector: no annotation.
                Some(_) if self.facts.kinds[v] == Kind::Linalg => quote!(let mut #d = #start;),
                Some(ty) => quote!(let mut #d: #ty = #start;),
                None => quote!(let mut #d = #start;),
            }]);
            let taken = self.fresh_taken();
            taken_after.extend([quote!(let #taken = #d;)]);
            reverse.extend([self.accumulate(ctx, &target, taken.into_token_stream(), false)]);
        }
        let [shifted_before, shifted_aging, shifted_after] = self.shifted_parts(l, plan);
        forward.extend([shifted_before]);
        let iteration_end = self.carried_next(l);
        match self.split_recomputation(l, &range, &body_ctx, &headers, plan) {
            Some((head, recompute)) => {
                // The value's loop as written, then the adjoints' loop, which has no sum
                // running through it and no bounds check, and vectorises.
                forward.extend([self.forward_loop(l, &range, body_forward, iteration_end)]);
                forward
                    .extend([quote!(#head { #recompute { #iteration_reverse #shifted_aging } })]);
            }
            None => {
                let iteration = quote!(#body_forward { #iteration_reverse #shifted_aging });
                forward.extend([self.forward_loop(l, &range, iteration, iteration_end)]);
            }
        }
        forward.extend([shifted_after, self.carried_exits(l), taken_after]);
        if let Some((_, _, uses)) = &range {
            ctx.reads.extend(uses.iter().copied());
        }
        (forward, reverse)
    }

    /// For a fused loop whose sums are all that ties its iterations together, the head of a
    /// second loop and the code that recomputes what each iteration's adjoint reads, so that
    /// the adjoints can run after the value's loop (`None`: keep them in one loop). The
    /// value's loop is a chain of dependent additions the compiler must keep in order; the
    /// adjoints' loop has none, and reads its arrays from windows zipped with the range
    /// (`x_window0[1]` for `x[i + 1]`), indices the compiler knows are in bounds, so it is
    /// vectorised (Rosenbrock's gradient). Split only when that is cheap and safe to repeat:
    /// an ascending range over values the loop does not change, whose loads are all of
    /// arrays read at constant offsets from the index ([`fusion::Shifted`]: the value's loop
    /// has read those very elements, so the windows cover every iteration); a body of
    /// arithmetic and loads only (no stores, branches, inner loops, calls, nor
    /// transcendental functions to compute twice); an adjoint that reads no carried value;
    /// and no adjoint summed across iterations.
    fn split_recomputation(
        &self,
        l: &Loop,
        range: &Option<(VarId, TokenStream, &Vec<VarId>)>,
        body_ctx: &Ctx,
        headers: &BTreeSet<VarId>,
        plan: &fusion::Fused,
    ) -> Option<(TokenStream, TokenStream)> {
        let (index, iter, uses) = range.as_ref()?;
        if plan.shifted.is_empty()
            || uses.iter().any(|v| headers.contains(v))
            || body_ctx.touched_outer.iter().any(|v| !headers.contains(v))
        {
            return None;
        }
        let mut lets = BTreeMap::new();
        for stmt in &l.body.stmts {
            let Stmt::Let { var, rhs, .. } = stmt else {
                return None;
            };
            let repeatable = match rhs {
                Rhs::Load { .. } => true,
                Rhs::Prim { prim, .. } => matches!(prim.name, "powi" | "abs" | "sqrt"),
                _ => arithmetic(rhs),
            };
            if !repeatable {
                return None;
            }
            lets.insert(*var, rhs);
        }
        // What the adjoint reads from the iteration, and what that is computed from.
        let mut needed = BTreeSet::new();
        let mut pending: Vec<VarId> = body_ctx.reads.iter().copied().collect();
        while let Some(v) = pending.pop() {
            if headers.contains(&v) {
                return None;
            }
            if let Some(rhs) = lets.get(&v) {
                if needed.insert(v) {
                    pending.extend(rhs_operands(rhs));
                }
            }
        }
        // Each shifted array's window, and where in it each of its loads is.
        let mut head_iter = iter.clone();
        let mut pattern = self.primal(*index).into_token_stream();
        let mut in_window = BTreeMap::new();
        let rt = &self.rt;
        for shifted in &plan.shifted {
            let window = naming::window(self.ir, shifted.array);
            let lowest = shifted.loads[0].1;
            let width = shifted.delay(shifted.loads.len() - 1) + 1;
            for (k, &(load, _)) in shifted.loads.iter().enumerate() {
                in_window.insert(load, (window.clone(), shifted.delay(k)));
            }
            let array = self.array(shifted.array);
            let offset = proc_macro2::Literal::i64_unsuffixed(lowest);
            head_iter = quote!(::core::iter::Iterator::zip(
                #head_iter,
                #rt::slices::windows_from(&#array[..], &(#iter), #offset, #width)
            ));
            pattern = quote!((#pattern, #window));
        }
        let mut recompute = TokenStream::new();
        for stmt in &l.body.stmts {
            let Stmt::Let { var, rhs, span } = stmt else {
                continue;
            };
            if !needed.contains(var) {
                continue;
            }
            match (rhs, in_window.get(var)) {
                (_, Some((window, at))) => {
                    let name = self.primal(*var);
                    recompute.extend([quote!(let #name = #window[#at];)]);
                }
                // A load from an array without a window would keep its bounds check.
                (Rhs::Load { .. }, None) => return None,
                _ => recompute.extend([self.binding(*var, rhs, *span, false)]),
            }
        }
        Some((quote!(for #pattern in #head_iter), recompute))
    }

    /// The load `var` of a [`fusion::Shifted`] array of a fused loop, with its position.
    pub(super) fn shifted_load(&self, var: VarId) -> Option<(&fusion::Shifted, usize)> {
        self.fused.values().flat_map(|f| &f.shifted).find_map(|s| {
            let k = s.loads.iter().position(|(v, _)| *v == var)?;
            Some((s, k))
        })
    }

    /// The adjoint of a shifted load (see [`fusion::Shifted`]): its contribution `d` waits
    /// for the end of the iteration (the lowest-offset load's) or for a later iteration.
    pub(super) fn gathered(
        &self,
        shifted: &fusion::Shifted,
        k: usize,
        d: &TokenStream,
    ) -> TokenStream {
        let fresh = naming::pending(self.ir, shifted.array, shifted.delay(k), 0);
        quote!(#fresh = #d;)
    }

    /// A fused loop's waiting contributions (see [`fusion::Shifted`]): declared before the loop,
    /// aged at the end of each iteration, and those still waiting added after it to the
    /// elements past the last iteration's lowest-offset load.
    fn shifted_parts(&self, l: &Loop, plan: &fusion::Fused) -> [TokenStream; 3] {
        let mut parts: [TokenStream; 3] = Default::default();
        let LoopKind::Range { index, .. } = &l.kind else {
            return parts;
        };
        if plan.shifted.is_empty() {
            return parts;
        }
        let zero = self.ir.numbers.zero();
        let last = naming::last_index(self.ir, *index);
        let i = self.primal(*index);
        let [before, aging, after] = &mut parts;
        before.extend([quote!(let mut #last = ::core::option::Option::None;)]);
        aging.extend([quote!(#last = ::core::option::Option::Some(#i);)]);
        let numbers = &self.ir.numbers;
        let mut flush = TokenStream::new();
        for shifted in &plan.shifted {
            let d_array = naming::array_adjoint(self.ir, shifted.array);
            // The element of the lowest-offset load, all its contributions at once, oldest
            // (largest delay) first, then this iteration's own.
            let own = naming::pending(self.ir, shifted.array, 0, 0);
            before.extend([quote!(let mut #own = #zero;)]);
            let mut terms: Vec<TokenStream> = (1..shifted.loads.len())
                .rev()
                .map(|k| {
                    let delay = shifted.delay(k);
                    naming::pending(self.ir, shifted.array, delay, delay).into_token_stream()
                })
                .collect();
            terms.push(own.to_token_stream());
            let at = self.primal(shifted.lowest_index);
            if shifted.first {
                aging.extend([quote!(#d_array[#at] = #(#terms)+*;)]);
            } else {
                for t in &terms {
                    aging.extend([numbers.add_to(&quote!(#d_array[#at]), t, false)]);
                }
            }
            aging.extend([quote!(#own = #zero;)]);
            for k in 1..shifted.loads.len() {
                let delay = shifted.delay(k);
                for age in 0..=delay {
                    let slot = naming::pending(self.ir, shifted.array, delay, age);
                    before.extend([quote!(let mut #slot = #zero;)]);
                }
                for age in (1..=delay).rev() {
                    let (older, newer) = (
                        naming::pending(self.ir, shifted.array, delay, age),
                        naming::pending(self.ir, shifted.array, delay, age - 1),
                    );
                    aging.extend([quote!(#older = #newer;)]);
                }
            }
            // Element `last + lowest + e` (e = 1, 2, ..) still waits for what the load
            // `delay` ahead sent `delay - e + 1` iterations ago, oldest (largest delay) first.
            let top = shifted.delay(shifted.loads.len() - 1);
            for e in 1..=top {
                let offset = shifted.loads[0].1 + e as i64;
                let magnitude =
                    proc_macro2::Literal::usize_unsuffixed(offset.unsigned_abs() as usize);
                let at = match offset.signum() {
                    0 => quote!(#last),
                    1 => quote!(#last + #magnitude),
                    _ => quote!(#last - #magnitude),
                };
                for k in (1..shifted.loads.len()).rev() {
                    let delay = shifted.delay(k);
                    if delay >= e {
                        let slot = naming::pending(self.ir, shifted.array, delay, delay - e + 1);
                        flush.extend([numbers.add_to(
                            &quote!(#d_array[#at]),
                            &slot.into_token_stream(),
                            false,
                        )]);
                    }
                }
            }
        }
        after.extend([quote! {
            if let ::core::option::Option::Some(#last) = #last {
                #flush
            }
        }]);
        parts
    }

    /// The adjoint known before a fused loop.
    fn linear(&self, adjoint: &fusion::Linear) -> TokenStream {
        match adjoint {
            fusion::Linear::Seed(k) => self.seed_components[*k].clone(),
            fusion::Linear::Sum(terms) if terms.is_empty() => {
                self.ir.numbers.zero().into_token_stream()
            }
            fusion::Linear::Sum(terms) if terms.len() == 1 => self.linear(&terms[0]),
            fusion::Linear::Sum(terms) => {
                let terms = terms.iter().map(|t| self.linear(t));
                quote!((#(#terms)+*))
            }
            fusion::Linear::Neg(term) => {
                let term = self.linear(term);
                quote!(-(#term))
            }
            fusion::Linear::Scale(term, op, factor) => {
                // The rule of the operand the sum is: `a` in `a * f` and `a / f`.
                let (term, factor) = (self.linear(term), self.operand(factor));
                let prim = primitives::arithmetic_rules(*op, false).expect("`*` or `/`");
                let func = format_ident!("{}", prim.rules[0].func);
                {
                    let rules = &self.rules;
                    quote!(#rules::#func(#term, #factor))
                }
            }
        }
    }

    /// `let mut h = init;` for each carried value.
    pub(super) fn carried_headers(&self, l: &Loop) -> TokenStream {
        let mut code = TokenStream::new();
        for c in &l.carried {
            let header = self.primal(c.header);
            let init = self.value(&c.init);
            code.extend([match &self.ir.vars[c.header].ty {
                Some(ty) => quote!(let mut #header: #ty = #init;),
                None => quote!(let mut #header = #init;),
            }]);
        }
        code
    }

    /// The end of an iteration: `h = next;` for each carried value, then the loop's exit test.
    pub(super) fn carried_next(&self, l: &Loop) -> TokenStream {
        let mut code = self.carried_next_values(l);
        if let Some(stop) = &l.stop {
            let stop = self.operand(stop);
            code.extend([quote!(if #stop { break; })]);
        }
        code
    }

    /// `h = next;` for each carried value.
    pub(super) fn carried_next_values(&self, l: &Loop) -> TokenStream {
        let mut code = TokenStream::new();
        for c in &l.carried {
            if c.next.var() != Some(c.header) {
                let header = self.primal(c.header);
                let next = self.value(&c.next);
                code.extend([quote!(#header = #next;)]);
            }
        }
        code
    }

    /// `let exit = h;` for each carried value, after the loop.
    pub(super) fn carried_exits(&self, l: &Loop) -> TokenStream {
        let mut code = TokenStream::new();
        for c in &l.carried {
            let exit = self.primal(c.exit);
            let header = self.value(&Operand::Var(c.header));
            code.extend([quote!(let #exit = #header;)]);
        }
        code
    }

    /// The body's forward code, and one iteration's adjoint: each carried adjoint is taken
    /// (and cleared) for the value the iteration carried on, then the body's adjoint runs.
    ///
    /// A sum (`s += term`, see `fusion::sums`) has the same adjoint in every iteration, and
    /// what the iteration would add back to it through `s + term` is exactly what it took: its
    /// adjoint is neither cleared nor added to (`constant_adjoints`), which keeps a dependency
    /// chain out of every iteration.
    pub(super) fn iteration(&mut self, l: &Loop, body_ctx: &mut Ctx) -> (TokenStream, TokenStream) {
        let sums: Vec<VarId> = fusion::sums(l, &self.facts.activity)
            .into_iter()
            .filter(|v| self.facts.kinds[*v] == Kind::Scalar)
            .collect();
        self.constant_adjoints.extend(sums.iter().copied());
        let mut reverse = TokenStream::new();
        for c in l
            .carried
            .iter()
            .filter(|c| self.facts.activity.active[c.header])
        {
            let d_header = self.adjoint(c.header);
            let taken = self.fresh_taken();
            reverse.extend([quote!(let #taken = #d_header;)]);
            if !sums.contains(&c.header) {
                let kind = self.facts.kinds[c.header];
                let zero = if kind.is_value() {
                    let rt = &self.rt;
                    let module = syn::Ident::new(kind.rules_module(), Span::call_site());
                    quote!(#rt::#module::zeros_like(&#taken))
                } else {
                    self.ir.numbers.zero().into_token_stream()
                };
                reverse.extend([quote!(#d_header = #zero;)]);
            }
            reverse.extend([self.accumulate(body_ctx, &c.next, taken.into_token_stream(), false)]);
        }
        let (forward, body_reverse) = self.block(&l.body, body_ctx);
        reverse.extend([body_reverse]);
        for v in &sums {
            self.constant_adjoints.remove(v);
        }
        (forward, reverse)
    }

    /// A range loop's index, its range as emitted, and the variables the range reads.
    pub(super) fn loop_range<'l>(
        &self,
        l: &'l Loop,
    ) -> Option<(VarId, TokenStream, &'l Vec<VarId>)> {
        match &l.kind {
            LoopKind::Range { index, iter, uses } => {
                Some((*index, resolve(self.ir, iter.to_token_stream()), uses))
            }
            LoopKind::Conditional => None,
        }
    }

    /// The forward loop: `for index in iter { .. }`, or `loop` with the `while` condition.
    pub(super) fn forward_loop(
        &mut self,
        l: &Loop,
        range: &Option<(VarId, TokenStream, &Vec<VarId>)>,
        body: TokenStream,
        iteration_end: TokenStream,
    ) -> TokenStream {
        match range {
            Some((index, iter, _)) => {
                let index = self.primal(*index);
                quote!(for #index in #iter { #body #iteration_end })
            }
            None => {
                let (head, _) = self.block(&l.head, &mut Ctx::new(BTreeSet::new()));
                let check = match &l.cond {
                    Some(cond) => {
                        let cond = self.operand(cond);
                        quote!(if !#cond { break; })
                    }
                    None => TokenStream::new(),
                };
                quote!(loop { #head #check #body #iteration_end })
            }
        }
    }

    /// The loop's [`TapePlan`], from what one iteration's adjoint reads (`iteration.reads`)
    /// among the values that change per iteration. Such a value is recomputed when it is cheap
    /// and exact to recompute (arithmetic, a cast, a length, a load from an array nothing
    /// writes from the loop on), its own operands then needed in turn; a counter is run
    /// backwards; anything else (a carried value, a transcendental, a value from a nested
    /// branch or loop) is recorded.
    pub(super) fn plan_iteration(
        &self,
        l: &Loop,
        per_iteration: &BTreeSet<VarId>,
        iteration: &Ctx,
        counters: &[Counter],
        replay_range: bool,
    ) -> TapePlan {
        let cheap: BTreeMap<VarId, &Rhs> = l
            .body
            .stmts
            .iter()
            .filter_map(|stmt| match stmt {
                Stmt::Let { var, rhs, .. } => match rhs {
                    _ if arithmetic(rhs) => Some((*var, rhs)),
                    Rhs::Load { array, .. }
                        if !self.stored.contains(array) || self.restored.contains(array) =>
                    {
                        Some((*var, rhs))
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let mut recompute = BTreeSet::new();
        let mut record = BTreeSet::new();
        let mut counters_read = BTreeSet::new();
        let mut pending: Vec<VarId> = iteration
            .reads
            .iter()
            .copied()
            .filter(|v| per_iteration.contains(v))
            .collect();
        while let Some(v) = pending.pop() {
            if recompute.contains(&v) || record.contains(&v) {
                continue;
            }
            if counters.iter().any(|c| c.header == v) {
                counters_read.insert(v);
                continue;
            }
            match cheap.get(&v) {
                Some(rhs) => {
                    recompute.insert(v);
                    pending.extend(
                        rhs_operands(rhs)
                            .into_iter()
                            .filter(|o| per_iteration.contains(o)),
                    );
                }
                None => {
                    record.insert(v);
                }
            }
        }
        TapePlan {
            replayed: match &l.kind {
                LoopKind::Range { index, .. } if replay_range => Some(*index),
                _ => None,
            },
            counts_trips: !replay_range,
            recorded: record.into_iter().collect(),
            inner_records: iteration.records.clone(),
            recomputed: recompute,
            counters: counters_read,
            restored: Vec::new(),
            rows: Vec::new(),
            partial_sums: Vec::new(),
            checkpoint: None,
        }
    }
}

impl Emitter<'_> {
    /// The buffers range loop `l` saves whole at the end of each iteration and puts back at the
    /// start of the iteration's adjoint, instead of recording the elements the adjoint reads.
    /// An iteration that writes a buffer and then reads it many times (ADBench's GMM written
    /// with the points innermost: `x - μ` of every point, then the triangular product reading
    /// each of them once per row) would otherwise record every read.
    ///
    /// A buffer qualifies when it is a local buffer that carries derivatives, the body writes
    /// it only inside nested loops and reads it inside more deeply nested ones (so that its
    /// reads outnumber its writes, and an iteration's work is already of the buffer's size),
    /// and every statement of the body that reads it comes after the last one that writes
    /// it: the buffer as the iteration leaves it is then what every read saw. Putting it back
    /// changes nothing the forward sweep still reads: the forward sweep is over when the
    /// adjoint runs, except in a fused loop, whose buffers that carry derivatives each
    /// iteration overwrites before reading (see `fusion`).
    fn restored_buffers(&self, l: &Loop) -> Vec<ArrayId> {
        if !matches!(l.kind, LoopKind::Range { .. }) || !l.head.stmts.is_empty() {
            return Vec::new();
        }
        let mut written = BTreeSet::new();
        l.body.stored_arrays(&mut written);
        let stmts = &l.body.stmts;
        written
            .into_iter()
            .filter(|&array| {
                let parameter = self
                    .ir
                    .params
                    .iter()
                    .any(|s| matches!(s, ParamSlot::Array(a) if *a == array));
                if parameter || !self.facts.activity.active_arrays[array] {
                    return false;
                }
                let writes = |s: &Stmt| writes_array(s, array);
                let (Some(last_write), Some(first_read)) = (
                    stmts.iter().rposition(writes),
                    stmts.iter().position(|s| reads_array(s, array)),
                ) else {
                    return false;
                };
                // Saving the whole buffer pays when the reads repeat over a loop the writes
                // do not have (the buffer's size is not known here).
                let (mut deepest_read, mut deepest_write) = (0, 0);
                access_depths(&l.body, array, 0, &mut deepest_read, &mut deepest_write);
                first_read > last_write
                    && stmts
                        .iter()
                        .filter(|s| writes(s))
                        .all(|s| matches!(s, Stmt::Loop(_)))
                    && deepest_read > deepest_write
            })
            .collect()
    }
}

/// How many loops deep, at most, a block reads and writes `array` (`depth` for its own
/// statements).
fn access_depths(
    block: &Block,
    array: ArrayId,
    depth: usize,
    deepest_read: &mut usize,
    deepest_write: &mut usize,
) {
    for stmt in &block.stmts {
        match stmt {
            Stmt::Loop(l) => {
                access_depths(&l.head, array, depth + 1, deepest_read, deepest_write);
                access_depths(&l.body, array, depth + 1, deepest_read, deepest_write);
            }
            Stmt::Branch { arms, .. } => {
                for arm in arms {
                    access_depths(arm, array, depth, deepest_read, deepest_write);
                }
            }
            _ => {
                if writes_array(stmt, array) {
                    *deepest_write = (*deepest_write).max(depth);
                }
                if reads_array(stmt, array) {
                    *deepest_read = (*deepest_read).max(depth);
                }
            }
        }
    }
}

/// Whether `stmt` or a statement nested in it stores to `array` or declares it afresh.
fn writes_array(stmt: &Stmt, array: ArrayId) -> bool {
    let mut stored = BTreeSet::new();
    stmt.stored_arrays(&mut stored);
    let mut declares = matches!(stmt, Stmt::DeclareArray { array: a, .. } if *a == array);
    for block in stmt.nested() {
        block.walk(&mut |s| {
            declares |= matches!(s, Stmt::DeclareArray { array: a, .. } if *a == array);
        });
    }
    stored.contains(&array) || declares
}

/// Whether `stmt` or a statement nested in it reads `array` (loads from it, passes it to a
/// call, mentions it in kept code); a store's own target is not a read.
fn reads_array(stmt: &Stmt, array: ArrayId) -> bool {
    let mut reads = false;
    let mut visit = |s: &Stmt| {
        if !matches!(s, Stmt::Store { .. }) {
            let mut mentions = crate::ir::uses::Mentions::default();
            mentions.stmt_shallow(s);
            reads |= mentions.arrays.contains(&array);
        }
    };
    visit(stmt);
    for block in stmt.nested() {
        block.walk(&mut visit);
    }
    reads
}

/// What a taped loop keeps for its adjoint, decided once its iteration's adjoint is known
/// and before the loop's forward and reverse code are written from it.
#[derive(Clone)]
pub struct TapePlan {
    /// The range's index, replayed backwards (`.rev()`) by the adjoint: nothing recorded.
    pub replayed: Option<VarId>,
    /// Whether the trip count is kept (a `while` or `loop`, or a range that may stop early).
    pub counts_trips: bool,
    /// Values pushed on the tape each iteration.
    pub recorded: Vec<VarId>,
    /// Records of the branches and inner loops of the body, pushed with them.
    pub inner_records: Vec<syn::Ident>,
    /// Values the adjoint recomputes from what does not change.
    pub recomputed: BTreeSet<VarId>,
    /// Buffers saved whole at the end of each iteration and put back at the start of its
    /// adjoint (see [`Emitter::restored_buffers`]).
    pub restored: Vec<ArrayId>,
    /// Counters the adjoint runs backwards from their values after the loop.
    pub counters: BTreeSet<VarId>,
    /// Arrays the adjoint indexes (or whose adjoints it indexes) through a row taken once
    /// before the loop (see `reverse::rows`).
    pub rows: Vec<ArrayId>,
    /// Adjoints the iterations only add to, summed in partial sums over blocks of iterations
    /// (see `reverse::partial_sums`).
    pub partial_sums: Vec<VarId>,
    /// For a checkpointed loop, its snapshots: the record is held one iteration at a time.
    pub checkpoint: Option<usize>,
}

impl TapePlan {
    /// One line a reader can check against the generated code: what an iteration records
    /// (with its bytes, where the types are known), recomputes, counts and replays.
    pub fn describe(&self, ir: &FnIr, sources: &ValueSources<'_>) -> String {
        let names = |vars: &mut dyn Iterator<Item = VarId>| {
            vars.map(|v| format!("`{}`", naming::primal(ir, v)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if self.recorded.is_empty() && self.inner_records.is_empty() {
            parts.push("records nothing per iteration".to_string());
        } else {
            let mut what = names(&mut self.recorded.iter().copied());
            if !self.inner_records.is_empty() {
                let inner = format!(
                    "{} record(s) of its branches and inner loops",
                    self.inner_records.len()
                );
                what = if what.is_empty() {
                    inner
                } else {
                    format!("{what} and {inner}")
                };
            }
            let bytes: Option<usize> = self
                .recorded
                .iter()
                .map(|v| sources.byte_size(ir, *v))
                .sum();
            match (bytes, self.inner_records.is_empty()) {
                (Some(b), true) => parts.push(format!("records {what} per iteration ({b} bytes)")),
                _ => parts.push(format!("records {what} per iteration")),
            }
        }
        let arrays = |list: &[ArrayId]| {
            list.iter()
                .map(|a| format!("`{}`", ir.arrays[*a].hint))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.restored.is_empty() {
            parts.push(format!(
                "saves {} whole per iteration and puts it back for the adjoint",
                arrays(&self.restored)
            ));
        }
        if !self.recomputed.is_empty() {
            parts.push(format!(
                "recomputes {}",
                names(&mut self.recomputed.iter().copied())
            ));
        }
        if !self.counters.is_empty() {
            parts.push(format!(
                "runs {} backwards",
                names(&mut self.counters.iter().copied())
            ));
        }
        if let Some(snapshots) = self.checkpoint {
            parts.push(format!(
                "checkpointed: keeps at most {snapshots} snapshots of its state and one iteration's record, running iterations again (binomial schedule)"
            ));
            return parts.join("; ");
        }
        if !self.rows.is_empty() {
            parts.push(format!(
                "indexes {} (or adjoints) through rows checked once",
                arrays(&self.rows)
            ));
        }
        if !self.partial_sums.is_empty() {
            parts.push(format!(
                "sums the adjoints of {} in {} partial sums",
                names(&mut self.partial_sums.iter().copied()),
                super::partial_sums::WIDTH
            ));
        }
        match (self.replayed, self.counts_trips) {
            (Some(i), _) => parts.push(format!("replays `{}` backwards", naming::primal(ir, i))),
            (None, true) => parts.push("keeps its trip count".to_string()),
            (None, false) => {}
        }
        parts.join("; ")
    }
}

/// Where each value's type can be read from, for the bytes a recorded value takes: built once
/// per function, for all its loops' plans.
pub struct ValueSources<'a> {
    /// The value each value is computed from (an operand, a carried value's start).
    from: BTreeMap<VarId, VarId>,
    /// The element type of the array a value is loaded from, where declared.
    loaded: BTreeMap<VarId, &'a syn::Type>,
}

impl<'a> ValueSources<'a> {
    pub fn new(ir: &'a FnIr) -> Self {
        let mut sources = ValueSources {
            from: BTreeMap::new(),
            loaded: BTreeMap::new(),
        };
        ir.body.walk(&mut |stmt| match stmt {
            Stmt::Let {
                var,
                rhs: Rhs::Load { array, .. },
                ..
            } => {
                let elem = ir.arrays[*array].elem.as_ref();
                sources.loaded.extend(elem.map(|ty| (*var, ty)));
            }
            Stmt::Let { var, rhs, .. } => {
                let source = match rhs {
                    Rhs::Use(a) | Rhs::Neg(a) => a.var(),
                    Rhs::Arith(_, a, b) => a.var().or(b.var()),
                    Rhs::Prim { args, .. } => args.first().and_then(Operand::var),
                    _ => None,
                };
                sources.from.extend(source.map(|s| (*var, s)));
            }
            Stmt::Loop(l) => {
                for c in &l.carried {
                    sources.from.extend(c.init.var().map(|s| (c.header, s)));
                }
            }
            _ => {}
        });
        sources
    }

    /// The bytes value `v` takes, where its type is known: declared, or that of the value it
    /// is computed from (the version it replaces, a copy's source, an operand, a carried
    /// value's start).
    fn byte_size(&self, ir: &FnIr, mut v: VarId) -> Option<usize> {
        for _ in 0..ir.vars.len() {
            let var = &ir.vars[v];
            if let Some(ty) = var.ty.as_ref().or(self.loaded.get(&v).copied()) {
                return match quote!(#ty).to_string().as_str() {
                    "f64" | "i64" | "u64" | "usize" | "isize" => Some(8),
                    "f32" | "i32" | "u32" => Some(4),
                    "bool" | "u8" | "i8" => Some(1),
                    _ => None,
                };
            }
            v = var
                .like
                .or(var.copy_of)
                .or_else(|| self.from.get(&v).copied())?;
        }
        None
    }
}

/// A carried integer that steps by a constant each iteration (`k += 1`): the adjoint needs
/// no record of it, as it can run the counter backwards from its value after the loop.
pub(super) struct Counter {
    header: VarId,
    exit: VarId,
    op: ArithOp,
    step: syn::Expr,
}

/// The loop's counters: inactive carried values whose next value is the header plus or minus
/// an integer literal (which makes the step exact and invertible).
fn counters(l: &Loop, active: &[bool]) -> Vec<Counter> {
    let bindings = l.body.own_bindings();
    let is_int = |e: &syn::Expr| {
        matches!(
            e,
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(_),
                ..
            })
        )
    };
    l.carried
        .iter()
        .filter(|c| !active[c.header] && !active[c.exit])
        .filter_map(|c| {
            let mut next = c.next.var()?;
            while let Some(Rhs::Use(Operand::Var(copied))) = bindings.get(&next) {
                next = *copied;
            }
            let (op, step) = match bindings.get(&next)? {
                Rhs::Arith(
                    op @ (ArithOp::Add | ArithOp::Sub),
                    Operand::Var(h),
                    Operand::Const(k),
                ) if *h == c.header && is_int(k) => (*op, k.clone()),
                Rhs::Arith(ArithOp::Add, Operand::Const(k), Operand::Var(h))
                    if *h == c.header && is_int(k) =>
                {
                    (ArithOp::Add, k.clone())
                }
                _ => return None,
            };
            Some(Counter {
                header: c.header,
                exit: c.exit,
                op,
                step,
            })
        })
        .collect()
}

/// A binding of arithmetic on its operands (a copy, negation, cast or length included):
/// cheap to compute again, and to the same bits.
fn arithmetic(rhs: &Rhs) -> bool {
    matches!(
        rhs,
        Rhs::Use(_) | Rhs::Neg(_) | Rhs::Cast { .. } | Rhs::Arith(..) | Rhs::Len(_)
    )
}

/// The variables a recomputable binding reads.
pub(super) fn rhs_operands(rhs: &Rhs) -> Vec<VarId> {
    match rhs {
        Rhs::Use(a) | Rhs::Neg(a) | Rhs::Cast { arg: a, .. } => a.var().into_iter().collect(),
        Rhs::Arith(_, a, b) => a.var().into_iter().chain(b.var()).collect(),
        Rhs::Load { index, guard, .. } => index
            .var()
            .into_iter()
            .chain(guard.iter().flat_map(|g| g.uses.iter().copied()))
            .collect(),
        _ => Vec::new(),
    }
}
