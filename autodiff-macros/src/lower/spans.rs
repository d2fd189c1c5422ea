//! The span of an expression, as `syn::spanned::Spanned::span` gives it: its first token's
//! span joined with its last token's where the compiler can join spans (nightly), the first
//! token's otherwise. `Spanned::span` finds those two tokens by printing the whole
//! expression; lowering asks for the span of every subexpression it binds, so that printing
//! was a tenth of the expansion time. Here the two tokens are found by walking to them, and
//! expressions of rarer shapes (or with attributes) fall back to `Spanned::span`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::Expr;

pub(crate) trait SourceSpan {
    /// The span `Spanned::span` would give, found without printing the expression.
    fn source_span(&self) -> Span;
}

impl<T: Ends + Spanned> SourceSpan for T {
    fn source_span(&self) -> Span {
        match (self.first(), self.last()) {
            (Some(first), Some(last)) => first.join(last).unwrap_or(first),
            _ => self.span(),
        }
    }
}

/// The spans of the first and last tokens an expression prints as; `None` where one is not
/// found cheaply.
trait Ends {
    fn first(&self) -> Option<Span>;
    fn last(&self) -> Option<Span>;
}

impl Ends for Expr {
    fn first(&self) -> Option<Span> {
        first(self)
    }

    fn last(&self) -> Option<Span> {
        last(self)
    }
}

impl Ends for syn::ExprBinary {
    fn first(&self) -> Option<Span> {
        self.attrs.is_empty().then(|| first(&self.left))?
    }

    fn last(&self) -> Option<Span> {
        last(&self.right)
    }
}

impl Ends for syn::ExprMethodCall {
    fn first(&self) -> Option<Span> {
        self.attrs.is_empty().then(|| first(&self.receiver))?
    }

    fn last(&self) -> Option<Span> {
        Some(self.paren_token.span.join())
    }
}

impl Ends for syn::ExprCall {
    fn first(&self) -> Option<Span> {
        self.attrs.is_empty().then(|| first(&self.func))?
    }

    fn last(&self) -> Option<Span> {
        Some(self.paren_token.span.join())
    }
}

/// The span of the first token `e` prints as; `None` where it is not found cheaply.
fn first(e: &Expr) -> Option<Span> {
    use syn::UnOp;
    match e {
        Expr::Binary(b) => b.first(),
        Expr::MethodCall(m) => m.first(),
        Expr::Call(c) => c.first(),
        Expr::Field(f) if f.attrs.is_empty() => first(&f.base),
        Expr::Index(i) if i.attrs.is_empty() => first(&i.expr),
        Expr::Cast(c) if c.attrs.is_empty() => first(&c.expr),
        Expr::Try(t) if t.attrs.is_empty() => first(&t.expr),
        Expr::Assign(a) if a.attrs.is_empty() => first(&a.left),
        Expr::Paren(p) if p.attrs.is_empty() => Some(p.paren_token.span.join()),
        Expr::Lit(l) if l.attrs.is_empty() => Some(l.lit.span()),
        Expr::Path(p) if p.attrs.is_empty() => match (&p.qself, &p.path.leading_colon) {
            (Some(qself), _) => Some(qself.lt_token.span),
            (None, Some(colons)) => Some(colons.spans[0]),
            (None, None) => p.path.segments.first().map(|s| s.ident.span()),
        },
        Expr::Unary(u) if u.attrs.is_empty() => match u.op {
            UnOp::Deref(t) => Some(t.span),
            UnOp::Not(t) => Some(t.span),
            UnOp::Neg(t) => Some(t.span),
            _ => None,
        },
        Expr::Reference(r) if r.attrs.is_empty() => Some(r.and_token.span),
        Expr::Range(r) if r.attrs.is_empty() => match &r.start {
            Some(start) => first(start),
            None => Some(limits_span(&r.limits)),
        },
        _ => None,
    }
}

/// The span of the last token `e` prints as; `None` where it is not found cheaply.
fn last(e: &Expr) -> Option<Span> {
    match e {
        Expr::Binary(b) => b.last(),
        Expr::MethodCall(m) => m.last(),
        Expr::Call(c) => c.last(),
        Expr::Field(f) => Some(match &f.member {
            syn::Member::Named(ident) => ident.span(),
            syn::Member::Unnamed(index) => index.span,
        }),
        Expr::Index(i) => Some(i.bracket_token.span.join()),
        Expr::Cast(c) => match &*c.ty {
            syn::Type::Path(t) if t.qself.is_none() => t
                .path
                .segments
                .last()
                .filter(|s| s.arguments.is_none())
                .map(|s| s.ident.span()),
            _ => None,
        },
        Expr::Try(t) => Some(t.question_token.span),
        Expr::Assign(a) => last(&a.right),
        Expr::Paren(p) => Some(p.paren_token.span.join()),
        Expr::Lit(l) => Some(l.lit.span()),
        Expr::Path(p) => p
            .path
            .segments
            .last()
            .filter(|s| s.arguments.is_none())
            .map(|s| s.ident.span()),
        Expr::Unary(u) => last(&u.expr),
        Expr::Reference(r) => last(&r.expr),
        Expr::Range(r) => match &r.end {
            Some(end) => last(end),
            None => Some(limits_span(&r.limits)),
        },
        _ => None,
    }
}

/// `..` or `..=`: the span of its first character, as printing gives each token.
fn limits_span(limits: &syn::RangeLimits) -> Span {
    match limits {
        syn::RangeLimits::HalfOpen(t) => t.spans[0],
        syn::RangeLimits::Closed(t) => t.spans[0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In the fallback implementation the tests run on, spans join, so a mismatch in either
    /// end shows.
    #[test]
    fn agrees_with_spanned() {
        let exprs: Vec<Expr> = [
            "a * b + c.sin()",
            "(x - y) / (1.0 + z * z)",
            "-x[i + 1].powi(2) as f64",
            "&v.0",
            "::std::f64::consts::PI * r",
            "<T as Float>::from(2.0).unwrap()",
            "f(x, y)?",
            "x = y + 1.0",
            "0..n",
            "..=k",
            "!done",
            "*p",
            "x as Vec<f64>",
            "T::from_f64(0.5).unwrap() * x",
        ]
        .iter()
        .map(|s| syn::parse_str(s).expect("parses"))
        .collect();
        for e in &exprs {
            let (ours, syn) = (e.source_span(), e.span());
            assert_eq!(
                format!("{ours:?}"),
                format!("{syn:?}"),
                "{}",
                quote::quote!(#e)
            );
            if let Expr::Binary(b) = e {
                assert_eq!(format!("{:?}", b.source_span()), format!("{syn:?}"));
            }
        }
    }
}
