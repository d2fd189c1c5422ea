//! nalgebra values (with the `nalgebra` feature): vectors, matrices and points that the body
//! computes with whole (`a - b`, `m * v`, `v.norm()`, `Vector3::new(..)`).
//!
//! Like tensors, such a value is one variable of the lowered function, its operations are
//! primitives, and their rules live in the runtime (`runtime::linalg_rules`), which picks the
//! calculus from the operand types. A parameter the body only reads by component (`p.x`,
//! `v[i]`, `v.iter()`) stays a struct parameter (`structs`), read as numbers.

use crate::signature::{ParamKind, Signature};
use syn::visit::Visit;

/// The nalgebra type names a value can have, before their size suffix (`Vector3`, `Matrix2x3`).
const FAMILIES: &[&str] = &[
    "RowDVector",
    "RowSVector",
    "RowVector",
    "SVector",
    "SMatrix",
    "DVector",
    "DMatrix",
    "OVector",
    "OMatrix",
    "OPoint",
    "UnitQuaternion",
    "Quaternion",
    "Vector",
    "Matrix",
    "Point",
];

/// Whether `name` is a nalgebra vector, matrix, point or quaternion type (`Vector3`,
/// `Matrix2x3`, `DMatrix`, `Point3`, `UnitQuaternion`): a family name followed by its size, if
/// any.
pub fn is_type_name(name: &str) -> bool {
    FAMILIES.iter().any(|family| {
        name.strip_prefix(family).is_some_and(|size| {
            size.chars().all(|c| c.is_ascii_digit() || c == 'x')
                && !size.starts_with('x')
                && !size.ends_with('x')
        })
    })
}

/// Whether `ty` (or what it refers to) is a nalgebra vector, matrix or point type.
pub fn is_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(r) => is_type(&r.elem),
        syn::Type::Paren(p) => is_type(&p.elem),
        syn::Type::Group(g) => is_type(&g.elem),
        syn::Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| is_type_name(&s.ident.to_string())),
        _ => false,
    }
}

/// The number type of a nalgebra type: `f64` of `&Vector3<f64>`, `T` of `SMatrix<T, 2, 3>`
/// (its first type argument).
pub fn scalar_type(ty: &syn::Type) -> Option<&syn::Type> {
    match ty {
        syn::Type::Reference(r) => scalar_type(&r.elem),
        syn::Type::Paren(p) => scalar_type(&p.elem),
        syn::Type::Group(g) => scalar_type(&g.elem),
        syn::Type::Path(p) if is_type(ty) => {
            let last = p.path.segments.last()?;
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            args.args.iter().find_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
        }
        _ => None,
    }
}

/// `Vector3::new`, `Matrix3::identity`, `nalgebra::Point3::origin`: a function of a nalgebra
/// type, named by its last segment.
pub fn type_function(path: &syn::Path) -> Option<&syn::Ident> {
    let n = path.segments.len();
    (n >= 2 && is_type_name(&path.segments[n - 2].ident.to_string()))
        .then(|| &path.segments[n - 1].ident)
}

/// The element a named component reads: `x`, `y`, `z`, `w` are elements 0 to 3.
pub fn component_index(name: &syn::Ident) -> Option<usize> {
    ["x", "y", "z", "w"].iter().position(|c| name == c)
}

/// Makes each nalgebra parameter that the body computes with whole a value parameter
/// (`ParamKind::Value`), active or not; one read only by component stays a struct parameter
/// (or a constant).
pub fn promote_whole_values(block: &syn::Block, sig: &mut Signature) {
    for param in sig.params.iter_mut() {
        let struct_or_constant =
            matches!(param.kind, ParamKind::Struct { .. } | ParamKind::Constant);
        if !struct_or_constant || !is_type(&param.ty) {
            continue;
        }
        let mut uses = Uses {
            name: &param.ident,
            all: 0,
            by_component: 0,
        };
        uses.visit_block(block);
        if uses.all > uses.by_component {
            make_value(param);
        }
    }
}

/// Makes each nalgebra parameter over `number` (`&Vector3<__Number>` of a twin, which
/// `twin::over_linalg` gives only the function's values) a value parameter, however the
/// twin's body reads it.
pub fn promote_values_at(number: &syn::Ident, sig: &mut Signature) {
    for param in sig.params.iter_mut() {
        let over_number = scalar_type(&param.ty)
            .is_some_and(|t| matches!(t, syn::Type::Path(p) if p.path.is_ident(number)));
        if over_number && !matches!(param.kind, ParamKind::Value { .. }) {
            make_value(param);
        }
    }
}

/// Makes `param` a value parameter of the type it holds or refers to.
fn make_value(param: &mut crate::signature::Param) {
    let ty = match &param.ty {
        syn::Type::Reference(r) => (*r.elem).clone(),
        other => other.clone(),
    };
    param.kind = ParamKind::Value { ty };
}

/// Counts the mentions of a parameter, and those that read it by component or pass it to a
/// function whole (the struct path's reads).
struct Uses<'a> {
    name: &'a syn::Ident,
    all: usize,
    by_component: usize,
}

/// Methods that read their receiver as numbers, as a struct parameter's body may.
const COMPONENT_METHODS: &[&str] = &["len", "is_empty", "iter", "first", "last", "get"];

impl Uses<'_> {
    fn names_it(&self, expr: &syn::Expr) -> bool {
        match expr {
            syn::Expr::Path(p) => p.path.is_ident(self.name),
            syn::Expr::Reference(r) => self.names_it(&r.expr),
            syn::Expr::Paren(p) => self.names_it(&p.expr),
            _ => false,
        }
    }
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_expr(&mut self, expr: &'ast syn::Expr) {
        let by_component = match expr {
            syn::Expr::Path(p) if p.path.is_ident(self.name) => {
                self.all += 1;
                false
            }
            // `v.x`; `p.coords` is the value whole.
            syn::Expr::Field(f) => {
                matches!(&f.member, syn::Member::Named(m) if component_index(m).is_some())
                    && self.names_it(&f.base)
            }
            syn::Expr::Index(i) => self.names_it(&i.expr),
            syn::Expr::MethodCall(m) => {
                COMPONENT_METHODS.contains(&m.method.to_string().as_str())
                    && self.names_it(&m.receiver)
            }
            syn::Expr::ForLoop(f) => self.names_it(&f.expr),
            syn::Expr::Call(c) => {
                self.by_component += c.args.iter().filter(|a| self.names_it(a)).count();
                false
            }
            _ => false,
        };
        if by_component {
            self.by_component += 1;
        }
        syn::visit::visit_expr(self, expr);
    }

    fn visit_macro(&mut self, _: &'ast syn::Macro) {}
}
