//! One test per construct the macro accepts: each derivative is compared with a derivative
//! worked out by hand (in the test, from the formula) and with central finite differences of
//! the original function.

// The functions below spell constructs out on purpose (a late `let`, `x = x * y`).
#![allow(clippy::needless_late_init, clippy::assign_op_pattern)]

use approx::assert_relative_eq;
use differentiate::check::{central_difference, central_gradient};
use differentiate::differentiate;
use std::f64::consts::PI;

const H: f64 = 1e-6;

/// Asserts a derivative against the hand-worked value and the finite difference.
fn check(name: &str, got: f64, by_hand: f64, finite_difference: f64) {
    assert!(
        (got - by_hand).abs() <= 1e-10 * (1.0 + by_hand.abs()),
        "{name}: got {got}, by hand {by_hand}"
    );
    assert!(
        (got - finite_difference).abs() <= 1e-6 * (1.0 + by_hand.abs()),
        "{name}: got {got}, finite difference {finite_difference}"
    );
}

// ---- arithmetic, literals, constants, casts ----------------------------------------------

const SCALE: f64 = 2.5;

#[differentiate]
fn arithmetic(x: f64, y: f64) -> f64 {
    -(x * y) + (x - y) / (y + 2.0) * SCALE + PI * x - std::f64::consts::E / y
}

#[test]
fn arithmetic_and_constants() {
    let (x, y) = (1.3, 0.7);
    let (value, (dx, dy)) = arithmetic_grad(x, y);
    assert_eq!(value, arithmetic(x, y));
    let dx_hand = -y + SCALE / (y + 2.0) + PI;
    let dy_hand =
        -x + SCALE * (-(y + 2.0) - (x - y)) / (y + 2.0).powi(2) + std::f64::consts::E / (y * y);
    check(
        "d/dx",
        dx,
        dx_hand,
        central_difference(|x| arithmetic(x, y), x, H),
    );
    check(
        "d/dy",
        dy,
        dy_hand,
        central_difference(|y| arithmetic(x, y), y, H),
    );
}

#[differentiate]
fn casts(x: f64, n: i32, k: usize) -> f64 {
    x * n as f64 + (k as f64) * x * x + f64::from(n) / x
}

#[test]
fn casts_of_constants() {
    let (x, n, k) = (1.7, 3, 4);
    let (_, dx) = casts_grad(x, n, k);
    check(
        "casts",
        dx,
        3.0 + 8.0 * x - 3.0 / (x * x),
        central_difference(|x| casts(x, n, k), x, H),
    );
}

#[differentiate]
fn mixed_precision(x: f32, y: f64) -> f64 {
    (x as f64) * y + (x * x) as f64
}

#[test]
fn casts_between_float_types() {
    let (value, (dx, dy)) = mixed_precision_grad(1.5, 2.0);
    assert_eq!(value, mixed_precision(1.5, 2.0));
    assert_eq!(dx, 2.0 + 3.0);
    assert_eq!(dy, 1.5);
}

// ---- let, shadowing, mutation, blocks ------------------------------------------------------

#[differentiate]
fn bindings(x: f64) -> f64 {
    let a: f64 = x * 2.0;
    let a = a.sin() + x; // shadowing
    let mut b = a;
    b += x;
    b *= a;
    b -= 1.0;
    b /= x;
    let c = {
        let a = b * 3.0; // shadows only inside the block
        a + 1.0
    };
    b = c * a;
    b
}

#[test]
fn let_shadowing_and_compound_assignment() {
    let x = 0.9_f64;
    let f = |x: f64| {
        let a = (2.0 * x).sin() + x;
        let b = ((a + x) * a - 1.0) / x;
        (b * 3.0 + 1.0) * a
    };
    let (value, dx) = bindings_grad(x);
    assert_relative_eq!(value, f(x), max_relative = 1e-15);
    // By hand: a = sin 2x + x, b = ((a + x)a - 1)/x, c = 3b + 1, result c·a.
    let a = (2.0 * x).sin() + x;
    let da = 2.0 * (2.0 * x).cos() + 1.0;
    let num = (a + x) * a - 1.0;
    let dnum = (da + 1.0) * a + (a + x) * da;
    let b = num / x;
    let db = (dnum * x - num) / (x * x);
    let c = 3.0 * b + 1.0;
    let by_hand = 3.0 * db * a + c * da;
    check("bindings", dx, by_hand, central_difference(bindings, x, H));
}

#[differentiate]
fn deferred_init(x: f64, flag: bool) -> f64 {
    let y;
    if flag {
        y = x * x;
    } else {
        y = -x;
    }
    y * 3.0
}

#[test]
fn deferred_initialisation_in_branches() {
    assert_eq!(deferred_init_grad(2.0, true).1, 12.0);
    assert_eq!(deferred_init_grad(2.0, false).1, -3.0);
}

// ---- branches --------------------------------------------------------------------------------

#[differentiate]
fn piecewise(x: f64) -> f64 {
    if x < -1.0 {
        -x * x
    } else if x < 1.0 {
        x.sin()
    } else {
        x.powi(3) / 3.0
    }
}

#[test]
fn if_else_if_else_as_expression() {
    for (x, by_hand) in [(-2.0_f64, 4.0), (0.5, 0.5_f64.cos()), (2.0, 4.0)] {
        let (value, dx) = piecewise_grad(x);
        assert_eq!(value, piecewise(x));
        check(
            "piecewise",
            dx,
            by_hand,
            central_difference(piecewise, x, H),
        );
    }
}

#[differentiate]
fn branch_mutation(x: f64, y: f64) -> f64 {
    let mut acc = x * y;
    let mut other = y;
    if x > y {
        acc = acc * x;
        other = other.exp();
    } else {
        acc += y;
    }
    if acc > 100.0 {
        acc = 100.0;
    }
    acc + other
}

#[test]
fn if_as_statement_mutating_variables() {
    let (x, y) = (2.0, 1.5);
    let (_, (dx, dy)) = branch_mutation_grad(x, y);
    // x > y: acc = x²y, other = eʸ
    check(
        "dx",
        dx,
        2.0 * x * y,
        central_difference(|x| branch_mutation(x, y), x, H),
    );
    check(
        "dy",
        dy,
        x * x + y.exp(),
        central_difference(|y| branch_mutation(x, y), y, H),
    );
    let (x, y) = (1.0, 1.5);
    let (_, (dx, dy)) = branch_mutation_grad(x, y);
    check(
        "dx else",
        dx,
        y,
        central_difference(|x| branch_mutation(x, y), x, H),
    );
    check(
        "dy else",
        dy,
        x + 1.0 + 1.0,
        central_difference(|y| branch_mutation(x, y), y, H),
    );
    // Clamped at 100: the derivative of the constant is 0, only `other` remains.
    let (_, (dx, dy)) = branch_mutation_grad(10.0, 2.0);
    assert_eq!((dx, dy), (0.0, 2.0_f64.exp()));
}

#[differentiate]
fn select(x: f64, mode: u8, n: usize) -> f64 {
    let scaled = match mode {
        0 => x,
        1 | 2 => x * x,
        m if m < 10 => x * m as f64,
        _ => 0.0,
    };
    let extra = match n {
        0 => 1.0,
        k => {
            let kf = k as f64;
            x.powi(2) * kf
        }
    };
    scaled + extra
}

#[test]
fn match_on_constants_with_guards_and_bindings() {
    let x = 1.25;
    for (mode, n, by_hand) in [
        (0u8, 0usize, 1.0),
        (1, 0, 2.0 * x),
        (2, 3, 2.0 * x + 6.0 * x),
        (7, 1, 7.0 + 2.0 * x),
        (200, 0, 0.0),
    ] {
        let (value, dx) = select_grad(x, mode, n);
        assert_eq!(value, select(x, mode, n));
        check(
            "select",
            dx,
            by_hand,
            central_difference(|x| select(x, mode, n), x, H),
        );
    }
}

#[differentiate]
fn optional_scale(x: f64, scale: Option<f64>) -> f64 {
    if let Some(s) = scale {
        x * s
    } else {
        x.sin()
    }
}

#[test]
fn if_let_on_a_constant() {
    assert_eq!(optional_scale_grad(2.0, Some(3.0)).1, 3.0);
    assert_eq!(optional_scale_grad(2.0, None).1, 2.0_f64.cos());
}

#[differentiate]
fn early_return(x: f64, limit: f64) -> f64 {
    if x > limit {
        return limit.sqrt();
    }
    let y = x * x;
    if y > 4.0 {
        return y.ln();
    }
    let z = y + x;
    z * 2.0
}

#[test]
fn early_return_paths() {
    let limit = 9.0;
    // x > limit: value sqrt(limit), d/dx 0, d/dlimit 1/(2 sqrt(limit))
    assert_eq!(early_return_grad(10.0, limit), (3.0, (0.0, 1.0 / 6.0)));
    // y = x² > 4: ln(x²), d/dx 2/x
    let (value, (dx, dl)) = early_return_grad(3.0, limit);
    assert_eq!(value, early_return(3.0, limit));
    check(
        "ln path",
        dx,
        2.0 / 3.0,
        central_difference(|x| early_return(x, limit), 3.0, H),
    );
    assert_eq!(dl, 0.0);
    // otherwise 2(x² + x)
    let (_, (dx, _)) = early_return_grad(1.5, limit);
    check(
        "tail",
        dx,
        2.0 * (2.0 * 1.5 + 1.0),
        central_difference(|x| early_return(x, limit), 1.5, H),
    );
}

#[differentiate]
fn return_in_nested_arms(x: f64, n: i32) -> f64 {
    let y = if n > 0 {
        if x > 0.0 {
            return x * 10.0;
        }
        x * 2.0
    } else {
        x * 3.0
    };
    y + x
}

#[test]
fn return_from_nested_arms() {
    assert_eq!(return_in_nested_arms_grad(1.0, 1).1, 10.0);
    assert_eq!(return_in_nested_arms_grad(-1.0, 1).1, 3.0);
    assert_eq!(return_in_nested_arms_grad(1.0, 0).1, 4.0);
}

// ---- constant parameters and wrt -------------------------------------------------------------

#[differentiate(wrt(y))]
fn only_y(x: f64, y: f64, k: i64, enabled: bool) -> f64 {
    let factor = if enabled { k as f64 } else { 1.0 };
    x * y * factor + y.powi(2)
}

#[test]
fn wrt_selects_the_active_parameters() {
    let (value, dy) = only_y_grad(2.0, 3.0, 4, true);
    assert_eq!(value, only_y(2.0, 3.0, 4, true));
    assert_eq!(dy, 2.0 * 4.0 + 6.0);
    assert_eq!(only_y_grad(2.0, 3.0, 4, false).1, 2.0 + 6.0);
}

#[differentiate]
fn ignores_z(x: f64, z: f64) -> f64 {
    let _unused = z * 2.0;
    x * x
}

#[test]
fn an_active_parameter_the_result_does_not_depend_on_gets_zero() {
    let (_, (dx, dz)) = ignores_z_grad(3.0, 5.0);
    assert_eq!(dx, 6.0);
    assert_eq!(dz, 0.0);
    assert!(dz.is_sign_positive());
}

// ---- calls, recursion --------------------------------------------------------------------------

#[differentiate]
fn square_plus(a: f64, b: f64) -> f64 {
    a * a + b
}

#[differentiate(wrt(a))]
fn scaled(a: f64, k: f64) -> f64 {
    a * k
}

#[differentiate]
fn calls(x: f64, y: f64) -> f64 {
    let u = square_plus(x, y.sin());
    let v = square_plus(u, 1.0) * scaled(y, 3.0);
    u + v
}

#[test]
fn calls_to_differentiated_functions() {
    let (x, y) = (0.8, 1.1);
    let (value, (dx, dy)) = calls_grad(x, y);
    assert_eq!(value, calls(x, y));
    let g = central_gradient(|p| calls(p[0], p[1]), &[x, y], H);
    // u = x² + sin y, v = (u² + 1)·3y
    let u = x * x + y.sin();
    let (du_dx, du_dy) = (2.0 * x, y.cos());
    let dv_dx = 2.0 * u * du_dx * 3.0 * y;
    let dv_dy = 2.0 * u * du_dy * 3.0 * y + (u * u + 1.0) * 3.0;
    check("calls dx", dx, du_dx + dv_dx, g[0]);
    check("calls dy", dy, du_dy + dv_dy, g[1]);
}

#[differentiate]
fn power_tower(x: f64, n: u32) -> f64 {
    if n == 0 {
        x
    } else {
        power_tower(x, n - 1).sin() * x
    }
}

#[test]
fn recursion() {
    let x = 0.7;
    for n in 0..5 {
        let (value, dx) = power_tower_grad(x, n);
        assert_eq!(value, power_tower(x, n));
        // p₀ = x, pₙ = sin(pₙ₋₁)·x, so pₙ' = cos(pₙ₋₁)·pₙ₋₁'·x + sin(pₙ₋₁)
        let (mut p, mut dp) = (x, 1.0);
        for _ in 0..n {
            let next = p.sin() * x;
            dp = p.cos() * dp * x + p.sin();
            p = next;
        }
        check(
            "recursion",
            dx,
            dp,
            central_difference(|x| power_tower(x, n), x, H),
        );
    }
}

// ---- methods -----------------------------------------------------------------------------------

struct Spring {
    stiffness: f64,
    rest: f64,
}

impl Spring {
    #[differentiate]
    fn energy(&self, x: f64) -> f64 {
        let stretch = x - self.rest;
        0.5 * self.stiffness * stretch * stretch
    }

    #[differentiate]
    fn total(&self, x: f64, y: f64) -> f64 {
        self.energy(x) + self.energy(y) * y
    }
}

#[test]
fn methods_taking_self() {
    let spring = Spring {
        stiffness: 3.0,
        rest: 1.0,
    };
    assert_eq!(spring.energy_grad(2.0), (1.5, 3.0));
    let (value, (dx, dy)) = spring.total_grad(2.0, 3.0);
    assert_eq!(value, spring.total(2.0, 3.0));
    // energy'(x) = k(x - r); d/dy [E(y)·y] = E'(y)·y + E(y)
    check(
        "dx",
        dx,
        3.0,
        central_difference(|x| spring.total(x, 3.0), 2.0, H),
    );
    check(
        "dy",
        dy,
        3.0 * 2.0 * 3.0 + 6.0,
        central_difference(|y| spring.total(2.0, y), 3.0, H),
    );
}

// ---- tuple and array results -------------------------------------------------------------------

#[differentiate]
fn polar(r: f64, theta: f64) -> (f64, f64) {
    (r * theta.cos(), r * theta.sin())
}

#[differentiate]
fn three(x: f64) -> [f64; 3] {
    let y = x * x;
    if x > 0.0 {
        [x, y, y * x]
    } else {
        [0.0; 3]
    }
}

#[test]
fn tuple_and_array_results_through_vjp() {
    let (r, t) = (2.0_f64, 0.6_f64);
    let (value, (dr, dt)) = polar_vjp(r, t, (1.0, 0.0));
    assert_eq!(value, polar(r, t));
    assert_eq!((dr, dt), (t.cos(), -r * t.sin()));
    let (_, (dr, dt)) = polar_vjp(r, t, (0.0, 1.0));
    assert_eq!((dr, dt), (t.sin(), r * t.cos()));
    let (_, (dr, dt)) = polar_vjp(r, t, (2.0, -1.0));
    assert_relative_eq!(dr, 2.0 * t.cos() - t.sin(), max_relative = 1e-15);
    assert_relative_eq!(dt, -2.0 * r * t.sin() - r * t.cos(), max_relative = 1e-15);

    let (value, dx) = three_vjp(1.5, [1.0, 1.0, 1.0]);
    assert_eq!(value, [1.5, 2.25, 3.375]);
    assert_eq!(dx, 1.0 + 3.0 + 3.0 * 2.25);
    assert_eq!(three_vjp(-1.0, [1.0, 1.0, 1.0]).1, 0.0);
}

// ---- f32 -----------------------------------------------------------------------------------------

#[differentiate]
fn single(x: f32, y: f32) -> f32 {
    let mut s = x.sin() * y;
    s += (x * y).exp() / 4.0;
    s
}

#[test]
fn f32_functions() {
    let (x, y) = (0.5_f32, 1.5_f32);
    let (value, (dx, dy)) = single_grad(x, y);
    assert_eq!(value, single(x, y));
    let dx_hand = x.cos() * y + y * (x * y).exp() / 4.0;
    let dy_hand = x.sin() + x * (x * y).exp() / 4.0;
    assert_relative_eq!(dx, dx_hand, max_relative = 1e-6);
    assert_relative_eq!(dy, dy_hand, max_relative = 1e-6);
}

// ---- statements kept for their effect ----------------------------------------------------------

#[differentiate]
fn with_assertions(x: f64) -> f64 {
    assert!(x.is_finite(), "x must be finite");
    let y = x * 2.0;
    debug_assert!(y == 2.0 * x);
    y.sin()
}

#[test]
fn statement_macros_are_kept() {
    assert_eq!(with_assertions_grad(0.5).1, 2.0 * 1.0_f64.cos());
    let panicked = std::panic::catch_unwind(|| with_assertions_grad(f64::NAN));
    assert!(
        panicked.is_err(),
        "the assertion runs in the generated code too"
    );
}

// ---- results of calls read by component --------------------------------------------------------

#[differentiate]
fn rotate(angle: f64, px: f64, py: f64) -> [f64; 2] {
    [
        angle.cos() * px - angle.sin() * py,
        angle.sin() * px + angle.cos() * py,
    ]
}

#[differentiate]
fn to_polar(x: f64, y: f64) -> (f64, f64) {
    (x.hypot(y), y.atan2(x))
}

#[differentiate]
fn uses_components(angle: f64, px: f64) -> f64 {
    let q = rotate(angle, px, 1.0);
    let (r, theta) = to_polar(q[0], q[1] * 2.0);
    let p = to_polar(r, theta);
    q[0] / (q[1] + 3.0) + r * theta.sin() + p.0 - p.1
}

#[test]
fn tuples_and_arrays_returned_by_calls() {
    let (a, x) = (0.4, 1.3);
    let (value, (da, dx)) = uses_components_grad(a, x);
    assert_eq!(value, uses_components(a, x));
    // Checked against finite differences only: the composition is long to work by hand.
    let g = central_gradient(|p| uses_components(p[0], p[1]), &[a, x], H);
    assert!(
        (da - g[0]).abs() < 1e-7 * (1.0 + g[0].abs()),
        "d/dangle {da} vs {}",
        g[0]
    );
    assert!(
        (dx - g[1]).abs() < 1e-7 * (1.0 + g[1].abs()),
        "d/dpx {dx} vs {}",
        g[1]
    );
}
