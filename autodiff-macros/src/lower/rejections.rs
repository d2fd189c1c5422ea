//! What lowering rejects, and the message each rejection gives: one table of whole
//! sentences, so that a message a user sees can be found by searching for it.
//!
//! Each message says what is not supported and how to write it instead. Constructs that
//! lower to a passive value and are rejected only when a derivative must flow through them
//! (a field access, a macro, an unknown method) are reported by the activity stage instead.

use super::*;

/// A construct that has no lowering.
#[derive(Clone, Copy, Debug)]
pub(super) enum Rejected {
    ArrayAsValue,
    ClosureAsValue,
    TupleAsValue,
    Slicing,
    MutBorrow,
    UnsafeBlock,
    AsyncBlock,
    Await,
    TryOperator,
    TryBlock,
    Yield,
    RawBorrow,
    LetExpression,
    OtherExpression,
    WriteIntoParameter,
    AssignWholeArray,
    AssignField,
    AssignIndexed,
    AssignThroughReference,
    AssignOther,
    Pattern,
    ForIterator,
    LoopIndexPattern,
    LoopPairPattern,
    DestructureConstant,
    LetPattern,
}

impl Rejected {
    pub(super) fn message(self) -> &'static str {
        use Rejected::*;
        match self {
            ArrayAsValue => "using an array as a value is not supported in a `#[differentiate]` function; index it (`x[i]`), iterate over it, take `.len()`, or pass it to a function marked `#[differentiate]`",
            TupleAsValue => "using a tuple held in a variable as a value is not supported in a `#[differentiate]` function; take it apart (`t.0`, `let (a, b) = t;`) or return it",
            ClosureAsValue => "using a closure as a value is not supported in a `#[differentiate]` function; call it (`f(x)`): calls of local closures are inlined",
            Slicing => "a sub-slice cannot be used as a value here in a `#[differentiate]` function; name it (`let s = &x[a..b];`), index it, iterate over it (`x[a..b].iter()`), or pass it to a function marked `#[differentiate]`",
            MutBorrow => "`&mut` borrows are not supported in a `#[differentiate]` function; compute new values instead of mutating through a reference",
            UnsafeBlock => "`unsafe` blocks are not supported in a `#[differentiate]` function; move the unsafe code into a function with its own derivative",
            AsyncBlock => "`async` blocks are not supported in a `#[differentiate]` function; differentiate synchronous code",
            Await => "`.await` is not supported in a `#[differentiate]` function; differentiate synchronous code",
            TryOperator => "the `?` operator is not supported in a `#[differentiate]` function; return a float; handle errors outside the differentiated function",
            TryBlock => "`try` blocks are not supported in a `#[differentiate]` function; handle errors outside the differentiated function",
            Yield => "`yield` is not supported in a `#[differentiate]` function; differentiate an ordinary function",
            RawBorrow => "`&raw` borrows are not supported in a `#[differentiate]` function; take the value, or a plain reference `&x` to a constant",
            LetExpression => "`let` expressions outside `if let` are not supported in a `#[differentiate]` function; use `match`",
            OtherExpression => "this expression is not supported in a `#[differentiate]` function; rewrite it with supported syntax (see the README's table)",
            WriteIntoParameter => "writing into a parameter is not supported in a `#[differentiate]` function; copy it into a local buffer first (`let mut y = vec![0.0; x.len()]`) and write that",
            AssignWholeArray => "assigning a whole array is not supported in a `#[differentiate]` function; assign its elements (`x[i] = ..`)",
            AssignField => "assignment to a field is supported only on a struct built in the body by a literal (`let mut s = State { x: .., v: .. }`); assign to a local variable",
            AssignIndexed => "assignment to an indexed element is not supported in a `#[differentiate]` function; assign to a local variable",
            AssignThroughReference => "assignment through a reference is not supported in a `#[differentiate]` function; assign to a local variable",
            AssignOther => "this assignment target is not supported in a `#[differentiate]` function; assign to a local variable",
            Pattern => "this pattern is not supported in a `#[differentiate]` function; bind a single name (`x`, `&x`, `x: f64`)",
            ForIterator => "this `for` iterator is not supported in a `#[differentiate]` function; iterate over a range (`0..n`, `(a..b).rev()`, `.step_by(k)`) or a slice of floats (`x`, `x.iter()`, `.enumerate()`, `.zip(y.iter())`)",
            LoopIndexPattern => "this loop pattern is not supported in a `#[differentiate]` function; bind the index to a name or `_`",
            LoopPairPattern => "this loop pattern is not supported in a `#[differentiate]` function; destructure the pair: `(i, v)` or `(a, b)`",
            DestructureConstant => "destructuring a constant is not supported in a `#[differentiate]` function; bind each value with its own `let`",
            LetPattern => "this destructuring pattern in `let` is not supported in a `#[differentiate]` function; destructure a tuple or an array into names (`let (a, b) = ..`, `let [a, b] = *x;`), or bind each value with its own `let`",
        }
    }
}

impl Lowerer<'_> {
    /// Reports `rejected` at `node`; the returned operand stands in for its value.
    pub(super) fn reject(&mut self, node: impl ToTokens, rejected: Rejected) -> Operand {
        self.errors.spanned(node, rejected.message());
        self.dummy()
    }

    /// The expressions that have no lowering at all, or `None` for the others.
    pub(super) fn rejected_expression(expr: &Expr) -> Option<(TokenStream, Rejected)> {
        use Rejected::*;
        Some(match expr {
            Expr::Unsafe(u) => (u.unsafe_token.to_token_stream(), UnsafeBlock),
            Expr::Async(a) => (a.async_token.to_token_stream(), AsyncBlock),
            Expr::Await(a) => (a.to_token_stream(), Await),
            Expr::Try(t) => (t.question_token.to_token_stream(), TryOperator),
            Expr::TryBlock(t) => (t.try_token.to_token_stream(), TryBlock),
            Expr::Yield(y) => (y.yield_token.to_token_stream(), Yield),
            Expr::RawAddr(r) => (r.to_token_stream(), RawBorrow),
            Expr::Let(l) => (l.let_token.to_token_stream(), LetExpression),
            _ => return None,
        })
    }
}
