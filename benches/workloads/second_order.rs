//! The second-order workloads (issue 14): `NAME_hvp` and `NAME_hessian` against the gradient,
//! against Hessians worked out by hand, and against `num-dual` (second-order dual numbers)
//! and `echidna` (a bytecode tape, recorded once and re-evaluated).
//!
//! [`cases`] builds each workload and asserts, before anything is timed, that the generated
//! items agree with the hand-written Hessian, the hand-written Hessian with central
//! differences of a hand-written gradient, and each peer with the hand-written Hessian.

#![allow(clippy::needless_range_loop, clippy::type_complexity)]

use super::adbench::{self, GmmInput};
use super::basic::{self, j, j_derivatives, j_grad, j_hessian, j_hvp};
use super::{assert_close, peers, Runner, AD_TOL, FD_TOL, POINTS};
use differentiate::differentiate;
use echidna::sparse::greedy_coloring;
use echidna::{record, BytecodeTape, Scalar};
use nalgebra::{DVector, SVector};
use num_dual::{hessian, second_derivative, Dual2DVec64, Dual2SVec64, DualNum};
use std::hint::black_box;
use std::rc::Rc;

/// Which of our contenders a peer's time is divided by in the report.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ours {
    /// `NAME_hessian`.
    Hessian,
    /// `NAME_hvp`.
    Hvp,
    /// The Hessian recovered from three `NAME_hvp` products by colouring (Rosenbrock).
    Coloured,
}

pub struct SecondOrderCase {
    /// The workload's name in the report (`j`, `fonction_complexe`, `gmm_d10_K25`, ...).
    pub name: String,
    /// What one run computes, for the report.
    pub what: String,
    /// The generated gradient, `NAME_grad`.
    pub grad: Runner,
    /// The generated Hessian-vector product, `NAME_hvp`, along a fixed direction.
    pub hvp: Runner,
    /// The generated Hessian, `NAME_hessian` (none where it would take `P` products of a
    /// millisecond each: GMM).
    pub hessian: Option<Runner>,
    /// The Hessian written by hand (value, gradient and Hessian, in the shape `NAME_hessian`
    /// returns).
    pub hand: Option<Runner>,
    /// The alternatives: label, which of ours the report divides its time by, runner.
    pub peers: Vec<(&'static str, Ours, Runner)>,
    /// How many evaluations one run performs; reported times are per evaluation.
    pub calls_per_run: usize,
}

/// Which second-order cases to build: all of them, or those whose name contains a filter.
pub fn cases(filters: &[String]) -> Vec<SecondOrderCase> {
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let mut out = Vec::new();
    if wanted("j") {
        out.push(j_case());
    }
    if wanted("fonction_complexe") {
        out.push(fonction_complexe_case());
    }
    if wanted(GMM) {
        out.push(gmm_case());
    }
    if wanted(ROSENBROCK_NAME) {
        out.push(rosenbrock_case());
    }
    out
}

/// The GMM instance of the second-order table.
pub const GMM: &str = "gmm_d10_K25";
/// The Rosenbrock workload's name.
pub const ROSENBROCK_NAME: &str = "rosenbrock_n100";
/// Its dimension.
pub const ROSENBROCK_N: usize = 100;
/// The label of the Hessian recovered by colouring ([`Ours::Coloured`]).
pub const COLOURED: &str = "ours, coloured (3 hvp)";

// ---- checks ------------------------------------------------------------------------------------

/// `|g - e| <= rel · |e|` entry by entry, with a floor of `rel · 1e-6 · max|e|` for entries
/// that are zero or nearly so (where a relative error means nothing).
fn assert_relative(what: &str, got: &[f64], expected: &[f64], rel: f64) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths differ");
    let scale = expected.iter().fold(0.0f64, |m, e| m.max(e.abs()));
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= rel * e.abs().max(1e-6 * scale),
            "{what}[{i}]: got {g:.15e}, expected {e:.15e} (rel {rel:e})"
        );
    }
}

fn flatten(h: &[Vec<f64>]) -> Vec<f64> {
    h.concat()
}

/// Central differences of a gradient `g` at `p`: the Hessian, column by column (rows of the
/// result are columns; the Hessian is symmetric).
fn hessian_by_differences(g: impl Fn(&[f64]) -> Vec<f64>, p: &[f64]) -> Vec<Vec<f64>> {
    (0..p.len())
        .map(|j| {
            let h = 1e-5 * p[j].abs().max(1.0);
            let (mut up, mut down) = (p.to_vec(), p.to_vec());
            up[j] += h;
            down[j] -= h;
            let (gu, gd) = (g(&up), g(&down));
            gu.iter()
                .zip(&gd)
                .map(|(u, d)| (u - d) / (2.0 * h))
                .collect()
        })
        .collect()
}

/// Deterministic inputs spread over `[lo, hi]` (as `super::points`).
pub fn points(lo: f64, hi: f64, salt: f64, count: usize) -> Vec<f64> {
    (0..count)
        .map(|i| lo + (hi - lo) * ((i as f64 * 0.618_033_988_75 + salt).fract()))
        .collect()
}

// ---- 1. J ----------------------------------------------------------------------------------------

/// `(J, J', J'')` by hand.
pub fn j_hand_hessian(x: f64) -> (f64, f64, f64) {
    let x2 = x * x;
    (
        x2 * x + x2 - 6.0 * x + 1.0,
        3.0 * x2 + 2.0 * x - 6.0,
        6.0 * x + 2.0,
    )
}

/// J for echidna's tape (its `Scalar` is `num_traits::Float` with constants through `from_f`).
pub fn j_echidna<T: Scalar<Float = f64>>(v: &[T]) -> T {
    let x = v[0];
    x.powi(3) + x.powi(2) - T::from_f(6.0) * x + T::from_f(1.0)
}

/// `second_derivative` over `Dual2_64` (value, first and second derivative in one pass).
pub fn j_num_dual(x: f64) -> (f64, f64, f64) {
    second_derivative(peers::j_dual, x)
}

fn j_case() -> SecondOrderCase {
    let xs = points(-3.0, 3.0, 0.1, POINTS);
    let (tape, _) = record(j_echidna, &[xs[0]]);
    for &x in &xs {
        let (v, g, h) = j_hessian(x);
        let hand = j_hand_hessian(x);
        let expected = [hand.0, hand.1, hand.2];
        assert_eq!(v, j(x));
        assert_close("j hessian", &[v, g, h], &expected, AD_TOL, false);
        let (hv, hg, hh) = j_hvp(x, 1.0);
        assert_close("j hvp", &[hv, hg, hh], &expected, AD_TOL, false);
        assert_eq!(j_grad(x), (v, g));
        let (nv, ng, nh) = j_num_dual(x);
        assert_close("j num-dual", &[nv, ng, nh], &expected, AD_TOL, false);
        let (ev, eg, eh) = tape.hessian(&[x]);
        assert_close(
            "j echidna",
            &[ev, eg[0], eh[0][0]],
            &expected,
            AD_TOL,
            false,
        );
        let taylor = j_derivatives::<3>(x);
        assert_close("j derivatives::<3>", &taylor, &expected, AD_TOL, false);
        let (eg, ehv) = tape.hvp(&[x], &[1.0]);
        assert_close(
            "j echidna hvp",
            &[eg[0], ehv[0]],
            &expected[1..],
            AD_TOL,
            false,
        );
        // The hand-written J'' against central differences of the hand-written J'.
        let fd = hessian_by_differences(|p| vec![j_hand_hessian(p[0]).1], &[x]);
        assert_close("j finite-diff", &fd[0], &[h], FD_TOL, true);
    }
    let xs = Rc::new(xs);
    let tape = Rc::new(tape);
    macro_rules! runner {
        ($(clone $t:ident,)? |$x:ident| $body:expr) => {{
            let xs = xs.clone();
            $(let $t = $t.clone();)?
            Box::new(move || {
                for &$x in xs.iter() {
                    let $x = black_box($x);
                    black_box($body);
                }
            }) as Runner
        }};
    }
    SecondOrderCase {
        name: "j".into(),
        what: format!("J(x) = x³ + x² - 6x + 1 at {POINTS} points; hvp along 1; per point"),
        grad: runner!(|x| j_grad(x)),
        hvp: runner!(|x| j_hvp(x, 1.0)),
        hessian: Some(runner!(|x| j_hessian(x))),
        hand: Some(runner!(|x| j_hand_hessian(x))),
        peers: vec![
            (
                "echidna hessian",
                Ours::Hessian,
                runner!(clone tape, |x| tape.hessian(&[x])),
            ),
            (
                "echidna hvp",
                Ours::Hvp,
                runner!(clone tape, |x| tape.hvp(&[x], &[1.0])),
            ),
            (
                "num-dual hessian",
                Ours::Hessian,
                runner!(|x| j_num_dual(x)),
            ),
            (
                "ours, derivatives::<3>",
                Ours::Hessian,
                runner!(|x| j_derivatives::<3>(x)),
            ),
        ],
        calls_per_run: POINTS,
    }
}

// ---- 2. fonction_complexe ------------------------------------------------------------------------

/// Value, gradient and Hessian of `fonction_complexe` worked out by hand, in a fixed-size
/// array. With `a = atan(x/y)`, `u = z² - x`, `c = cos u`, `s = sin u`, `m = xy·a` and
/// `P = m·c`: `f = P/z + a - c`.
pub fn fonction_complexe_hand_hessian_array(
    x: f64,
    y: f64,
    z: f64,
) -> (f64, (f64, f64, f64), [[f64; 3]; 3]) {
    let a = (x / y).atan();
    let (s, c) = (z * z - x).sin_cos();
    // a_x = y/r², a_y = -x/r², a_xx = -2xy/r⁴ = -a_yy, a_xy = (x² - y²)/r⁴.
    let inv_r2 = 1.0 / (x * x + y * y);
    let inv_r4 = inv_r2 * inv_r2;
    let w = x * y;
    let (a_x, a_y) = (y * inv_r2, -x * inv_r2);
    let a_xx = -2.0 * w * inv_r4;
    let a_xy = (x * x - y * y) * inv_r4;
    // m = xy·a; since x·a_x + y·a_y = 0, m_xy = a + xy·a_xy.
    let m = w * a;
    let (m_x, m_y) = (y * a + w * a_x, x * a + w * a_y);
    let m_xx = 2.0 * y * a_x + w * a_xx;
    let m_xy = a + w * a_xy;
    let m_yy = 2.0 * x * a_y - w * a_xx;
    // c = cos u, u = z² - x: c_x = s, c_z = -2zs, c_xx = -c, c_xz = 2zc, c_zz = -2s - 4z²c.
    let c_z = -2.0 * z * s;
    let c_xz = 2.0 * z * c;
    let c_zz = -2.0 * s - 4.0 * z * z * c;
    // P = m·c.
    let p = m * c;
    let (p_x, p_y, p_z) = (m_x * c + m * s, m_y * c, m * c_z);
    let p_xx = m_xx * c + 2.0 * m_x * s - m * c;
    let p_xy = m_xy * c + m_y * s;
    let p_xz = m_x * c_z + m * c_xz;
    let p_yy = m_yy * c;
    let p_yz = m_y * c_z;
    let p_zz = m * c_zz;
    // T = P/z: T_x = P_x/z, T_z = (P_z - T)/z, T_xz = (P_xz - T_x)/z,
    // T_zz = (P_zz - 2·T_z)/z; then f = T + a - c.
    let q = 1.0 / z;
    let t = p * q;
    let (t_x, t_y, t_z) = (p_x * q, p_y * q, (p_z - t) * q);
    let gradient = (t_x + a_x - s, t_y + a_y, t_z - c_z);
    let h_xx = p_xx * q + a_xx + c;
    let h_xy = p_xy * q + a_xy;
    let h_xz = (p_xz - t_x) * q - c_xz;
    let h_yy = p_yy * q - a_xx;
    let h_yz = (p_yz - t_y) * q;
    let h_zz = (p_zz - 2.0 * t_z) * q - c_zz;
    (
        t + a - c,
        gradient,
        [[h_xx, h_xy, h_xz], [h_xy, h_yy, h_yz], [h_xz, h_yz, h_zz]],
    )
}

/// The same, returned as `fonction_complexe_hessian` returns it (`Vec<Vec<f64>>`): the `hand`
/// contender, allocating what the generated code allocates.
pub fn fonction_complexe_hand_hessian(
    x: f64,
    y: f64,
    z: f64,
) -> (f64, (f64, f64, f64), Vec<Vec<f64>>) {
    let (value, gradient, h) = fonction_complexe_hand_hessian_array(x, y, z);
    (
        value,
        gradient,
        vec![h[0].to_vec(), h[1].to_vec(), h[2].to_vec()],
    )
}

/// The Hessian from three calls of the generated `fonction_complexe_hvp` along e₁, e₂, e₃,
/// written straight into the result's rows (the Hessian is symmetric): what
/// `fonction_complexe_hessian` computes, without its temporary columns. A diagnostic contender
/// for the report, not a replacement.
pub fn fonction_complexe_hessian_from_hvp(
    x: f64,
    y: f64,
    z: f64,
) -> (f64, (f64, f64, f64), Vec<Vec<f64>>) {
    let (value, gradient, c0) = basic::fonction_complexe_hvp(x, y, z, (1.0, 0.0, 0.0));
    let (_, _, c1) = basic::fonction_complexe_hvp(x, y, z, (0.0, 1.0, 0.0));
    let (_, _, c2) = basic::fonction_complexe_hvp(x, y, z, (0.0, 0.0, 1.0));
    (
        value,
        gradient,
        vec![
            vec![c0.0, c0.1, c0.2],
            vec![c1.0, c1.1, c1.2],
            vec![c2.0, c2.1, c2.2],
        ],
    )
}

pub fn fonction_complexe_echidna<T: Scalar<Float = f64>>(v: &[T]) -> T {
    let (x, y, z) = (v[0], v[1], v[2]);
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

/// `hessian` over `Dual2SVec64<3>`: one pass carrying the gradient and the 3 × 3 Hessian.
pub fn fonction_complexe_num_dual(
    x: f64,
    y: f64,
    z: f64,
) -> (f64, SVector<f64, 3>, nalgebra::SMatrix<f64, 3, 3>) {
    hessian(
        |v: SVector<Dual2SVec64<3>, 3>| peers::fonction_complexe_dual(v[0], v[1], v[2]),
        &SVector::from([x, y, z]),
    )
}

/// The direction of `fonction_complexe_hvp`.
pub const FONCTION_COMPLEXE_DIRECTION: (f64, f64, f64) = (0.5, -1.0, 2.0);

fn fonction_complexe_case() -> SecondOrderCase {
    use basic::{
        fonction_complexe, fonction_complexe_grad, fonction_complexe_hand_grad,
        fonction_complexe_hessian, fonction_complexe_hvp,
    };
    let pts: Vec<(f64, f64, f64)> = points(0.5, 8.0, 0.1, POINTS)
        .into_iter()
        .zip(points(1.0, 6.0, 0.4, POINTS))
        .zip(points(0.5, 3.0, 0.7, POINTS))
        .map(|((x, y), z)| (x, y, z))
        .collect();
    let (tape, _) = record(fonction_complexe_echidna, &[pts[0].0, pts[0].1, pts[0].2]);
    let v = FONCTION_COMPLEXE_DIRECTION;
    let hand_gradient = |p: &[f64]| {
        let (_, (gx, gy, gz)) = fonction_complexe_hand_grad(p[0], p[1], p[2]);
        vec![gx, gy, gz]
    };
    for &(x, y, z) in &pts {
        let (value, (gx, gy, gz), h) = fonction_complexe_hessian(x, y, z);
        let (hv, hg, hh) = fonction_complexe_hand_hessian(x, y, z);
        let hand = flatten(&hh);
        let hand_g = [hg.0, hg.1, hg.2];
        assert_eq!(value, fonction_complexe(x, y, z));
        assert_close(
            "fonction_complexe hand value",
            &[hv],
            &[value],
            AD_TOL,
            false,
        );
        // The hand-written Hessian's gradient against the first-order hand-written one.
        assert_close(
            "fonction_complexe hand gradient",
            &hand_g,
            &hand_gradient(&[x, y, z]),
            AD_TOL,
            false,
        );
        assert_close(
            "fonction_complexe generated gradient",
            &[gx, gy, gz],
            &hand_g,
            AD_TOL,
            false,
        );
        // The hand-written Hessian against the generated one, 1e-9 relative ...
        assert_relative("fonction_complexe hessian", &flatten(&h), &hand, 1e-9);
        // ... and against central differences of the hand-written gradient.
        let fd = hessian_by_differences(hand_gradient, &[x, y, z]);
        assert_close(
            "fonction_complexe hand hessian vs finite-diff",
            &hand,
            &flatten(&fd),
            FD_TOL,
            true,
        );
        // H·v.
        let (hvp_value, hvp_g, hvp) = fonction_complexe_hvp(x, y, z, v);
        let hand_hv: Vec<f64> = hh
            .iter()
            .map(|row| row[0] * v.0 + row[1] * v.1 + row[2] * v.2)
            .collect();
        assert_eq!(hvp_value, value);
        assert_close(
            "fonction_complexe hvp gradient",
            &[hvp_g.0, hvp_g.1, hvp_g.2],
            &hand_g,
            AD_TOL,
            false,
        );
        assert_close(
            "fonction_complexe hvp",
            &[hvp.0, hvp.1, hvp.2],
            &hand_hv,
            AD_TOL,
            false,
        );
        assert_eq!(fonction_complexe_grad(x, y, z), (value, (gx, gy, gz)));
        let (_, _, from_hvp) = fonction_complexe_hessian_from_hvp(x, y, z);
        assert_relative(
            "fonction_complexe from hvp",
            &flatten(&from_hvp),
            &hand,
            1e-9,
        );
        // The peers.
        let (nv, ng, nh) = fonction_complexe_num_dual(x, y, z);
        assert_close(
            "fonction_complexe num-dual value",
            &[nv],
            &[hv],
            AD_TOL,
            false,
        );
        assert_close(
            "fonction_complexe num-dual gradient",
            ng.as_slice(),
            &hand_g,
            AD_TOL,
            false,
        );
        assert_close(
            "fonction_complexe num-dual",
            nh.as_slice(), // column-major; the Hessian is symmetric
            &hand,
            AD_TOL,
            false,
        );
        let (ev, eg, eh) = tape.hessian(&[x, y, z]);
        assert_close(
            "fonction_complexe echidna value",
            &[ev],
            &[hv],
            AD_TOL,
            false,
        );
        assert_close(
            "fonction_complexe echidna gradient",
            &eg,
            &hand_g,
            AD_TOL,
            false,
        );
        assert_close(
            "fonction_complexe echidna",
            &flatten(&eh),
            &hand,
            AD_TOL,
            false,
        );
        let (_, ehv) = tape.hvp(&[x, y, z], &[v.0, v.1, v.2]);
        assert_close(
            "fonction_complexe echidna hvp",
            &ehv,
            &hand_hv,
            AD_TOL,
            false,
        );
    }
    // The hand-written Hessian at (7, 5, 2), whose gradient is published
    // (tests/reference_values.rs).
    let (_, (gx, gy, gz), _) = fonction_complexe_hand_hessian(7.0, 5.0, 2.0);
    assert_close(
        "fonction_complexe hand at (7, 5, 2)",
        &[gx, gy, gz],
        &[-5.66196787253764, -1.74937550466067, 17.0594520169513],
        1e-12,
        false,
    );

    let pts = Rc::new(pts);
    let tape = Rc::new(tape);
    macro_rules! runner {
        ($(clone $t:ident,)? |$x:ident, $y:ident, $z:ident| $body:expr) => {{
            let pts = pts.clone();
            $(let $t = $t.clone();)?
            Box::new(move || {
                for &($x, $y, $z) in pts.iter() {
                    let ($x, $y, $z) = (black_box($x), black_box($y), black_box($z));
                    black_box($body);
                }
            }) as Runner
        }};
    }
    SecondOrderCase {
        name: "fonction_complexe".into(),
        what: format!(
            "f(x, y, z) at {POINTS} points, hvp along (0.5, -1, 2), 3 × 3 Hessian; per point"
        ),
        grad: runner!(|x, y, z| fonction_complexe_grad(x, y, z)),
        hvp: runner!(|x, y, z| fonction_complexe_hvp(x, y, z, v)),
        hessian: Some(runner!(|x, y, z| fonction_complexe_hessian(x, y, z))),
        hand: Some(runner!(|x, y, z| fonction_complexe_hand_hessian(x, y, z))),
        peers: vec![
            (
                "echidna hessian",
                Ours::Hessian,
                runner!(clone tape, |x, y, z| tape.hessian(&[x, y, z])),
            ),
            (
                "echidna hvp",
                Ours::Hvp,
                runner!(clone tape, |x, y, z| tape.hvp(&[x, y, z], &[v.0, v.1, v.2])),
            ),
            (
                "num-dual hessian",
                Ours::Hessian,
                runner!(|x, y, z| fonction_complexe_num_dual(x, y, z)),
            ),
            (
                "hand, [[f64; 3]; 3]",
                Ours::Hessian,
                runner!(|x, y, z| fonction_complexe_hand_hessian_array(x, y, z)),
            ),
            (
                "ours, 3 × hvp",
                Ours::Hessian,
                runner!(|x, y, z| fonction_complexe_hessian_from_hvp(x, y, z)),
            ),
        ],
        calls_per_run: POINTS,
    }
}

// ---- 3. ADBench GMM: H·v -------------------------------------------------------------------------

/// A fixed direction in GMM's parameter space, `(alpha, means, icf)`.
fn gmm_direction(input: &GmmInput) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let entries = |count: usize, salt: f64| points(-1.0, 1.0, salt, count);
    (
        entries(input.alphas.len(), 0.2),
        entries(input.means.len(), 0.5),
        entries(input.icf.len(), 0.8),
    )
}

fn gmm_hvp(
    input: &GmmInput,
    v: (Vec<f64>, Vec<f64>, Vec<f64>),
) -> (
    f64,
    (Vec<f64>, Vec<f64>, Vec<f64>),
    (Vec<f64>, Vec<f64>, Vec<f64>),
) {
    adbench::gmm_objective_hvp(
        input.d,
        input.k,
        input.n,
        &input.alphas,
        &input.means,
        &input.icf,
        &input.x,
        input.wishart_gamma,
        input.wishart_m,
        input.constant(),
        v,
    )
}

fn gmm_case() -> SecondOrderCase {
    let input = GmmInput::read(&adbench::data_dir().join(format!("gmm/1k/{GMM}.txt")));
    let v = gmm_direction(&input);
    let flat_v = [&v.0[..], &v.1, &v.2].concat();
    let (value, _) = input.generated_gradient();
    let (_, hand_grad) = input.hand_gradient();
    let (hvp_value, (ga, gm, gi), (ha, hm, hi)) = gmm_hvp(&input, v.clone());
    let hv = [ha, hm, hi].concat();
    assert_eq!(hvp_value, value);
    assert_close(
        &format!("{GMM} hvp gradient"),
        &[ga, gm, gi].concat(),
        &hand_grad,
        AD_TOL,
        false,
    );
    // H·v against central differences of the hand-written gradient along v.
    let at = |t: f64| {
        let mut moved = input.clone();
        let shift = |p: &mut Vec<f64>, d: &[f64]| {
            for (p, d) in p.iter_mut().zip(d) {
                *p += t * d;
            }
        };
        shift(&mut moved.alphas, &v.0);
        shift(&mut moved.means, &v.1);
        shift(&mut moved.icf, &v.2);
        moved.hand_gradient().1
    };
    let h = 1e-5;
    let (up, down) = (at(h), at(-h));
    let fd: Vec<f64> = up
        .iter()
        .zip(&down)
        .map(|(u, d)| (u - d) / (2.0 * h))
        .collect();
    assert_close(&format!("{GMM} hvp vs finite-diff"), &hv, &fd, FD_TOL, true);
    // Symmetry: u·(H v) = v·(H u) for a second direction u.
    let u = {
        let e = |count: usize, salt: f64| points(-1.0, 1.0, salt, count);
        (
            e(input.alphas.len(), 0.9),
            e(input.means.len(), 0.3),
            e(input.icf.len(), 0.6),
        )
    };
    let flat_u = [&u.0[..], &u.1, &u.2].concat();
    let (_, _, (a, m, i)) = gmm_hvp(&input, u);
    let hu = [a, m, i].concat();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
    let (uhv, vhu) = (dot(&flat_u, &hv), dot(&flat_v, &hu));
    assert!(
        (uhv - vhu).abs() <= 1e-9 * uhv.abs().max(1.0),
        "{GMM}: u·Hv = {uhv}, v·Hu = {vhu}"
    );

    let input = Rc::new(input);
    let constant = input.constant();
    let grad_input = input.clone();
    SecondOrderCase {
        name: GMM.into(),
        what: format!(
            "GMM objective, D = {}, K = {}, N = {}: H·v in all {} parameters along a fixed \
             direction (no dense Hessian: it would take {} products)",
            input.d,
            input.k,
            input.n,
            input.parameter_count(),
            input.parameter_count()
        ),
        grad: Box::new(move || {
            let i = black_box(&*grad_input);
            black_box(adbench::gmm_objective_grad(
                i.d,
                i.k,
                i.n,
                &i.alphas,
                &i.means,
                &i.icf,
                &i.x,
                i.wishart_gamma,
                i.wishart_m,
                constant,
            ));
        }),
        hvp: Box::new(move || {
            let i = black_box(&*input);
            black_box(adbench::gmm_objective_hvp(
                i.d,
                i.k,
                i.n,
                &i.alphas,
                &i.means,
                &i.icf,
                &i.x,
                i.wishart_gamma,
                i.wishart_m,
                constant,
                black_box(v.clone()),
            ));
        }),
        hessian: None,
        hand: None,
        peers: Vec::new(),
        calls_per_run: 1,
    }
}

// ---- 4. Rosenbrock, n = 100 ---------------------------------------------------------------------

/// `Σ (1 - xᵢ)² + 100 (xᵢ₊₁ - xᵢ²)²`: its Hessian is tridiagonal.
#[differentiate]
pub fn rosenbrock(x: &[f64]) -> f64 {
    let b = 100.0;
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += (1.0 - x[i]).powi(2) + b * (x[i + 1] - x[i].powi(2)).powi(2);
    }
    s
}

/// Value and gradient by hand, as one first writes it: per term, the two entries it touches
/// (`g[i] += ..; g[i + 1] += ..`, a scatter).
pub fn rosenbrock_hand_grad(x: &[f64]) -> (f64, Vec<f64>) {
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
        g[i] += -2.0 * a - 400.0 * x[i] * b;
        g[i + 1] += 200.0 * b;
    }
    (s, g)
}

/// Value, gradient and dense Hessian by hand: the tridiagonal entries filled into an `n × n`
/// `Vec<Vec<f64>>`, the shape `rosenbrock_hessian` returns.
pub fn rosenbrock_hand_hessian(x: &[f64]) -> (f64, Vec<f64>, Vec<Vec<f64>>) {
    let b = 100.0;
    let n = x.len();
    let mut value = 0.0;
    let mut g = vec![0.0; n];
    let mut h = vec![vec![0.0; n]; n];
    for i in 0..n - 1 {
        let r = 1.0 - x[i];
        let t = x[i + 1] - x[i] * x[i];
        value += r * r + b * t * t;
        g[i] += -2.0 * r - 4.0 * b * x[i] * t;
        g[i + 1] += 2.0 * b * t;
        h[i][i] += 2.0 - 4.0 * b * t + 8.0 * b * x[i] * x[i];
        h[i][i + 1] = -4.0 * b * x[i];
        h[i + 1][i] = -4.0 * b * x[i];
        h[i + 1][i + 1] += 2.0 * b;
    }
    (value, g, h)
}

/// A tridiagonal matrix by its three bands: `lower[i] = H[i+1][i]`, `diagonal[i] = H[i][i]`,
/// `upper[i] = H[i][i+1]`.
pub struct Tridiagonal {
    pub lower: Vec<f64>,
    pub diagonal: Vec<f64>,
    pub upper: Vec<f64>,
}

impl Tridiagonal {
    pub fn dense(&self) -> Vec<Vec<f64>> {
        let n = self.diagonal.len();
        let mut h = vec![vec![0.0; n]; n];
        for i in 0..n {
            h[i][i] = self.diagonal[i];
            if i + 1 < n {
                h[i + 1][i] = self.lower[i];
                h[i][i + 1] = self.upper[i];
            }
        }
        h
    }
}

/// The Hessian of a function whose Hessian is tridiagonal, from three Hessian-vector products:
/// with the direction `d_c = Σ_{j ≡ c mod 3} e_j`, row `i` of `H·d_c` is the one entry
/// `H[i][j]` with `|i - j| ≤ 1` and `j ≡ c mod 3` (the other columns of that colour are zero
/// in row `i`). A helper of the benchmark, not of the library.
pub fn tridiagonal_hessian_by_colouring(
    n: usize,
    mut hvp: impl FnMut(Vec<f64>) -> (f64, Vec<f64>, Vec<f64>),
) -> (f64, Vec<f64>, Tridiagonal) {
    let mut bands = Tridiagonal {
        lower: vec![0.0; n.saturating_sub(1)],
        diagonal: vec![0.0; n],
        upper: vec![0.0; n.saturating_sub(1)],
    };
    let (mut value, mut gradient) = (0.0, Vec::new());
    for colour in 0..3.min(n) {
        let direction = (0..n)
            .map(|j| if j % 3 == colour { 1.0 } else { 0.0 })
            .collect();
        let (v, g, product) = hvp(direction);
        for j in (colour..n).step_by(3) {
            bands.diagonal[j] = product[j];
            if j + 1 < n {
                bands.lower[j] = product[j + 1];
            }
            if j > 0 {
                bands.upper[j - 1] = product[j - 1];
            }
        }
        if colour == 0 {
            (value, gradient) = (v, g);
        }
    }
    (value, gradient, bands)
}

pub fn rosenbrock_coloured(x: &[f64]) -> (f64, Vec<f64>, Tridiagonal) {
    tridiagonal_hessian_by_colouring(x.len(), |d| rosenbrock_hvp(x, d))
}

pub fn rosenbrock_echidna<T: Scalar<Float = f64>>(x: &[T]) -> T {
    let b = T::from_f(100.0);
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        s = s + (T::one() - x[i]).powi(2) + b * (x[i + 1] - x[i].powi(2)).powi(2);
    }
    s
}

/// Rosenbrock over `num-dual`'s numbers, for the dynamically sized `Dual2DVec64` (not `Copy`:
/// each operation allocates its gradient and its `n × n` Hessian part).
pub fn rosenbrock_dual<D: DualNum<Primitive = f64>>(x: &[D]) -> D {
    let mut s = D::from(0.0);
    for i in 0..x.len() - 1 {
        let r = -x[i].clone() + 1.0;
        let t = x[i + 1].clone() - x[i].powi(2);
        s += r.powi(2) + t.powi(2) * 100.0;
    }
    s
}

/// `hessian` with `DVector<Dual2DVec64>`: one pass carrying the gradient and the whole Hessian.
pub fn rosenbrock_num_dual(x: &DVector<f64>) -> (f64, DVector<f64>, nalgebra::DMatrix<f64>) {
    hessian(|v: DVector<Dual2DVec64>| rosenbrock_dual(v.as_slice()), x)
}

/// The state of echidna's sparse Hessian for repeated evaluation: the pattern and colouring,
/// found once.
pub struct EchidnaSparse {
    pub pattern: echidna::SparsityPattern,
    pub colours: Vec<u32>,
    pub count: u32,
}

impl EchidnaSparse {
    pub fn new(tape: &BytecodeTape<f64>) -> EchidnaSparse {
        let pattern = tape.detect_sparsity();
        let (colours, count) = greedy_coloring(&pattern);
        EchidnaSparse {
            pattern,
            colours,
            count,
        }
    }

    pub fn hessian(&self, tape: &BytecodeTape<f64>, x: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
        tape.sparse_hessian_with_pattern(x, &self.pattern, &self.colours, self.count)
    }
}

fn rosenbrock_case() -> SecondOrderCase {
    let n = ROSENBROCK_N;
    let x = points(-1.5, 1.5, 0.3, n);
    let v = points(-1.0, 1.0, 0.6, n);
    let (value, gradient, h) = rosenbrock_hessian(&x);
    let (hand_value, hand_gradient, hand) = rosenbrock_hand_hessian(&x);
    assert_eq!(value, rosenbrock(&x));
    assert_close(
        "rosenbrock hand value",
        &[hand_value],
        &[value],
        AD_TOL,
        false,
    );
    assert_close(
        "rosenbrock gradient",
        &gradient,
        &hand_gradient,
        AD_TOL,
        false,
    );
    assert_eq!(rosenbrock_grad(&x), (value, gradient.clone()));
    assert_close(
        "rosenbrock hessian",
        &flatten(&h),
        &flatten(&hand),
        AD_TOL,
        false,
    );
    let fd = hessian_by_differences(|p| rosenbrock_hand_hessian(p).1, &x);
    assert_close(
        "rosenbrock hand hessian vs finite-diff",
        &flatten(&hand),
        &flatten(&fd),
        FD_TOL,
        true,
    );
    let hand_hv: Vec<f64> = hand
        .iter()
        .map(|row| row.iter().zip(&v).map(|(a, b)| a * b).sum())
        .collect();
    let (hvp_value, hvp_gradient, hv) = rosenbrock_hvp(&x, v.clone());
    assert_eq!(hvp_value, value);
    assert_close(
        "rosenbrock hvp gradient",
        &hvp_gradient,
        &gradient,
        AD_TOL,
        false,
    );
    assert_close("rosenbrock hvp", &hv, &hand_hv, AD_TOL, false);
    // The colouring: three products give every entry of the dense Hessian.
    let (cv, cg, bands) = rosenbrock_coloured(&x);
    assert_eq!((cv, &cg), (value, &gradient));
    assert_close(
        "rosenbrock coloured",
        &flatten(&bands.dense()),
        &flatten(&h),
        AD_TOL,
        false,
    );
    // The peers.
    let (tape, _) = record(rosenbrock_echidna, &x);
    let (ev, eg, eh) = tape.hessian(&x);
    assert_close("rosenbrock echidna value", &[ev], &[value], AD_TOL, false);
    assert_close("rosenbrock echidna gradient", &eg, &gradient, AD_TOL, false);
    assert_close(
        "rosenbrock echidna",
        &flatten(&eh),
        &flatten(&hand),
        AD_TOL,
        false,
    );
    let (_, ehv) = tape.hvp(&x, &v);
    assert_close("rosenbrock echidna hvp", &ehv, &hand_hv, AD_TOL, false);
    let sparse = EchidnaSparse::new(&tape);
    assert_eq!(
        sparse.count, 3,
        "echidna's colouring of a tridiagonal pattern"
    );
    let (_, _, values) = sparse.hessian(&tape, &x);
    for (k, (&r, &c)) in sparse
        .pattern
        .rows
        .iter()
        .zip(&sparse.pattern.cols)
        .enumerate()
    {
        assert_close(
            "rosenbrock echidna sparse",
            &[values[k]],
            &[hand[r as usize][c as usize]],
            AD_TOL,
            false,
        );
    }
    assert_eq!(
        sparse.pattern.nnz(),
        2 * n - 1,
        "echidna's pattern: the lower triangle of a tridiagonal matrix"
    );
    let x_dvector = DVector::from_column_slice(&x);
    let (nv, ng, nh) = rosenbrock_num_dual(&x_dvector);
    assert_close("rosenbrock num-dual value", &[nv], &[value], AD_TOL, false);
    assert_close(
        "rosenbrock num-dual gradient",
        ng.as_slice(),
        &gradient,
        AD_TOL,
        false,
    );
    assert_close(
        "rosenbrock num-dual",
        nh.as_slice(), // column-major; the Hessian is symmetric
        &flatten(&hand),
        AD_TOL,
        false,
    );

    let x = Rc::new(x);
    let tape = Rc::new(tape);
    macro_rules! runner {
        ($(clone $t:ident,)? |$x:ident| $body:expr) => {{
            let x = x.clone();
            $(let $t = $t.clone();)?
            Box::new(move || {
                let $x = black_box(&x[..]);
                black_box($body);
            }) as Runner
        }};
    }
    let v_hvp = v.clone();
    SecondOrderCase {
        name: ROSENBROCK_NAME.into(),
        what: format!(
            "Rosenbrock, Σ (1 - xᵢ)² + 100 (xᵢ₊₁ - xᵢ²)², n = {n}: hvp along a fixed \
             direction; dense {n} × {n} Hessians (`rosenbrock_hessian`: {n} products)"
        ),
        grad: runner!(|x| rosenbrock_grad(x)),
        hvp: runner!(|x| rosenbrock_hvp(x, v_hvp.clone())),
        hessian: Some(runner!(|x| rosenbrock_hessian(x))),
        hand: Some(runner!(|x| rosenbrock_hand_hessian(x))),
        peers: vec![
            (COLOURED, Ours::Hessian, runner!(|x| rosenbrock_coloured(x))),
            (
                "echidna hessian",
                Ours::Hessian,
                runner!(clone tape, |x| tape.hessian(x)),
            ),
            (
                "echidna hvp",
                Ours::Hvp,
                runner!(clone tape, |x| tape.hvp(x, &v)),
            ),
            (
                "echidna sparse (3 colours)",
                Ours::Coloured,
                runner!(clone tape, |x| sparse.hessian(&tape, x)),
            ),
            (
                "num-dual hessian",
                Ours::Hessian,
                Box::new(move || {
                    black_box(rosenbrock_num_dual(black_box(&x_dvector)));
                }),
            ),
        ],
        calls_per_run: 1,
    }
}
