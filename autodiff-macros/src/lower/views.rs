//! Sub-slices: `&x[a..b]`, `x.split_at(k)`, `first`/`last`, and the items of `windows(k)`
//! and `chunks(k)`. A view is index arithmetic on the array it looks into, not a copy:
//! reading `s[i]` loads `x[start + i]`, so the derivative lands in `x`'s adjoint, and the
//! bounds the sub-slice would have checked are checked (`runtime::slices`).
use super::*;

/// `array[start..start + len]`; `start` and `len` are `usize` values.
#[derive(Clone)]
pub(super) struct View {
    pub array: ArrayId,
    pub start: Operand,
    pub len: Operand,
}

impl View {
    pub fn same_as(&self, other: &View) -> bool {
        self.array == other.array
            && same_operand(&self.start, &other.start)
            && same_operand(&self.len, &other.len)
    }
}

pub(super) fn same_operand(a: &Operand, b: &Operand) -> bool {
    match (a, b) {
        (Operand::Var(a), Operand::Var(b)) => a == b,
        (Operand::Const(a), Operand::Const(b)) => {
            a.to_token_stream().to_string() == b.to_token_stream().to_string()
        }
        _ => false,
    }
}

/// The integer an operand is, when it is a literal.
pub(super) fn literal(op: &Operand) -> Option<usize> {
    match op {
        Operand::Const(e) => literal_index(strip_parens(e)),
        Operand::Var(_) => None,
    }
}

/// A path in the runtime's index helpers.
fn slices_fn(name: &str) -> TokenStream {
    let name = syn::Ident::new(name, Span::call_site());
    quote::quote!(::differentiate::runtime::slices::#name)
}

impl Lowerer<'_> {
    /// The array a sub-slice looks into.
    pub(super) fn view_array(&self, expr: &Expr) -> Option<ArrayId> {
        match strip_parens(expr) {
            Expr::Reference(r) => self.view_array(&r.expr),
            Expr::Index(i) => self.array_of(&i.expr).or_else(|| self.view_array(&i.expr)),
            other => match self.lookup(&Self::local_ident(other)?.to_string())? {
                Binding::View(view) => Some(view.array),
                _ => None,
            },
        }
    }

    /// Whether `expr` names a sub-slice: `x[a..b]` or `&x[a..b]` of an array or of a view,
    /// or a name bound to one. Whole arrays are not views here (`array_of` finds them).
    pub(super) fn names_view(&self, expr: &Expr) -> bool {
        match strip_parens(expr) {
            Expr::Reference(r) if r.mutability.is_none() => self.names_view(&r.expr),
            Expr::Index(i) => {
                matches!(strip_parens(&i.index), Expr::Range(_))
                    && (self.array_of(&i.expr).is_some() || self.names_view(&i.expr))
            }
            other => matches!(
                Self::local_ident(other).and_then(|i| self.lookup(&i.to_string())),
                Some(Binding::View(_))
            ),
        }
    }

    /// The elements `expr` names, as a view: a whole array, a view, or a sub-slice of either.
    pub(super) fn view_of(&mut self, expr: &Expr, out: &mut Block) -> Option<View> {
        let expr = strip_parens(expr);
        match expr {
            Expr::Reference(r) if r.mutability.is_none() => return self.view_of(&r.expr, out),
            Expr::Index(i) => {
                if let Expr::Range(range) = strip_parens(&i.index) {
                    let base = self.view_of(&i.expr, out)?;
                    return Some(self.sub_view(base, range, out));
                }
                return None;
            }
            _ => {}
        }
        match self.lookup(&Self::local_ident(expr)?.to_string())? {
            Binding::View(view) => Some(view),
            Binding::Array(array) => Some(self.whole(array, expr.source_span(), out)),
            _ => None,
        }
    }

    /// All of an array, as a view.
    pub(super) fn whole(&mut self, array: ArrayId, span: Span, out: &mut Block) -> View {
        let len = match &self.ir.arrays[array].fixed_len {
            Some(n) => Operand::Const(n.clone()),
            None => self.bind("len", Rhs::Len(array), span, out),
        };
        View {
            array,
            start: Operand::Const(syn::parse_quote!(0)),
            len,
        }
    }

    /// `base[a..b]` (`a..`, `..b`, `..`, `a..=b`), checked against `base`'s length.
    fn sub_view(&mut self, base: View, range: &syn::ExprRange, out: &mut Block) -> View {
        let span = range.span();
        if range.start.is_none() && range.end.is_none() {
            return base;
        }
        let a = match &range.start {
            Some(a) => self.lower_expr(a, out),
            None => Operand::Const(syn::parse_quote!(0)),
        };
        let len = match (&range.end, &range.limits) {
            (Some(b), limits) => {
                let mut b = self.lower_expr(b, out);
                if matches!(limits, syn::RangeLimits::Closed(_)) {
                    let one = Operand::Const(syn::parse_quote!(1));
                    b = self.index_arith(quote::quote!(+), &b, &one, span, out);
                }
                self.index_call("len", "sub_range", &[&a, &b, &base.len], span, out)
            }
            (None, _) => self.index_call("len", "sub_range_from", &[&a, &base.len], span, out),
        };
        let start = self.index_arith(quote::quote!(+), &base.start, &a, span, out);
        View {
            array: base.array,
            start,
            len,
        }
    }

    /// `view[i]`, checked against the view's length as indexing the sub-slice would be.
    pub(super) fn load_from_view(
        &mut self,
        view: &View,
        index: Operand,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let check = slices_fn("view_index");
        let (s, i, n) = (
            operand_tokens(&view.start),
            operand_tokens(&index),
            operand_tokens(&view.len),
        );
        let at = self.index_value(
            "at",
            syn::parse_quote!(#check(#s, #i, #n)),
            &[&view.start, &index, &view.len],
            span,
            out,
        );
        let load = Rhs::Load {
            array: view.array,
            index: at,
            guard: None,
        };
        self.bind("t", load, span, out)
    }

    /// A `usize` value computed from others (no derivative): a constant when they all are.
    pub(super) fn index_value(
        &mut self,
        hint: &str,
        expr: Expr,
        ops: &[&Operand],
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let uses: Vec<VarId> = ops.iter().filter_map(|o| o.var()).collect();
        if uses.is_empty() {
            return Operand::Const(syn::parse_quote!((#expr)));
        }
        let passive = Passive {
            expr,
            uses,
            arrays: Vec::new(),
            kind: PassiveKind::Discrete,
        };
        self.bind(hint, Rhs::Passive(passive), span, out)
    }

    /// `a + b`, `a * b`, `a - b` on indices, with the identities folded away (`0 + i` is
    /// `i`), so plain iteration keeps its plain index.
    pub(super) fn index_arith(
        &mut self,
        op: TokenStream,
        a: &Operand,
        b: &Operand,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let symbol = op.to_string();
        match (symbol.as_str(), literal(a), literal(b)) {
            ("+", Some(0), _) => return b.clone(),
            ("+" | "-", _, Some(0)) => return a.clone(),
            ("*", Some(1), _) => return b.clone(),
            ("*", _, Some(1)) => return a.clone(),
            ("*", Some(0), _) | ("*", _, Some(0)) => {
                return Operand::Const(syn::parse_quote!(0));
            }
            (_, Some(x), Some(y)) => {
                let value = match symbol.as_str() {
                    "+" => x + y,
                    "*" => x * y,
                    _ if x >= y => x - y,
                    _ => return Operand::Const(syn::parse_quote!((#x - #y))),
                };
                return Operand::Const(syn::parse_str(&value.to_string()).expect("an integer"));
            }
            _ => {}
        }
        let (ta, tb) = (operand_tokens(a), operand_tokens(b));
        self.index_value("at", syn::parse_quote!(#ta #op #tb), &[a, b], span, out)
    }

    /// A call of one of the runtime's index helpers on `usize` values.
    pub(super) fn index_call(
        &mut self,
        hint: &str,
        name: &str,
        args: &[&Operand],
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let f = slices_fn(name);
        let tokens = args.iter().map(|a| operand_tokens(a));
        self.index_value(hint, syn::parse_quote!(#f(#(#tokens),*)), args, span, out)
    }

    /// `let (a, b) = x.split_at(k);`: two views. Returns whether `init` was such a call.
    pub(super) fn lower_split_at(&mut self, pats: &[&Pat], init: &Expr, out: &mut Block) -> bool {
        let Expr::MethodCall(m) = strip_parens(init) else {
            return false;
        };
        let receiver_is_array =
            self.array_of(&m.receiver).is_some() || self.names_view(&m.receiver);
        if m.method != "split_at" || m.args.len() != 1 || pats.len() != 2 || !receiver_is_array {
            return false;
        }
        let Some(view) = self.view_of(&m.receiver, out) else {
            return false;
        };
        let span = m.source_span();
        let k = self.lower_expr(&m.args[0], out);
        let first_len = self.index_call(
            "len",
            "sub_range",
            &[&Operand::Const(syn::parse_quote!(0)), &k, &view.len],
            span,
            out,
        );
        let second_start = self.index_arith(quote::quote!(+), &view.start, &k, span, out);
        let second_len = self.index_arith(quote::quote!(-), &view.len, &k, span, out);
        let halves = [
            View {
                array: view.array,
                start: view.start.clone(),
                len: first_len,
            },
            View {
                array: view.array,
                start: second_start,
                len: second_len,
            },
        ];
        for (pat, half) in pats.iter().zip(halves) {
            self.bind_view(pat, half);
        }
        true
    }

    /// Binds a name (or `_`) to a view.
    pub(super) fn bind_view(&mut self, pat: &Pat, view: View) {
        match pat {
            Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => {
                self.declare(&p.ident.to_string(), Binding::View(view), None);
            }
            Pat::Type(t) => self.bind_view(&t.pat, view),
            Pat::Wild(_) => {}
            other => {
                self.reject(other, Rejected::Pattern);
            }
        }
    }

    /// `x.first()`, `x.last()` (of an array or view) followed by `.unwrap()` or
    /// `.expect(..)`, with or without `*` or `.copied()`: the element. `None` for any other
    /// expression.
    pub(super) fn lower_first_or_last(&mut self, expr: &Expr, out: &mut Block) -> Option<Operand> {
        let Expr::MethodCall(unwrap) = strip_parens(expr) else {
            return None;
        };
        if !(unwrap.method == "unwrap" || unwrap.method == "expect") {
            return None;
        }
        let mut inner = strip_parens(&unwrap.receiver);
        if let Expr::MethodCall(c) = inner {
            if (c.method == "copied" || c.method == "cloned") && c.args.is_empty() {
                inner = strip_parens(&c.receiver);
            }
        }
        let Expr::MethodCall(m) = inner else {
            return None;
        };
        let first = match m.method.to_string().as_str() {
            "first" => true,
            "last" => false,
            _ => return None,
        };
        if !m.args.is_empty()
            || !(self.array_of(&m.receiver).is_some() || self.names_view(&m.receiver))
        {
            return None;
        }
        let span = m.source_span();
        let view = self.view_of(&m.receiver, out)?;
        let index = if first {
            Operand::Const(syn::parse_quote!(0))
        } else {
            self.index_call("at", "last_index", &[&view.len.clone()], span, out)
        };
        Some(self.load_from_view(&view, index, span, out))
    }

    /// The tokens that stand for a view in kept code: `(&x[start..start + len])`.
    pub(super) fn view_tokens(&self, view: &View, at: &syn::Ident) -> TokenStream {
        let array = located_marker(array_marker(view.array), at);
        let locate = |op: &Operand| match op {
            Operand::Var(v) => located_marker(var_marker(*v), at),
            Operand::Const(c) => c.to_token_stream(),
        };
        let (start, len) = (locate(&view.start), locate(&view.len));
        quote::quote!((&#array[#start..#start + #len]))
    }

    /// `buf[a..b].fill(v)` and `buf[a..b].copy_from_slice(src)` (or of all of `buf`) on a
    /// local buffer: the element-wise loop they stand for. `None` for other calls.
    pub(super) fn lower_slice_write(
        &mut self,
        m: &syn::ExprMethodCall,
        out: &mut Block,
    ) -> Option<Operand> {
        let fill = match m.method.to_string().as_str() {
            "fill" => true,
            "copy_from_slice" | "clone_from_slice" => false,
            _ => return None,
        };
        if m.args.len() != 1
            || !(self.array_of(&m.receiver).is_some() || self.names_view(&m.receiver))
        {
            return None;
        }
        let span = m.source_span();
        let dst = self.view_of(&m.receiver, out)?;
        if self
            .ir
            .params
            .iter()
            .any(|p| matches!(p, ParamSlot::Array(a) if *a == dst.array))
        {
            return Some(self.reject(&m.receiver, Rejected::WriteIntoParameter));
        }
        let unit = Operand::Const(syn::parse_quote!(()));
        if fill {
            let value = self.lower_expr(&m.args[0], out);
            self.fill_view(dst, value, span, out);
            return Some(unit);
        }
        if !(self.array_of(&m.args[0]).is_some() || self.names_view(&m.args[0])) {
            return Some(self.unsupported(
                &m.args[0],
                "copying from something other than an array or sub-slice of floats",
                "copy from a slice, an array, a local buffer or a sub-slice of one",
            ));
        }
        let from = self.view_of(&m.args[0], out)?;
        self.scopes.push(Vec::new());
        self.declare(DST, Binding::View(dst), None);
        self.declare(SRC, Binding::View(from), None);
        let (dst, src, k) = (
            syn::Ident::new(DST, span),
            syn::Ident::new(SRC, span),
            syn::Ident::new("__differentiate_k", span),
        );
        let same = slices_fn("same_len");
        let copy: Expr =
            syn::parse_quote!(for #k in 0..#same(#dst.len(), #src.len()) { #dst[#k] = #src[#k]; });
        self.lower_loop(&copy, out);
        self.scopes.pop();
        Some(unit)
    }

    /// Every element of `dst` set to `value`: the loop `fill` stands for.
    pub(super) fn fill_view(&mut self, dst: View, value: Operand, span: Span, out: &mut Block) {
        self.scopes.push(Vec::new());
        self.declare(DST, Binding::View(dst), None);
        match value {
            Operand::Var(v) => self.declare(SRC, Binding::Var(v), None),
            Operand::Const(c) => {
                let v = self.constant_var("fill", c, out);
                self.declare(SRC, Binding::Var(v), None);
            }
        }
        let (dst, src, k) = (
            syn::Ident::new(DST, span),
            syn::Ident::new(SRC, span),
            syn::Ident::new("__differentiate_k", span),
        );
        let fill: Expr = syn::parse_quote!(for #k in 0..#dst.len() { #dst[#k] = #src; });
        self.lower_loop(&fill, out);
        self.scopes.pop();
    }
}

/// Hidden names of the views an element-wise write works on.
const DST: &str = "__differentiate_dst";
const SRC: &str = "__differentiate_src";
