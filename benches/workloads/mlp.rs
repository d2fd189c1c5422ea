//! Workload 6: the loss of a two-layer perceptron over `Tensor`s (as in `examples/mlp.rs`),
//! batch 256, input 256, hidden 256 with tanh, 10 classes, mean softmax cross-entropy; the
//! gradient in the four parameter tensors, generated and written by hand.

#![allow(clippy::type_complexity)]

use differentiate::{differentiate, Differentiable, Tensor};

/// Batch size, input dimension, hidden width, classes.
pub const BATCH: usize = 256;
pub const INPUT: usize = 256;
pub const HIDDEN: usize = 256;
pub const CLASSES: usize = 10;

/// Mean cross-entropy of a tanh hidden layer and a softmax output (`examples/mlp.rs`'s loss).
#[differentiate(wrt(w1, b1, w2, b2))]
pub fn mlp_loss(
    w1: &Tensor,
    b1: &Tensor,
    w2: &Tensor,
    b2: &Tensor,
    x: &Tensor,
    onehot: &Tensor,
) -> f64 {
    let hidden = (x.matmul(w1) + b1).tanh();
    let logits = hidden.matmul(w2) + b2;
    let log_normaliser = logits.logsumexp_axis(1);
    let picked = (&logits * onehot).sum_axis(1);
    (&log_normaliser - &picked).mean()
}

/// The perceptron's parameters in a struct, as a model is usually held.
#[derive(Clone, Differentiable)]
pub struct MlpParams {
    pub w1: Tensor,
    pub b1: Tensor,
    pub w2: Tensor,
    pub b2: Tensor,
}

/// [`mlp_loss`] with the parameters in a struct: its gradient is an `MlpParams`.
#[differentiate(wrt(params))]
pub fn mlp_struct_loss(params: &MlpParams, x: &Tensor, onehot: &Tensor) -> f64 {
    let hidden = (x.matmul(&params.w1) + &params.b1).tanh();
    let logits = hidden.matmul(&params.w2) + &params.b2;
    let log_normaliser = logits.logsumexp_axis(1);
    let picked = (&logits * onehot).sum_axis(1);
    (&log_normaliser - &picked).mean()
}

/// The hand-written gradient of [`mlp_struct_loss`]: [`mlp_loss_hand_grad`] on the fields.
pub fn mlp_struct_loss_hand_grad(
    params: &MlpParams,
    x: &Tensor,
    onehot: &Tensor,
) -> (f64, MlpParams) {
    let (value, (w1, b1, w2, b2)) =
        mlp_loss_hand_grad(&params.w1, &params.b1, &params.w2, &params.b2, x, onehot);
    (value, MlpParams { w1, b1, w2, b2 })
}

/// The textbook backward pass, written as one would with ndarray: H = tanh(X·W1 + b1),
/// L = H·W2 + b2; per row the loss term lse(L) − L·y and dL = (softmax(L) − y)/B in one pass;
/// dW2 = Hᵀ·dL, db2 = Σ_rows dL, dZ = (dL·W2ᵀ) ∘ (1 − H²), dW1 = Xᵀ·dZ, db1 = Σ_rows dZ.
///
/// Buffers are updated in place where the value is not needed again (bias and tanh into the
/// product, softmax into the logits, the tanh derivative into dL·W2ᵀ). The transposed products
/// use ndarray's strided views through `reversed_axes` on arrays this function owns (no copy):
/// Hᵀ·dL directly, and Xᵀ·dZ as (dZᵀ·X)ᵀ, since X is borrowed (the result is a column-major
/// D × H array; the same values, and `Tensor` does not care about layout). Only W2ᵀ (2,560
/// numbers) is copied. `Tensor::array()` gives the `ndarray` array; this crate reaches ndarray
/// only through `Tensor`, so the products are `Tensor::matmul` (the `gemm` crate, the kernel
/// the generated rules use too). The tanh is `f64::tanh` in place, as one writes it over an
/// ndarray array; `Tensor::tanh`, which the generated code calls, has a vectorised kernel.
pub fn mlp_loss_hand_grad(
    w1: &Tensor,
    b1: &Tensor,
    w2: &Tensor,
    b2: &Tensor,
    x: &Tensor,
    onehot: &Tensor,
) -> (f64, (Tensor, Tensor, Tensor, Tensor)) {
    let batch = x.shape()[0] as f64;
    let mut hidden = x.matmul(w1).into_array(); // fresh, so moved out without a copy
    hidden.zip_mut_with(b1.array(), |h, b| *h = (*h + b).tanh());
    let hidden = Tensor::from(hidden);
    let mut dlogits = hidden.matmul(w2).into_array();
    dlogits.zip_mut_with(b2.array(), |l, b| *l += b);
    let mut total = 0.0;
    for (mut row, y) in dlogits.rows_mut().into_iter().zip(onehot.array().rows()) {
        let (mut max, mut picked) = (f64::NEG_INFINITY, 0.0);
        for (l, y) in row.iter().zip(&y) {
            max = max.max(*l);
            picked += l * y;
        }
        row.mapv_inplace(|l| (l - max).exp());
        let s = row.sum();
        total += max + s.ln() - picked;
        row.zip_mut_with(&y, |e, y| *e = (*e / s - y) / batch);
    }
    let dlogits = Tensor::from(dlogits);
    let db2 = dlogits.sum_axis(0);
    let mut dz = dlogits.matmul(&w2.t()).into_array();
    dz.zip_mut_with(hidden.array(), |d, h| *d *= 1.0 - h * h);
    let dw2 = Tensor::from(hidden.into_array().reversed_axes()).matmul(&dlogits);
    let dz = Tensor::from(dz);
    let db1 = dz.sum_axis(0);
    let dw1t = Tensor::from(dz.into_array().reversed_axes()).matmul(x);
    let dw1 = Tensor::from(dw1t.into_array().reversed_axes());
    (total / batch, (dw1, db1, dw2, db2))
}

/// The workload's data: parameters `(w1, b1, w2, b2)` drawn uniformly with the usual
/// 1/√fan-in scale, inputs uniform in [−1, 1], labels spread over the classes.
pub struct MlpInput {
    pub w1: Tensor,
    pub b1: Tensor,
    pub w2: Tensor,
    pub b2: Tensor,
    pub x: Tensor,
    pub onehot: Tensor,
}

impl MlpInput {
    pub fn new() -> MlpInput {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut uniform = move |scale: f64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            scale * (2.0 * ((state >> 11) as f64 / (1u64 << 53) as f64) - 1.0)
        };
        let mut tensor = |shape: &[usize], scale: f64| {
            let n = shape.iter().product();
            Tensor::from_vec(shape, (0..n).map(|_| uniform(scale)).collect())
        };
        let w1 = tensor(&[INPUT, HIDDEN], (3.0 / INPUT as f64).sqrt());
        let b1 = tensor(&[HIDDEN], 0.1);
        let w2 = tensor(&[HIDDEN, CLASSES], (3.0 / HIDDEN as f64).sqrt());
        let b2 = tensor(&[CLASSES], 0.1);
        let x = tensor(&[BATCH, INPUT], 1.0);
        let mut onehot = vec![0.0; BATCH * CLASSES];
        for i in 0..BATCH {
            onehot[i * CLASSES + (i * 7 + i / CLASSES) % CLASSES] = 1.0;
        }
        let onehot = Tensor::from_vec(&[BATCH, CLASSES], onehot);
        MlpInput {
            w1,
            b1,
            w2,
            b2,
            x,
            onehot,
        }
    }

    pub fn loss(&self) -> f64 {
        mlp_loss(
            &self.w1,
            &self.b1,
            &self.w2,
            &self.b2,
            &self.x,
            &self.onehot,
        )
    }

    /// The generated gradient, flattened (w1, b1, w2, b2 in row-major order).
    pub fn generated_gradient(&self) -> (f64, Vec<f64>) {
        let (v, g) = mlp_loss_grad(
            &self.w1,
            &self.b1,
            &self.w2,
            &self.b2,
            &self.x,
            &self.onehot,
        );
        (v, flatten(g))
    }

    /// The hand-written gradient, flattened the same way.
    pub fn hand_gradient(&self) -> (f64, Vec<f64>) {
        let (v, g) = mlp_loss_hand_grad(
            &self.w1,
            &self.b1,
            &self.w2,
            &self.b2,
            &self.x,
            &self.onehot,
        );
        (v, flatten(g))
    }

    /// Central differences of [`mlp_loss`] in the parameter entries `entries` (indices into
    /// the flattened gradient), two evaluations each.
    pub fn finite_differences(&self, entries: &[usize]) -> Vec<f64> {
        let params = [&self.w1, &self.b1, &self.w2, &self.b2];
        entries
            .iter()
            .map(|&e| {
                let (mut which, mut at) = (0, e);
                while at >= params[which].len() {
                    at -= params[which].len();
                    which += 1;
                }
                let eval = |delta: f64| {
                    let mut moved = params.map(|p| p.clone());
                    let mut v = moved[which].to_vec();
                    v[at] += delta;
                    moved[which] = Tensor::from_vec(params[which].shape(), v);
                    let [w1, b1, w2, b2] = &moved;
                    mlp_loss(w1, b1, w2, b2, &self.x, &self.onehot)
                };
                let h = super::peers::step(params[which].to_vec()[at]);
                (eval(h) - eval(-h)) / (2.0 * h)
            })
            .collect()
    }

    pub fn parameter_count(&self) -> usize {
        self.w1.len() + self.b1.len() + self.w2.len() + self.b2.len()
    }
}

pub fn flatten((a, b, c, d): (Tensor, Tensor, Tensor, Tensor)) -> Vec<f64> {
    [a.to_vec(), b.to_vec(), c.to_vec(), d.to_vec()].concat()
}
