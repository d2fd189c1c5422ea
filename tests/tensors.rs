//! Tensors: the teaching material's tensor examples with their published numbers, each also
//! checked against finite differences of the original function.

use differentiate::{differentiate, Tensor};

mod common;
use common::{assert_close, moved};

/// Central-difference gradient of a tensor function, element by element.
fn fd_gradient(f: impl Fn(&Tensor) -> f64, x: &Tensor, h: f64) -> Vec<f64> {
    let base = x.to_vec();
    (0..base.len())
        .map(|i| {
            let mut up = base.clone();
            up[i] += h;
            let mut down = base.clone();
            down[i] -= h;
            (f(&Tensor::from_vec(x.shape(), up)) - f(&Tensor::from_vec(x.shape(), down)))
                / (2.0 * h)
        })
        .collect()
}

#[differentiate]
fn mean_of_square(x: &Tensor) -> f64 {
    let y = x - 2.0;
    let z = 3.0 * &y * &y;
    z.mean()
}

#[test]
fn mean_of_three_y_squared() {
    let x = Tensor::matrix(&[&[1.0, 2.0], &[3.0, 4.0]]);
    let (value, grad) = mean_of_square_grad(&x);
    assert_eq!(value, mean_of_square(&x));
    assert_eq!(grad.shape(), &[2, 2]);
    assert_eq!(grad.to_vec(), vec![-1.5, 0.0, 1.5, 3.0]);
    assert_close(
        "fd",
        &grad.to_vec(),
        &fd_gradient(mean_of_square, &x, 1e-6),
        1e-7,
    );
}

#[differentiate]
fn weighted(w: &Tensor, x: &Tensor) -> f64 {
    w.dot(x)
}

#[test]
fn dot_product_gradients() {
    let x = Tensor::vector(&[1.0, 2.0, 3.0]);
    let w = Tensor::vector(&[1.0, 1.0, 1.0]);
    let (value, (dw, dx)) = weighted_grad(&w, &x);
    assert_eq!(value, 6.0);
    assert_eq!(dx.to_vec(), vec![1.0, 1.0, 1.0]);
    assert_eq!(dw.to_vec(), vec![1.0, 2.0, 3.0]);
}

#[differentiate(wrt(w, b))]
fn affine_square_loss(x: &Tensor, w: &Tensor, b: &Tensor) -> f64 {
    let y = x.matmul(w) + b;
    let z = &y * &y;
    z.sum()
}

#[test]
fn affine_layer_gradients_are_all_six() {
    let x = Tensor::ones(&[2]);
    let w = Tensor::ones(&[2, 3]);
    let b = Tensor::ones(&[3]);
    let (value, (dw, db)) = affine_square_loss_grad(&x, &w, &b);
    assert_eq!(value, 27.0);
    assert_eq!(dw.shape(), &[2, 3]);
    assert_eq!(dw.to_vec(), vec![6.0; 6]);
    assert_eq!(db.to_vec(), vec![6.0; 3]);
    assert_close(
        "dw fd",
        &dw.to_vec(),
        &fd_gradient(|w| affine_square_loss(&x, w, &b), &w, 1e-6),
        1e-7,
    );
}

#[differentiate]
fn two_curves(x: &Tensor) -> Tensor {
    let n = x.len();
    let j = x.powi(3) + x.powi(2) - 6.0 * x + 1.0;
    let k = x.powi(2) - 2.0;
    j.reshape(&[n, 1]).concat(&k.reshape(&[n, 1]), 1)
}

#[test]
fn seeds_pick_outputs_of_a_101_by_2_result() {
    let points: Vec<f64> = (0..101).map(|i| -3.0 + 6.0 * i as f64 / 100.0).collect();
    let x = Tensor::vector(&points);
    let ones = Tensor::ones(&[101, 2]);
    let first = Tensor::from_vec(
        &[101, 2],
        (0..202)
            .map(|i| if i % 2 == 0 { 1.0 } else { 0.0 })
            .collect(),
    );
    let second = Tensor::from_vec(
        &[101, 2],
        (0..202)
            .map(|i| if i % 2 == 1 { 1.0 } else { 0.0 })
            .collect(),
    );
    let (value, both) = two_curves_vjp(&x, ones);
    assert_eq!(value.shape(), &[101, 2]);
    let (_, d_first) = two_curves_vjp(&x, first);
    let (_, d_second) = two_curves_vjp(&x, second);
    let j_prime: Vec<f64> = points.iter().map(|x| 3.0 * x * x + 2.0 * x - 6.0).collect();
    let k_prime: Vec<f64> = points.iter().map(|x| 2.0 * x).collect();
    let sum: Vec<f64> = j_prime.iter().zip(&k_prime).map(|(a, b)| a + b).collect();
    assert_close("(1,1)", &both.to_vec(), &sum, 1e-12);
    assert_close("(1,0)", &d_first.to_vec(), &j_prime, 1e-12);
    assert_close("(0,1)", &d_second.to_vec(), &k_prime, 1e-12);
}

#[differentiate]
fn mixed(x: &Tensor, y: &Tensor) -> Tensor {
    x * y + (x - 2.0 * y).sin()
}

#[test]
fn elementwise_product_plus_sine() {
    // 51 points from a fixed-seed generator.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 10_000) as f64 / 10_000.0 * 4.0 - 2.0
    };
    let xs: Vec<f64> = (0..51).map(|_| next()).collect();
    let ys: Vec<f64> = (0..51).map(|_| next()).collect();
    let (x, y) = (Tensor::vector(&xs), Tensor::vector(&ys));
    let (_, (dx, dy)) = mixed_vjp(&x, &y, Tensor::ones(&[51]));
    let dx_hand: Vec<f64> = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| y + (x - 2.0 * y).cos())
        .collect();
    let dy_hand: Vec<f64> = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| x - 2.0 * (x - 2.0 * y).cos())
        .collect();
    assert_close("dJ/dX", &dx.to_vec(), &dx_hand, 1e-12);
    assert_close("dJ/dY", &dy.to_vec(), &dy_hand, 1e-12);
}

#[differentiate]
fn add_mismatched(a: &Tensor, b: &Tensor) -> f64 {
    (a + b).sum()
}

#[test]
#[should_panic(expected = "shapes [2, 3] and [4] do not broadcast")]
fn shape_mismatch_panics_with_both_shapes() {
    let _ = add_mismatched_grad(&Tensor::ones(&[2, 3]), &Tensor::ones(&[4]));
}

#[differentiate]
fn broadcast_bias(x: &Tensor, b: &Tensor) -> f64 {
    let y = x + b;
    (&y * &y).sum()
}

#[test]
fn broadcasting_sums_the_adjoint_over_broadcast_axes() {
    let x = Tensor::matrix(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]]);
    let b = Tensor::vector(&[0.5, -1.0, 2.0]);
    let (_, (dx, db)) = broadcast_bias_grad(&x, &b);
    // d/dx = 2(x + b); d/db = Σ_rows 2(x + b)
    assert_eq!(dx.to_vec(), vec![3.0, 2.0, 10.0, 9.0, 8.0, 16.0]);
    assert_eq!(db.to_vec(), vec![12.0, 10.0, 26.0]);
}

#[differentiate]
fn softmax_cross_entropy(logits: &Tensor, onehot: &Tensor) -> f64 {
    let p = logits.softmax(1);
    let lse = logits.logsumexp_axis(1);
    let picked = (logits * onehot).sum_axis(1);
    (&lse - &picked).mean() + 0.0 * p.sum()
}

#[test]
fn softmax_and_logsumexp_along_an_axis() {
    let logits = Tensor::matrix(&[&[1.0, 2.0, 0.5], &[-1.0, 0.0, 3.0]]);
    let onehot = Tensor::matrix(&[&[0.0, 1.0, 0.0], &[1.0, 0.0, 0.0]]);
    let (_, (dl, _)) = softmax_cross_entropy_grad(&logits, &onehot);
    // d/dlogits of mean cross-entropy = (softmax - onehot) / rows
    let p = logits.softmax(1);
    let expected: Vec<f64> = p
        .to_vec()
        .iter()
        .zip(onehot.to_vec())
        .map(|(p, y)| (p - y) / 2.0)
        .collect();
    assert_close("dlogits", &dl.to_vec(), &expected, 1e-12);
    assert_close(
        "fd",
        &dl.to_vec(),
        &fd_gradient(|l| softmax_cross_entropy(l, &onehot), &logits, 1e-6),
        1e-7,
    );
}

#[differentiate]
fn reductions(x: &Tensor) -> f64 {
    let m = x.max();
    let t = x.t();
    let s = t.sum_axis(0).mean_axis(0);
    let r = x.relu().sum();
    let g = x.get(&[1, 0]);
    let sl = x.slice_axis(1, 1, 3).sum();
    m + s.sum() + r + g * 3.0 + sl + x.logsumexp()
}

#[test]
fn reductions_slices_and_indexing() {
    let x = Tensor::matrix(&[&[1.0, -2.0, 0.5], &[-1.0, 4.0, 3.0]]);
    let (value, dx) = reductions_grad(&x);
    assert_eq!(value, reductions(&x));
    assert_close("fd", &dx.to_vec(), &fd_gradient(reductions, &x, 1e-6), 1e-6);
}

#[differentiate]
fn elementwise_library(x: &Tensor, y: &Tensor) -> f64 {
    let a = x.exp() * y.cos() + x.tanh() - y.abs().sqrt();
    let b = (x * x + 1.0).ln() / (y.powf(2.0) + 2.0) + x.atan() * y.sinh();
    let c = x.maximum(y) - x.minimum(0.25) + x.powi(3).recip();
    let mask = x.gt(0.0);
    (&(&a + &b) * &mask).sum() + c.mean()
}

#[test]
fn elementwise_library_and_masks() {
    let x = Tensor::matrix(&[&[0.3, -1.2, 2.0], &[1.5, -0.4, 0.9]]);
    let y = Tensor::matrix(&[&[1.1, 0.5, -0.7], &[0.2, -1.6, 2.4]]);
    let (value, (dx, dy)) = elementwise_library_grad(&x, &y);
    assert_eq!(value, elementwise_library(&x, &y));
    assert_close(
        "dx",
        &dx.to_vec(),
        &fd_gradient(|x| elementwise_library(x, &y), &x, 1e-6),
        1e-6,
    );
    assert_close(
        "dy",
        &dy.to_vec(),
        &fd_gradient(|y| elementwise_library(&x, y), &y, 1e-6),
        1e-6,
    );
}

/// `Tensor::tanh` has its own vectorised kernel: within 4 ulp of `f64::tanh` from tiny to
/// saturated arguments, exact at the special values, and the same bits on a transposed
/// (non-contiguous) tensor, which takes the scalar path.
#[test]
fn tanh_kernel_matches_the_float_library() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut values: Vec<f64> = (0..40_000)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            u * [2.0, 50.0, 1e-4, 1e-12][i % 4]
        })
        .collect();
    values.extend([
        0.0,
        -0.0,
        1e-310,
        -1e-300,
        19.0,
        20.0,
        -25.0,
        710.0,
        f64::MAX,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ]);
    let t = Tensor::from_vec(
        &[values.len() / 3, 3],
        values[..values.len() / 3 * 3].to_vec(),
    );
    let got = t.tanh().to_vec();
    for (x, y) in t.to_vec().into_iter().zip(got) {
        let ulps = (y.to_bits() as i64 - x.tanh().to_bits() as i64).unsigned_abs();
        assert!(ulps <= 4, "tanh({x:e}) = {y:e}, f64::tanh {:e}", x.tanh());
        assert_eq!(
            y.is_sign_negative(),
            x.is_sign_negative(),
            "sign of tanh({x:e})"
        );
    }
    assert!(Tensor::vector(&[f64::NAN]).tanh().get(&[0]).is_nan());
    let column_major = Tensor::from(t.array().t().mapv(|x| x));
    assert!(column_major.array().as_slice().is_none());
    assert_eq!(column_major.tanh().to_vec(), t.t().tanh().to_vec());
}

/// A large product (128 × 128, whose storage the runtime reuses from dropped tensors) made
/// right after a tensor of the same size full of NaN was dropped: the reused storage's old
/// contents must not reach the result, which matches a plain triple loop.
#[test]
fn large_product_ignores_reused_storage() {
    let n = 128;
    drop(Tensor::from_vec(&[n, n], vec![f64::NAN; n * n]));
    let a: Vec<f64> = (0..n * n)
        .map(|i| ((i * 7 % 13) as f64 - 6.0) / 8.0)
        .collect();
    let b: Vec<f64> = (0..n * n)
        .map(|i| ((i * 5 % 11) as f64 - 5.0) / 4.0)
        .collect();
    let c = Tensor::from_vec(&[n, n], a.clone()).matmul(&Tensor::from_vec(&[n, n], b.clone()));
    let mut expected = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            expected[i * n + j] = (0..n).map(|k| a[i * n + k] * b[k * n + j]).sum();
        }
    }
    assert_close("a·b", &c.to_vec(), &expected, 1e-12);
}

/// `NAME_jvp` of tensor functions (which do not run at dual numbers): by reverse sweeps.
#[test]
fn jvp_of_tensor_functions_against_central_differences() {
    // A number result: one sweep, the gradient times the tangent.
    let (x, w, b) = (
        Tensor::from_vec(&[2], vec![0.5, -1.0]),
        Tensor::from_vec(&[2, 3], vec![0.1, 0.2, -0.3, 0.4, 0.5, -0.6]),
        Tensor::from_vec(&[3], vec![0.7, -0.8, 0.9]),
    );
    let (dw, db) = (
        Tensor::from_vec(&[2, 3], vec![1.0, 0.0, -1.0, 0.5, 2.0, 0.25]),
        Tensor::from_vec(&[3], vec![-0.5, 1.5, 1.0]),
    );
    let (value, along) = affine_square_loss_jvp(&x, &w, &b, (dw.clone(), db.clone()));
    assert_eq!(value, affine_square_loss(&x, &w, &b));
    let h = 1e-6;
    let at = |t: f64| affine_square_loss(&x, &moved(&w, &dw, t), &moved(&b, &db, t));
    assert!((along - (at(h) - at(-h)) / (2.0 * h)).abs() < 1e-6);

    // A tensor result: one sweep per output, shaped like the result.
    let x = Tensor::from_vec(&[3], vec![0.3, -1.2, 2.0]);
    let y = Tensor::from_vec(&[3], vec![1.0, 0.5, -0.25]);
    let (tx, ty) = (
        Tensor::from_vec(&[3], vec![1.0, -1.0, 0.5]),
        Tensor::from_vec(&[3], vec![0.0, 2.0, 1.0]),
    );
    let (value, along) = mixed_jvp(&x, &y, (tx.clone(), ty.clone()));
    assert_eq!(value.to_vec(), mixed(&x, &y).to_vec());
    assert_eq!(along.shape(), &[3]);
    let at = |t: f64| mixed(&moved(&x, &tx, t), &moved(&y, &ty, t)).to_vec();
    let expected: Vec<f64> = at(h)
        .iter()
        .zip(at(-h))
        .map(|(u, d)| (u - d) / (2.0 * h))
        .collect();
    assert_close("J·t", &along.to_vec(), &expected, 1e-7);
}
