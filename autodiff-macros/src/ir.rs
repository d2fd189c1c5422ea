//! The intermediate form the transform works on: A-normal form with structured control flow.
//!
//! Every binding computes one primitive from operands that are variables or constants, and
//! every variable is assigned exactly once (static single assignment). A user variable that
//! is reassigned (`x = ..`, `x += ..`) becomes a new [`VarId`] per assignment; where control
//! flow joins, a [`Phi`] picks the version of the branch that ran. Spans of the user's code
//! are kept on every binding so errors and generated code point at it.
//!
//! Control flow stays structured ([`Stmt::Branch`]) instead of a control-flow graph, so the
//! adjoint of a branch is a branch over the same decision, and each arm's adjoint can see
//! exactly the values its forward arm computed. The reverse transform packs the values an
//! arm's adjoint reads into a record the forward arm returns; a loop (the next stage of the
//! project) pushes the same per-iteration record on a tape instead, so no construct needs a
//! different mechanism.

use crate::primitives::Primitive;
use proc_macro2::Span;

/// Index of a variable in [`FnIr::vars`].
pub type VarId = usize;

/// A variable of the intermediate form.
pub struct Var {
    /// A readable stem for its generated name: the user's name, or `t` for a temporary.
    pub hint: String,
    /// The declared type, when the user wrote one or it is a parameter's.
    pub ty: Option<syn::Type>,
    pub span: Span,
}

/// An operand: a variable or a constant expression that mentions no local variable
/// (a literal, a `const`, `std::f64::consts::PI`).
#[derive(Clone)]
pub enum Operand {
    Var(VarId),
    Const(syn::Expr),
}

impl Operand {
    pub fn var(&self) -> Option<VarId> {
        match self {
            Operand::Var(v) => Some(*v),
            Operand::Const(_) => None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// How a float-library primitive was written, so the forward sweep repeats it verbatim.
#[derive(Clone)]
pub enum CallForm {
    /// `x.sin()`
    Method(syn::Ident),
    /// `f64::sin(x)`
    Path(syn::ExprPath),
}

/// Who a call to a differentiated function goes to.
#[derive(Clone)]
pub enum Callee {
    /// `g(..)` or `module::g(..)`: its pullback is `g_pullback`, beside it.
    Function(syn::ExprPath),
    /// `self.g(..)`: its pullback is the method `self.g_pullback(..)`.
    SelfMethod(syn::Ident),
}

/// A value computed with no derivative.
pub struct Passive {
    /// The expression, with every local variable renamed to its current version.
    pub expr: syn::Expr,
    /// The variables it reads.
    pub uses: Vec<VarId>,
    /// Whether a derivative through it is meaningless or merely missing.
    pub kind: PassiveKind,
}

#[derive(Clone)]
pub enum PassiveKind {
    /// Comparisons, boolean logic, integer casts: discrete results, derivative zero by nature.
    Discrete,
    /// Something the transform cannot see into (an unknown method, a field, a macro). Fine on
    /// constants; on an active value it is an error, named by `what`.
    Opaque { what: String, fix: String },
}

/// The right-hand side of a binding: one primitive.
pub enum Rhs {
    Use(Operand),
    Neg(Operand),
    Arith(ArithOp, Operand, Operand),
    /// A float-library function; `args[0]` is the receiver (`x` in `x.powf(p)`).
    Prim {
        prim: &'static Primitive,
        form: CallForm,
        args: Vec<Operand>,
    },
    /// `x as f64` / `x as f32` of a float.
    Cast {
        arg: Operand,
        ty: syn::Type,
    },
    /// A call to another differentiated function; `spans` are the arguments'.
    Call {
        callee: Callee,
        args: Vec<Operand>,
        spans: Vec<Span>,
    },
    Passive(Passive),
}

/// How the forward sweep picks an arm.
pub enum Selector {
    /// `if cond { arms[0] } else { arms[1] }`; `cond` is a constant (non-active) boolean.
    If(Operand),
    /// `match scrutinee { pats[i] if guards[i] => arms[i] }`, patterns already renamed.
    Match {
        scrutinee: Operand,
        pats: Vec<syn::Pat>,
        /// Where each pattern is in the user's code, for errors.
        pat_spans: Vec<Span>,
        guards: Vec<Option<syn::Expr>>,
    },
}

/// Where arms join, `var` takes `srcs[i]` when arm `i` ran.
pub struct Phi {
    pub var: VarId,
    pub srcs: Vec<Operand>,
}

pub enum Stmt {
    Let {
        var: VarId,
        rhs: Rhs,
        span: Span,
    },
    Branch {
        selector: Selector,
        arms: Vec<Block>,
        phis: Vec<Phi>,
        span: Span,
    },
    /// A statement kept for its effect only (`println!`, `assert!`), with the user variables it
    /// mentions rebound under their own names just before it.
    Effect {
        rebind: Vec<(syn::Ident, VarId)>,
        stmt: syn::Stmt,
    },
}

#[derive(Default)]
pub struct Block {
    /// Variables bound on entry, before any statement (a `match` arm's pattern bindings).
    pub bound: Vec<VarId>,
    pub stmts: Vec<Stmt>,
}

/// A lowered function.
pub struct FnIr {
    pub vars: Vec<Var>,
    /// The variable each parameter is bound to, in parameter order.
    pub params: Vec<VarId>,
    /// Items declared inside the body (`const`, `fn`, `use`), emitted once, unchanged.
    pub items: Vec<syn::Item>,
    pub body: Block,
    /// The components of the returned value (one for a scalar, N for a tuple or array).
    pub result: Vec<Operand>,
}

impl FnIr {
    pub fn new_var(&mut self, hint: &str, ty: Option<syn::Type>, span: Span) -> VarId {
        self.vars.push(Var {
            hint: hint.to_string(),
            ty,
            span,
        });
        self.vars.len() - 1
    }
}

impl Block {
    /// Every variable this block defines, arms of nested branches included.
    pub fn defs(&self, out: &mut std::collections::BTreeSet<VarId>) {
        out.extend(self.bound.iter().copied());
        for stmt in &self.stmts {
            match stmt {
                Stmt::Let { var, .. } => {
                    out.insert(*var);
                }
                Stmt::Branch { arms, phis, .. } => {
                    for arm in arms {
                        arm.defs(out);
                    }
                    out.extend(phis.iter().map(|p| p.var));
                }
                Stmt::Effect { .. } => {}
            }
        }
    }
}
