//! Which values the hoisting stage moves and which it leaves, on lowered functions.
use super::*;
use crate::errors::Errors;
use crate::{analysis, lower};

/// How many transcendental calls each top-level loop of `source` keeps after hoisting.
fn calls_per_loop(source: &str) -> Vec<usize> {
    calls_per_loop_with("", source)
}

fn calls_per_loop_with(attr: &str, source: &str) -> Vec<usize> {
    per_loop(
        &optimised(attr, source),
        &|stmt| matches!(stmt, Stmt::Let { rhs: Rhs::Prim { prim, .. }, .. } if !CHEAP.contains(&prim.name)),
    )
}

/// How many loops each top-level loop of `source` holds after hoisting.
fn inner_loops_per_loop(source: &str) -> Vec<usize> {
    per_loop(&optimised("", source), &|stmt| {
        matches!(stmt, Stmt::Loop(_))
    })
}

fn optimised(attr: &str, source: &str) -> FnIr {
    let (mut ir, _, active) = lower::lower_source(attr, source);
    crate::loads::optimise(&mut ir);
    let mut errors = Errors::default();
    let mut values = analysis::values(&ir, &active, &mut errors);
    optimise(&mut ir, &values);
    // The facts carried over the rewrite are those the analysis finds on its result.
    values.catch_up(&ir);
    let fresh = analysis::values(&ir, &active, &mut errors);
    assert_eq!(values.kinds, fresh.kinds, "kinds after hoisting {source}");
    assert_eq!(
        values.activity.active_arrays, fresh.activity.active_arrays,
        "active arrays after hoisting {source}"
    );
    // Over the variables the function still defines (hoisting drops some from the loop).
    let mut defined = std::collections::BTreeSet::new();
    ir.body.defs(&mut defined);
    let differ: Vec<String> = defined
        .into_iter()
        .filter(|v| values.activity.active[*v] != fresh.activity.active[*v])
        .map(|v| format!("{}#{v}: {}", ir.vars[v].hint, values.activity.active[v]))
        .collect();
    assert!(
        differ.is_empty(),
        "activity after hoisting {source} differs at {differ:?}"
    );
    ir
}

/// Per top-level loop, how many statements in it (at any depth) match.
fn per_loop(ir: &FnIr, matches: &dyn Fn(&Stmt) -> bool) -> Vec<usize> {
    fn count(block: &Block, matches: &dyn Fn(&Stmt) -> bool) -> usize {
        block
            .stmts
            .iter()
            .map(|stmt| {
                usize::from(matches(stmt))
                    + match stmt {
                        Stmt::Loop(l) => count(&l.body, matches),
                        Stmt::Branch { arms, .. } => arms.iter().map(|a| count(a, matches)).sum(),
                        _ => 0,
                    }
            })
            .sum()
    }
    ir.body
        .stmts
        .iter()
        .filter_map(|stmt| match stmt {
            Stmt::Loop(l) => Some(count(&l.body, matches)),
            _ => None,
        })
        .collect()
}

#[test]
fn sums_over_inner_loops_leave_the_loop_with_their_loops() {
    // [count, compute, the loop]: `t`'s loop moves out; the loop keeps its own.
    let top = "fn f(q: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { let mut t = 0.0; for j in 0..q.len() { t += q[j]; } for k in 0..q.len() { s += t * x[i] * x[k]; } } s }";
    assert_eq!(inner_loops_per_loop(top), vec![1, 1]);
    // A sum per row, itself read per point: cached, its loop gone from the point loop.
    let deep = "fn f(q: &[f64], x: &[f64], n: usize) -> f64 { let mut s = 0.0; for i in 0..x.len() { for r in 0..n { let mut row = 0.0; for c in 0..n { row += q[r * n + c]; } s += row * x[i]; } } s }";
    assert_eq!(inner_loops_per_loop(deep), vec![1, 2, 1]);
}

#[test]
fn invariant_values_leave_the_loop() {
    // [count, compute, the loop]: the loop keeps only what depends on its index.
    let cases = [
        // exp(q[k]) inside an inner loop (cached), a sum over q (carried out).
        ("fn f(q: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { let mut t = 0.0; for j in 0..q.len() { t += q[j]; } for k in 0..q.len() { s += q[k].exp() * x[i] + t; } } s }", vec![0, 1, 0]),
        // A value at the top of the body: carried out, no cache, no counting loop.
        ("fn f(a: f64, x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { let c = a.sin() / a; s += c * x[i]; } s }", vec![1, 0]),
        // Triangular inner loops, whose ranges depend on an outer inner-loop index.
        ("fn f(q: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { for c in 0..q.len() { for r in c..q.len() { s += (q[r] - q[c]).exp() * x[i]; } } } s }", vec![0, 1, 0]),
        // An inner range computed in the body.
        ("fn f(q: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { let m = q.len() - 1; for k in 0..m { s += q[k + 1].ln() * x[i]; } } s }", vec![0, 1, 0]),
    ];
    for (source, expected) in cases {
        assert_eq!(calls_per_loop(source), expected, "{source}");
    }
}

#[test]
fn values_that_vary_or_are_not_worth_it_stay() {
    let cases = [
        // The loop writes the array the value reads.
        "fn f(q: &[f64], x: &[f64]) -> f64 { let mut w = vec![1.0; 3]; let mut s = 0.0; for i in 0..x.len() { for k in 0..w.len() { s += (w[k] * q[k]).exp() * x[i]; w[k] = s; } } s }",
        // Under a branch.
        "fn f(q: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { if x[i] > 0.0 { s += q[0].exp() * x[i]; } } s }",
        // In a `while` loop inside.
        "fn f(q: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { let mut k = 0; while k < q.len() { s += q[k].exp() * x[i]; k += 1; } } s }",
        // An effect in the loop.
        "fn f(q: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { println!(\"{i}\"); for k in 0..q.len() { s += q[k].exp() * x[i]; } } s }",
        // A `while` loop itself.
        "fn f(a: f64, x: &[f64]) -> f64 { let mut s = 0.0; let mut i = 0; while i < x.len() { s += a.exp() * x[i]; i += 1; } s }",
        // A loop that breaks.
        "fn f(a: f64, x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { s += a.exp() * x[i]; if s > 10.0 { break; } } s }",
    ];
    for source in cases {
        let calls = calls_per_loop(source);
        assert_eq!(calls.len(), 1, "{source}: no loop added: {calls:?}");
        assert!(calls[0] >= 1, "{source}");
    }
    // No derivative through it.
    let inactive = "fn f(q: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { for k in 0..q.len() { s += q[k].exp() * x[i]; } } s }";
    assert_eq!(calls_per_loop_with("wrt(x)", inactive), vec![1]);
    assert_eq!(calls_per_loop_with("wrt(q)", inactive), vec![0, 1, 0]);
    // Cheap functions are left in the loop too.
    let cheap = "fn f(a: f64, x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { s += a.abs() * x[i]; } s }";
    assert_eq!(calls_per_loop(cheap), vec![0]);
}

#[test]
fn the_printed_function_computes_exp_once_before_the_point_loop() {
    let ir = optimised(
        "",
        "fn f(q: &[f64], x: &[f64]) -> f64 { let mut s = 0.0; for i in 0..x.len() { for k in 0..q.len() { s += q[k].exp() * x[i]; } } s }",
    );
    let printed = ir.print();
    let exp = printed.find("exp(").expect("exp is computed");
    assert_eq!(printed.matches("exp(").count(), 1, "{printed}");
    let point_loop = printed.find("for i_").expect("the point loop");
    assert!(
        exp < point_loop,
        "exp moved before the point loop:\n{printed}"
    );
    assert!(
        printed.contains("_cache["),
        "a cache holds the values:\n{printed}"
    );
}
