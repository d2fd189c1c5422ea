//! Lowering of calls: float-library methods and functions (through the rule table in
//! `primitives`), calls of other differentiated functions, and local closures (inlined).
use super::*;
use crate::ir::Numbers;
use crate::signature::FLOAT_TRAITS;
use crate::syntax;

impl Lowerer<'_> {
    pub(super) fn lower_method_call(
        &mut self,
        m: &syn::ExprMethodCall,
        out: &mut Block,
    ) -> Operand {
        let name = m.method.to_string();
        let span = m.source_span();
        if let Some(converted) = self.lower_unwrapped_conversion(m, out) {
            return converted;
        }
        if let Some(conversion) = conversion_out_of_float(m) {
            // `x.to_f64()` (and its `unwrap`): named as what it is, not as `unwrap`.
            return self.opaque_at(
                &Expr::MethodCall(m.clone()),
                conversion.span(),
                format!("the conversion `{conversion}` out of the float type"),
                "keep the value in the float type (`T::from(..)` converts into it), or pass it through `detach(..)` if it is meant to be a constant",
                out,
            );
        }
        if name == "into" && m.args.is_empty() {
            // Into the float type, the only float type an active value can have in a generic
            // function; else into `f64`, the only float type `From` converts into (from
            // `f32`, or from `f64` itself).
            let target = match self.floats.generic.clone() {
                Some(t) => Some(t),
                None => Some(syn::Ident::new("f64", m.method.span())),
            };
            if let Some(t) = target {
                let ty: syn::Type = syn::parse_quote!(#t);
                return self.lower_conversion(
                    &m.receiver,
                    ty,
                    |arg| syn::parse_quote!(#arg.into()),
                    span,
                    out,
                );
            }
        }
        if let Some(array) = self.array_of(&m.receiver) {
            if name == "len" && m.args.is_empty() {
                return self.bind("len", Rhs::Len(array), span, out);
            }
        }
        if name == "len" && m.args.is_empty() && self.names_view(&m.receiver) {
            return self.view_of(&m.receiver, out).expect("checked").len;
        }
        if let Some(element) = self.lower_first_or_last(&Expr::MethodCall(m.clone()), out) {
            return element;
        }
        if let Some(written) = self.lower_slice_write(m, out) {
            return written;
        }
        if (name == "clone" || name == "to_owned")
            && m.args.is_empty()
            && self.array_of(&m.receiver).is_none()
        {
            // A copy is the value itself to the derivative.
            let value = self.lower_expr(&m.receiver, out);
            return self.bind("t", Rhs::Use(value), span, out);
        }
        if let Some(loop_expr) =
            loops::desugar_reduction(m, self).or_else(|| loops::desugar_selection(m, self))
        {
            return match loop_expr {
                Ok(block) => self.lower_expr(&block, out),
                Err(error) => {
                    self.errors.push(error);
                    // A variable, so that taking it apart reports nothing more.
                    let dummy = self.dummy();
                    self.bind("t", Rhs::Use(dummy), span, out)
                }
            };
        }
        if let Some(inverted) = self.lower_inverse(m, out) {
            return inverted;
        }
        if let Some(mapped) = self.lower_value_map(m, out) {
            return mapped;
        }
        if let Some(prim) = primitives::lookup(&name, m.args.len() + 1) {
            let operands = std::iter::once(&*m.receiver).chain(m.args.iter());
            return self.lower_prim(
                prim,
                CallForm::Method(m.method.clone()),
                operands,
                span,
                out,
            );
        }
        if primitives::is_piecewise_constant(&name) {
            if m.args.is_empty() && m.turbofish.is_none() {
                let receiver = self.lower_expr(&m.receiver, out);
                let (r, method) = (operand_tokens(&receiver), &m.method);
                let expr: Expr = syn::parse_quote!((#r).#method());
                let uses = receiver.var().into_iter().collect();
                return self.bind(
                    "p",
                    Rhs::Passive(Passive {
                        expr,
                        uses,
                        arrays: Vec::new(),
                        kind: PassiveKind::Discrete,
                    }),
                    span,
                    out,
                );
            }
            return self.passive(&Expr::MethodCall(m.clone()), PassiveKind::Discrete, out);
        }
        if self.array_of(&m.receiver).is_some() || self.names_view(&m.receiver) {
            let what = format!("the method `{name}` on an array");
            let fix = "index it, iterate over it (`for v in x.iter()`, `.map(..).sum()`, `.fold(..)`), or take `.len()`";
            return self.unsupported(&m.method, &what, fix);
        }
        if is_self(&m.receiver) {
            let callee = Callee::SelfMethod(m.method.clone());
            return self.lower_user_call(callee, &m.args, span, out);
        }
        // `m.try_inverse().unwrap()`: the method without a rule is `try_inverse`.
        let named = match strip_parens(&m.receiver) {
            Expr::MethodCall(inner) if name == "unwrap" || name == "expect" => &inner.method,
            _ => &m.method,
        };
        self.opaque_at(
            &Expr::MethodCall(m.clone()),
            named.span(),
            format!("the method `{named}`"),
            "compute the value with the float functions the README lists, or in a function marked `#[differentiate]`",
            out,
        )
    }

    pub(super) fn lower_call(&mut self, c: &syn::ExprCall, out: &mut Block) -> Operand {
        let span = c.source_span();
        let Expr::Path(path) = &*c.func else {
            return self.opaque(
                &Expr::Call(c.clone()),
                "a call through an expression",
                "call a named function",
                out,
            );
        };
        if let Some(ident) = Self::local_ident(&c.func) {
            match self.lookup(&ident.to_string()) {
                Some(Binding::Closure(definition)) => {
                    let (closure, captured) = &*definition;
                    return self.inline_closure(closure, captured.clone(), c, out);
                }
                Some(_) => {
                    return self.opaque(
                        &Expr::Call(c.clone()),
                        format!("a call of the local value `{ident}`"),
                        "call functions marked `#[differentiate]` or closures bound with `let`",
                        out,
                    )
                }
                None => {}
            }
        }
        let segments: Vec<String> = path
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        if let Some(name) = self.float_function(path) {
            let name = name.as_str();
            if c.args.is_empty() {
                // `T::zero()`, `T::PI()`, `Float::epsilon()`: constants of the float type.
                return Operand::Const(Expr::Call(c.clone()));
            }
            if let Some(prim) = primitives::lookup(name, c.args.len()) {
                return self.lower_prim(
                    prim,
                    CallForm::Path(path.clone()),
                    c.args.iter(),
                    span,
                    out,
                );
            }
            if primitives::is_piecewise_constant(name) {
                // Arguments lowered like any others (so closures in them are inlined), the
                // call itself kept as written: its derivative is zero.
                let args: Vec<Operand> = c.args.iter().map(|a| self.lower_expr(a, out)).collect();
                let tokens = args.iter().map(operand_tokens);
                let expr: Expr = syn::parse_quote!(#path(#(#tokens),*));
                return self.without_derivative(expr, &args, span, out);
            }
            if name == "from" && c.args.len() == 1 {
                if let Some(ty) = self.float_type_of(path) {
                    // `f64::from(x)`, `T::from(x)` of `From`: a conversion.
                    let func = &c.func;
                    return self.lower_conversion(
                        &c.args[0],
                        ty,
                        |arg| syntax::call((**func).clone(), [arg]),
                        span,
                        out,
                    );
                }
            }
        }
        if path.qself.is_none() && is_clamp(&segments) && c.args.len() == 3 {
            let prim = primitives::lookup("clamp", 3).expect("clamp is a primitive");
            return self.lower_prim(prim, CallForm::Path(path.clone()), c.args.iter(), span, out);
        }
        if path.qself.is_none() && is_runtime(&segments, "promote") && c.args.len() == 1 {
            // A constant of a second-order twin, converted (see `twin`).
            let arg = self.lower_expr(&c.args[0], out);
            if arg.var().is_none() {
                return Operand::Const(Expr::Call(c.clone()));
            }
        }
        if path.qself.is_none() && is_runtime(&segments, "ordering") {
            // A comparison `max_by`/`min_by` makes (see `loops::desugar_selection`): kept.
            return self.passive(&Expr::Call(c.clone()), PassiveKind::Discrete, out);
        }
        if path.qself.is_none() && is_runtime(&segments, "as_int") && c.args.len() == 1 {
            // A twin's `x as usize`: discrete, as the cast is.
            let arg = self.lower_expr(&c.args[0], out);
            let tokens = operand_tokens(&arg);
            let func = &c.func;
            let expr: Expr = syn::parse_quote!(#func(#tokens));
            return self.without_derivative(expr, &[arg], span, out);
        }
        if path.qself.is_none()
            && (is_detach(&segments) || is_runtime(&segments, "detached"))
            && c.args.len() == 1
        {
            // `detach(x)`: the value passes on, its derivative does not (JAX's
            // `stop_gradient`). The call itself is the identity, so the value is used as is.
            let arg = self.lower_expr(&c.args[0], out);
            let tokens = operand_tokens(&arg);
            let expr: Expr = match &self.ir.numbers {
                // At dual numbers or Taylor series the value alone passes on: a conversion
                // into the type keeps only the value (`NumCast` goes through `to_f64`).
                Numbers::Generic(t) => {
                    syn::parse_quote!(::differentiate::runtime::cast::<#t, _>(#tokens))
                }
                Numbers::Literal => syn::parse2(tokens).expect("an operand"),
            };
            return self.without_derivative(expr, &[arg], span, out);
        }
        if path.qself.is_none() {
            if let Some(function) = crate::linalg::type_function(&path.path) {
                return self.lower_linalg_function(c, path, function, out);
            }
        }
        self.lower_user_call(Callee::Function(path.clone()), &c.args, span, out)
    }

    /// `Vector3::from([x, y, z])`, `Point3::from([..])` of a vector or point type: the
    /// constructor of its entries, written `linalg_rules::from_3::<Vector3<_>, _>(x, y, z)`.
    fn lower_from_array(
        &mut self,
        c: &syn::ExprCall,
        path: &syn::ExprPath,
        function: &syn::Ident,
        out: &mut Block,
    ) -> Option<Operand> {
        let [Expr::Array(array)] = c.args.iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        let n = path.path.segments.len();
        let ty = &path.path.segments[n - 2];
        let vector = ["Vector", "SVector", "Point", "RowVector"]
            .iter()
            .any(|family| ty.ident.to_string().starts_with(family));
        let prim = primitives::linalg_constructor(array.elems.len())?;
        if function != "from" || !vector || array.elems.len() > 6 {
            return None;
        }
        let mut target = path.path.clone();
        target.segments.pop();
        let mut last = target.segments.pop()?.into_value();
        if matches!(last.arguments, syn::PathArguments::None) {
            last.arguments = syn::PathArguments::AngleBracketed(syn::parse_quote!(<_>));
        }
        target.segments.push(last);
        let func = quote::format_ident!("from_{}", array.elems.len());
        let form = CallForm::Path(
            syn::parse_quote!(::differentiate::runtime::linalg_rules::#func::<#target, _>),
        );
        Some(self.lower_prim(prim, form, array.elems.iter(), c.source_span(), out))
    }

    /// `v.map(|x| body)` of a local value (a nalgebra vector or matrix) with a closure of one
    /// number that captures nothing: the closure stays as written, a constant operand, and its
    /// rule evaluates it at dual numbers. A capture is an error naming it.
    fn lower_value_map(&mut self, m: &syn::ExprMethodCall, out: &mut Block) -> Option<Operand> {
        let [Expr::Closure(closure)] = m.args.iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        if m.method != "map" || closure.inputs.len() != 1 || self.local_var(&m.receiver).is_none() {
            return None;
        }
        let mut idents = Vec::new();
        collect_idents(closure.body.to_token_stream(), &mut idents);
        let parameter = match &closure.inputs[0] {
            syn::Pat::Ident(p) => Some(p.ident.to_string()),
            syn::Pat::Type(t) => match &*t.pat {
                syn::Pat::Ident(p) => Some(p.ident.to_string()),
                _ => None,
            },
            _ => None,
        };
        if let Some(captured) = idents
            .iter()
            .find(|i| Some(i.to_string()) != parameter && self.lookup(&i.to_string()).is_some())
        {
            let what = format!("the closure of `map` reading `{captured}` from the function");
            let fix = "a closure passed to a nalgebra value's `map` may read only its argument and constants; compute with the value whole instead (`v * s`, `v.component_mul(&w)`)";
            return Some(self.unsupported(captured, &what, fix));
        }
        // Untyped, and with the float methods in scope, so that the same closure also
        // types over dual numbers in the rule.
        let mut closure = closure.clone();
        if let syn::Pat::Type(t) = &closure.inputs[0] {
            closure.inputs[0] = (*t.pat).clone();
        }
        closure.output = syn::ReturnType::Default;
        let closure: Expr = syn::parse_quote!({
            #[allow(unused_imports)]
            use ::differentiate::runtime::num_traits::Float as _;
            #closure
        });
        let receiver = self.lower_expr(&m.receiver, out);
        let rhs = Rhs::Prim {
            prim: &primitives::LINALG_MAP,
            form: CallForm::Method(m.method.clone()),
            args: vec![receiver, Operand::Const(closure)],
            refs: vec![false, false],
        };
        Some(self.bind("t", rhs, m.source_span(), out))
    }

    /// `m.try_inverse().unwrap()` or `.expect(..)`: the inverse of a matrix, as the runtime's
    /// `inverse(&m)` (which panics where the `unwrap` would, with its own message).
    fn lower_inverse(&mut self, m: &syn::ExprMethodCall, out: &mut Block) -> Option<Operand> {
        let Expr::MethodCall(inner) = strip_parens(&m.receiver) else {
            return None;
        };
        let unwrapped = (m.method == "unwrap" && m.args.is_empty()) || m.method == "expect";
        if !(unwrapped && inner.method == "try_inverse" && inner.args.is_empty()) {
            return None;
        }
        let matrix = &inner.receiver;
        let argument: Expr = syn::parse_quote!(&(#matrix));
        let path: syn::ExprPath =
            syn::parse_quote!(::differentiate::runtime::linalg_rules::inverse);
        let prim = &primitives::LINALG_INVERSE;
        let form = CallForm::Path(path);
        Some(self.lower_prim(prim, form, std::iter::once(&argument), m.source_span(), out))
    }

    /// `Vector3::new(x, y, z)`, `Matrix3::new(..)`: a constructor, with a rule per argument;
    /// `UnitQuaternion::from_axis_angle(&axis, angle)`, with a rule for the angle.
    /// Any other function of a nalgebra type (`Matrix3::identity()`, `Vector3::from_fn(..)`)
    /// is a value without a derivative: a constant, or an error on active arguments.
    fn lower_linalg_function(
        &mut self,
        c: &syn::ExprCall,
        path: &syn::ExprPath,
        function: &syn::Ident,
        out: &mut Block,
    ) -> Operand {
        let constructor = primitives::linalg_constructor(c.args.len());
        let prim = match constructor {
            Some(prim) if function == "new" => Some(prim),
            _ => primitives::LINALG_FUNCTIONS
                .iter()
                .find(|p| function == p.name && p.arity == c.args.len()),
        };
        if let Some(prim) = prim {
            let form = CallForm::Path(path.clone());
            return self.lower_prim(prim, form, c.args.iter(), c.source_span(), out);
        }
        if let Some(converted) = self.lower_from_array(c, path, function, out) {
            return converted;
        }
        let type_name = path.path.segments[path.path.segments.len() - 2]
            .ident
            .to_string();
        if function == "from" && type_name.starts_with("Point") && c.args.len() == 1 {
            // `Point3::from(v)` of a vector.
            let vector = &c.args[0];
            let argument: Expr = syn::parse_quote!(&(#vector));
            let path: syn::ExprPath =
                syn::parse_quote!(::differentiate::runtime::linalg_rules::point);
            let form = CallForm::Path(path);
            let prim = &primitives::LINALG_POINT;
            return self.lower_prim(prim, form, std::iter::once(&argument), c.source_span(), out);
        }
        let name = path.to_token_stream().to_string().replace(' ', "");
        self.opaque(
            &Expr::Call(c.clone()),
            format!("the nalgebra function `{name}` of a value with a derivative"),
            "build the value with `new` from numbers (`Vector3::new(x, y, z)`, at most 16 of them), or from values that are constants",
            out,
        )
    }

    /// `expr`, computed from `args`, as a value with no derivative: a constant if no argument
    /// is a variable.
    fn without_derivative(
        &mut self,
        expr: Expr,
        args: &[Operand],
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let uses: Vec<VarId> = args.iter().filter_map(Operand::var).collect();
        if uses.is_empty() {
            return Operand::Const(expr);
        }
        let passive = Passive {
            expr,
            uses,
            arrays: Vec::new(),
            kind: PassiveKind::Discrete,
        };
        self.bind("p", Rhs::Passive(passive), span, out)
    }

    /// A call of a differentiated function or method, with its arguments' spans (where a
    /// callee that does not differentiate an active argument is reported).
    pub(super) fn lower_user_call(
        &mut self,
        callee: Callee,
        args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let spans = args.iter().map(|a| a.source_span()).collect();
        let args = args.iter().map(|a| self.lower_call_arg(a, out)).collect();
        self.bind(
            "t",
            Rhs::Call {
                callee,
                args,
                spans,
            },
            span,
            out,
        )
    }

    /// A primitive applied to `operands` (the receiver first), remembering which of them the
    /// user borrowed (`&b`).
    pub(super) fn lower_prim<'a>(
        &mut self,
        prim: &'static primitives::Primitive,
        form: CallForm,
        operands: impl Iterator<Item = &'a Expr>,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        let (args, refs) = operands
            .map(|a| (self.lower_expr(a, out), matches!(a, Expr::Reference(_))))
            .unzip();
        self.bind(
            "t",
            Rhs::Prim {
                prim,
                form,
                args,
                refs,
            },
            span,
            out,
        )
    }

    /// An argument of a call: an array (`x`, `&x`, `&x[..]`) or a value.
    pub(super) fn lower_call_arg(&mut self, arg: &Expr, out: &mut Block) -> CallArg {
        let (inner, by_ref) = match arg {
            Expr::Reference(r) => match &*r.expr {
                Expr::Index(i) if matches!(&*i.index, Expr::Range(range) if range.start.is_none() && range.end.is_none()) => {
                    (&*i.expr, true)
                }
                other => (other, true),
            },
            other => (other, false),
        };
        if self.names_view(arg) {
            if let Some(view) = self.view_of(arg, out) {
                return CallArg::Array {
                    array: view.array,
                    by_ref: true,
                    range: Some((view.start, view.len)),
                };
            }
        }
        match self.array_of(inner) {
            Some(array) => CallArg::Array {
                array,
                by_ref,
                range: None,
            },
            None if by_ref => CallArg::Ref(self.lower_expr(inner, out)),
            None => CallArg::Value(self.lower_expr(arg, out)),
        }
    }

    /// `f(a, b)` of a local closure `let f = |x, y| body;`: `{ let x = a; let y = b; body }`,
    /// with the closure's free variables as they were where it was defined.
    pub(super) fn inline_closure(
        &mut self,
        closure: &syn::ExprClosure,
        captured: Scopes,
        call: &syn::ExprCall,
        out: &mut Block,
    ) -> Operand {
        if closure.inputs.len() != call.args.len() {
            self.errors.spanned(
                call,
                format!("this closure takes {} arguments", closure.inputs.len()),
            );
            return self.dummy();
        }
        let args: Vec<Operand> = call.args.iter().map(|a| self.lower_expr(a, out)).collect();
        let caller = std::mem::replace(&mut self.scopes, captured);
        self.scopes.push(Vec::new());
        for (pat, arg) in closure.inputs.iter().zip(args) {
            self.bind_pattern(pat, arg, out);
        }
        let value = self.lower_expr(&closure.body, out);
        self.scopes = caller;
        value
    }

    /// Binds a simple pattern (`x`, `x: f64`, `&x`, `_`) to a value.
    pub(super) fn bind_pattern(&mut self, pat: &Pat, value: Operand, out: &mut Block) {
        match pat {
            Pat::Ident(p) if p.subpat.is_none() => {
                let name = p.ident.to_string();
                let var = self.name_value(value, &name, None, p.ident.span(), out);
                self.declare(&name, Binding::Var(var), None);
            }
            Pat::Type(t) => {
                if let Pat::Ident(p) = &*t.pat {
                    let name = p.ident.to_string();
                    let var =
                        self.name_value(value, &name, Some((*t.ty).clone()), p.ident.span(), out);
                    self.declare(&name, Binding::Var(var), Some((*t.ty).clone()));
                } else {
                    self.bind_pattern(&t.pat, value, out);
                }
            }
            Pat::Reference(r) => self.bind_pattern(&r.pat, value, out),
            Pat::Paren(p) => self.bind_pattern(&p.pat, value, out),
            Pat::Wild(_) => {}
            other => {
                self.reject(other, Rejected::Pattern);
            }
        }
    }
}

/// `num_traits::clamp(x, lo, hi)` (or through `num`).
fn is_clamp(segments: &[String]) -> bool {
    matches!(segments, [krate, name] if (krate == "num_traits" || krate == "num") && name == "clamp")
}

/// The functions that convert a number into a float type, returning an `Option`
/// (`T::from(x)` of `NumCast`, `T::from_f64(x)`, `T::from_usize(x)`, ..).
const CONVERSIONS: &[&str] = &[
    "from",
    "from_f64",
    "from_f32",
    "from_usize",
    "from_isize",
    "from_i8",
    "from_i16",
    "from_i32",
    "from_i64",
    "from_i128",
    "from_u8",
    "from_u16",
    "from_u32",
    "from_u64",
    "from_u128",
    "cast",
];

impl Lowerer<'_> {
    /// `name` of a call `F::name(..)` through a float type or float trait: `f64::sin`,
    /// `T::sin`, `Float::sin`, `num_traits::Float::sin`, `<T as Float>::sin`.
    fn float_function(&self, path: &syn::ExprPath) -> Option<String> {
        let segments = &path.path.segments;
        let name = segments.last()?.ident.to_string();
        if let Some(qself) = &path.qself {
            return self.floats.is_float(&qself.ty).then_some(name);
        }
        if segments.len() < 2 {
            return None;
        }
        let owner = segments[segments.len() - 2].ident.to_string();
        let float_type = segments.len() == 2 && self.floats.is_float_name(&owner);
        let float_trait = FLOAT_TRAITS.contains(&owner.as_str()) || owner == "FloatConst";
        (float_type || float_trait).then_some(name)
    }

    /// The float type a conversion converts into: the one it names (`f64::from`, `T::from`,
    /// `<T as NumCast>::from`), else, through a trait (`NumCast::from`,
    /// `num_traits::cast`), the function's float type parameter.
    fn float_type_of(&self, path: &syn::ExprPath) -> Option<syn::Type> {
        if let Some(qself) = &path.qself {
            return self.floats.is_float(&qself.ty).then(|| (*qself.ty).clone());
        }
        let segments = &path.path.segments;
        if segments.len() == 2 {
            let owner = &segments[0].ident;
            if self.floats.is_float_name(&owner.to_string()) {
                return Some(syn::parse_quote!(#owner));
            }
        }
        let t = self.floats.generic.as_ref()?;
        Some(syn::parse_quote!(#t))
    }

    /// `T::from(x).unwrap()`, `T::from_usize(n).expect("..")`, `num_traits::cast(x).unwrap()`:
    /// a conversion into a float type, lowered as one (a constant of a constant).
    fn lower_unwrapped_conversion(
        &mut self,
        m: &syn::ExprMethodCall,
        out: &mut Block,
    ) -> Option<Operand> {
        let unwraps = (m.method == "unwrap" && m.args.is_empty())
            || (m.method == "expect" && m.args.len() == 1);
        let Expr::Call(call) = strip_parens(&m.receiver) else {
            return None;
        };
        let Expr::Path(path) = &*call.func else {
            return None;
        };
        let name = path.path.segments.last()?.ident.to_string();
        if !unwraps || call.args.len() != 1 || !CONVERSIONS.contains(&name.as_str()) {
            return None;
        }
        let ty = self.float_type_of(path)?;
        let func = &call.func;
        let (method, args) = (&m.method, &m.args);
        Some(self.lower_conversion(
            &call.args[0],
            ty,
            |arg| {
                let converted = syntax::call((**func).clone(), [arg]);
                syntax::method_call(converted, method.clone(), args.clone())
            },
            m.source_span(),
            out,
        ))
    }

    /// `value` converted into the float type `ty`: a constant, written as the user wrote it,
    /// when `value` is one; else a cast, whose derivative is the identity (an active value
    /// already has the float type).
    fn lower_conversion(
        &mut self,
        value: &Expr,
        ty: syn::Type,
        written: impl FnOnce(Expr) -> Expr,
        span: Span,
        out: &mut Block,
    ) -> Operand {
        match self.lower_expr(value, out) {
            Operand::Const(c) => Operand::Const(written(c)),
            arg => self.bind("t", Rhs::Cast { arg, ty }, span, out),
        }
    }
}

/// `to_f64` in `x.to_f64()` or `x.to_f64().unwrap()` (`ToPrimitive`'s conversions).
fn conversion_out_of_float(m: &syn::ExprMethodCall) -> Option<&syn::Ident> {
    let is_conversion = |m: &syn::ExprMethodCall| {
        let name = m.method.to_string();
        m.args.is_empty()
            && name.starts_with("to_")
            && matches!(
                &name[3..],
                "f64"
                    | "f32"
                    | "i8"
                    | "i16"
                    | "i32"
                    | "i64"
                    | "i128"
                    | "isize"
                    | "u8"
                    | "u16"
                    | "u32"
                    | "u64"
                    | "u128"
                    | "usize"
            )
    };
    if is_conversion(m) {
        return Some(&m.method);
    }
    match strip_parens(&m.receiver) {
        Expr::MethodCall(inner)
            if (m.method == "unwrap" || m.method == "expect") && is_conversion(inner) =>
        {
            Some(&inner.method)
        }
        _ => None,
    }
}

/// `detach` or `differentiate::detach` (the runtime's identity that stops derivatives).
/// `::differentiate::runtime::NAME`, as a second-order twin writes it.
fn is_runtime(segments: &[String], name: &str) -> bool {
    matches!(segments, [krate, runtime, last] if krate == "differentiate" && runtime == "runtime" && last == name)
}

fn is_detach(segments: &[String]) -> bool {
    match segments {
        [name] => name == "detach",
        [krate, name] => krate == "differentiate" && name == "detach",
        _ => false,
    }
}

/// The identifiers in `tokens`, nested groups included.
fn collect_idents(tokens: proc_macro2::TokenStream, out: &mut Vec<syn::Ident>) {
    for tree in tokens {
        match tree {
            proc_macro2::TokenTree::Ident(ident) => out.push(ident),
            proc_macro2::TokenTree::Group(g) => collect_idents(g.stream(), out),
            _ => {}
        }
    }
}
