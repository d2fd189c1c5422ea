//! Data-parallel gradients (issue 17): a batch loss is a sum over samples, so its gradient is
//! the sum of the samples' gradients, and the samples can be split among threads. Each rayon
//! task sums the generated per-sample gradients of one chunk of samples into a gradient of its
//! own, and the chunks' gradients are then added up: no locks, and no allocation per sample
//! (the model's fields are arrays, so a per-sample gradient is a value on the stack).
//!
//! The model: a perceptron with one hidden layer, `z = w2 · tanh(W1 x + b1) + b2`, and the
//! logistic loss `ln(1 + exp(-y z))` of a label `y = ±1`. The batch loss is the mean over the
//! samples. `examples/data_parallel.rs` and the benchmark report include this file with
//! `#[path]`.

#![allow(clippy::needless_range_loop)]

use differentiate::{differentiate, Differentiable};
use rayon::prelude::*;

pub const INPUTS: usize = 16;
pub const HIDDEN: usize = 32;

/// The samples of the report's and the example's batch.
pub const SAMPLES: usize = 16_384;

#[derive(Clone, Debug, PartialEq, Differentiable)]
pub struct Model {
    /// Row `j` (entries `j·INPUTS..(j + 1)·INPUTS`) holds hidden unit `j`'s weights.
    pub w1: [f64; INPUTS * HIDDEN],
    pub b1: [f64; HIDDEN],
    pub w2: [f64; HIDDEN],
    pub b2: f64,
}

impl Model {
    pub fn zeros() -> Model {
        Model {
            w1: [0.0; INPUTS * HIDDEN],
            b1: [0.0; HIDDEN],
            w2: [0.0; HIDDEN],
            b2: 0.0,
        }
    }

    /// `self += scale · other`, field by field: accumulating gradients and descent steps.
    pub fn add_scaled(&mut self, scale: f64, other: &Model) {
        let pairs = self
            .w1
            .iter_mut()
            .zip(&other.w1)
            .chain(self.b1.iter_mut().zip(&other.b1))
            .chain(self.w2.iter_mut().zip(&other.w2));
        for (a, b) in pairs {
            *a += scale * b;
        }
        self.b2 += scale * other.b2;
    }

    /// `self *= factor`: a sum of gradients into a mean.
    pub fn scale(&mut self, factor: f64) {
        let numbers = self.w1.iter_mut().chain(&mut self.b1).chain(&mut self.w2);
        for a in numbers {
            *a *= factor;
        }
        self.b2 *= factor;
    }

    /// Number `i` in declaration order (as in [`Model::numbers`]).
    pub fn number_mut(&mut self, i: usize) -> &mut f64 {
        let (w1, b1, w2) = (self.w1.len(), self.b1.len(), self.w2.len());
        match i {
            _ if i < w1 => &mut self.w1[i],
            _ if i < w1 + b1 => &mut self.b1[i - w1],
            _ if i < w1 + b1 + w2 => &mut self.w2[i - w1 - b1],
            _ => &mut self.b2,
        }
    }

    /// The numbers in declaration order, to compare gradients entry by entry.
    pub fn numbers(&self) -> Vec<f64> {
        let fields = self.w1.iter().chain(&self.b1).chain(&self.w2);
        fields.chain([&self.b2]).copied().collect()
    }
}

/// One sample's loss: the logistic loss of the perceptron's output against the label `y = ±1`.
#[differentiate(wrt(m))]
pub fn sample_loss(m: &Model, x: &[f64; INPUTS], y: f64) -> f64 {
    let mut z = m.b2;
    for j in 0..HIDDEN {
        let mut a = m.b1[j];
        for k in 0..INPUTS {
            a += m.w1[j * INPUTS + k] * x[k];
        }
        z += m.w2[j] * a.tanh();
    }
    (-y * z).exp().ln_1p()
}

/// The batch: inputs uniform in [-1, 1), labels the sign of a fixed "teacher" perceptron's
/// output, one in ten flipped so the loss does not go to zero. Deterministic.
pub fn data(samples: usize) -> (Vec<[f64; INPUTS]>, Vec<f64>) {
    let mut state = 7u64;
    let teacher = start(&mut state, 1.0);
    let mut xs = Vec::with_capacity(samples);
    let mut ys = Vec::with_capacity(samples);
    for _ in 0..samples {
        let mut x = [0.0; INPUTS];
        for v in &mut x {
            *v = uniform(&mut state);
        }
        let sign = if teacher_output(&teacher, &x) >= 0.0 {
            1.0
        } else {
            -1.0
        };
        let flip = if uniform(&mut state) < -0.8 {
            -1.0
        } else {
            1.0
        };
        xs.push(x);
        ys.push(sign * flip);
    }
    (xs, ys)
}

fn teacher_output(m: &Model, x: &[f64; INPUTS]) -> f64 {
    let mut z = m.b2;
    for j in 0..HIDDEN {
        let a: f64 = m.b1[j]
            + (0..INPUTS)
                .map(|k| m.w1[j * INPUTS + k] * x[k])
                .sum::<f64>();
        z += m.w2[j] * a.tanh();
    }
    z
}

/// Uniform in [-1, 1) from a linear congruential generator, so every run sees the same data.
fn uniform(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// Weights uniform in `[-scale, scale)/√fan-in`.
fn start(state: &mut u64, scale: f64) -> Model {
    let mut m = Model::zeros();
    for w in &mut m.w1 {
        *w = scale * uniform(state) / (INPUTS as f64).sqrt();
    }
    for b in &mut m.b1 {
        *b = 0.1 * scale * uniform(state);
    }
    for w in &mut m.w2 {
        *w = scale * uniform(state) / (HIDDEN as f64).sqrt();
    }
    m
}

/// The starting point of training (different from the teacher).
pub fn initial_model() -> Model {
    start(&mut 12345, 0.5)
}

/// The batch loss, the mean of the samples' losses, with the original function.
pub fn batch_loss(m: &Model, xs: &[[f64; INPUTS]], ys: &[f64]) -> f64 {
    let total: f64 = xs.iter().zip(ys).map(|(x, &y)| sample_loss(m, x, y)).sum();
    total / xs.len() as f64
}

/// The sum of the samples' losses and gradients over `xs`, `ys`, in order, on this thread.
fn chunk_sum(m: &Model, xs: &[[f64; INPUTS]], ys: &[f64]) -> (f64, Model) {
    let mut total = 0.0;
    let mut gradient = Model::zeros();
    for (x, &y) in xs.iter().zip(ys) {
        let (loss, g) = sample_loss_grad(m, x, y);
        total += loss;
        gradient.add_scaled(1.0, &g);
    }
    (total, gradient)
}

/// The batch loss and its gradient, one sample after the other.
pub fn sequential_gradient(m: &Model, xs: &[[f64; INPUTS]], ys: &[f64]) -> (f64, Model) {
    let (total, mut gradient) = chunk_sum(m, xs, ys);
    let n = xs.len() as f64;
    gradient.scale(1.0 / n);
    (total / n, gradient)
}

/// The batch loss and its gradient with rayon: chunks of `chunk` samples, each summed on one
/// thread as [`sequential_gradient`] does, then the chunks' sums added pairwise.
pub fn parallel_gradient(
    m: &Model,
    xs: &[[f64; INPUTS]],
    ys: &[f64],
    chunk: usize,
) -> (f64, Model) {
    let (total, mut gradient) = xs
        .par_chunks(chunk)
        .zip(ys.par_chunks(chunk))
        .map(|(xs, ys)| chunk_sum(m, xs, ys))
        .reduce(
            || (0.0, Model::zeros()),
            |(la, mut ga), (lb, gb)| {
                ga.add_scaled(1.0, &gb);
                (la + lb, ga)
            },
        );
    let n = xs.len() as f64;
    gradient.scale(1.0 / n);
    (total / n, gradient)
}

/// The chunk size for `samples` samples: about 32 chunks per thread, so the threads finish
/// within a chunk (about 0.5 ms on 16 384 samples and 2 threads) of each other even when one
/// is slowed by another process, and at least 64 samples, so a chunk's work (over 100 µs at
/// about 2 µs a sample) dwarfs rayon's cost of handing it out and of adding its gradient in.
pub fn chunk_size(samples: usize) -> usize {
    (samples / (32 * rayon::current_num_threads())).max(64)
}
