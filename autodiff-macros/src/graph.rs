//! `NAME_graph(params..) -> Graph`: the function's computation graph at a point (see
//! `runtime::graph`), from the lowered function and its activity.
//!
//! The body is run as lowered, one primitive per binding, and each active binding records a
//! node: its operation, its value, and along each operand the local partial derivative (the
//! primitive's rule applied to a unit seed, the same rule the reverse sweep applies). Copies
//! and loads record nothing: the variable names the node it copies. A constant an active
//! binding reads becomes a constant node where it is read. Loop iterations and branch arms
//! open clusters, so the graph shows what ran. The recorder accumulates the adjoints at the
//! end, backwards over the recorded edges.
//!
//! ```text
//! fn t(x: f64) -> f64 {                 fn t_graph(x: f64) -> Graph {
//!     let y = x.cos();                      let recording = graph::start("t");
//!     y.tanh()                              let x_0 = x; let x_0_node = graph::input("x", x_0);
//! }                                         let y_1 = x_0.cos();
//!                                           let y_1_node = graph::operation("cos", y_1,
//!                                               [(x_0_node, rules::cos_x(1.0, x_0))]);
//!                                           graph::name(y_1_node, "y");
//!                                           ..
//!                                           graph::finish(recording, &[tanh_2_node])
//!                                       }
//! ```
//!
//! The recording functions (`runtime::graph::record`) keep the recorder in a thread-local
//! rather than in a local of the generated function, which every call would borrow.

use crate::activity::Activity;
use crate::forward;
use crate::ir::*;
use crate::naming;
use crate::primitives::{self, Read};
use crate::signature::{ParamKind, Signature};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use std::collections::BTreeMap;

/// The body of `NAME_graph`.
pub fn graph_body(
    name: &syn::Ident,
    ir: &FnIr,
    activity: &Activity,
    active_params: &[bool],
    float: &str,
    runtime: &TokenStream,
) -> TokenStream {
    let mut components: BTreeMap<VarId, BTreeMap<usize, bool>> = BTreeMap::new();
    ir.body.walk(&mut |stmt| {
        if let Stmt::Let {
            rhs: Rhs::Component {
                of, index, tuple, ..
            },
            ..
        } = stmt
        {
            components.entry(*of).or_default().insert(*index, *tuple);
        }
    });
    let grapher = Grapher {
        ir,
        activity,
        rt: runtime,
        one: ir.numbers.one(),
        float: format_ident!("{}", float),
        components,
    };
    let recorder = recorder();
    let title = name.to_string();
    let params = grapher.params(active_params);
    let body = grapher.block(&ir.body);
    let results: Vec<TokenStream> = ir.result.iter().map(|op| grapher.node(op)).collect();
    let items = &ir.items;
    let imports = if grapher.stores_as_is() {
        quote!(use #runtime::{graph::record as #recorder, rules as __rules};)
    } else {
        quote!(use #runtime::{graph::record as #recorder, graph::value as __value, rules as __rules};)
    };
    quote! {
        #(#items)*
        #imports
        let __recording = #recorder::start(#title);
        #params
        #body
        #recorder::finish(__recording, &[#(#results),*])
    }
}

/// The body of `NAME_graph` for a function whose derivative the user supplied (`vjp = ..`):
/// its inputs and one node, the function itself, with the supplied partials.
pub fn supplied_body(func: &syn::ItemFn, sig: &Signature, runtime: &TokenStream) -> TokenStream {
    let recorder = recorder();
    let name = &func.sig.ident;
    let title = name.to_string();
    let numbers = Numbers::new(sig.floats.generic.as_ref());
    let one = numbers.one();
    let args: Vec<&syn::Ident> = sig.params.iter().map(|p| &p.ident).collect();
    let mut code = quote! {
        use #runtime::graph::record as #recorder;
        let __recording = #recorder::start(#title);
    };
    let mut pushes = TokenStream::new();
    let entries: Vec<TokenStream> = sig
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if !p.active {
                return quote!(_);
            }
            let (ident, label, entry) = (&p.ident, p.ident.to_string(), format_ident!("__entry_{i}"));
            match &p.kind {
                ParamKind::Scalar => {
                    let node = format_ident!("{}_node", ident);
                    code.extend([quote!(let #node = #recorder::input(#label, #runtime::graph::value(&#ident));)]);
                    pushes.extend([quote!(__inputs.push((#node, #runtime::graph::partial(&#entry)));)]);
                }
                _ => {
                    let nodes = format_ident!("{}_nodes", ident);
                    code.extend([quote! {
                        let #nodes: ::std::vec::Vec<usize> = #ident
                            .iter()
                            .enumerate()
                            .map(|(k, v)| #recorder::input(&::std::format!("{}[{}]", #label, k), #runtime::graph::value(v)))
                            .collect();
                    }]);
                    pushes.extend([quote! {
                        for (k, partial) in #runtime::graph::entry_values(&#entry).into_iter().enumerate() {
                            __inputs.push((#nodes[k], partial));
                        }
                    }]);
                }
            }
            entry.into_token_stream()
        })
        .collect();
    let call = crate::emit::sibling(sig, name);
    let pullback = crate::emit::sibling(sig, &naming::pullback_fn(name, name.span()));
    let label = format!("{title} (supplied derivative)");
    quote! {
        #code
        let __value = #call(#(#args),*);
        let (_, (#(#entries,)*)) = #pullback(#(#args,)* #one);
        let mut __inputs: ::std::vec::Vec<(usize, f64)> = ::std::vec::Vec::new();
        #pushes
        let __node = #recorder::operation(#label, #runtime::graph::value(&__value), __inputs);
        #recorder::finish(__recording, &[__node])
    }
}

/// The recording functions' module in the generated function (`runtime::graph::record`).
fn recorder() -> syn::Ident {
    format_ident!("__graph")
}

struct Grapher<'a> {
    ir: &'a FnIr,
    activity: &'a Activity,
    rt: &'a TokenStream,
    one: syn::Expr,
    /// The float type of a function over `f64` or `f32`, which its literals have.
    float: syn::Ident,
    /// Calls whose results are read by component, with the components read (and whether
    /// the result is a tuple).
    components: BTreeMap<VarId, BTreeMap<usize, bool>>,
}

impl Grapher<'_> {
    fn active(&self, v: VarId) -> bool {
        self.activity.active[v]
    }

    fn primal(&self, v: VarId) -> syn::Ident {
        naming::primal(self.ir, v)
    }

    /// The node of variable `v` (an active one).
    fn node_ident(&self, v: VarId) -> syn::Ident {
        format_ident!("{}_node", self.primal(v))
    }

    fn element_nodes(&self, a: ArrayId) -> syn::Ident {
        format_ident!("{}_nodes", naming::array(self.ir, a))
    }

    fn operand(&self, op: &Operand) -> TokenStream {
        match op {
            Operand::Var(v) => self.primal(*v).into_token_stream(),
            Operand::Const(c) => quote!((#c)),
        }
    }

    /// A number as the graph stores it (`__value` is `runtime::graph::value`, imported at
    /// the top of the body to keep the recording short).
    fn value(&self, tokens: TokenStream) -> TokenStream {
        if self.stores_as_is() {
            // Always an argument, so without parentheses.
            return tokens;
        }
        let mut trees = tokens.clone().into_iter();
        let single_ident = matches!(
            (trees.next(), trees.next()),
            (Some(proc_macro2::TokenTree::Ident(_)), None)
        );
        if single_ident {
            quote!(__value(&#tokens))
        } else {
            quote!(__value(&(#tokens)))
        }
    }

    /// Whether the function's numbers are `f64` or `f32`, which the recorder takes as they
    /// are (a generic function's go through `__value`).
    fn stores_as_is(&self) -> bool {
        matches!(self.ir.numbers, Numbers::Literal)
    }

    /// The node an active binding reads for `op`: its own, or a constant node made here.
    fn node(&self, op: &Operand) -> TokenStream {
        let recorder = recorder();
        match op {
            Operand::Var(v) if self.active(*v) => self.node_ident(*v).into_token_stream(),
            Operand::Var(v) => {
                let label = self.label_of(*v);
                let value = self.value(self.primal(*v).into_token_stream());
                quote!(#recorder::constant(#label, #value))
            }
            Operand::Const(c) => {
                let label = c.to_token_stream().to_string();
                let value = self.constant_value(c);
                quote!(#recorder::constant(#label, #value))
            }
        }
    }

    /// The value of `op` as the recorder takes it.
    fn recorded_value(&self, op: &Operand) -> TokenStream {
        match op {
            Operand::Var(v) => self.value(self.primal(*v).into_token_stream()),
            Operand::Const(c) => self.constant_value(c),
        }
    }

    /// A constant's value as the recorder takes it. A literal (`6.0`) has no type of its own
    /// here: it is the function's float, written with its suffix (untyped, it would stay an
    /// inference variable; see `unit_partial`).
    fn constant_value(&self, c: &syn::Expr) -> TokenStream {
        match &self.ir.numbers {
            Numbers::Literal => {
                let float = &self.float;
                match c {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Float(f),
                        ..
                    }) if f.suffix().is_empty() => {
                        let typed = format!("{}_{float}", f.base10_digits());
                        syn::LitFloat::new(&typed, f.span()).into_token_stream()
                    }
                    // (Typed, not cast: it may be `Default::default()`.)
                    _ => quote!(::core::convert::identity::<#float>(#c)),
                }
            }
            Numbers::Generic(_) => self.value(quote!(#c)),
        }
    }

    /// How a constant variable is labelled: the user's name, or what it is.
    fn label_of(&self, v: VarId) -> String {
        let var = &self.ir.vars[v];
        if self.user_named(v) {
            var.hint.clone()
        } else {
            "constant".to_string()
        }
    }

    fn user_named(&self, v: VarId) -> bool {
        let var = &self.ir.vars[v];
        var.named && !var.hint.starts_with("__")
    }

    /// `graph::name(node, "y")` when `v` is a version of the user's variable `y`.
    fn name(&self, v: VarId) -> TokenStream {
        if !self.user_named(v) {
            return TokenStream::new();
        }
        let (recorder, node, name) = (recorder(), self.node_ident(v), &self.ir.vars[v].hint);
        quote!(#recorder::name(#node, #name);)
    }

    /// The parameters bound under their generated names, with an input node for each number
    /// of an active one (one the result does not depend on, too: its adjoint is 0).
    fn params(&self, active_params: &[bool]) -> TokenStream {
        let (ir, recorder) = (self.ir, recorder());
        let mut code = TokenStream::new();
        for (&slot, &wrt) in ir.params.iter().zip(active_params) {
            match slot {
                ParamSlot::Var(p) => {
                    let (name, user) = (
                        self.primal(p),
                        user_ident(&ir.vars[p].hint, ir.vars[p].span),
                    );
                    code.extend([quote!(let #name = #user;)]);
                    if self.active(p) || wrt {
                        let (node, label) = (self.node_ident(p), &ir.vars[p].hint);
                        let value = self.value(name.to_token_stream());
                        code.extend([quote!(let #node = #recorder::input(#label, #value);)]);
                    }
                }
                ParamSlot::Array(a) => {
                    let (name, user) = (
                        naming::array(ir, a),
                        user_ident(&ir.arrays[a].hint, ir.arrays[a].span),
                    );
                    code.extend([quote!(let #name = #user;)]);
                    if self.activity.active_arrays[a] || wrt {
                        let (nodes, label) = (self.element_nodes(a), &ir.arrays[a].hint);
                        let rt = self.rt;
                        code.extend([quote! {
                            let mut #nodes: ::std::vec::Vec<usize> = #name
                                .iter()
                                .enumerate()
                                .map(|(k, v)| #recorder::input(&::std::format!("{}[{}]", #label, k), #rt::graph::value(v)))
                                .collect();
                        }]);
                    }
                }
            }
        }
        code
    }

    fn block(&self, block: &Block) -> TokenStream {
        block.stmts.iter().map(|s| self.stmt(s)).collect()
    }

    fn stmt(&self, stmt: &Stmt) -> TokenStream {
        match stmt {
            Stmt::Let { var, rhs, .. } => self.binding(*var, rhs),
            Stmt::Branch {
                selector,
                arms,
                phis,
                ..
            } => self.branch(selector, arms, phis),
            Stmt::Loop(l) => self.graph_loop(l),
            Stmt::DeclareArray { array, init, vec } => self.declare_array(*array, init, *vec),
            Stmt::Store {
                array,
                index,
                value,
            } => {
                let (name, index_tokens, value_tokens) = (
                    naming::array(self.ir, *array),
                    self.operand(index),
                    self.operand(value),
                );
                let mut code = quote!(#name[#index_tokens] = #value_tokens;);
                if self.activity.active_arrays[*array] {
                    let (nodes, node) = (self.element_nodes(*array), self.node(value));
                    code.extend([quote!(#nodes[#index_tokens] = #node;)]);
                }
                code
            }
            // Statement macros (`println!`) do not run while the graph is recorded.
            Stmt::Effect { .. } => TokenStream::new(),
        }
    }

    /// A binding: its value as the function computes it, and its node.
    fn binding(&self, var: VarId, rhs: &Rhs) -> TokenStream {
        let name = self.primal(var);
        let recorder = recorder();
        let value = self.rhs_value(rhs);
        // Typed as the function types it (see `reverse::stmts::binding`).
        let info = &self.ir.vars[var];
        let mut code = match (&info.ty, info.like) {
            (Some(ty), _) => quote!(let #name: #ty = #value;),
            (None, Some(previous)) if matches!(rhs, Rhs::Use(_)) => {
                let (rt, previous) = (self.rt, self.primal(previous));
                quote!(let #name = #rt::like(&#previous, #value);)
            }
            (None, _) => quote!(let #name = #value;),
        };
        if !self.active(var) {
            return code;
        }
        let node = self.node_ident(var);
        let number = self.value(name.to_token_stream());
        let recorded = match rhs {
            // A copy, a load or a component names the node it reads.
            Rhs::Use(a) => self.node(a),
            Rhs::Load {
                array,
                index,
                guard,
            } => {
                let nodes = self.element_nodes(*array);
                let unused = quote!(#recorder::constant("unused", 0.0_f64));
                forward::load(self.ir, &nodes, self.operand(index), guard.as_ref(), unused)
            }
            Rhs::Component { of, index, .. } => self.component_node(*of, *index),
            Rhs::Neg(a) => operation("-", number, vec![unit_partial(self.node(a), true)]),
            // The recorder's own call per operation (`record::mul` ..), which applies the
            // operation's rules: a graph is mostly these.
            Rhs::Arith(op, a, b) => {
                let (a_node, b_node) = (self.node(a), self.node(b));
                match op {
                    ArithOp::Add => quote!(#recorder::add(#number, #a_node, #b_node)),
                    ArithOp::Sub => quote!(#recorder::sub(#number, #a_node, #b_node)),
                    ArithOp::Mul => {
                        let (a, b) = (self.recorded_value(a), self.recorded_value(b));
                        quote!(#recorder::mul(#number, #a_node, #a, #b_node, #b))
                    }
                    ArithOp::Div => {
                        let b = self.recorded_value(b);
                        quote!(#recorder::div(#number, #a_node, #b_node, #b))
                    }
                }
            }
            Rhs::Prim { prim, args, .. } => {
                let label = prim_label(prim.name, args);
                operation(&label, number, self.rule_inputs(var, prim, args))
            }
            Rhs::Cast { arg, ty } => {
                let label = format!("as {}", ty.to_token_stream());
                operation(&label, number, vec![unit_partial(self.node(arg), false)])
            }
            Rhs::Call { callee, args, .. } => {
                if let Some(read) = self.components.get(&var) {
                    // Read by component: each component read is a node of its own.
                    for (&k, &tuple) in read {
                        let component = self.component_node(var, k);
                        let label = format!("{}(..).{k}", callee_name(callee));
                        let part = forward::component(&name, k, tuple, None);
                        let number = self.value(part);
                        let rt = self.rt;
                        let inputs =
                            self.call_inputs(callee, args, quote!(#rt::graph::unit_seed(#k)));
                        code.extend([quote!(let #component = #recorder::operation(#label, #number, #inputs);)]);
                    }
                    return code;
                }
                let label = format!("{}(..)", callee_name(callee));
                let one = &self.one;
                let inputs = self.call_inputs(callee, args, quote!(#one));
                quote!(#recorder::operation(#label, #number, #inputs))
            }
            Rhs::Len(_) | Rhs::Passive(_) => return code,
        };
        let named = self.name(var);
        code.extend([quote!(let #node = #recorded; #named)]);
        code
    }
}

impl Grapher<'_> {
    /// The value a binding computes, as the function computes it.
    fn rhs_value(&self, rhs: &Rhs) -> TokenStream {
        match rhs {
            Rhs::Use(a) => self.operand(a),
            Rhs::Neg(a) => {
                let a = self.operand(a);
                quote!(-#a)
            }
            Rhs::Arith(op, a, b) => forward::arith(*op, self.operand(a), self.operand(b)),
            Rhs::Prim {
                form, args, refs, ..
            } => {
                let args: Vec<TokenStream> = args
                    .iter()
                    .zip(refs)
                    .map(|(a, by_ref)| {
                        let a = self.operand(a);
                        if *by_ref {
                            quote!(&#a)
                        } else {
                            a
                        }
                    })
                    .collect();
                forward::prim_call(form, args)
            }
            // `T::from(x)` of an active `x`, which is a `T` already.
            Rhs::Cast { arg, ty }
                if self.ir.numbers.is_generic(ty) && self.activity.is_active(arg) =>
            {
                self.operand(arg)
            }
            Rhs::Cast { arg, ty } if self.ir.numbers.is_generic(ty) => {
                let (arg, rt) = (self.operand(arg), self.rt);
                quote!(#rt::cast::<#ty, _>(#arg))
            }
            Rhs::Cast { arg, ty } => {
                let arg = self.operand(arg);
                quote!(#arg as #ty)
            }
            Rhs::Call { callee, args, .. } => {
                let args = args.iter().map(|a| self.call_arg(a));
                match callee {
                    Callee::Function(path) => quote!(#path(#(#args),*)),
                    Callee::SelfMethod(method) => quote!(self.#method(#(#args),*)),
                }
            }
            Rhs::Load {
                array,
                index,
                guard,
            } => {
                let (array, index) = (naming::array(self.ir, *array), self.operand(index));
                let zero = self.ir.numbers.zero().into_token_stream();
                forward::load(self.ir, &array, index, guard.as_ref(), zero)
            }
            Rhs::Component {
                of,
                index,
                tuple,
                field,
            } => forward::component(&self.primal(*of), *index, *tuple, field.as_ref()),
            Rhs::Len(a) => {
                let array = naming::array(self.ir, *a);
                quote!(#array.len())
            }
            Rhs::Passive(p) => forward::resolve(self.ir, p.expr.to_token_stream()),
        }
    }

    /// A call's argument, as the function passes it.
    fn call_arg(&self, arg: &CallArg) -> TokenStream {
        match arg {
            CallArg::Value(op) => self.operand(op),
            CallArg::Ref(op) => {
                let op = self.operand(op);
                quote!(&#op)
            }
            CallArg::Array {
                array,
                by_ref,
                range,
            } => {
                let name = naming::array(self.ir, *array);
                match range {
                    Some((start, len)) => {
                        let part = forward::sub_slice(
                            name.into_token_stream(),
                            self.operand(start),
                            self.operand(len),
                        );
                        quote!(&#part)
                    }
                    None if *by_ref => quote!(&#name),
                    None => quote!(#name),
                }
            }
        }
    }

    /// `(node, ∂value/∂operand)` of each operand a primitive has a rule for: the rule applied to
    /// a unit seed.
    fn rule_inputs(
        &self,
        var: VarId,
        prim: &primitives::Primitive,
        args: &[Operand],
    ) -> Vec<TokenStream> {
        let (one, rt) = (&self.one, self.rt);
        prim.rules
            .iter()
            .filter_map(|rule| {
                let target = args.get(rule.operand)?;
                let reads = rule.reads.iter().map(|r| match r {
                    Read::Operand(i) => self.operand(&args[*i]),
                    Read::Output => self.primal(var).into_token_stream(),
                });
                // The seed takes its type from a variable the rule reads. A rule reading only
                // constants (`∂(0.1·x)/∂x`) takes the binding's own type instead: untyped, the
                // seed would stay an inference variable (see `unit_partial`).
                let reads_a_variable = rule.reads.iter().any(|r| match r {
                    Read::Operand(i) => matches!(args[*i], Operand::Var(_)),
                    Read::Output => true,
                });
                let seed = if reads_a_variable {
                    one.to_token_stream()
                } else {
                    let output = self.primal(var);
                    quote!(#rt::like(&#output, #one))
                };
                let func = format_ident!("{}", rule.func);
                let partial = self.value(quote!(__rules::#func(#seed #(, #reads)*)));
                let node = self.node(target);
                Some(quote!((#node, #partial)))
            })
            .collect()
    }

    /// `(node, partial)` of each active argument of a call: the callee's pullback at `seed`.
    fn call_inputs(&self, callee: &Callee, args: &[CallArg], seed: TokenStream) -> TokenStream {
        let rt = self.rt;
        let entries: Vec<syn::Ident> = (0..args.len())
            .map(|i| format_ident!("__entry_{i}"))
            .collect();
        let patterns = args.iter().zip(&entries).map(|(a, e)| {
            if self.activity.is_active_arg(a) {
                e.into_token_stream()
            } else {
                quote!(_)
            }
        });
        let call_args = args.iter().map(|a| self.call_arg(a));
        let pullback = match callee {
            Callee::Function(path) => {
                let mut path = path.clone();
                if let Some(last) = path.path.segments.last_mut() {
                    last.ident = naming::pullback_fn(&last.ident, last.ident.span());
                }
                quote!(#path(#(#call_args,)* #seed))
            }
            Callee::SelfMethod(method) => {
                let pullback = naming::pullback_fn(method, method.span());
                quote!(self.#pullback(#(#call_args,)* #seed))
            }
        };
        let mut pushes = TokenStream::new();
        for (arg, entry) in args.iter().zip(&entries) {
            if !self.activity.is_active_arg(arg) {
                continue;
            }
            match arg {
                CallArg::Value(op) | CallArg::Ref(op) => {
                    let node = self.node(op);
                    pushes.extend([quote!(__inputs.push((#node, #rt::graph::partial(&#entry)));)]);
                }
                CallArg::Array { array, range, .. } => {
                    let nodes = self.element_nodes(*array);
                    let start = match range {
                        Some((start, _)) => self.operand(start),
                        None => quote!(0),
                    };
                    pushes.extend([quote! {
                        for (k, partial) in #rt::graph::entry_values(&#entry).into_iter().enumerate() {
                            __inputs.push((#nodes[#start + k], partial));
                        }
                    }]);
                }
            }
        }
        quote!({
            let (_, (#(#patterns,)*)) = #pullback;
            let mut __inputs: ::std::vec::Vec<(usize, f64)> = ::std::vec::Vec::new();
            #pushes
            __inputs
        })
    }

    /// The node of component `k` of call `of`.
    fn component_node(&self, of: VarId, k: usize) -> TokenStream {
        format_ident!("{}_component_{}_node", self.primal(of), k).into_token_stream()
    }

    /// A branch: the arm that runs records its nodes inside a cluster, and the variables
    /// joined after it take the arm's values and nodes.
    fn branch(&self, selector: &Selector, arms: &[Block], phis: &[Phi]) -> TokenStream {
        let recorder = recorder();
        let mut declare = TokenStream::new();
        for phi in phis {
            let name = self.primal(phi.var);
            declare.extend([quote!(let #name;)]);
            if self.active(phi.var) {
                let node = self.node_ident(phi.var);
                declare.extend([quote!(let #node;)]);
            }
        }
        let bodies: Vec<TokenStream> = arms
            .iter()
            .enumerate()
            .map(|(k, arm)| {
                let label = match selector {
                    Selector::If(_) if k == 0 => "if: then".to_string(),
                    Selector::If(_) => "if: else".to_string(),
                    Selector::Match { .. } => format!("match: arm {}", k + 1),
                };
                let statements = self.block(arm);
                let mut join = TokenStream::new();
                for phi in phis {
                    let (name, src) = (self.primal(phi.var), self.operand(&phi.srcs[k]));
                    join.extend([quote!(#name = #src;)]);
                    if self.active(phi.var) {
                        let (node, src_node, named) = (
                            self.node_ident(phi.var),
                            self.node(&phi.srcs[k]),
                            self.name(phi.var),
                        );
                        join.extend([quote!(#node = #src_node; #named)]);
                    }
                }
                quote!({
                    #recorder::enter(::std::string::String::from(#label));
                    #statements
                    #join
                    #recorder::leave();
                })
            })
            .collect();
        let dispatch = forward::dispatch(self.ir, selector, &bodies, |op| self.operand(op));
        quote!(#declare #dispatch)
    }

    /// A loop: each iteration that runs records its nodes inside a cluster; the carried
    /// variables take their next values and nodes at the end of it.
    fn graph_loop(&self, l: &Loop) -> TokenStream {
        let recorder = recorder();
        let mut before = TokenStream::new();
        let mut next = TokenStream::new();
        let mut after = TokenStream::new();
        for c in &l.carried {
            let (header, init) = (self.primal(c.header), self.operand(&c.init));
            before.extend([quote!(let mut #header = #init;)]);
            let (next_value, exit) = (self.operand(&c.next), self.primal(c.exit));
            next.extend([quote!(#header = #next_value;)]);
            after.extend([quote!(let #exit = #header;)]);
            if self.active(c.header) {
                let (node, init_node) = (self.node_ident(c.header), self.node(&c.init));
                before.extend([quote!(let mut #node = #init_node;)]);
                let next_node = self.node(&c.next);
                next.extend([quote!(#node = #next_node;)]);
                if self.active(c.exit) {
                    let (exit_node, named) = (self.node_ident(c.exit), self.name(c.exit));
                    after.extend([quote!(let #exit_node = #node; #named)]);
                }
            }
        }
        let iteration = format_ident!("__iteration_{}", l.id.0);
        let head = self.block(&l.head);
        let check = l.cond.as_ref().map(|cond| {
            let cond = self.operand(cond);
            quote!(if !(#cond) { break; })
        });
        let body = self.block(&l.body);
        let stop = l.stop.as_ref().map(|stop| {
            let stop = self.operand(stop);
            quote!(if #stop { break; })
        });
        let (label, header) = match &l.kind {
            LoopKind::Range { index, iter, .. } => {
                let (index, hint) = (self.primal(*index), &self.ir.vars[*index].hint);
                let iter = forward::resolve(self.ir, iter.to_token_stream());
                let label = format!("for {hint} = {{}}");
                (
                    quote!(::std::format!(#label, #index)),
                    quote!(for #index in #iter),
                )
            }
            LoopKind::Conditional => {
                let label = if l.cond.is_some() {
                    "while, iteration {}"
                } else {
                    "loop, iteration {}"
                };
                (quote!(::std::format!(#label, #iteration)), quote!(loop))
            }
        };
        quote! {
            #before
            let mut #iteration: usize = 0;
            #header {
                #head
                #check
                #recorder::enter(#label);
                #body
                #next
                #recorder::leave();
                #iteration += 1;
                #stop
            }
            let _ = #iteration;
            #after
        }
    }

    /// A local buffer, and a node for each of its elements when it is active.
    fn declare_array(&self, array: ArrayId, init: &ArrayInit, vec: bool) -> TokenStream {
        let name = naming::array(self.ir, array);
        let (values, nodes) = match init {
            ArrayInit::Repeat { value, len } => {
                let (v, len) = (self.operand(value), self.operand(len));
                let node = self.node(value);
                (quote!(#v; #len), quote!(::std::vec![#node; #len]))
            }
            ArrayInit::Elements(elements) => {
                let values = elements.iter().map(|e| self.operand(e));
                let nodes = elements.iter().map(|e| self.node(e));
                (quote!(#(#values),*), quote!(::std::vec![#(#nodes),*]))
            }
        };
        // The user's element type, where they gave one, keeps the elements' methods resolvable.
        let info = &self.ir.arrays[array];
        let annotation = match (&info.elem, &info.fixed_len, vec) {
            (Some(elem), _, true) => quote!(: ::std::vec::Vec<#elem>),
            (Some(elem), Some(len), false) => quote!(: [#elem; #len]),
            _ => TokenStream::new(),
        };
        let mut code = if vec {
            quote!(let mut #name #annotation = ::std::vec![#values];)
        } else {
            quote!(let mut #name #annotation = [#values];)
        };
        if self.activity.active_arrays[array] {
            let element_nodes = self.element_nodes(array);
            code.extend([quote!(let mut #element_nodes: ::std::vec::Vec<usize> = #nodes;)]);
        }
        code
    }
}

/// `__graph::operation(label, value, [inputs])` (an input recording a constant node records
/// it first, as arguments are evaluated before the call).
fn operation(label: &str, number: TokenStream, inputs: Vec<TokenStream>) -> TokenStream {
    let recorder = recorder();
    if inputs.is_empty() {
        // (A step function's: no partials, whose type would be left to infer.)
        return quote!(#recorder::operation::<f64>(#label, #number, []));
    }
    quote!(#recorder::operation(#label, #number, [#(#inputs),*]))
}

/// `(node, ±1)`, the partial of `+`, `-` and casts. Typed: a bare `1.0` handed to the
/// recorder's generic partial type stays an inference variable to the end of the function,
/// a pending bound rustc examines again at every later statement (checking a long
/// `NAME_graph` was quadratic).
fn unit_partial(node: TokenStream, negated: bool) -> TokenStream {
    if negated {
        quote!((#node, -1.0_f64))
    } else {
        quote!((#node, 1.0_f64))
    }
}

/// The user's parameter name (raw identifiers kept raw).
fn user_ident(hint: &str, span: proc_macro2::Span) -> syn::Ident {
    match hint.strip_prefix("r#") {
        Some(raw) => syn::Ident::new_raw(raw, span),
        None => syn::Ident::new(hint, span),
    }
}

/// `powi(·, 3)`, `sin`: how a primitive is labelled.
fn prim_label(name: &str, args: &[Operand]) -> String {
    let constants: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| match a {
            Operand::Const(c) => c.to_token_stream().to_string(),
            Operand::Var(_) => "·".to_string(),
        })
        .collect();
    if constants.is_empty() {
        name.to_string()
    } else {
        format!("{name}(·, {})", constants.join(", "))
    }
}

fn callee_name(callee: &Callee) -> String {
    match callee {
        Callee::Function(path) => path
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        Callee::SelfMethod(method) => format!("self.{method}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::errors::Errors;
    use crate::{analysis, lower};

    /// `NAME_graph`'s body for `source`, as text.
    fn graph_text(source: &str, float: &str) -> String {
        let (ir, _, active) = lower::lower_source("", source);
        let values = analysis::values(&ir, &active, &mut Errors::default());
        let name = syn::Ident::new("f", proc_macro2::Span::call_site());
        let runtime = quote::quote!(::differentiate::runtime);
        super::graph_body(&name, &ir, &values.activity, &active, float, &runtime).to_string()
    }

    #[test]
    fn nothing_handed_to_a_generic_parameter_is_left_untyped() {
        // An untyped `1.0` handed to the recorder's `impl Into<f64>`, or to a rule whose other
        // operands are constants, stays an inference variable to the end of the function,
        // which made checking a long `NAME_graph` quadratic (8 s for 1000 statements).
        let source = "fn f(x: f64, y: f64) -> f64 {
            let a = x + y - x * y;
            let b = -(a / 2.0) + 0.5 * x + (0.5 * 3.0).exp();
            let c = b as f64;
            c.powi(2)
        }";
        for float in ["f64", "f32"] {
            let text = graph_text(&source.replace("f64", float), float).replace(' ', "");
            // Unit partials: `(node, 1.0_f64)`, `(node, -1.0_f64)`.
            assert!(text.contains("1.0_f64)"), "{text}");
            assert!(
                !text.contains("_node,1.0)") && !text.contains("_node,-1.0)"),
                "{text}"
            );
            // Seeds: typed by a variable the rule reads, or by the binding itself.
            for call in text.split("__rules::").skip(1) {
                let args = &call[call.find('(').unwrap() + 1..];
                if let Some(rest) = args.strip_prefix("1.0,") {
                    // The other arguments, up to the call's closing parenthesis.
                    let mut depth = 0;
                    let end = rest
                        .char_indices()
                        .find(|&(_, c)| {
                            depth += match c {
                                '(' => 1,
                                ')' => -1,
                                _ => 0,
                            };
                            depth < 0
                        })
                        .map_or(rest.len(), |(i, _)| i);
                    assert!(
                        rest[..end].chars().any(char::is_alphabetic),
                        "a seed typed by constants only: {call}"
                    );
                }
            }
            // The arithmetic recorders' values: `2.0_f64`, never a bare `2.0` or `(2.0)`.
            assert!(text.contains(&format!(",2.0_{float})")), "{text}");
            for op in ["add", "sub", "mul", "div"] {
                for call in text.split(&format!("__graph::{op}(")).skip(1) {
                    let args = &call[..call.find(");").unwrap()];
                    for arg in args.split(',') {
                        let bare = arg.trim_matches(|c| c == '(' || c == ')');
                        assert!(
                            bare.parse::<f64>().is_err(),
                            "an untyped value handed to `{op}`: {call}"
                        );
                    }
                }
            }
        }
    }
}
