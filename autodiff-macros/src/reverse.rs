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
//!
//! ## Number types, and derivatives of derivatives
//!
//! The emitted code works on the user's values with the runtime's rules, which are generic
//! over `T: Real` (every `Float` type is one); the only numbers it writes itself are zeros and
//! unit seeds, which [`Numbers`] writes as literals (`0.0`, `1.0`) for an `f64` or `f32`
//! function and as `T::zero()`, `T::one()` for one generic over `T` (with `d = d + c` for
//! `d += c`, which `Float` does not promise). That is the design the next steps build on,
//! rather than turning the reverse sweep into IR for a second transform:
//!
//! - A function generic over `T: Float` gets a pullback generic over the same `T`: the sweeps
//!   are the same text, and the instantiation at `f64` computes what the `f64` function's
//!   pullback computes, bit for bit (the fuzzer checks every function it generates both ways).
//! - Second derivatives compose forward mode over this reverse sweep by instantiating the
//!   pullback at the runtime's dual numbers: a Hessian-vector product is one pullback call
//!   whose inputs carry a tangent. An `f64` user function meets that design through a
//!   generic twin of its pullback, in which the types the user wrote (`f64` in signatures,
//!   annotations, casts and paths such as `f64::sin`) become the number type, and literals
//!   meet duals through mixed arithmetic in the runtime (`f64 * Dual`). A second transform
//!   over a reverse sweep held as IR would have to reproduce every emitter here (tapes,
//!   branch records, fused loops, tensors), and all of them have to work twice.

use crate::analysis::{Facts, Jacobian, Strategy};
use crate::fusion;
use crate::ir::*;
use crate::kinds::Kind;
use crate::naming;
use crate::primitives::{self, Primitive, Read};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

mod checkpoint;
mod loops;
mod partial_sums;
mod rows;
mod stmts;
mod tangent;
mod tensors;

use stmts::resolve;

pub use loops::TapePlan;
pub use tangent::grad_body as tangent_grad_body;

pub use crate::analysis::Shape;

/// What each taped loop keeps, in source order (a loop before those nested in it), each
/// named by how it starts.
fn loop_notes(ir: &FnIr, mut plans: Vec<(LoopId, TapePlan)>) -> Vec<String> {
    if plans.is_empty() {
        return Vec::new();
    }
    plans.sort_by_key(|(id, _)| *id);
    let sources = loops::ValueSources::new(ir);
    let mut heads = BTreeMap::new();
    ir.body.walk(&mut |stmt| {
        if let Stmt::Loop(l) = stmt {
            let head = match &l.kind {
                LoopKind::Range { index, .. } => format!("`for {}`", naming::primal(ir, *index)),
                LoopKind::Conditional if l.cond.is_some() => "`while`".to_string(),
                LoopKind::Conditional => "`loop`".to_string(),
            };
            heads.insert(l.id, head);
        }
    });
    plans
        .iter()
        .map(|(id, plan)| format!("{}: {}", heads[id], plan.describe(ir, &sources)))
        .collect()
}

/// Statements as a reader would write them on one line (`let t_1 = x_0.powi(3);`), for a
/// landmark.
fn one_line(statements: &TokenStream) -> String {
    let Ok(block) = syn::parse2::<syn::Block>(quote!({ #statements })) else {
        return statements.to_string();
    };
    let file = syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: vec![syn::Item::Fn(syn::parse_quote!(fn f() #block))],
    };
    let text = prettyplease::unparse(&file);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines[1..lines.len().saturating_sub(1)].join(" ")
}

/// Whether the items declared in the user's body define `name` (a `fn`, `const`, `use`, ...),
/// which the generated code must then not declare beside them.
fn defines(ir: &FnIr, name: &str) -> bool {
    ir.items.iter().any(|item| {
        let tokens = quote!(#item);
        tokens.into_iter().any(|t| t.to_string() == name)
    })
}

fn all_vars(ir: &FnIr) -> BTreeSet<VarId> {
    (0..ir.vars.len()).collect()
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
    /// What each taped loop keeps, in the order the loops are emitted (`TapePlan::describe`).
    pub loop_notes: Vec<String>,
    /// Arities of the arm enums the body uses; each needs its local definition.
    pub arm_enums: BTreeSet<usize>,
    /// For a function whose reverse sweep can run several times after one forward sweep (no
    /// loops, tensors or buffers passed to calls: nothing the sweep consumes): the forward
    /// sweep (ending with the value) and the reverse sweep (starting from `seed`, ending with
    /// the parameters' adjoints declared), for `NAME_jacobian`.
    pub sweeps: Option<(TokenStream, TokenStream)>,
}

/// Which body [`pullback_body`] emits.
#[derive(Clone, Copy)]
pub enum Form<'a> {
    /// `NAME_pullback`'s.
    Pullback,
    /// `NAME_pullback`'s, with landmarks for a reader (`landmark!("..");` statements before
    /// the forward sweep, the reverse sweep, each binding's adjoint and each loop), for
    /// `#[differentiate(dump)]`: never compiled, only printed.
    Landmarked,
    /// `NAME_jacobian`'s one sweep over lanes of adjoints, for `M` outputs of one float type.
    Lanes(usize, &'a syn::Type),
}

/// The body of the pullback, in the given form.
pub fn pullback_body(
    ir: &FnIr,
    facts: &Facts,
    strategy: &Strategy,
    active_params: &[bool],
    runtime: &TokenStream,
    form: Form<'_>,
) -> PullbackBody {
    let activity = &facts.activity;
    let shape = &strategy.shape;
    let lanes = match form {
        Form::Lanes(m, ty) => Some((m, ty)),
        Form::Pullback | Form::Landmarked => None,
    };
    // The seed flows into the result components.
    let seed = naming::seed();
    let seed_components: Vec<TokenStream> = (0..ir.result.len())
        .map(|k| match (shape, lanes) {
            // `NAME_jacobian`: output k's unit vector.
            (_, Some((m, ty))) => quote!(#runtime::Lanes::<#ty, #m>::unit(#k)),
            // A nalgebra result's seed, as its adjoint (a point's is a vector).
            (Shape::Scalar, None)
                if ir.result[k]
                    .var()
                    .is_some_and(|v| facts.kinds[v] == Kind::Linalg) =>
            {
                quote!(#runtime::linalg_rules::seed_adjoint(#seed))
            }
            (Shape::Scalar, None) => quote!(#seed),
            (Shape::Tuple, None) => {
                let index = syn::Index::from(k);
                quote!(#seed.#index)
            }
            (Shape::Array, None) => quote!(#seed[#k]),
        })
        .collect();
    let lanes = lanes.map(|(m, ty)| quote!(#runtime::Lanes::<#ty, #m>));
    let mut emitter = Emitter::new(ir, facts, runtime, &facts.fused, &seed_components);
    emitter.lanes = lanes;
    emitter.landmarks = matches!(form, Form::Landmarked);
    let mut ctx = Ctx::new(all_vars(ir));

    let mut forward = emitter.rules_alias();
    forward.extend([
        emitter.landmark("forward sweep: the function's values, one primitive per binding")
    ]);
    forward.extend([emitter.bind_params()]);
    // Adjoint arrays start at zero, before anything adds to them: those of parameters here,
    // those of local buffers where the buffers are declared (fused loops add to them during
    // the forward sweep).
    for &slot in &ir.params {
        if let ParamSlot::Array(a) = slot {
            forward.extend([emitter.declare_array_adjoint(a)]);
        }
    }

    // The seed flows into the result components: the adjoint of the last statement.
    let mut seed_flow =
        emitter.landmark("reverse sweep: the adjoints, from the result back to the parameters");
    for (op, component) in ir.result.iter().zip(&seed_components) {
        seed_flow.extend([emitter.accumulate(&mut ctx, op, component.clone(), false)]);
    }
    let (body_forward, mut body_reverse) = emitter.block(&ir.body, &mut ctx);
    forward.extend([body_forward]);
    for &slot in &ir.params {
        if let ParamSlot::Var(p) = slot {
            body_reverse.extend([emitter.finalize(&mut ctx, p)]);
        }
    }

    let components: Vec<TokenStream> = ir.result.iter().map(|op| emitter.operand(op)).collect();
    let value = match shape {
        Shape::Scalar => components.into_iter().next().unwrap_or_default(),
        Shape::Tuple => quote!((#(#components,)*)),
        Shape::Array => quote!([#(#components),*]),
    };
    let value_ident = naming::result_value();
    // Every operand is emitted by now, so every literal of a twin is known.
    let constants = emitter.twin_constants();
    let sweeps = matches!(strategy.jacobian, Jacobian::Sweeps).then(|| {
        // Each reverse sweep starts from zeroed adjoint arrays.
        let arrays: TokenStream = (0..ir.arrays.len())
            .map(|a| emitter.declare_array_adjoint(a))
            .collect();
        (
            quote!(#constants #forward let #value_ident = #value;),
            quote!(#arrays #seed_flow #body_reverse),
        )
    });
    let body = quote! {
        #constants
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
            (ParamSlot::Var(p), true) => {
                let adjoint = if ctx.available(p) {
                    emitter.adjoint(p).into_token_stream()
                } else {
                    emitter.zero_like(&mut Ctx::new(BTreeSet::new()), p)
                };
                if emitter.facts.kinds[p] == Kind::Linalg {
                    // A point's adjoint is a vector; its gradient entry a point.
                    let primal = emitter.primal(p);
                    quote!(#rt::linalg_rules::gradient_entry(#adjoint, &#primal))
                } else {
                    adjoint
                }
            }
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
        loop_notes: loop_notes(ir, emitter.plans),
        arm_enums: emitter.arm_enums,
        sweeps,
    }
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
    /// What the analysis stage found; the emitter computes none of it.
    facts: &'a Facts,
    rt: TokenStream,
    /// The path of the runtime's rules in the generated code: `rules`, the alias
    /// [`Emitter::rules_alias`] declares, unless the user's own items take that name.
    rules: TokenStream,
    arm_enums: BTreeSet<usize>,
    /// Branches emitted so far (names their records).
    records: usize,
    /// The tapes of the loops emitted so far.
    tapes: Vec<syn::Ident>,
    /// What each taped loop emitted so far keeps.
    plans: Vec<(LoopId, TapePlan)>,
    /// Whether to write landmarks for a reader (see [`Form::Landmarked`]).
    landmarks: bool,
    /// Adjoints that are another adjoint, unchanged (`d_t = d_u`, an operand of `+` or of a
    /// copy): named by that one instead of being copied into a variable of their own.
    aliases: BTreeMap<VarId, syn::Ident>,
    /// The adjoints declared with `let` and never changed after (the seed among them): an
    /// alias can only stand for one of these.
    settled: BTreeSet<String>,
    /// Loops emitted so far (names their tapes and trip counts).
    loops: usize,
    /// Values the adjoint has taken so far (names them).
    taken: usize,
    /// Arrays stored to by the top-level statement being emitted or by one after it: the
    /// others hold, when its adjoint runs, what they held when it ran (the adjoint never
    /// writes a value array), so what it loads from them can be loaded again.
    stored: BTreeSet<ArrayId>,
    /// Buffers among `stored` that the loops being emitted put back, whole, at the start of
    /// each iteration's adjoint (see `loops::restored_buffers`): loads from them can be
    /// loaded again too.
    restored: BTreeSet<ArrayId>,
    /// The loops whose iterations run their adjoint in the forward sweep.
    fused: &'a BTreeMap<LoopId, fusion::Fused>,
    /// The seed of each result component.
    seed_components: &'a [TokenStream],
    /// For `NAME_jacobian`'s one sweep: the type of its adjoints, `Lanes<T, M>` (see
    /// `runtime::lanes`); `None` for numbers.
    lanes: Option<TokenStream>,
    /// The sums of the fused loop being emitted, whose adjoints the iterations leave as they
    /// are: contributions to them are dropped (see `loops::fused_loop`).
    constant_adjoints: BTreeSet<VarId>,
    /// A twin's literals at its number type (`__Number::from(0.5_f64).unwrap()`) with their
    /// text, in the order met; the `k`-th is bound once at the top of the body as
    /// `naming::twin_constant(k)` (see [`Emitter::twin_constants`]).
    twin_constants: RefCell<Vec<(String, syn::Expr)>>,
}

impl<'a> Emitter<'a> {
    /// An emitter with nothing emitted yet, with adjoints that are numbers rather than lanes
    /// (`pullback_body` sets the lanes of `NAME_jacobian`'s sweep).
    fn new(
        ir: &'a FnIr,
        facts: &'a Facts,
        runtime: &TokenStream,
        fused: &'a BTreeMap<LoopId, fusion::Fused>,
        seed_components: &'a [TokenStream],
    ) -> Self {
        let mut stored = BTreeSet::new();
        ir.body.stored_arrays(&mut stored);
        Emitter {
            ir,
            facts,
            rt: runtime.clone(),
            rules: if defines(ir, "rules") {
                quote!(#runtime::rules)
            } else {
                quote!(rules)
            },
            arm_enums: BTreeSet::new(),
            records: 0,
            tapes: Vec::new(),
            plans: Vec::new(),
            landmarks: false,
            aliases: BTreeMap::new(),
            settled: [naming::seed().to_string()].into_iter().collect(),
            loops: 0,
            taken: 0,
            stored,
            restored: BTreeSet::new(),
            fused,
            seed_components,
            lanes: None,
            constant_adjoints: BTreeSet::new(),
            twin_constants: RefCell::new(Vec::new()),
        }
    }
}

impl Emitter<'_> {
    /// A twin's literals, each bound once where the body starts: the twin's forward and
    /// reverse sweeps read `0.5` dozens of times, and `__Number::from(0.5_f64).unwrap()` is ten
    /// tokens each time (the conversion itself costs nothing at run time).
    fn twin_constants(&self) -> TokenStream {
        let constants = self.twin_constants.borrow();
        let bindings = constants.iter().enumerate().map(|(k, (_, expr))| {
            let name = naming::twin_constant(k);
            quote!(let #name = #expr;)
        });
        bindings.collect()
    }

    /// `use ::differentiate::runtime::rules;` where the generated code calls the rules through
    /// that alias, so that each call reads `rules::sin_x(..)`.
    fn rules_alias(&self) -> TokenStream {
        let rt = &self.rt;
        if self.rules.to_string() == "rules" {
            quote!(use #rt::rules;)
        } else {
            TokenStream::new()
        }
    }

    /// A landmark for a reader of the dumped code, or nothing when not dumping.
    fn landmark(&self, text: &str) -> TokenStream {
        if self.landmarks {
            quote!(landmark!(#text);)
        } else {
            TokenStream::new()
        }
    }

    /// Whether the operand is a tensor or a nalgebra value, borrowed where a number is copied.
    fn is_value(&self, op: &Operand) -> bool {
        op.var().is_some_and(|v| self.facts.kinds[v].is_value())
    }

    /// An operand where the code takes its value: a tensor is cloned (which shares its data),
    /// as is a nalgebra value, because the variable lives on for the adjoint.
    fn value(&self, op: &Operand) -> TokenStream {
        let tokens = self.operand(op);
        if self.is_value(op) {
            quote!(#tokens.clone())
        } else {
            tokens
        }
    }

    /// An operand of arithmetic: a tensor or nalgebra value is borrowed (`&a * &b`), a number
    /// copied.
    fn maybe_borrowed(&self, op: &Operand) -> TokenStream {
        let tokens = self.operand(op);
        if self.is_value(op) {
            quote!(&#tokens)
        } else {
            tokens
        }
    }

    /// The adjoint of `v` taken as a value (a tensor adjoint is cloned, sharing its data).
    fn value_of_adjoint(&self, v: VarId) -> TokenStream {
        let d = self.adjoint(v);
        if self.facts.kinds[v].is_value() {
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
        let kind = self.facts.kinds[v];
        if kind.is_value() {
            let rt = &self.rt;
            let module = syn::Ident::new(kind.rules_module(), Span::call_site());
            let x = self.read(ctx, &Operand::Var(v));
            return quote!(#rt::#module::zeros_like(&#x));
        }
        if self.facts.aggregates.contains(&v) {
            let rt = &self.rt;
            let x = self.read(ctx, &Operand::Var(v));
            return match &self.ir.numbers {
                Numbers::Literal => quote!(#rt::zero_like(&#x)),
                Numbers::Generic(t) => quote!(#rt::zero_like_in::<#t, _>(&#x)),
            };
        }
        self.zero_adjoint()
    }

    /// A number's zero adjoint (all lanes zero in `NAME_jacobian`).
    fn zero_adjoint(&self) -> TokenStream {
        match &self.lanes {
            Some(lanes) => quote!(#lanes::zero()),
            None => self.ir.numbers.zero().into_token_stream(),
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
            // A tensor parameter (by value or `&`) is held as an owned tensor sharing its data,
            // a nalgebra one as an owned copy.
            match slot {
                ParamSlot::Var(p) if self.facts.kinds[p].is_value() => {
                    let ty = &ir.vars[p].ty;
                    code.extend([
                        quote!(let #name = <#ty as ::core::clone::Clone>::clone(&#user);),
                    ]);
                }
                _ => code.extend([quote!(let #name = #user;)]),
            }
        }
        code
    }

    /// `let mut d_a = zeros;` for an active array `a`.
    fn declare_array_adjoint(&self, a: ArrayId) -> TokenStream {
        if !self.facts.activity.active_arrays[a] {
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
        let zero = match (&self.ir.numbers, &array.elem) {
            (Numbers::Literal, Some(elem)) => quote!(0.0 as #elem),
            (numbers, _) => numbers.zero().into_token_stream(),
        };
        match &array.fixed_len {
            Some(len) => quote!([#zero; #len]),
            None => quote!(::std::vec![#zero; #primal.len()]),
        }
    }

    fn primal(&self, v: VarId) -> syn::Ident {
        naming::primal(self.ir, v)
    }

    fn adjoint(&self, v: VarId) -> syn::Ident {
        match self.aliases.get(&v) {
            Some(alias) => alias.clone(),
            None => naming::adjoint(self.ir, v),
        }
    }

    /// An operand in the forward sweep.
    fn operand(&self, op: &Operand) -> TokenStream {
        match op {
            Operand::Var(v) => self.primal(*v).into_token_stream(),
            Operand::Const(expr @ syn::Expr::MethodCall(call))
                if self.ir.twin
                    && matches!(
                        crate::twin::converted_constant(call),
                        Some(syn::Expr::Lit(_))
                    ) =>
            {
                let text = expr.to_token_stream().to_string();
                let mut constants = self.twin_constants.borrow_mut();
                let k = match constants.iter().position(|(t, _)| *t == text) {
                    Some(k) => k,
                    None => {
                        constants.push((text, expr.clone()));
                        constants.len() - 1
                    }
                };
                naming::twin_constant(k).into_token_stream()
            }
            Operand::Const(expr) => match expr {
                // Postfix expressions bind tighter than any operator they meet here.
                syn::Expr::Lit(_)
                | syn::Expr::Path(_)
                | syn::Expr::Call(_)
                | syn::Expr::MethodCall(_) => expr.to_token_stream(),
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
        if !self.facts.activity.active[*v] || self.constant_adjoints.contains(v) {
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
        let d = self.adjoint(*v).into_token_stream();
        self.ir.numbers.add_to(&d, &contribution, negate)
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
        if !self.facts.activity.active[of] {
            return TokenStream::new();
        }
        let mut code = TokenStream::new();
        if ctx.local.contains(&of) {
            if !ctx.mutable.contains(&of) {
                code.extend([self.declare_mutable(ctx, of)]);
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
        code.extend([self.ir.numbers.add_to(&place, &contribution, false)]);
        code
    }

    /// Declares the adjoint of `v` at its definition: the sum of its pending contributions in
    /// forward order. Nothing when there are none (its adjoint is zero, and unused).
    /// An adjoint that is exactly one settled adjoint is not copied: it is that adjoint.
    fn finalize(&mut self, ctx: &mut Ctx, v: VarId) -> TokenStream {
        let Some(mut terms) = ctx.pending.remove(&v) else {
            return TokenStream::new();
        };
        terms.reverse();
        ctx.declared.insert(v);
        if let [term] = terms.as_slice() {
            let mut trees = term.clone().into_iter();
            if let (Some(TokenTree::Ident(same)), None) = (trees.next(), trees.next()) {
                if self.settled.contains(&same.to_string()) {
                    self.aliases.insert(v, same);
                    return TokenStream::new();
                }
            }
        }
        let d = self.adjoint(v);
        self.settled.insert(d.to_string());
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
            // A nalgebra point's adjoint is a vector, not of its type.
            Some(ty) if self.lanes.is_none() && self.facts.kinds[v] != Kind::Linalg => {
                quote!(let mut #d: #ty = #init;)
            }
            _ => quote!(let mut #d = #init;),
        }
    }

    /// The rules of `prim` (binding `var`) whose operand is active: the operand, the rule and
    /// the values it reads (borrowed, for the tensor rules).
    fn prim_rules<'o>(
        &mut self,
        var: VarId,
        prim: &Primitive,
        args: &'o [Operand],
        borrowed: bool,
        ctx: &mut Ctx,
    ) -> Vec<(&'o Operand, syn::Ident, Vec<TokenStream>)> {
        let mut rules = Vec::new();
        for rule in prim.rules {
            let Some(target) = args.get(rule.operand) else {
                continue;
            };
            if !self.facts.activity.is_active(target) {
                continue;
            }
            // `sin x` beside `cos x`: each one's rule reads the other.
            if let (Some(&partner), Some(rule), false) =
                (self.facts.partners.get(&var), &prim.partner, borrowed)
            {
                let read = self.read(ctx, &Operand::Var(partner));
                rules.push((target, format_ident!("{}", rule.func), vec![read]));
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
}

#[cfg(test)]
mod tests;
