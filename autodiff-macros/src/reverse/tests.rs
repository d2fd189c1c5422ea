//! What taped loops keep (`TapePlan`), read from their descriptions.

use crate::errors::Errors;
use crate::{analysis, lower};

/// The tape plan of every taped loop of `source`, described, in source order.
fn notes(source: &str) -> Vec<String> {
    let (mut ir, sig, active) = lower::lower_source("", source);
    crate::loads::optimise(&mut ir);
    let values = analysis::values(&ir, &active, &mut Errors::default());
    let (facts, strategy) = analysis::facts(&ir, values, &sig);
    let runtime = quote::quote!(::differentiate::runtime);
    super::pullback_body(
        &ir,
        &facts,
        &strategy,
        &active,
        &runtime,
        super::Form::Pullback,
    )
    .loop_notes
}

#[test]
fn a_product_records_its_factors_and_recomputes_loads() {
    let notes = notes(
        "fn f(x: &[f64]) -> f64 {
            let mut p: f64 = 1.0;
            for i in 0..x.len() { p = p * x[i].sin(); }
            p
        }",
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0];
    assert!(note.starts_with("`for i_"), "{note}");
    // `p` (the header) and `sin x[i]` (a transcendental) are recorded; `x[i]` is loaded again.
    assert!(
        note.contains("records `p_") && note.contains("(16 bytes)"),
        "{note}"
    );
    assert!(note.contains("recomputes `elem_"), "{note}");
    assert!(note.ends_with("backwards"), "replays the index: {note}");
}

#[test]
fn a_while_loop_keeps_its_trip_count() {
    let notes = notes(
        "fn f(x: f64) -> f64 {
            let mut y = x;
            while y.abs() < 1000.0 { y = 2.0 * y; }
            y
        }",
    );
    assert_eq!(
        notes,
        ["`while`: records nothing per iteration; keeps its trip count"]
    );
}

#[test]
fn a_counter_runs_backwards_instead_of_being_recorded() {
    let notes = notes(
        "fn f(x: &[f64], n: usize) -> f64 {
            let mut s = 1.0;
            let mut k = 0;
            while k < n { s = s * x[k]; k += 1; }
            s
        }",
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("runs `k_"), "{}", notes[0]);
    assert!(!notes[0].contains("records `k_"), "{}", notes[0]);
}

#[test]
fn sums_are_fused_and_keep_no_tape() {
    let notes = notes(
        "fn f(x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { s += x[i] * x[i]; } s }",
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn an_adjoint_loop_indexes_rows_at_an_offset() {
    let notes = notes(
        "fn f(l: &[f64], x: &[f64], d: usize, n: usize) -> f64 {
            let mut y = vec![0.0; d * n];
            let mut li = 0;
            for c in 0..d {
                for r in c..d {
                    let factor = l[li];
                    for i in 0..n { y[r * n + i] += factor * x[c * n + i]; }
                    li += 1;
                }
            }
            let mut total = 1.0;
            for i in 0..d * n { total = total * y[i]; }
            total
        }",
    );
    // The innermost loop reads `x` and `y`'s adjoint at `c * n + i`, `r * n + i`; the last
    // reads `y` at `i`.
    let rows: Vec<&String> = notes
        .iter()
        .filter(|n| n.contains("through rows"))
        .collect();
    assert!(
        rows.iter()
            .any(|n| n.contains("indexes `x`, `y` (or adjoints) through rows")),
        "{notes:?}"
    );
    assert!(
        rows.iter()
            .any(|n| n.contains("indexes `y` (or adjoints) through rows")),
        "{notes:?}"
    );
    // `factor`'s adjoint, a sum over the points, is added in partial sums.
    assert!(
        notes
            .iter()
            .any(|n| n.contains("sums the adjoints of `factor_8` in 4 partial sums")),
        "{notes:?}"
    );
}

#[test]
fn elements_read_behind_a_branch_take_no_row() {
    let notes = notes(
        "fn f(x: &[f64], n: usize) -> f64 {
            let mut p = 1.0;
            for i in 0..n { if i < x.len() { p = p * x[i]; } }
            p
        }",
    );
    assert!(notes.iter().all(|n| !n.contains("rows")), "{notes:?}");
}
