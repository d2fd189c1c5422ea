//! Emission of statements: each statement's forward code and its adjoint, for bindings,
//! buffers, stores, calls and branches (loops are in `loops`).

use super::*;
use crate::forward;

impl Emitter<'_> {
    /// Forward and reverse code of a block. The reverse is in reverse statement order.
    pub(super) fn block(&mut self, block: &Block, ctx: &mut Ctx) -> (TokenStream, TokenStream) {
        let mut forward = vec![TokenStream::new(); block.stmts.len()];
        let mut reverse = TokenStream::new();
        let top_level = std::ptr::eq(block, &self.ir.body);
        let mut stored_from_here = BTreeSet::new();
        for (i, stmt) in block.stmts.iter().enumerate().rev() {
            if top_level {
                stmt.stored_arrays(&mut stored_from_here);
                self.stored = stored_from_here.clone();
            }
            let (f, r) = self.stmt(stmt, ctx);
            forward[i] = f;
            reverse.extend([r]);
        }
        (forward.into_iter().collect(), reverse)
    }

    pub(super) fn stmt(&mut self, stmt: &Stmt, ctx: &mut Ctx) -> (TokenStream, TokenStream) {
        match stmt {
            Stmt::Let { var, rhs, span } => {
                let (mut forward, snapshots) = self.call_snapshots(*var, rhs, ctx);
                forward.extend([self.forward_let(*var, rhs, *span)]);
                let mut reverse = self.finalize(ctx, *var);
                if self.facts.activity.active[*var] && ctx.available(*var) {
                    reverse.extend([self.reverse_let(*var, rhs, *span, &snapshots, ctx)]);
                }
                if self.landmarks && !reverse.is_empty() {
                    let text = format!("adjoint of `{}`", one_line(&forward));
                    let mark = self.landmark(&text);
                    reverse = quote!(#mark #reverse);
                }
                (forward, reverse)
            }
            Stmt::Effect { rebind, stmt } => {
                let binds = rebind.iter().map(|(user, v)| {
                    let name = self.primal(*v);
                    quote!(let #user = ::core::clone::Clone::clone(&#name);)
                });
                let stmt = resolve(self.ir, stmt.to_token_stream());
                (quote!({ #(#binds)* #stmt }), TokenStream::new())
            }
            Stmt::Branch {
                selector,
                arms,
                phis,
                span,
            } => self.branch(selector, arms, phis, *span, ctx),
            Stmt::DeclareArray {
                array, init, vec, ..
            } => self.declare_array(*array, init, *vec, ctx),
            Stmt::Store {
                array,
                index,
                value,
                ..
            } => self.store(*array, index, value, ctx),
            Stmt::Loop(l) => self.loop_stmt(l, ctx),
        }
    }

    /// `let mut buf = vec![v; n]`: the adjoint of `v` is the sum of the buffer's adjoint.
    pub(super) fn declare_array(
        &mut self,
        array: ArrayId,
        init: &ArrayInit,
        vec: bool,
        ctx: &mut Ctx,
    ) -> (TokenStream, TokenStream) {
        let name = self.array(array);
        let content = match init {
            ArrayInit::Repeat { value, len } => {
                let (value, len) = (self.operand(value), self.operand(len));
                quote!(#value; #len)
            }
            ArrayInit::Elements(elements) => {
                let elements = elements.iter().map(|e| self.operand(e));
                quote!(#(#elements),*)
            }
        };
        // The user's element type, where they gave one, keeps the elements' methods resolvable.
        let info = &self.ir.arrays[array];
        let annotation = match (&info.elem, &info.fixed_len, vec) {
            (Some(elem), _, true) => quote!(: ::std::vec::Vec<#elem>),
            (Some(elem), Some(len), false) => quote!(: [#elem; #len]),
            _ => TokenStream::new(),
        };
        let mut forward = if vec {
            quote!(let mut #name #annotation = ::std::vec![#content];)
        } else {
            quote!(let mut #name #annotation = [#content];)
        };
        forward.extend([self.declare_array_adjoint(array)]);
        let mut reverse = TokenStream::new();
        if self.facts.activity.active_arrays[array] {
            let d = naming::array_adjoint(self.ir, array);
            match init {
                ArrayInit::Repeat { value, .. } => {
                    let total = self.fresh_taken();
                    let zero = self.zero_adjoint();
                    reverse
                        .extend([quote!(let #total = #d.iter().fold(#zero, |sum, d| sum + *d);)]);
                    reverse.extend([self.accumulate(ctx, value, total.into_token_stream(), false)]);
                }
                ArrayInit::Elements(elements) => {
                    for (k, e) in elements.iter().enumerate() {
                        let taken = self.fresh_taken();
                        reverse.extend([
                            quote!(let #taken = #d[#k];),
                            self.accumulate(ctx, e, taken.into_token_stream(), false),
                        ]);
                    }
                }
            }
        }
        (forward, reverse)
    }

    /// `x[i] = v`: `v` takes the adjoint of the element it wrote, which the earlier value of
    /// the element never saw, so it is cleared.
    pub(super) fn store(
        &mut self,
        array: ArrayId,
        index: &Operand,
        value: &Operand,
        ctx: &mut Ctx,
    ) -> (TokenStream, TokenStream) {
        let name = self.array(array);
        let (i, v) = (self.operand(index), self.operand(value));
        let forward = quote!(#name[#i] = #v;);
        if !self.facts.activity.active_arrays[array] {
            return (forward, TokenStream::new());
        }
        let d = naming::array_adjoint(self.ir, array);
        let i = self.read(ctx, index);
        let taken = self.fresh_taken();
        let in_place = value
            .var()
            .is_some_and(|v| self.facts.increments.contains_key(&v));
        let zero = self.zero_adjoint();
        let mut reverse = if in_place {
            // The load it updates would add the same adjoint back (see `increments`).
            quote!(let #taken = #d[#i];)
        } else {
            quote! {
                let #taken = #d[#i];
                #d[#i] = #zero;
            }
        };
        reverse.extend([self.accumulate(ctx, value, taken.into_token_stream(), false)]);
        (forward, reverse)
    }

    pub(super) fn forward_let(&self, var: VarId, rhs: &Rhs, span: Span) -> TokenStream {
        self.binding(var, rhs, span, true)
    }

    /// The `let` of a binding; `typed_like` ties a new version of an untyped variable to the
    /// version it replaces (not possible where that version is out of scope: a recomputation
    /// in the adjoint).
    pub(super) fn binding(
        &self,
        var: VarId,
        rhs: &Rhs,
        span: Span,
        typed_like: bool,
    ) -> TokenStream {
        let name = self.primal(var);
        let value = match rhs {
            Rhs::Use(a) => self.value(a),
            Rhs::Neg(a) => {
                let a = self.maybe_borrowed(a);
                quote!(-#a)
            }
            // nalgebra multiplies by a number of a type parameter on the right only
            // (`v * s`, not `s * v`, which Rust's rules give to the number's own type).
            Rhs::Arith(ArithOp::Mul, a, b)
                if matches!(self.ir.numbers, Numbers::Generic(_))
                    && !self.is_value(a)
                    && self.is_value(b) =>
            {
                forward::arith(ArithOp::Mul, self.maybe_borrowed(b), self.maybe_borrowed(a))
            }
            Rhs::Arith(op, a, b) => {
                forward::arith(*op, self.maybe_borrowed(a), self.maybe_borrowed(b))
            }
            Rhs::Prim {
                form, args, refs, ..
            } => {
                let number_method = match form {
                    CallForm::Method(method) if self.ir.real_field && !self.is_value(&args[0]) => {
                        Some(method)
                    }
                    _ => None,
                };
                let args: Vec<TokenStream> = args
                    .iter()
                    .zip(refs)
                    .enumerate()
                    .map(|(i, (a, by_ref))| {
                        // Tensor and nalgebra methods take their values by reference, however the user wrote them.
                        let borrow = *by_ref || (i > 0 && self.is_value(a));
                        let a = self.operand(a);
                        if borrow {
                            quote!(&#a)
                        } else {
                            a
                        }
                    })
                    .collect();
                match number_method {
                    Some(method) => forward::float_method_call(method, args, &self.rt),
                    None => forward::prim_call(form, args),
                }
            }
            // `T::from(x).unwrap()` of an active `x`, which is a `T` already: `x` itself. A
            // conversion would keep only the value of a dual number, not its tangent.
            Rhs::Cast { arg, ty }
                if self.ir.numbers.is_generic(ty) && self.facts.activity.is_active(arg) =>
            {
                self.operand(arg)
            }
            Rhs::Cast { arg, ty } if self.ir.numbers.is_generic(ty) => {
                // `as` does not convert into a type parameter.
                let (arg, rt) = (self.operand(arg), &self.rt);
                quote!(#rt::cast::<#ty, _>(#arg))
            }
            Rhs::Cast { arg, ty } => {
                let arg = self.operand(arg);
                quote!(#arg as #ty)
            }
            Rhs::Call { callee, args, .. } if self.ir.twin && !self.facts.activity.active[var] => {
                self.call_at_float_type(callee, args)
            }
            Rhs::Call { callee, args, .. } => {
                let args = args.iter().map(|a| self.call_arg(a, None));
                match callee {
                    Callee::Function(path) => quote_spanned!(span=> #path(#(#args),*)),
                    Callee::SelfMethod(method) => quote_spanned!(span=> self.#method(#(#args),*)),
                }
            }
            Rhs::Passive(p) => resolve(self.ir, p.expr.to_token_stream()),
            Rhs::Load {
                array,
                index,
                guard,
            } => {
                let (array, index) = (self.array(*array), self.operand(index));
                // Any value where the loop did not run: nothing reads it.
                let unused = match &self.ir.numbers {
                    Numbers::Literal => quote!(::core::default::Default::default()),
                    numbers => numbers.zero().into_token_stream(),
                };
                forward::load(self.ir, &array, index, guard.as_ref(), unused)
            }
            Rhs::Len(array) => {
                let array = self.array(*array);
                quote!(#array.len())
            }
            Rhs::Component {
                of,
                index,
                tuple,
                field,
            } => forward::component(&self.primal(*of), *index, *tuple, field.as_ref()),
        };
        let info = &self.ir.vars[var];
        match (&info.ty, info.like) {
            (Some(ty), _) => quote!(let #name: #ty = #value;),
            (None, Some(previous)) if typed_like && matches!(rhs, Rhs::Use(_)) => {
                let (rt, previous) = (&self.rt, self.primal(previous));
                quote!(let #name = #rt::like(&#previous, #value);)
            }
            (None, _) => quote!(let #name = #value;),
        }
    }

    /// A call a second-order twin does not differentiate, which may be of a plain helper of
    /// `f64`s: the callee the user named (not its twin), its arguments at their values (arrays
    /// and slices copied), its result back at the twin's number type (see `runtime::twin`).
    fn call_at_float_type(&self, callee: &Callee, args: &[CallArg]) -> TokenStream {
        let untwinned = |ident: &syn::Ident| {
            let name = ident.to_string();
            let name = name.strip_prefix("__").unwrap_or(&name);
            let name = name.strip_suffix("_twin").unwrap_or(name);
            syn::Ident::new(name, ident.span())
        };
        let args = args.iter().map(|a| match a {
            CallArg::Value(op) => {
                let op = self.operand(op);
                quote!((&(#op)).lower_arg())
            }
            CallArg::Ref(op) => {
                let op = self.operand(op);
                quote!(&(&(#op)).lower_arg())
            }
            // A slice or buffer at its values, passed by reference (`&Vec<f64>` coerces to
            // `&[f64]`); a fixed-size array as it was passed.
            CallArg::Array {
                array,
                range: Some(range),
                ..
            } => {
                let part = self.sub_slice(self.array(*array).into_token_stream(), range);
                quote!(&(&#part).lower_arg())
            }
            CallArg::Array { array, by_ref, .. } => {
                let (name, info) = (self.array(*array), &self.ir.arrays[*array]);
                match (info.fixed_len.is_some(), info.reference, by_ref) {
                    (false, ..) => quote!(&(&#name[..]).lower_arg()),
                    (true, true, _) => quote!(&(&*#name).lower_arg()),
                    (true, false, true) => quote!(&(&#name).lower_arg()),
                    (true, false, false) => quote!((&#name).lower_arg()),
                }
            }
        });
        let call = match callee {
            Callee::Function(path) => {
                let mut path = path.clone();
                if let Some(last) = path.path.segments.last_mut() {
                    last.ident = untwinned(&last.ident);
                }
                quote!(#path(#(#args),*))
            }
            Callee::SelfMethod(method) => {
                let method = untwinned(method);
                quote!(self.#method(#(#args),*))
            }
        };
        let number = match &self.ir.numbers {
            Numbers::Generic(n) => n.to_token_stream(),
            Numbers::Literal => quote!(_),
        };
        // The traits are in scope from the `use` the twin's body starts with (see `twin`),
        // which the pullback emits among the body's items.
        quote!((&#call).promote_result::<#number>())
    }

    /// An argument of a call in the forward sweep, or (with the snapshot the forward sweep
    /// took of a buffer it goes on writing) in the adjoint.
    pub(super) fn call_arg(&self, arg: &CallArg, snapshot: Option<&syn::Ident>) -> TokenStream {
        match arg {
            CallArg::Value(Operand::Var(v)) if self.facts.borrowed[*v] => {
                let name = self.primal(*v);
                quote!(&#name)
            }
            CallArg::Value(op) => self.value(op),
            CallArg::Ref(op) => {
                let op = self.operand(op);
                quote!(&#op)
            }
            CallArg::Array {
                array,
                by_ref,
                range,
            } => {
                let name = match snapshot {
                    Some(s) => s.clone(),
                    None => self.array(*array),
                };
                if let Some(range) = range {
                    let part = self.sub_slice(name.into_token_stream(), range);
                    return quote!(&#part);
                }
                if *by_ref {
                    quote!(&#name)
                } else {
                    quote!(#name)
                }
            }
        }
    }

    /// `name[start..start + len]`, a sub-slice passed to a call.
    fn sub_slice(&self, name: TokenStream, (start, len): &(Operand, Operand)) -> TokenStream {
        forward::sub_slice(name, self.operand(start), self.operand(len))
    }

    /// Copies of the buffers an active call reads that the function also writes: the
    /// callee's adjoint must see them as they were at the call.
    pub(super) fn call_snapshots(
        &mut self,
        var: VarId,
        rhs: &Rhs,
        ctx: &mut Ctx,
    ) -> (TokenStream, Vec<Option<syn::Ident>>) {
        let Rhs::Call { args, .. } = rhs else {
            return (TokenStream::new(), Vec::new());
        };
        let mut forward = TokenStream::new();
        let mut snapshots = Vec::new();
        for arg in args {
            match arg {
                CallArg::Array { array, .. }
                    if self.facts.activity.active[var] && self.stored.contains(array) =>
                {
                    let snapshot = self.fresh_taken();
                    let name = self.array(*array);
                    forward.extend([quote!(let #snapshot = ::core::clone::Clone::clone(&#name);)]);
                    ctx.records.push(snapshot.clone());
                    snapshots.push(Some(snapshot));
                }
                _ => snapshots.push(None),
            }
        }
        (forward, snapshots)
    }

    pub(super) fn reverse_let(
        &mut self,
        var: VarId,
        rhs: &Rhs,
        span: Span,
        snapshots: &[Option<syn::Ident>],
        ctx: &mut Ctx,
    ) -> TokenStream {
        if self.uses_tensor_rules(var, rhs) {
            return self.reverse_tensor_let(var, rhs, ctx);
        }
        let d = self.adjoint(var).into_token_stream();
        let rules = self.rules.clone();
        let mut code = TokenStream::new();
        match rhs {
            Rhs::Use(a) => code.extend([self.accumulate(ctx, a, d, false)]),
            Rhs::Neg(a) => code.extend([self.accumulate(ctx, a, d, true)]),
            Rhs::Arith(op, a, b) => match primitives::arithmetic_rules(*op, false) {
                // `+` and `-`: the adjoint passes on, negated for `-b`.
                None => {
                    code.extend([
                        self.accumulate(ctx, a, d.clone(), false),
                        self.accumulate(ctx, b, d, *op == ArithOp::Sub),
                    ]);
                }
                Some(prim) => {
                    let operands = [a.clone(), b.clone()];
                    for (target, func, reads) in self.prim_rules(var, prim, &operands, false, ctx) {
                        let contribution = self.apply_rule(quote!(#rules::#func), &d, &reads);
                        code.extend([self.accumulate(ctx, target, contribution, false)]);
                    }
                }
            },
            Rhs::Prim { prim, args, .. } => {
                for (target, func, reads) in self.prim_rules(var, prim, args, false, ctx) {
                    let contribution = self.apply_rule(quote!(#rules::#func), &d, &reads);
                    code.extend([self.accumulate(ctx, target, contribution, false)]);
                }
            }
            // The identity between values of the float type `T` (see `binding`).
            Rhs::Cast { arg, ty } if self.ir.numbers.is_generic(ty) => {
                code.extend([self.accumulate(ctx, arg, d, false)]);
            }
            Rhs::Cast { arg, .. } => {
                let witness = self.read(ctx, arg);
                code.extend([self.accumulate(
                    ctx,
                    arg,
                    self.apply_rule(quote!(#rules::cast_x), &d, &[witness]),
                    false,
                )]);
            }
            Rhs::Call {
                callee,
                args,
                spans,
            } => {
                code.extend([self.reverse_call(var, callee, args, spans, span, snapshots, d, ctx)])
            }
            Rhs::Load {
                array,
                index,
                guard,
            } => {
                let in_place = self.facts.increments.values().any(|l| *l == var);
                let first = self
                    .fused
                    .iter()
                    .any(|(_, f)| f.first_writes.contains(&var));
                if let Some((shifted, k)) = self.shifted_load(var) {
                    // Its element is written at the end of the iteration (`fusion::Shifted`).
                    code.extend([self.gathered(shifted, k, &d)]);
                } else if self.facts.activity.active_arrays[*array] && !in_place {
                    let d_array = naming::array_adjoint(self.ir, *array);
                    let i = self.read(ctx, index);
                    let numbers = &self.ir.numbers;
                    code.extend([match guard {
                        // The element's first contribution (see `Fused::first_writes`).
                        None if first => quote!(#d_array[#i] = #d;),
                        None => numbers.add_to(&quote!(#d_array[#i]), &d, false),
                        // Out of bounds only where the loop did not run, and `d` is zero.
                        Some(_) => {
                            let add = numbers.add_to(&quote!(*slot), &d, false);
                            quote! {
                                if let ::core::option::Option::Some(slot) = #d_array.get_mut(#i) {
                                    #add
                                }
                            }
                        }
                    }]);
                }
            }
            Rhs::Component {
                of, index, tuple, ..
            } => {
                code.extend([self.accumulate_component(ctx, *of, *index, *tuple, d)]);
            }
            Rhs::Passive(_) | Rhs::Len(_) => {}
        }
        code
    }

    /// The adjoint of a call to a differentiated function: its pullback, seeded with the
    /// result's adjoint, then each active argument's gradient entry accumulated.
    #[allow(clippy::too_many_arguments)]
    fn reverse_call(
        &mut self,
        var: VarId,
        callee: &Callee,
        args: &[CallArg],
        spans: &[Span],
        span: Span,
        snapshots: &[Option<syn::Ident>],
        d: TokenStream,
        ctx: &mut Ctx,
    ) -> TokenStream {
        let mut code = TokenStream::new();
        let reads: Vec<TokenStream> = args
            .iter()
            .zip(snapshots)
            .map(|(a, snapshot)| match a {
                CallArg::Value(op) | CallArg::Ref(op) => {
                    self.read(ctx, op);
                    self.call_arg(a, None)
                }
                CallArg::Array { range, .. } => {
                    if let Some((start, len)) = range {
                        self.read(ctx, start);
                        self.read(ctx, len);
                    }
                    self.call_arg(a, snapshot.as_ref())
                }
            })
            .collect();
        let entries: Vec<TokenStream> = args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if self.facts.activity.is_active_arg(a) {
                    naming::call_entry(var, i, spans[i]).into_token_stream()
                } else {
                    quote!(_)
                }
            })
            .collect();
        let call = match callee {
            Callee::Function(path) => {
                let mut path = path.clone();
                if let Some(last) = path.path.segments.last_mut() {
                    last.ident = naming::pullback_fn(&last.ident, last.ident.span());
                }
                quote_spanned!(span=> #path(#(#reads,)* #d))
            }
            Callee::SelfMethod(method) => {
                let pullback = naming::pullback_fn(method, method.span());
                quote_spanned!(span=> self.#pullback(#(#reads,)* #d))
            }
        };
        code.extend([quote!(let (_, (#(#entries,)*)) = #call;)]);
        for (i, (a, arg_span)) in args.iter().zip(spans).enumerate() {
            if !self.facts.activity.is_active_arg(a) {
                continue;
            }
            // Spanned on the argument: a callee that treats this parameter as a
            // constant is reported there.
            let entry = naming::call_entry(var, i, *arg_span);
            match a {
                // A nalgebra value's entry has its type (a point's is a point), its adjoint
                // the adjoint type.
                CallArg::Value(op) | CallArg::Ref(op)
                    if self.facts.kinds[op.var().expect("an active argument")] == Kind::Linalg =>
                {
                    let rt = &self.rt;
                    let take = quote_spanned!(*arg_span=> #rt::linalg_rules::seed_adjoint(#entry));
                    code.extend([self.accumulate(ctx, op, take, false)]);
                }
                CallArg::Value(op) | CallArg::Ref(op) => {
                    let take = match &self.ir.numbers {
                        Numbers::Generic(t) => {
                            quote_spanned!(*arg_span=> ::differentiate::runtime::number_entry::<#t, _>(#entry))
                        }
                        Numbers::Literal => {
                            quote_spanned!(*arg_span=> ::differentiate::runtime::grad_entry(#entry))
                        }
                    };
                    code.extend([self.accumulate(ctx, op, take, false)]);
                }
                CallArg::Array { array, range, .. } => {
                    let d = naming::array_adjoint(self.ir, *array).into_token_stream();
                    let part = match range {
                        Some(range) => self.sub_slice(d, range),
                        None => quote!(#d[..]),
                    };
                    code.extend([quote_spanned!(*arg_span=> ::differentiate::runtime::add_array_entry(&mut #part, #entry);)]);
                }
            }
        }
        code
    }

    pub(super) fn branch(
        &mut self,
        selector: &Selector,
        arms: &[Block],
        phis: &[Phi],
        span: Span,
        ctx: &mut Ctx,
    ) -> (TokenStream, TokenStream) {
        // The phis are defined where the arms join: their adjoints are complete here.
        let mut declare = TokenStream::new();
        for phi in phis {
            declare.extend([self.finalize(ctx, phi.var)]);
        }
        // Reverse each arm first: its reads decide what the forward arm records.
        let mut arm_forward = Vec::new();
        let mut arm_reverse = Vec::new();
        let mut records = Vec::new();
        let mut nested_records = Vec::new();
        let mut touched = BTreeSet::new();
        for (i, arm) in arms.iter().enumerate() {
            let mut defs = BTreeSet::new();
            arm.defs(&mut defs);
            let mut arm_ctx = Ctx::new(defs.clone());
            // The arm's adjoint starts where its forward ended: at the phis.
            let mut reverse = TokenStream::new();
            for phi in phis {
                if self.facts.activity.active[phi.var] && ctx.available(phi.var) {
                    let d = self.value_of_adjoint(phi.var);
                    reverse.extend([self.accumulate(&mut arm_ctx, &phi.srcs[i], d, false)]);
                }
            }
            let (forward, body_reverse) = self.block(arm, &mut arm_ctx);
            reverse.extend([body_reverse]);
            for &v in &arm.bound {
                reverse.extend([self.finalize(&mut arm_ctx, v)]);
            }
            let record: Vec<VarId> = arm_ctx
                .reads
                .iter()
                .copied()
                .filter(|v| defs.contains(v))
                .collect();
            ctx.reads
                .extend(arm_ctx.reads.iter().copied().filter(|v| !defs.contains(v)));
            touched.extend(arm_ctx.touched_outer.iter().copied());
            arm_forward.push(forward);
            arm_reverse.push(reverse);
            records.push(record);
            nested_records.push(arm_ctx.records);
        }

        // Adjoints the arms add to become accumulators before the branch.
        for v in touched {
            if ctx.local.contains(&v) {
                if !ctx.mutable.contains(&v) {
                    declare.extend(self.declare_mutable(ctx, v));
                }
            } else {
                ctx.touched_outer.insert(v);
            }
        }

        let needs_record = arm_reverse.iter().any(|r| !r.is_empty());
        let n = arms.len();
        let record_ident = naming::arm_record(self.records, span);
        self.records += 1;
        if needs_record {
            self.arm_enums.insert(n);
            ctx.records.push(record_ident.clone());
        }
        let enum_ident = naming::arms_enum(n);

        // Forward: every arm yields the phi sources (and the record).
        let phi_names: Vec<syn::Ident> = phis.iter().map(|p| self.primal(p.var)).collect();
        let phi_types: Vec<TokenStream> = phis
            .iter()
            .map(|p| match &self.ir.vars[p.var].ty {
                Some(ty) => ty.to_token_stream(),
                None => quote!(_),
            })
            .collect();
        let mut arm_bodies = Vec::new();
        for (i, forward) in arm_forward.iter().enumerate() {
            let srcs = phis.iter().map(|p| self.value(&p.srcs[i]));
            let record = if needs_record {
                let variant = naming::arm_variant(i);
                let values = records[i].iter().map(|v| self.value(&Operand::Var(*v)));
                let nested = &nested_records[i];
                quote!(#enum_ident::#variant((#(#values,)* #(#nested,)*)),)
            } else {
                TokenStream::new()
            };
            arm_bodies.push(quote!({ #forward (#(#srcs,)* #record) }));
        }
        let dispatch = self.dispatch(selector, &arm_bodies);
        // Trailing commas: a lone record is still a one-element tuple.
        let record_pat = if needs_record {
            quote!(#record_ident,)
        } else {
            TokenStream::new()
        };
        let record_ty = if needs_record {
            quote!(_,)
        } else {
            TokenStream::new()
        };
        let forward = quote! {
            let (#(#phi_names,)* #record_pat): (#(#phi_types,)* #record_ty) = #dispatch;
        };

        // Reverse: the arm that ran replays its adjoint with what it recorded.
        let reverse = if needs_record {
            let cases = arm_reverse.iter().enumerate().map(|(i, reverse)| {
                let variant = naming::arm_variant(i);
                let values = records[i].iter().map(|v| self.primal(*v));
                let nested = &nested_records[i];
                quote!(#enum_ident::#variant((#(#values,)* #(#nested,)*)) => { #reverse })
            });
            quote! {
                #declare
                match #record_ident { #(#cases)* }
            }
        } else {
            declare
        };
        (forward, reverse)
    }

    /// `if`/`match` choosing among `bodies` as the user's code did.
    pub(super) fn dispatch(&self, selector: &Selector, bodies: &[TokenStream]) -> TokenStream {
        forward::dispatch(self.ir, selector, bodies, |op| self.operand(op))
    }
}

/// Replaces the markers of kept user expressions with the generated names.
pub(super) fn resolve(ir: &FnIr, tokens: TokenStream) -> TokenStream {
    forward::resolve(ir, tokens)
}
