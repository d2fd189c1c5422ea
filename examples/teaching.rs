//! The teaching material this project grew out of, reproduced with compile-time derivatives
//! and checked against its published numbers: the chain rule step by step, the accumulation
//! rule on a diamond graph, gradient descent, second and higher derivatives, the "gradient
//! failures" a compile-time tool can meet, and PyTorch's `detach` and `requires_grad`.
//!
//! `cargo run --example teaching` prints the tables and writes the computation graphs as
//! Graphviz files (`target/teaching/*.dot`), rendered to PNG when `dot` is on the `PATH`.
//! Every printed number is asserted against the material.

use differentiate::{detach, differentiate};
use std::path::Path;
use std::process::Command;

/// J(x) = x³ + x² − 6x + 1, the material's first example.
#[differentiate]
fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}

/// t = tanh(4 cos²x), in the steps the material names: y = cos x, z = 4y², t = tanh z.
#[differentiate]
fn t(x: f64) -> f64 {
    let y = x.cos();
    let z = 4.0 * y * y;
    z.tanh()
}

/// z = (x² cos x)²: x reaches z along two paths, a = x² and b = cos x.
#[differentiate]
fn diamond(x: f64) -> f64 {
    let a = x * x;
    let b = x.cos();
    let c = a * b;
    c * c
}

#[differentiate]
fn fonction_complexe(x: f64, y: f64, z: f64) -> f64 {
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

#[differentiate]
fn ratio(x: f64) -> f64 {
    x.powi(2) * x.cos() / x.atan()
}

/// u = x² + y.
#[differentiate]
fn u(x: f64, y: f64) -> f64 {
    x * x + y
}

/// 3x², whose derivatives are 6x, 6, 0, 0.
#[differentiate]
fn three_x_squared(x: f64) -> f64 {
    3.0 * x * x
}

/// y = 2x, doubled while ‖y‖ < 1000, then weighted: the material's dynamic graph.
#[differentiate]
fn doubling(x: &[f64; 3]) -> f64 {
    let weights = [0.1, 1.0, 0.0001];
    let mut y = [2.0 * x[0], 2.0 * x[1], 2.0 * x[2]];
    while (y[0] * y[0] + y[1] * y[1] + y[2] * y[2]).sqrt() < 1000.0 {
        y = [2.0 * y[0], 2.0 * y[1], 2.0 * y[2]];
    }
    weights[0] * y[0] + weights[1] * y[1] + weights[2] * y[2]
}

/// A variable the result does not depend on.
#[differentiate]
fn ignores_y(x: f64, y: f64) -> f64 {
    let _unused = y.sin();
    x * x
}

/// `requires_grad = False` on `w`: only `x` is differentiated.
#[differentiate(wrt(x))]
fn frozen(x: f64, w: f64) -> f64 {
    w * x * x
}

/// A straight-through estimator: the value of `round(x)`, the derivative of `x`.
#[differentiate]
fn rounded(x: f64) -> f64 {
    x + detach(x.round() - x)
}

fn close(what: &str, got: f64, expected: f64, tolerance: f64) {
    assert!(
        (got - expected).abs() <= tolerance * (1.0 + expected.abs()),
        "{what}: {got} vs the published {expected}"
    );
}

fn main() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/teaching");
    std::fs::create_dir_all(&out).expect("target/teaching");

    println!("1. The chain rule, step by step: t = tanh(4 cos²x) at x = 7");
    let graph = t_graph(7.0);
    println!(
        "   {:<4} {:>14} {:>14} {:>14}",
        "", "value", "∂t/∂·", "published"
    );
    // The material's values come from TensorFlow in single precision.
    for (name, published) in [("z", 0.041513324), ("y", 0.2503759), ("x", -0.1644936)] {
        let (value, adjoint) = (
            graph.value_of(name).unwrap(),
            graph.adjoint_of(name).unwrap(),
        );
        println!("   {name:<4} {value:>14.8} {adjoint:>14.8} {published:>14.8}");
        close(name, adjoint, published, 2e-6);
    }
    write_graph(&out, "t", &graph.to_dot());

    println!("\n2. The accumulation rule on the diamond z = (x² cos x)² at x = π");
    let pi = std::f64::consts::PI;
    let graph = diamond_graph(pi);
    for (name, published, formula) in [
        ("a", 2.0 * pi.powi(2), "2π²"),
        ("b", -2.0 * pi.powi(4), "−2π⁴"),
        ("x", 4.0 * pi.powi(3), "4π³: both paths added"),
    ] {
        let adjoint = graph.adjoint_of(name).unwrap();
        println!("   ∂z/∂{name} = {adjoint:>12.6} = {formula}");
        close(name, adjoint, published, 1e-14);
    }
    write_graph(&out, "diamond", &graph.to_dot());

    println!("\n3. Gradient descent on J from x = 3, step 0.1");
    println!(
        "   {:>4} {:>20} {:>14} {:>14}",
        "step", "x", "J(x)", "J'(x)"
    );
    let mut x = 3.0;
    for step in 0..=20 {
        let (value, slope) = j_grad(x);
        if step % 4 == 0 || step == 20 {
            println!("   {step:>4} {x:>20.16} {value:>14.8} {slope:>14.8}");
        }
        if step < 20 {
            x -= 0.1 * slope;
        }
    }
    assert_eq!(x, 1.1196329811802246);
    println!("   reaches 1.1196329811802246, as published");
    let (_, slope) = j_grad(2.0);
    assert_eq!(slope, 10.0);
    let [_, d1, d2] = j_derivatives::<3>(2.0);
    assert_eq!((d1, d2), (10.0, 14.0));
    println!("   J'(2) = {d1}, J''(2) = {d2}");
    write_graph(&out, "j", &j_graph(2.0).to_dot());

    println!("\n4. Published gradients");
    let (_, (dx, dy, dz)) = fonction_complexe_grad(7.0, 5.0, 2.0);
    println!("   fonction_complexe at (7, 5, 2): ({dx:.14}, {dy:.14}, {dz:.13})");
    for (got, published) in
        [dx, dy, dz]
            .into_iter()
            .zip([-5.66196787253764, -1.74937550466067, 17.0594520169513])
    {
        close("fonction_complexe", got, published, 1e-13);
    }
    let (_, slope) = ratio_grad(7.0);
    println!("   x² cos x / atan x at 7: {slope:.6}");
    // Published in single precision, like the chain-rule values.
    close("ratio", slope, -15.504779, 2e-7);
    let (_, gradient) = doubling_grad(&[0.0245, -1.945, 0.3681]);
    println!("   doubling y = 2x while ‖y‖ < 1000: x-gradient {gradient:?}");
    for (got, published) in gradient.into_iter().zip([51.2, 512.0, 0.0512]) {
        close("doubling", got, published, 1e-12);
    }

    println!("\n5. Second and higher derivatives");
    let (_, _, hessian) = u_hessian(10.0, 12.0);
    println!("   u = x² + y: u_xx = {}", hessian[0][0]);
    assert_eq!(hessian[0][0], 2.0);
    let x = 1.5;
    let derivatives = three_x_squared_derivatives::<5>(x);
    println!(
        "   3x² at x = {x}: value {}, then 6x = {}, 6 = {}, {}, {} (PyTorch's third fails)",
        derivatives[0], derivatives[1], derivatives[2], derivatives[3], derivatives[4]
    );
    assert_eq!(derivatives, [3.0 * x * x, 6.0 * x, 6.0, 0.0, 0.0]);

    println!("\n6. Gradient failures, as a compile-time tool meets them");
    let (_, (dx, dy)) = ignores_y_grad(3.0, 1.0);
    println!("   a variable the result does not depend on: ∂/∂y = {dy} (0, not None or an error)");
    assert_eq!((dx, dy), (6.0, 0.0));
    assert_eq!(ignores_y_graph(3.0, 1.0).adjoint_of("y"), Some(0.0));
    let c = 2.0 * 3.0;
    let (_, slope) = j_grad(c);
    println!(
        "   a value computed before the function (c = 2x, then J(c)): J_grad(c) = {slope} is dJ/dc; \
         the function never saw x, so dJ/dx needs the caller's chain rule (× 2 = {}) or the \
         computation moved inside a differentiated function",
        2.0 * slope
    );

    println!("\n7. PyTorch's controls, at compile time");
    let (_, dx) = frozen_grad(3.0, 2.0);
    println!("   wrt(x) is requires_grad: w stays a constant, ∂/∂x = {dx}");
    assert_eq!(dx, 12.0);
    let (value, slope) = rounded_grad(2.3);
    println!("   detach(x) is detach / stop_gradient: round's value {value}, x's slope {slope}");
    assert_eq!((value, slope), (2.0, 1.0));

    println!("\nGraphs written to {}", out.display());
}

/// Writes `NAME.dot`, and `NAME.png` when Graphviz is installed.
fn write_graph(out: &Path, name: &str, dot: &str) {
    let dot_path = out.join(format!("{name}.dot"));
    std::fs::write(&dot_path, dot).expect("write the DOT file");
    let png = out.join(format!("{name}.png"));
    match Command::new("dot")
        .arg("-Tpng")
        .arg(&dot_path)
        .arg("-o")
        .arg(&png)
        .status()
    {
        Ok(status) if status.success() => println!("   graph: {}", png.display()),
        Ok(status) => println!("   graph: {} (dot failed: {status})", dot_path.display()),
        Err(_) => println!(
            "   graph: {} (install Graphviz for PNGs: `apt install graphviz`, `brew install graphviz`)",
            dot_path.display()
        ),
    }
}
