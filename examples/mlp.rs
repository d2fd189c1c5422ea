//! A two-layer perceptron trained by gradient descent on a synthetic two-class dataset (two
//! interleaved half-moons, made in code with a fixed seed). The gradient of the
//! cross-entropy loss with respect to all four parameter tensors comes from `#[differentiate]`.
//!
//! Run with `cargo run --release --example mlp`.

use differentiate::{differentiate, Tensor};

/// Mean cross-entropy of a tanh hidden layer and a softmax output.
#[differentiate(wrt(w1, b1, w2, b2))]
fn loss(w1: &Tensor, b1: &Tensor, w2: &Tensor, b2: &Tensor, x: &Tensor, onehot: &Tensor) -> f64 {
    let hidden = (x.matmul(w1) + b1).tanh();
    let logits = hidden.matmul(w2) + b2;
    let log_normaliser = logits.logsumexp_axis(1);
    let picked = (&logits * onehot).sum_axis(1);
    (&log_normaliser - &picked).mean()
}

/// The logits (no derivative needed) for measuring accuracy.
fn logits(w1: &Tensor, b1: &Tensor, w2: &Tensor, b2: &Tensor, x: &Tensor) -> Tensor {
    (x.matmul(w1) + b1).tanh().matmul(w2) + b2
}

struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Two interleaved half-moons with a little noise: `n` points, labels 0 and 1.
fn moons(n: usize, rng: &mut Rng) -> (Tensor, Tensor, Vec<usize>) {
    let mut points = Vec::with_capacity(2 * n);
    let mut onehot = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let label = i % 2;
        let t = std::f64::consts::PI * rng.uniform();
        let (px, py) = if label == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        points.push(px + 0.1 * (rng.uniform() - 0.5));
        points.push(py + 0.1 * (rng.uniform() - 0.5));
        onehot.extend(if label == 0 { [1.0, 0.0] } else { [0.0, 1.0] });
        labels.push(label);
    }
    (
        Tensor::from_vec(&[n, 2], points),
        Tensor::from_vec(&[n, 2], onehot),
        labels,
    )
}

fn accuracy(logits: &Tensor, labels: &[usize]) -> f64 {
    let l = logits.to_vec();
    let correct = labels.iter().enumerate().filter(|(i, &label)| {
        let predicted = if l[2 * i + 1] > l[2 * i] { 1 } else { 0 };
        predicted == label
    });
    correct.count() as f64 / labels.len() as f64
}

fn main() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (x, onehot, labels) = moons(400, &mut rng);
    let width = 16;
    let mut init = |shape: &[usize], scale: f64| {
        let n: usize = shape.iter().product();
        Tensor::from_vec(
            shape,
            (0..n)
                .map(|_| scale * (2.0 * rng.uniform() - 1.0))
                .collect(),
        )
    };
    let mut w1 = init(&[2, width], 1.0);
    let mut b1 = Tensor::zeros(&[width]);
    let mut w2 = init(&[width, 2], 0.5);
    let mut b2 = Tensor::zeros(&[2]);
    println!("two half-moons, 400 points; a 2-{width}-2 perceptron with tanh");

    let rate = 0.5;
    let mut first_loss = None;
    let mut last_loss = 0.0;
    for step in 0..=1500 {
        let (value, (dw1, db1, dw2, db2)) = loss_grad(&w1, &b1, &w2, &b2, &x, &onehot);
        first_loss.get_or_insert(value);
        last_loss = value;
        if step % 150 == 0 {
            let acc = accuracy(&logits(&w1, &b1, &w2, &b2, &x), &labels);
            println!(
                "step {step:4}: loss {value:.5}  accuracy {:.1}%",
                100.0 * acc
            );
        }
        w1 = &w1 - &(&dw1 * rate);
        b1 = &b1 - &(&db1 * rate);
        w2 = &w2 - &(&dw2 * rate);
        b2 = &b2 - &(&db2 * rate);
    }
    let acc = accuracy(&logits(&w1, &b1, &w2, &b2, &x), &labels);
    println!(
        "final loss {last_loss:.5} (from {:.5}), accuracy {:.1}%",
        first_loss.unwrap_or(0.0),
        100.0 * acc
    );
    assert!(
        last_loss < 0.5 * first_loss.unwrap_or(f64::INFINITY),
        "the loss should fall"
    );
}
