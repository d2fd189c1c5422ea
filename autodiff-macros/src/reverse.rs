//! Reverse mode: the body of `NAME_pullback`, a forward sweep followed by its adjoint.
//!
//! Entry point: [`pullback_body`]. The forward sweep is the lowered function, one `let` per
//! binding. The adjoint walks the same statements backwards: each active binding `v = prim(a,
//! b)` adds `rule(d_v, ..)` to the adjoints of its active operands (the runtime's rules), so a
//! value used several times receives the sum of its contributions.
//!
//! Adjoints are declared at their first contribution (`let mut d_x = ..`), later ones add
//! (`d_x += ..`); an adjoint first reached inside an arm is declared as zero before the
//! branch. A branch's adjoint is a `match` on a record the forward branch returns: which arm
//! ran, and the values computed in that arm that its adjoint reads (no more, which is
//! Tapenade's "to be recorded" rule). The record's type is a local enum whose payload types
//! Rust infers, so nothing is boxed or allocated. Straight-line code therefore turns into
//! straight-line arithmetic the optimiser sees whole.
//!
//! Arrays are locations: a load `t = x[i]` adds `d_t` into the adjoint array `d_x[i]`, a
//! store `x[i] = v` takes `d_x[i]` for `v` and clears it. Loops are reversed in
//! [`loops`]: each iteration pushes its record on a tape, with the same `reads` bookkeeping
//! deciding what is recorded, and the adjoint pops it.

use crate::activity::Activity;
use crate::fusion;
use crate::ir::*;
use crate::kinds::{self, Kind};
use crate::lower::{parse_array_marker, parse_var_marker};
use crate::naming;
use crate::primitives::{Family, Read};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use std::collections::{BTreeMap, BTreeSet};

mod loops;
mod tangent;
mod tensors;

pub use tangent::grad_body as tangent_grad_body;

/// How the seed and the result are shaped.
pub enum Shape {
    Scalar,
    Tuple,
    Array,
}

/// The forward sweep, the adjoint, and what the pullback returns.
pub struct PullbackBody {
    /// Statements computing the value and then the adjoints.
    pub body: TokenStream,
    /// The value, assembled.
    pub value: TokenStream,
    /// The gradient entry of each parameter: its adjoint (zero where none was accumulated)
    /// for an active one, `Constant` for the others.
    pub param_entries: Vec<TokenStream>,
    /// The tapes the loops record on, declared before the forward sweep.
    pub tapes: Vec<syn::Ident>,
    /// Arities of the arm enums the body uses; each needs its local definition.
    pub arm_enums: BTreeSet<usize>,
    /// For a function whose reverse sweep can run several times after one forward sweep (no
    /// loops, tensors or buffers passed to calls: nothing the sweep consumes): the forward
    /// sweep (ending with the value) and the reverse sweep (starting from `seed`, ending with
    /// the parameters' adjoints declared), for `NAME_jacobian`.
    pub sweeps: Option<(TokenStream, TokenStream)>,
}

pub fn pullback_body(
    ir: &FnIr,
    activity: &Activity,
    active_params: &[bool],
    tensor_refs: &[bool],
    shape: &Shape,
    runtime: &TokenStream,
    lanes: Option<(usize, &syn::Type)>,
) -> PullbackBody {
    let kinds = kinds::infer(ir);
    let borrowed = kinds::borrowed(ir, tensor_refs);
    let aggregates = aggregates(&ir.body);
    let fused = fusion::plan(ir, activity, &kinds, &aggregates);
    // The seed flows into the result components.
    let seed = naming::seed();
    let seed_components: Vec<TokenStream> = (0..ir.result.len())
        .map(|k| match (shape, lanes) {
            // `NAME_jacobian`: output k's unit vector.
            (_, Some((m, ty))) => quote!(#runtime::Lanes::<#ty, #m>::unit(#k)),
            (Shape::Scalar, None) => quote!(#seed),
            (Shape::Tuple, None) => {
                let index = syn::Index::from(k);
                quote!(#seed.#index)
            }
            (Shape::Array, None) => quote!(#seed[#k]),
        })
        .collect();
    let lanes = lanes.map(|(m, ty)| quote!(#runtime::Lanes::<#ty, #m>));
    let mut emitter = Emitter::new(ir, activity, runtime, kinds, &fused, &seed_components);
    emitter.borrowed = borrowed;
    emitter.aggregates = aggregates;
    emitter.lanes = lanes;
    let mut ctx = Ctx::new(all_vars(ir));

    let mut forward = emitter.bind_params();
    // Adjoint arrays start at zero, before anything adds to them: those of parameters here,
    // those of local buffers where the buffers are declared (fused loops add to them during
    // the forward sweep).
    for &slot in &ir.params {
        if let ParamSlot::Array(a) = slot {
            forward.extend(emitter.declare_array_adjoint(a));
        }
    }

    // The seed flows into the result components: the adjoint of the last statement.
    let mut seed_flow = TokenStream::new();
    for (op, component) in ir.result.iter().zip(&seed_components) {
        seed_flow.extend(emitter.accumulate(&mut ctx, op, component.clone(), false));
    }
    let (body_forward, mut body_reverse) = emitter.block(&ir.body, &mut ctx);
    forward.extend(body_forward);
    for &slot in &ir.params {
        if let ParamSlot::Var(p) = slot {
            body_reverse.extend(emitter.finalize(&mut ctx, p));
        }
    }

    let components: Vec<TokenStream> = ir.result.iter().map(|op| emitter.operand(op)).collect();
    let value = match shape {
        Shape::Scalar => components.into_iter().next().unwrap_or_default(),
        Shape::Tuple => quote!((#(#components,)*)),
        Shape::Array => quote!([#(#components),*]),
    };
    let value_ident = naming::result_value();
    let sweeps = repeatable(ir, &emitter.kinds).then(|| {
        // Each reverse sweep starts from zeroed adjoint arrays.
        let arrays: TokenStream = (0..ir.arrays.len())
            .map(|a| emitter.declare_array_adjoint(a))
            .collect();
        (
            quote!(#forward let #value_ident = #value;),
            quote!(#arrays #seed_flow #body_reverse),
        )
    });
    let body = quote! {
        #forward
        let #value_ident = #value;
        #seed_flow
        #body_reverse
    };
    let rt = runtime;
    let param_entries = ir
        .params
        .iter()
        .zip(active_params)
        .map(|(&slot, &active)| match (slot, active) {
            (_, false) => quote!(#rt::Constant),
            (ParamSlot::Var(p), true) if ctx.available(p) => {
                naming::adjoint(ir, p).into_token_stream()
            }
            (ParamSlot::Var(p), true) => emitter.zero_like(&mut Ctx::new(BTreeSet::new()), p),
            (ParamSlot::Array(a), true) if activity.active_arrays[a] => {
                naming::array_adjoint(ir, a).into_token_stream()
            }
            (ParamSlot::Array(a), true) => emitter.zero_array(a),
        })
        .collect();
    PullbackBody {
        body,
        value: value_ident.into_token_stream(),
        param_entries,
        tapes: emitter.tapes,
        arm_enums: emitter.arm_enums,
        sweeps,
    }
}

/// The body of `NAME_jacobian` as one reverse sweep whose adjoints are `runtime::Lanes`, one
/// lane per output, where the function allows it: a repeatable sweep (see [`repeatable`]), no
/// calls of differentiated functions (their pullbacks take one seed), and outputs of one
/// float type `ty`, `m` of them.
#[allow(clippy::too_many_arguments)]
pub fn lanes_jacobian_body(
    ir: &FnIr,
    activity: &Activity,
    active_params: &[bool],
    tensor_refs: &[bool],
    shape: &Shape,
    runtime: &TokenStream,
    m: usize,
    ty: &syn::Type,
) -> Option<PullbackBody> {
    fn calls(block: &Block) -> bool {
        block.stmts.iter().any(|stmt| match stmt {
            Stmt::Let { rhs, .. } => matches!(rhs, Rhs::Call { .. } | Rhs::Component { .. }),
            Stmt::Branch { arms, .. } => arms.iter().any(calls),
            Stmt::Loop(l) => calls(&l.head) || calls(&l.body),
            _ => false,
        })
    }
    let eligible = repeatable(ir, &kinds::infer(ir)) && !calls(&ir.body);
    eligible.then(|| {
        pullback_body(
            ir,
            activity,
            active_params,
            tensor_refs,
            shape,
            runtime,
            Some((m, ty)),
        )
    })
}

/// Whether the reverse sweep consumes nothing of the forward sweep's (tapes are popped, a
/// buffer snapshot may be moved into a call, tensors are moved into rules), so that it can run
/// once per output after a single forward sweep. Branch records are `Copy` when what they hold
/// is; numbers are.
pub fn repeatable(ir: &FnIr, kinds: &[Kind]) -> bool {
    fn plain(block: &Block) -> bool {
        block.stmts.iter().all(|stmt| match stmt {
            Stmt::Loop(_) => false,
            Stmt::Branch { arms, .. } => arms.iter().all(plain),
            Stmt::Let {
                rhs: Rhs::Call { args, .. },
                ..
            } => !args.iter().any(|a| matches!(a, CallArg::Array { .. })),
            _ => true,
        })
    }
    // Without loops there are no tapes.
    kinds.iter().all(|k| *k == Kind::Scalar) && plain(&ir.body)
}

/// The in-place updates `a[i] = a[i] + e` (or `- e`; `a[i] += e`): a store of `v = l ± e`
/// where `l` loads the same element in the same block, nothing stores to `a` in between, and
/// `l` and `v` have no other use. The adjoint of such a store would take the element's
/// adjoint, clear it, and the load would add the same amount back; it leaves the element's
/// adjoint as it is instead. Maps `v` to `l`.
fn increments(ir: &FnIr) -> BTreeMap<VarId, VarId> {
    fn walk(block: &Block, uses: &BTreeMap<VarId, usize>, out: &mut BTreeMap<VarId, VarId>) {
        for (s, stmt) in block.stmts.iter().enumerate() {
            match stmt {
                Stmt::Store { .. } => out.extend(in_place_load(block, s, uses)),
                Stmt::Branch { arms, .. } => arms.iter().for_each(|a| walk(a, uses, out)),
                Stmt::Loop(l) => {
                    walk(&l.head, uses, out);
                    walk(&l.body, uses, out);
                }
                _ => {}
            }
        }
    }
    // Uses anywhere in the function (a phi or a carried value may use them too), and by the
    // result.
    let mut uses = crate::fusion::Mentions::default();
    uses.block(&ir.body);
    for v in ir.result.iter().filter_map(Operand::var) {
        *uses.count.entry(v).or_default() += 1;
    }
    let mut out = BTreeMap::new();
    walk(&ir.body, &uses.count, &mut out);
    out
}

/// For the store `a[i] = v` at `block.stmts[s]`: `(v, l)` when it is an in-place update (see
/// [`increments`]).
fn in_place_load(block: &Block, s: usize, uses: &BTreeMap<VarId, usize>) -> Option<(VarId, VarId)> {
    let Stmt::Store {
        array,
        index,
        value: Operand::Var(v),
    } = &block.stmts[s]
    else {
        return None;
    };
    let once = |x: &VarId| uses.get(x) == Some(&1);
    let binding = |x: VarId| {
        block.stmts[..s]
            .iter()
            .enumerate()
            .find_map(|(at, stmt)| match stmt {
                Stmt::Let { var, rhs, .. } if *var == x => Some((at, rhs)),
                _ => None,
            })
    };
    let (at_v, sum) = binding(*v).filter(|_| once(v))?;
    let operands = match sum {
        Rhs::Arith(ArithOp::Add, a, b) => [a.var(), b.var()],
        Rhs::Arith(ArithOp::Sub, a, _) => [a.var(), None],
        _ => return None,
    };
    let key = crate::loads::operand_key(index);
    let load = operands.into_iter().flatten().find(|l| {
        once(l)
            && binding(*l).is_some_and(|(at_l, rhs)| {
                at_l < at_v
                    && matches!(rhs, Rhs::Load { array: a, index: i, guard: None }
                        if a == array && crate::loads::operand_key(i) == key)
                    && !block.stmts[at_l + 1..s]
                        .iter()
                        .any(|b| stores_to(b, *array))
            })
    })?;
    Some((*v, load))
}

/// Whether a statement (or a block nested in it) stores to `array`.
fn stores_to(stmt: &Stmt, array: ArrayId) -> bool {
    let mut stored = BTreeSet::new();
    stmt.stored_arrays(&mut stored);
    stored.contains(&array)
}

/// Pairs a number's `sin x` with its `cos x` (same `x`) where the adjoint of one can read the
/// other: defined in the same block, or earlier in an enclosing one. The derivative of each is
/// the other (up to sign), so the adjoint reads it instead of calling `cos` or `sin` again;
/// the compiler cannot always see that the value is the same once it has passed through a
/// branch record or a tape.
fn sin_cos_partners(body: &Block) -> BTreeMap<VarId, VarId> {
    /// `(name, x, var)` of a `sin` or `cos` binding.
    fn trig(stmt: &Stmt) -> Option<(&'static str, VarId, VarId)> {
        match stmt {
            Stmt::Let {
                var,
                rhs: Rhs::Prim { prim, args, .. },
                ..
            } if matches!(prim.name, "sin" | "cos") && prim.family == Family::Float => {
                Some((prim.name, args[0].var()?, *var))
            }
            _ => None,
        }
    }
    fn walk(
        block: &Block,
        enclosing: &mut Vec<(&'static str, VarId, VarId)>,
        out: &mut BTreeMap<VarId, VarId>,
    ) {
        let own: Vec<_> = block.stmts.iter().filter_map(trig).collect();
        let mark = enclosing.len();
        for stmt in &block.stmts {
            if let Some((name, x, var)) = trig(stmt) {
                let candidates = own.iter().chain(enclosing[..mark].iter());
                if let Some((_, _, other)) = candidates
                    .into_iter()
                    .find(|(n, a, _)| *n != name && *a == x)
                {
                    out.insert(var, *other);
                }
                enclosing.push((name, x, var));
            }
            match stmt {
                Stmt::Branch { arms, .. } => arms.iter().for_each(|a| walk(a, enclosing, out)),
                Stmt::Loop(l) => {
                    walk(&l.head, enclosing, out);
                    walk(&l.body, enclosing, out);
                }
                _ => {}
            }
        }
        enclosing.truncate(mark);
    }
    let mut out = BTreeMap::new();
    walk(body, &mut Vec::new(), &mut out);
    out
}

/// The variables read by component (`q.0`, `q[1]`).
pub(crate) fn aggregates(block: &Block) -> BTreeSet<VarId> {
    let mut found = BTreeSet::new();
    for stmt in &block.stmts {
        match stmt {
            Stmt::Let {
                rhs: Rhs::Component { of, .. },
                ..
            } => {
                found.insert(*of);
            }
            Stmt::Branch { arms, .. } => arms.iter().for_each(|a| found.extend(aggregates(a))),
            Stmt::Loop(l) => {
                found.extend(aggregates(&l.head));
                found.extend(aggregates(&l.body));
            }
            _ => {}
        }
    }
    found
}

fn all_vars(ir: &FnIr) -> BTreeSet<VarId> {
    (0..ir.vars.len()).collect()
}

/// The adjoint state of one block being reversed.
struct Ctx {
    /// Variables defined in this block: their adjoints may be declared here.
    local: BTreeSet<VarId>,
    /// Contributions to adjoints not declared yet, in the order the reverse sweep made them.
    /// The adjoint is declared where its variable is defined, as their sum in forward order,
    /// so that `3x² + 2x - 6` adds up as written.
    pending: BTreeMap<VarId, Vec<TokenStream>>,
    /// Adjoints declared as `let d_v = ..` (final) or `let mut d_v = ..` (accumulating,
    /// because an arm of a branch adds to them).
    declared: BTreeSet<VarId>,
    mutable: BTreeSet<VarId>,
    /// Adjoints of variables from enclosing blocks this block adds to.
    touched_outer: BTreeSet<VarId>,
    /// Primal values the adjoint code reads.
    reads: BTreeSet<VarId>,
    /// Records of branches, trip counts of loops and snapshots made directly in this block;
    /// the adjoint reads each of them.
    records: Vec<syn::Ident>,
}

impl Ctx {
    fn new(local: BTreeSet<VarId>) -> Self {
        Ctx {
            local,
            pending: BTreeMap::new(),
            declared: BTreeSet::new(),
            mutable: BTreeSet::new(),
            touched_outer: BTreeSet::new(),
            reads: BTreeSet::new(),
            records: Vec::new(),
        }
    }

    /// Whether `v` has an adjoint variable at this point of the reverse sweep.
    fn available(&self, v: VarId) -> bool {
        self.declared.contains(&v)
    }
}

struct Emitter<'a> {
    ir: &'a FnIr,
    activity: &'a Activity,
    rt: TokenStream,
    arm_enums: BTreeSet<usize>,
    /// Branches emitted so far (names their records).
    records: usize,
    /// The tapes of the loops emitted so far.
    tapes: Vec<syn::Ident>,
    /// Loops emitted so far (names their tapes and trip counts).
    loops: usize,
    /// Values the adjoint has taken so far (names them).
    taken: usize,
    /// Arrays stored to by the top-level statement being emitted or by one after it: the
    /// others hold, when its adjoint runs, what they held when it ran (the adjoint never
    /// writes a value array), so what it loads from them can be loaded again.
    stored: BTreeSet<ArrayId>,
    /// Which variables hold tensors.
    kinds: Vec<Kind>,
    /// Which tensor variables are references in the user's code.
    borrowed: Vec<bool>,
    /// Variables holding a tuple or array a call returned, read by component.
    aggregates: BTreeSet<VarId>,
    /// The loops whose iterations run their adjoint in the forward sweep.
    fused: &'a [(*const Loop, fusion::Fused)],
    /// The seed of each result component.
    seed_components: &'a [TokenStream],
    /// `sin x` and `cos x` of the same `x` (see [`sin_cos_partners`]).
    partners: BTreeMap<VarId, VarId>,
    /// In-place updates `a[i] = a[i] + e` (see [`increments`]): the value stored, and the load.
    increments: BTreeMap<VarId, VarId>,
    /// For `NAME_jacobian`'s one sweep: the type of its adjoints, `Lanes<T, M>` (see
    /// `runtime::lanes`); `None` for numbers.
    lanes: Option<TokenStream>,
    /// The sums of the fused loop being emitted, whose adjoints the iterations leave as they
    /// are: contributions to them are dropped (see `loops::fused_loop`).
    constant_adjoints: BTreeSet<VarId>,
}

impl<'a> Emitter<'a> {
    /// An emitter with nothing emitted yet, for numbers (no borrowed tensors, no tuples read
    /// by component, adjoints that are numbers rather than lanes); `pullback_body` sets those
    /// where the function has them.
    fn new(
        ir: &'a FnIr,
        activity: &'a Activity,
        runtime: &TokenStream,
        kinds: Vec<Kind>,
        fused: &'a [(*const Loop, fusion::Fused)],
        seed_components: &'a [TokenStream],
    ) -> Self {
        let mut stored = BTreeSet::new();
        ir.body.stored_arrays(&mut stored);
        Emitter {
            ir,
            activity,
            rt: runtime.clone(),
            arm_enums: BTreeSet::new(),
            records: 0,
            tapes: Vec::new(),
            loops: 0,
            taken: 0,
            stored,
            kinds,
            borrowed: vec![false; ir.vars.len()],
            aggregates: BTreeSet::new(),
            fused,
            seed_components,
            partners: sin_cos_partners(&ir.body),
            increments: increments(ir),
            lanes: None,
            constant_adjoints: BTreeSet::new(),
        }
    }
}

impl Emitter<'_> {
    fn is_tensor(&self, op: &Operand) -> bool {
        op.var().is_some_and(|v| self.kinds[v] == Kind::Tensor)
    }

    /// An operand where the code takes its value: a tensor is cloned (which shares its data),
    /// because the variable lives on for the adjoint.
    fn value(&self, op: &Operand) -> TokenStream {
        let tokens = self.operand(op);
        if self.is_tensor(op) {
            quote!(#tokens.clone())
        } else {
            tokens
        }
    }

    /// An operand of arithmetic: a tensor is borrowed (`&a * &b`), a number copied.
    fn maybe_borrowed(&self, op: &Operand) -> TokenStream {
        let tokens = self.operand(op);
        if self.is_tensor(op) {
            quote!(&#tokens)
        } else {
            tokens
        }
    }

    /// The adjoint of `v` taken as a value (a tensor adjoint is cloned, sharing its data).
    fn value_of_adjoint(&self, v: VarId) -> TokenStream {
        let d = self.adjoint(v);
        if self.kinds[v] == Kind::Tensor {
            quote!(#d.clone())
        } else {
            d.into_token_stream()
        }
    }

    /// An operand read by a tensor rule, which takes everything by reference.
    fn borrowed_read(&self, ctx: &mut Ctx, op: &Operand) -> TokenStream {
        let tokens = self.read(ctx, op);
        quote!(&#tokens)
    }

    /// Zero shaped like variable `v` (its adjoint's starting value).
    fn zero_like(&self, ctx: &mut Ctx, v: VarId) -> TokenStream {
        if self.aggregates.contains(&v) {
            let rt = &self.rt;
            let x = self.read(ctx, &Operand::Var(v));
            return quote!(#rt::zero_like(&#x));
        }
        if self.kinds[v] == Kind::Tensor {
            let rt = &self.rt;
            let x = self.read(ctx, &Operand::Var(v));
            quote!(#rt::tensor_rules::zeros_like(&#x))
        } else {
            self.zero_adjoint()
        }
    }

    /// A number's zero adjoint (all lanes zero in `NAME_jacobian`).
    fn zero_adjoint(&self) -> TokenStream {
        match &self.lanes {
            Some(lanes) => quote!(#lanes::zero()),
            None => quote!(0.0),
        }
    }

    /// `rule(d, reads..)` of a number's rule, applied to each lane in `NAME_jacobian`.
    fn apply_rule(&self, rule: TokenStream, d: &TokenStream, reads: &[TokenStream]) -> TokenStream {
        match &self.lanes {
            Some(_) => quote!(#d.map(|__lane| #rule(__lane #(, #reads)*))),
            None => quote!(#rule(#d #(, #reads)*)),
        }
    }

    fn array(&self, a: ArrayId) -> syn::Ident {
        naming::array(self.ir, a)
    }

    /// A fresh name for a value the adjoint takes before changing where it came from.
    fn fresh_taken(&mut self) -> syn::Ident {
        self.taken += 1;
        naming::taken(self.taken)
    }

    /// The parameters, under their generated names.
    fn bind_params(&self) -> TokenStream {
        let ir = self.ir;
        let mut code = TokenStream::new();
        for &slot in &ir.params {
            let (hint, span, name) = match slot {
                ParamSlot::Var(p) => (&ir.vars[p].hint, ir.vars[p].span, naming::primal(ir, p)),
                ParamSlot::Array(a) => {
                    (&ir.arrays[a].hint, ir.arrays[a].span, naming::array(ir, a))
                }
            };
            let user = match hint.strip_prefix("r#") {
                Some(raw) => syn::Ident::new_raw(raw, span),
                None => syn::Ident::new(hint, span),
            };
            // A tensor parameter (by value or `&`) is held as an owned tensor sharing its data.
            match slot {
                ParamSlot::Var(p) if self.kinds[p] == Kind::Tensor => {
                    let ty = &ir.vars[p].ty;
                    code.extend(quote!(let #name = <#ty as ::core::clone::Clone>::clone(&#user);));
                }
                _ => code.extend(quote!(let #name = #user;)),
            }
        }
        code
    }

    /// `let mut d_a = zeros;` for an active array `a`.
    fn declare_array_adjoint(&self, a: ArrayId) -> TokenStream {
        if !self.activity.active_arrays[a] {
            return TokenStream::new();
        }
        let d = naming::array_adjoint(self.ir, a);
        let zeros = self.zero_array(a);
        quote!(let mut #d = #zeros;)
    }

    /// An array of zeros shaped like array `a`.
    fn zero_array(&self, a: ArrayId) -> TokenStream {
        let array = &self.ir.arrays[a];
        let primal = self.array(a);
        if let Some(lanes) = &self.lanes {
            return match &array.fixed_len {
                Some(len) => quote!([#lanes::zero(); #len]),
                None => quote!(::std::vec![#lanes::zero(); #primal.len()]),
            };
        }
        match (&array.fixed_len, &array.elem) {
            (Some(len), Some(elem)) => quote!([0.0 as #elem; #len]),
            (Some(len), None) => quote!([0.0; #len]),
            (None, Some(elem)) => quote!(::std::vec![0.0 as #elem; #primal.len()]),
            (None, None) => quote!(::std::vec![0.0; #primal.len()]),
        }
    }

    fn primal(&self, v: VarId) -> syn::Ident {
        naming::primal(self.ir, v)
    }

    fn adjoint(&self, v: VarId) -> syn::Ident {
        naming::adjoint(self.ir, v)
    }

    /// An operand in the forward sweep.
    fn operand(&self, op: &Operand) -> TokenStream {
        match op {
            Operand::Var(v) => self.primal(*v).into_token_stream(),
            Operand::Const(expr) => match expr {
                syn::Expr::Lit(_) | syn::Expr::Path(_) => expr.to_token_stream(),
                _ => quote!((#expr)),
            },
        }
    }

    /// An operand read by the adjoint: records the read.
    fn read(&self, ctx: &mut Ctx, op: &Operand) -> TokenStream {
        if let Operand::Var(v) = op {
            ctx.reads.insert(*v);
        }
        self.operand(op)
    }

    /// Adds `contribution` (negated with `negate`) to the adjoint of `target`: kept pending
    /// until the target's definition when the adjoint is this block's, added at once to an
    /// accumulating adjoint otherwise.
    fn accumulate(
        &mut self,
        ctx: &mut Ctx,
        target: &Operand,
        contribution: TokenStream,
        negate: bool,
    ) -> TokenStream {
        let Operand::Var(v) = target else {
            return TokenStream::new();
        };
        if !self.activity.active[*v] || self.constant_adjoints.contains(v) {
            return TokenStream::new();
        }
        if ctx.local.contains(v) && !ctx.mutable.contains(v) {
            let term = if negate {
                quote!(-(#contribution))
            } else {
                contribution
            };
            ctx.pending.entry(*v).or_default().push(term);
            return TokenStream::new();
        }
        if !ctx.local.contains(v) {
            ctx.touched_outer.insert(*v);
        }
        let d = self.adjoint(*v);
        if negate {
            quote!(#d -= #contribution;)
        } else {
            quote!(#d += #contribution;)
        }
    }

    /// Adds `contribution` to element `index` of the adjoint of `of`, a tuple or array a call
    /// returned. That adjoint is an accumulator from the first contribution on; it becomes the
    /// seed of the call's pullback.
    fn accumulate_component(
        &mut self,
        ctx: &mut Ctx,
        of: VarId,
        index: usize,
        tuple: bool,
        contribution: TokenStream,
    ) -> TokenStream {
        if !self.activity.active[of] {
            return TokenStream::new();
        }
        let mut code = TokenStream::new();
        if ctx.local.contains(&of) {
            if !ctx.mutable.contains(&of) {
                code.extend(self.declare_mutable(ctx, of));
            }
        } else {
            ctx.touched_outer.insert(of);
        }
        let d = self.adjoint(of);
        let place = if tuple {
            let index = syn::Index::from(index);
            quote!(#d.#index)
        } else {
            quote!(#d[#index])
        };
        code.extend(quote!(#place += #contribution;));
        code
    }

    /// Declares the adjoint of `v` at its definition: the sum of its pending contributions in
    /// forward order. Nothing when there are none (its adjoint is zero, and unused).
    fn finalize(&mut self, ctx: &mut Ctx, v: VarId) -> TokenStream {
        let Some(mut terms) = ctx.pending.remove(&v) else {
            return TokenStream::new();
        };
        terms.reverse();
        ctx.declared.insert(v);
        let d = self.adjoint(v);
        quote!(let #d = #(#terms)+*;)
    }

    /// Declares the adjoint of `v` as an accumulator that arms of a branch add to.
    fn declare_mutable(&mut self, ctx: &mut Ctx, v: VarId) -> TokenStream {
        let d = self.adjoint(v);
        let init = match ctx.pending.remove(&v) {
            Some(mut terms) => {
                terms.reverse();
                quote!(#(#terms)+*)
            }
            None => self.zero_like(ctx, v),
        };
        ctx.declared.insert(v);
        ctx.mutable.insert(v);
        match &self.ir.vars[v].ty {
            Some(ty) if self.lanes.is_none() => quote!(let mut #d: #ty = #init;),
            _ => quote!(let mut #d = #init;),
        }
    }

    /// The rules of `prim` (binding `var`) whose operand is active: the operand, the rule and
    /// the values it reads (borrowed, for the tensor rules).
    fn prim_rules<'o>(
        &mut self,
        var: VarId,
        prim: &crate::primitives::Primitive,
        args: &'o [Operand],
        borrowed: bool,
        ctx: &mut Ctx,
    ) -> Vec<(&'o Operand, syn::Ident, Vec<TokenStream>)> {
        let mut rules = Vec::new();
        for rule in prim.rules {
            let Some(target) = args.get(rule.operand) else {
                continue;
            };
            if !self.activity.is_active(target) {
                continue;
            }
            // `sin x` beside `cos x`: each one's rule reads the other.
            if let (Some(&partner), false) = (self.partners.get(&var), borrowed) {
                let func = if prim.name == "sin" {
                    "sin_x_from_cos"
                } else {
                    "cos_x_from_sin"
                };
                let read = self.read(ctx, &Operand::Var(partner));
                rules.push((target, format_ident!("{}", func), vec![read]));
                continue;
            }
            let reads = rule
                .reads
                .iter()
                .map(|r| {
                    let op = match r {
                        Read::Operand(i) => &args[*i],
                        Read::Output => &Operand::Var(var),
                    };
                    if borrowed {
                        self.borrowed_read(ctx, op)
                    } else {
                        self.read(ctx, op)
                    }
                })
                .collect();
            rules.push((target, format_ident!("{}", rule.func), reads));
        }
        rules
    }

    /// Forward and reverse code of a block. The reverse is in reverse statement order.
    fn block(&mut self, block: &Block, ctx: &mut Ctx) -> (TokenStream, TokenStream) {
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
            reverse.extend(r);
        }
        (forward.into_iter().collect(), reverse)
    }

    fn stmt(&mut self, stmt: &Stmt, ctx: &mut Ctx) -> (TokenStream, TokenStream) {
        match stmt {
            Stmt::Let { var, rhs, span } => {
                let (mut forward, snapshots) = self.call_snapshots(*var, rhs, ctx);
                forward.extend(self.forward_let(*var, rhs, *span));
                let mut reverse = self.finalize(ctx, *var);
                if self.activity.active[*var] && ctx.available(*var) {
                    reverse.extend(self.reverse_let(*var, rhs, *span, &snapshots, ctx));
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
    fn declare_array(
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
        forward.extend(self.declare_array_adjoint(array));
        let mut reverse = TokenStream::new();
        if self.activity.active_arrays[array] {
            let d = naming::array_adjoint(self.ir, array);
            match init {
                ArrayInit::Repeat { value, .. } => {
                    let total = self.fresh_taken();
                    let zero = self.zero_adjoint();
                    reverse.extend(quote!(let #total = #d.iter().fold(#zero, |sum, d| sum + *d);));
                    reverse.extend(self.accumulate(ctx, value, total.into_token_stream(), false));
                }
                ArrayInit::Elements(elements) => {
                    for (k, e) in elements.iter().enumerate() {
                        let taken = self.fresh_taken();
                        reverse.extend(quote!(let #taken = #d[#k];));
                        reverse.extend(self.accumulate(ctx, e, taken.into_token_stream(), false));
                    }
                }
            }
        }
        (forward, reverse)
    }

    /// `x[i] = v`: `v` takes the adjoint of the element it wrote, which the earlier value of
    /// the element never saw, so it is cleared.
    fn store(
        &mut self,
        array: ArrayId,
        index: &Operand,
        value: &Operand,
        ctx: &mut Ctx,
    ) -> (TokenStream, TokenStream) {
        let name = self.array(array);
        let (i, v) = (self.operand(index), self.operand(value));
        let forward = quote!(#name[#i] = #v;);
        if !self.activity.active_arrays[array] {
            return (forward, TokenStream::new());
        }
        let d = naming::array_adjoint(self.ir, array);
        let i = self.read(ctx, index);
        let taken = self.fresh_taken();
        let in_place = value
            .var()
            .is_some_and(|v| self.increments.contains_key(&v));
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
        reverse.extend(self.accumulate(ctx, value, taken.into_token_stream(), false));
        (forward, reverse)
    }

    fn forward_let(&self, var: VarId, rhs: &Rhs, span: Span) -> TokenStream {
        self.binding(var, rhs, span, true)
    }

    /// The `let` of a binding; `typed_like` ties a new version of an untyped variable to the
    /// version it replaces (not possible where that version is out of scope: a recomputation
    /// in the adjoint).
    fn binding(&self, var: VarId, rhs: &Rhs, span: Span, typed_like: bool) -> TokenStream {
        let name = self.primal(var);
        let value = match rhs {
            Rhs::Use(a) => self.value(a),
            Rhs::Neg(a) => {
                let a = self.maybe_borrowed(a);
                quote!(-#a)
            }
            Rhs::Arith(op, a, b) => {
                let (a, b) = (self.maybe_borrowed(a), self.maybe_borrowed(b));
                match op {
                    ArithOp::Add => quote!(#a + #b),
                    ArithOp::Sub => quote!(#a - #b),
                    ArithOp::Mul => quote!(#a * #b),
                    ArithOp::Div => quote!(#a / #b),
                }
            }
            Rhs::Prim {
                form, args, refs, ..
            } => {
                let args: Vec<TokenStream> = args
                    .iter()
                    .zip(refs)
                    .enumerate()
                    .map(|(i, (a, by_ref))| {
                        // Tensor methods take tensors by reference, however the user wrote them.
                        let borrow = *by_ref || (i > 0 && self.is_tensor(a));
                        let a = self.operand(a);
                        if borrow {
                            quote!(&#a)
                        } else {
                            a
                        }
                    })
                    .collect();
                match form {
                    CallForm::Method(method) => {
                        let (receiver, rest) = args.split_first().expect("a method has a receiver");
                        quote!(#receiver.#method(#(#rest),*))
                    }
                    CallForm::Path(path) => quote!(#path(#(#args),*)),
                }
            }
            Rhs::Cast { arg, ty } => {
                let arg = self.operand(arg);
                quote!(#arg as #ty)
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
                guard: None,
            } => {
                let (array, index) = (self.array(*array), self.operand(index));
                quote!(#array[#index])
            }
            Rhs::Load {
                array,
                index,
                guard: Some(guard),
            } => {
                let (array, index) = (self.array(*array), self.operand(index));
                let range = resolve(self.ir, guard.range.to_token_stream());
                quote! {
                    if ::core::iter::Iterator::next(&mut (#range)).is_some() {
                        #array[#index]
                    } else {
                        ::core::default::Default::default()
                    }
                }
            }
            Rhs::Len(array) => {
                let array = self.array(*array);
                quote!(#array.len())
            }
            Rhs::Component { of, index, tuple } => {
                let of = self.primal(*of);
                if *tuple {
                    let index = syn::Index::from(*index);
                    quote!(#of.#index)
                } else {
                    quote!(#of[#index])
                }
            }
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

    /// An argument of a call in the forward sweep, or (with the snapshot the forward sweep
    /// took of a buffer it goes on writing) in the adjoint.
    fn call_arg(&self, arg: &CallArg, snapshot: Option<&syn::Ident>) -> TokenStream {
        match arg {
            CallArg::Value(Operand::Var(v)) if self.borrowed[*v] => {
                let name = self.primal(*v);
                quote!(&#name)
            }
            CallArg::Value(op) => self.value(op),
            CallArg::Ref(op) => {
                let op = self.operand(op);
                quote!(&#op)
            }
            CallArg::Array { array, by_ref } => {
                let name = match snapshot {
                    Some(s) => s.clone(),
                    None => self.array(*array),
                };
                if *by_ref {
                    quote!(&#name)
                } else {
                    quote!(#name)
                }
            }
        }
    }

    /// Copies of the buffers an active call reads that the function also writes: the
    /// callee's adjoint must see them as they were at the call.
    fn call_snapshots(
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
                    if self.activity.active[var] && self.stored.contains(array) =>
                {
                    let snapshot = self.fresh_taken();
                    let name = self.array(*array);
                    forward.extend(quote!(let #snapshot = ::core::clone::Clone::clone(&#name);));
                    ctx.records.push(snapshot.clone());
                    snapshots.push(Some(snapshot));
                }
                _ => snapshots.push(None),
            }
        }
        (forward, snapshots)
    }

    fn reverse_let(
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
        let rt = self.rt.clone();
        let mut code = TokenStream::new();
        match rhs {
            Rhs::Use(a) => code.extend(self.accumulate(ctx, a, d, false)),
            Rhs::Neg(a) => code.extend(self.accumulate(ctx, a, d, true)),
            Rhs::Arith(op, a, b) => match op {
                ArithOp::Add | ArithOp::Sub => {
                    code.extend(self.accumulate(ctx, a, d.clone(), false));
                    code.extend(self.accumulate(ctx, b, d, *op == ArithOp::Sub));
                }
                ArithOp::Mul => {
                    if self.activity.is_active(a) {
                        let rb = self.read(ctx, b);
                        code.extend(self.accumulate(
                            ctx,
                            a,
                            self.apply_rule(quote!(#rt::rules::mul_a), &d, &[rb]),
                            false,
                        ));
                    }
                    if self.activity.is_active(b) {
                        let ra = self.read(ctx, a);
                        code.extend(self.accumulate(
                            ctx,
                            b,
                            self.apply_rule(quote!(#rt::rules::mul_b), &d, &[ra]),
                            false,
                        ));
                    }
                }
                ArithOp::Div => {
                    if self.activity.is_active(a) {
                        let rb = self.read(ctx, b);
                        code.extend(self.accumulate(
                            ctx,
                            a,
                            self.apply_rule(quote!(#rt::rules::div_a), &d, &[rb]),
                            false,
                        ));
                    }
                    if self.activity.is_active(b) {
                        let rb = self.read(ctx, b);
                        let y = self.read(ctx, &Operand::Var(var));
                        code.extend(self.accumulate(
                            ctx,
                            b,
                            self.apply_rule(quote!(#rt::rules::div_b), &d, &[rb, y]),
                            false,
                        ));
                    }
                }
            },
            Rhs::Prim { prim, args, .. } => {
                for (target, func, reads) in self.prim_rules(var, prim, args, false, ctx) {
                    let contribution = self.apply_rule(quote!(#rt::rules::#func), &d, &reads);
                    code.extend(self.accumulate(ctx, target, contribution, false));
                }
            }
            Rhs::Cast { arg, .. } => {
                let witness = self.read(ctx, arg);
                code.extend(self.accumulate(
                    ctx,
                    arg,
                    self.apply_rule(quote!(#rt::rules::cast_x), &d, &[witness]),
                    false,
                ));
            }
            Rhs::Call {
                callee,
                args,
                spans,
            } => {
                let reads: Vec<TokenStream> = args
                    .iter()
                    .zip(snapshots)
                    .map(|(a, snapshot)| match a {
                        CallArg::Value(op) | CallArg::Ref(op) => {
                            self.read(ctx, op);
                            self.call_arg(a, None)
                        }
                        CallArg::Array { .. } => self.call_arg(a, snapshot.as_ref()),
                    })
                    .collect();
                let entries: Vec<TokenStream> = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        if self.activity.is_active_arg(a) {
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
                code.extend(quote!(let (_, (#(#entries,)*)) = #call;));
                for (i, (a, arg_span)) in args.iter().zip(spans).enumerate() {
                    if !self.activity.is_active_arg(a) {
                        continue;
                    }
                    // Spanned on the argument: a callee that treats this parameter as a
                    // constant is reported there.
                    let entry = naming::call_entry(var, i, *arg_span);
                    match a {
                        CallArg::Value(op) | CallArg::Ref(op) => {
                            let take = quote_spanned!(*arg_span=> ::differentiate::runtime::grad_entry(#entry));
                            code.extend(self.accumulate(ctx, op, take, false));
                        }
                        CallArg::Array { array, .. } => {
                            let d = naming::array_adjoint(self.ir, *array);
                            code.extend(quote_spanned!(*arg_span=> ::differentiate::runtime::add_array_entry(&mut #d[..], #entry);));
                        }
                    }
                }
            }
            Rhs::Load {
                array,
                index,
                guard,
            } => {
                let in_place = self.increments.values().any(|l| *l == var);
                let first = self
                    .fused
                    .iter()
                    .any(|(_, f)| f.first_writes.contains(&var));
                if self.activity.active_arrays[*array] && !in_place {
                    let d_array = naming::array_adjoint(self.ir, *array);
                    let i = self.read(ctx, index);
                    code.extend(match guard {
                        // The element's first contribution (see `Fused::first_writes`).
                        None if first => quote!(#d_array[#i] = #d;),
                        None => quote!(#d_array[#i] += #d;),
                        // Out of bounds only where the loop did not run, and `d` is zero.
                        Some(_) => quote! {
                            if let ::core::option::Option::Some(slot) = #d_array.get_mut(#i) {
                                *slot += #d;
                            }
                        },
                    });
                }
            }
            Rhs::Component { of, index, tuple } => {
                code.extend(self.accumulate_component(ctx, *of, *index, *tuple, d));
            }
            Rhs::Passive(_) | Rhs::Len(_) => {}
        }
        code
    }

    fn branch(
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
            declare.extend(self.finalize(ctx, phi.var));
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
                if self.activity.active[phi.var] && ctx.available(phi.var) {
                    let d = self.value_of_adjoint(phi.var);
                    reverse.extend(self.accumulate(&mut arm_ctx, &phi.srcs[i], d, false));
                }
            }
            let (forward, body_reverse) = self.block(arm, &mut arm_ctx);
            reverse.extend(body_reverse);
            for &v in &arm.bound {
                reverse.extend(self.finalize(&mut arm_ctx, v));
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
    fn dispatch(&self, selector: &Selector, bodies: &[TokenStream]) -> TokenStream {
        match selector {
            Selector::If(cond) => {
                let cond = self.operand(cond);
                let (then, otherwise) = (&bodies[0], &bodies[1]);
                quote!(if #cond #then else #otherwise)
            }
            Selector::Match {
                scrutinee,
                pats,
                guards,
                ..
            } => {
                let scrutinee = self.operand(scrutinee);
                let arms = pats
                    .iter()
                    .zip(guards)
                    .zip(bodies)
                    .map(|((pat, guard), body)| {
                        let pat = resolve(self.ir, pat.to_token_stream());
                        let guard = guard.as_ref().map(|g| {
                            let g = resolve(self.ir, g.to_token_stream());
                            quote!(if #g)
                        });
                        quote!(#pat #guard => #body)
                    });
                quote!(match #scrutinee { #(#arms)* })
            }
        }
    }
}

/// Replaces the variable markers of kept user expressions with generated names.
fn resolve(ir: &FnIr, tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) => {
                let name = match (parse_var_marker(&ident), parse_array_marker(&ident)) {
                    (Some(v), _) if v < ir.vars.len() => naming::primal(ir, v),
                    (_, Some(a)) if a < ir.arrays.len() => naming::array(ir, a),
                    _ => return TokenTree::Ident(ident),
                };
                TokenTree::Ident(syn::Ident::new(
                    &name.to_string(),
                    name.span().located_at(ident.span()),
                ))
            }
            TokenTree::Group(g) => {
                let mut group = proc_macro2::Group::new(g.delimiter(), resolve(ir, g.stream()));
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            other => other,
        })
        .collect()
}
