//! The benchmark workloads, shared by the criterion benches (`benches/gradients.rs`) and the
//! report (`examples/benchmark_report.rs`), which include this module with `#[path]`.
//!
//! [`cases`] builds every workload with its data and, before returning it, checks the
//! generated gradient against the hand-written one and against each peer (assertions with a
//! tolerance), and ADBench's two unit-test instances against ADBench's expected values. A case
//! holds one closure per contender; one call of a closure is one *run* (for the scalar
//! workloads a run evaluates [`POINTS`] inputs, and times are divided by `calls_per_run`).

#![allow(clippy::needless_range_loop)]

pub mod adbench;
pub mod basic;
pub mod checkpoint;
#[cfg(feature = "nalgebra")]
pub mod kinematics;
pub mod mlp;
pub mod parallel;
pub mod peers;
pub mod second_order;

use adbench::{BaInput, GmmGradient, GmmInput, GmmObjective};
use mlp::MlpInput;
use num_dual::Dual64;
use reverse::Tape;
use std::hint::black_box;
use std::rc::Rc;

/// One contender's run: computes the whole workload once and discards the result through
/// `black_box`.
pub type Runner = Box<dyn FnMut()>;

pub struct Case {
    /// The workload's name in the report and the JSON (`gmm_d10_K25`, ...).
    pub name: String,
    /// What one run computes, for the report.
    pub what: String,
    /// The original function (what `#[differentiate]` emits unchanged).
    pub f: Runner,
    /// The generated gradient (`NAME_grad`, or `NAME_jacobian` for BA).
    pub grad: Runner,
    /// The hand-written gradient.
    pub hand: Runner,
    /// The alternatives, by name: `reverse`, `num-dual`, `finite-diff`.
    pub peers: Vec<(&'static str, Runner)>,
    /// How many function/gradient evaluations one run performs; reported times are per
    /// evaluation.
    pub calls_per_run: usize,
    /// The objective at the workload's data, computed once when the case is built; the report
    /// checks other implementations of the workload (JAX) against it. `None` where there is no
    /// single value: the scalar workloads evaluated at many points, and BA (a residual vector).
    pub value: Option<f64>,
}

/// How many inputs one run of the scalar workloads (J, `fonction_complexe`) evaluates.
pub const POINTS: usize = 1024;

/// Which cases to build: all of them, or only those whose name contains one of the filters.
pub fn cases(filters: &[String]) -> Vec<Case> {
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let mut out = Vec::new();
    if wanted("j") {
        out.push(j_case());
    }
    if wanted("fonction_complexe") {
        out.push(fonction_complexe_case());
    }
    if wanted("residual_sum_n1000") {
        out.push(residual_sum_case(1000));
    }
    if wanted("oscillator_1000_steps") {
        out.push(oscillator_case());
    }
    for (stem, _, _) in adbench::GMM_1K_REFERENCE {
        if wanted(stem) {
            out.push(gmm_case(stem, GmmForm::Formula));
        }
    }
    for form in [GmmForm::Port, GmmForm::Blocked] {
        for (stem, _, _) in adbench::GMM_1K_REFERENCE {
            if wanted(&form.name(stem)) {
                out.push(gmm_case(stem, form));
            }
        }
    }
    for stem in BA_FILES {
        if wanted(stem) {
            out.push(ba_case(stem));
        }
    }
    for n in [100, 1000] {
        if wanted(&format!("rosenbrock_n{n}")) {
            out.push(rosenbrock_case(n));
        }
    }
    if wanted(MLP_NAME) {
        out.push(mlp_case());
    }
    if wanted(MLP_STRUCT_NAME) {
        out.push(mlp_struct_case());
    }
    #[cfg(feature = "nalgebra")]
    if wanted(KINEMATICS_NAME) {
        out.push(kinematics_case());
    }
    out
}

/// Workload 8's name (with the `nalgebra` feature): poses.
pub const KINEMATICS_NAME: &str = "arm_kinematics_p1000";

pub const BA_FILES: [&str; 4] = [
    "ba1_n49_m7776_p31843",
    "ba2_n21_m11315_p36455",
    "ba3_n161_m48126_p182072",
    "ba4_n372_m47423_p204472",
];

/// Workload 6's name: batch, input, hidden width.
pub const MLP_NAME: &str = "mlp_b256_d256_h256";

/// Workload 6 with its parameters in a `Differentiable` struct.
pub const MLP_STRUCT_NAME: &str = "mlp_struct_b256_d256_h256";

// ---- checks ------------------------------------------------------------------------------------

/// Asserts `got ≈ expected` entry by entry: `|g - e| <= rel · (|e| + scale)`, where `scale` is
/// the largest `|e|` for finite differences (whose error is relative to the whole vector) and
/// 1 otherwise.
pub fn assert_close(what: &str, got: &[f64], expected: &[f64], rel: f64, vector_scaled: bool) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths differ");
    let scale = if vector_scaled {
        expected.iter().fold(1.0f64, |m, e| m.max(e.abs()))
    } else {
        1.0
    };
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= rel * (e.abs() + scale),
            "{what}[{i}]: got {g:.15e}, expected {e:.15e} (rel {rel:e})"
        );
    }
}

/// Tolerance of an AD result against the hand-written gradient (rounding only).
pub const AD_TOL: f64 = 1e-9;
/// Tolerance of central differences against it (truncation and cancellation error).
pub const FD_TOL: f64 = 1e-5;

/// ADBench's unit tests (GmmTests.cpp, BaTests.cpp): `gmm/test.txt` and `ba/test.txt`
/// against the expected values, to 1e-8 (the same checks as `tests/adbench.rs`).
pub fn check_adbench_unit_tests() {
    let gmm = GmmInput::read(&adbench::data_dir().join("gmm/test.txt"));
    let (value, grad) = gmm.generated_gradient();
    assert!(
        (value - adbench::GMM_TEST_F).abs() <= 1e-8,
        "gmm/test.txt F = {value}"
    );
    for (i, (g, e)) in grad.iter().zip(&adbench::GMM_TEST_GRADIENT).enumerate() {
        assert!(
            (g - e).abs() <= 1e-8,
            "gmm/test.txt dF[{i}] = {g}, expected {e}"
        );
    }
    let ba = BaInput::read(&adbench::data_dir().join("ba/test.txt"));
    let mut r = vec![0.0; 3 * ba.p];
    ba.residuals(&mut r);
    let mut jac = vec![0.0; 31 * ba.p];
    ba.generated_jacobian(&mut jac);
    for i in 0..ba.p {
        assert!((r[2 * i] - adbench::BA_TEST_REPROJ_ERR[0]).abs() <= 1e-8);
        assert!((r[2 * i + 1] - adbench::BA_TEST_REPROJ_ERR[1]).abs() <= 1e-8);
        assert!((r[2 * ba.p + i] - adbench::BA_TEST_W_ERR).abs() <= 1e-8);
    }
    for (j, e) in adbench::BA_TEST_FIRST_ROW_CAMERA.iter().enumerate() {
        assert!(
            (jac[j] - e).abs() <= 1e-8,
            "ba/test.txt J[0][{j}] = {}, expected {e}",
            jac[j]
        );
    }
}

// ---- 1. J and fonction_complexe ----------------------------------------------------------------

/// Deterministic inputs spread over `[lo, hi]`.
fn points(lo: f64, hi: f64, salt: f64) -> Vec<f64> {
    (0..POINTS)
        .map(|i| lo + (hi - lo) * ((i as f64 * 0.618_033_988_75 + salt).fract()))
        .collect()
}

fn j_case() -> Case {
    use basic::{j, j_grad, j_hand_grad};
    let xs = points(-3.0, 3.0, 0.1);
    let tape = Tape::new();
    // echidna's bytecode tape, recorded once and re-evaluated at each point (J has no branch).
    let (mut j_tape, _) = echidna::record(second_order::j_echidna, &[xs[0]]);
    for &x in &xs {
        let (v, g) = j_grad(x);
        let (hv, hg) = j_hand_grad(x);
        assert_eq!(v, j(x));
        assert_close("j value", &[v], &[hv], AD_TOL, false);
        assert_close("j generated", &[g], &[hg], AD_TOL, false);
        assert_close(
            "j reverse",
            &[peers::j_reverse(&tape, x).1],
            &[hg],
            AD_TOL,
            false,
        );
        assert_close(
            "j num-dual",
            &[peers::j_num_dual(x).1],
            &[hg],
            AD_TOL,
            false,
        );
        assert_close("j finite-diff", &[peers::j_fd(x)], &[hg], FD_TOL, true);
        let eg = echidna::grad(second_order::j_echidna, &[x]);
        assert_close("j echidna grad", &eg, &[hg], AD_TOL, false);
        assert_close(
            "j echidna tape",
            &j_tape.gradient(&[x]),
            &[hg],
            AD_TOL,
            false,
        );
    }
    let xs = Rc::new(xs);
    macro_rules! runner {
        (|$x:ident| $body:expr) => {{
            let xs = xs.clone();
            Box::new(move || {
                for &$x in xs.iter() {
                    let $x = black_box($x);
                    black_box($body);
                }
            }) as Runner
        }};
    }
    Case {
        name: "j".into(),
        what: format!("J(x) = x³ + x² - 6x + 1 at {POINTS} points; per point"),
        f: runner!(|x| j(x)),
        grad: runner!(|x| j_grad(x)),
        hand: runner!(|x| j_hand_grad(x)),
        peers: vec![
            ("reverse", runner!(|x| peers::j_reverse(&tape, x))),
            (
                "echidna grad",
                runner!(|x| echidna::grad(second_order::j_echidna, &[x])),
            ),
            ("echidna tape", runner!(|x| j_tape.gradient(&[x]))),
            ("num-dual", runner!(|x| peers::j_num_dual(x))),
            ("finite-diff", runner!(|x| peers::j_fd(x))),
        ],
        calls_per_run: POINTS,
        value: None,
    }
}

fn fonction_complexe_case() -> Case {
    use basic::{fonction_complexe, fonction_complexe_grad, fonction_complexe_hand_grad};
    // Away from y = 0 and z = 0, where the function is singular.
    let pts: Vec<(f64, f64, f64)> = points(0.5, 8.0, 0.1)
        .into_iter()
        .zip(points(1.0, 6.0, 0.4))
        .zip(points(0.5, 3.0, 0.7))
        .map(|((x, y), z)| (x, y, z))
        .collect();
    let tape = Tape::new();
    let (x0, y0, z0) = pts[0];
    let (mut fc_tape, _) = echidna::record(second_order::fonction_complexe_echidna, &[x0, y0, z0]);
    for &(x, y, z) in &pts {
        let (v, (dx, dy, dz)) = fonction_complexe_grad(x, y, z);
        let (hv, (hx, hy, hz)) = fonction_complexe_hand_grad(x, y, z);
        let hand = [hx, hy, hz];
        assert_eq!(v, fonction_complexe(x, y, z));
        assert_close("fonction_complexe value", &[v], &[hv], AD_TOL, false);
        assert_close(
            "fonction_complexe generated",
            &[dx, dy, dz],
            &hand,
            AD_TOL,
            false,
        );
        // The same function written over `T: Float`, at `f64`: the same bits.
        let generic = basic::fonction_complexe_generic_grad(x, y, z);
        assert_eq!(
            format!("{generic:?}"),
            format!("{:?}", (v, (dx, dy, dz))),
            "the generic fonction_complexe at f64 differs from the f64 one"
        );
        let (_, rg) = peers::fonction_complexe_reverse(&tape, x, y, z);
        assert_close("fonction_complexe reverse", &rg, &hand, AD_TOL, false);
        let (_, ng) = peers::fonction_complexe_num_dual(x, y, z);
        assert_close(
            "fonction_complexe num-dual",
            ng.as_slice(),
            &hand,
            AD_TOL,
            false,
        );
        let fd = peers::fonction_complexe_fd(x, y, z);
        assert_close("fonction_complexe finite-diff", &fd, &hand, FD_TOL, true);
        let eg = echidna::grad(second_order::fonction_complexe_echidna, &[x, y, z]);
        assert_close("fonction_complexe echidna grad", &eg, &hand, AD_TOL, false);
        let tg = fc_tape.gradient(&[x, y, z]);
        assert_close("fonction_complexe echidna tape", &tg, &hand, AD_TOL, false);
    }
    // The published values at (7, 5, 2) (tests/reference_values.rs).
    let (_, (dx, dy, dz)) = fonction_complexe_hand_grad(7.0, 5.0, 2.0);
    assert_close(
        "fonction_complexe hand at (7, 5, 2)",
        &[dx, dy, dz],
        &[-5.66196787253764, -1.74937550466067, 17.0594520169513],
        1e-12,
        false,
    );
    let pts = Rc::new(pts);
    macro_rules! runner {
        ($pts:expr, |$x:ident, $y:ident, $z:ident| $body:expr) => {{
            let pts = $pts.clone();
            Box::new(move || {
                for &($x, $y, $z) in pts.iter() {
                    let ($x, $y, $z) = (black_box($x), black_box($y), black_box($z));
                    black_box($body);
                }
            }) as Runner
        }};
    }
    Case {
        name: "fonction_complexe".into(),
        what: format!("f(x, y, z), 3 inputs, at {POINTS} points; per point"),
        f: runner!(pts, |x, y, z| fonction_complexe(x, y, z)),
        grad: runner!(pts, |x, y, z| fonction_complexe_grad(x, y, z)),
        hand: runner!(pts, |x, y, z| fonction_complexe_hand_grad(x, y, z)),
        peers: vec![
            (
                "generic",
                runner!(pts, |x, y, z| basic::fonction_complexe_generic_grad(
                    x, y, z
                )),
            ),
            (
                "reverse",
                runner!(pts, |x, y, z| peers::fonction_complexe_reverse(
                    &tape, x, y, z
                )),
            ),
            (
                "echidna grad",
                runner!(pts, |x, y, z| echidna::grad(
                    second_order::fonction_complexe_echidna,
                    &[x, y, z]
                )),
            ),
            (
                "echidna tape",
                runner!(pts, |x, y, z| fc_tape.gradient(&[x, y, z])),
            ),
            (
                "num-dual",
                runner!(pts, |x, y, z| peers::fonction_complexe_num_dual(x, y, z)),
            ),
            (
                "finite-diff",
                runner!(pts, |x, y, z| peers::fonction_complexe_fd(x, y, z)),
            ),
        ],
        calls_per_run: POINTS,
        value: None,
    }
}

// ---- 2. Σ (wᵢxᵢ - yᵢ)² + sin xᵢ -----------------------------------------------------------------

fn residual_sum_case(n: usize) -> Case {
    use basic::{residual_sum, residual_sum_grad, residual_sum_hand_grad};
    let w = points(0.5, 1.5, 0.2)[..n].to_vec();
    let x = points(-2.0, 2.0, 0.5)[..n].to_vec();
    let y = points(-1.0, 1.0, 0.9)[..n].to_vec();
    let (v, (dw, dx, dy)) = residual_sum_grad(&w, &x, &y);
    let generic = basic::residual_sum_generic_grad(&w, &x, &y);
    assert_eq!(
        format!("{generic:?}"),
        format!("{:?}", (v, (&dw, &dx, &dy))),
        "the generic residual_sum at f64 differs from the f64 one"
    );
    let (hv, (hw, hx, hy)) = residual_sum_hand_grad(&w, &x, &y);
    assert_eq!(v, residual_sum(&w, &x, &y));
    assert_close("residual_sum value", &[v], &[hv], AD_TOL, false);
    let hand = [hw, hx, hy].concat();
    assert_close(
        "residual_sum generated",
        &[dw, dx, dy].concat(),
        &hand,
        AD_TOL,
        false,
    );
    let tape = Tape::new();
    let (_, rg) = peers::residual_sum_reverse(&tape, &w, &x, &y);
    assert_close("residual_sum reverse", &rg, &hand, AD_TOL, false);
    let duals = |v: &[f64]| v.iter().map(|&a| Dual64::from(a)).collect::<Vec<_>>();
    let mut wxy_dual = [duals(&w), duals(&x), duals(&y)];
    let (_, ng) = peers::residual_sum_num_dual(&mut wxy_dual);
    assert_close("residual_sum num-dual", &ng, &hand, AD_TOL, false);
    let mut flat = [&w[..], &x, &y].concat();
    let fd = peers::residual_sum_fd(&mut flat, n);
    assert_close("residual_sum finite-diff", &fd, &hand, FD_TOL, true);
    let eg = echidna::grad(peers::residual_sum_echidna, &flat);
    assert_close("residual_sum echidna grad", &eg, &hand, AD_TOL, false);
    let (mut recorded, _) = echidna::record(peers::residual_sum_echidna, &flat);
    let tg = recorded.gradient(&flat);
    assert_close("residual_sum echidna tape", &tg, &hand, AD_TOL, false);

    let data = Rc::new((w, x, y));
    let with = |f: fn(&[f64], &[f64], &[f64])| -> Runner {
        let data = data.clone();
        Box::new(move || {
            let (w, x, y) = &*data;
            f(black_box(w), black_box(x), black_box(y));
        })
    };
    Case {
        name: format!("residual_sum_n{n}"),
        what: format!(
            "Σ (wᵢxᵢ - yᵢ)² + sin xᵢ, n = {n}, gradient in all {} inputs",
            3 * n
        ),
        f: with(|w, x, y| {
            black_box(residual_sum(w, x, y));
        }),
        grad: with(|w, x, y| {
            black_box(residual_sum_grad(w, x, y));
        }),
        hand: with(|w, x, y| {
            black_box(residual_sum_hand_grad(w, x, y));
        }),
        peers: vec![
            (
                "generic",
                with(|w, x, y| {
                    black_box(basic::residual_sum_generic_grad(w, x, y));
                }),
            ),
            ("reverse", {
                let data = data.clone();
                Box::new(move || {
                    let (w, x, y) = &*data;
                    black_box(peers::residual_sum_reverse(&tape, black_box(w), x, y));
                })
            }),
            ("echidna grad", {
                let wxy = flat.clone();
                Box::new(move || {
                    black_box(echidna::grad(peers::residual_sum_echidna, black_box(&wxy)));
                })
            }),
            ("echidna tape", {
                let wxy = flat.clone();
                Box::new(move || {
                    black_box(recorded.gradient(black_box(&wxy)));
                })
            }),
            (
                "num-dual",
                Box::new(move || {
                    black_box(peers::residual_sum_num_dual(black_box(&mut wxy_dual)));
                }),
            ),
            (
                "finite-diff",
                Box::new(move || {
                    black_box(peers::residual_sum_fd(black_box(&mut flat), n));
                }),
            ),
        ],
        calls_per_run: 1,
        value: Some(v),
    }
}

// ---- 3. explicit-Euler oscillator --------------------------------------------------------------

fn oscillator_case() -> Case {
    use basic::{oscillator, oscillator_grad, oscillator_hand_grad, OSCILLATOR};
    let (k, c, x0, v0, dt, steps) = OSCILLATOR;
    let (v, (dk, dc)) = oscillator_grad(k, c, x0, v0, dt, steps);
    let (hv, (hk, hc)) = oscillator_hand_grad(k, c, x0, v0, dt, steps);
    assert_eq!(v, oscillator(k, c, x0, v0, dt, steps));
    assert_close("oscillator value", &[v], &[hv], AD_TOL, false);
    assert_close("oscillator generated", &[dk, dc], &[hk, hc], AD_TOL, false);
    let tape = Tape::new();
    let (_, rg) = peers::oscillator_reverse(&tape, k, c, x0, v0, dt, steps);
    assert_close("oscillator reverse", &rg, &[hk, hc], AD_TOL, false);
    let (_, ng) = peers::oscillator_num_dual(k, c, x0, v0, dt, steps);
    assert_close(
        "oscillator num-dual",
        ng.as_slice(),
        &[hk, hc],
        AD_TOL,
        false,
    );
    let fd = peers::oscillator_fd(k, c, x0, v0, dt, steps);
    assert_close("oscillator finite-diff", &fd, &[hk, hc], FD_TOL, true);
    let oscillator_echidna = move |kc: &[_]| peers::oscillator_echidna(kc, x0, v0, dt, steps);
    let eg = echidna::grad(oscillator_echidna, &[k, c]);
    assert_close("oscillator echidna grad", &eg, &[hk, hc], AD_TOL, false);
    let (mut recorded, _) = echidna::record(
        move |kc: &[_]| peers::oscillator_echidna(kc, x0, v0, dt, steps),
        &[k, c],
    );
    let tg = recorded.gradient(&[k, c]);
    assert_close("oscillator echidna tape", &tg, &[hk, hc], AD_TOL, false);
    let (_, (ak, ac)) = basic::oscillator_hand_adjoint(k, c, x0, v0, dt, steps);
    assert_close(
        "oscillator hand-adjoint",
        &[ak, ac],
        &[hk, hc],
        AD_TOL,
        false,
    );

    macro_rules! runner {
        (|$k:ident, $c:ident| $body:expr) => {
            Box::new(move || {
                let ($k, $c) = (black_box(k), black_box(c));
                black_box($body);
            }) as Runner
        };
    }
    Case {
        name: format!("oscillator_{steps}_steps"),
        what: format!("damped oscillator, {steps} explicit-Euler steps, gradient in (k, c)"),
        f: runner!(|k, c| oscillator(k, c, x0, v0, dt, steps)),
        grad: runner!(|k, c| oscillator_grad(k, c, x0, v0, dt, steps)),
        hand: runner!(|k, c| oscillator_hand_grad(k, c, x0, v0, dt, steps)),
        peers: vec![
            (
                "reverse",
                runner!(|k, c| peers::oscillator_reverse(&tape, k, c, x0, v0, dt, steps)),
            ),
            (
                "echidna grad",
                runner!(|k, c| echidna::grad(oscillator_echidna, &[k, c])),
            ),
            ("echidna tape", runner!(|k, c| recorded.gradient(&[k, c]))),
            (
                "num-dual",
                runner!(|k, c| peers::oscillator_num_dual(k, c, x0, v0, dt, steps)),
            ),
            (
                "finite-diff",
                runner!(|k, c| peers::oscillator_fd(k, c, x0, v0, dt, steps)),
            ),
            (
                "hand-adjoint",
                runner!(|k, c| basic::oscillator_hand_adjoint(k, c, x0, v0, dt, steps)),
            ),
        ],
        calls_per_run: 1,
        value: Some(v),
    }
}

// ---- 4. ADBench GMM ----------------------------------------------------------------------------

/// Which of the two GMM objectives a case times.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum GmmForm {
    /// `gmm_objective`: `exp(q_k)` per point as the formula reads (the `hoist` stage's test).
    Formula,
    /// `gmm_objective_port`: ADBench's C++ ported, `exp(q_k)` once per component.
    Port,
    /// `gmm_objective_blocked`: the points innermost, as JAX computes it.
    Blocked,
}

impl GmmForm {
    /// The case's name for an ADBench file stem (`gmm_d2_K5` → `gmm_port_d2_K5`).
    pub fn name(self, stem: &str) -> String {
        match self {
            GmmForm::Formula => stem.to_string(),
            GmmForm::Port => stem.replacen("gmm_", "gmm_port_", 1),
            GmmForm::Blocked => stem.replacen("gmm_", "gmm_blocked_", 1),
        }
    }
}

fn gmm_case(stem: &str, form: GmmForm) -> Case {
    // Each form's own functions, called directly (no function pointers).
    match form {
        GmmForm::Formula => gmm_form_case(
            stem,
            form,
            adbench::gmm_objective,
            adbench::gmm_objective_grad,
        ),
        GmmForm::Port => gmm_form_case(
            stem,
            form,
            adbench::gmm_objective_port,
            adbench::gmm_objective_port_grad,
        ),
        GmmForm::Blocked => gmm_form_case(
            stem,
            form,
            adbench::gmm_objective_blocked,
            adbench::gmm_objective_blocked_grad,
        ),
    }
}

fn gmm_form_case(
    stem: &str,
    form: GmmForm,
    objective: impl GmmObjective + Copy + 'static,
    gradient: impl GmmGradient + Copy + 'static,
) -> Case {
    let input = GmmInput::read(&adbench::data_dir().join(format!("gmm/1k/{stem}.txt")));
    let (value, grad) = input.gradient_by(gradient);
    let (hand_value, hand) = input.hand_gradient();
    assert_eq!(value, input.objective_by(objective));
    assert_close(
        &format!("{stem} value"),
        &[value],
        &[hand_value],
        AD_TOL,
        false,
    );
    assert_close(&format!("{stem} generated"), &grad, &hand, AD_TOL, false);
    let (_, f_ref, norm_ref) = adbench::GMM_1K_REFERENCE
        .into_iter()
        .find(|r| r.0 == stem)
        .unwrap();
    assert!(
        (value - f_ref).abs() <= 1e-10 * f_ref.abs(),
        "{stem}: F = {value}"
    );
    let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
    assert!(
        (norm - norm_ref).abs() <= 1e-10 * norm_ref,
        "{stem}: |grad| = {norm}"
    );
    let tape = Tape::new();
    let (_, rg) = peers::gmm_reverse(&tape, &input);
    assert_close(&format!("{stem} reverse"), &rg, &hand, AD_TOL, false);
    let duals = |v: &[f64]| v.iter().map(|&a| Dual64::from(a)).collect::<Vec<_>>();
    let mut dual_params = [duals(&input.alphas), duals(&input.means), duals(&input.icf)];
    let mut flat = input.flat_parameters();
    // Forward mode and finite differences cost P (resp. 2P) objective evaluations; check them
    // on the smaller instances only, where that takes well under a second.
    if input.parameter_count() <= 400 {
        let (_, ng) = peers::gmm_num_dual(&input, &mut dual_params);
        assert_close(&format!("{stem} num-dual"), &ng, &hand, AD_TOL, false);
        let fd = peers::gmm_fd(&input, &mut flat);
        assert_close(&format!("{stem} finite-diff"), &fd, &hand, FD_TOL, true);
    }

    let eg = echidna::grad(|p: &[_]| peers::gmm_echidna(&input, p), &flat);
    assert_close(&format!("{stem} echidna grad"), &eg, &hand, AD_TOL, false);
    let (mut recorded, _) = echidna::record(|p: &[_]| peers::gmm_echidna(&input, p), &flat);
    let tg = recorded.gradient(&flat);
    assert_close(&format!("{stem} echidna tape"), &tg, &hand, AD_TOL, false);

    let input = Rc::new(input);
    let constant = input.constant();
    macro_rules! runner {
        (|$i:ident| $body:expr) => {{
            let input = input.clone();
            Box::new(move || {
                let $i = black_box(&*input);
                black_box($body);
            }) as Runner
        }};
    }
    Case {
        name: form.name(stem),
        what: format!(
            "GMM objective{}, D = {}, K = {}, N = {}, gradient in all {} parameters",
            match form {
                GmmForm::Formula => "",
                GmmForm::Port => " ported from ADBench's C++",
                GmmForm::Blocked => " with the points innermost (batched, as in JAX)",
            },
            input.d,
            input.k,
            input.n,
            input.parameter_count()
        ),
        f: runner!(|i| objective(
            i.d,
            i.k,
            i.n,
            &i.alphas,
            &i.means,
            &i.icf,
            &i.x,
            i.wishart_gamma,
            i.wishart_m,
            constant
        )),
        grad: runner!(|i| gradient(
            i.d,
            i.k,
            i.n,
            &i.alphas,
            &i.means,
            &i.icf,
            &i.x,
            i.wishart_gamma,
            i.wishart_m,
            constant
        )),
        hand: runner!(|i| adbench::gmm_objective_hand_grad(
            i.d,
            i.k,
            i.n,
            &i.alphas,
            &i.means,
            &i.icf,
            &i.x,
            i.wishart_gamma,
            i.wishart_m,
            constant
        )),
        peers: vec![
            ("reverse", runner!(|i| peers::gmm_reverse(&tape, i))),
            ("echidna grad", {
                let params = flat.clone();
                runner!(|i| echidna::grad(|p: &[_]| peers::gmm_echidna(i, p), &params))
            }),
            ("echidna tape", {
                let params = flat.clone();
                runner!(|_i| recorded.gradient(&params))
            }),
            (
                "num-dual",
                runner!(|i| peers::gmm_num_dual(i, &mut dual_params)),
            ),
            ("finite-diff", runner!(|i| peers::gmm_fd(i, &mut flat))),
        ],
        calls_per_run: 1,
        value: Some(value),
    }
}

// ---- 7. Rosenbrock ------------------------------------------------------------------------------

fn rosenbrock_case(n: usize) -> Case {
    use second_order::{rosenbrock, rosenbrock_echidna, rosenbrock_grad, rosenbrock_hand_grad};
    let x = second_order::points(-1.5, 1.5, 0.3, n);
    let (value, grad) = rosenbrock_grad(&x);
    let (hand_value, hand) = rosenbrock_hand_grad(&x);
    assert_eq!(value, rosenbrock(&x));
    assert_close("rosenbrock value", &[value], &[hand_value], AD_TOL, false);
    assert_close("rosenbrock generated", &grad, &hand, AD_TOL, false);
    let tape = Tape::new();
    let (_, rg) = peers::rosenbrock_reverse(&tape, &x);
    assert_close("rosenbrock reverse", &rg, &hand, AD_TOL, false);
    let mut duals: Vec<Dual64> = x.iter().map(|&a| Dual64::from(a)).collect();
    let (_, ng) = peers::rosenbrock_num_dual(&mut duals);
    assert_close("rosenbrock num-dual", &ng, &hand, AD_TOL, false);
    let mut flat = x.clone();
    let fd = peers::gradient_fd(rosenbrock, &mut flat);
    assert_close("rosenbrock finite-diff", &fd, &hand, FD_TOL, true);
    let eg = echidna::grad(rosenbrock_echidna, &x);
    assert_close("rosenbrock echidna grad", &eg, &hand, AD_TOL, false);
    let (mut recorded, _) = echidna::record(rosenbrock_echidna, &x);
    assert_close(
        "rosenbrock echidna tape",
        &recorded.gradient(&x),
        &hand,
        AD_TOL,
        false,
    );

    let x = Rc::new(x);
    macro_rules! runner {
        (|$x:ident| $body:expr) => {{
            let x = x.clone();
            Box::new(move || {
                let $x: &[f64] = black_box(&x);
                black_box($body);
            }) as Runner
        }};
    }
    Case {
        name: format!("rosenbrock_n{n}"),
        what: format!(
            "Σ (1 - xᵢ)² + 100 (xᵢ₊₁ - xᵢ²)², n = {n}, gradient in all {n} inputs; the hand-written gradient scatters `g[i] += ..; g[i + 1] += ..`"
        ),
        f: runner!(|x| rosenbrock(x)),
        grad: runner!(|x| rosenbrock_grad(x)),
        hand: runner!(|x| rosenbrock_hand_grad(x)),
        peers: vec![
            ("reverse", runner!(|x| peers::rosenbrock_reverse(&tape, x))),
            (
                "echidna grad",
                runner!(|x| echidna::grad(rosenbrock_echidna, x)),
            ),
            ("echidna tape", runner!(|x| recorded.gradient(x))),
            ("num-dual", runner!(|_x| peers::rosenbrock_num_dual(&mut duals))),
            ("finite-diff", runner!(|_x| peers::gradient_fd(rosenbrock, &mut flat))),
        ],
        value: Some(value),
        calls_per_run: 1,
    }
}

// ---- 5. ADBench bundle adjustment --------------------------------------------------------------

fn ba_case(stem: &str) -> Case {
    let input = BaInput::read(&adbench::data_dir().join(format!("ba/{stem}.txt")));
    let p = input.p;
    let mut r = vec![0.0; 3 * p];
    input.residuals(&mut r);
    for (e, expected) in r[..2].iter().zip(adbench::BA_FILES_REPROJ_ERR) {
        assert!(
            (e - expected).abs() <= 1e-8,
            "{stem}: residual {e}, README {expected}"
        );
    }
    assert!((r[2 * p] - adbench::BA_FILES_W_ERR).abs() <= 1e-8);
    let mut generated = vec![0.0; 31 * p];
    let mut hand = vec![0.0; 31 * p];
    let mut other = vec![0.0; 31 * p];
    input.generated_jacobian(&mut generated);
    input.hand_jacobian(&mut hand);
    assert_close(
        &format!("{stem} generated"),
        &generated,
        &hand,
        AD_TOL,
        false,
    );
    // The peers on the first 1000 observations (all observations hold the same values).
    let small = BaInput {
        p: 1000,
        obs: input.obs[..1000].to_vec(),
        weights: input.weights[..1000].to_vec(),
        features: input.features[..1000].to_vec(),
        ..input.clone()
    };
    let tape = Tape::new();
    let hand_small = [&hand[..30_000], &hand[30 * p..30 * p + 1000]].concat();
    other.truncate(31_000);
    peers::ba_reverse(&tape, &small, &mut other);
    assert_close(
        &format!("{stem} reverse"),
        &other,
        &hand_small,
        AD_TOL,
        false,
    );
    peers::ba_num_dual(&small, &mut other);
    assert_close(
        &format!("{stem} num-dual"),
        &other,
        &hand_small,
        AD_TOL,
        false,
    );
    peers::ba_fd(&small, &mut other);
    for i in 0..1000 {
        assert_close(
            &format!("{stem} finite-diff, observation {i}"),
            &other[30 * i..30 * i + 30],
            &hand_small[30 * i..30 * i + 30],
            FD_TOL,
            true,
        );
    }

    let input = Rc::new(input);
    macro_rules! runner {
        (|$i:ident, $out:ident| $body:expr) => {{
            let input = input.clone();
            let mut buffer = vec![0.0; 31 * p];
            Box::new(move || {
                let ($i, $out) = (black_box(&*input), &mut buffer);
                $body;
                black_box($out);
            }) as Runner
        }};
    }
    Case {
        name: stem.to_string(),
        what: format!(
            "BA, n = {}, m = {}, p = {}: all 3p residuals (f) / the Jacobian's 31p non-zeros",
            input.n, input.m, p
        ),
        f: runner!(|i, out| i.residuals(&mut out[..3 * p])),
        grad: runner!(|i, out| i.generated_jacobian(out)),
        hand: runner!(|i, out| i.hand_jacobian(out)),
        peers: vec![
            (
                "reverse",
                runner!(|i, out| peers::ba_reverse(&tape, i, out)),
            ),
            ("num-dual", runner!(|i, out| peers::ba_num_dual(i, out))),
            ("finite-diff", runner!(|i, out| peers::ba_fd(i, out))),
        ],
        calls_per_run: 1,
        value: None,
    }
}

// ---- 6. two-layer perceptron over tensors ------------------------------------------------------

fn mlp_case() -> Case {
    use mlp::{mlp_loss, mlp_loss_grad, mlp_loss_hand_grad};
    let input = MlpInput::new();
    let (value, grad) = input.generated_gradient();
    let (hand_value, hand) = input.hand_gradient();
    assert_eq!(value, input.loss());
    assert_close("mlp value", &[value], &[hand_value], AD_TOL, false);
    assert_close("mlp generated", &grad, &hand, AD_TOL, false);
    // The hand-written gradient against central differences of the original function, on a
    // few entries of each parameter tensor (w1, b1, w2, b2 flattened in that order).
    let (w1, b1, w2) = (input.w1.len(), input.b1.len(), input.w2.len());
    let entries = [
        0,
        1,
        w1 / 2 + 17,
        w1 - 1,
        w1,
        w1 + b1 / 3,
        w1 + b1 - 1,
        w1 + b1,
        w1 + b1 + w2 / 2 + 3,
        w1 + b1 + w2 - 1,
        w1 + b1 + w2,
        w1 + b1 + w2 + 7,
    ];
    let fd = input.finite_differences(&entries);
    let picked: Vec<f64> = entries.iter().map(|&e| hand[e]).collect();
    assert_close("mlp finite-diff", &fd, &picked, FD_TOL, true);

    let input = Rc::new(input);
    macro_rules! runner {
        ($f:ident) => {{
            let input = input.clone();
            Box::new(move || {
                let i = black_box(&*input);
                black_box($f(&i.w1, &i.b1, &i.w2, &i.b2, &i.x, &i.onehot));
            }) as Runner
        }};
    }
    Case {
        name: MLP_NAME.into(),
        what: format!(
            "two-layer perceptron, tanh(X·W1 + b1)·W2 + b2, softmax cross-entropy; batch {}, \
             input {}, hidden {}, {} classes; gradient in all {} parameters (W1, b1, W2, b2)",
            mlp::BATCH,
            mlp::INPUT,
            mlp::HIDDEN,
            mlp::CLASSES,
            input.parameter_count()
        ),
        f: runner!(mlp_loss),
        grad: runner!(mlp_loss_grad),
        hand: runner!(mlp_loss_hand_grad),
        // The `reverse` and `num-dual` crates work on scalars and have no tensor type; finite
        // differences would take 2 × 68,362 loss evaluations. No peers for this workload.
        peers: Vec::new(),
        calls_per_run: 1,
        value: Some(value),
    }
}

/// Workload 6 with the parameters in a struct (issue 15): the generated struct gradient
/// against the hand-written one, and, as the peer, the generated gradient of the same loss
/// over four tensor parameters.
fn mlp_struct_case() -> Case {
    use mlp::{
        mlp_loss_grad, mlp_struct_loss, mlp_struct_loss_grad, mlp_struct_loss_hand_grad, MlpParams,
    };
    let input = MlpInput::new();
    let params = MlpParams {
        w1: input.w1.clone(),
        b1: input.b1.clone(),
        w2: input.w2.clone(),
        b2: input.b2.clone(),
    };
    let (value, g) = mlp_struct_loss_grad(&params, &input.x, &input.onehot);
    let (tensors_value, tensors) = input.generated_gradient();
    assert_eq!(value, tensors_value);
    let struct_flat = mlp::flatten((g.w1, g.b1, g.w2, g.b2));
    assert_eq!(
        struct_flat, tensors,
        "the struct gradient is the tensors' gradient"
    );
    let (hand_value, hand) = mlp_struct_loss_hand_grad(&params, &input.x, &input.onehot);
    assert_close("mlp struct value", &[value], &[hand_value], AD_TOL, false);
    assert_close(
        "mlp struct hand",
        &struct_flat,
        &mlp::flatten((hand.w1, hand.b1, hand.w2, hand.b2)),
        AD_TOL,
        false,
    );

    let shared = Rc::new((params, input));
    macro_rules! runner {
        ($f:ident) => {{
            let shared = shared.clone();
            Box::new(move || {
                let (p, i) = black_box(&*shared);
                black_box($f(p, &i.x, &i.onehot));
            }) as Runner
        }};
    }
    let tensors_peer = {
        let shared = shared.clone();
        Box::new(move || {
            let (p, i) = black_box(&*shared);
            black_box(mlp_loss_grad(&p.w1, &p.b1, &p.w2, &p.b2, &i.x, &i.onehot));
        }) as Runner
    };
    Case {
        name: MLP_STRUCT_NAME.into(),
        what:
            "workload 6 with W1, b1, W2, b2 in a `Differentiable` struct; gradient an `MlpParams`"
                .into(),
        f: runner!(mlp_struct_loss),
        grad: runner!(mlp_struct_loss_grad),
        hand: runner!(mlp_struct_loss_hand_grad),
        peers: vec![("four tensor parameters", tensors_peer)],
        calls_per_run: 1,
        value: Some(value),
    }
}

// ---- 8. rigid-body kinematics (nalgebra) -------------------------------------------------------

#[cfg(feature = "nalgebra")]
fn kinematics_case() -> Case {
    use kinematics::{arm_error_fd, arm_error_hand_grad, flatten, ArmInput};
    let input = ArmInput::new(1000);
    let p = input.guess.clone();
    let (value, g) = input.generated_grad(&p);
    assert_eq!(value, input.value(&p));
    let (hand_value, hand) = arm_error_hand_grad(&p, &input.mount, &input.angles, &input.targets);
    assert_close("arm value", &[value], &[hand_value], AD_TOL, false);
    assert_close(
        "arm generated",
        &flatten(&g),
        &flatten(&hand),
        AD_TOL,
        false,
    );
    let fd = arm_error_fd(&input, &p);
    assert_close("arm finite-diff", &fd, &flatten(&hand), FD_TOL, true);

    let shared = Rc::new(input);
    macro_rules! runner {
        (|$i:ident| $body:expr) => {{
            let shared = shared.clone();
            Box::new(move || {
                let $i = black_box(&*shared);
                black_box($body);
            }) as Runner
        }};
    }
    Case {
        name: KINEMATICS_NAME.into(),
        what: "arm calibration over 1000 poses: Matrix3 rotations from angles, a UnitQuaternion mount, Vector3 links; gradient in 15 parameters".into(),
        f: runner!(|i| i.value(&i.guess)),
        grad: runner!(|i| i.generated_grad(&i.guess)),
        hand: runner!(|i| arm_error_hand_grad(&i.guess, &i.mount, &i.angles, &i.targets)),
        peers: vec![("finite-diff", runner!(|i| arm_error_fd(i, &i.guess)))],
        calls_per_run: 1,
        value: Some(value),
    }
}
