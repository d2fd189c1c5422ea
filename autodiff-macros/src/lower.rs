//! Lowering: the user's function body (`syn`) into the intermediate form ([`crate::ir`]).
//!
//! Entry point: [`lower`]. Each nested expression becomes one binding per primitive; each
//! assignment to a user variable makes a new version of it, tracked by a scope stack that
//! follows Rust's shadowing; arms of `if` and `match` are lowered from the same starting
//! scopes and joined by phis. Early `return` becomes an assignment of hidden result
//! variables plus a `done` flag, and the statements after a statement that may return run
//! under `if !done`, so every construct keeps one entry and one exit.
//!
//! Loops (in [`loops`]) take the same single-exit form: `break` and `continue` set flags
//! that skip the rest of the iteration, and the variables the body assigns are carried from
//! one iteration to the next. Arrays are locations rather than values: loads and stores name
//! them, and iterator forms (`x.iter().map(..).sum()`, `for v in x.iter()`) become index loops.
//!
//! Nothing here decides what is active: constructs are lowered the same whether their
//! operands turn out active or constant, and the activity pass reports the ones that need a
//! derivative they do not have.

use crate::errors::Errors;
use crate::ir::*;
use crate::primitives;
use crate::signature::{is_float_type, ParamKind, Signature};
use std::collections::BTreeSet;
use std::rc::Rc;

mod loops;
pub use loops::parse_array_marker;
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat};

/// The hidden user-level variables of early return. `#` keeps them apart from any identifier.
const DONE: &str = "#done";

fn ret_name(k: usize) -> String {
    format!("#ret{k}")
}

#[derive(Clone)]
enum Binding {
    Var(VarId),
    /// Declared with `let x;` and not assigned on this path yet.
    Uninit,
    /// A slice, array or local buffer of floats.
    Array(ArrayId),
    /// `let f = |t| ..;`: inlined where it is called.
    /// With the scopes it was defined in: its free variables are the ones it captured.
    Closure(Rc<(syn::ExprClosure, Scopes)>),
}

impl PartialEq for Binding {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Binding::Var(a), Binding::Var(b)) => a == b,
            (Binding::Uninit, Binding::Uninit) => true,
            (Binding::Array(a), Binding::Array(b)) => a == b,
            (Binding::Closure(a), Binding::Closure(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The `break` and `continue` flags of the loop being lowered (hidden user-level variables,
/// present when its body uses them).
struct LoopFrame {
    brk: Option<String>,
    cont: Option<String>,
}

#[derive(Clone)]
struct Local {
    name: String,
    binding: Binding,
    /// The declared type, given to every version of the variable.
    ty: Option<syn::Type>,
}

type Scopes = Vec<Vec<Local>>;

/// Where one arm of a branch comes from.
enum ArmSource<'s> {
    Block(&'s syn::Block),
    Expr(&'s Expr),
    /// The statements after one that may return, run only if it did not.
    Rest(&'s [syn::Stmt], bool),
    /// A `match` arm, with the bindings of its pattern.
    MatchArm(ArmBody<'s>, Vec<Local>),
    Empty,
}

struct Lowerer<'e> {
    ir: FnIr,
    errors: &'e mut Errors,
    scopes: Scopes,
    /// Whether the body has an early `return` (then results go through `#ret*`).
    returns: bool,
    components: usize,
    /// Loops around the code being lowered, innermost last.
    loops: Vec<LoopFrame>,
    /// How many branch arms or loop bodies enclose the code being lowered.
    nesting: usize,
    /// Variables standing for a reference to an element (`v` in `for v in x.iter()`): `*v`
    /// is the variable itself.
    element_refs: BTreeSet<VarId>,
}

/// Lowers the body of a function whose signature has been analysed.
pub fn lower(func: &syn::ItemFn, sig: &Signature, errors: &mut Errors) -> FnIr {
    let mut lowerer = Lowerer {
        ir: FnIr {
            vars: Vec::new(),
            arrays: Vec::new(),
            params: Vec::new(),
            items: Vec::new(),
            body: Block::default(),
            result: Vec::new(),
        },
        errors,
        scopes: vec![Vec::new()],
        returns: loops::ExitFinder::in_block(&func.block).returns,
        components: sig.output.as_ref().map_or(1, |o| o.components()),
        loops: Vec::new(),
        nesting: 0,
        element_refs: BTreeSet::new(),
    };
    for param in &sig.params {
        let name = param.ident.to_string();
        let span = param.ident.span();
        match &param.kind {
            ParamKind::Slice { elem } | ParamKind::Array { elem, .. } => {
                let fixed_len = match &param.kind {
                    ParamKind::Array { len, .. } => Some(len.clone()),
                    _ => None,
                };
                let array = lowerer
                    .ir
                    .new_array(&name, Some(elem.clone()), fixed_len, span);
                lowerer.ir.params.push(ParamSlot::Array(array));
                lowerer.declare(&name, Binding::Array(array), None);
            }
            ParamKind::Tensor { ty } => {
                // Bound as an owned tensor (a shared reference to the same data).
                let var = lowerer.ir.new_var(&name, Some(ty.clone()), span);
                lowerer.ir.params.push(ParamSlot::Var(var));
                lowerer.declare(&name, Binding::Var(var), Some(ty.clone()));
            }
            ParamKind::Scalar | ParamKind::Constant => {
                let var = lowerer.ir.new_var(&name, Some(param.ty.clone()), span);
                lowerer.ir.params.push(ParamSlot::Var(var));
                lowerer.declare(&name, Binding::Var(var), Some(param.ty.clone()));
            }
        }
    }
    let mut body = Block::default();
    if lowerer.returns {
        let done = lowerer.constant_var("done", syn::parse_quote!(false), &mut body);
        lowerer.declare(DONE, Binding::Var(done), None);
        for k in 0..lowerer.components {
            let ty = sig.output.as_ref().map(|o| o.component_type(k).clone());
            lowerer.declare(&ret_name(k), Binding::Uninit, ty);
        }
        lowerer.lower_stmts(&func.block.stmts, &mut body, 0, true);
        lowerer.ir.result = (0..lowerer.components)
            .map(|k| match lowerer.lookup(&ret_name(k)) {
                Some(Binding::Var(v)) => Operand::Var(v),
                _ => dummy(),
            })
            .collect();
    } else {
        let want = lowerer.components;
        let value = lowerer.lower_stmts(&func.block.stmts, &mut body, want, false);
        lowerer.ir.result = value.unwrap_or_else(|| vec![dummy(); want]);
        if lowerer.ir.result.len() != want {
            lowerer.ir.result.resize(want, dummy());
        }
    }
    lowerer.ir.body = body;
    lowerer.ir
}

/// `T` of `Vec<T>`, `[T; N]` or `&[T]` when `T` is a float.
fn element_type(ty: &syn::Type) -> Option<syn::Type> {
    match ty {
        syn::Type::Array(a) if is_float_type(&a.elem) => Some((*a.elem).clone()),
        syn::Type::Slice(s) if is_float_type(&s.elem) => Some((*s.elem).clone()),
        syn::Type::Reference(r) => element_type(&r.elem),
        syn::Type::Path(p) => {
            let last = p.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            match args.args.first()? {
                syn::GenericArgument::Type(t) if last.ident == "Vec" && is_float_type(t) => {
                    Some(t.clone())
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether an element of an array literal is evidently a float: a float literal (possibly
/// negated), a float-typed expression or a local variable (the literal's other elements
/// being floats is what makes a float buffer).
fn looks_float(expr: &Expr, lowerer: &Lowerer<'_>) -> bool {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Float(_),
            ..
        }) => true,
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => matches!(i.suffix(), "f32" | "f64"),
        Expr::Unary(u) => looks_float(&u.expr, lowerer),
        Expr::Paren(p) => looks_float(&p.expr, lowerer),
        Expr::Cast(c) => is_float_type(&c.ty),
        Expr::Path(p) => p
            .path
            .get_ident()
            .is_some_and(|i| matches!(lowerer.lookup(&i.to_string()), Some(Binding::Var(_)))),
        Expr::Binary(_) | Expr::MethodCall(_) | Expr::Call(_) | Expr::Index(_) => true,
        _ => false,
    }
}

/// A named constant, possibly negated (`PI`, `-FRAC_PI_4`, `K`): neutral in a buffer literal.
fn is_constant_path(expr: &Expr) -> bool {
    match expr {
        Expr::Path(_) | Expr::Const(_) => true,
        Expr::Unary(u) => matches!(u.op, syn::UnOp::Neg(_)) && is_constant_path(&u.expr),
        Expr::Paren(p) => is_constant_path(&p.expr),
        _ => false,
    }
}

/// An operand inside a kept expression: a variable's marker, or the constant itself.
fn operand_tokens(op: &Operand) -> TokenStream {
    match op {
        Operand::Var(v) => var_marker(*v),
        Operand::Const(expr) => expr.to_token_stream(),
    }
}

/// `k` in `q[k]`, when it is an integer literal.
fn literal_index(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse().ok(),
        _ => None,
    }
}

/// A placeholder for a value on a path that never uses it (after `return`, or before a
/// deferred `let x;` is assigned). It carries no derivative.
fn dummy() -> Operand {
    Operand::Const(syn::parse_quote!(::core::default::Default::default()))
}

impl Lowerer<'_> {
    // ----------------------------------------------------------------------------------
    // Scopes
    // ----------------------------------------------------------------------------------

    fn declare(&mut self, name: &str, binding: Binding, ty: Option<syn::Type>) {
        let scope = self
            .scopes
            .last_mut()
            .expect("the function scope is never popped");
        scope.push(Local {
            name: name.to_string(),
            binding,
            ty,
        });
    }

    fn find(&self, name: &str) -> Option<(usize, usize)> {
        for (si, scope) in self.scopes.iter().enumerate().rev() {
            if let Some(li) = scope.iter().rposition(|l| l.name == name) {
                return Some((si, li));
            }
        }
        None
    }

    fn lookup(&self, name: &str) -> Option<Binding> {
        self.find(name)
            .map(|(si, li)| self.scopes[si][li].binding.clone())
    }

    /// Binds the user variable `name` to a new version computed by `rhs`.
    fn assign(&mut self, name: &str, op: Operand, span: Span, out: &mut Block) {
        let Some((si, li)) = self.find(name) else {
            return;
        };
        let ty = self.scopes[si][li].ty.clone();
        let hint = name.trim_start_matches('#');
        // A new version of a variable of no declared type takes the type of the version it
        // replaces, as the user's one variable has one type (`v = 2.5 / 3.0` must not leave
        // `v` an ambiguous float).
        let like = match (&ty, &self.scopes[si][li].binding) {
            (None, Binding::Var(previous)) => Some(*previous),
            _ => None,
        };
        let var = self.ir.new_var(hint, ty, span);
        self.ir.vars[var].like = like;
        out.stmts.push(Stmt::Let {
            var,
            rhs: Rhs::Use(op),
            span,
        });
        self.scopes[si][li].binding = Binding::Var(var);
    }

    fn local_ident(expr: &Expr) -> Option<&syn::Ident> {
        match expr {
            Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => p.path.get_ident(),
            Expr::Paren(p) => Self::local_ident(&p.expr),
            _ => None,
        }
    }

    // ----------------------------------------------------------------------------------
    // Bindings
    // ----------------------------------------------------------------------------------

    fn bind(&mut self, hint: &str, rhs: Rhs, span: Span, out: &mut Block) -> Operand {
        let var = self.ir.new_var(hint, None, span);
        out.stmts.push(Stmt::Let { var, rhs, span });
        Operand::Var(var)
    }

    fn constant_var(&mut self, hint: &str, expr: Expr, out: &mut Block) -> VarId {
        let span = expr.span();
        let var = self.ir.new_var(hint, None, span);
        out.stmts.push(Stmt::Let {
            var,
            rhs: Rhs::Use(Operand::Const(expr)),
            span,
        });
        var
    }

    /// A value computed as written (locals renamed), with no derivative.
    fn passive(&mut self, expr: &Expr, kind: PassiveKind, out: &mut Block) -> Operand {
        let span = expr.span();
        self.passive_at(expr, kind, span, out)
    }

    /// [`Self::passive`], reported at `span` (the user's tokens, before renaming).
    fn passive_at(
        &mut self,
        expr: &Expr,
        kind: PassiveKind,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let (expr, uses, arrays) = self.rename_all(expr);
        if uses.is_empty() && arrays.is_empty() && matches!(kind, PassiveKind::Discrete) {
            return Operand::Const(expr);
        }
        let passive = Passive {
            expr,
            uses,
            arrays,
            kind,
        };
        self.bind("p", Rhs::Passive(passive), span, out)
    }

    fn opaque(
        &mut self,
        expr: &Expr,
        what: impl Into<String>,
        fix: impl Into<String>,
        out: &mut Block,
    ) -> Operand {
        let span = expr.span();
        self.opaque_at(expr, span, what, fix, out)
    }

    fn opaque_at(
        &mut self,
        expr: &Expr,
        span: Span,
        what: impl Into<String>,
        fix: impl Into<String>,
        out: &mut Block,
    ) -> Operand {
        let kind = PassiveKind::Opaque {
            what: what.into(),
            fix: fix.into(),
        };
        self.passive_at(expr, kind, span, out)
    }

    fn unsupported(&mut self, node: impl ToTokens, what: &str, fix: &str) -> Operand {
        self.errors.spanned(
            node,
            format!(
                "{what} {} not supported in a `#[differentiate]` function; {fix}",
                if what.ends_with('s') { "are" } else { "is" }
            ),
        );
        dummy()
    }

    // ----------------------------------------------------------------------------------
    // Statements and blocks
    // ----------------------------------------------------------------------------------

    /// Lowers a statement list in a new scope. With `want > 0` the tail expression gives
    /// that many components; with `tail_returns` the tail is the function's result. Returns
    /// `None` when the list ends in `return` (its value is never used).
    fn lower_stmts(
        &mut self,
        stmts: &[syn::Stmt],
        out: &mut Block,
        want: usize,
        tail_returns: bool,
    ) -> Option<Vec<Operand>> {
        self.scopes.push(Vec::new());
        let value = self.lower_stmts_in_scope(stmts, out, want, tail_returns);
        self.scopes.pop();
        value
    }

    fn lower_stmts_in_scope(
        &mut self,
        stmts: &[syn::Stmt],
        out: &mut Block,
        want: usize,
        tail_returns: bool,
    ) -> Option<Vec<Operand>> {
        // Items are visible in the whole block: emit them once, ahead of everything.
        for stmt in stmts {
            if let syn::Stmt::Item(item) = stmt {
                self.ir.items.push(item.clone());
            }
        }
        let is_code = |s: &syn::Stmt| !matches!(s, syn::Stmt::Item(_));
        for (i, stmt) in stmts.iter().enumerate() {
            if !is_code(stmt) {
                continue;
            }
            let rest = &stmts[i + 1..];
            let is_last = !rest.iter().any(is_code);
            if is_last {
                if let syn::Stmt::Expr(expr, None) = stmt {
                    if tail_returns {
                        self.lower_return(expr, out);
                        return None;
                    }
                    if want > 0 {
                        return Some(self.lower_expr_n(expr, want, out));
                    }
                    self.lower_effect(expr, out);
                    return Some(Vec::new());
                }
            }
            if let syn::Stmt::Expr(
                exit @ (Expr::Return(_) | Expr::Break(_) | Expr::Continue(_)),
                _,
            ) = stmt
            {
                self.lower_exit(exit, out);
                return None;
            }
            self.lower_stmt(stmt, out);
            if !is_last && self.may_exit(stmt) {
                return self.lower_rest_unless_exited(rest, out, want, tail_returns, stmt.span());
            }
        }
        if tail_returns {
            self.errors.at(
                Span::call_site(),
                "the function body must end with the returned value",
            );
            return None;
        }
        Some(vec![dummy(); want])
    }

    /// Whether `stmt` may leave the current block early: `return`, or `break`/`continue`
    /// of the innermost loop.
    fn may_exit(&self, stmt: &syn::Stmt) -> bool {
        let exits = loops::ExitFinder::in_stmt(stmt);
        (self.returns && exits.returns)
            || (!self.loops.is_empty() && (exits.breaks || exits.continues))
    }

    /// The flags that say the rest of the current block must not run: `done`, and the
    /// innermost loop's `break` and `continue` flags.
    fn exit_flags(&self) -> Vec<VarId> {
        let mut names = Vec::new();
        if self.returns {
            names.push(DONE.to_string());
        }
        if let Some(frame) = self.loops.last() {
            names.extend(frame.brk.iter().cloned());
            names.extend(frame.cont.iter().cloned());
        }
        names
            .iter()
            .filter_map(|n| match self.lookup(n) {
                Some(Binding::Var(v)) => Some(v),
                _ => None,
            })
            .collect()
    }

    /// A constant boolean: whether any of `flags` is set.
    fn any_flag(
        &mut self,
        flags: &[VarId],
        hint: &str,
        negate: bool,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let markers: Vec<TokenStream> = flags.iter().map(|&v| var_marker(v)).collect();
        let expr: Expr = if negate {
            syn::parse_quote!(!(false #(|| #markers)*))
        } else {
            syn::parse_quote!(false #(|| #markers)*)
        };
        let passive = Passive {
            expr,
            uses: flags.to_vec(),
            arrays: Vec::new(),
            kind: PassiveKind::Discrete,
        };
        self.bind(hint, Rhs::Passive(passive), span, out)
    }

    /// The statements after one that may have left the block: `if !(done || ..) { rest }`.
    fn lower_rest_unless_exited(
        &mut self,
        rest: &[syn::Stmt],
        out: &mut Block,
        want: usize,
        tail_returns: bool,
        span: Span,
    ) -> Option<Vec<Operand>> {
        let flags = self.exit_flags();
        if flags.is_empty() {
            return Some(vec![dummy(); want]);
        }
        let cond = self.any_flag(&flags, "go_on", true, span, out);
        let value = self.lower_branch(
            Selector::If(cond),
            vec![ArmSource::Rest(rest, tail_returns), ArmSource::Empty],
            want,
            span,
            out,
        );
        Some(value)
    }

    fn lower_stmt(&mut self, stmt: &syn::Stmt, out: &mut Block) {
        match stmt {
            syn::Stmt::Local(local) => self.lower_local(local, out),
            syn::Stmt::Item(_) => {}
            syn::Stmt::Expr(expr, _) => self.lower_effect(expr, out),
            syn::Stmt::Macro(mac) => self.lower_macro_stmt(stmt, &mac.mac, out),
        }
    }

    fn lower_local(&mut self, local: &syn::Local, out: &mut Block) {
        if let Some(init) = &local.init {
            if let Some((_, diverge)) = &init.diverge {
                self.errors.spanned(
                    diverge,
                    "`let .. else` is not supported in a `#[differentiate]` function; use `match`",
                );
            }
        }
        let (pat, ty) = match &local.pat {
            Pat::Type(typed) => (&*typed.pat, Some((*typed.ty).clone())),
            other => (other, None),
        };
        match pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                let name = p.ident.to_string();
                match &local.init {
                    None => self.declare(&name, Binding::Uninit, ty),
                    Some(init)
                        if self.lower_special_local(
                            &name,
                            &p.ident,
                            ty.as_ref(),
                            &init.expr,
                            out,
                        ) => {}
                    Some(init) => {
                        let op = self.lower_expr(&init.expr, out);
                        let var = self.name_value(op, &name, ty.clone(), p.ident.span(), out);
                        self.declare(&name, Binding::Var(var), ty);
                    }
                }
            }
            Pat::Wild(_) => {
                if let Some(init) = &local.init {
                    self.lower_effect(&init.expr, out);
                }
            }
            Pat::Tuple(t)
                if local.init.is_some()
                    && t.elems
                        .iter()
                        .all(|p| matches!(p, Pat::Ident(_) | Pat::Wild(_) | Pat::Type(_))) =>
            {
                let init = &local.init.as_ref().expect("checked").expr;
                match init.as_ref() {
                    // `x.sin_cos()` is `(x.sin(), x.cos())` (the optimiser fuses them again).
                    Expr::MethodCall(m)
                        if m.method == "sin_cos" && m.args.is_empty() && t.elems.len() == 2 =>
                    {
                        for (pat, name) in t.elems.iter().zip(["sin", "cos"]) {
                            let prim = primitives::lookup(name, 1).expect("a float primitive");
                            let method = syn::Ident::new(name, m.method.span());
                            let value = self.lower_prim(
                                prim,
                                CallForm::Method(method),
                                std::iter::once(&*m.receiver),
                                m.span(),
                                out,
                            );
                            self.bind_pattern(pat, value, out);
                        }
                    }
                    Expr::Tuple(values) if values.elems.len() == t.elems.len() => {
                        let ops: Vec<Operand> = values
                            .elems
                            .iter()
                            .map(|e| self.lower_expr(e, out))
                            .collect();
                        for (pat, op) in t.elems.iter().zip(ops) {
                            self.bind_pattern(pat, op, out);
                        }
                    }
                    _ => {
                        // `let (a, b) = g(x);`: each name takes its component of the result.
                        let value = self.lower_expr(init, out);
                        let Operand::Var(of) = value else {
                            self.unsupported(
                                init,
                                "destructuring a constant",
                                "bind each value with its own `let`",
                            );
                            return;
                        };
                        for (index, pat) in t.elems.iter().enumerate() {
                            let component = self.bind(
                                "t",
                                Rhs::Component {
                                    of,
                                    index,
                                    tuple: true,
                                },
                                pat.span(),
                                out,
                            );
                            self.bind_pattern(pat, component, out);
                        }
                    }
                }
            }
            other => {
                self.unsupported(
                    other,
                    "this destructuring pattern in `let`",
                    "destructure a tuple into names (`let (a, b) = ..`), or bind each value with its own `let`",
                );
            }
        }
    }

    /// `let` of an array (a local buffer, or another name for one) or of a closure. Returns
    /// whether it was one.
    fn lower_special_local(
        &mut self,
        name: &str,
        ident: &syn::Ident,
        ty: Option<&syn::Type>,
        init: &Expr,
        out: &mut Block,
    ) -> bool {
        let init = match init {
            Expr::Paren(p) => &*p.expr,
            other => other,
        };
        if let Expr::Closure(closure) = init {
            if loops::ExitFinder::in_expr(&closure.body).returns {
                self.errors.spanned(closure, "a closure containing `return` cannot be inlined; use a function marked `#[differentiate]`");
            }
            let mut assigned = loops::AssignFinder::default();
            assigned.visit_expr(&closure.body);
            if let Some(captured) = assigned.0.iter().find(|n| self.find(n).is_some()) {
                self.errors.spanned(
                    closure,
                    format!("a closure that assigns the captured variable `{captured}` cannot be inlined; compute the value outside the closure"),
                );
            }
            let definition = (closure.clone(), self.scopes.clone());
            self.declare(name, Binding::Closure(Rc::new(definition)), None);
            return true;
        }
        if let Some(array) = self.array_of(init) {
            self.declare(name, Binding::Array(array), None);
            return true;
        }
        let Some((init, vec)) = self.array_init(init, ty, out) else {
            return false;
        };
        if self.nesting > 0 {
            self.errors.spanned(
                ident,
                "local buffers must be declared in the function's outermost block, outside loops and branches (after an early `return`, the rest of the body runs inside a branch); declare it before the loop, branch or first `return`, and overwrite its elements",
            );
        }
        let elem = ty.and_then(element_type);
        let fixed_len = match (&init, vec) {
            (_, true) => None,
            (
                ArrayInit::Repeat {
                    len: Operand::Const(len),
                    ..
                },
                false,
            ) => Some(len.clone()),
            (ArrayInit::Elements(elements), false) => {
                let n = elements.len();
                Some(syn::parse_quote!(#n))
            }
            _ => None,
        };
        let array = self.ir.new_array(name, elem, fixed_len, ident.span());
        out.stmts.push(Stmt::DeclareArray { array, init, vec });
        self.declare(name, Binding::Array(array), None);
        true
    }

    /// `vec![v; n]`, `vec![a, b]`, `[v; N]`, `[a, b]` of floats: the buffer's start.
    fn array_init(
        &mut self,
        init: &Expr,
        ty: Option<&syn::Type>,
        out: &mut Block,
    ) -> Option<(ArrayInit, bool)> {
        let (content, vec): (Expr, bool) = match init {
            Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                let tokens = &m.mac.tokens;
                (syn::parse2(quote::quote!([#tokens])).ok()?, true)
            }
            Expr::Array(_) | Expr::Repeat(_) => (init.clone(), false),
            _ => return None,
        };
        let floats = ty.and_then(element_type).is_some();
        match &content {
            Expr::Repeat(r) if floats || looks_float(&r.expr, self) => {
                let value = self.lower_expr(&r.expr, out);
                let len = self.lower_expr(&r.len, out);
                Some((ArrayInit::Repeat { value, len }, vec))
            }
            Expr::Array(a)
                if !a.elems.is_empty()
                    && (floats
                        || (a.elems.iter().any(|e| looks_float(e, self))
                            && a.elems
                                .iter()
                                .all(|e| looks_float(e, self) || is_constant_path(e)))) =>
            {
                let elements = a.elems.iter().map(|e| self.lower_expr(e, out)).collect();
                Some((ArrayInit::Elements(elements), vec))
            }
            _ => None,
        }
    }

    /// Gives the user's name to the value of `let name = ..`: renames a temporary made just
    /// for it, or copies anything else into a new version.
    fn name_value(
        &mut self,
        op: Operand,
        name: &str,
        ty: Option<syn::Type>,
        span: Span,
        out: &mut Block,
    ) -> VarId {
        if let Operand::Var(v) = op {
            let fresh = v + 1 == self.ir.vars.len()
                && matches!(out.stmts.last(), Some(Stmt::Let { var, .. }) if *var == v)
                && matches!(self.ir.vars[v].hint.as_str(), "t" | "p");
            if fresh {
                self.ir.vars[v].hint = name.to_string();
                self.ir.vars[v].ty = ty;
                return v;
            }
        }
        let var = self.ir.new_var(name, ty, span);
        out.stmts.push(Stmt::Let {
            var,
            rhs: Rhs::Use(op),
            span,
        });
        var
    }

    /// An expression evaluated for its effect (a statement): assignments, branches, calls.
    fn lower_effect(&mut self, expr: &Expr, out: &mut Block) {
        match expr {
            Expr::If(_) | Expr::Match(_) | Expr::Block(_) => {
                self.lower_structured(expr, 0, out);
            }
            Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => self.lower_exit(expr, out),
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => self.lower_loop(expr, out),
            Expr::Macro(mac) => {
                let stmt = syn::Stmt::Expr(expr.clone(), Some(Default::default()));
                self.lower_macro_stmt(&stmt, &mac.mac, out)
            }
            _ => {
                self.lower_expr(expr, out);
            }
        }
    }

    /// A statement macro (`println!`, `assert!`) is kept as written, with the variables it
    /// mentions rebound under their own names just before it.
    fn lower_macro_stmt(&mut self, stmt: &syn::Stmt, mac: &syn::Macro, out: &mut Block) {
        let mut names = Vec::new();
        collect_macro_names(mac.tokens.clone(), &mut names);
        let mut rebind = Vec::new();
        for name in names {
            if rebind.iter().any(|(i, _): &(syn::Ident, VarId)| *i == name) {
                continue;
            }
            if let Some(Binding::Var(v)) = self.lookup(&name) {
                rebind.push((syn::Ident::new(&name, mac.path.span()), v));
            }
        }
        out.stmts.push(Stmt::Effect {
            rebind,
            stmt: stmt.clone(),
        });
    }

    /// The variable a path names, if it names a local variable holding a value.
    fn local_var(&self, expr: &Expr) -> Option<VarId> {
        match self.lookup(&Self::local_ident(expr)?.to_string())? {
            Binding::Var(v) => Some(v),
            _ => None,
        }
    }

    /// The array a path names, if it names one.
    fn array_of(&self, expr: &Expr) -> Option<ArrayId> {
        let expr = match expr {
            Expr::Reference(r) => &*r.expr,
            other => other,
        };
        match self.lookup(&Self::local_ident(expr)?.to_string())? {
            Binding::Array(array) => Some(array),
            _ => None,
        }
    }

    /// `return`, `break` or `continue`: set the flags, skip the rest (the caller stops).
    fn lower_exit(&mut self, exit: &Expr, out: &mut Block) {
        let truth = || Operand::Const(syn::parse_quote!(true));
        match exit {
            Expr::Return(ret) => match &ret.expr {
                Some(value) => self.lower_return(value, out),
                None => {
                    self.errors
                        .spanned(ret, "`return` needs a value in a differentiated function");
                }
            },
            Expr::Break(b) => {
                if let Some(label) = &b.label {
                    self.errors.spanned(label, "labelled `break` is not supported in a `#[differentiate]` function; set a flag and `break` out of each loop");
                } else if let Some(value) = &b.expr {
                    self.errors.spanned(value, "`break` with a value is not supported in a `#[differentiate]` function; assign the value to a variable before `break`");
                } else if let Some(flag) = self.loops.last().and_then(|f| f.brk.clone()) {
                    self.assign(&flag, truth(), b.span(), out);
                }
            }
            Expr::Continue(c) => {
                if let Some(label) = &c.label {
                    self.errors.spanned(label, "labelled `continue` is not supported in a `#[differentiate]` function; set a flag and `continue` each loop");
                } else if let Some(flag) = self.loops.last().and_then(|f| f.cont.clone()) {
                    self.assign(&flag, truth(), c.span(), out);
                }
            }
            _ => {}
        }
    }

    fn lower_return(&mut self, value: &Expr, out: &mut Block) {
        let components = self.lower_expr_n(value, self.components, out);
        if self.returns {
            for (k, op) in components.into_iter().enumerate() {
                self.assign(&ret_name(k), op, value.span(), out);
            }
            self.assign(
                DONE,
                Operand::Const(syn::parse_quote!(true)),
                value.span(),
                out,
            );
        } else {
            self.errors
                .spanned(value, "internal: `return` found late; please report this");
        }
    }

    // ----------------------------------------------------------------------------------
    // Expressions
    // ----------------------------------------------------------------------------------

    /// Lowers an expression whose value has `want` float components (a tuple or array
    /// result, or one scalar).
    fn lower_expr_n(&mut self, expr: &Expr, want: usize, out: &mut Block) -> Vec<Operand> {
        match expr {
            Expr::Paren(p) => self.lower_expr_n(&p.expr, want, out),
            Expr::Group(g) => self.lower_expr_n(&g.expr, want, out),
            Expr::If(_) | Expr::Match(_) | Expr::Block(_) => self.lower_structured(expr, want, out),
            Expr::Return(ret) => {
                match &ret.expr {
                    Some(value) => self.lower_return(value, out),
                    None => {
                        self.errors
                            .spanned(ret, "`return` needs a value in a differentiated function");
                    }
                }
                vec![dummy(); want]
            }
            Expr::Tuple(t) if t.elems.len() == want && (want > 1 || t.elems.trailing_punct()) => {
                t.elems.iter().map(|e| self.lower_expr(e, out)).collect()
            }
            Expr::Array(a) if a.elems.len() == want => {
                a.elems.iter().map(|e| self.lower_expr(e, out)).collect()
            }
            Expr::Repeat(r) => {
                let op = self.lower_expr(&r.expr, out);
                vec![op; want]
            }
            Expr::Path(_) if want > 1 && self.array_of(expr).is_some() => {
                // A local `[f64; N]` returned whole: its elements as they are now.
                let array = self.array_of(expr).expect("checked");
                (0..want)
                    .map(|k| {
                        let index = Operand::Const(syn::parse_quote!(#k));
                        self.bind(
                            "t",
                            Rhs::Load {
                                array,
                                index,
                                guard: None,
                            },
                            expr.span(),
                            out,
                        )
                    })
                    .collect()
            }
            _ if want == 1 => vec![self.lower_expr(expr, out)],
            other => {
                self.errors.spanned(
                    other,
                    format!("write the {want} returned values out here, as a tuple `(a, b, ..)` or an array `[a, b, ..]`; returning a tuple or array held in a variable or returned by a call is not supported yet"),
                );
                vec![dummy(); want]
            }
        }
    }

    fn lower_expr(&mut self, expr: &Expr, out: &mut Block) -> Operand {
        let span = expr.span();
        match expr {
            Expr::Lit(_) => Operand::Const(expr.clone()),
            Expr::Path(p) => match Self::local_ident(expr) {
                Some(ident) => match self.lookup(&ident.to_string()) {
                    Some(Binding::Var(v)) => Operand::Var(v),
                    Some(Binding::Uninit) => {
                        self.errors
                            .spanned(ident, format!("`{ident}` is used before it is assigned"));
                        dummy()
                    }
                    Some(Binding::Array(_)) => self.unsupported(
                        ident,
                        "using an array as a value",
                        "index it (`x[i]`), iterate over it, take `.len()`, or pass it to a function marked `#[differentiate]`",
                    ),
                    Some(Binding::Closure(_)) => self.unsupported(
                        ident,
                        "using a closure as a value",
                        "call it (`f(x)`): calls of local closures are inlined",
                    ),
                    None => Operand::Const(expr.clone()),
                },
                None if p.path.segments.first().is_some_and(|s| s.ident == "self") => {
                    self.passive(expr, PassiveKind::Discrete, out)
                }
                None => Operand::Const(expr.clone()),
            },
            Expr::Paren(p) => self.lower_expr(&p.expr, out),
            Expr::Group(g) => self.lower_expr(&g.expr, out),
            Expr::Unary(u) => match u.op {
                syn::UnOp::Neg(_) => match self.lower_expr(&u.expr, out) {
                    // `-0.05` stays a constant.
                    Operand::Const(c) => Operand::Const(syn::parse_quote!(-#c)),
                    op => self.bind("t", Rhs::Neg(op), span, out),
                },
                syn::UnOp::Not(_) => self.passive(expr, PassiveKind::Discrete, out),
                _ => match Self::local_ident(&u.expr).and_then(|i| self.lookup(&i.to_string())) {
                    // `*v` of an element reference is the element.
                    Some(Binding::Var(v)) if self.element_refs.contains(&v) => Operand::Var(v),
                    _ => self.opaque(expr, "dereference `*`", "dereference a constant only", out),
                },
            },
            Expr::Binary(b) => self.lower_binary(b, out),
            Expr::Assign(a) => {
                let op = self.lower_expr(&a.right, out);
                self.assign_to(&a.left, op, out);
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::MethodCall(m) => self.lower_method_call(m, out),
            Expr::Call(c) => self.lower_call(c, out),
            Expr::Cast(c) => {
                if is_float_type(&c.ty) {
                    let arg = self.lower_expr(&c.expr, out);
                    self.bind(
                        "t",
                        Rhs::Cast {
                            arg,
                            ty: (*c.ty).clone(),
                        },
                        span,
                        out,
                    )
                } else {
                    self.passive(expr, PassiveKind::Discrete, out)
                }
            }
            Expr::If(_) | Expr::Match(_) | Expr::Block(_) => {
                let mut value = self.lower_structured(expr, 1, out);
                value.pop().unwrap_or_else(dummy)
            }
            Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => {
                self.lower_exit(expr, out);
                dummy()
            }
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.lower_loop(expr, out);
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::Range(_) => self.passive(expr, PassiveKind::Discrete, out),
            Expr::Field(f) if matches!(&f.member, syn::Member::Unnamed(_)) && self.local_var(&f.base).is_some() => {
                let of = self.local_var(&f.base).expect("checked");
                let syn::Member::Unnamed(index) = &f.member else { unreachable!("checked") };
                self.bind("t", Rhs::Component { of, index: index.index as usize, tuple: true }, span, out)
            }
            Expr::Index(i) if self.array_of(&i.expr).is_none() && self.local_var(&i.expr).is_some() && literal_index(&i.index).is_some() => {
                let of = self.local_var(&i.expr).expect("checked");
                let index = literal_index(&i.index).expect("checked");
                self.bind("t", Rhs::Component { of, index, tuple: false }, span, out)
            }
            Expr::Field(f) => self.opaque(
                expr,
                format!("field access `.{}`", f.member.to_token_stream()),
                "only fields of constants can be read",
                out,
            ),
            Expr::Tuple(_) => self.opaque(
                expr,
                "a tuple",
                "tuples of active values can only be returned",
                out,
            ),
            Expr::Array(_) | Expr::Repeat(_) => self.opaque(
                expr,
                "an array",
                "arrays of active values can only be returned",
                out,
            ),
            Expr::Index(index) => match self.array_of(&index.expr) {
                Some(array) => {
                    if matches!(&*index.index, Expr::Range(_)) {
                        return self.unsupported(
                            &index.index,
                            "slicing an array",
                            "index single elements, or pass the whole array",
                        );
                    }
                    let index = self.lower_expr(&index.index, out);
                    self.bind("t", Rhs::Load { array, index, guard: None }, span, out)
                }
                None => self.opaque(expr, "indexing", "index slices, arrays and local buffers of floats", out),
            },
            Expr::Reference(r) if matches!(&*r.expr, Expr::Index(i) if self.array_of(&i.expr).is_some()) => {
                // `&x[a..b]` (or `&x[i]`): indexing lowers it, and rejects the slice.
                self.lower_expr(&r.expr, out)
            }
            Expr::Reference(r) if r.mutability.is_some() => self.unsupported(
                r,
                "`&mut` borrows",
                "compute new values instead of mutating through a reference",
            ),
            // A borrow is the value itself to the derivative; calls keep the `&` (`CallArg::Ref`).
            Expr::Reference(r) => self.lower_expr(&r.expr, out),
            Expr::Struct(_) => self.opaque(
                expr,
                "a struct literal",
                "build structs from constants only",
                out,
            ),
            Expr::Closure(_) => self.opaque(
                expr,
                "a closure",
                "closures may not capture active values",
                out,
            ),
            Expr::Macro(m) => {
                let what = format!("the macro `{}!`", m.mac.path.to_token_stream());
                self.opaque(expr, what, "macros can only use constants", out)
            }
            Expr::Const(_) => Operand::Const(expr.clone()),
            Expr::Unsafe(u) => self.unsupported(
                u.unsafe_token,
                "`unsafe` blocks",
                "move the unsafe code into a function with its own derivative",
            ),
            Expr::Async(a) => self.unsupported(
                a.async_token,
                "`async` blocks",
                "differentiate synchronous code",
            ),
            Expr::Await(a) => self.unsupported(a, "`.await`", "differentiate synchronous code"),
            Expr::Try(t) => self.unsupported(
                t.question_token,
                "the `?` operator",
                "return a float; handle errors outside the differentiated function",
            ),
            Expr::TryBlock(t) => self.unsupported(
                t.try_token,
                "`try` blocks",
                "handle errors outside the differentiated function",
            ),
            Expr::Yield(y) => self.unsupported(
                y.yield_token,
                "`yield`",
                "differentiate an ordinary function",
            ),
            Expr::RawAddr(r) => self.unsupported(
                r,
                "`&raw` borrows",
                "take the value, or a plain reference `&x` to a constant",
            ),
            Expr::Let(l) => self.unsupported(
                l.let_token,
                "`let` expressions outside `if let`",
                "use `match`",
            ),
            other => self.unsupported(
                other,
                "this expression",
                "rewrite it with supported syntax (see the README's table)",
            ),
        }
    }

    fn lower_binary(&mut self, b: &syn::ExprBinary, out: &mut Block) -> Operand {
        use syn::BinOp::*;
        let span = b.span();
        let arith = |op: &syn::BinOp| match op {
            Add(_) | AddAssign(_) => Some(ArithOp::Add),
            Sub(_) | SubAssign(_) => Some(ArithOp::Sub),
            Mul(_) | MulAssign(_) => Some(ArithOp::Mul),
            Div(_) | DivAssign(_) => Some(ArithOp::Div),
            _ => None,
        };
        match b.op {
            Add(_) | Sub(_) | Mul(_) | Div(_) => {
                let lhs = self.lower_expr(&b.left, out);
                let rhs = self.lower_expr(&b.right, out);
                let op = arith(&b.op).expect("arithmetic operator");
                self.bind("t", Rhs::Arith(op, lhs, rhs), span, out)
            }
            AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) => {
                let current = self.lower_expr(&b.left, out);
                let rhs = self.lower_expr(&b.right, out);
                let op = arith(&b.op).expect("compound assignment");
                let value = self.bind("t", Rhs::Arith(op, current, rhs), span, out);
                self.assign_to(&b.left, value, out);
                Operand::Const(syn::parse_quote!(()))
            }
            Rem(_) => self.opaque_at(
                &Expr::Binary(b.clone()),
                b.op.span(),
                "the remainder operator `%`",
                "use `%` on constants only, or write the value with `floor`/`trunc` (`x - y * (x / y).trunc()`)",
                out,
            ),
            RemAssign(_) | BitXorAssign(_) | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_)
            | ShrAssign(_) => {
                self.errors.spanned(
                    b.op,
                    "this compound assignment is not supported in a `#[differentiate]` function; write it out (`x = x % y`) on constants",
                );
                Operand::Const(syn::parse_quote!(()))
            }
            And(_) | Or(_) => {
                // `a && b` is `if a { b } else { false }` (and `||` likewise): `b` is only
                // evaluated when it would be, and calls in it are lowered.
                let cond = self.lower_expr(&b.left, out);
                let constant: Expr = if matches!(b.op, And(_)) { syn::parse_quote!(false) } else { syn::parse_quote!(true) };
                let arms = if matches!(b.op, And(_)) {
                    vec![ArmSource::Expr(&b.right), ArmSource::Expr(&constant)]
                } else {
                    vec![ArmSource::Expr(&constant), ArmSource::Expr(&b.right)]
                };
                let mut value = self.lower_branch(Selector::If(cond), arms, 1, span, out);
                value.pop().unwrap_or_else(dummy)
            }
            Lt(_) | Le(_) | Gt(_) | Ge(_) | Eq(_) | Ne(_) => {
                // The operands are lowered (so calls and closures in them work); the comparison
                // itself is a constant.
                let lhs = self.lower_expr(&b.left, out);
                let rhs = self.lower_expr(&b.right, out);
                let (l, r) = (operand_tokens(&lhs), operand_tokens(&rhs));
                let op = &b.op;
                let expr: Expr = syn::parse_quote!((#l) #op (#r));
                let uses = [lhs.var(), rhs.var()].into_iter().flatten().collect();
                self.bind("p", Rhs::Passive(Passive { expr, uses, arrays: Vec::new(), kind: PassiveKind::Discrete }), span, out)
            }
            _ => self.passive(&Expr::Binary(b.clone()), PassiveKind::Discrete, out),
        }
    }

    fn assign_to(&mut self, place: &Expr, value: Operand, out: &mut Block) {
        if let Expr::Index(target) = place {
            if let Some(array) = self.array_of(&target.expr) {
                if self
                    .ir
                    .params
                    .iter()
                    .any(|p| matches!(p, ParamSlot::Array(a) if *a == array))
                {
                    self.unsupported(
                        &target.expr,
                        "writing into a parameter",
                        "copy it into a local buffer first (`let mut y = vec![0.0; x.len()]`) and write that",
                    );
                    return;
                }
                let index = self.lower_expr(&target.index, out);
                out.stmts.push(Stmt::Store {
                    array,
                    index,
                    value,
                });
                return;
            }
        }
        if let Some(ident) = Self::local_ident(place) {
            if let Some(Binding::Array(_)) = self.lookup(&ident.to_string()) {
                self.unsupported(
                    ident,
                    "assigning a whole array",
                    "assign its elements (`x[i] = ..`)",
                );
                return;
            }
        }
        match Self::local_ident(place) {
            Some(ident) if self.find(&ident.to_string()).is_some() => {
                self.assign(&ident.to_string(), value, place.span(), out);
            }
            Some(ident) => {
                self.errors.spanned(ident, format!("cannot assign to `{ident}`: only local variables can be assigned in a `#[differentiate]` function"));
            }
            None => {
                let what = match place {
                    Expr::Field(_) => "assignment to a field",
                    Expr::Index(_) => "assignment to an indexed element",
                    Expr::Unary(_) => "assignment through a reference",
                    _ => "this assignment target",
                };
                self.unsupported(place, what, "assign to a local variable");
            }
        }
    }

    fn lower_method_call(&mut self, m: &syn::ExprMethodCall, out: &mut Block) -> Operand {
        let name = m.method.to_string();
        let span = m.span();
        if let Some(array) = self.array_of(&m.receiver) {
            if name == "len" && m.args.is_empty() {
                return self.bind("len", Rhs::Len(array), span, out);
            }
        }
        if (name == "clone" || name == "to_owned")
            && m.args.is_empty()
            && self.array_of(&m.receiver).is_none()
        {
            // A copy is the value itself to the derivative.
            let value = self.lower_expr(&m.receiver, out);
            return self.bind("t", Rhs::Use(value), span, out);
        }
        if let Some(loop_expr) = loops::desugar_reduction(m, self) {
            return match loop_expr {
                Ok(block) => self.lower_expr(&block, out),
                Err(error) => {
                    self.errors.push(error);
                    dummy()
                }
            };
        }
        if let Some(prim) = primitives::lookup(&name, m.args.len() + 1) {
            let operands = std::iter::once(&*m.receiver).chain(m.args.iter());
            return self.lower_prim(
                prim,
                CallForm::Method(m.method.clone()),
                operands,
                span,
                out,
            );
        }
        if primitives::is_piecewise_constant(&name) {
            if m.args.is_empty() && m.turbofish.is_none() {
                let receiver = self.lower_expr(&m.receiver, out);
                let (r, method) = (operand_tokens(&receiver), &m.method);
                let expr: Expr = syn::parse_quote!((#r).#method());
                let uses = receiver.var().into_iter().collect();
                return self.bind(
                    "p",
                    Rhs::Passive(Passive {
                        expr,
                        uses,
                        arrays: Vec::new(),
                        kind: PassiveKind::Discrete,
                    }),
                    span,
                    out,
                );
            }
            return self.passive(&Expr::MethodCall(m.clone()), PassiveKind::Discrete, out);
        }
        if self.array_of(&m.receiver).is_some() {
            let what = format!("the method `{name}` on an array");
            let fix = "index it, iterate over it (`for v in x.iter()`, `.map(..).sum()`, `.fold(..)`), or take `.len()`";
            return self.unsupported(&m.method, &what, fix);
        }
        if is_self(&m.receiver) {
            let callee = Callee::SelfMethod(m.method.clone());
            return self.lower_user_call(callee, &m.args, span, out);
        }
        self.opaque_at(
            &Expr::MethodCall(m.clone()),
            m.method.span(),
            format!("the method `{name}`"),
            "compute the value with the float functions the README lists, or in a function marked `#[differentiate]`",
            out,
        )
    }

    fn lower_call(&mut self, c: &syn::ExprCall, out: &mut Block) -> Operand {
        let span = c.span();
        let Expr::Path(path) = &*c.func else {
            return self.opaque(
                &Expr::Call(c.clone()),
                "a call through an expression",
                "call a named function",
                out,
            );
        };
        if let Some(ident) = Self::local_ident(&c.func) {
            match self.lookup(&ident.to_string()) {
                Some(Binding::Closure(definition)) => {
                    let (closure, captured) = &*definition;
                    return self.inline_closure(closure, captured.clone(), c, out);
                }
                Some(_) => {
                    return self.opaque(
                        &Expr::Call(c.clone()),
                        format!("a call of the local value `{ident}`"),
                        "call functions marked `#[differentiate]` or closures bound with `let`",
                        out,
                    )
                }
                None => {}
            }
        }
        let segments: Vec<String> = path
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if path.qself.is_none()
            && segments.len() == 2
            && primitives::is_float_type_name(&segments[0])
        {
            let name = segments[1].as_str();
            if let Some(prim) = primitives::lookup(name, c.args.len()) {
                return self.lower_prim(
                    prim,
                    CallForm::Path(path.clone()),
                    c.args.iter(),
                    span,
                    out,
                );
            }
            if primitives::is_piecewise_constant(name) {
                // Arguments lowered like any others (so closures in them are inlined), the
                // call itself kept as written: its derivative is zero.
                let args: Vec<Operand> = c.args.iter().map(|a| self.lower_expr(a, out)).collect();
                let tokens = args.iter().map(operand_tokens);
                let expr: Expr = syn::parse_quote!(#path(#(#tokens),*));
                let uses: Vec<VarId> = args.iter().filter_map(Operand::var).collect();
                if uses.is_empty() {
                    return Operand::Const(expr);
                }
                let passive = Passive {
                    expr,
                    uses,
                    arrays: Vec::new(),
                    kind: PassiveKind::Discrete,
                };
                return self.bind("p", Rhs::Passive(passive), span, out);
            }
            if name == "from" && c.args.len() == 1 {
                let arg = self.lower_expr(&c.args[0], out);
                let ty: syn::Type = syn::parse_str(&segments[0]).expect("f32 or f64");
                return self.bind("t", Rhs::Cast { arg, ty }, span, out);
            }
        }
        self.lower_user_call(Callee::Function(path.clone()), &c.args, span, out)
    }

    /// A call of a differentiated function or method, with its arguments' spans (where a
    /// callee that does not differentiate an active argument is reported).
    fn lower_user_call(
        &mut self,
        callee: Callee,
        args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let spans = args.iter().map(|a| a.span()).collect();
        let args = args.iter().map(|a| self.lower_call_arg(a, out)).collect();
        self.bind(
            "t",
            Rhs::Call {
                callee,
                args,
                spans,
            },
            span,
            out,
        )
    }

    /// A primitive applied to `operands` (the receiver first), remembering which of them the
    /// user borrowed (`&b`).
    fn lower_prim<'a>(
        &mut self,
        prim: &'static primitives::Primitive,
        form: CallForm,
        operands: impl Iterator<Item = &'a Expr>,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let (args, refs) = operands
            .map(|a| (self.lower_expr(a, out), matches!(a, Expr::Reference(_))))
            .unzip();
        self.bind(
            "t",
            Rhs::Prim {
                prim,
                form,
                args,
                refs,
            },
            span,
            out,
        )
    }

    /// An argument of a call: an array (`x`, `&x`, `&x[..]`) or a value.
    fn lower_call_arg(&mut self, arg: &Expr, out: &mut Block) -> CallArg {
        let (inner, by_ref) = match arg {
            Expr::Reference(r) => match &*r.expr {
                Expr::Index(i) if matches!(&*i.index, Expr::Range(range) if range.start.is_none() && range.end.is_none()) => {
                    (&*i.expr, true)
                }
                other => (other, true),
            },
            other => (other, false),
        };
        match self.array_of(inner) {
            Some(array) => CallArg::Array { array, by_ref },
            None if by_ref => CallArg::Ref(self.lower_expr(inner, out)),
            None => CallArg::Value(self.lower_expr(arg, out)),
        }
    }

    /// `f(a, b)` of a local closure `let f = |x, y| body;`: `{ let x = a; let y = b; body }`,
    /// with the closure's free variables as they were where it was defined.
    fn inline_closure(
        &mut self,
        closure: &syn::ExprClosure,
        captured: Scopes,
        call: &syn::ExprCall,
        out: &mut Block,
    ) -> Operand {
        if closure.inputs.len() != call.args.len() {
            self.errors.spanned(
                call,
                format!("this closure takes {} arguments", closure.inputs.len()),
            );
            return dummy();
        }
        let args: Vec<Operand> = call.args.iter().map(|a| self.lower_expr(a, out)).collect();
        let caller = std::mem::replace(&mut self.scopes, captured);
        self.scopes.push(Vec::new());
        for (pat, arg) in closure.inputs.iter().zip(args) {
            self.bind_pattern(pat, arg, out);
        }
        let value = self.lower_expr(&closure.body, out);
        self.scopes = caller;
        value
    }

    /// Binds a simple pattern (`x`, `x: f64`, `&x`, `_`) to a value.
    fn bind_pattern(&mut self, pat: &Pat, value: Operand, out: &mut Block) {
        match pat {
            Pat::Ident(p) if p.subpat.is_none() => {
                let name = p.ident.to_string();
                let var = self.name_value(value, &name, None, p.ident.span(), out);
                self.declare(&name, Binding::Var(var), None);
            }
            Pat::Type(t) => {
                if let Pat::Ident(p) = &*t.pat {
                    let name = p.ident.to_string();
                    let var =
                        self.name_value(value, &name, Some((*t.ty).clone()), p.ident.span(), out);
                    self.declare(&name, Binding::Var(var), Some((*t.ty).clone()));
                } else {
                    self.bind_pattern(&t.pat, value, out);
                }
            }
            Pat::Reference(r) => self.bind_pattern(&r.pat, value, out),
            Pat::Paren(p) => self.bind_pattern(&p.pat, value, out),
            Pat::Wild(_) => {}
            other => {
                self.unsupported(
                    other,
                    "this pattern",
                    "bind a single name (`x`, `&x`, `x: f64`)",
                );
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // Branches
    // ----------------------------------------------------------------------------------

    /// `if`, `match` and blocks, with `want` value components.
    fn lower_structured(&mut self, expr: &Expr, want: usize, out: &mut Block) -> Vec<Operand> {
        match expr {
            Expr::Block(b) => {
                if let Some(label) = &b.label {
                    self.errors.spanned(
                        label,
                        "labelled blocks are not supported in a `#[differentiate]` function; compute the value with `if`/`else`",
                    );
                    // Its `break 'label` would only be reported again.
                    return vec![dummy(); want];
                }
                self.lower_stmts(&b.block.stmts, out, want, false)
                    .unwrap_or_else(|| vec![dummy(); want])
            }
            Expr::If(i) => {
                if let Expr::Let(l) = &*i.cond {
                    let wildcard: Pat = syn::parse_quote!(_);
                    let arms = vec![
                        (&*l.pat, None, ArmBody::Block(&i.then_branch)),
                        (&wildcard, None, else_body(i)),
                    ];
                    return self.lower_match(&l.expr, arms, want, expr.span(), out);
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
                    expr.span(),
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
                self.lower_match(&m.expr, arms, want, expr.span(), out)
            }
            _ => vec![self.lower_expr(expr, out); want.max(1)],
        }
    }

    fn lower_match(
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
    fn lower_branch(
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
                        ArmBody::Empty => Some(vec![dummy(); want]),
                    };
                    self.scopes.pop();
                    value
                }
                ArmSource::Empty => Some(vec![dummy(); want]),
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
                        _ => dummy(),
                    })
                    .collect();
                let var =
                    self.ir
                        .new_var(local.name.trim_start_matches('#'), local.ty.clone(), span);
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
                        .unwrap_or_else(dummy)
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

    fn lower_structured_or_expr(
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

    // ----------------------------------------------------------------------------------
    // Renaming inside passive expressions
    // ----------------------------------------------------------------------------------

    /// Renames every local variable an expression mentions to its current version.
    fn rename(&mut self, expr: &Expr) -> (Expr, Vec<VarId>) {
        let (expr, uses, _) = self.rename_all(expr);
        (expr, uses)
    }

    /// [`Self::rename`], also telling which arrays the expression mentions.
    fn rename_all(&mut self, expr: &Expr) -> (Expr, Vec<VarId>, Vec<ArrayId>) {
        let mut renamer = Renamer {
            lowerer: self,
            shadowed: Vec::new(),
            uses: Vec::new(),
            arrays: Vec::new(),
        };
        let mut expr = expr.clone();
        renamer.visit_expr_mut(&mut expr);
        let (uses, arrays) = (renamer.uses, renamer.arrays);
        (expr, uses, arrays)
    }
}

enum ArmBody<'s> {
    Expr(&'s Expr),
    Block(&'s syn::Block),
    Empty,
}

fn else_body(i: &syn::ExprIf) -> ArmBody<'_> {
    match &i.else_branch {
        Some((_, e)) => ArmBody::Expr(e),
        None => ArmBody::Empty,
    }
}

fn is_self(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.path.is_ident("self"))
}

/// A local variable reference inside a kept expression. The emitter replaces it with the
/// generated name of version `v` (names are decided by `naming`, after lowering).
pub fn var_marker(v: VarId) -> TokenStream {
    let ident = syn::Ident::new(&format!("__differentiate_var_{v}"), Span::mixed_site());
    quote::quote!(#ident)
}

/// Reads the version back out of a [`var_marker`].
pub fn parse_var_marker(ident: &syn::Ident) -> Option<VarId> {
    ident
        .to_string()
        .strip_prefix("__differentiate_var_")?
        .parse()
        .ok()
}

struct Renamer<'l, 'e> {
    lowerer: &'l mut Lowerer<'e>,
    /// Names bound inside the expression (closure parameters, inner `let`s).
    shadowed: Vec<String>,
    uses: Vec<VarId>,
    arrays: Vec<ArrayId>,
}

impl Renamer<'_, '_> {
    fn replace(&mut self, ident: &syn::Ident) -> Option<TokenStream> {
        let name = ident.to_string();
        if self.shadowed.contains(&name) {
            return None;
        }
        match self.lowerer.lookup(&name) {
            Some(Binding::Var(v)) => {
                if !self.uses.contains(&v) {
                    self.uses.push(v);
                }
                Some(located_marker(var_marker(v), ident))
            }
            Some(Binding::Array(a)) => {
                if !self.arrays.contains(&a) {
                    self.arrays.push(a);
                }
                Some(located_marker(loops::array_marker(a), ident))
            }
            Some(Binding::Closure(_)) => {
                self.lowerer.errors.spanned(
                    ident,
                    "using a closure as a value is not supported in a `#[differentiate]` function; call it (`f(x)`): calls of local closures are inlined",
                );
                None
            }
            _ => None,
        }
    }
}

/// A marker, located where the user wrote `ident`.
fn located_marker(marker: TokenStream, ident: &syn::Ident) -> TokenStream {
    let marker: syn::Ident = syn::parse2(marker).expect("an identifier");
    let located = syn::Ident::new(&marker.to_string(), marker.span().located_at(ident.span()));
    quote::quote!(#located)
}

impl VisitMut for Renamer<'_, '_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        // `*v` of an element reference (`for v in x.iter()`) is the element itself.
        if let Expr::Unary(u) = e {
            if matches!(u.op, syn::UnOp::Deref(_)) {
                if let Some(ident) = Lowerer::local_ident(&u.expr) {
                    let name = ident.to_string();
                    if let (false, Some(Binding::Var(v))) =
                        (self.shadowed.contains(&name), self.lowerer.lookup(&name))
                    {
                        if self.lowerer.element_refs.contains(&v) {
                            let tokens = self.replace(ident).expect("a variable");
                            *e = Expr::Verbatim(tokens);
                            return;
                        }
                    }
                }
            }
        }
        match e {
            Expr::Path(p) if p.qself.is_none() => {
                if let Some(ident) = p.path.get_ident() {
                    if let Some(tokens) = self.replace(ident) {
                        *e = Expr::Verbatim(tokens);
                    }
                }
            }
            Expr::Closure(c) => {
                let before = self.shadowed.len();
                for input in &c.inputs {
                    collect_pat_names(input, &mut self.shadowed);
                }
                self.visit_expr_mut(&mut c.body);
                self.shadowed.truncate(before);
            }
            Expr::Macro(m) => {
                m.mac.tokens = self.rename_tokens(m.mac.tokens.clone());
            }
            _ => syn::visit_mut::visit_expr_mut(self, e),
        }
    }

    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        let before = self.shadowed.len();
        for stmt in &mut b.stmts {
            self.visit_stmt_mut(stmt);
            if let syn::Stmt::Local(local) = stmt {
                collect_pat_names(&local.pat, &mut self.shadowed);
            }
        }
        self.shadowed.truncate(before);
    }

    fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
        let before = self.shadowed.len();
        collect_pat_names(&arm.pat, &mut self.shadowed);
        if let Some((_, guard)) = &mut arm.guard {
            self.visit_expr_mut(guard);
        }
        self.visit_expr_mut(&mut arm.body);
        self.shadowed.truncate(before);
    }

    fn visit_field_value_mut(&mut self, field: &mut syn::FieldValue) {
        // `S { x }` must become `S { x: x_3 }`.
        if field.colon_token.is_none() {
            field.colon_token = Some(Default::default());
        }
        self.visit_expr_mut(&mut field.expr);
    }
}

impl Renamer<'_, '_> {
    /// Best effort inside macro arguments: an identifier that is not a field, path segment
    /// or macro name is a variable.
    fn rename_tokens(&mut self, tokens: TokenStream) -> TokenStream {
        let mut result = Vec::new();
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Ident(ident) => {
                    let after_dot =
                        i > 0 && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
                    let before_path = matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':' || p.as_char() == '!');
                    match (after_dot || before_path)
                        .then_some(())
                        .map_or_else(|| self.replace(ident), |_| None)
                    {
                        Some(tokens) => result.extend(tokens),
                        None => result.push(tree.clone()),
                    }
                }
                TokenTree::Group(g) => {
                    let mut group =
                        proc_macro2::Group::new(g.delimiter(), self.rename_tokens(g.stream()));
                    group.set_span(g.span());
                    result.push(TokenTree::Group(group));
                }
                other => result.push(other.clone()),
            }
        }
        result.into_iter().collect()
    }
}

fn collect_pat_names(pat: &Pat, out: &mut Vec<String>) {
    struct Names<'a>(&'a mut Vec<String>);
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            self.0.push(p.ident.to_string());
            syn::visit::visit_pat_ident(self, p);
        }
    }
    Names(out).visit_pat(pat);
}

/// Gives each binding of a `match` arm's pattern a new version. An identifier that starts
/// with an uppercase letter is a constant or unit variant (`None`, `MAX`), as Rust's naming
/// conventions make it; anything else binds.
struct PatternBinder<'l, 'e> {
    lowerer: &'l mut Lowerer<'e>,
    bound: Vec<Local>,
}

impl VisitMut for PatternBinder<'_, '_> {
    fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
        if let Some((_, sub)) = &mut p.subpat {
            self.visit_pat_mut(sub);
        }
        let name = p.ident.to_string();
        if name.starts_with(|c: char| c.is_uppercase()) {
            return;
        }
        let var = match self.bound.iter().find(|l| l.name == name) {
            Some(Local {
                binding: Binding::Var(v),
                ..
            }) => *v,
            _ => {
                let v = self.lowerer.ir.new_var(&name, None, p.ident.span());
                self.bound.push(Local {
                    name: name.clone(),
                    binding: Binding::Var(v),
                    ty: None,
                });
                v
            }
        };
        let marker: syn::Ident = syn::parse2(var_marker(var)).expect("an identifier");
        p.ident = syn::Ident::new(
            &marker.to_string(),
            marker.span().located_at(p.ident.span()),
        );
    }

    fn visit_expr_mut(&mut self, _: &mut Expr) {
        // Expressions in patterns (range bounds, constants) mention no bindings.
    }
}

/// The identifiers a macro's arguments mention, including `{name}` captures in format strings.
fn collect_macro_names(tokens: TokenStream, out: &mut Vec<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => out.push(ident.to_string()),
            TokenTree::Group(g) => collect_macro_names(g.stream(), out),
            TokenTree::Literal(lit) => {
                let text = lit.to_string();
                if text.starts_with('"') {
                    let mut rest = text.as_str();
                    while let Some(open) = rest.find('{') {
                        rest = &rest[open + 1..];
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
                            out.push(name);
                        }
                    }
                }
            }
            TokenTree::Punct(_) => {}
        }
    }
}
