//! The computation graph of a differentiated function, evaluated at one point:
//! what `NAME_graph(params..)` returns.
//!
//! One node per primitive the macro sees (an input, a constant, an operation), each with its
//! value and its adjoint (the derivative of the result with respect to it). Loops and
//! branches appear as clusters holding what ran: one cluster per iteration, one for the arm
//! taken. The generated `NAME_graph` records the nodes while it runs the function, with the
//! local partial derivative along each edge; the adjoints are then accumulated backwards
//! over the edges, the reverse sweep done by hand, so they can be read node by node
//! (TensorFlow's `tape.gradient(t, y)`, PyTorch's `retain_grad`).
//!
//! ```text
//! #[differentiate]
//! fn t(x: f64) -> f64 { let y = x.cos(); let z = 4.0 * y * y; z.tanh() }
//!
//! let graph = t_graph(7.0);
//! graph.adjoint_of("y")   // Some(0.25037..): ∂t/∂y
//! graph.to_dot()          // Graphviz text: `dot -Tpng`
//! ```

use std::fmt::Write as _;

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A parameter, or an element of one.
    Input,
    /// A value that carries no derivative: a literal, a constant parameter, a value computed
    /// from constants only.
    Const,
    /// A primitive applied to other nodes.
    Operation,
}

/// One value of the computation.
#[derive(Clone, Debug)]
pub struct Node {
    pub kind: NodeKind,
    /// The operation (`sin`, `*`, `powi(·, 3)`), the parameter's name, or the constant.
    pub label: String,
    /// The user's variables bound to this value (`y` of `let y = x.cos();`), in order.
    pub names: Vec<String>,
    pub value: f64,
    /// The derivative of the result with respect to this value.
    pub adjoint: f64,
    /// The operands, each with the local partial derivative `∂self/∂operand`.
    pub inputs: Vec<(usize, f64)>,
    /// The cluster the node was computed in (an index into [`Graph::clusters`]), if any.
    pub cluster: Option<usize>,
    /// Whether the node is a result of the function.
    pub result: bool,
}

/// A loop iteration or a branch arm that ran.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub label: String,
    /// The enclosing cluster.
    pub parent: Option<usize>,
}

/// A function's computation graph at one point, with every node's value and adjoint.
#[derive(Clone, Debug)]
pub struct Graph {
    name: String,
    nodes: Vec<Node>,
    clusters: Vec<Cluster>,
}

impl Graph {
    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The nodes, in the order they were computed.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// How many edges join the nodes (one per operand of each operation).
    pub fn edge_count(&self) -> usize {
        self.nodes.iter().map(|n| n.inputs.len()).sum()
    }

    /// The last node bound to the user's variable `name`.
    pub fn node_of(&self, name: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .rev()
            .find(|n| n.names.iter().any(|m| m == name))
    }

    /// The adjoint of the user's variable `name` (its last value): the derivative of the
    /// result with respect to it. `None` if no value was bound to that name.
    pub fn adjoint_of(&self, name: &str) -> Option<f64> {
        self.node_of(name).map(|n| n.adjoint)
    }

    /// The value of the user's variable `name` (its last value).
    pub fn value_of(&self, name: &str) -> Option<f64> {
        self.node_of(name).map(|n| n.value)
    }

    /// The result nodes' values.
    pub fn results(&self) -> Vec<f64> {
        self.nodes
            .iter()
            .filter(|n| n.result)
            .map(|n| n.value)
            .collect()
    }

    /// Graphviz DOT text: inputs red, operations blue boxes, results green, constants grey;
    /// forward edges black, the reverse sweep's edges red (each labelled with what it
    /// carries back, adjoint × local partial); clusters for loop iterations and branch arms.
    pub fn to_dot(&self) -> String {
        let mut dot = String::new();
        let _ = writeln!(dot, "digraph \"{}\" {{", escape(&self.name));
        dot.push_str("  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n");
        dot.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
        // Nodes, each inside its cluster (clusters nest as they ran).
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); self.clusters.len()];
        for (c, cluster) in self.clusters.iter().enumerate() {
            if let Some(parent) = cluster.parent {
                children[parent].push(c);
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if node.cluster.is_none() {
                self.write_node(&mut dot, i, "  ");
            }
        }
        for (c, cluster) in self.clusters.iter().enumerate() {
            if cluster.parent.is_none() {
                self.write_cluster(&mut dot, c, &children, 1);
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            for &(from, _) in &node.inputs {
                let _ = writeln!(dot, "  n{from} -> n{i} [color=black];");
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            for &(to, partial) in &node.inputs {
                let carried = node.adjoint * partial;
                let _ = writeln!(
                    dot,
                    "  n{i} -> n{to} [color=red, fontcolor=red, style=dashed, constraint=false, label=\"{}\"];",
                    number(carried)
                );
            }
        }
        dot.push_str("}\n");
        dot
    }

    fn write_cluster(&self, dot: &mut String, c: usize, children: &[Vec<usize>], depth: usize) {
        let indent = "  ".repeat(depth);
        let _ = writeln!(dot, "{indent}subgraph cluster_{c} {{");
        let _ = writeln!(
            dot,
            "{indent}  label=\"{}\"; style=rounded; color=gray50;",
            escape(&self.clusters[c].label)
        );
        let inner = format!("{indent}  ");
        for (i, node) in self.nodes.iter().enumerate() {
            if node.cluster == Some(c) {
                self.write_node(dot, i, &inner);
            }
        }
        for &child in &children[c] {
            self.write_cluster(dot, child, children, depth + 1);
        }
        let _ = writeln!(dot, "{indent}}}");
    }

    fn write_node(&self, dot: &mut String, i: usize, indent: &str) {
        let node = &self.nodes[i];
        let (shape, color) = match (node.kind, node.result) {
            (_, true) => ("box", "palegreen"),
            (NodeKind::Input, _) => ("ellipse", "lightcoral"),
            (NodeKind::Const, _) => ("ellipse", "gray90"),
            (NodeKind::Operation, _) => ("box", "lightblue"),
        };
        let mut label = escape(&node.label);
        if !node.names.is_empty() {
            let names = node.names.join(", ");
            if names != node.label {
                let _ = write!(label, "\\n{}", escape(&names));
            }
        }
        let _ = write!(
            label,
            "\\nvalue {}\\nadjoint {}",
            number(node.value),
            number(node.adjoint)
        );
        let _ = writeln!(
            dot,
            "{indent}n{i} [label=\"{label}\", shape={shape}, style=filled, fillcolor={color}];"
        );
    }
}

/// A number as the graph shows it: six significant digits.
fn number(x: f64) -> String {
    if x == 0.0 || (1e-3..1e6).contains(&x.abs()) {
        let text = format!("{x:.6}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        if text == "-0" {
            "0".to_string()
        } else {
            text.to_string()
        }
    } else {
        format!("{x:.5e}")
    }
}

/// Text inside a DOT double-quoted string.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// What a graph is recorded with: its methods are what the [`record`] functions of the same
/// names do, there documented.
struct Recorder {
    graph: Graph,
    open: Vec<usize>,
}

impl Recorder {
    fn new(name: &str) -> Self {
        Recorder {
            graph: Graph {
                name: name.to_string(),
                nodes: Vec::new(),
                clusters: Vec::new(),
            },
            open: Vec::new(),
        }
    }

    fn push(
        &mut self,
        kind: NodeKind,
        label: String,
        value: f64,
        inputs: Vec<(usize, f64)>,
    ) -> usize {
        self.graph.nodes.push(Node {
            kind,
            label,
            names: Vec::new(),
            value,
            adjoint: 0.0,
            inputs,
            cluster: self.open.last().copied(),
            result: false,
        });
        self.graph.nodes.len() - 1
    }

    fn input(&mut self, label: &str, value: impl Into<f64>) -> usize {
        let value = value.into();
        let node = self.push(NodeKind::Input, label.to_string(), value, Vec::new());
        self.graph.nodes[node].names.push(label.to_string());
        node
    }

    fn constant(&mut self, label: &str, value: impl Into<f64>) -> usize {
        self.push(NodeKind::Const, label.to_string(), value.into(), Vec::new())
    }

    fn operation<P: Into<f64> + Copy>(
        &mut self,
        label: &str,
        value: impl Into<f64>,
        inputs: &[(usize, P)],
    ) -> usize {
        let inputs = inputs.iter().map(|&(node, p)| (node, p.into())).collect();
        self.push(NodeKind::Operation, label.to_string(), value.into(), inputs)
    }

    fn name(&mut self, node: usize, name: &str) {
        let names = &mut self.graph.nodes[node].names;
        if names.last().map(String::as_str) != Some(name) {
            names.push(name.to_string());
        }
    }

    fn enter(&mut self, label: String) {
        let parent = self.open.last().copied();
        self.graph.clusters.push(Cluster { label, parent });
        self.open.push(self.graph.clusters.len() - 1);
    }

    fn leave(&mut self) {
        self.open.pop();
    }

    fn finish(mut self, results: &[usize]) -> Graph {
        let nodes = &mut self.graph.nodes;
        for &r in results {
            nodes[r].result = true;
            nodes[r].adjoint += 1.0;
        }
        for i in (0..nodes.len()).rev() {
            let adjoint = nodes[i].adjoint;
            if adjoint == 0.0 {
                continue;
            }
            for k in 0..nodes[i].inputs.len() {
                let (from, partial) = nodes[i].inputs[k];
                nodes[from].adjoint += adjoint * partial;
            }
        }
        self.graph
    }
}

/// What the generated `NAME_graph` records with: functions over the thread's recorder rather
/// than methods of a local one. Each method call would borrow the local, and the borrow
/// checker's work grows with the number of borrows times the length of the function (the
/// graph of a 1000-statement function took over a second to check).
#[doc(hidden)]
pub mod record {
    use super::{Graph, Recorder};
    use crate::rules;
    use std::cell::RefCell;

    thread_local! {
        /// The graphs being recorded on this thread, the current one last (a helper the
        /// function calls may ask for another function's graph).
        static RECORDERS: RefCell<Vec<Recorder>> = const { RefCell::new(Vec::new()) };
    }

    /// A recording [`start`] began and [`finish`] ends. Dropped unfinished (the function
    /// panicked), it discards what it recorded.
    pub struct Recording {
        depth: usize,
    }

    impl Drop for Recording {
        fn drop(&mut self) {
            let _ = RECORDERS.try_with(|r| r.borrow_mut().truncate(self.depth - 1));
        }
    }

    /// Starts recording the graph of the function `name`.
    pub fn start(name: &str) -> Recording {
        RECORDERS.with(|r| {
            let mut recorders = r.borrow_mut();
            recorders.push(Recorder::new(name));
            Recording {
                depth: recorders.len(),
            }
        })
    }

    fn current<R>(f: impl FnOnce(&mut Recorder) -> R) -> R {
        RECORDERS.with(|r| {
            let mut recorders = r.borrow_mut();
            let recorder = recorders.last_mut();
            f(recorder.expect("differentiate: a graph node recorded outside `NAME_graph`"))
        })
    }

    // Values and partials are taken as `f64` or `f32` (`impl Into<f64>`), so that the graph
    // of a function over either stores its numbers without a conversion call per node.

    /// A parameter (or an element of one, `x[2]`).
    pub fn input(label: &str, value: impl Into<f64>) -> usize {
        current(|r| r.input(label, value))
    }

    /// A value with no derivative.
    pub fn constant(label: &str, value: impl Into<f64>) -> usize {
        current(|r| r.constant(label, value))
    }

    /// An operation on other nodes, with the local partial derivative along each (an array,
    /// taken by value: a slice of a temporary would be one more borrow).
    pub fn operation<P: Into<f64> + Copy>(
        label: &str,
        value: impl Into<f64>,
        inputs: impl AsRef<[(usize, P)]>,
    ) -> usize {
        current(|r| r.operation(label, value, inputs.as_ref()))
    }

    // The four arithmetic operations, the most frequent nodes, record with a call naming only
    // the operand nodes and values: the generated graph of a long function is mostly these,
    // and each token of it costs expansion and checking time. The partials are the same
    // rules the generated pullbacks apply (`rules::mul_a` ..), at seed 1, in `f64`.

    /// `a + b`: partials 1 and 1.
    pub fn add(value: impl Into<f64>, a: usize, b: usize) -> usize {
        operation("+", value, [(a, 1.0), (b, 1.0)])
    }

    /// `a - b`: partials 1 and −1.
    pub fn sub(value: impl Into<f64>, a: usize, b: usize) -> usize {
        operation("-", value, [(a, 1.0), (b, -1.0)])
    }

    /// `a * b`, of the values `a_value` and `b_value`.
    pub fn mul(
        value: impl Into<f64>,
        a: usize,
        a_value: impl Into<f64>,
        b: usize,
        b_value: impl Into<f64>,
    ) -> usize {
        let (a_value, b_value) = (a_value.into(), b_value.into());
        let partials = [
            (a, rules::mul_a(1.0, b_value)),
            (b, rules::mul_b(1.0, a_value)),
        ];
        operation("*", value, partials)
    }

    /// `a / b`, of the divisor's value `b_value`.
    pub fn div(value: impl Into<f64>, a: usize, b: usize, b_value: impl Into<f64>) -> usize {
        let (quotient, b_value) = (value.into(), b_value.into());
        let partials = [
            (a, rules::div_a(1.0, b_value)),
            (b, rules::div_b(1.0, b_value, quotient)),
        ];
        operation("/", quotient, partials)
    }

    /// The user's variable `name` now holds node `node`.
    pub fn name(node: usize, name: &str) {
        current(|r| r.name(node, name))
    }

    /// A loop iteration or branch arm starts.
    pub fn enter(label: String) {
        current(|r| r.enter(label))
    }

    /// The innermost cluster ends.
    pub fn leave() {
        current(|r| r.leave())
    }

    /// The graph, with the adjoints of the results (each seeded with 1: for several, the
    /// derivatives of their sum) accumulated backwards over the edges.
    pub fn finish(recording: Recording, results: &[usize]) -> Graph {
        let recorder = RECORDERS.with(|r| {
            let mut recorders = r.borrow_mut();
            assert_eq!(
                recorders.len(),
                recording.depth,
                "differentiate: graphs finished out of order"
            );
            recorders.pop().expect("a recorder per recording")
        });
        recorder.finish(results)
    }
}

/// A number of any float type, as the graph stores it.
#[doc(hidden)]
#[inline]
pub fn value<N: num_traits::ToPrimitive>(x: &N) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}

/// The seed that picks output `k` of a callee with several outputs (a tuple or an array of
/// floats).
#[doc(hidden)]
pub trait UnitSeed: Sized {
    fn unit(k: usize) -> Self;
}

impl<T: num_traits::Float, const N: usize> UnitSeed for [T; N] {
    fn unit(k: usize) -> Self {
        std::array::from_fn(|i| if i == k { T::one() } else { T::zero() })
    }
}

macro_rules! unit_tuples {
    ($(($($t:ident $i:tt),+)),+) => {$(
        impl<T: num_traits::Float> UnitSeed for ($($t,)+) {
            fn unit(k: usize) -> Self {
                ($(if k == $i { T::one() } else { T::zero() },)+)
            }
        }
    )+};
}

unit_tuples!(
    (T 0, T 1),
    (T 0, T 1, T 2),
    (T 0, T 1, T 2, T 3),
    (T 0, T 1, T 2, T 3, T 4),
    (T 0, T 1, T 2, T 3, T 4, T 5)
);

/// The unit seed `unit(k)` of whatever type the callee's pullback takes.
#[doc(hidden)]
pub fn unit_seed<S: UnitSeed>(k: usize) -> S {
    S::unit(k)
}

/// The partial derivative in a callee's gradient entry for a number argument. A `Constant`
/// entry (the callee does not differentiate that parameter) is reported where the pullback
/// is called; here it reads 0, so that it is reported once.
#[doc(hidden)]
pub trait ScalarPartial {
    fn partial(&self) -> f64;
}

impl<N: num_traits::ToPrimitive> ScalarPartial for N {
    fn partial(&self) -> f64 {
        value(self)
    }
}

impl ScalarPartial for crate::compose::Constant {
    fn partial(&self) -> f64 {
        0.0
    }
}

/// The partial derivatives in a callee's gradient entry for an array argument, element by
/// element (a `Constant` entry: none, as for [`ScalarPartial`]).
#[doc(hidden)]
pub trait ArrayPartials {
    fn partials(&self) -> Vec<f64>;
}

impl<N: num_traits::ToPrimitive> ArrayPartials for Vec<N> {
    fn partials(&self) -> Vec<f64> {
        self.iter().map(value).collect()
    }
}

impl<N: num_traits::ToPrimitive, const K: usize> ArrayPartials for [N; K] {
    fn partials(&self) -> Vec<f64> {
        self.iter().map(value).collect()
    }
}

impl ArrayPartials for crate::compose::Constant {
    fn partials(&self) -> Vec<f64> {
        Vec::new()
    }
}

/// [`ScalarPartial::partial`] of an entry.
#[doc(hidden)]
pub fn partial<E: ScalarPartial>(entry: &E) -> f64 {
    entry.partial()
}

/// [`ArrayPartials::partials`] of an entry.
#[doc(hidden)]
pub fn entry_values<E: ArrayPartials>(entry: &E) -> Vec<f64> {
    entry.partials()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// z = (x² cos x)², the diamond: x reaches z along two paths whose adjoints add.
    fn diamond(x: f64) -> Graph {
        let mut g = Recorder::new("diamond");
        let xn = g.input("x", x);
        let a = x * x;
        let an = g.operation("*", a, &[(xn, x), (xn, x)]);
        g.name(an, "a");
        let b = x.cos();
        let bn = g.operation("cos", b, &[(xn, -x.sin())]);
        g.name(bn, "b");
        let c = a * b;
        let cn = g.operation("*", c, &[(an, b), (bn, a)]);
        let z = c * c;
        let zn = g.operation("*", z, &[(cn, c), (cn, c)]);
        g.finish(&[zn])
    }

    #[test]
    fn adjoints_add_along_both_paths() {
        let pi = std::f64::consts::PI;
        let g = diamond(pi);
        assert!((g.adjoint_of("a").unwrap() - 2.0 * pi.powi(2)).abs() < 1e-12);
        assert!((g.adjoint_of("b").unwrap() + 2.0 * pi.powi(4)).abs() < 1e-10);
        assert!((g.adjoint_of("x").unwrap() - 4.0 * pi.powi(3)).abs() < 1e-10);
        assert_eq!(g.nodes().len(), 5);
        assert_eq!(g.edge_count(), 7);
    }

    #[test]
    fn dot_has_every_node_and_edge_both_ways() {
        let dot = diamond(1.0).to_dot();
        assert!(dot.starts_with("digraph \"diamond\" {"));
        assert_eq!(dot.matches("[label=").count(), 5);
        assert_eq!(dot.matches("color=black]").count(), 7);
        assert_eq!(dot.matches("style=dashed").count(), 7);
        assert!(dot.trim_end().ends_with('}'));
    }

    #[test]
    fn a_graph_recorded_while_another_is_recorded_is_its_own() {
        let outer = record::start("outer");
        let x = record::input("x", 2.0);
        let inner = record::start("inner");
        let y = record::input("y", 3.0_f32);
        let yy = record::operation("*", 9.0, [(y, 3.0), (y, 3.0)]);
        let inner = record::finish(inner, &[yy]);
        let xx = record::operation("sin", 2.0_f64.sin(), [(x, 2.0_f64.cos())]);
        let outer = record::finish(outer, &[xx]);
        assert_eq!((inner.name(), inner.nodes().len()), ("inner", 2));
        assert_eq!(inner.adjoint_of("y"), Some(6.0));
        assert_eq!((outer.name(), outer.nodes().len()), ("outer", 2));
        assert_eq!(outer.adjoint_of("x"), Some(2.0_f64.cos()));
    }

    #[test]
    fn a_recording_a_panic_left_unfinished_is_discarded() {
        let panicked = std::panic::catch_unwind(|| {
            let _recording = record::start("left");
            record::input("x", 1.0);
            panic!("the function panicked");
        });
        assert!(panicked.is_err());
        let recording = record::start("next");
        let z = record::input("z", 1.0);
        let graph = record::finish(recording, &[z]);
        assert_eq!((graph.name(), graph.nodes().len()), ("next", 1));
    }

    #[test]
    fn unit_seeds_pick_one_output() {
        let s: (f64, f64, f64) = unit_seed(1);
        assert_eq!(s, (0.0, 1.0, 0.0));
        let a: [f32; 2] = unit_seed(0);
        assert_eq!(a, [1.0, 0.0]);
    }
}
