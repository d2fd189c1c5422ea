//! An optimiser from crates.io driving gradients from `#[differentiate]`: `argmin`'s L-BFGS
//! with a Moré–Thuente line search fits a logistic-regression model held in a
//! `Differentiable` struct. argmin works on flat parameter vectors; the struct's numbers are
//! laid out flat and read back through `Differentiable` (declaration order).
//!
//! Run with `cargo run --release --example argmin_lbfgs`.

use argmin::core::{CostFunction, Error, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use differentiate::runtime::Differentiable as _;
use differentiate::{differentiate, Differentiable};

/// The model: weights and a bias, with an L2 penalty weight that is not a parameter.
#[derive(Clone, Debug, Differentiable)]
struct Model {
    w: [f64; 2],
    b: f64,
    #[differentiate(constant)]
    l2: f64,
}

/// Mean logistic loss of the model on labelled points, plus the L2 penalty on the weights.
#[differentiate(wrt(m))]
fn logistic_loss(m: &Model, x: &[f64], labels: &[f64]) -> f64 {
    let n = labels.len();
    let mut total = 0.0;
    for i in 0..n {
        let z = m.w[0] * x[2 * i] + m.w[1] * x[2 * i + 1] + m.b;
        // log(1 + exp(-y z)) for y = ±1, written to stay finite for large |z|.
        let margin = -labels[i] * z;
        total += margin.max(0.0) + (-margin.abs()).exp().ln_1p();
    }
    total / n as f64 + 0.5 * m.l2 * (m.w[0] * m.w[0] + m.w[1] * m.w[1])
}

/// The data, and a model whose constant fields shape the ones argmin's vectors become.
struct Problem {
    template: Model,
    x: Vec<f64>,
    labels: Vec<f64>,
}

impl Problem {
    fn model(&self, numbers: &[f64]) -> Model {
        let mut m = self.template.clone();
        m.read_numbers(&mut &numbers[..]);
        m
    }
}

impl CostFunction for Problem {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Vec<f64>) -> Result<f64, Error> {
        Ok(logistic_loss(&self.model(p), &self.x, &self.labels))
    }
}

impl Gradient for Problem {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, p: &Vec<f64>) -> Result<Vec<f64>, Error> {
        let (_, g) = logistic_loss_grad(&self.model(p), &self.x, &self.labels);
        let mut flat = Vec::new();
        g.write_numbers(&mut flat);
        Ok(flat)
    }
}

/// Two Gaussian-ish blobs from a fixed-seed generator, labelled −1 and +1.
fn blobs(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state = 7u64;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for i in 0..n {
        let label = if i % 2 == 0 { 1.0 } else { -1.0 };
        let spread = |u: f64, v: f64| (u + v - 1.0) * 1.5;
        x.push(label * 1.0 + spread(uniform(), uniform()));
        x.push(label * -0.5 + spread(uniform(), uniform()));
        labels.push(label);
    }
    (x, labels)
}

fn main() -> Result<(), Error> {
    let (x, labels) = blobs(200);
    let template = Model {
        w: [0.0, 0.0],
        b: 0.0,
        l2: 1e-3,
    };
    let mut start = Vec::new();
    template.write_numbers(&mut start);
    let problem = Problem {
        template,
        x,
        labels,
    };

    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7);
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start).max_iters(100))
        .run()?;
    let state = result.state();
    let best = state
        .best_param
        .clone()
        .expect("L-BFGS keeps its best parameters");
    let model = result.problem.problem.as_ref().map(|p| p.model(&best));
    println!(
        "L-BFGS: {} iterations, loss {:.6}, termination {:?}",
        state.iter, state.best_cost, state.termination_status
    );
    println!("model: {model:?}");
    // At the optimum the gradient vanishes.
    let problem = result
        .problem
        .problem
        .as_ref()
        .expect("the executor returns the problem");
    let g = problem.gradient(&best)?;
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    println!("‖gradient‖ at the optimum: {norm:.2e}");
    assert!(norm < 1e-5, "L-BFGS stopped away from a stationary point");
    Ok(())
}
