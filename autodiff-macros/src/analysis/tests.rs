//! Each analysis runs once per function transformed, whatever the function asks of the
//! sweeps: an `f64` function's expansion transforms the function and its second-order twin.

use std::collections::BTreeMap;

/// How often each analysis runs while `source` is expanded with `attr`.
fn runs(attr: &str, source: &str) -> BTreeMap<&'static str, usize> {
    super::take_runs();
    let out = crate::expand::expand(attr.parse().unwrap(), source.parse().unwrap()).to_string();
    assert!(
        !out.contains("compile_error"),
        "{source} expands with errors: {out}"
    );
    super::take_runs()
}

fn assert_once(attr: &str, source: &str) {
    let runs = runs(attr, source);
    let expected = [
        "activity",
        "aggregates",
        "borrowed",
        "fusion",
        "increments",
        "kinds",
        "partners",
    ];
    assert_eq!(
        runs.keys().copied().collect::<Vec<_>>(),
        expected,
        "analyses run for {source}"
    );
    for (name, count) in runs {
        assert_eq!(
            count, 2,
            "`{name}` ran {count} times for {source} and its twin"
        );
    }
}

#[test]
fn straight_line_code_with_a_jacobian_in_lanes() {
    assert_once(
        "",
        "fn polar(x: f64, y: f64) -> (f64, f64) { ((x * x + y * y).sqrt(), y.atan2(x)) }",
    );
}

#[test]
fn a_loop_with_forward_mode_grad() {
    assert_once(
        "",
        "fn osc(k: f64, c: f64, n: usize) -> f64 {
            let (mut x, mut v) = (1.0, 0.0);
            for _ in 0..n { let a = -k * x - c * v; x += 0.01 * v; v += 0.01 * a; }
            x
        }",
    );
}

#[test]
fn a_hoisted_and_fused_loop_over_arrays() {
    assert_once(
        "",
        "fn gmm(q: &[f64], x: &[f64]) -> f64 {
            let mut s = 0.0;
            for i in 0..x.len() {
                for k in 0..q.len() { s += q[k].exp() * x[i]; }
            }
            s
        }",
    );
}

#[test]
fn branches_calls_and_a_tuple_result() {
    assert_once(
        "",
        "fn f(x: f64, y: f64) -> [f64; 2] {
            let r = if x > 0.0 { x.sin() * y } else { y.cos() };
            let (a, b) = polar(r, x);
            [a + b, a * b]
        }",
    );
}
