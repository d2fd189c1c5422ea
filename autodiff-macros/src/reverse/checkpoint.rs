//! The adjoint of a checkpointed loop (`#[differentiate(checkpoint('label, s))]`): instead of
//! recording every iteration, the forward sweep keeps `s` snapshots of the loop's state (its
//! carried values and the buffers it writes) where the binomial schedule says, and the
//! reverse sweep follows the schedule (`runtime::checkpoint`): it restores snapshots, runs
//! segments forward again, and runs each iteration once more recording what its adjoint
//! reads just before that adjoint.
//!
//! ```text
//! forward                                      reverse
//! let mut h = init;                            let mut d_h = d_exit;
//! let schedule = binomial(n, s);               for action in schedule {
//! for (k, i) in ITER.enumerate() {                 Restore(j)  => (pos, h, buf) = snapshots[j]
//!     if let Some(j) = schedule.snapshot_slot(k)   Snapshot(j) => snapshots[j] = (pos, h, buf)
//!         { snapshots[j] = (k, h, buf) }           Advance(to) => while pos < to { body; h = next; pos += 1 }
//!     body                                         Reverse(k)  => { body; tape.push(record); h = next;
//!     h = next;                                                     let record = tape.pop(); (adjoint of body) }
//! }                                            }
//! let exit = h;                                d_init += d_h;
//! ```
//!
//! The operations and their order are those of the taped loop, so the derivatives are the
//! same bit for bit; the tape holds one iteration's record at a time.

use super::loops::{rhs_operands, ValueSources};
use super::*;

impl Emitter<'_> {
    pub(super) fn checkpointed_loop(
        &mut self,
        l: &Loop,
        snapshots: usize,
        ctx: &mut Ctx,
    ) -> (TokenStream, TokenStream) {
        let n = self.loops;
        self.loops += 1;
        let rt = self.rt.clone();
        let range = self.loop_range(l);

        let mut defs = BTreeSet::new();
        l.body.defs(&mut defs);
        let headers: BTreeSet<VarId> = l.carried.iter().map(|c| c.header).collect();
        let mut body_ctx = Ctx::new(defs.clone());
        let tapes_before = self.tapes.len();
        let (body_forward, iteration_reverse) = self.iteration(l, &mut body_ctx);
        // Inner loops' tapes: a run that is not followed by its adjoint leaves none of its
        // records on them.
        let inner_tapes: Vec<syn::Ident> = self.tapes[tapes_before..].to_vec();

        // What one iteration's adjoint reads, recorded when the iteration runs just before it
        // (the index is bound anew for every run, as a replayed range's is).
        let mut per_iteration = defs.clone();
        per_iteration.extend(headers.iter().copied());
        let plan = self.plan_iteration(l, &per_iteration, &body_ctx, &[], range.is_some());
        let mut recompute = TokenStream::new();
        let mut outer_reads = BTreeSet::new();
        for stmt in &l.body.stmts {
            if let Stmt::Let { var, rhs, span } = stmt {
                if plan.recomputed.contains(var) {
                    recompute.extend([self.binding(*var, rhs, *span, false)]);
                    outer_reads.extend(
                        rhs_operands(rhs)
                            .into_iter()
                            .filter(|v| !per_iteration.contains(v)),
                    );
                }
            }
        }
        let own_index = range.as_ref().map(|r| r.0);
        let outside = |v: &VarId| !per_iteration.contains(v) && Some(*v) != own_index;
        ctx.reads
            .extend(body_ctx.reads.iter().copied().filter(outside));
        ctx.reads.extend(outer_reads.into_iter().filter(outside));
        if let Some((_, _, uses)) = &range {
            ctx.reads.extend(uses.iter().copied());
        }
        let record_values: Vec<TokenStream> = plan
            .recorded
            .iter()
            .map(|v| self.value(&Operand::Var(*v)))
            .chain(body_ctx.records.iter().map(|r| r.into_token_stream()))
            .collect();
        // What the reverse sweep binds them to again (a tensor is pushed as a clone).
        let record_names: Vec<TokenStream> = plan
            .recorded
            .iter()
            .map(|v| self.operand(&Operand::Var(*v)))
            .chain(body_ctx.records.iter().map(|r| r.into_token_stream()))
            .collect();
        let tape = naming::tape(n);
        let taped = !record_values.is_empty();
        if taped {
            self.tapes.push(tape.clone());
        }

        // The loop's state: its carried values and the buffers it writes.
        let mut written = BTreeSet::new();
        l.head.stored_arrays(&mut written);
        l.body.stored_arrays(&mut written);
        let mut state: Vec<syn::Ident> = l.carried.iter().map(|c| self.primal(c.header)).collect();
        let buffers: Vec<syn::Ident> = written.iter().map(|&a| self.array(a)).collect();
        state.extend(buffers.iter().cloned());
        let state_clone = quote!((#(::core::clone::Clone::clone(&#state),)*));
        let schedule = format_ident!("__schedule{}", n);
        let kept = format_ident!("__snapshots{}", n);
        let position = format_ident!("__position{}", n);
        let final_buffers = format_ident!("__final{}", n);

        // One run of an iteration that no adjoint follows.
        let truncations = inner_tapes
            .iter()
            .map(|t| quote!(::differentiate::runtime::tape::Tape::truncate(&mut #t, 0);));
        let values_next = self.carried_next_values(l);
        let truncations: Vec<TokenStream> = truncations.collect();
        let plain_then =
            |then: TokenStream| quote!({ #body_forward #(#truncations)* #values_next #then });
        let plain = plain_then(TokenStream::new());
        let head = match range {
            Some(_) => TokenStream::new(),
            None => self.block(&l.head, &mut Ctx::new(BTreeSet::new())).0,
        };
        // The index of iteration `k`, for a range.
        let index_and_range = range
            .as_ref()
            .map(|(index, iter, _)| (self.primal(*index), iter.clone()));
        let bind_index = |k: TokenStream| match &index_and_range {
            Some((index, iter)) => quote! {
                let #index = ::core::iter::Iterator::nth(&mut (#iter), #k)
                    .expect("differentiate: a checkpointed range ran shorter than its first run");
            },
            None => TokenStream::new(),
        };
        let heap: Vec<TokenStream> = buffers
            .iter()
            .map(|b| quote!(#rt::checkpoint::heap_bytes(&#b)))
            .collect();
        let keep = quote! {
            #kept[__slot] = ::core::option::Option::Some((#position, #state_clone));
        };

        // Forward: the first run, keeping the snapshots the schedule asks for.
        let mut forward = self.carried_headers(l);
        let slots = snapshots.max(1);
        forward.extend([quote! {
            let mut #kept: ::std::vec::Vec<::core::option::Option<_>> =
                (0..#slots).map(|_| ::core::option::Option::None).collect();
        }]);
        let stop = l.stop.as_ref().map(|stop| {
            let stop = self.operand(stop);
            quote!(if #stop { break; })
        });
        // The first run's iteration counts itself, and stops where the loop stops.
        let first_run_iteration = plain_then(quote!(#position += 1; #stop));
        match &range {
            Some((index, iter, _)) => {
                let index = self.primal(*index);
                forward.extend([quote! {
                    let mut #schedule = #rt::checkpoint::Schedule::binomial(
                        ::core::iter::Iterator::size_hint(&(#iter)).0,
                        #slots,
                    );
                    for (#position, #index) in ::core::iter::Iterator::enumerate(#iter) {
                        if let ::core::option::Option::Some(__slot) = #schedule.snapshot_slot(#position) {
                            #keep
                        }
                        #plain
                    }
                }]);
            }
            None => {
                // The trip count is known at the end only: the first run keeps the start, and
                // the schedule starts from there (`Schedule::after_run`).
                let check = l.cond.as_ref().map(|cond| {
                    let cond = self.operand(cond);
                    quote!(if !#cond { break; })
                });
                forward.extend([quote! {
                    let mut #position = 0usize;
                    {
                        let __slot = 0usize;
                        #keep
                    }
                    loop {
                        #head
                        #check
                        #first_run_iteration
                    }
                    let mut #schedule = #rt::checkpoint::Schedule::after_run(#position, #slots);
                }]);
            }
        }
        forward.extend([self.carried_exits(l)]);
        forward
            .extend([quote!(let #final_buffers = (#(::core::clone::Clone::clone(&#buffers),)*);)]);

        // Reverse: the schedule's actions, each iteration's adjoint right after its recorded run.
        let mut reverse = TokenStream::new();
        reverse.extend([self.carried_adjoints_before(l, &body_ctx, &headers, ctx)]);
        let (push, pop) = if taped {
            (
                quote!(#tape.push((#(#record_values,)*));),
                quote!(let (#(#record_names,)*) = #tape.pop();),
            )
        } else {
            (TokenStream::new(), TokenStream::new())
        };
        let restore_state = {
            let parts: Vec<syn::Ident> = (0..state.len())
                .map(|k| format_ident!("__kept{}", k))
                .collect();
            quote! {
                let (__at, (#(#parts,)*)) = ::core::clone::Clone::clone(
                    #kept[__slot].as_ref().expect("differentiate: a checkpoint restored before it was taken"),
                );
                #position = __at;
                #(#state = #parts;)*
            }
        };
        let advance_index = bind_index(position.to_token_stream());
        let reverse_index = bind_index(quote!(__k));
        if self.landmarks {
            let sources = ValueSources::new(self.ir);
            let forward_mark = self.landmark(&format!(
                "a loop checkpointed with {slots} snapshots, each run recording: {}",
                plan.describe(self.ir, &sources)
            ));
            let reverse_mark =
                self.landmark("the checkpointed loop's adjoint: the schedule's actions");
            forward = quote!(#forward_mark #forward);
            reverse = quote!(#reverse_mark #reverse);
        }
        let mut plan = plan;
        plan.checkpoint = Some(slots);
        self.plans.push((l.id, plan));
        reverse.extend([quote! {
            let mut #position = usize::MAX;
            for __action in &mut #schedule {
                match __action {
                    #rt::checkpoint::Action::Restore(__slot) => { #restore_state }
                    #rt::checkpoint::Action::Snapshot(__slot) => { #keep }
                    #rt::checkpoint::Action::Advance(__to) => {
                        while #position < __to {
                            #advance_index
                            #head
                            #plain
                            #position += 1;
                        }
                    }
                    #rt::checkpoint::Action::Reverse(__k) => {
                        #reverse_index
                        #head
                        #body_forward
                        #push
                        #values_next
                        #position = __k + 1;
                        { #pop #recompute #iteration_reverse }
                    }
                }
            }
            #rt::checkpoint::note_snapshots(&#kept, 0 #(+ #heap)*);
            let (#(#buffers,)*) = #final_buffers;
        }]);
        reverse.extend([self.carried_adjoints_after(l, ctx)]);
        (forward, reverse)
    }
}
