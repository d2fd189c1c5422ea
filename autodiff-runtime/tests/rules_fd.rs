//! Every derivative rule in `src/rules.rs` against central finite differences of its
//! primal, for `f64` and `f32`, plus the documented conventions at kinks.
//!
//! One table entry per (rule, primal): the primal as a closure over the inputs, the input
//! the rule differentiates, sample points inside the domain and away from kinks, and the
//! call of the rule with the values it reads. The `entry!` macro writes that call once and
//! instantiates it for both `f64` and `f32`, and takes the entry's name from the function it
//! calls, so a name cannot drift from the rule actually tested.

use autodiff_runtime::check::{central_difference, close};
use autodiff_runtime::rules::*;

/// One rule under test.
struct Entry {
    /// The rule's function name, printed on failure and checked by `table_covers_every_rule`.
    name: &'static str,
    /// The primitive itself, evaluated in `f64` (also for the `f32` reference).
    primal: fn(&[f64]) -> f64,
    /// Index of the input the rule differentiates.
    wrt: usize,
    /// Sample points, each a full input vector of the primal.
    points: Vec<Vec<f64>>,
    /// `(dy, inputs, y) -> contribution`, calling the rule in `f64` with what it reads.
    rule64: fn(f64, &[f64], f64) -> f64,
    /// The same call in `f32`.
    rule32: fn(f32, &[f32], f32) -> f32,
}

/// `entry!(|dy, v, y| rule(args...), primal |v| expr, wrt i, at [[..], ..])`.
///
/// In the rule call, `dy` is the output adjoint, `v` the inputs and `y` the primal's output
/// (computed from `primal`); the call is instantiated at `f64` and at `f32`.
macro_rules! entry {
    (
        |$dy:ident, $v:ident, $y:ident| $rule:ident($($arg:expr),* $(,)?),
        primal |$pv:ident| $primal:expr,
        wrt $wrt:expr,
        at [$([$($p:expr),+ $(,)?]),+ $(,)?] $(,)?
    ) => {
        Entry {
            name: stringify!($rule),
            primal: |$pv: &[f64]| -> f64 { $primal },
            wrt: $wrt,
            points: vec![$(vec![$($p),+]),+],
            rule64: |$dy: f64, $v: &[f64], $y: f64| -> f64 {
                let _ = (&$v, $y);
                $rule($($arg),*)
            },
            rule32: |$dy: f32, $v: &[f32], $y: f32| -> f32 {
                let _ = (&$v, $y);
                $rule($($arg),*)
            },
        }
    };
}

fn table() -> Vec<Entry> {
    vec![
        // ---- Arithmetic --------------------------------------------------------------
        entry!(|dy, v, y| mul_a(dy, v[1]), primal |v| v[0] * v[1], wrt 0,
            at [[1.5, 2.0], [-0.7, 3.1], [4.2, -0.25], [-2.0, -1.3], [0.0, 5.0]]),
        entry!(|dy, v, y| mul_b(dy, v[0]), primal |v| v[0] * v[1], wrt 1,
            at [[1.5, 2.0], [-0.7, 3.1], [4.2, -0.25], [-2.0, -1.3], [5.0, 0.0]]),
        entry!(|dy, v, y| div_a(dy, v[1]), primal |v| v[0] / v[1], wrt 0,
            at [[1.5, 2.0], [-0.7, 3.1], [4.2, -0.25], [-2.0, -1.3], [0.0, 5.0]]),
        entry!(|dy, v, y| div_b(dy, v[1], y), primal |v| v[0] / v[1], wrt 1,
            at [[1.5, 2.0], [-0.7, 3.1], [4.2, -0.25], [-2.0, -1.3], [0.0, 5.0]]),
        // ---- Unary -------------------------------------------------------------------
        entry!(|dy, v, y| abs_x(dy, v[0]), primal |v| v[0].abs(), wrt 0,
            at [[2.5], [-0.3], [0.01], [-7.0]]),
        entry!(|dy, v, y| sqrt_x(dy, y), primal |v| v[0].sqrt(), wrt 0,
            at [[0.01], [0.25], [2.0], [9.0], [123.4]]),
        entry!(|dy, v, y| cbrt_x(dy, y), primal |v| v[0].cbrt(), wrt 0,
            at [[0.5], [-2.0], [27.0], [-0.1]]),
        entry!(|dy, v, y| exp_x(dy, y), primal |v| v[0].exp(), wrt 0,
            at [[-3.0], [-0.5], [0.0], [1.7], [4.0]]),
        entry!(|dy, v, y| exp2_x(dy, y), primal |v| v[0].exp2(), wrt 0,
            at [[-2.5], [0.0], [0.3], [5.0]]),
        entry!(|dy, v, y| exp_m1_x(dy, y), primal |v| v[0].exp_m1(), wrt 0,
            at [[-2.0], [-1e-3], [0.0], [0.7], [3.0]]),
        entry!(|dy, v, y| ln_x(dy, v[0]), primal |v| v[0].ln(), wrt 0,
            at [[0.1], [1.0], [2.7], [50.0]]),
        entry!(|dy, v, y| log2_x(dy, v[0]), primal |v| v[0].log2(), wrt 0,
            at [[0.1], [1.0], [3.0], [64.5]]),
        entry!(|dy, v, y| log10_x(dy, v[0]), primal |v| v[0].log10(), wrt 0,
            at [[0.2], [1.0], [7.5], [1000.0]]),
        entry!(|dy, v, y| ln_1p_x(dy, v[0]), primal |v| v[0].ln_1p(), wrt 0,
            at [[-0.5], [0.0], [0.3], [10.0]]),
        entry!(|dy, v, y| sin_x(dy, v[0]), primal |v| v[0].sin(), wrt 0,
            at [[-2.0], [-0.4], [0.0], [1.0], [3.0]]),
        entry!(|dy, v, y| cos_x(dy, v[0]), primal |v| v[0].cos(), wrt 0,
            at [[-2.0], [-0.4], [0.0], [1.0], [3.0]]),
        entry!(|dy, v, y| sin_x_from_cos(dy, v[0].cos()), primal |v| v[0].sin(), wrt 0,
            at [[-2.0], [-0.4], [0.0], [1.0], [3.0]]),
        entry!(|dy, v, y| cos_x_from_sin(dy, v[0].sin()), primal |v| v[0].cos(), wrt 0,
            at [[-2.0], [-0.4], [0.0], [1.0], [3.0]]),
        entry!(|dy, v, y| tan_x(dy, y), primal |v| v[0].tan(), wrt 0,
            at [[-1.2], [-0.3], [0.0], [0.8], [1.4]]),
        entry!(|dy, v, y| asin_x(dy, v[0]), primal |v| v[0].asin(), wrt 0,
            at [[-0.9], [-0.3], [0.0], [0.5], [0.8]]),
        entry!(|dy, v, y| acos_x(dy, v[0]), primal |v| v[0].acos(), wrt 0,
            at [[-0.9], [-0.3], [0.0], [0.5], [0.8]]),
        entry!(|dy, v, y| atan_x(dy, v[0]), primal |v| v[0].atan(), wrt 0,
            at [[-3.0], [-0.5], [0.0], [1.0], [10.0]]),
        entry!(|dy, v, y| sinh_x(dy, v[0]), primal |v| v[0].sinh(), wrt 0,
            at [[-2.0], [-0.5], [0.0], [1.0], [3.0]]),
        entry!(|dy, v, y| cosh_x(dy, v[0]), primal |v| v[0].cosh(), wrt 0,
            at [[-2.0], [-0.5], [0.0], [1.0], [3.0]]),
        entry!(|dy, v, y| tanh_x(dy, y), primal |v| v[0].tanh(), wrt 0,
            at [[-2.0], [-0.5], [0.0], [0.7], [2.5]]),
        entry!(|dy, v, y| asinh_x(dy, v[0]), primal |v| v[0].asinh(), wrt 0,
            at [[-5.0], [-0.5], [0.0], [1.0], [1000.0]]),
        entry!(|dy, v, y| acosh_x(dy, v[0]), primal |v| v[0].acosh(), wrt 0,
            at [[1.1], [1.5], [3.0], [20.0]]),
        entry!(|dy, v, y| atanh_x(dy, v[0]), primal |v| v[0].atanh(), wrt 0,
            at [[-0.9], [-0.3], [0.0], [0.5], [0.8]]),
        entry!(|dy, v, y| recip_x(dy, y), primal |v| v[0].recip(), wrt 0,
            at [[-4.0], [-0.5], [0.25], [2.0], [10.0]]),
        entry!(|dy, v, y| to_degrees_x(dy), primal |v| v[0].to_degrees(), wrt 0,
            at [[-3.0], [0.0], [1.0], [100.0]]),
        entry!(|dy, v, y| to_radians_x(dy), primal |v| v[0].to_radians(), wrt 0,
            at [[-90.0], [0.0], [1.0], [270.0]]),
        // `fract` jumps at integers: points at least 0.25 away from them.
        entry!(|dy, v, y| fract_x(dy), primal |v| v[0].fract(), wrt 0,
            at [[0.3], [2.75], [-1.4], [10.5]]),
        // `x as f64` with x already f64 (identity), `x as f32` likewise in the f32 column.
        entry!(|dy, v, y| cast_x(dy, v[0]), primal |v| v[0], wrt 0,
            at [[1.5], [-2.0], [0.3], [7.0]]),
        // `powi` for several exponents, including 0 (the constant 1) and negatives.
        entry!(|dy, v, y| powi_x(dy, v[0], 3), primal |v| v[0].powi(3), wrt 0,
            at [[-1.5], [-0.3], [0.0], [0.7], [2.0]]),
        entry!(|dy, v, y| powi_x(dy, v[0], 1), primal |v| v[0].powi(1), wrt 0,
            at [[-1.5], [-0.3], [0.0], [2.0]]),
        entry!(|dy, v, y| powi_x(dy, v[0], 0), primal |v| v[0].powi(0), wrt 0,
            at [[-1.5], [0.0], [0.7], [2.0]]),
        entry!(|dy, v, y| powi_x(dy, v[0], -2), primal |v| v[0].powi(-2), wrt 0,
            at [[-1.5], [-0.3], [0.7], [2.0]]),
        entry!(|dy, v, y| powi_x(dy, v[0], 5), primal |v| v[0].powi(5), wrt 0,
            at [[-1.2], [0.4], [1.0], [2.0]]),
        // ---- Binary and ternary ------------------------------------------------------
        // `powf`: base > 0 (the real power is undefined for a negative base); `p = 0` included.
        entry!(|dy, v, y| powf_x(dy, v[0], v[1]), primal |v| v[0].powf(v[1]), wrt 0,
            at [[2.0, 3.0], [0.5, -1.5], [1.3, 0.5], [4.0, 0.0], [0.8, 2.7]]),
        entry!(|dy, v, y| powf_p(dy, v[0], y), primal |v| v[0].powf(v[1]), wrt 1,
            at [[2.0, 3.0], [0.5, -1.5], [1.3, 0.5], [4.0, 0.0], [0.8, 2.7]]),
        // `log(x, b)`: x > 0, b > 0, b away from 1.
        entry!(|dy, v, y| log_x(dy, v[0], v[1]), primal |v| v[0].log(v[1]), wrt 0,
            at [[2.0, 10.0], [0.5, 2.0], [30.0, 1.5], [7.0, 0.3]]),
        entry!(|dy, v, y| log_b(dy, v[1], y), primal |v| v[0].log(v[1]), wrt 1,
            at [[2.0, 10.0], [0.5, 2.0], [30.0, 1.5], [7.0, 0.3]]),
        // `atan2`: away from the origin and from the branch cut (a = 0, b < 0).
        entry!(|dy, v, y| atan2_a(dy, v[0], v[1]), primal |v| v[0].atan2(v[1]), wrt 0,
            at [[1.0, 2.0], [-0.5, 0.3], [2.0, -1.0], [-1.5, -2.5], [0.7, 0.0]]),
        entry!(|dy, v, y| atan2_b(dy, v[0], v[1]), primal |v| v[0].atan2(v[1]), wrt 1,
            at [[1.0, 2.0], [-0.5, 0.3], [2.0, -1.0], [-1.5, -2.5], [0.7, 0.0]]),
        // `hypot`: away from the origin.
        entry!(|dy, v, y| hypot_a(dy, v[0], y), primal |v| v[0].hypot(v[1]), wrt 0,
            at [[3.0, 4.0], [-1.0, 0.5], [0.2, -2.0], [-5.0, -12.0], [0.0, 1.0]]),
        entry!(|dy, v, y| hypot_b(dy, v[1], y), primal |v| v[0].hypot(v[1]), wrt 1,
            at [[3.0, 4.0], [-1.0, 0.5], [0.2, -2.0], [-5.0, -12.0], [1.0, 0.0]]),
        // `min`/`max`: operands at least 0.1 apart, each operand chosen at some point.
        entry!(|dy, v, y| min_a(dy, v[0], v[1]), primal |v| v[0].min(v[1]), wrt 0,
            at [[1.0, 2.0], [3.0, -1.0], [-0.5, -0.4], [2.5, 2.0]]),
        entry!(|dy, v, y| min_b(dy, v[0], v[1]), primal |v| v[0].min(v[1]), wrt 1,
            at [[1.0, 2.0], [3.0, -1.0], [-0.5, -0.4], [2.5, 2.0]]),
        entry!(|dy, v, y| max_a(dy, v[0], v[1]), primal |v| v[0].max(v[1]), wrt 0,
            at [[1.0, 2.0], [3.0, -1.0], [-0.5, -0.4], [2.5, 2.0]]),
        entry!(|dy, v, y| max_b(dy, v[0], v[1]), primal |v| v[0].max(v[1]), wrt 1,
            at [[1.0, 2.0], [3.0, -1.0], [-0.5, -0.4], [2.5, 2.0]]),
        // `clamp(x, lo, hi)`: x strictly inside, strictly below and strictly above.
        entry!(|dy, v, y| clamp_x(dy, v[0], v[1], v[2]), primal |v| v[0].clamp(v[1], v[2]),
            wrt 0,
            at [[0.5, 0.0, 1.0], [-0.5, 0.0, 1.0], [1.5, 0.0, 1.0], [-3.0, -5.0, 2.0],
                [10.0, -1.0, 1.0]]),
        entry!(|dy, v, y| clamp_lo(dy, v[0], v[1]), primal |v| v[0].clamp(v[1], v[2]),
            wrt 1,
            at [[0.5, 0.0, 1.0], [-0.5, 0.0, 1.0], [1.5, 0.0, 1.0], [-3.0, -5.0, 2.0],
                [-10.0, -1.0, 1.0]]),
        entry!(|dy, v, y| clamp_hi(dy, v[0], v[2]), primal |v| v[0].clamp(v[1], v[2]),
            wrt 2,
            at [[0.5, 0.0, 1.0], [-0.5, 0.0, 1.0], [1.5, 0.0, 1.0], [-3.0, -5.0, 2.0],
                [10.0, -1.0, 1.0]]),
        // `copysign`: x away from 0; signs agreeing and differing, and a sign source of -0.
        entry!(|dy, v, y| copysign_x(dy, v[0], v[1]), primal |v| v[0].copysign(v[1]), wrt 0,
            at [[1.5, 2.0], [1.5, -2.0], [-0.7, 3.0], [-0.7, -0.1], [2.0, -0.0]]),
        // `mul_add(a, b, c) = a·b + c`.
        entry!(|dy, v, y| mul_add_a(dy, v[1]), primal |v| v[0].mul_add(v[1], v[2]), wrt 0,
            at [[1.5, 2.0, 0.3], [-0.7, 3.1, -1.0], [4.2, -0.25, 2.0], [-2.0, -1.3, 0.0]]),
        entry!(|dy, v, y| mul_add_b(dy, v[0]), primal |v| v[0].mul_add(v[1], v[2]), wrt 1,
            at [[1.5, 2.0, 0.3], [-0.7, 3.1, -1.0], [4.2, -0.25, 2.0], [-2.0, -1.3, 0.0]]),
        entry!(|dy, v, y| mul_add_c(dy), primal |v| v[0].mul_add(v[1], v[2]), wrt 2,
            at [[1.5, 2.0, 0.3], [-0.7, 3.1, -1.0], [4.2, -0.25, 2.0], [-2.0, -1.3, 0.0]]),
    ]
}

/// Output adjoints to run every rule with. Rules are linear in `dy`, so the expected value
/// is `dy` times the finite difference; a negative, non-unit `dy` catches a rule that drops
/// `dy`, squares it, or gets its sign from it.
const DYS: [f64; 2] = [1.0, -2.5];

/// At least this many points per entry.
const MIN_POINTS: usize = 4;

/// Relative step: `h = H_REL · max(1, |x|)`. For `f64` the central difference has truncation
/// error `h² |f'''| / 6 ≈ 1e-12 |f'''|` and rounding error `≈ ε |f| / h ≈ 2e-10 |f|`, both far
/// below the tolerance for the (moderate) points of the table.
const H_REL: f64 = 1e-6;

/// `f64` tolerance. The reference is accurate to about `1e-9` relative (see `H_REL`) and the
/// rule to a few ulps, so `1e-6` relative leaves three orders of margin, while any wrong
/// formula (wrong sign, factor, constant or operand) is off by far more. The absolute floor
/// only matters where the derivative is 0 (clamped, unchosen `min` operand, `powi(x, 0)`),
/// where the finite difference is itself exactly 0 for these points.
const REL64: f64 = 1e-6;
const ABS64: f64 = 1e-9;

/// `f32` tolerance. The reference is the same `f64` finite difference (at the point rounded
/// to `f32`, so both sides see the same inputs) and `y` is the `f64` primal rounded to
/// `f32`; the error is then the rule's own `f32` arithmetic, a few ulps (ε = 1.2e-7) per
/// operation, i.e. about `1e-6` relative. `1e-3` leaves ample margin for the transcendental
/// functions of `f32` and still fails any wrong formula by orders of magnitude.
const REL32: f64 = 1e-3;
const ABS32: f64 = 1e-6;

/// Central difference of `entry.primal` in input `entry.wrt` at `x`, in `f64`.
fn finite_difference(entry: &Entry, x: &[f64]) -> f64 {
    let xi = x[entry.wrt];
    let h = H_REL * xi.abs().max(1.0);
    central_difference(
        |t| {
            let mut probe = x.to_vec();
            probe[entry.wrt] = t;
            (entry.primal)(&probe)
        },
        xi,
        h,
    )
}

/// Rounds a point to `f32`, returning it in both precisions.
fn to_f32(x: &[f64]) -> (Vec<f32>, Vec<f64>) {
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let x64 = x32.iter().map(|&v| f64::from(v)).collect();
    (x32, x64)
}

/// Checks the table's own well-formedness: enough points, consistent arity, `wrt` in range,
/// and every point inside the primal's domain.
fn check_entry_shape(entry: &Entry) {
    assert!(
        entry.points.len() >= MIN_POINTS,
        "{}: only {} sample points, want at least {MIN_POINTS}",
        entry.name,
        entry.points.len()
    );
    let arity = entry.points[0].len();
    for x in &entry.points {
        assert_eq!(
            x.len(),
            arity,
            "{}: point {x:?} has the wrong arity",
            entry.name
        );
        assert!(
            entry.wrt < arity,
            "{}: wrt {} out of range",
            entry.name,
            entry.wrt
        );
        let y = (entry.primal)(x);
        assert!(
            y.is_finite(),
            "{}: primal is {y} at {x:?}, outside its domain",
            entry.name
        );
    }
}

/// Runs every entry at every point and `dy`, with `run(entry, x, dy)` returning
/// `(expected, actual, rel, abs)`; collects all failures before panicking.
fn run_table(precision: &str, run: impl Fn(&Entry, &[f64], f64) -> (f64, f64, f64, f64)) {
    let table = table();
    let mut failures = Vec::new();
    let mut checks = 0;
    for entry in &table {
        check_entry_shape(entry);
        for x in &entry.points {
            for dy in DYS {
                let (expected, actual, rel, abs) = run(entry, x, dy);
                checks += 1;
                if !close(actual, expected, rel, abs) {
                    failures.push(format!(
                        "[{precision}] {} (d/d input {}) at {x:?}, dy = {dy}: expected {expected:e} \
                         (finite difference), actual {actual:e}, |diff| = {:e}",
                        entry.name,
                        entry.wrt,
                        (actual - expected).abs()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checks} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rules_match_finite_differences_f64() {
    run_table("f64", |entry, x, dy| {
        let expected = dy * finite_difference(entry, x);
        let y = (entry.primal)(x);
        let actual = (entry.rule64)(dy, x, y);
        (expected, actual, REL64, ABS64)
    });
}

#[test]
fn rules_match_finite_differences_f32() {
    run_table("f32", |entry, x, dy| {
        let (x32, x64) = to_f32(x);
        let expected = dy * finite_difference(entry, &x64);
        let y32 = (entry.primal)(&x64) as f32;
        let actual = f64::from((entry.rule32)(dy as f32, &x32, y32));
        (expected, actual, REL32, ABS32)
    });
}

/// Names of the `pub fn`s of `rules.rs`, in order.
fn public_rule_names() -> Vec<&'static str> {
    let source: &'static str = include_str!("../src/rules.rs");
    source
        .lines()
        .map(str::trim_start)
        .filter(|line| !line.starts_with("//"))
        .filter_map(|line| line.strip_prefix("pub fn "))
        .map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn table_covers_every_rule() {
    let names = public_rule_names();
    // Guards the parser itself: an empty or tiny list would make this test vacuous.
    assert!(
        names.len() >= 40,
        "found only {} pub fns in rules.rs: {names:?}",
        names.len()
    );
    let table = table();
    let missing: Vec<_> = names
        .iter()
        .filter(|name| !table.iter().any(|e| e.name == **name))
        .collect();
    assert!(
        missing.is_empty(),
        "rules.rs has pub fns without a finite-difference entry in tests/rules_fd.rs: {missing:?}"
    );
    // And the other way round: every entry names a public rule (the macro takes the name from
    // the function it calls, so this only fails for a rule that is not `pub fn` in rules.rs).
    let unknown: Vec<_> = table
        .iter()
        .map(|e| e.name)
        .filter(|name| !names.contains(name))
        .collect();
    assert!(
        unknown.is_empty(),
        "table entries not found as pub fn in rules.rs: {unknown:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Exact values at the documented conventions where the derivative does not exist.
// ---------------------------------------------------------------------------------------

/// Asserts `actual == expected` exactly (`-0.0 == 0.0`), naming the rule and the point.
macro_rules! assert_exact {
    ($rule:literal, $point:expr, $expected:expr, $actual:expr) => {{
        let (expected, actual) = ($expected, $actual);
        assert!(
            actual == expected,
            "{} at {}: expected {expected:?}, actual {actual:?}",
            $rule,
            $point
        );
    }};
}

/// Runs the body for both precisions, with `T` bound to the float type.
macro_rules! for_f32_and_f64 {
    (|$t:ident| $body:block) => {{
        {
            type $t = f64;
            $body
        }
        {
            type $t = f32;
            $body
        }
    }};
}

#[test]
fn abs_at_zero_is_zero() {
    for_f32_and_f64!(|T| {
        for dy in DYS.map(|d| d as T) {
            assert_exact!(
                "abs_x",
                format!("x = 0, dy = {dy}"),
                0.0,
                abs_x(dy, T::from(0.0_f32))
            );
            assert_exact!(
                "abs_x",
                format!("x = -0, dy = {dy}"),
                0.0,
                abs_x(dy, T::from(-0.0_f32))
            );
        }
    });
}

#[test]
fn min_max_split_a_tie_evenly() {
    for_f32_and_f64!(|T| {
        for dy in DYS.map(|d| d as T) {
            for t in [0.0_f32, 1.5, -3.0].map(T::from) {
                let at = format!("a = b = {t}, dy = {dy}");
                assert_exact!("min_a", at, dy / 2.0, min_a(dy, t, t));
                assert_exact!("min_b", at, dy / 2.0, min_b(dy, t, t));
                assert_exact!("max_a", at, dy / 2.0, max_a(dy, t, t));
                assert_exact!("max_b", at, dy / 2.0, max_b(dy, t, t));
            }
        }
    });
}

#[test]
fn hypot_and_atan2_at_origin_are_zero() {
    for_f32_and_f64!(|T| {
        for dy in DYS.map(|d| d as T) {
            let (a, b): (T, T) = (0.0, 0.0);
            let y = a.hypot(b);
            let at = format!("(a, b) = (0, 0), dy = {dy}");
            assert_exact!("hypot_a", at, 0.0, hypot_a(dy, a, y));
            assert_exact!("hypot_b", at, 0.0, hypot_b(dy, b, y));
            assert_exact!("atan2_a", at, 0.0, atan2_a(dy, a, b));
            assert_exact!("atan2_b", at, 0.0, atan2_b(dy, a, b));
        }
    });
}

#[test]
fn powf_exponent_at_base_zero_is_zero() {
    for_f32_and_f64!(|T| {
        for dy in DYS.map(|d| d as T) {
            for p in [0.5_f32, 1.0, 2.0, 3.7].map(T::from) {
                let x: T = 0.0;
                let y = x.powf(p);
                let at = format!("x = 0, p = {p}, dy = {dy}");
                assert_exact!("powf_p", at, 0.0, powf_p(dy, x, y));
            }
        }
    });
}

#[test]
fn powi_with_zero_exponent_is_zero_at_zero() {
    for_f32_and_f64!(|T| {
        for dy in DYS.map(|d| d as T) {
            let at = format!("x = 0, n = 0, dy = {dy}");
            assert_exact!("powi_x", at, 0.0, powi_x(dy, T::from(0.0_f32), 0));
        }
    });
}

/// For `n ≥ 1` the partial `n xⁿ⁻¹` is finite wherever `x` is, so the rule is plain
/// arithmetic (no test on `dy`, which kept loops of it from vectorising): worked by hand.
#[test]
fn powi_with_a_positive_exponent_is_plain_arithmetic() {
    for_f32_and_f64!(|T| {
        let x: T = -1.5;
        for dy in DYS.map(|d| d as T) {
            let at = format!("x = {x}, dy = {dy}");
            assert_exact!("powi_x", at, dy, powi_x(dy, x, 1));
            assert_exact!("powi_x", at, dy * 2.0 * x, powi_x(dy, x, 2));
            assert_exact!("powi_x", at, dy * 3.0 * (x * x), powi_x(dy, x, 3));
        }
        // A zero adjoint still contributes zero at a finite point, its sign that of the
        // product (the guard stays for negative exponents, whose partial is infinite at 0).
        let zero: T = 0.0;
        assert_exact!("powi_x", "dy = 0, x = 2", 0.0, powi_x(zero, 2.0, 2));
        assert_exact!(
            "powi_x",
            "dy = 0, x = 0, n = -2",
            0.0,
            powi_x(zero, zero, -2)
        );
    });
}

#[test]
fn clamp_at_a_bound_splits_between_x_and_the_bound() {
    for_f32_and_f64!(|T| {
        for dy in DYS.map(|d| d as T) {
            let (lo, hi): (T, T) = (-1.0, 2.0);
            let half = dy / 2.0;
            let at = format!("x = lo = {lo}, hi = {hi}, dy = {dy}");
            assert_exact!("clamp_x", at, half, clamp_x(dy, lo, lo, hi));
            assert_exact!("clamp_lo", at, half, clamp_lo(dy, lo, lo));
            assert_exact!("clamp_hi", at, 0.0, clamp_hi(dy, lo, hi));
            let at = format!("x = hi = {hi}, lo = {lo}, dy = {dy}");
            assert_exact!("clamp_x", at, half, clamp_x(dy, hi, lo, hi));
            assert_exact!("clamp_lo", at, 0.0, clamp_lo(dy, hi, lo));
            assert_exact!("clamp_hi", at, half, clamp_hi(dy, hi, hi));
        }
    });
}

#[test]
fn a_zero_adjoint_contributes_zero_where_the_partial_is_infinite() {
    for_f32_and_f64!(|T| {
        let zero: T = 0.0;
        let one: T = 1.0;
        let at = "dy = 0".to_string();
        assert_exact!("sqrt_x", at, 0.0, sqrt_x(zero, zero));
        assert_exact!("cbrt_x", at, 0.0, cbrt_x(zero, zero));
        assert_exact!("ln_x", at, 0.0, ln_x(zero, zero));
        assert_exact!("log2_x", at, 0.0, log2_x(zero, zero));
        assert_exact!("log10_x", at, 0.0, log10_x(zero, zero));
        assert_exact!("ln_1p_x", at, 0.0, ln_1p_x(zero, -one));
        assert_exact!("asin_x", at, 0.0, asin_x(zero, one));
        assert_exact!("acos_x", at, 0.0, acos_x(zero, one));
        assert_exact!("acosh_x", at, 0.0, acosh_x(zero, one));
        assert_exact!("atanh_x", at, 0.0, atanh_x(zero, one));
        assert_exact!("recip_x", at, 0.0, recip_x(zero, T::INFINITY));
        assert_exact!("div_b", at, 0.0, div_b(zero, zero, T::INFINITY));
        assert_exact!("powf_x", at, 0.0, powf_x(zero, zero, 0.5));
        assert_exact!("powi_x", at, 0.0, powi_x(zero, zero, -1));
        // With a nonzero adjoint the infinity stays: there is no finite derivative.
        assert!(sqrt_x(one, zero).is_infinite());
        assert!(cbrt_x(one, zero).is_infinite());
    });
}
