//! Partial sums: an adjoint loop's sums into outside adjoints, split four ways.
//!
//! The adjoint of a value every iteration reads (`l` in `y[i] += l * x[i]`) is a sum over the
//! iterations, `d_l += x[i] * d_y[i]`: one chain of dependent additions, which the compiler
//! may not reorder, so the loop runs at the speed of one addition at a time and is never
//! vectorised. Here the iterations run in blocks of four, each position of a block adding into
//! its own partial sum, and the four are added to the adjoint after the loop:
//!
//! ```text
//! let mut d_l_partial = [0.0; 4];
//! let (blocks, first, rest) = blocks_of(start..end, 4);
//! for i in rest.rev() { body }                          // the last (end - start) % 4
//! for block in blocks.rev() {
//!     for lane in (0..4).rev() {
//!         let i = first + 4 * block + lane;
//!         body, with `d_l += ..` as `d_l_partial[lane] += ..`
//!     }
//! }
//! d_l += (d_l_partial[0] + d_l_partial[1]) + (d_l_partial[2] + d_l_partial[3]);
//! ```
//!
//! The iterations still run in the same (reverse) order, so everything else they do happens as
//! before; only these sums are added in a different order, which changes their last bits
//! (XLA reassociates such reductions too). Done for innermost loops whose body is
//! straight-line code and whose arrays were all given rows (see [`super::rows`]): the loops a
//! compiler can then vectorise.

use super::Emitter;
use crate::ir::*;
use crate::kinds::Kind;
use crate::naming;
use crate::twin;
use proc_macro2::{Spacing, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use std::collections::BTreeSet;

/// Iterations per block, and partial sums per adjoint.
pub(super) const WIDTH: usize = 4;

impl Emitter<'_> {
    /// The reverse loop of `l` over `iter`, its iterations in blocks of four with partial sums
    /// for the outside adjoints `touched` that they only add to (returned with it); `None`
    /// when there are none or the loop is not one the compiler could vectorise.
    pub(super) fn in_partial_sums(
        &self,
        l: &Loop,
        touched: &BTreeSet<VarId>,
        iter: &TokenStream,
        iteration: &TokenStream,
    ) -> Option<(Vec<VarId>, TokenStream)> {
        let LoopKind::Range { index, .. } = &l.kind else {
            return None;
        };
        let straight = l
            .body
            .stmts
            .iter()
            .all(|s| matches!(s, Stmt::Let { .. } | Stmt::Store { .. }));
        // Not in a second-order twin: its numbers are duals, which the split would not make
        // faster, and its code would only grow.
        if self.ir.twin || self.lanes.is_some() || !straight || self.indexes_an_array(iteration) {
            return None;
        }
        let headers: BTreeSet<VarId> = l.carried.iter().map(|c| c.header).collect();
        let summed: Vec<VarId> = touched
            .iter()
            .copied()
            .filter(|v| !headers.contains(v) && self.facts.kinds[*v] == Kind::Scalar)
            .filter(|v| {
                only_added_to(iteration.clone(), &self.adjoint(*v).to_string()) == Some(true)
            })
            .collect();
        let sums: Vec<(syn::Ident, syn::Ident)> = summed
            .iter()
            .map(|v| (self.adjoint(*v), naming::partial_sums(self.ir, *v)))
            .collect();
        if sums.is_empty() {
            return None;
        }
        let rt = &self.rt;
        let i = self.primal(*index);
        let [blocks, first, rest, block, lane] = naming::blocks();
        let zero = self.ir.numbers.zero();
        let mut split = iteration.clone();
        for (d, partial) in &sums {
            split = replace_ident(split, &d.to_string(), &quote!(#partial[#lane]));
        }
        let declare = sums
            .iter()
            .map(|(_, partial)| quote!(let mut #partial = [#zero; #WIDTH];));
        let total = sums.iter().map(|(d, partial)| {
            // One group, so that `d = d + (..)` adds as `d += (..)` does.
            let sum = pairwise(partial, 0..WIDTH);
            self.ir.numbers.add_to(&d.to_token_stream(), &sum, false)
        });
        Some((
            summed,
            quote! {
                #(#declare)*
                let (#blocks, #first, #rest) = #rt::slices::blocks_of(#iter, #WIDTH);
                for #i in #rest.rev() #iteration
                for #block in #blocks.rev() {
                    for #lane in (0..#WIDTH).rev() {
                        let #i = #first + #WIDTH * #block + #lane;
                        #split
                    }
                }
                #(#total)*
            },
        ))
    }

    /// Whether `tokens` name an array or an array's adjoint: an element read other than
    /// through a row, whose bounds check would stop vectorisation anyway.
    fn indexes_an_array(&self, tokens: &TokenStream) -> bool {
        (0..self.ir.arrays.len())
            .flat_map(|a| [naming::array(self.ir, a), naming::array_adjoint(self.ir, a)])
            .any(|name| twin::mentions_ident(tokens.clone(), &name.to_string()))
    }
}

/// `((p[0] + p[1]) + (p[2] + p[3]))` for the partial sums `p` at `lanes`, in one group.
fn pairwise(partial: &syn::Ident, lanes: std::ops::Range<usize>) -> TokenStream {
    if lanes.len() == 1 {
        let k = proc_macro2::Literal::usize_unsuffixed(lanes.start);
        return quote!(#partial[#k]);
    }
    let middle = lanes.start + lanes.len() / 2;
    let (low, high) = (
        pairwise(partial, lanes.start..middle),
        pairwise(partial, middle..lanes.end),
    );
    quote!((#low + #high))
}

/// Whether every use of `d` in `tokens` adds to it: `d += ..`, `d -= ..`, or `d = d + ..`,
/// `d = d - ..` (in a function generic over its number type), with `d` nowhere else:
/// `Some(true)` if there is such a use, `Some(false)` if there is none, `None` if `d` is used
/// otherwise.
fn only_added_to(tokens: TokenStream, d: &str) -> Option<bool> {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let is_d = |k: usize| matches!(tokens.get(k), Some(TokenTree::Ident(i)) if i == d);
    let punct = |k: usize, c: char, spacing: Spacing| matches!(tokens.get(k), Some(TokenTree::Punct(p)) if p.as_char() == c && p.spacing() == spacing);
    let mut added = false;
    let mut k = 0;
    while k < tokens.len() {
        match &tokens[k] {
            TokenTree::Group(g) => added |= only_added_to(g.stream(), d)?,
            TokenTree::Ident(i) if i == d => {
                let compound = (punct(k + 1, '+', Spacing::Joint)
                    || punct(k + 1, '-', Spacing::Joint))
                    && punct(k + 2, '=', Spacing::Alone);
                let spelled_out = punct(k + 1, '=', Spacing::Alone)
                    && is_d(k + 2)
                    && (punct(k + 3, '+', Spacing::Alone) || punct(k + 3, '-', Spacing::Alone));
                if spelled_out {
                    k += 3;
                } else if !compound {
                    return None;
                }
                added = true;
            }
            _ => {}
        }
        k += 1;
    }
    Some(added)
}

/// `tokens` with each identifier `name` replaced by `with`.
fn replace_ident(tokens: TokenStream, name: &str, with: &TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut group =
                    proc_macro2::Group::new(g.delimiter(), replace_ident(g.stream(), name, with));
                group.set_span(g.span());
                TokenStream::from(TokenTree::Group(group))
            }
            TokenTree::Ident(i) if i == name => with.clone(),
            other => TokenStream::from(other),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::only_added_to;
    use quote::quote;

    #[test]
    fn sums_are_recognised_and_anything_else_is_not() {
        let added = |tokens| only_added_to(tokens, "d_l");
        assert_eq!(
            added(quote!({
                d_l += a * b;
                d_l -= c;
            })),
            Some(true)
        );
        assert_eq!(
            added(quote!({
                d_l = d_l + a;
                d_l = d_l - (b);
            })),
            Some(true)
        );
        assert_eq!(
            added(quote!({
                x += a;
            })),
            Some(false)
        );
        // Read, overwritten or scaled: the iterations depend on its running value.
        assert_eq!(
            added(quote!({
                y += d_l;
            })),
            None
        );
        assert_eq!(
            added(quote!({
                d_l = a;
            })),
            None
        );
        assert_eq!(
            added(quote!({
                d_l = d_l * a;
            })),
            None
        );
        assert_eq!(
            added(quote!({
                d_l += d_l * a;
            })),
            None
        );
        assert_eq!(
            added(quote!({
                f(&mut d_l);
            })),
            None
        );
    }
}
