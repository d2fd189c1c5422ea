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
//! arm's adjoint reads into a record the forward arm returns; a loop pushes the same
//! per-iteration record on a tape instead, so no construct needs a different mechanism.

pub mod kept;
#[cfg(test)]
mod print;
pub mod uses;
mod walk;

use crate::primitives::Primitive;
use proc_macro2::Span;

/// Index of a variable in [`FnIr::vars`].
pub type VarId = usize;

/// Index of an array in [`FnIr::arrays`].
pub type ArrayId = usize;

/// An array of floats: a slice or array parameter, or a local buffer. Unlike variables,
/// arrays are locations written in place (`buf[i] = v`); the adjoint keeps an adjoint array
/// beside each active one.
pub struct Array {
    pub hint: String,
    pub span: Span,
    /// The element type, when known (`f64` of `&[f64]`).
    pub elem: Option<syn::Type>,
    /// The length of a fixed-size array (`N` of `[f64; N]`), `None` for a slice or `Vec`.
    pub fixed_len: Option<syn::Expr>,
    /// For a cache a rewrite added (hoisting's): the variable whose values it holds.
    pub holds: Option<VarId>,
    /// A parameter that is a reference (`x: &[f64; 3]`): named as it is, it is passed by
    /// reference.
    pub reference: bool,
}

/// How a local buffer starts.
pub enum ArrayInit {
    /// `vec![value; len]` or `[value; len]`.
    Repeat { value: Operand, len: Operand },
    /// `vec![a, b, ..]` or `[a, b, ..]`.
    Elements(Vec<Operand>),
}

/// What a parameter is bound to in the body.
#[derive(Clone, Copy)]
pub enum ParamSlot {
    Var(VarId),
    Array(ArrayId),
}

/// An argument of a call to a differentiated function.
#[derive(Clone)]
pub enum CallArg {
    Value(Operand),
    /// `&value`, as the user wrote it.
    Ref(Operand),
    /// An array, passed as `&x` (`by_ref`) or `x`; or a sub-slice of it,
    /// `&x[start..start + len]` (`range`, as `(start, len)`).
    Array {
        array: ArrayId,
        by_ref: bool,
        range: Option<(Operand, Operand)>,
    },
}

/// A variable of the intermediate form.
pub struct Var {
    /// A readable stem for its generated name: the user's name, or `t` for a temporary.
    pub hint: String,
    /// The declared type, when the user wrote one or it is a parameter's.
    pub ty: Option<syn::Type>,
    /// For a new version of an untyped user variable: the version it replaces, whose type it
    /// has (one variable in the user's code has one type; its versions must too).
    pub like: Option<VarId>,
    /// For a variable a rewrite added as a copy of another (hoisting's copies of loop code,
    /// the values they carry out): that variable, whose facts it shares.
    pub copy_of: Option<VarId>,
    /// Whether it is a version of one of the user's variables (`hint` is its name), rather
    /// than a temporary or a hidden variable.
    pub named: bool,
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
    /// The arrays it mentions.
    pub arrays: Vec<ArrayId>,
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
        /// Which arguments the user passed by reference (`a.matmul(&b)`).
        refs: Vec<bool>,
    },
    /// `x as f64` / `x as f32` of a float.
    Cast {
        arg: Operand,
        ty: syn::Type,
    },
    /// A call to another differentiated function; `spans` are the arguments'.
    Call {
        callee: Callee,
        args: Vec<CallArg>,
        spans: Vec<Span>,
    },
    /// `array[index]`.
    Load {
        array: ArrayId,
        index: Operand,
        /// For a load moved before the range loop that repeated it (see `loads`): that
        /// loop's range. The element is read only if the range is not empty; otherwise the
        /// value is unused and the index may be out of bounds.
        guard: Option<Guard>,
    },
    /// Element `index` of a tuple (`q.0`) or array (`q[0]`) a call returned, or a component
    /// of a nalgebra value read by name (`v.x`, `field`; element `index` of it).
    Component {
        of: VarId,
        index: usize,
        tuple: bool,
        field: Option<syn::Ident>,
    },
    /// `array.len()`.
    Len(ArrayId),
    Passive(Passive),
}

/// The range of a loop, and the variables it reads.
#[derive(Clone)]
pub struct Guard {
    pub range: syn::Expr,
    pub uses: Vec<VarId>,
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
    /// `let buf = vec![..]` / `[..; N]`: a local buffer starts.
    DeclareArray {
        array: ArrayId,
        init: ArrayInit,
        /// `vec![..]` rather than an array literal.
        vec: bool,
    },
    /// `array[index] = value`.
    Store {
        array: ArrayId,
        index: Operand,
        value: Operand,
    },
    Loop(Box<Loop>),
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

/// A loop's identity, given by [`FnIr::new_loop`]; analyses keyed by loop use it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct LoopId(pub usize);

/// A loop in single-exit form: `break`, `continue` and `return` inside it set flags that
/// skip the rest of the iteration, and `stop` ends the loop after the iteration.
pub struct Loop {
    pub id: LoopId,
    pub kind: LoopKind,
    /// Variables the body assigns that live across iterations.
    pub carried: Vec<Carried>,
    /// `while` only: statements computing the condition at the head of each iteration,
    /// and the condition (the loop continues while it is true).
    pub head: Block,
    pub cond: Option<Operand>,
    pub body: Block,
    /// True after an iteration that ran `break` or `return`: the loop ends there.
    pub stop: Option<Operand>,
    /// `checkpoint('label, s)`: reversed with `s` snapshots of its state instead of a record
    /// per iteration (see `reverse::checkpoint`).
    pub checkpoint: Option<usize>,
}

pub enum LoopKind {
    /// `for index in iter` over a range of integers: `iter` is evaluated once, before the
    /// loop, and its reverse (`.rev()`) replays the indices backwards.
    Range {
        index: VarId,
        iter: syn::Expr,
        uses: Vec<VarId>,
    },
    /// `while` and `loop`.
    Conditional,
}

/// `header` holds the variable's value at the start of each iteration: `init` on the first,
/// `next` (its value at the end of the previous iteration) after that. `exit` is its value
/// after the loop.
pub struct Carried {
    pub header: VarId,
    pub init: Operand,
    pub next: Operand,
    pub exit: VarId,
}

/// A lowered function.
pub struct FnIr {
    pub vars: Vec<Var>,
    pub arrays: Vec<Array>,
    /// What each parameter is bound to, in parameter order.
    pub params: Vec<ParamSlot>,
    /// The parameters held as values with rules of their own (tensors, nalgebra values the
    /// body computes with); any other parameter of such a type is read by component or is a
    /// constant, a number to the kinds.
    pub value_params: Vec<VarId>,
    /// Items declared inside the body (`const`, `fn`, `use`), emitted once, unchanged.
    pub items: Vec<syn::Item>,
    pub body: Block,
    /// The components of the returned value (one for a scalar, N for a tuple or array).
    pub result: Vec<Operand>,
    /// How many loops have been given a [`LoopId`].
    pub loop_count: usize,
    /// How the code writes the numbers it makes itself.
    pub numbers: Numbers,
    /// A second-order twin's (see `twin`): a call the gradient does not differentiate runs at
    /// the original float type, whatever the callee is.
    pub twin: bool,
    /// The number type is nalgebra's `RealField` as well as `Float` (a generic function over
    /// nalgebra values, or such a twin): a number's methods are called as `Float::sin(x)`.
    pub real_field: bool,
}

/// How the transform writes the numbers it makes itself (the zeros adjoints and sums start
/// from, the unit seeds): literals in a function over `f64` or `f32`, where Rust infers their
/// type, and the float type's own in a function generic over `T: Float`, where a literal has
/// no type to be (`T::zero()`, and `d = d + c` for `d += c`, which `Float` does not promise).
#[derive(Clone, Default)]
pub enum Numbers {
    #[default]
    Literal,
    Generic(syn::Ident),
}

impl Numbers {
    /// For a function whose float type parameter is `generic`, if it has one.
    pub fn new(generic: Option<&syn::Ident>) -> Numbers {
        match generic {
            Some(t) => Numbers::Generic(t.clone()),
            None => Numbers::Literal,
        }
    }

    pub fn zero(&self) -> syn::Expr {
        match self {
            Numbers::Literal => syn::parse_quote!(0.0),
            Numbers::Generic(t) => syn::parse_quote!(#t::zero()),
        }
    }

    pub fn one(&self) -> syn::Expr {
        match self {
            Numbers::Literal => syn::parse_quote!(1.0),
            Numbers::Generic(t) => syn::parse_quote!(#t::one()),
        }
    }

    /// Whether `ty` is the float type parameter.
    pub fn is_generic(&self, ty: &syn::Type) -> bool {
        matches!((self, ty), (Numbers::Generic(t), syn::Type::Path(p)) if p.qself.is_none() && p.path.is_ident(t))
    }

    /// `place += value` (`place -= value` with `negate`), as the number type allows.
    pub fn add_to(
        &self,
        place: &proc_macro2::TokenStream,
        value: &proc_macro2::TokenStream,
        negate: bool,
    ) -> proc_macro2::TokenStream {
        match (self, negate) {
            (Numbers::Literal, false) => quote::quote!(#place += #value;),
            (Numbers::Literal, true) => quote::quote!(#place -= #value;),
            (Numbers::Generic(_), false) => quote::quote!(#place = #place + #value;),
            (Numbers::Generic(_), true) => quote::quote!(#place = #place - #value;),
        }
    }
}

impl FnIr {
    /// A new loop's identity.
    pub fn new_loop(&mut self) -> LoopId {
        self.loop_count += 1;
        LoopId(self.loop_count - 1)
    }

    pub fn new_array(
        &mut self,
        hint: &str,
        elem: Option<syn::Type>,
        fixed_len: Option<syn::Expr>,
        span: Span,
    ) -> ArrayId {
        self.arrays.push(Array {
            hint: hint.to_string(),
            span,
            elem,
            fixed_len,
            holds: None,
            reference: false,
        });
        self.arrays.len() - 1
    }

    pub fn new_var(&mut self, hint: &str, ty: Option<syn::Type>, span: Span) -> VarId {
        self.vars.push(Var {
            hint: hint.to_string(),
            ty,
            like: None,
            copy_of: None,
            named: false,
            span,
        });
        self.vars.len() - 1
    }

    /// A new version of the variable `name`: one of the user's, unless hidden (`#done`).
    pub fn new_named_var(&mut self, name: &str, ty: Option<syn::Type>, span: Span) -> VarId {
        let var = self.new_var(name.trim_start_matches('#'), ty, span);
        self.vars[var].named = !name.starts_with('#');
        var
    }
}

impl Stmt {
    /// Every variable this statement defines, nested blocks included.
    pub fn defs(&self, out: &mut std::collections::BTreeSet<VarId>) {
        let mut own = |stmt: &Stmt| match stmt {
            Stmt::Let { var, .. } => {
                out.insert(*var);
            }
            Stmt::Branch { arms, phis, .. } => {
                out.extend(arms.iter().flat_map(|a| a.bound.iter().copied()));
                out.extend(phis.iter().map(|p| p.var));
            }
            Stmt::Loop(l) => {
                out.extend(l.carried.iter().flat_map(|c| [c.header, c.exit]));
                if let LoopKind::Range { index, .. } = l.kind {
                    out.insert(index);
                }
                out.extend(l.head.bound.iter().chain(&l.body.bound).copied());
            }
            Stmt::Effect { .. } | Stmt::DeclareArray { .. } | Stmt::Store { .. } => {}
        };
        own(self);
        for block in self.nested() {
            block.walk(&mut own);
        }
    }

    /// Every array this statement stores to, nested blocks included.
    pub fn stored_arrays(&self, out: &mut std::collections::BTreeSet<ArrayId>) {
        let mut own = |stmt: &Stmt| {
            if let Stmt::Store { array, .. } = stmt {
                out.insert(*array);
            }
        };
        own(self);
        for block in self.nested() {
            block.walk(&mut own);
        }
    }
}

impl Block {
    /// Every variable this block defines, arms of nested branches included.
    pub fn defs(&self, out: &mut std::collections::BTreeSet<VarId>) {
        out.extend(self.bound.iter().copied());
        for stmt in &self.stmts {
            stmt.defs(out);
        }
    }

    /// The bindings made directly in this block (not in nested ones), by variable.
    pub fn own_bindings(&self) -> std::collections::BTreeMap<VarId, &Rhs> {
        self.stmts
            .iter()
            .filter_map(|stmt| match stmt {
                Stmt::Let { var, rhs, .. } => Some((*var, rhs)),
                _ => None,
            })
            .collect()
    }

    /// Every array stored to in this block, nested blocks included.
    pub fn stored_arrays(&self, out: &mut std::collections::BTreeSet<ArrayId>) {
        for stmt in &self.stmts {
            stmt.stored_arrays(out);
        }
    }
}
