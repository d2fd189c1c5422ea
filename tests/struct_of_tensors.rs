//! A two-layer perceptron whose weights live in a struct of tensors: its gradient struct
//! holds the same tensors as the gradient of `examples/mlp.rs`'s loss of four tensors.
#![cfg(feature = "tensor")]

mod common;
use common::moved;
use differentiate::{differentiate, Differentiable, Tensor};

#[derive(Clone, Differentiable)]
struct Mlp {
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
}

/// `examples/mlp.rs`'s loss, the parameters in a struct.
#[differentiate(wrt(model))]
fn loss(model: &Mlp, x: &Tensor, onehot: &Tensor) -> f64 {
    let hidden = (x.matmul(&model.w1) + &model.b1).tanh();
    let logits = hidden.matmul(&model.w2) + &model.b2;
    let log_normaliser = logits.logsumexp_axis(1);
    let picked = (&logits * onehot).sum_axis(1);
    (&log_normaliser - &picked).mean()
}

/// The same loss, one tensor per parameter, as `examples/mlp.rs` writes it.
#[differentiate(wrt(w1, b1, w2, b2))]
fn loss_of_tensors(
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

fn filled(shape: &[usize], seed: f64) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(
        shape,
        (0..n)
            .map(|i| ((i as f64 + seed) * 0.731).sin() * 0.5)
            .collect(),
    )
}

#[test]
fn struct_gradient_equals_the_tensors_gradient() {
    let model = Mlp {
        w1: filled(&[3, 4], 0.1),
        b1: filled(&[4], 0.2),
        w2: filled(&[4, 2], 0.3),
        b2: filled(&[2], 0.4),
    };
    let x = filled(&[5, 3], 0.5);
    let onehot = Tensor::from_vec(
        &[5, 2],
        vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
    );
    let (value, g) = loss_grad(&model, &x, &onehot);
    let (expected, (g1, gb1, g2, gb2)) =
        loss_of_tensors_grad(&model.w1, &model.b1, &model.w2, &model.b2, &x, &onehot);
    assert_eq!(value, expected);
    assert_eq!(g.w1.to_vec(), g1.to_vec());
    assert_eq!(g.b1.to_vec(), gb1.to_vec());
    assert_eq!(g.w2.to_vec(), g2.to_vec());
    assert_eq!(g.b2.to_vec(), gb2.to_vec());
    // And against central differences on one weight.
    let h = 1e-6;
    let mut up = model.clone();
    let mut data = model.w1.to_vec();
    data[5] += h;
    up.w1 = Tensor::from_vec(&[3, 4], data.clone());
    let mut down = model.clone();
    data[5] -= 2.0 * h;
    down.w1 = Tensor::from_vec(&[3, 4], data);
    let difference = (loss(&up, &x, &onehot) - loss(&down, &x, &onehot)) / (2.0 * h);
    assert!((g.w1.to_vec()[5] - difference).abs() < 1e-8);
}

use differentiate::runtime::Differentiable as _;
use ndarray::{Array1, Array2};

/// ndarray parameters read by index and by iteration: a weighted sum of squares of `x`'s
/// entries (row-major) with weights `w`.
#[differentiate]
fn weighted_entries(w: &Array1<f64>, x: &Array2<f64>) -> f64 {
    let mut total = 0.0;
    for (k, v) in x.iter().enumerate() {
        total += w[k % w.len()] * v * v;
    }
    total
}

#[test]
fn ndarray_parameters_have_ndarray_gradients() {
    let w = Array1::from(vec![1.0, 2.0]);
    let x = Array2::from_shape_vec((2, 2), vec![1.0, -1.0, 0.5, 3.0]).unwrap();
    let (value, (g_w, g_x)) = weighted_entries_grad(&w, &x);
    assert_eq!(value, 1.0 + 2.0 + 0.25 + 18.0);
    assert_eq!(g_w, Array1::from(vec![1.0 + 0.25, 1.0 + 9.0]));
    assert_eq!(
        g_x,
        Array2::from_shape_vec((2, 2), vec![2.0, -4.0, 1.0, 12.0]).unwrap()
    );
    // The Hessian over (w, x) laid out flat: ∂²/∂w∂x and ∂²/∂x² only.
    let (_, _, h) = weighted_entries_hessian(&w, &x);
    assert_eq!(h.len(), w.count_numbers() + x.count_numbers());
    assert_eq!(h[2][2], 2.0 * w[0]);
    assert_eq!(h[0][4], 2.0 * x[[1, 0]]);
    assert_eq!(h[0][3], 0.0);
}

#[differentiate]
fn weighted_by_view(w: ndarray::ArrayView1<f64>, x: &ndarray::Array1<f64>) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        total += w[i] * x[i] * x[i];
    }
    total
}

#[differentiate]
fn frobenius_of_view(m: &ndarray::ArrayView2<'_, f64>) -> f64 {
    m.iter().map(|v| v * v).sum()
}

/// ndarray views as parameters: read like the owned arrays, with owned arrays as gradients.
#[test]
fn ndarray_views_have_owned_gradients() {
    let w = ndarray::Array1::from_vec(vec![1.0, 2.0]);
    let x = ndarray::Array1::from_vec(vec![3.0, 4.0]);
    let (v, (gw, gx)) = weighted_by_view_grad(w.view(), &x);
    assert_eq!(v, 9.0 + 32.0);
    assert_eq!(gw, ndarray::Array1::from_vec(vec![9.0, 16.0]));
    assert_eq!(gx, ndarray::Array1::from_vec(vec![6.0, 16.0]));
    let m = ndarray::Array2::from_shape_vec((2, 2), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let (v, g) = frobenius_of_view_grad(&m.view());
    assert_eq!(v, 30.0);
    assert_eq!(g, &m * 2.0);
}

/// `NAME_jvp` of a struct of tensors and of views, by reverse sweeps: the derivative along a
/// direction of the struct's type, against central differences.
#[test]
fn jvp_of_a_struct_of_tensors_against_central_differences() {
    let model = Mlp {
        w1: filled(&[3, 4], 0.1),
        b1: filled(&[4], 0.2),
        w2: filled(&[4, 2], 0.3),
        b2: filled(&[2], 0.4),
    };
    let direction = Mlp {
        w1: filled(&[3, 4], 1.1),
        b1: filled(&[4], 1.2),
        w2: filled(&[4, 2], 1.3),
        b2: filled(&[2], 1.4),
    };
    let x = filled(&[5, 3], 0.5);
    let onehot = Tensor::from_vec(
        &[5, 2],
        vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0],
    );
    let (value, along) = loss_jvp(&model, &x, &onehot, direction.clone());
    assert_eq!(value, loss(&model, &x, &onehot));
    let at = |t: f64| {
        let m = Mlp {
            w1: moved(&model.w1, &direction.w1, t),
            b1: moved(&model.b1, &direction.b1, t),
            w2: moved(&model.w2, &direction.w2, t),
            b2: moved(&model.b2, &direction.b2, t),
        };
        loss(&m, &x, &onehot)
    };
    let h = 1e-6;
    assert!((along - (at(h) - at(-h)) / (2.0 * h)).abs() < 1e-7);

    // A view: its tangent is an owned array.
    let m = Array2::from_shape_vec((2, 2), vec![1.0, -2.0, 0.5, 3.0]).expect("2 × 2");
    let t = Array2::from_shape_vec((2, 2), vec![0.25, 1.0, -1.0, 0.5]).expect("2 × 2");
    let (_, along) = frobenius_of_view_jvp(&m.view(), t.clone());
    let at = |s: f64| frobenius_of_view(&(&m + &(&t * s)).view());
    assert!((along - (at(h) - at(-h)) / (2.0 * h)).abs() < 1e-7);
}
