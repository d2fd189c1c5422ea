//! Lowering of expressions: one primitive per operation, constants kept as constants, and
//! what has no derivative kept as a passive value (reported later if a derivative is needed).
use super::*;

impl Lowerer<'_> {
    /// Lowers an expression whose value has `want` float components (a tuple or array
    /// result, or one scalar).
    pub(super) fn lower_expr_n(
        &mut self,
        expr: &Expr,
        want: usize,
        out: &mut Block,
    ) -> Vec<Operand> {
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
                vec![self.dummy(); want]
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
            Expr::Path(_) if self.tuple_of(expr).is_some_and(|t| t.len() == want) => {
                self.tuple_of(expr).expect("checked")
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
                            expr.source_span(),
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
                vec![self.dummy(); want]
            }
        }
    }

    /// A path: a local variable's current version, a constant, or a passive `self.field`.
    fn lower_path(&mut self, expr: &Expr, p: &syn::ExprPath, out: &mut Block) -> Operand {
        match Self::local_ident(expr) {
            Some(ident) => match self.lookup(&ident.to_string()) {
                Some(Binding::Var(v)) => Operand::Var(v),
                Some(Binding::Uninit) => {
                    self.errors
                        .spanned(ident, format!("`{ident}` is used before it is assigned"));
                    self.dummy()
                }
                Some(Binding::Array(_) | Binding::View(_)) => {
                    self.reject(ident, Rejected::ArrayAsValue)
                }
                Some(Binding::Tuple(_)) => self.reject(ident, Rejected::TupleAsValue),
                Some(Binding::Closure(_)) => self.reject(ident, Rejected::ClosureAsValue),
                None => Operand::Const(expr.clone()),
            },
            None if p.path.segments.first().is_some_and(|s| s.ident == "self") => {
                self.passive(expr, PassiveKind::Discrete, out)
            }
            None => Operand::Const(expr.clone()),
        }
    }

    /// `q.0` of a tuple a call returned is a component; any other field has no derivative.
    fn lower_field(&mut self, expr: &Expr, f: &syn::ExprField, out: &mut Block) -> Operand {
        if matches!(&f.member, syn::Member::Named(name) if name == "coords") {
            // `p.coords` of a nalgebra point (of a local or parameter).
            if self.local_var(&f.base).is_some() {
                let base = &f.base;
                let argument: Expr = syn::parse_quote!(&#base);
                let path: syn::ExprPath =
                    syn::parse_quote!(::differentiate::runtime::linalg_rules::coords);
                let prim = &primitives::LINALG_COORDS;
                let form = CallForm::Path(path);
                return self.lower_prim(
                    prim,
                    form,
                    std::iter::once(&argument),
                    expr.source_span(),
                    out,
                );
            }
        }
        if let (syn::Member::Unnamed(index), Some(parts)) = (&f.member, self.tuple_of(&f.base)) {
            return match parts.get(index.index as usize) {
                Some(part) => part.clone(),
                None => self.unsupported(
                    &f.member,
                    "a tuple field past its end",
                    "index the tuple's fields",
                ),
            };
        }
        let base = match (&f.member, self.local_var(&f.base)) {
            // `(a - b).x`: the value first.
            (syn::Member::Named(name), None) if crate::linalg::component_index(name).is_some() => {
                self.lower_expr(&f.base, out).var()
            }
            (_, base) => base,
        };
        match (&f.member, base) {
            (syn::Member::Named(name), Some(of))
                if crate::linalg::component_index(name).is_some() =>
            {
                // `v.x` of a nalgebra value (checked once kinds are known, see `linalg`).
                let component = Rhs::Component {
                    of,
                    index: crate::linalg::component_index(name).unwrap_or_default(),
                    tuple: false,
                    field: Some(name.clone()),
                };
                self.bind("t", component, expr.source_span(), out)
            }
            (syn::Member::Unnamed(index), Some(of)) => {
                let component = Rhs::Component {
                    of,
                    index: index.index as usize,
                    tuple: true,
                    field: None,
                };
                self.bind("t", component, expr.source_span(), out)
            }
            _ => self.opaque(
                expr,
                format!("field access `.{}`", f.member.to_token_stream()),
                "only fields of constants can be read",
                out,
            ),
        }
    }

    /// `x[i]` of an array is a load; `q[0]` of an array a call returned, a component.
    fn lower_index(&mut self, expr: &Expr, i: &syn::ExprIndex, out: &mut Block) -> Operand {
        let span = expr.source_span();
        if matches!(strip_parens(&i.index), Expr::Range(_)) && self.names_view(expr) {
            return self.reject(expr, Rejected::Slicing);
        }
        if self.names_view(&i.expr) {
            let view = self.view_of(&i.expr, out).expect("checked");
            let index = self.lower_expr(&i.index, out);
            return self.load_from_view(&view, index, span, out);
        }
        if let Some(array) = self.array_of(&i.expr) {
            let index = self.lower_expr(&i.index, out);
            let load = Rhs::Load {
                array,
                index,
                guard: None,
            };
            return self.bind("t", load, span, out);
        }
        match (self.local_var(&i.expr), literal_index(&i.index)) {
            (Some(of), Some(index)) => {
                let component = Rhs::Component {
                    of,
                    index,
                    tuple: false,
                    field: None,
                };
                self.bind("t", component, span, out)
            }
            _ => self.opaque(
                expr,
                "indexing",
                "index slices, arrays and local buffers of floats",
                out,
            ),
        }
    }

    /// Whether `expr` is `x.first()`/`x.last()` or a `max_by`/`min_by`/`reduce` over an
    /// array, unwrapped: a reference to an element, whose `*` is the element.
    fn selects_element(&self, expr: &Expr) -> bool {
        let Expr::MethodCall(unwrap) = strip_parens(expr) else {
            return false;
        };
        if !(unwrap.method == "unwrap" || unwrap.method == "expect") {
            return false;
        }
        let Expr::MethodCall(m) = strip_parens(&unwrap.receiver) else {
            return false;
        };
        match m.method.to_string().as_str() {
            "first" | "last" => {
                self.array_of(&m.receiver).is_some() || self.names_view(&m.receiver)
            }
            "max_by" | "min_by" | "reduce" => matches!(
                self.plan(&m.receiver),
                iterators::Planned::Chain(plan) if plan.root_elements().is_some()
            ),
            _ => false,
        }
    }

    pub(super) fn lower_expr(&mut self, expr: &Expr, out: &mut Block) -> Operand {
        let span = expr.source_span();
        match expr {
            Expr::Lit(_) => Operand::Const(expr.clone()),
            Expr::Path(p) => self.lower_path(expr, p, out),
            Expr::Paren(p) => self.lower_expr(&p.expr, out),
            Expr::Group(g) => self.lower_expr(&g.expr, out),
            Expr::Unary(u) => match u.op {
                syn::UnOp::Neg(_) => match self.lower_expr(&u.expr, out) {
                    // `-0.05` stays a constant.
                    Operand::Const(c) => Operand::Const(syn::parse_quote!(-#c)),
                    op => self.bind("t", Rhs::Neg(op), span, out),
                },
                syn::UnOp::Not(_) => self.passive(expr, PassiveKind::Discrete, out),
                // `*x.last().unwrap()`, `*x.iter().max_by(..).unwrap()`: the element.
                _ if self.selects_element(peel_derefs(&u.expr)) => {
                    self.lower_expr(peel_derefs(&u.expr), out)
                }
                _ => match Self::local_ident(peel_derefs(&u.expr))
                    .and_then(|i| self.lookup(&i.to_string()))
                {
                    // `*v` of an element reference is the element.
                    Some(Binding::Var(v)) if self.element_refs.contains(&v) => Operand::Var(v),
                    _ => self.opaque(expr, "dereference `*`", "dereference a constant only", out),
                },
            },
            Expr::Binary(b) => self.lower_binary(b, out),
            // `y = [a, b, c];` of a local array: every value computed, then each element stored.
            Expr::Assign(a)
                if matches!(strip_parens(&a.right), Expr::Array(_))
                    && self.array_of(&a.left).is_some() =>
            {
                let array = self.array_of(&a.left).expect("checked");
                let Expr::Array(values) = strip_parens(&a.right) else {
                    unreachable!("checked")
                };
                let values: Vec<Operand> = values
                    .elems
                    .iter()
                    .map(|e| self.lower_expr(e, out))
                    .collect();
                for (k, value) in values.into_iter().enumerate() {
                    let index = Operand::Const(syn::parse_str(&k.to_string()).expect("an index"));
                    out.stmts.push(Stmt::Store {
                        array,
                        index,
                        value,
                    });
                }
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::Assign(a) => {
                let op = self.lower_expr(&a.right, out);
                self.assign_to(&a.left, op, out);
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::MethodCall(m) => self.lower_method_call(m, out),
            Expr::Call(c) => self.lower_call(c, out),
            Expr::Cast(c) => {
                if self.floats.is_float(&c.ty) {
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
                value.pop().unwrap_or_else(|| self.dummy())
            }
            Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => {
                self.lower_exit(expr, out);
                self.dummy()
            }
            // `let v = loop { .. break x; };`
            Expr::Loop(l) if loops::ExitFinder::in_block(&l.body).breaks_with_value => {
                self.lower_loop_value(expr, out)
            }
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                self.lower_loop(expr, out);
                Operand::Const(syn::parse_quote!(()))
            }
            Expr::Range(_) => self.passive(expr, PassiveKind::Discrete, out),
            Expr::Field(f) => self.lower_field(expr, f, out),
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
            Expr::Index(i) => self.lower_index(expr, i, out),
            Expr::Reference(r) if matches!(&*r.expr, Expr::Index(i) if self.array_of(&i.expr).is_some() || self.names_view(&i.expr)) =>
            {
                // `&x[a..b]` (or `&x[i]`): indexing lowers it, and rejects the slice.
                self.lower_expr(&r.expr, out)
            }
            Expr::Reference(r) if r.mutability.is_some() => self.reject(r, Rejected::MutBorrow),
            // A borrow is the value itself to the derivative; calls keep the `&` (`CallArg::Ref`).
            Expr::Reference(r) => self.lower_expr(&r.expr, out),
            Expr::Struct(_) => self.opaque(
                expr,
                "a struct literal",
                "build structs from constants only, or hold it in a local that is read and assigned by field (`s.x`, `s.x += ..`), assigned whole with a literal of the same fields, returned, or passed whole to differentiated functions and methods in statements (not in a loop's condition, a closure or a macro)",
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
            other => match Self::rejected_expression(other) {
                Some((node, rejected)) => self.reject(node, rejected),
                None => self.reject(other, Rejected::OtherExpression),
            },
        }
    }

    pub(super) fn lower_binary(&mut self, b: &syn::ExprBinary, out: &mut Block) -> Operand {
        use syn::BinOp::*;
        let span = b.source_span();
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
                value.pop().unwrap_or_else(|| self.dummy())
            }
            // Comparing slices (`&x[..2] == &y[..2]`): kept as written.
            Lt(_) | Le(_) | Gt(_) | Ge(_) | Eq(_) | Ne(_)
                if [&b.left, &b.right].iter().any(|side| {
                    self.names_view(side) || self.array_of(strip_parens(side)).is_some()
                }) =>
            {
                self.passive(&Expr::Binary(b.clone()), PassiveKind::Discrete, out)
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

    pub(super) fn assign_to(&mut self, place: &Expr, value: Operand, out: &mut Block) {
        if let Expr::Index(target) = place {
            if self.names_view(&target.expr) {
                let view = self.view_of(&target.expr, out).expect("checked");
                if self
                    .ir
                    .params
                    .iter()
                    .any(|p| matches!(p, ParamSlot::Array(a) if *a == view.array))
                {
                    self.reject(&target.expr, Rejected::WriteIntoParameter);
                    return;
                }
                let i = self.lower_expr(&target.index, out);
                let index = self.index_call(
                    "at",
                    "view_index",
                    &[&view.start, &i, &view.len],
                    place.source_span(),
                    out,
                );
                out.stmts.push(Stmt::Store {
                    array: view.array,
                    index,
                    value,
                });
                return;
            }
            if let Some(array) = self.array_of(&target.expr) {
                if self
                    .ir
                    .params
                    .iter()
                    .any(|p| matches!(p, ParamSlot::Array(a) if *a == array))
                {
                    self.reject(&target.expr, Rejected::WriteIntoParameter);
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
                self.reject(ident, Rejected::AssignWholeArray);
                return;
            }
        }
        match Self::local_ident(place) {
            Some(ident) if self.find(&ident.to_string()).is_some() => {
                self.assign(&ident.to_string(), value, place.source_span(), out);
            }
            Some(ident) => {
                self.errors.spanned(ident, format!("cannot assign to `{ident}`: only local variables can be assigned in a `#[differentiate]` function"));
            }
            None => {
                let rejected = match place {
                    Expr::Field(_) => Rejected::AssignField,
                    Expr::Index(_) => Rejected::AssignIndexed,
                    Expr::Unary(_) => Rejected::AssignThroughReference,
                    _ => Rejected::AssignOther,
                };
                self.reject(place, rejected);
            }
        }
    }
}
