//! The crate's use-walker: which variables (and how often) and which arrays a piece of the
//! intermediate form reads, kept user expressions included (their markers are read back, see
//! [`super::kept`]).

use super::kept::{parse_array_marker, parse_var_marker};
use super::*;
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};

/// The variables (with how often each is used) and arrays some code mentions, including the
/// user's code kept as written (guards, patterns, `println!`), whose markers are read back.
#[derive(Default)]
pub struct Mentions {
    pub count: BTreeMap<VarId, usize>,
    pub arrays: BTreeSet<ArrayId>,
}

impl Mentions {
    pub fn var(&mut self, v: VarId) {
        *self.count.entry(v).or_default() += 1;
    }

    pub fn vars(&mut self, vs: &[VarId]) {
        vs.iter().for_each(|v| self.var(*v));
    }

    pub fn operand(&mut self, op: &Operand) {
        match op {
            Operand::Var(v) => self.var(*v),
            Operand::Const(c) => self.tokens(c.to_token_stream()),
        }
    }

    pub fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Ident(ident) => {
                    if let Some(v) = parse_var_marker(ident) {
                        self.var(v);
                    }
                    // `array.len()` does not read the elements.
                    let len = matches!(&trees[i + 1..], [TokenTree::Punct(dot), TokenTree::Ident(len), ..] if dot.as_char() == '.' && len == "len");
                    if let Some(a) = parse_array_marker(ident).filter(|_| !len) {
                        self.arrays.insert(a);
                    }
                }
                TokenTree::Group(g) => self.tokens(g.stream()),
                _ => {}
            }
        }
    }

    pub fn block(&mut self, block: &Block) {
        block.stmts.iter().for_each(|s| self.stmt(s));
    }

    pub fn rhs(&mut self, rhs: &Rhs) {
        rhs.operands().into_iter().for_each(|op| self.operand(op));
        match rhs {
            Rhs::Call { args, .. } => {
                for arg in args {
                    if let CallArg::Array { array, .. } = arg {
                        self.arrays.insert(*array);
                    }
                }
            }
            Rhs::Load { array, guard, .. } => {
                self.arrays.insert(*array);
                if let Some(guard) = guard {
                    self.vars(&guard.uses);
                }
            }
            Rhs::Component { of, .. } => self.var(*of),
            Rhs::Passive(p) => {
                // The expression's markers name what it reads (`p.arrays` also lists the
                // arrays it only takes the length of).
                self.vars(&p.uses);
                self.tokens(p.expr.to_token_stream());
            }
            Rhs::Use(_)
            | Rhs::Neg(_)
            | Rhs::Cast { .. }
            | Rhs::Arith(..)
            | Rhs::Prim { .. }
            | Rhs::Len(_) => {}
        }
    }

    /// A statement and everything nested in it.
    pub fn stmt(&mut self, stmt: &Stmt) {
        self.stmt_shallow(stmt);
        stmt.nested().into_iter().for_each(|b| self.block(b));
    }

    /// A statement without the blocks nested in it (a branch's selector and phis, a loop's
    /// range, carried values and condition).
    pub fn stmt_shallow(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Let { rhs, .. } => self.rhs(rhs),
            Stmt::Branch { selector, phis, .. } => {
                match selector {
                    Selector::If(cond) => self.operand(cond),
                    Selector::Match {
                        scrutinee,
                        pats,
                        guards,
                        ..
                    } => {
                        self.operand(scrutinee);
                        pats.iter().for_each(|p| self.tokens(p.to_token_stream()));
                        guards
                            .iter()
                            .flatten()
                            .for_each(|g| self.tokens(g.to_token_stream()));
                    }
                }
                phis.iter()
                    .flat_map(|p| &p.srcs)
                    .for_each(|s| self.operand(s));
            }
            Stmt::DeclareArray { array, init, .. } => {
                self.arrays.insert(*array);
                match init {
                    ArrayInit::Repeat { value, len } => {
                        self.operand(value);
                        self.operand(len);
                    }
                    ArrayInit::Elements(elements) => elements.iter().for_each(|e| self.operand(e)),
                }
            }
            Stmt::Store {
                array,
                index,
                value,
            } => {
                self.arrays.insert(*array);
                self.operand(index);
                self.operand(value);
            }
            Stmt::Loop(l) => {
                if let LoopKind::Range { iter, uses, .. } = &l.kind {
                    self.vars(uses);
                    self.tokens(iter.to_token_stream());
                }
                for c in &l.carried {
                    self.operand(&c.init);
                    self.operand(&c.next);
                }
                if let Some(cond) = &l.cond {
                    self.operand(cond);
                }
                if let Some(stop) = &l.stop {
                    self.operand(stop);
                }
            }
            Stmt::Effect { rebind, stmt } => {
                rebind.iter().for_each(|(_, v)| self.var(*v));
                self.tokens(stmt.to_token_stream());
            }
        }
    }
}
