//! ADBench's GMM objective and bundle-adjustment residual, written as `#[differentiate]`
//! functions (in `benches/workloads/adbench.rs`, which the benchmarks time), checked against
//! ADBench's unit-test values (`GmmTests.cpp`, `BaTests.cpp`, tolerance 1e-8) and against the
//! reference values in `benches/data/adbench/README.txt`, beside the data it reads.

#[allow(dead_code)]
#[path = "../benches/workloads/adbench.rs"]
mod adbench;

use adbench::*;

fn assert_near(name: &str, got: f64, expected: f64, tol: f64) {
    assert!(
        (got - expected).abs() <= tol,
        "{name}: got {got:.17e}, expected {expected:.17e} (tolerance {tol:e})"
    );
}

#[test]
fn gmm_test_instance_matches_adbench() {
    let input = GmmInput::read(&data_dir().join("gmm/test.txt"));
    assert_eq!((input.d, input.k, input.n), (2, 3, 1));
    assert_near("F", input.objective(), GMM_TEST_F, 1e-8);
    let (value, grad) = input.generated_gradient();
    assert_eq!(
        value,
        input.objective(),
        "the value from _grad is the original's"
    );
    assert_eq!(grad.len(), GMM_TEST_GRADIENT.len());
    for (i, (&g, &e)) in grad.iter().zip(&GMM_TEST_GRADIENT).enumerate() {
        assert_near(&format!("dF[{i}]"), g, e, 1e-8);
    }
    let (hand_value, hand) = input.hand_gradient();
    assert_near("hand F", hand_value, GMM_TEST_F, 1e-8);
    for (i, (&g, &e)) in hand.iter().zip(&GMM_TEST_GRADIENT).enumerate() {
        assert_near(&format!("hand dF[{i}]"), g, e, 1e-8);
    }
}

#[test]
fn gmm_1k_instances_match_the_reference_values() {
    for (stem, f_ref, norm_ref) in GMM_1K_REFERENCE {
        let input = GmmInput::read(&data_dir().join(format!("gmm/1k/{stem}.txt")));
        assert_eq!(input.n, 1000);
        let (value, grad) = input.generated_gradient();
        assert_eq!(grad.len(), input.parameter_count());
        // F is given to 16 digits, |grad| to 13.
        assert!(
            (value - f_ref).abs() <= 1e-10 * f_ref.abs(),
            "{stem}: F = {value:.16e}, reference {f_ref:.16e}"
        );
        let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        assert!(
            (norm - norm_ref).abs() <= 1e-10 * norm_ref,
            "{stem}: |grad| = {norm:.13e}, reference {norm_ref:.13e}"
        );
        let (_, hand) = input.hand_gradient();
        for (i, (g, h)) in grad.iter().zip(&hand).enumerate() {
            assert!(
                (g - h).abs() <= 1e-9 * (1.0 + h.abs()),
                "{stem}: generated dF[{i}] = {g}, hand-written {h}"
            );
        }
    }
}

#[test]
fn ba_test_instance_matches_adbench() {
    let input = BaInput::read(&data_dir().join("ba/test.txt"));
    assert_eq!((input.n, input.m, input.p), (2, 10, 10));
    let mut residuals = vec![0.0; 3 * input.p];
    input.residuals(&mut residuals);
    for i in 0..input.p {
        assert_near(
            "reproj_err 0",
            residuals[2 * i],
            BA_TEST_REPROJ_ERR[0],
            1e-8,
        );
        assert_near(
            "reproj_err 1",
            residuals[2 * i + 1],
            BA_TEST_REPROJ_ERR[1],
            1e-8,
        );
        assert_near("w_err", residuals[2 * input.p + i], BA_TEST_W_ERR, 1e-8);
    }
    let mut jacobian = vec![0.0; 31 * input.p];
    input.generated_jacobian(&mut jacobian);
    for (j, &e) in BA_TEST_FIRST_ROW_CAMERA.iter().enumerate() {
        assert_near(&format!("J[0][{j}]"), jacobian[j], e, 1e-8);
    }
    let mut hand = vec![0.0; 31 * input.p];
    input.hand_jacobian(&mut hand);
    for (j, (g, h)) in jacobian.iter().zip(&hand).enumerate() {
        assert!(
            (g - h).abs() <= 1e-10 * (1.0 + h.abs()),
            "J entry {j}: generated {g}, hand-written {h}"
        );
    }
}

#[test]
fn ba_files_match_the_reference_residuals() {
    for name in [
        "ba1_n49_m7776_p31843",
        "ba2_n21_m11315_p36455",
        "ba3_n161_m48126_p182072",
        "ba4_n372_m47423_p204472",
    ] {
        let input = BaInput::read(&data_dir().join(format!("ba/{name}.txt")));
        let (c, pt) = input.obs[input.p - 1];
        let (e0, e1) = ba_reprojection(
            &input.cams[c],
            &input.points[pt],
            input.weights[0],
            &input.features[0],
        );
        // The README gives these to 8 significant digits.
        assert_near(name, e0, BA_FILES_REPROJ_ERR[0], 1e-8);
        assert_near(name, e1, BA_FILES_REPROJ_ERR[1], 1e-8);
        assert_near(
            name,
            ba_weight_error(input.weights[0]),
            BA_FILES_W_ERR,
            1e-8,
        );
    }
}
