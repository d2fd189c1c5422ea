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
use crate::ir::kept::{array_marker, var_marker};
use crate::ir::*;
use crate::primitives;
use crate::signature::{FloatTypes, ParamKind, Signature};
use std::collections::BTreeSet;
use std::rc::Rc;

mod branches;
mod buffers;
mod calls;
mod exprs;
mod iterators;
mod kept;
mod loops;
mod rejections;
mod spans;
mod stmts;
mod views;

use branches::*;
use kept::*;
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use rejections::Rejected;
use spans::SourceSpan;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Pat};
use views::View;

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
    /// A sub-slice of one (`let s = &x[1..];`, a `windows(k)` item).
    View(View),
    /// A tuple of values held in a variable (`let t = (x, y);`): its components.
    Tuple(Vec<Operand>),
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
            (Binding::View(a), Binding::View(b)) => a.same_as(b),
            (Binding::Tuple(a), Binding::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| views::same_operand(a, b))
            }
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
    /// The loop's label, for `break 'label` and `continue 'label` from loops inside it.
    label: Option<String>,
    /// The hidden variable `break value` assigns, for a `loop` used as a value.
    value: Option<String>,
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
    /// The temporaries `bind` made for a value or a passive expression (which a `let` may give
    /// the user's name instead of copying them).
    temporaries: BTreeSet<VarId>,
    /// `f64`, `f32` and the function's float type parameter.
    floats: FloatTypes,
    /// The hidden variable of the `loop` being lowered as a value, until its frame takes it.
    loop_value: Option<String>,
    /// Buffers declared ahead of the loop or branch whose `let` declares them.
    hoisted: Vec<buffers::Hoisted>,
    /// The loops to checkpoint, by label, and whether each was found.
    checkpoints: Vec<(crate::options::Checkpoint, bool)>,
}

/// The names a pattern binds (for other stages that rewrite bodies).
pub fn pattern_names(pat: &Pat, out: &mut Vec<String>) {
    collect_pat_names(pat, out);
}

/// Lowers the body of a function whose signature has been analysed.
pub fn lower(func: &syn::ItemFn, sig: &Signature, errors: &mut Errors) -> FnIr {
    let mut lowerer = Lowerer {
        ir: FnIr {
            vars: Vec::new(),
            arrays: Vec::new(),
            params: Vec::new(),
            value_params: Vec::new(),
            items: Vec::new(),
            body: Block::default(),
            result: Vec::new(),
            loop_count: 0,
            numbers: Numbers::new(sig.floats.generic.as_ref()),
            twin: false,
            real_field: sig.floats.is_real_field(),
        },
        floats: sig.floats.clone(),
        errors,
        scopes: vec![Vec::new()],
        returns: loops::ExitFinder::in_block(&func.block).returns,
        components: sig.output.as_ref().map_or(1, |o| o.components()),
        loops: Vec::new(),
        nesting: 0,
        element_refs: BTreeSet::new(),
        temporaries: BTreeSet::new(),
        loop_value: None,
        hoisted: Vec::new(),
        checkpoints: sig.checkpoints.iter().map(|c| (c.clone(), false)).collect(),
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
                lowerer.ir.arrays[array].reference = matches!(param.ty, syn::Type::Reference(_));
                lowerer.ir.params.push(ParamSlot::Array(array));
                lowerer.declare(&name, Binding::Array(array), None);
            }
            ParamKind::Value { ty } => {
                // Bound as an owned tensor (a shared reference to the same data).
                let var = lowerer.ir.new_named_var(&name, Some(ty.clone()), span);
                lowerer.ir.params.push(ParamSlot::Var(var));
                lowerer.ir.value_params.push(var);
                lowerer.declare(&name, Binding::Var(var), Some(ty.clone()));
            }
            ParamKind::Scalar | ParamKind::Constant | ParamKind::Struct { .. } => {
                let var = lowerer
                    .ir
                    .new_named_var(&name, Some(param.ty.clone()), span);
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
                _ => lowerer.dummy(),
            })
            .collect();
    } else {
        let want = lowerer.components;
        let value = lowerer.lower_stmts(&func.block.stmts, &mut body, want, false);
        let dummy = lowerer.dummy();
        lowerer.ir.result = value.unwrap_or_else(|| vec![dummy.clone(); want]);
        if lowerer.ir.result.len() != want {
            lowerer.ir.result.resize(want, dummy);
        }
    }
    lowerer.ir.body = body;
    for (checkpoint, found) in &lowerer.checkpoints {
        if !found {
            let label = &checkpoint.label;
            lowerer.errors.spanned(
                label,
                format!("no loop is labelled `{label}` in this function; label the loop to checkpoint (`{label}: for ..`)"),
            );
        }
    }
    lowerer.ir
}

/// `T` of `Vec<T>`, `[T; N]` or `&[T]` when `T` is a float.
fn element_type(ty: &syn::Type, floats: &FloatTypes) -> Option<syn::Type> {
    let is_float_type = |t: &syn::Type| floats.is_float(t);
    match ty {
        syn::Type::Array(a) if is_float_type(&a.elem) => Some((*a.elem).clone()),
        syn::Type::Slice(s) if is_float_type(&s.elem) => Some((*s.elem).clone()),
        syn::Type::Reference(r) => element_type(&r.elem, floats),
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
        Expr::Cast(c) => lowerer.floats.is_float(&c.ty),
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

/// `expr` without the parentheses around it.
fn strip_parens(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(p) => strip_parens(&p.expr),
        Expr::Group(g) => strip_parens(&g.expr),
        other => other,
    }
}

/// `v` of `*v`, `**v`: what the dereferences start from.
fn peel_derefs(expr: &Expr) -> &Expr {
    match strip_parens(expr) {
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => peel_derefs(&u.expr),
        other => other,
    }
}

/// The stem of a temporary's name: what it computes.
fn temporary_name(rhs: &Rhs) -> &'static str {
    match rhs {
        Rhs::Prim { prim, .. } => prim.name,
        Rhs::Arith(ArithOp::Add, ..) => "sum",
        Rhs::Arith(ArithOp::Sub, ..) => "diff",
        Rhs::Arith(ArithOp::Mul, ..) => "prod",
        Rhs::Arith(ArithOp::Div, ..) => "quot",
        Rhs::Neg(_) => "neg",
        Rhs::Cast { .. } => "cast",
        Rhs::Load { .. } => "elem",
        Rhs::Component { .. } => "part",
        Rhs::Call { .. } => "call",
        Rhs::Use(_) | Rhs::Len(_) | Rhs::Passive(_) => "t",
    }
}

impl Lowerer<'_> {
    /// A placeholder for a value on a path that never uses it (after `return`, or before a
    /// deferred `let x;` is assigned). It carries no derivative. `Default::default()`, but in
    /// a function generic over `T` it is most often a `T`, which has no `Default`: zero there,
    /// unless the type is known to be another.
    fn dummy(&self) -> Operand {
        self.placeholder(None)
    }

    /// [`Self::dummy`] of a variable declared with type `ty`.
    fn placeholder(&self, ty: Option<&syn::Type>) -> Operand {
        match (&self.ir.numbers, ty) {
            (Numbers::Generic(_), None) => Operand::Const(self.ir.numbers.zero()),
            (Numbers::Generic(_), Some(ty)) if self.floats.is_float(ty) => {
                Operand::Const(self.ir.numbers.zero())
            }
            _ => dummy(),
        }
    }
}

/// `Default::default()`: see [`Lowerer::dummy`].
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
        let hint = name;
        // A new version of a variable of no declared type takes the type of the version it
        // replaces, as the user's one variable has one type (`v = 2.5 / 3.0` must not leave
        // `v` an ambiguous float).
        let like = match (&ty, &self.scopes[si][li].binding) {
            (None, Binding::Var(previous)) => Some(*previous),
            _ => None,
        };
        let var = self.ir.new_named_var(hint, ty, span);
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

    /// Binds `rhs` to a new temporary. A temporary hinted `t` is named after what it computes
    /// (`powi_1`, `sum_3`), so the generated code reads as what it does.
    fn bind(&mut self, hint: &str, rhs: Rhs, span: Span, out: &mut Block) -> Operand {
        let var = match hint {
            "t" => self.ir.new_var(temporary_name(&rhs), None, span),
            other => self.ir.new_var(other, None, span),
        };
        if matches!(hint, "t" | "p") {
            self.temporaries.insert(var);
        }
        out.stmts.push(Stmt::Let { var, rhs, span });
        Operand::Var(var)
    }

    fn constant_var(&mut self, hint: &str, expr: Expr, out: &mut Block) -> VarId {
        let span = expr.source_span();
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
        let span = expr.source_span();
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
        let span = expr.source_span();
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
        self.dummy()
    }
}

/// For the stages' unit tests: `source`, with the attribute arguments `attr`, lowered; with
/// its signature and which parameters are active. Panics if it does not lower.
#[cfg(test)]
pub fn lower_source(attr: &str, source: &str) -> (FnIr, Signature, Vec<bool>) {
    let func: syn::ItemFn = syn::parse_str(source).expect("a function");
    let mut errors = Errors::default();
    let options = crate::options::parse(attr.parse().expect("tokens"), &mut errors);
    let sig = crate::signature::analyse(&func.sig, &options, &mut errors);
    let ir = lower(&func, &sig, &mut errors);
    assert!(errors.is_empty(), "{source} does not lower");
    let active = sig.params.iter().map(|p| p.active).collect();
    (ir, sig, active)
}
