//! Functions the differential fuzzer (tests/fuzz.rs) found mishandled, minimised, with their
//! derivatives worked by hand.

#![allow(clippy::all, unused_assignments)]

use differentiate::differentiate;

/// A closure sees the variables of where it was defined, not a later shadowing `x`.
#[differentiate]
fn closure_then_shadow(x: f64) -> f64 {
    let g = |t: f64| t * x;
    let x = 2.0 * x;
    g(1.0) + x
}

/// An element that overflows to infinity and is never read does not make the gradient NaN.
#[differentiate]
fn overflowing_unused_element(x: f64) -> f64 {
    let mut buf = [0.0; 2];
    buf[0] = (1000.0 * x).exp();
    buf[1] = x * 2.0;
    buf[1]
}

/// `*v` of an element reference, in a condition and in a piecewise-constant call.
#[differentiate]
fn deref_in_kept_code(xs: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    for v in xs.iter() {
        if *v > 0.0 {
            s += *v * t;
        }
    }
    s + xs.iter().map(|e| (*e).floor()).sum::<f64>() * t
}

/// A literal assigned to a variable of no declared type keeps the variable's type.
#[differentiate]
fn literal_assigned(x: f64) -> f64 {
    let mut v = x;
    v = 0.1;
    x * v.sin()
}

/// A local closure called in a condition and under a piecewise-constant method.
#[differentiate]
fn closure_in_condition(x: f64) -> f64 {
    let g = |t: f64| t * 2.0;
    if g(x) > 0.0 {
        x * g(x).ceil()
    } else {
        -x
    }
}

const K: f64 = 3.0;

/// Named constants beside active values in a buffer literal.
#[differentiate]
fn constants_in_buffer(x: f64) -> f64 {
    let buf = vec![x, std::f64::consts::PI, K];
    buf[0] * buf[1] * buf[2]
}

/// A local named like the macro's tapes, carried through nested loops with a branch.
#[differentiate]
fn local_named_tape(x: f64) -> f64 {
    let mut tape = x;
    for _ in 0..2 {
        for _ in 0..2 {
            if x > 0.0 {
                tape = tape * x;
            }
        }
    }
    tape
}

#[test]
fn minimised_fuzz_findings() {
    assert_eq!(closure_then_shadow_grad(0.5), (1.5, 3.0));
    assert_eq!(overflowing_unused_element_grad(1.0), (2.0, 2.0));
    assert_eq!(
        deref_in_kept_code_grad(&[0.5, -1.0, 2.0], 1.5),
        (5.25, (vec![1.5, 0.0, 1.5], 3.5))
    );
    assert_eq!(literal_assigned_grad(0.3).1, 0.1f64.sin());
    assert_eq!(closure_in_condition_grad(0.75), (1.5, 2.0));
    assert_eq!(constants_in_buffer_grad(2.0).1, std::f64::consts::PI * K);
    let (_, d) = local_named_tape_grad(1.1);
    assert!((d - 5.0 * 1.1f64.powi(4)).abs() < 1e-12);
}

/// A negated named constant first in a buffer literal.
#[differentiate]
fn negated_constant_in_buffer(x: f64) -> f64 {
    let buf = [-std::f64::consts::FRAC_PI_4, x + 0.3, x * x];
    buf[0] * buf[1] + buf[2]
}

#[test]
fn negated_constant_first_in_a_buffer() {
    let (_, d) = negated_constant_in_buffer_grad(0.5);
    assert!((d - (-std::f64::consts::FRAC_PI_4 + 1.0)).abs() < 1e-15);
}

/// A constant expression assigned to an untyped variable: its new version keeps the type.
#[differentiate]
fn constant_expression_assigned(r: f64, k: usize) -> f64 {
    let mut v0 = r.min(k as f64);
    if v0 > 0.0 {
        v0 = 2.5 / (0.75 * 0.75 + 2.0);
    }
    (v0 * 0.1).tanh() * r
}

#[test]
fn a_reassigned_untyped_variable_keeps_its_type() {
    let (value, d) = constant_expression_assigned_grad(1.5, 3);
    assert_eq!(value, constant_expression_assigned(1.5, 3));
    assert_eq!(d, (2.5f64 / (0.75 * 0.75 + 2.0) * 0.1).tanh());
}

/// An untyped variable reassigned from a value the loop computes alike in every iteration:
/// the hoisted version is typed by its copy before the loop, the next version by it.
#[differentiate]
fn hoisted_then_reassigned(q: f64, x: f64) -> f64 {
    let mut acc = 0.0;
    for i in 0..3 {
        let mut v = x + (q / (1.5 + q.sin())).asinh();
        v -= 0.5f64.sqrt().tanh();
        acc = acc * 0.5 + v * i as f64;
    }
    acc
}

#[test]
fn a_hoisted_value_reassigned_keeps_its_type() {
    let (q, x) = (0.4, 1.2);
    let (value, (dq, dx)) = hoisted_then_reassigned_grad(q, x);
    assert_eq!(value, hoisted_then_reassigned(q, x));
    // acc = v·(0·¼ + 1·½ + 2) = 2.5 v; v = x + asinh(u) - c, u = q / (1.5 + sin q).
    let b = 1.5 + q.sin();
    let u = q / b;
    let du = (b - q * q.cos()) / (b * b);
    assert!((dx - 2.5).abs() < 1e-14, "{dx}");
    assert!((dq - 2.5 * du / (1.0 + u * u).sqrt()).abs() < 1e-14, "{dq}");
}

/// A closure called inside a piecewise-constant function written as a path
/// (`f64::floor(g(x))`), as the method form (`g(x).floor()`) already allowed.
#[differentiate]
fn closure_in_floor(x: f64) -> f64 {
    let g = |t: f64| t * 3.0;
    let h = |t: f64| g(t) + 1.0;
    f64::floor(h(x)) * x + g(x)
}

#[test]
fn a_closure_inside_a_path_form_floor_is_inlined() {
    let (value, d) = closure_in_floor_grad(0.7);
    assert_eq!(value, closure_in_floor(0.7));
    // floor(3.1) + 3: the floor's derivative is zero.
    assert_eq!(d, 6.0);
}

/// Found by the fuzzer with issue 16's constructs: `f32` inside an `f64` function (the
/// gradient compiles; the second-order items say why they are missing).
#[differentiate]
fn through_f32(y: f64) -> f64 {
    let u = y as f32;
    f64::from(u) * y + y * f64::from((0.5 as f32).cos())
}

#[test]
fn f32_inside_an_f64_function() {
    let (value, slope) = through_f32_grad(0.75);
    assert_eq!(value, through_f32(0.75));
    let expected = 2.0 * f64::from(0.75f32) + f64::from(0.5f32.cos());
    assert!((slope - expected).abs() < 1e-6, "{slope} vs {expected}");
}

/// Found by the fuzzer: `let .. else` in a generic function.
#[differentiate]
fn let_else_generic<T: num_traits::Float>(x: T, k: usize) -> T {
    let Some(j) = k.checked_sub(1) else {
        return x;
    };
    x * x * T::from(j).unwrap()
}

#[test]
fn let_else_in_a_generic_function() {
    assert_eq!(let_else_generic_grad(0.5f64, 0), (0.5, 1.0));
    assert_eq!(let_else_generic_grad(0.5f64, 3), (0.5, 2.0));
    let (_, _, h) = let_else_generic_hvp(0.5f64, 3, 1.0);
    assert_eq!(h, 4.0);
}

/// Found by the fuzzer: `(*x).map(..)` of an array behind a reference.
#[differentiate]
fn deref_map(x: &[f64; 2]) -> f64 {
    let [a, b] = (*x).map(|v| 2.0 * v);
    a * b
}

#[test]
fn map_of_a_dereferenced_array() {
    assert_eq!(deref_map_grad(&[2.0, 1.0]), (8.0, [4.0 * 1.0, 4.0 * 2.0]));
}

#[differentiate]
fn total(v: &[f64]) -> f64 {
    v.iter().sum()
}

/// Found by the fuzzer: a borrowed array of constants passed to a differentiated function in
/// code the second-order twin runs as written (a loop's bound, a closure never called) reaches
/// it as `f64`s.
#[differentiate]
fn bounded_by_a_call(x: f64) -> f64 {
    let _never_called = |t: f64| t - total(&[2.0, 0.75]);
    let mut s = x;
    for _ in 0..(total(&[1.0, 2.0]) as usize) {
        s = s * x;
    }
    s
}

#[test]
fn borrowed_constant_array_in_code_the_twin_runs_as_written() {
    // x⁴: 4x³ and 12x² at 1.5, by hand.
    assert_eq!(bounded_by_a_call_grad(1.5), (5.0625, 13.5));
    assert_eq!(bounded_by_a_call_hessian(1.5), (5.0625, 13.5, 27.0));
}
