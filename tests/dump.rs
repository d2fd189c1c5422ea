//! `#[differentiate(dump)]`: `NAME_dump()` returns the generated code as text, with comments
//! marking the sweeps, each binding's adjoint and what each loop keeps, and the derivative
//! itself is unchanged by asking for it.

use differentiate::differentiate;

#[differentiate(dump)]
fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}

#[differentiate(dump, wrt(k))]
fn decay(k: f64, x0: f64, steps: usize) -> f64 {
    let mut x = x0;
    for _ in 0..steps {
        x = x - 0.1 * k * x.sin();
    }
    x
}

#[test]
fn the_dump_shows_both_sweeps_with_landmarks() {
    let code = j_dump();
    let forward = code.find("// forward sweep").expect(code);
    let reverse = code.find("// reverse sweep").expect(code);
    assert!(forward < reverse, "{code}");
    assert!(
        code.contains("// adjoint of `let prod_4 = 6.0 * x_0;`"),
        "{code}"
    );
    assert!(code.contains("fn j_grad(x: f64) -> (f64, f64)"), "{code}");
    assert!(code.contains("rules::powi_x(seed, x_0, 3)"), "{code}");
    assert!(!code.contains("landmark!"), "{code}");
}

#[test]
fn the_dump_says_what_a_loop_keeps() {
    let code = decay_dump();
    assert!(code.contains("// a loop: records `x_"), "{code}");
    assert!(code.contains("// the loop's adjoint"), "{code}");
}

#[test]
fn asking_for_the_dump_changes_no_derivative() {
    // J'(2) = 10, as without `dump`.
    assert_eq!(j_grad(2.0), (1.0, 10.0));
    let (value, slope) = decay_grad(0.5, 1.0, 3);
    let h = 1e-6;
    let fd = (decay(0.5 + h, 1.0, 3) - decay(0.5 - h, 1.0, 3)) / (2.0 * h);
    assert_eq!(value, decay(0.5, 1.0, 3));
    assert!((slope - fd).abs() < 1e-8, "{slope} vs {fd}");
}
