//! `NAME_graph`: the computation graph at a point, its nodes, edges, values and adjoints,
//! against the teaching material's published numbers, and its Graphviz text.

use differentiate::differentiate;

#[differentiate]
fn j(x: f64) -> f64 {
    x.powi(3) + x.powi(2) - 6.0 * x + 1.0
}

/// t = tanh(4 cos²x), in the steps the material names.
#[differentiate]
fn t(x: f64) -> f64 {
    let y = x.cos();
    let z = 4.0 * y * y;
    z.tanh()
}

/// The diamond: x reaches z along two paths.
#[differentiate]
fn diamond(x: f64) -> f64 {
    let a = x * x;
    let b = x.cos();
    let c = a * b;
    c * c
}

#[test]
fn j_graph_nodes_edges_values_adjoints() {
    let g = j_graph(2.0);
    let labels: Vec<&str> = g.nodes().iter().map(|n| n.label.as_str()).collect();
    // The input, x³, x², their sum, the constant 6, 6x, the difference, 1, the result.
    assert_eq!(
        labels,
        [
            "x",
            "powi(·, 3)",
            "powi(·, 2)",
            "+",
            "6.0",
            "*",
            "-",
            "1.0",
            "+"
        ]
    );
    assert_eq!(g.edge_count(), 10);
    assert_eq!(g.results(), vec![j(2.0)]);
    // J'(2) = 3·4 + 2·2 − 6 = 10, J(2) = 1.
    assert_eq!(g.adjoint_of("x"), Some(10.0));
    assert_eq!(g.value_of("x"), Some(2.0));
    let adjoints: Vec<f64> = g.nodes().iter().map(|n| n.adjoint).collect();
    assert_eq!(adjoints, [10.0, 1.0, 1.0, 1.0, -2.0, -1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn chain_rule_step_by_step() {
    let g = t_graph(7.0);
    // The material's values come from TensorFlow in single precision: agreement to its
    // precision (a few parts in 10⁷), in double precision here.
    let close = |name: &str, expected: f64| {
        let got = g.adjoint_of(name).unwrap();
        assert!(
            (got - expected).abs() < 2e-6 * expected.abs(),
            "∂t/∂{name}: {got} vs {expected}"
        );
    };
    close("z", 0.041513324);
    close("y", 0.2503759);
    close("x", -0.1644936);
    // And exactly what the gradient gives.
    assert_eq!(g.adjoint_of("x"), Some(t_grad(7.0).1));
}

#[test]
fn accumulation_on_the_diamond() {
    let pi = std::f64::consts::PI;
    let g = diamond_graph(pi);
    let a = g.adjoint_of("a").unwrap();
    let b = g.adjoint_of("b").unwrap();
    let x = g.adjoint_of("x").unwrap();
    assert!((a - 2.0 * pi.powi(2)).abs() < 1e-12, "{a}");
    assert!((b + 2.0 * pi.powi(4)).abs() < 1e-10, "{b}");
    assert!((x - 4.0 * pi.powi(3)).abs() < 1e-10, "{x}");
}

#[differentiate]
fn smooth_max(x: f64, y: f64) -> f64 {
    if x > y {
        x + (y - x).exp().ln_1p()
    } else {
        y + (x - y).exp().ln_1p()
    }
}

/// A loop, a branch, a buffer and a call: clusters hold what ran.
#[differentiate]
fn running(x: &[f64]) -> f64 {
    let mut s = 0.0;
    let mut seen = vec![0.0; x.len()];
    for i in 0..x.len() {
        let m = smooth_max(s, x[i]);
        seen[i] = m;
        s = 0.5 * m;
    }
    s + seen[0]
}

#[test]
fn loops_branches_buffers_and_calls() {
    let x = [0.5, -1.0, 2.0];
    let g = running_graph(&x);
    let (value, grad) = running_grad(&x);
    assert_eq!(g.results(), vec![value]);
    for (k, expected) in grad.iter().enumerate() {
        let node = g
            .nodes()
            .iter()
            .find(|n| n.label == format!("x[{k}]"))
            .expect("an input node per element");
        assert!(
            (node.adjoint - expected).abs() < 1e-15,
            "x[{k}]: {} vs {expected}",
            node.adjoint
        );
    }
    // One cluster per iteration.
    let labels: Vec<&str> = g.clusters().iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["for i = 0", "for i = 1", "for i = 2"]);
    // Each call is one node, its partials from the callee's pullback.
    assert_eq!(
        g.nodes()
            .iter()
            .filter(|n| n.label == "smooth_max(..)")
            .count(),
        3
    );
    assert!(g.adjoint_of("s").is_some());
}

#[test]
fn the_branch_taken_is_a_cluster() {
    let g = smooth_max_graph(1.0, 3.0);
    let labels: Vec<&str> = g.clusters().iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["if: else"]);
    let (_, (dx, dy)) = smooth_max_grad(1.0, 3.0);
    assert_eq!(g.adjoint_of("x"), Some(dx));
    assert_eq!(g.adjoint_of("y"), Some(dy));
}

/// A variable the result does not depend on has adjoint 0, never an error.
#[differentiate]
fn ignores_y(x: f64, y: f64) -> f64 {
    let unused = y.sin();
    let _ = unused;
    x * x
}

#[test]
fn an_unused_input_has_adjoint_zero() {
    let g = ignores_y_graph(3.0, 1.0);
    assert_eq!(g.adjoint_of("x"), Some(6.0));
    assert_eq!(g.adjoint_of("y"), Some(0.0));
}

/// The four operations with constants and variables on either side, over `f64`, over
/// `f32` and generic: each records its node with the recorder's own call.
#[differentiate]
fn arithmetic(x: f64, y: f64) -> f64 {
    let p = x * y;
    let d = x / y;
    let s = p - d;
    let q = 3.0 / y;
    s + 2.0 * x - q
}

#[differentiate]
fn arithmetic_f32(x: f32, y: f32) -> f32 {
    let p = x * y;
    let d = x / y;
    let s = p - d;
    let q = 3.0 / y;
    s + 2.0 * x - q
}

#[differentiate]
fn arithmetic_generic<T: num_traits::Float>(x: T, y: T) -> T {
    let two = T::from(2.0).unwrap();
    let p = x * y;
    let d = x / y;
    let s = p - d;
    let q = T::from(3.0).unwrap() / y;
    s + two * x - q
}

#[test]
fn arithmetic_partials_by_hand() {
    let (x, y) = (1.5, 0.8);
    // By hand: ∂/∂p = 1, ∂/∂d = -1, ∂/∂s = 1, ∂/∂q = -1,
    // ∂/∂x = y - 1/y + 2, ∂/∂y = x + x/y² + 3/y².
    let dx = y - 1.0 / y + 2.0;
    let dy = x + x / (y * y) + 3.0 / (y * y);
    let graphs = [
        (arithmetic_graph(x, y), 1e-12),
        (arithmetic_f32_graph(x as f32, y as f32), 1e-5),
        (arithmetic_generic_graph(x, y), 1e-12),
    ];
    for (g, tol) in graphs {
        for (name, expected) in [("p", 1.0), ("d", -1.0), ("s", 1.0), ("q", -1.0)] {
            let a = g.adjoint_of(name).unwrap();
            assert!((a - expected).abs() < tol, "{name}: {a}");
        }
        let (gx, gy) = (g.adjoint_of("x").unwrap(), g.adjoint_of("y").unwrap());
        assert!((gx - dx).abs() < tol * 10.0, "{gx} vs {dx}");
        assert!((gy - dy).abs() < tol * 10.0, "{gy} vs {dy}");
        assert_eq!(g.results().len(), 1);
    }
}

#[differentiate]
fn fonction_complexe(x: f64, y: f64, z: f64) -> f64 {
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

#[test]
fn fonction_complexe_graph_matches_the_published_gradient() {
    let g = fonction_complexe_graph(7.0, 5.0, 2.0);
    // Three inputs and sixteen primitives (x·y, x/y, atan, ·, z², −x, cos, ·, /z, x/y, atan,
    // +, z·z, −x, cos, −), as written: no constants, since `powi`'s exponent has no rule.
    assert_eq!(g.nodes().len(), 19);
    // One edge per operand: ten binary operations of two, six unary of one... counted by hand.
    assert_eq!(g.edge_count(), 27);
    for (name, published) in [
        ("x", -5.66196787253764),
        ("y", -1.74937550466067),
        ("z", 17.0594520169513),
    ] {
        let got = g.adjoint_of(name).unwrap();
        assert!(
            (got - published).abs() < 1e-12,
            "{name}: {got} vs {published}"
        );
    }
    let (n, e) = check_dot(&g.to_dot()).unwrap();
    assert_eq!((n, e), (19, 2 * 27));
}

#[test]
fn dot_text_is_well_formed_and_graphviz_accepts_it() {
    for dot in [
        j_graph(2.0).to_dot(),
        running_graph(&[0.5, -1.0, 2.0]).to_dot(),
        smooth_max_graph(1.0, 3.0).to_dot(),
    ] {
        check_dot(&dot).unwrap_or_else(|e| panic!("{e}\n{dot}"));
        match std::process::Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
        {
            Ok(mut child) => {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(dot.as_bytes()).unwrap();
                let output = child.wait_with_output().unwrap();
                assert!(output.status.success(), "dot rejected:\n{}\n{dot}", String::from_utf8_lossy(&output.stderr));
            }
            Err(_) => eprintln!("note: Graphviz `dot` is not installed; checked the DOT text with the test's own checker only"),
        }
    }
}

/// A checker for the DOT this crate writes: a `digraph` of node statements (`nK [..];`),
/// edge statements (`nA -> nB [..];`) and nested `subgraph cluster_K { .. }` blocks, with
/// balanced quotes and brackets, every edge between declared nodes. Returns the counts of
/// nodes and edges.
fn check_dot(dot: &str) -> Result<(usize, usize), String> {
    let mut lines = dot.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().ok_or("empty")?;
    if !(first.starts_with("digraph \"") && first.ends_with('{')) {
        return Err(format!("bad header: {first}"));
    }
    let (mut depth, mut nodes, mut edges) = (1usize, Vec::new(), Vec::new());
    for line in lines {
        if line == "}" {
            depth = depth.checked_sub(1).ok_or("unbalanced }")?;
            continue;
        }
        if depth == 0 {
            return Err(format!("text after the graph: {line}"));
        }
        if line.starts_with("subgraph cluster_") && line.ends_with('{') {
            depth += 1;
            continue;
        }
        if !line.ends_with(';') {
            return Err(format!("statement without `;`: {line}"));
        }
        if line.matches('"').count() % 2 != 0
            || line.matches('[').count() != line.matches(']').count()
        {
            return Err(format!("unbalanced quotes or brackets: {line}"));
        }
        let head = line
            .split(" [")
            .next()
            .unwrap_or(line)
            .trim_end_matches(';');
        if let Some((a, b)) = head.split_once(" -> ") {
            edges.push((a.to_string(), b.to_string()));
        } else if head.starts_with('n') && head[1..].chars().all(|c| c.is_ascii_digit()) {
            nodes.push(head.to_string());
        } else if !(head.starts_with("rankdir")
            || head == "node"
            || head == "edge"
            || head.starts_with("label="))
        {
            return Err(format!("unknown statement: {line}"));
        }
    }
    if depth != 0 {
        return Err("unclosed graph".into());
    }
    for (a, b) in &edges {
        if !nodes.contains(a) || !nodes.contains(b) {
            return Err(format!("edge {a} -> {b} between undeclared nodes"));
        }
    }
    Ok((nodes.len(), edges.len()))
}
