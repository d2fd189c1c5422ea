//! The adjoint of a binding that computes a tensor or a nalgebra value (or reduces one): the
//! same walk as for numbers, with the rules of `runtime::tensor_rules` or
//! `runtime::linalg_rules`, which take their arguments by reference and return contributions
//! shaped like their targets.

use super::*;
use crate::primitives::Family;

impl Emitter<'_> {
    /// Whether `rhs`, binding `var`, is differentiated with the tensor or nalgebra rules.
    pub(super) fn uses_tensor_rules(&self, var: VarId, rhs: &Rhs) -> bool {
        match rhs {
            Rhs::Prim { prim, .. } => {
                prim.family.has_value_rules() || self.facts.kinds[var].is_value()
            }
            Rhs::Call { .. }
            | Rhs::Load { .. }
            | Rhs::Len(_)
            | Rhs::Passive(_)
            | Rhs::Component { .. } => false,
            _ => self.facts.kinds[var].is_value(),
        }
    }

    /// The kind whose rules differentiate `rhs`, binding `var`: the first value among the
    /// result and the operands (`a.dot(&b)` of nalgebra vectors is a number).
    fn rules_kind(&self, var: VarId, rhs: &Rhs) -> Kind {
        let operands = rhs
            .operands()
            .into_iter()
            .map(|op| crate::kinds::operand_kind(op, &self.facts.kinds));
        std::iter::once(self.facts.kinds[var])
            .chain(operands)
            .find(|k| k.is_value())
            .unwrap_or(Kind::Tensor)
    }

    pub(super) fn reverse_tensor_let(
        &mut self,
        var: VarId,
        rhs: &Rhs,
        ctx: &mut Ctx,
    ) -> TokenStream {
        let d = self.adjoint(var);
        let rt = &self.rt;
        let module = syn::Ident::new(self.rules_kind(var, rhs).rules_module(), Span::call_site());
        let rules = quote!(#rt::#module);
        let mut code = TokenStream::new();
        match rhs {
            Rhs::Use(a) => code.extend([self.accumulate(ctx, a, quote!(#d.clone()), false)]),
            Rhs::Neg(a) => {
                let ra = self.borrowed_read(ctx, a);
                code.extend([self.accumulate(ctx, a, quote!(#rules::neg(&#d, #ra)), false)]);
            }
            Rhs::Cast { arg, .. } => {
                let ra = self.borrowed_read(ctx, arg);
                code.extend([self.accumulate(ctx, arg, quote!(#rules::cast_x(&#d, #ra)), false)]);
            }
            Rhs::Arith(op, a, b) => {
                let prim = if self.rules_kind(var, rhs) == Kind::Linalg {
                    let number = [a, b].iter().position(|x| !self.is_value(x));
                    primitives::linalg_arithmetic_rules(*op, number)
                } else {
                    primitives::arithmetic_rules(*op, true).expect("every tensor operation")
                };
                let operands = [a.clone(), b.clone()];
                for (target, func, reads) in self.prim_rules(var, prim, &operands, true, ctx) {
                    let contribution = quote!(#rules::#func(&#d #(, #reads)*));
                    code.extend([self.accumulate(ctx, target, contribution, false)]);
                }
            }
            Rhs::Prim { prim, args, .. } => {
                for (target, func, reads) in self.prim_rules(var, prim, args, true, ctx) {
                    let contribution = match prim.family {
                        // A float function applied elementwise: the scalar rule, lifted, then
                        // summed back to the target's shape (a number operand gets a number).
                        Family::Float => {
                            let target_ref = self.borrowed_read(ctx, target);
                            quote!(#rules::reduce_to(#rules::elementwise::#func(&#d #(, #reads)*), #target_ref))
                        }
                        Family::Tensor { .. } | Family::Linalg { .. } => {
                            quote!(#rules::#func(&#d #(, #reads)*))
                        }
                    };
                    code.extend([self.accumulate(ctx, target, contribution, false)]);
                }
            }
            _ => {}
        }
        code
    }
}
