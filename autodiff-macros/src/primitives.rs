//! Every primitive the transform knows (arithmetic, the float library, tensor methods), mapped
//! to its derivative rules: the one place that says which rule differentiates what.
//!
//! The calculus lives in the runtime (`autodiff_runtime::rules`, one function per operand);
//! this table only says which rule function differentiates which operand and which values that
//! function reads, so the transform can pass them and record nothing more.

/// A float-library function, written `x.name(args)` or `f64::name(x, args)`, or a tensor
/// method (`a.matmul(&b)`).
pub struct Primitive {
    pub name: &'static str,
    /// Number of operands, the receiver included.
    pub arity: usize,
    /// Which rules module it belongs to: float functions apply to numbers and, elementwise,
    /// to tensors; tensor methods to tensors only.
    pub family: Family,
    /// One rule per operand that can carry a derivative. An operand with no rule (`powi`'s
    /// integer exponent, `copysign`'s sign source) gets none.
    pub rules: &'static [Rule],
    /// A primitive of the same operand whose value this one's rule can read instead of
    /// computing its own partial (`cos x` for `sin x`), and that rule.
    pub partner: Option<Partner>,
}

/// See [`Primitive::partner`].
pub struct Partner {
    pub name: &'static str,
    pub func: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `runtime::rules` (and `runtime::tensor_rules::elementwise` on a tensor).
    Float,
    /// `runtime::tensor_rules`, with the output a tensor or (`sum`, `dot`) a number. On a
    /// nalgebra receiver (`dot`, `sum`), `runtime::linalg_rules`, whose rules have the same
    /// names.
    Tensor { scalar_output: bool },
    /// `runtime::linalg_rules`, methods only nalgebra values have, with the output a nalgebra
    /// value or (`norm`, `determinant`) a number.
    Linalg { scalar_output: bool },
}

impl Family {
    /// Whether its rules take their arguments by reference and return whole contributions
    /// (a tensor's or a nalgebra value's), not the number rules.
    pub fn has_value_rules(self) -> bool {
        self != Family::Float
    }
}

/// The vector-Jacobian product of one operand: `runtime::rules::<func>(dy, reads..)`.
#[derive(Clone, Copy)]
pub struct Rule {
    pub operand: usize,
    pub func: &'static str,
    pub reads: &'static [Read],
}

/// A value a rule reads besides the output adjoint.
#[derive(Clone, Copy)]
pub enum Read {
    Operand(usize),
    Output,
}

use crate::ir::ArithOp;
use Read::{Operand as Op, Output as Out};

macro_rules! unary {
    ($name:literal, $func:literal, $read:expr) => {
        Primitive {
            name: $name,
            arity: 1,
            family: Family::Float,
            rules: &[Rule {
                operand: 0,
                func: $func,
                reads: &[$read],
            }],
            partner: None,
        }
    };
    ($name:literal, $func:literal) => {
        Primitive {
            name: $name,
            arity: 1,
            family: Family::Float,
            rules: &[Rule {
                operand: 0,
                func: $func,
                reads: &[],
            }],
            partner: None,
        }
    };
}

const fn rule(operand: usize, func: &'static str, reads: &'static [Read]) -> Rule {
    Rule {
        operand,
        func,
        reads,
    }
}

/// Every differentiable float-library method.
pub static PRIMITIVES: &[Primitive] = &[
    unary!("abs", "abs_x", Op(0)),
    unary!("sqrt", "sqrt_x", Out),
    unary!("cbrt", "cbrt_x", Out),
    unary!("exp", "exp_x", Out),
    unary!("exp2", "exp2_x", Out),
    unary!("exp_m1", "exp_m1_x", Out),
    unary!("ln", "ln_x", Op(0)),
    unary!("log2", "log2_x", Op(0)),
    unary!("log10", "log10_x", Op(0)),
    unary!("ln_1p", "ln_1p_x", Op(0)),
    with_partner(unary!("sin", "sin_x", Op(0)), "cos", "sin_x_from_cos"),
    with_partner(unary!("cos", "cos_x", Op(0)), "sin", "cos_x_from_sin"),
    unary!("tan", "tan_x", Out),
    unary!("asin", "asin_x", Op(0)),
    unary!("acos", "acos_x", Op(0)),
    unary!("atan", "atan_x", Op(0)),
    unary!("sinh", "sinh_x", Op(0)),
    unary!("cosh", "cosh_x", Op(0)),
    unary!("tanh", "tanh_x", Out),
    unary!("asinh", "asinh_x", Op(0)),
    unary!("acosh", "acosh_x", Op(0)),
    unary!("atanh", "atanh_x", Op(0)),
    unary!("recip", "recip_x", Out),
    unary!("to_degrees", "to_degrees_x"),
    unary!("to_radians", "to_radians_x"),
    unary!("fract", "fract_x"),
    Primitive {
        name: "powi",
        arity: 2,
        family: Family::Float,
        rules: &[rule(0, "powi_x", &[Op(0), Op(1)])],
        partner: None,
    },
    Primitive {
        name: "powf",
        arity: 2,
        family: Family::Float,
        rules: &[
            rule(0, "powf_x", &[Op(0), Op(1)]),
            rule(1, "powf_p", &[Op(0), Out]),
        ],
        partner: None,
    },
    Primitive {
        name: "log",
        arity: 2,
        family: Family::Float,
        rules: &[
            rule(0, "log_x", &[Op(0), Op(1)]),
            rule(1, "log_b", &[Op(1), Out]),
        ],
        partner: None,
    },
    Primitive {
        name: "atan2",
        arity: 2,
        family: Family::Float,
        rules: &[
            rule(0, "atan2_a", &[Op(0), Op(1)]),
            rule(1, "atan2_b", &[Op(0), Op(1)]),
        ],
        partner: None,
    },
    Primitive {
        name: "hypot",
        arity: 2,
        family: Family::Float,
        rules: &[
            rule(0, "hypot_a", &[Op(0), Out]),
            rule(1, "hypot_b", &[Op(1), Out]),
        ],
        partner: None,
    },
    Primitive {
        name: "min",
        arity: 2,
        family: Family::Float,
        rules: &[
            rule(0, "min_a", &[Op(0), Op(1)]),
            rule(1, "min_b", &[Op(0), Op(1)]),
        ],
        partner: None,
    },
    Primitive {
        name: "max",
        arity: 2,
        family: Family::Float,
        rules: &[
            rule(0, "max_a", &[Op(0), Op(1)]),
            rule(1, "max_b", &[Op(0), Op(1)]),
        ],
        partner: None,
    },
    Primitive {
        name: "copysign",
        arity: 2,
        family: Family::Float,
        rules: &[rule(0, "copysign_x", &[Op(0), Op(1)])],
        partner: None,
    },
    Primitive {
        name: "clamp",
        arity: 3,
        family: Family::Float,
        rules: &[
            rule(0, "clamp_x", &[Op(0), Op(1), Op(2)]),
            rule(1, "clamp_lo", &[Op(0), Op(1)]),
            rule(2, "clamp_hi", &[Op(0), Op(2)]),
        ],
        partner: None,
    },
    Primitive {
        name: "mul_add",
        arity: 3,
        family: Family::Float,
        rules: &[
            rule(0, "mul_add_a", &[Op(1)]),
            rule(1, "mul_add_b", &[Op(0)]),
            rule(2, "mul_add_c", &[]),
        ],
        partner: None,
    },
];

/// Float methods whose result is piecewise constant or not a float at all: their outputs carry
/// no derivative (`floor` has derivative zero wherever it has one).
pub static PIECEWISE_CONSTANT: &[&str] = &[
    "floor",
    "ceil",
    "round",
    "round_ties_even",
    "trunc",
    "signum",
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_normal",
    "is_subnormal",
    "is_sign_positive",
    "is_sign_negative",
    "classify",
    "to_bits",
    "total_cmp",
    "partial_cmp",
];

/// Tensor methods, with their rules in `runtime::tensor_rules`.
pub static TENSOR_PRIMITIVES: &[Primitive] = &[
    tensor(
        "matmul",
        2,
        false,
        &[
            rule(0, "matmul_a", &[Op(0), Op(1)]),
            rule(1, "matmul_b", &[Op(0), Op(1)]),
        ],
    ),
    tensor(
        "dot",
        2,
        true,
        &[rule(0, "dot_a", &[Op(1)]), rule(1, "dot_b", &[Op(0)])],
    ),
    tensor("t", 1, false, &[rule(0, "t_x", &[])]),
    tensor("reshape", 2, false, &[rule(0, "reshape_x", &[Op(0)])]),
    tensor("sum", 1, true, &[rule(0, "sum_x", &[Op(0)])]),
    tensor("mean", 1, true, &[rule(0, "mean_x", &[Op(0)])]),
    tensor("max", 1, true, &[rule(0, "max_x", &[Op(0), Out])]),
    tensor(
        "logsumexp",
        1,
        true,
        &[rule(0, "logsumexp_x", &[Op(0), Out])],
    ),
    tensor(
        "sum_axis",
        2,
        false,
        &[rule(0, "sum_axis_x", &[Op(0), Op(1)])],
    ),
    tensor(
        "mean_axis",
        2,
        false,
        &[rule(0, "mean_axis_x", &[Op(0), Op(1)])],
    ),
    tensor(
        "max_axis",
        2,
        false,
        &[rule(0, "max_axis_x", &[Op(0), Out, Op(1)])],
    ),
    tensor(
        "logsumexp_axis",
        2,
        false,
        &[rule(0, "logsumexp_axis_x", &[Op(0), Out, Op(1)])],
    ),
    tensor("softmax", 2, false, &[rule(0, "softmax_x", &[Out, Op(1)])]),
    tensor(
        "slice_axis",
        4,
        false,
        &[rule(0, "slice_axis_x", &[Op(0), Op(1), Op(2), Op(3)])],
    ),
    tensor(
        "concat",
        3,
        false,
        &[
            rule(0, "concat_a", &[Op(0), Op(2)]),
            rule(1, "concat_b", &[Op(0), Op(2)]),
        ],
    ),
    tensor("get", 2, true, &[rule(0, "get_x", &[Op(0), Op(1)])]),
    tensor("relu", 1, false, &[rule(0, "relu_x", &[Op(0)])]),
    tensor(
        "maximum",
        2,
        false,
        &[
            rule(0, "maximum_a", &[Op(0), Op(1)]),
            rule(1, "maximum_b", &[Op(0), Op(1)]),
        ],
    ),
    tensor(
        "minimum",
        2,
        false,
        &[
            rule(0, "minimum_a", &[Op(0), Op(1)]),
            rule(1, "minimum_b", &[Op(0), Op(1)]),
        ],
    ),
    // Masks and shapes: tensors with no derivative.
    tensor("gt", 2, false, &[]),
    tensor("lt", 2, false, &[]),
    tensor("zeros_like", 1, false, &[]),
];

/// nalgebra methods, with their rules in `runtime::linalg_rules` (`dot` and `sum` are in the
/// tensor table, with rules of the same names there).
pub static LINALG_PRIMITIVES: &[Primitive] = &[
    linalg("norm", 1, true, &[rule(0, "norm_x", &[Op(0), Out])]),
    linalg("magnitude", 1, true, &[rule(0, "norm_x", &[Op(0), Out])]),
    linalg(
        "norm_squared",
        1,
        true,
        &[rule(0, "norm_squared_x", &[Op(0)])],
    ),
    linalg(
        "magnitude_squared",
        1,
        true,
        &[rule(0, "norm_squared_x", &[Op(0)])],
    ),
    linalg(
        "normalize",
        1,
        false,
        &[rule(0, "normalize_x", &[Op(0), Out])],
    ),
    linalg(
        "cross",
        2,
        false,
        &[rule(0, "cross_a", &[Op(1)]), rule(1, "cross_b", &[Op(0)])],
    ),
    linalg("transpose", 1, false, &[rule(0, "transpose_x", &[])]),
    linalg(
        "component_mul",
        2,
        false,
        &[
            rule(0, "component_mul_a", &[Op(1)]),
            rule(1, "component_mul_b", &[Op(0)]),
        ],
    ),
    linalg(
        "determinant",
        1,
        true,
        &[rule(0, "determinant_x", &[Op(0)])],
    ),
];

const fn linalg(
    name: &'static str,
    arity: usize,
    scalar_output: bool,
    rules: &'static [Rule],
) -> Primitive {
    Primitive {
        name,
        arity,
        family: Family::Linalg { scalar_output },
        rules,
        partner: None,
    }
}

/// `m.try_inverse().unwrap()` (or `.expect(..)`), written `linalg_rules::inverse(&m)` in the
/// generated code: the inverse, whose rule reads it.
pub static LINALG_INVERSE: Primitive = linalg("inverse", 1, false, &[rule(0, "inverse_x", &[Out])]);

/// `p.coords` of a point and `Point3::from(v)` of a vector, written `linalg_rules::coords(&p)`
/// and `linalg_rules::point(&v)`: the same numbers, so the adjoint passes on (a point's adjoint
/// is a vector).
pub static LINALG_COORDS: Primitive = linalg("coords", 1, false, &[rule(0, "coords_x", &[])]);
pub static LINALG_POINT: Primitive = linalg("point", 1, false, &[rule(0, "point_x", &[])]);

/// `v.map(|x| ..)` of a nalgebra value with a closure of one number (the closure is operand
/// 1, a constant expression): its rule differentiates the closure at dual numbers.
pub static LINALG_MAP: Primitive = linalg("map", 2, false, &[rule(0, "map_x", &[Op(0), Op(1)])]);

/// Functions of nalgebra types with rules, other than `new` (`UnitQuaternion::from_axis_angle`).
pub static LINALG_FUNCTIONS: &[Primitive] = &[linalg(
    "from_axis_angle",
    2,
    false,
    &[rule(1, "from_axis_angle_angle", &[Op(0), Op(1)])],
)];

/// The most arguments a nalgebra constructor (`Matrix4::new`) takes that have rules.
pub const MAX_CONSTRUCTOR_ARGS: usize = 16;

const NEW_RULES: [Rule; MAX_CONSTRUCTOR_ARGS] = {
    const NAMES: [&str; MAX_CONSTRUCTOR_ARGS] = [
        "new_0", "new_1", "new_2", "new_3", "new_4", "new_5", "new_6", "new_7", "new_8", "new_9",
        "new_10", "new_11", "new_12", "new_13", "new_14", "new_15",
    ];
    let mut rules = [rule(0, "new_0", &[]); MAX_CONSTRUCTOR_ARGS];
    let mut k = 0;
    while k < MAX_CONSTRUCTOR_ARGS {
        rules[k] = rule(k, NAMES[k], &[]);
        k += 1;
    }
    rules
};

static NEW_RULE_TABLE: [Rule; MAX_CONSTRUCTOR_ARGS] = NEW_RULES;

/// `Vector3::new(x, y, z)`, `Matrix3::new(..)` with `arity` arguments: argument `k`'s adjoint
/// is the result's adjoint at entry `k`, rows first (`runtime::linalg_rules::new_k`).
pub static LINALG_CONSTRUCTORS: [Primitive; MAX_CONSTRUCTOR_ARGS] = {
    let mut table = [const {
        Primitive {
            name: "new",
            arity: 0,
            family: Family::Linalg {
                scalar_output: false,
            },
            rules: &[],
            partner: None,
        }
    }; MAX_CONSTRUCTOR_ARGS];
    let mut arity = 1;
    while arity <= MAX_CONSTRUCTOR_ARGS {
        table[arity - 1].arity = arity;
        table[arity - 1].rules = NEW_RULE_TABLE.split_at(arity).0;
        arity += 1;
    }
    table
};

/// The constructor primitive of `arity` arguments, if there is one.
pub fn linalg_constructor(arity: usize) -> Option<&'static Primitive> {
    (1..=MAX_CONSTRUCTOR_ARGS)
        .contains(&arity)
        .then(|| &LINALG_CONSTRUCTORS[arity - 1])
}

const fn tensor(
    name: &'static str,
    arity: usize,
    scalar_output: bool,
    rules: &'static [Rule],
) -> Primitive {
    Primitive {
        name,
        arity,
        family: Family::Tensor { scalar_output },
        rules,
        partner: None,
    }
}

const fn with_partner(primitive: Primitive, name: &'static str, func: &'static str) -> Primitive {
    Primitive {
        partner: Some(Partner { name, func }),
        ..primitive
    }
}

const fn arithmetic(name: &'static str, family: Family, rules: &'static [Rule]) -> Primitive {
    Primitive {
        name,
        arity: 2,
        family,
        rules,
        partner: None,
    }
}

/// `a * b` and `a / b` of numbers. `+` and `-` have no table entry: their adjoint passes to
/// each operand as it is (negated for `-b`).
pub static NUMBER_ARITHMETIC: &[Primitive] = &[
    arithmetic(
        "mul",
        Family::Float,
        &[rule(0, "mul_a", &[Op(1)]), rule(1, "mul_b", &[Op(0)])],
    ),
    arithmetic(
        "div",
        Family::Float,
        &[rule(0, "div_a", &[Op(1)]), rule(1, "div_b", &[Op(1), Out])],
    ),
];

/// `+ - * /` of tensors (and of a tensor and a number), with NumPy broadcasting: each rule
/// also reads the shape its operand's adjoint is summed back to.
pub static TENSOR_ARITHMETIC: &[Primitive] = &[
    arithmetic(
        "add",
        TENSOR,
        &[rule(0, "add", &[Op(0)]), rule(1, "add", &[Op(1)])],
    ),
    arithmetic(
        "sub",
        TENSOR,
        &[rule(0, "add", &[Op(0)]), rule(1, "sub_b", &[Op(1)])],
    ),
    arithmetic("mul", TENSOR, VALUE_PRODUCT),
    arithmetic("div", TENSOR, VALUE_QUOTIENT),
];

const TENSOR: Family = Family::Tensor {
    scalar_output: false,
};

/// `a * b` and `a / b` of tensors or nalgebra values: the rules read both operands (the
/// broadcast shapes, or the types that pick the calculus), `div_b` the quotient too.
const VALUE_PRODUCT: &[Rule] = &[
    rule(0, "mul_a", &[Op(0), Op(1)]),
    rule(1, "mul_b", &[Op(0), Op(1)]),
];
const VALUE_QUOTIENT: &[Rule] = &[
    rule(0, "div_a", &[Op(0), Op(1)]),
    rule(1, "div_b", &[Op(1), Out]),
];

/// `+ - * /` of nalgebra values (and of a value and a number): `+` and `-` pass the adjoint
/// on with no reads (shapes agree), the products read both operands, whose types pick the
/// calculus (`runtime::linalg_rules::Product`).
pub static LINALG_ARITHMETIC: &[Primitive] = &[
    arithmetic("add", LINALG, &[rule(0, "add", &[]), rule(1, "add", &[])]),
    arithmetic("sub", LINALG, &[rule(0, "add", &[]), rule(1, "sub_b", &[])]),
    arithmetic("mul", LINALG, VALUE_PRODUCT),
    arithmetic("div", LINALG, VALUE_QUOTIENT),
];

const LINALG: Family = Family::Linalg {
    scalar_output: false,
};

/// `s * v` and `v * s` of a number and a nalgebra value: generic over the number type, unlike
/// nalgebra's own products by a number (the adjoint of the value reads the number, the
/// number's reads the value).
static LINALG_SCALING: [Primitive; 2] = [
    arithmetic(
        "mul",
        LINALG,
        &[
            rule(0, "scale_number", &[Op(1)]),
            rule(1, "scale", &[Op(0)]),
        ],
    ),
    arithmetic(
        "mul",
        LINALG,
        &[
            rule(0, "scale", &[Op(1)]),
            rule(1, "scale_number", &[Op(0)]),
        ],
    ),
];

/// The table entry of an arithmetic operation of nalgebra values, `number` the operand that
/// is a number, if one is.
pub fn linalg_arithmetic_rules(op: ArithOp, number: Option<usize>) -> &'static Primitive {
    if let (ArithOp::Mul, Some(k)) = (op, number) {
        return &LINALG_SCALING[k.min(1)];
    }
    let name = match op {
        ArithOp::Add => "add",
        ArithOp::Sub => "sub",
        ArithOp::Mul => "mul",
        ArithOp::Div => "div",
    };
    LINALG_ARITHMETIC
        .iter()
        .find(|p| p.name == name)
        .expect("every operation")
}

/// The table entry of an arithmetic operation: on tensors every operation has one, on numbers
/// only `*` and `/` (`None` for `+` and `-`).
pub fn arithmetic_rules(op: ArithOp, tensors: bool) -> Option<&'static Primitive> {
    let name = match op {
        ArithOp::Add => "add",
        ArithOp::Sub => "sub",
        ArithOp::Mul => "mul",
        ArithOp::Div => "div",
    };
    let table = if tensors {
        TENSOR_ARITHMETIC
    } else {
        NUMBER_ARITHMETIC
    };
    table.iter().find(|p| p.name == name)
}

/// Tensor methods with no derivative (masks, shapes): constants.
pub static TENSOR_CONSTANT_METHODS: &[&str] = &["shape", "ndim"];

/// The primitive `x.name(..)` with `arity` operands (receiver included) stands for: a float
/// function first (`x.max(y)`), else a tensor method (`t.max()`).
pub fn lookup(name: &str, arity: usize) -> Option<&'static Primitive> {
    PRIMITIVES
        .iter()
        .chain(TENSOR_PRIMITIVES)
        .chain(LINALG_PRIMITIVES)
        .find(|p| p.name == name && p.arity == arity)
}

/// A method only tensors have (`matmul`, `softmax`), unlike `exp` or `tanh`, which numbers
/// have too: its receiver and arguments are tensors.
pub fn is_tensor_method(name: &str) -> bool {
    TENSOR_PRIMITIVES.iter().any(|p| p.name == name) && !PRIMITIVES.iter().any(|p| p.name == name)
}

pub fn is_piecewise_constant(name: &str) -> bool {
    PIECEWISE_CONSTANT.contains(&name) || TENSOR_CONSTANT_METHODS.contains(&name)
}
