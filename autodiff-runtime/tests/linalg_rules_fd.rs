//! Every rule of `src/linalg_rules.rs` (nalgebra arithmetic) against central finite
//! differences: for each (rule, operand types) pair, the rule's contribution at a seed `dy`
//! equals the gradient of `⟨dy, primal(x)⟩` with respect to the operand, by differences.
//! Run with `--features nalgebra`.
#![cfg(feature = "nalgebra")]

use autodiff_runtime::check::central_difference;
use autodiff_runtime::linalg_rules::*;
use nalgebra::{
    DMatrix, DVector, Matrix2x3, Matrix3, Matrix3x2, Point3, Quaternion, UnitQuaternion, Vector3,
    Vector4,
};

/// An operation, from all its inputs flattened to its output flattened.
type Primal = Box<dyn Fn(&[f64]) -> Vec<f64>>;
/// A rule's contribution, flattened, from the seed and the inputs.
type Rule = Box<dyn Fn(&[f64], &[f64]) -> Vec<f64>>;

/// One rule at one operand-type combination.
struct Entry {
    name: &'static str,
    /// The operation, from all inputs flattened to its output flattened.
    primal: Primal,
    /// The inputs at which it is checked.
    x: Vec<f64>,
    /// Which of the inputs the rule differentiates.
    wrt: std::ops::Range<usize>,
    /// The rule's contribution, flattened, at seed `dy` (flattened like the output).
    rule: Rule,
}

fn entry(
    name: &'static str,
    primal: impl Fn(&[f64]) -> Vec<f64> + 'static,
    x: Vec<f64>,
    wrt: std::ops::Range<usize>,
    rule: impl Fn(&[f64], &[f64]) -> Vec<f64> + 'static,
) -> Entry {
    Entry {
        name,
        primal: Box::new(primal),
        x,
        wrt,
        rule: Box::new(rule),
    }
}

fn v3(x: &[f64]) -> Vector3<f64> {
    Vector3::from_column_slice(&x[..3])
}
fn m3(x: &[f64]) -> Matrix3<f64> {
    Matrix3::from_column_slice(&x[..9])
}
fn p3(x: &[f64]) -> Point3<f64> {
    Point3::from(v3(x))
}
/// A unit quaternion from four coordinates (`i, j, k, w`), normalised.
fn uq(x: &[f64]) -> UnitQuaternion<f64> {
    UnitQuaternion::from_quaternion(Quaternion::from(Vector4::from_column_slice(&x[..4])))
}
/// The quaternion product as written on the raw coordinates (no normalisation), which is
/// what the rules differentiate: exact on the unit sphere.
fn raw(x: &[f64]) -> UnitQuaternion<f64> {
    UnitQuaternion::new_unchecked(Quaternion::from(Vector4::from_column_slice(&x[..4])))
}
fn flat<'a>(values: impl IntoIterator<Item = &'a f64>) -> Vec<f64> {
    values.into_iter().copied().collect()
}

/// Deterministic, irregular numbers.
fn numbers(n: usize, salt: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * 0.754_877_666 + salt).sin() * 1.7 + 0.3)
        .collect()
}

fn table() -> Vec<Entry> {
    let x12 = numbers(12, 0.1);
    let x18 = numbers(18, 0.2);
    let x10 = numbers(10, 0.3);
    let x6 = numbers(6, 0.4);
    let x4 = numbers(4, 0.5);
    let x3 = numbers(3, 0.6);
    let mut q7 = numbers(7, 0.7);
    let norm = q7[..4].iter().map(|c| c * c).sum::<f64>().sqrt();
    q7[..4].iter_mut().for_each(|c| *c /= norm);
    let mut q8 = numbers(8, 0.8);
    for part in [0..4, 4..8] {
        let norm = q8[part.clone()].iter().map(|c| c * c).sum::<f64>().sqrt();
        q8[part].iter_mut().for_each(|c| *c /= norm);
    }
    vec![
        // ---- sums ----
        entry(
            "add",
            |x| flat(&(v3(x) + v3(&x[3..]))),
            x6.clone(),
            0..3,
            |dy, _| flat(&add(&v3(dy))),
        ),
        entry(
            "add",
            |x| flat(&(p3(x) - p3(&x[3..]))),
            x6.clone(),
            0..3,
            |dy, _| flat(&add(&v3(dy))),
        ),
        entry(
            "sub_b",
            |x| flat(&(m3(x) - m3(&x[9..]))),
            x18.clone(),
            9..18,
            |dy, _| flat(&sub_b(&m3(dy))),
        ),
        entry(
            "neg",
            |x| flat(&(-v3(x))),
            x3.clone(),
            0..3,
            |dy, x| flat(&neg(&v3(dy), &v3(x))),
        ),
        // ---- products ----
        entry(
            "scale_number",
            |x| flat(&(x[0] * v3(&x[1..]))),
            x4.clone(),
            0..1,
            |dy, x| vec![scale_number(&v3(dy), &v3(&x[1..]))],
        ),
        entry(
            "scale",
            |x| flat(&(x[0] * v3(&x[1..]))),
            x4.clone(),
            1..4,
            |dy, x| flat(&scale(&v3(dy), &x[0])),
        ),
        entry(
            "scale",
            |x| flat(&(v3(x) * x[3])),
            x4.clone(),
            0..3,
            |dy, x| flat(&scale(&v3(dy), &x[3])),
        ),
        entry(
            "scale_number",
            |x| flat(&(v3(x) * x[3])),
            x4.clone(),
            3..4,
            |dy, x| vec![scale_number(&v3(dy), &v3(x))],
        ),
        entry(
            "mul_a",
            |x| flat(&(m3(x) * v3(&x[9..]))),
            x12.clone(),
            0..9,
            |dy, x| flat(&mul_a(&v3(dy), &m3(x), &v3(&x[9..]))),
        ),
        entry(
            "mul_b",
            |x| flat(&(m3(x) * v3(&x[9..]))),
            x12.clone(),
            9..12,
            |dy, x| flat(&mul_b(&v3(dy), &m3(x), &v3(&x[9..]))),
        ),
        entry(
            "mul_a",
            |x| {
                flat(
                    &(Matrix2x3::from_column_slice(&x[..6])
                        * Matrix3x2::from_column_slice(&x[6..12])),
                )
            },
            x12.clone(),
            0..6,
            |dy, x| {
                let (a, b) = (
                    Matrix2x3::from_column_slice(&x[..6]),
                    Matrix3x2::from_column_slice(&x[6..12]),
                );
                flat(&mul_a(&nalgebra::Matrix2::from_column_slice(dy), &a, &b))
            },
        ),
        entry(
            "mul_b",
            |x| {
                let a = DMatrix::from_column_slice(2, 3, &x[..6]);
                flat(&(a * DVector::from_column_slice(&x[6..9])))
            },
            x12[..9].to_vec(),
            6..9,
            |dy, x| {
                let a = DMatrix::from_column_slice(2, 3, &x[..6]);
                let v = DVector::from_column_slice(&x[6..9]);
                flat(&mul_b(&DVector::from_column_slice(dy), &a, &v))
            },
        ),
        entry(
            "mul_a",
            |x| flat(&(m3(x) * p3(&x[9..])).coords),
            x12.clone(),
            0..9,
            |dy, x| flat(&mul_a(&v3(dy), &m3(x), &p3(&x[9..]))),
        ),
        entry(
            "mul_b",
            |x| flat(&(m3(x) * p3(&x[9..])).coords),
            x12.clone(),
            9..12,
            |dy, x| flat(&mul_b(&v3(dy), &m3(x), &p3(&x[9..]))),
        ),
        entry(
            "mul_a",
            |x| flat(&(raw(x) * v3(&x[4..]))),
            q7.clone(),
            0..4,
            |dy, x| flat(&mul_a(&v3(dy), &uq(x), &v3(&x[4..])).coords),
        ),
        entry(
            "mul_b",
            |x| flat(&(raw(x) * v3(&x[4..]))),
            q7.clone(),
            4..7,
            |dy, x| flat(&mul_b(&v3(dy), &uq(x), &v3(&x[4..]))),
        ),
        entry(
            "mul_a",
            |x| flat(&(raw(x) * raw(&x[4..])).coords),
            q8.clone(),
            0..4,
            |dy, x| {
                let dy = Quaternion::from(Vector4::from_column_slice(dy));
                flat(&mul_a(&dy, &uq(x), &uq(&x[4..])).coords)
            },
        ),
        entry(
            "mul_b",
            |x| flat(&(raw(x) * raw(&x[4..])).coords),
            q8.clone(),
            4..8,
            |dy, x| {
                let dy = Quaternion::from(Vector4::from_column_slice(dy));
                flat(&mul_b(&dy, &uq(x), &uq(&x[4..])).coords)
            },
        ),
        entry(
            "div_a",
            |x| flat(&(v3(x) / x[3])),
            x4.clone(),
            0..3,
            |dy, x| flat(&div_a(&v3(dy), &v3(x), &x[3])),
        ),
        entry(
            "div_b",
            |x| flat(&(v3(x) / x[3])),
            x4.clone(),
            3..4,
            |dy, x| vec![div_b(&v3(dy), &x[3], &(v3(x) / x[3]))],
        ),
        // ---- constructors (rows first) ----
        entry(
            "new_4",
            |x| flat(&Matrix3::new(1.0, 2.0, 3.0, 4.0, x[0], 6.0, 7.0, 8.0, 9.0)),
            vec![0.5],
            0..1,
            |dy, _| vec![new_4(&m3(dy))],
        ),
        entry(
            "new_5",
            |x| flat(&Matrix3::new(1.0, 2.0, 3.0, 4.0, 5.0, x[0], 7.0, 8.0, 9.0)),
            vec![0.5],
            0..1,
            |dy, _| vec![new_5(&m3(dy))],
        ),
        entry(
            "new_2",
            |x| flat(&Point3::new(1.0, 2.0, x[0]).coords),
            vec![0.5],
            0..1,
            |dy, _| vec![new_2(&v3(dy))],
        ),
        entry(
            "new_0",
            |x| flat(&Quaternion::new(x[0], 1.0, 2.0, 3.0).coords),
            vec![0.5],
            0..1,
            |dy, _| vec![new_0(&Quaternion::from(Vector4::from_column_slice(dy)))],
        ),
        entry(
            "from_axis_angle_angle",
            |x| flat(&UnitQuaternion::from_axis_angle(&Vector3::y_axis(), x[0]).coords),
            vec![0.8],
            0..1,
            |dy, x| {
                let dy = Quaternion::from(Vector4::from_column_slice(dy));
                vec![from_axis_angle_angle(&dy, &Vector3::y_axis(), &x[0])]
            },
        ),
        entry(
            "coords_x",
            |x| flat(&coords(&p3(x))),
            x3.clone(),
            0..3,
            |dy, _| flat(&coords_x(&v3(dy))),
        ),
        entry(
            "point_x",
            |x| flat(&point(&v3(x)).coords),
            x3.clone(),
            0..3,
            |dy, _| flat(&point_x(&v3(dy))),
        ),
        entry(
            "new_1",
            |x| flat(&from_3::<Vector3<f64>, _>(1.0, x[0], 2.0)),
            vec![0.5],
            0..1,
            |dy, _| vec![new_1(&v3(dy))],
        ),
        entry(
            "map_x",
            |x| flat(&v3(x).map(|v| v.sin() * v + 2.0)),
            x3.clone(),
            0..3,
            |dy, x| {
                use num_traits::Float;
                flat(&map_x(&v3(dy), &v3(x), &|v: autodiff_runtime::Dual<
                    f64,
                >| {
                    v.sin() * v + 2.0
                }))
            },
        ),
        // ---- methods ----
        entry(
            "dot_a",
            |x| vec![v3(x).dot(&v3(&x[3..]))],
            x6.clone(),
            0..3,
            |dy, x| flat(&dot_a(&dy[0], &v3(&x[3..]))),
        ),
        entry(
            "dot_b",
            |x| vec![v3(x).dot(&v3(&x[3..]))],
            x6.clone(),
            3..6,
            |dy, x| flat(&dot_b(&dy[0], &v3(x))),
        ),
        entry(
            "sum_x",
            |x| vec![m3(x).sum()],
            x18[..9].to_vec(),
            0..9,
            |dy, x| flat(&sum_x(&dy[0], &m3(x))),
        ),
        entry(
            "norm_x",
            |x| vec![v3(x).norm()],
            x3.clone(),
            0..3,
            |dy, x| flat(&norm_x(&dy[0], &v3(x), &v3(x).norm())),
        ),
        entry(
            "norm_squared_x",
            |x| vec![p3(x).coords.norm_squared()],
            x3.clone(),
            0..3,
            |dy, x| flat(&norm_squared_x(&dy[0], &p3(x))),
        ),
        entry(
            "normalize_x",
            |x| flat(&v3(x).normalize()),
            x3.clone(),
            0..3,
            |dy, x| flat(&normalize_x(&v3(dy), &v3(x), &v3(x).normalize())),
        ),
        entry(
            "cross_a",
            |x| flat(&v3(x).cross(&v3(&x[3..]))),
            x6.clone(),
            0..3,
            |dy, x| flat(&cross_a(&v3(dy), &v3(&x[3..]))),
        ),
        entry(
            "cross_b",
            |x| flat(&v3(x).cross(&v3(&x[3..]))),
            x6.clone(),
            3..6,
            |dy, x| flat(&cross_b(&v3(dy), &v3(x))),
        ),
        entry(
            "transpose_x",
            |x| flat(&Matrix2x3::from_column_slice(&x[..6]).transpose()),
            x6.clone(),
            0..6,
            |dy, _| flat(&transpose_x(&Matrix3x2::from_column_slice(dy))),
        ),
        entry(
            "component_mul_a",
            |x| flat(&v3(x).component_mul(&v3(&x[3..]))),
            x6.clone(),
            0..3,
            |dy, x| flat(&component_mul_a(&v3(dy), &v3(&x[3..]))),
        ),
        entry(
            "component_mul_b",
            |x| flat(&v3(x).component_mul(&v3(&x[3..]))),
            x6.clone(),
            3..6,
            |dy, x| flat(&component_mul_b(&v3(dy), &v3(x))),
        ),
        entry(
            "determinant_x",
            |x| vec![m3(x).determinant()],
            x10[..9].to_vec(),
            0..9,
            |dy, x| flat(&determinant_x(&dy[0], &m3(x))),
        ),
        entry(
            "inverse_x",
            |x| flat(&inverse(&m3(x))),
            x10[..9].to_vec(),
            0..9,
            |dy, x| flat(&inverse_x(&m3(dy), &inverse(&m3(x)))),
        ),
    ]
}

#[test]
fn linalg_rules_match_finite_differences() {
    let mut failures = Vec::new();
    for e in table() {
        let outputs = (e.primal)(&e.x).len();
        for salt in [0.15, 0.95] {
            let dy = numbers(outputs, salt);
            let seeded = |x: &[f64]| -> f64 {
                let y = (e.primal)(x);
                y.iter().zip(&dy).map(|(a, b)| a * b).sum()
            };
            let actual = (e.rule)(&dy, &e.x);
            assert_eq!(
                actual.len(),
                e.wrt.len(),
                "{}: contribution's length",
                e.name
            );
            for (k, i) in e.wrt.clone().enumerate() {
                let h = 1e-6 * e.x[i].abs().max(1.0);
                let expected = central_difference(
                    |t| {
                        let mut probe = e.x.clone();
                        probe[i] = t;
                        seeded(&probe)
                    },
                    e.x[i],
                    h,
                );
                if (actual[k] - expected).abs() > 1e-7 * (expected.abs() + 1.0) {
                    failures.push(format!(
                        "{} (input {i}): expected {expected:e} (finite difference), actual {:e}",
                        e.name, actual[k]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The rules' names in `linalg_rules.rs` (its `pub fn`s, less the helpers that are not rules,
/// and the constructor rules, which a macro writes and `new_*` entries sample).
#[test]
fn table_covers_every_rule() {
    let source = include_str!("../src/linalg_rules.rs");
    let helpers = [
        "zeros_like",
        "seed_adjoint",
        "gradient_entry",
        "inverse",
        "coords",
        "point",
    ];
    let names: Vec<&str> = source
        .lines()
        .map(str::trim_start)
        .filter_map(|line| line.strip_prefix("pub fn "))
        .map(|rest| &rest[..rest.find(['<', '(']).unwrap_or(rest.len())])
        .filter(|name| !helpers.contains(name) && !name.starts_with('$'))
        .collect();
    assert!(names.len() >= 20, "found only {names:?}");
    let table = table();
    let missing: Vec<_> = names
        .iter()
        .filter(|name| !table.iter().any(|e| e.name == **name))
        .collect();
    assert!(missing.is_empty(), "rules without an entry: {missing:?}");
}
