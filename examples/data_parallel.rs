//! Data-parallel gradients (issue 17): the gradient of a batch loss over many samples, summed
//! over the samples on every core with rayon, against the same sum on one thread.
//!
//! The model is a perceptron with one hidden layer (16 inputs, 32 tanh units, 577 parameters
//! in a `Differentiable` struct), the per-sample loss the logistic loss, a `#[differentiate]`
//! function; the batch loss is the mean over the samples. The parallel gradient splits the
//! samples into chunks (`par_chunks`), sums each chunk's `sample_loss_grad`s on one thread into
//! a gradient of its own, and adds the chunks' gradients up: no locks, and nothing allocated
//! per sample by the summation (the generated gradient itself allocates its adjoint buffers
//! for the three array fields and one tape per call; see BENCHMARKS.md).
//!
//! `cargo run --release --example data_parallel [samples]` checks that both gradients agree
//! to rounding and match central differences, prints both times and the speed-up, and takes
//! a few steps of gradient descent with the parallel gradient.

use std::time::Instant;

// The model, its loss and both gradients, shared with the benchmark report.
#[path = "../benches/workloads/parallel.rs"]
mod parallel;

use parallel::*;

fn main() {
    // A debug build (CI) runs a smaller batch: the checks are the same, the times meaningless.
    let default_samples = if cfg!(debug_assertions) {
        2048
    } else {
        SAMPLES
    };
    let samples: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("the number of samples"))
        .unwrap_or(default_samples);
    let (xs, ys) = data(samples);
    let model = initial_model();
    let chunk = chunk_size(samples);
    let threads = rayon::current_num_threads();
    println!(
        "{samples} samples, {} parameters, {threads} threads, chunks of {chunk} samples",
        model.numbers().len()
    );

    let (seq_loss, seq) = sequential_gradient(&model, &xs, &ys);
    let (par_loss, par) = parallel_gradient(&model, &xs, &ys, chunk);
    assert_eq!(seq_loss, batch_loss(&model, &xs, &ys), "the loss is f's");

    // Both are sums of the same n per-sample gradients in different orders (chunk by chunk,
    // then the chunks pairwise). Any order of n - 1 additions is within (n - 1)·u·Σ|x_i| of
    // the exact sum (Higham, Accuracy and Stability of Numerical Algorithms, §4.2), so the two
    // differ by at most 2(n - 1)·u·Σ|x_i|, plus a rounding each when divided by n. Σ|x_i| is
    // summed here per entry with one more pass.
    let mut abs_sum = Model::zeros();
    for (x, &y) in xs.iter().zip(&ys) {
        let (_, g) = sample_loss_grad(&model, x, y);
        for (i, v) in g.numbers().into_iter().enumerate() {
            *abs_sum.number_mut(i) += v.abs();
        }
    }
    let u = f64::EPSILON / 2.0;
    let n = samples as f64;
    let bound_factor = 2.0 * (n - 1.0) * u / n;
    let (seq_numbers, par_numbers) = (seq.numbers(), par.numbers());
    let mut worst = 0.0f64;
    for (i, ((s, p), a)) in seq_numbers
        .iter()
        .zip(&par_numbers)
        .zip(abs_sum.numbers())
        .enumerate()
    {
        let bound = bound_factor * a + 2.0 * u * s.abs();
        assert!(
            (s - p).abs() <= bound,
            "entry {i}: sequential {s:e}, parallel {p:e}, bound {bound:e}"
        );
        if bound > 0.0 {
            worst = worst.max((s - p).abs() / bound);
        }
    }
    assert!((seq_loss - par_loss).abs() <= 2.0 * n * u * seq_loss);
    println!(
        "loss {seq_loss:.12}; sequential and parallel gradients agree to rounding (largest \
         difference {:.1e} of its bound)",
        worst
    );

    // Central differences of the batch loss in a few entries (w1[0], w1[300], b1[5], w2[31],
    // b2). With h = 1e-5 the truncation error is about h²·|f'''| ≈ 1e-11; the loss, a sum of
    // n rounded terms, is known to about √n·u·f ≈ 1e-14, so the difference quotient to about
    // 1e-14 / 2h ≈ 5e-10. 1e-8 absolute plus 1e-6 relative leaves a margin of 20.
    let h = 1e-5;
    let entries = [
        0,
        300,
        INPUTS * HIDDEN + 5,
        INPUTS * HIDDEN + 2 * HIDDEN - 1,
    ];
    let total = seq_numbers.len();
    for &e in entries.iter().chain([&(total - 1)]) {
        let shifted = |delta: f64| {
            let mut m = model.clone();
            *m.number_mut(e) += delta;
            batch_loss(&m, &xs, &ys)
        };
        let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
        let g = par_numbers[e];
        assert!(
            (fd - g).abs() <= 1e-8 + 1e-6 * g.abs(),
            "entry {e}: gradient {g:e}, central difference {fd:e}"
        );
        println!("  entry {e:>3}: gradient {g:>+.9e}, central difference {fd:>+.9e}");
    }

    // Times: the two alternated, the median of each (the machine may be shared).
    let mut seq_times = Vec::new();
    let mut par_times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        std::hint::black_box(sequential_gradient(&model, &xs, &ys));
        seq_times.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        std::hint::black_box(parallel_gradient(&model, &xs, &ys, chunk));
        par_times.push(started.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (t_seq, t_par) = (median(&mut seq_times), median(&mut par_times));
    println!(
        "sequential {:.2} ms, parallel {:.2} ms on {threads} threads: speed-up {:.2}{}",
        t_seq * 1e3,
        t_par * 1e3,
        t_seq / t_par,
        if cfg!(debug_assertions) {
            " (a debug build: run with --release for meaningful times)"
        } else {
            ""
        }
    );

    // Gradient descent on the batch loss with the parallel gradient.
    let mut m = model;
    let rate = 2.0;
    let first = batch_loss(&m, &xs, &ys);
    println!("step  loss");
    let mut last = first;
    for step in 0..10 {
        let (loss, g) = parallel_gradient(&m, &xs, &ys, chunk);
        println!("{step:>4}  {loss:.6}");
        m.add_scaled(-rate, &g);
        last = loss;
    }
    let end = batch_loss(&m, &xs, &ys);
    println!("{:>4}  {end:.6}", 10);
    assert!(
        end < last && last < first,
        "gradient descent did not decrease the loss"
    );
}
