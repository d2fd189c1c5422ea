//! Struct parameters that derive `Differentiable`.

use differentiate::{differentiate, Differentiable};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Params {
    w: Vec<f64>,
    b: f64,
    n: usize,
}

#[differentiate]
fn loss(p: &Params, x: &[f64], y: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..p.n {
        let mut pred = p.b;
        for j in 0..p.w.len() {
            pred += p.w[j] * x[i * p.w.len() + j];
        }
        let r = pred - y[i];
        total += r * r;
    }
    total
}

#[test]
fn linear_model_in_a_struct() {
    let p = Params {
        w: vec![0.5, -1.0],
        b: 0.25,
        n: 2,
    };
    let x = [1.0, 2.0, 3.0, 4.0];
    let y = [1.0, -2.0];
    let (value, (gp, gx, gy)) = loss_grad(&p, &x, &y);
    // By hand: pred0 = 0.25 + 0.5 - 2 = -1.25, r0 = -2.25; pred1 = 0.25 + 1.5 - 4 = -2.25, r1 = -0.25.
    assert!((value - (2.25f64 * 2.25 + 0.0625)).abs() < 1e-12);
    assert_eq!(gp.n, 2);
    let (r0, r1) = (-2.25, -0.25);
    assert!((gp.b - 2.0 * (r0 + r1)).abs() < 1e-12);
    assert!((gp.w[0] - 2.0 * (r0 * 1.0 + r1 * 3.0)).abs() < 1e-12);
    assert!((gp.w[1] - 2.0 * (r0 * 2.0 + r1 * 4.0)).abs() < 1e-12);
    assert!((gx[0] - 2.0 * r0 * 0.5).abs() < 1e-12);
    assert!((gy[1] + 2.0 * r1).abs() < 1e-12);
}

#[differentiate(wrt(p))]
fn loss_wrt_p(p: &Params, x: &[f64], y: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..p.n {
        let mut pred = p.b;
        for (j, w) in p.w.iter().enumerate() {
            pred += w * x[i * p.w.len() + j];
        }
        total += (pred - y[i]).powi(2);
    }
    total
}

#[test]
fn wrt_names_the_struct() {
    let p = Params {
        w: vec![0.5, -1.0],
        b: 0.25,
        n: 2,
    };
    let x = [1.0, 2.0, 3.0, 4.0];
    let y = [1.0, -2.0];
    let (_, (expected, _, _)) = loss_grad(&p, &x, &y);
    let (_, gp) = loss_wrt_p_grad(&p, &x, &y);
    assert_eq!(gp, expected);
}

mod common;
use common::{assert_close, hessian_by_differences};
use differentiate::check::central_gradient;

/// A two-link planar arm: link lengths in an array, joint offsets in a nested struct.
#[derive(Clone, Debug, Differentiable)]
struct Offsets {
    shoulder: f64,
    elbow: f64,
}

#[derive(Clone, Debug, Differentiable)]
struct Arm {
    lengths: [f64; 2],
    offsets: Offsets,
    name: String,
}

#[differentiate]
fn reach_error(arm: Arm, q: [f64; 2]) -> f64 {
    let target = (1.0, 0.5);
    let a = q[0] + arm.offsets.shoulder;
    let b = a + q[1] + arm.offsets.elbow;
    let x = arm.lengths[0] * a.cos() + arm.lengths[1] * b.cos();
    let y = arm.lengths[0] * a.sin() + arm.lengths[1] * b.sin();
    let (tx, ty) = (target.0, target.1);
    (x - tx).powi(2) + (y - ty).powi(2)
}

fn arm_from(numbers: &[f64]) -> Arm {
    Arm {
        lengths: [numbers[0], numbers[1]],
        offsets: Offsets {
            shoulder: numbers[2],
            elbow: numbers[3],
        },
        name: "two-link".into(),
    }
}

fn reach_flat(v: &[f64]) -> f64 {
    reach_error(arm_from(&v[..4]), [v[4], v[5]])
}

const ARM_AT: [f64; 6] = [1.0, 0.7, 0.1, -0.2, 0.4, 0.9];

#[test]
fn nested_struct_by_value_against_differences() {
    let arm = arm_from(&ARM_AT[..4]);
    let (value, (g_arm, g_q)) = reach_error_grad(arm.clone(), [ARM_AT[4], ARM_AT[5]]);
    assert_eq!(value, reach_flat(&ARM_AT));
    assert_eq!(g_arm.name, "two-link");
    let got = [
        g_arm.lengths[0],
        g_arm.lengths[1],
        g_arm.offsets.shoulder,
        g_arm.offsets.elbow,
        g_q[0],
        g_q[1],
    ];
    assert_close(
        "reach_error",
        &got,
        &central_gradient(reach_flat, &ARM_AT, 1e-6),
        1e-7,
    );
}

#[differentiate]
fn reach_error_ref(arm: &Arm, q: &[f64; 2]) -> f64 {
    let a = q[0] + arm.offsets.shoulder;
    let b = a + q[1] + arm.offsets.elbow;
    let x = arm.lengths[0] * a.cos() + arm.lengths[1] * b.cos();
    let y = arm.lengths[0] * a.sin() + arm.lengths[1] * b.sin();
    (x - 1.0).powi(2) + (y - 0.5).powi(2)
}

fn reach_ref_gradient(v: &[f64]) -> Vec<f64> {
    let (_, (g_arm, g_q)) = reach_error_ref_grad(&arm_from(&v[..4]), &[v[4], v[5]]);
    let mut flat = vec![
        g_arm.lengths[0],
        g_arm.lengths[1],
        g_arm.offsets.shoulder,
        g_arm.offsets.elbow,
    ];
    flat.extend(g_q);
    flat
}

#[test]
fn hessian_over_fields_in_declaration_order() {
    let arm = arm_from(&ARM_AT[..4]);
    let q = [ARM_AT[4], ARM_AT[5]];
    let (value, _, hessian) = reach_error_ref_hessian(&arm, &q);
    assert_eq!(value, reach_flat(&ARM_AT));
    let expected = hessian_by_differences(reach_ref_gradient, &ARM_AT, 1e-5);
    assert_eq!(hessian.len(), 6);
    for (i, row) in hessian.iter().enumerate() {
        assert_close(&format!("hessian row {i}"), row, &expected[i], 1e-6);
    }
}

#[test]
fn hvp_and_jvp_take_the_gradient_type() {
    let arm = arm_from(&ARM_AT[..4]);
    let q = [ARM_AT[4], ARM_AT[5]];
    let direction = [0.3, -0.1, 0.7, 0.2, -0.5, 0.4];
    let (v_arm, v_q) = (arm_from(&direction[..4]), [direction[4], direction[5]]);
    // H·v against the Hessian by differences.
    let (_, _, (h_arm, h_q)) = reach_error_ref_hvp(&arm, &q, (v_arm.clone(), v_q));
    let h = hessian_by_differences(reach_ref_gradient, &ARM_AT, 1e-5);
    let expected: Vec<f64> = (0..6)
        .map(|i| (0..6).map(|j| h[i][j] * direction[j]).sum())
        .collect();
    let got = [
        h_arm.lengths[0],
        h_arm.lengths[1],
        h_arm.offsets.shoulder,
        h_arm.offsets.elbow,
        h_q[0],
        h_q[1],
    ];
    assert_close("hvp", &got, &expected, 1e-6);
    // J·v against the gradient (forward against reverse).
    let (_, jv) = reach_error_ref_jvp(&arm, &q, (v_arm, v_q));
    let g = reach_ref_gradient(&ARM_AT);
    let dot: f64 = g.iter().zip(direction).map(|(a, b)| a * b).sum();
    assert!((jv - dot).abs() < 1e-12, "{jv} vs {dot}");
}

#[test]
fn hessian_of_the_linear_model_with_a_constant_field() {
    let p = Params {
        w: vec![0.5, -1.0],
        b: 0.25,
        n: 2,
    };
    let x = [1.0, 2.0, 3.0, 4.0];
    let y = [1.0, -2.0];
    let (_, _, h) = loss_wrt_p_hessian(&p, &x, &y);
    // 2·Σ_i (1, x_i)(1, x_i)ᵀ over (w0, w1, b).
    let rows = [[1.0, 2.0, 1.0], [3.0, 4.0, 1.0]];
    for i in 0..3 {
        for j in 0..3 {
            let expected: f64 = rows.iter().map(|r| 2.0 * r[i] * r[j]).sum();
            assert!(
                (h[i][j] - expected).abs() < 1e-12,
                "h[{i}][{j}] = {}",
                h[i][j]
            );
        }
    }
}

/// A model whose prediction is a method; `wrt(self)` makes its fields active.
#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Line {
    slope: f64,
    intercept: f64,
}

impl Line {
    #[differentiate(wrt(self))]
    fn squared_error(&self, x: f64, y: f64) -> f64 {
        (self.slope * x + self.intercept - y).powi(2)
    }

    #[differentiate(wrt(self, x))]
    fn prediction(&self, x: f64) -> f64 {
        self.slope * x.sin() + self.intercept
    }
}

#[test]
fn wrt_self_gives_a_gradient_of_type_self() {
    let line = Line {
        slope: 2.0,
        intercept: -1.0,
    };
    // r = 2·3 − 1 − 4 = 1: ∂/∂slope = 2 r x = 6, ∂/∂intercept = 2 r = 2.
    let (value, g) = line.squared_error_grad(3.0, 4.0);
    assert_eq!(value, 1.0);
    assert_eq!(
        g,
        Line {
            slope: 6.0,
            intercept: 2.0
        }
    );
    let (_, (g_line, g_x)) = line.prediction_grad(0.5);
    assert_eq!(
        g_line,
        Line {
            slope: 0.5f64.sin(),
            intercept: 1.0
        }
    );
    assert!((g_x - 2.0 * 0.5f64.cos()).abs() < 1e-15);
    // The Hessian over (slope, intercept): 2 (x, 1)(x, 1)ᵀ.
    let (_, _, h) = line.squared_error_hessian(3.0, 4.0);
    assert_eq!(h, vec![vec![18.0, 6.0], vec![6.0, 2.0]]);
}

/// A generic model, as crates write them: `T: Float` fields and constants from `T::from`.
#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Quadratic<T> {
    coefficients: [T; 3],
    scale: T,
}

#[differentiate(wrt(q))]
fn quadratic_energy<T: num_traits::Float>(q: &Quadratic<T>, x: T) -> T {
    let half = T::from(0.5).unwrap();
    half * q.scale * (q.coefficients[0] + q.coefficients[1] * x + q.coefficients[2] * x * x).powi(2)
}

#[test]
fn generic_struct_in_a_generic_function() {
    let q = Quadratic {
        coefficients: [1.0, -2.0, 0.5],
        scale: 2.0,
    };
    let x = 3.0;
    let p = 1.0 - 2.0 * x + 0.5 * x * x; // −0.5
    let (value, g) = quadratic_energy_grad(&q, x);
    assert_eq!(value, 0.5 * 2.0 * p * p);
    assert_eq!(
        g,
        Quadratic {
            coefficients: [2.0 * p, 2.0 * p * x, 2.0 * p * x * x],
            scale: 0.5 * p * p
        }
    );
    let q32 = Quadratic {
        coefficients: [1.0f32, -2.0, 0.5],
        scale: 2.0,
    };
    assert_eq!(quadratic_energy_grad(&q32, 3.0f32).1.scale, 0.125);
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Fit {
    slope: f64,
    offset: Offset,
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Offset {
    value: f64,
    scale: f64,
}

/// Struct patterns on the parameter, nested, with `..`, used as references and values.
#[differentiate(wrt(line))]
fn fit_loss(line: &Fit, xs: &[f64], ys: &[f64]) -> f64 {
    let Fit {
        slope,
        offset: Offset { value: c, .. },
    } = line;
    let Offset { scale, .. } = &line.offset;
    xs.iter()
        .zip(ys)
        .map(|(x, y)| (slope * x + c * *scale - y).powi(2))
        .sum()
}

#[test]
fn struct_patterns_read_the_fields() {
    let line = Fit {
        slope: 0.5,
        offset: Offset {
            value: -1.0,
            scale: 2.0,
        },
    };
    let (xs, ys) = ([1.0, 2.0, 3.0], [0.0, 1.5, -1.0]);
    let (value, g) = fit_loss_grad(&line, &xs, &ys);
    assert_eq!(value, fit_loss(&line, &xs, &ys));
    // r = slope·x + value·scale − y; ∂/∂slope = Σ 2r·x, ∂/∂value = Σ 2r·scale, ∂/∂scale = Σ 2r·value.
    let r: Vec<f64> = xs.iter().zip(&ys).map(|(x, y)| 0.5 * x - 2.0 - y).collect();
    let sum = |f: &dyn Fn(usize) -> f64| (0..3).map(f).sum::<f64>();
    assert_eq!(g.slope, sum(&|i| 2.0 * r[i] * xs[i]));
    assert_eq!(g.offset.value, sum(&|i| 2.0 * r[i] * 2.0));
    assert_eq!(g.offset.scale, sum(&|i| -2.0 * r[i]));
}

/// A struct result: `NAME_vjp` takes a seed of the result's type, `NAME_jvp` returns one.
#[derive(Clone, Debug, PartialEq)]
struct Polar {
    radius: f64,
    angle: f64,
}

#[differentiate]
fn to_polar(x: f64, y: f64) -> Polar {
    let radius = (x * x + y * y).sqrt();
    Polar {
        angle: y.atan2(x),
        radius,
    }
}

#[test]
fn struct_results_take_seeds_of_their_type() {
    let (x, y) = (3.0, 4.0);
    // ∂r/∂(x, y) = (x, y)/r = (0.6, 0.8); ∂θ/∂(x, y) = (−y, x)/r² = (−0.16, 0.12).
    let seed = Polar {
        radius: 2.0,
        angle: 10.0,
    };
    let (value, (gx, gy)) = to_polar_vjp(x, y, seed);
    assert_eq!(value, to_polar(x, y));
    assert!((gx - (2.0 * 0.6 - 10.0 * 0.16)).abs() < 1e-14);
    assert!((gy - (2.0 * 0.8 + 10.0 * 0.12)).abs() < 1e-14);
    let (_, product) = to_polar_jvp(x, y, (1.0, 0.0));
    assert!((product.radius - 0.6).abs() < 1e-14 && (product.angle + 0.16).abs() < 1e-14);
}

/// Fields the body does not read get zero gradients of their own shape; fields it reads get
/// theirs (stored into the gradient without zeros allocated first), nested ones included.
#[derive(Clone, Debug, PartialEq, differentiate::Differentiable)]
struct Inner {
    used: Vec<f64>,
    unused: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, differentiate::Differentiable)]
struct Outer {
    inner: Inner,
    scale: f64,
    spare: Vec<f64>,
    spare_tensor: differentiate::Tensor,
    label: String,
}

#[differentiate]
fn outer_energy(p: &Outer) -> f64 {
    let mut total = 0.0;
    for v in p.inner.used.iter() {
        total += p.scale * v * v;
    }
    total
}

#[test]
fn unread_fields_get_zeros_of_their_shape() {
    let p = Outer {
        inner: Inner {
            used: vec![1.0, 2.0],
            unused: vec![5.0, 6.0, 7.0],
        },
        scale: 3.0,
        spare: vec![1.0; 4],
        spare_tensor: differentiate::Tensor::from_vec(&[2, 2], vec![1.0; 4]),
        label: "kept".into(),
    };
    let (value, g) = outer_energy_grad(&p);
    assert_eq!(value, 15.0);
    assert_eq!(g.inner.used, vec![6.0, 12.0]);
    assert_eq!(g.inner.unused, vec![0.0; 3]);
    assert_eq!(g.scale, 5.0);
    assert_eq!(g.spare, vec![0.0; 4]);
    assert_eq!(g.spare_tensor, differentiate::Tensor::zeros(&[2, 2]));
    assert_eq!(g.label, "kept");
}

/// A supplied derivative of a function with a struct parameter: its gradient entry is the
/// struct, and a differentiated caller passing the struct whole goes through it.
#[derive(Clone, Debug, PartialEq, differentiate::Differentiable)]
struct Spring {
    k: f64,
    rest: f64,
}

#[differentiate(vjp = spring_energy_by_hand)]
fn spring_energy(s: &Spring, x: f64) -> f64 {
    0.5 * s.k * (x - s.rest).powi(2)
}

fn spring_energy_by_hand(s: &Spring, x: f64, seed: f64) -> (f64, (Spring, f64)) {
    let d = x - s.rest;
    let value = 0.5 * s.k * d * d;
    let g = Spring {
        k: seed * 0.5 * d * d,
        rest: -seed * s.k * d,
    };
    (value, (g, seed * s.k * d))
}

#[differentiate(wrt(s))]
fn two_springs(s: &Spring, x: f64) -> f64 {
    spring_energy(s, x) + spring_energy(s, 2.0 * x)
}

#[test]
fn supplied_derivatives_with_struct_parameters() {
    let s = Spring { k: 4.0, rest: 1.0 };
    let (value, (g, gx)) = spring_energy_grad(&s, 3.0);
    assert_eq!(value, 8.0);
    assert_eq!(g, Spring { k: 2.0, rest: -8.0 });
    assert_eq!(gx, 8.0);
    // Through a caller: x = 3 and 6, d = 2 and 5.
    let (_, g) = two_springs_grad(&s, 3.0);
    assert_eq!(
        g,
        Spring {
            k: 2.0 + 12.5,
            rest: -8.0 - 20.0
        }
    );
}
