//! ADBench's GMM objective and bundle-adjustment residual (workloads 4 and 5): the input
//! readers, the functions `#[differentiate]` differentiates, hand-written derivatives, and
//! ADBench's expected values for its two unit-test instances.
//!
//! Shared by `benches/gradients.rs`, `examples/benchmark_report.rs` and `tests/adbench.rs`
//! (each includes this file with `#[path]`). The data ships in `benches/data/adbench/`:
//! ADBench's input files, byte for byte, with their MIT licence (`LICENSE.TXT`) and a note of
//! their origin, their formats and their reference values (`README.txt`). The formulas
//! follow that note, which transcribes ADBench's `src/cpp/shared/gmm.h` and `ba.h`.

// Index loops mirror ADBench's C++ and the hand-derived adjoints, on purpose; the expected
// values are copied digit for digit from ADBench's tests.
#![allow(
    clippy::needless_range_loop,
    clippy::too_many_arguments,
    clippy::type_complexity,
    clippy::excessive_precision
)]

use differentiate::differentiate;
use std::path::{Path, PathBuf};

/// `benches/data/adbench`, resolved from the workspace root.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/adbench")
}

fn numbers(path: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.split_whitespace()
        .map(|t| {
            t.parse()
                .unwrap_or_else(|e| panic!("{}: bad number {t:?}: {e}", path.display()))
        })
        .collect()
}

// ---- GMM -------------------------------------------------------------------------------------

/// A trait for the functions of one signature, implemented by each of them: taking it
/// rather than a function pointer, the benchmark calls each form directly (BENCHMARKS.md,
/// "Fair calls").
macro_rules! signature_trait {
    ($(#[$doc:meta])* $name:ident = fn($($arg:ty),*) -> $out:ty) => {
        $(#[$doc])*
        pub trait $name: Fn($($arg),*) -> $out {}
        impl<F: Fn($($arg),*) -> $out> $name for F {}
    };
}

signature_trait! {
    /// The GMM objective's signature (both forms): `(d, k, n, alphas, means, icf, x,
    /// wishart_gamma, wishart_m, constant)`.
    GmmObjective = fn(usize, usize, usize, &[f64], &[f64], &[f64], &[f64], f64, f64, f64) -> f64
}

signature_trait! {
    /// A GMM gradient's signature (generated for both forms, and hand-written):
    /// `(F, (dalpha, dmu, dicf))`.
    GmmGradient = fn(usize, usize, usize, &[f64], &[f64], &[f64], &[f64], f64, f64, f64)
        -> (f64, (Vec<f64>, Vec<f64>, Vec<f64>))
}

/// One GMM instance, laid out as ADBench lays it out.
#[derive(Clone, Debug)]
pub struct GmmInput {
    pub d: usize,
    pub k: usize,
    pub n: usize,
    /// `K` unnormalised log-weights.
    pub alphas: Vec<f64>,
    /// `K × D` means, row-major.
    pub means: Vec<f64>,
    /// `K × D(D+1)/2`: per component `q` (D logs of the diagonal), then the strictly-lower
    /// entries `l`, column by column.
    pub icf: Vec<f64>,
    /// `N × D` points, row-major.
    pub x: Vec<f64>,
    pub wishart_gamma: f64,
    pub wishart_m: f64,
}

impl GmmInput {
    pub fn read(path: &Path) -> GmmInput {
        let v = numbers(path);
        let (d, k, n) = (v[0] as usize, v[1] as usize, v[2] as usize);
        let icf_sz = d * (d + 1) / 2;
        let mut at = 3;
        let mut take = |count: usize| {
            let out = v[at..at + count].to_vec();
            at += count;
            out
        };
        let alphas = take(k);
        let means = take(k * d);
        let icf = take(k * icf_sz);
        let x = take(n * d);
        let wishart = take(2);
        GmmInput {
            d,
            k,
            n,
            alphas,
            means,
            icf,
            x,
            wishart_gamma: wishart[0],
            wishart_m: wishart[1],
        }
    }

    /// The terms of `F` that no parameter changes: `-N·D/2·log 2π - K·C`.
    pub fn constant(&self) -> f64 {
        gmm_constant(self.d, self.k, self.n, self.wishart_gamma, self.wishart_m)
    }

    pub fn parameter_count(&self) -> usize {
        self.alphas.len() + self.means.len() + self.icf.len()
    }

    /// `F` through the function the macro differentiates (its original body).
    pub fn objective(&self) -> f64 {
        self.objective_by(gmm_objective)
    }

    /// `F` through `objective`, either form of it, at this instance's parameters.
    pub fn objective_by(&self, objective: impl GmmObjective) -> f64 {
        objective(
            self.d,
            self.k,
            self.n,
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.wishart_gamma,
            self.wishart_m,
            self.constant(),
        )
    }

    /// `F` at a flat parameter vector `[alpha | mu | icf]` (ADBench's gradient layout).
    pub fn objective_at(&self, params: &[f64]) -> f64 {
        let (a, rest) = params.split_at(self.k);
        let (m, icf) = rest.split_at(self.k * self.d);
        gmm_objective(
            self.d,
            self.k,
            self.n,
            a,
            m,
            icf,
            &self.x,
            self.wishart_gamma,
            self.wishart_m,
            self.constant(),
        )
    }

    /// `[alpha | mu | icf]`.
    pub fn flat_parameters(&self) -> Vec<f64> {
        [&self.alphas[..], &self.means, &self.icf].concat()
    }

    /// `F` and its gradient in ADBench's layout, from the generated `gmm_objective_grad`.
    pub fn generated_gradient(&self) -> (f64, Vec<f64>) {
        self.gradient_by(gmm_objective_grad)
    }

    /// `F` and its gradient in ADBench's layout, from the hand-written adjoint.
    pub fn hand_gradient(&self) -> (f64, Vec<f64>) {
        self.gradient_by(gmm_objective_hand_grad)
    }

    /// `F` and its gradient in ADBench's layout, from `gradient` (generated for either form,
    /// or hand-written).
    pub fn gradient_by(&self, gradient: impl GmmGradient) -> (f64, Vec<f64>) {
        let (value, (da, dm, dicf)) = gradient(
            self.d,
            self.k,
            self.n,
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.wishart_gamma,
            self.wishart_m,
            self.constant(),
        );
        (value, [da, dm, dicf].concat())
    }
}

/// `ln Γ(a)` for `a` a positive multiple of 1/2, exactly from `Γ(1) = 1`, `Γ(1/2) = √π` and
/// `Γ(a + 1) = a·Γ(a)` (the Wishart constant only needs half-integers; std has no `lgamma`).
pub fn ln_gamma_half_integer(a: f64) -> f64 {
    let twice = (2.0 * a).round();
    assert!(
        twice >= 1.0 && (2.0 * a - twice).abs() < 1e-12,
        "ln_gamma_half_integer({a}): not a positive multiple of 1/2"
    );
    let (mut base, mut acc) = if (twice as u64).is_multiple_of(2) {
        (1.0, 0.0)
    } else {
        (0.5, 0.5 * std::f64::consts::PI.ln())
    };
    while base < a - 0.25 {
        acc += base.ln();
        base += 1.0;
    }
    acc
}

/// `-N·D/2·log 2π - K·C` with `C = n'·D·(log γ - ½ log 2) - log Γ_D(n'/2)`, `n' = D + m + 1`.
pub fn gmm_constant(d: usize, k: usize, n: usize, gamma: f64, m: f64) -> f64 {
    let df = d as f64;
    let n_prime = df + m + 1.0;
    let mut log_gamma_d = 0.25 * df * (df - 1.0) * std::f64::consts::PI.ln();
    for j in 1..=d {
        log_gamma_d += ln_gamma_half_integer(0.5 * n_prime + 0.5 * (1.0 - j as f64));
    }
    let c = n_prime * df * (gamma.ln() - 0.5 * 2f64.ln()) - log_gamma_d;
    -(n as f64) * df * 0.5 * (2.0 * std::f64::consts::PI).ln() - k as f64 * c
}

/// ADBench's GMM objective, written the way ADBench's C++ writes it: per point and component,
/// `Q_k (x_i - mu_k)` in two local buffers, a log-sum-exp over the components, then the
/// log-sum-exp of the weights and the Wishart prior. `constant` is [`gmm_constant`].
/// One difference: ADBench computes `exp(q_k)` and `Σ q_k` once, before the point loop
/// (`preprocess_qs`); this objective computes them per point, as the formula reads, and the
/// generated gradient moves them out of the point loop itself (the `hoist` stage).
#[differentiate(wrt(alphas, means, icf))]
pub fn gmm_objective(
    d: usize,
    k: usize,
    n: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: f64,
    constant: f64,
) -> f64 {
    let icf_sz = d * (d + 1) / 2;
    let mut main_term = vec![0.0; k];
    let mut xcentered = vec![0.0; d];
    let mut qxcentered = vec![0.0; d];
    let mut slse = 0.0;
    for ix in 0..n {
        for ik in 0..k {
            let mut sum_q = 0.0;
            for j in 0..d {
                sum_q += icf[ik * icf_sz + j];
            }
            for j in 0..d {
                xcentered[j] = x[ix * d + j] - means[ik * d + j];
            }
            for j in 0..d {
                qxcentered[j] = icf[ik * icf_sz + j].exp() * xcentered[j];
            }
            let mut li = ik * icf_sz + d;
            for c in 0..d {
                for r in (c + 1)..d {
                    qxcentered[r] += icf[li] * xcentered[c];
                    li += 1;
                }
            }
            let mut sqnorm = 0.0;
            for j in 0..d {
                sqnorm += qxcentered[j] * qxcentered[j];
            }
            main_term[ik] = alphas[ik] + sum_q - 0.5 * sqnorm;
        }
        let mut mx = main_term[0];
        for ik in 1..k {
            mx = mx.max(main_term[ik]);
        }
        let mut sumexp = 0.0;
        for ik in 0..k {
            sumexp += (main_term[ik] - mx).exp();
        }
        slse += sumexp.ln() + mx;
    }
    let mut amax = alphas[0];
    for ik in 1..k {
        amax = amax.max(alphas[ik]);
    }
    let mut asum = 0.0;
    for ik in 0..k {
        asum += (alphas[ik] - amax).exp();
    }
    let lse_alphas = asum.ln() + amax;
    let mut prior = 0.0;
    for ik in 0..k {
        let mut frobenius = 0.0;
        let mut sum_q = 0.0;
        for j in 0..d {
            let q = icf[ik * icf_sz + j];
            sum_q += q;
            frobenius += q.exp() * q.exp();
        }
        for j in d..icf_sz {
            frobenius += icf[ik * icf_sz + j] * icf[ik * icf_sz + j];
        }
        prior += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * sum_q;
    }
    constant + slse - n as f64 * lse_alphas + prior
}

/// ADBench's GMM objective as a Rust programmer ports ADBench's C++ (`gmm_objective` in
/// `gmm.cpp`): `exp(q_k)` and `Σ q_k` of every component once, in two buffers
/// (`preprocess_qs`), then the point loop, the log-sum-exp of the weights and the Wishart
/// prior reusing them. Same value as [`gmm_objective`] to rounding; this is the form timed
/// against JAX (issue 17), the other one tests the `hoist` stage.
#[differentiate(wrt(alphas, means, icf))]
pub fn gmm_objective_port(
    d: usize,
    k: usize,
    n: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: f64,
    constant: f64,
) -> f64 {
    let icf_sz = d * (d + 1) / 2;
    let mut qdiags = vec![0.0; k * d];
    let mut sum_qs = vec![0.0; k];
    for ik in 0..k {
        for j in 0..d {
            let q = icf[ik * icf_sz + j];
            sum_qs[ik] += q;
            qdiags[ik * d + j] = q.exp();
        }
    }
    let mut main_term = vec![0.0; k];
    let mut xcentered = vec![0.0; d];
    let mut qxcentered = vec![0.0; d];
    let mut slse = 0.0;
    for ix in 0..n {
        for ik in 0..k {
            for j in 0..d {
                xcentered[j] = x[ix * d + j] - means[ik * d + j];
            }
            for j in 0..d {
                qxcentered[j] = qdiags[ik * d + j] * xcentered[j];
            }
            let mut li = ik * icf_sz + d;
            for c in 0..d {
                for r in (c + 1)..d {
                    qxcentered[r] += icf[li] * xcentered[c];
                    li += 1;
                }
            }
            let mut sqnorm = 0.0;
            for j in 0..d {
                sqnorm += qxcentered[j] * qxcentered[j];
            }
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sqnorm;
        }
        let mut mx = main_term[0];
        for ik in 1..k {
            mx = mx.max(main_term[ik]);
        }
        let mut sumexp = 0.0;
        for ik in 0..k {
            sumexp += (main_term[ik] - mx).exp();
        }
        slse += sumexp.ln() + mx;
    }
    let mut amax = alphas[0];
    for ik in 1..k {
        amax = amax.max(alphas[ik]);
    }
    let mut asum = 0.0;
    for ik in 0..k {
        asum += (alphas[ik] - amax).exp();
    }
    let lse_alphas = asum.ln() + amax;
    let mut prior = 0.0;
    for ik in 0..k {
        let mut frobenius = 0.0;
        for j in 0..d {
            frobenius += qdiags[ik * d + j] * qdiags[ik * d + j];
        }
        for j in d..icf_sz {
            frobenius += icf[ik * icf_sz + j] * icf[ik * icf_sz + j];
        }
        prior += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * sum_qs[ik];
    }
    constant + slse - n as f64 * lse_alphas + prior
}

/// ADBench's GMM objective with the points innermost, as JAX's and PyTorch's versions compute
/// it batched over the points: per component, `x - μ` of every point, then the triangular
/// product `Q(x - μ)` row by row over all points, then `Σ q²` per point; the log-sum-exp over
/// the components per point after. The loops over the points vectorise (the objective is about
/// half the port's time); the buffers `xc` and `qx` are rewritten for every component, which
/// the gradient handles by saving `xc` once per component (issue 17). Same value as
/// [`gmm_objective_port`] to rounding.
#[differentiate(wrt(alphas, means, icf))]
pub fn gmm_objective_blocked(
    d: usize,
    k: usize,
    n: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: f64,
    constant: f64,
) -> f64 {
    let icf_sz = d * (d + 1) / 2;
    // The points transposed, coordinate by coordinate (a constant).
    let mut xt = vec![0.0; d * n];
    for ix in 0..n {
        for j in 0..d {
            xt[j * n + ix] = x[ix * d + j];
        }
    }
    let mut main_term = vec![0.0; k * n];
    let mut xc = vec![0.0; d * n];
    let mut qx = vec![0.0; d * n];
    let mut sum_qs = vec![0.0; k];
    for ik in 0..k {
        for j in 0..d {
            let q = icf[ik * icf_sz + j];
            sum_qs[ik] += q;
            let qdiag = q.exp();
            let mean = means[ik * d + j];
            for ix in 0..n {
                let c = xt[j * n + ix] - mean;
                xc[j * n + ix] = c;
                qx[j * n + ix] = qdiag * c;
            }
        }
        let mut li = ik * icf_sz + d;
        for c in 0..d {
            for r in (c + 1)..d {
                let l = icf[li];
                for ix in 0..n {
                    qx[r * n + ix] += l * xc[c * n + ix];
                }
                li += 1;
            }
        }
        let base = alphas[ik] + sum_qs[ik];
        for ix in 0..n {
            let mut sqnorm = 0.0;
            for j in 0..d {
                sqnorm += qx[j * n + ix] * qx[j * n + ix];
            }
            main_term[ik * n + ix] = base - 0.5 * sqnorm;
        }
    }
    let mut slse = 0.0;
    for ix in 0..n {
        let mut mx = main_term[ix];
        for ik in 1..k {
            mx = mx.max(main_term[ik * n + ix]);
        }
        let mut sumexp = 0.0;
        for ik in 0..k {
            sumexp += (main_term[ik * n + ix] - mx).exp();
        }
        slse += sumexp.ln() + mx;
    }
    let mut amax = alphas[0];
    for ik in 1..k {
        amax = amax.max(alphas[ik]);
    }
    let mut asum = 0.0;
    for ik in 0..k {
        asum += (alphas[ik] - amax).exp();
    }
    let lse_alphas = asum.ln() + amax;
    let mut prior = 0.0;
    for ik in 0..k {
        let mut frobenius = 0.0;
        for j in 0..d {
            let qd = icf[ik * icf_sz + j].exp();
            frobenius += qd * qd;
        }
        for j in d..icf_sz {
            frobenius += icf[ik * icf_sz + j] * icf[ik * icf_sz + j];
        }
        prior += 0.5 * wishart_gamma * wishart_gamma * frobenius - wishart_m * sum_qs[ik];
    }
    constant + slse - n as f64 * lse_alphas + prior
}

/// The gradient of [`gmm_objective`] derived by hand (the adjoint written out), in the same
/// calling convention as the generated `gmm_objective_grad`: `(F, (dalpha, dmu, dicf))`.
/// Per point it keeps `x_i - mu_k` and `Q_k(x_i - mu_k)` of every component, so the backward
/// step for the point reuses them instead of recomputing.
pub fn gmm_objective_hand_grad(
    d: usize,
    k: usize,
    n: usize,
    alphas: &[f64],
    means: &[f64],
    icf: &[f64],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: f64,
    constant: f64,
) -> (f64, (Vec<f64>, Vec<f64>, Vec<f64>)) {
    let icf_sz = d * (d + 1) / 2;
    let mut dalphas = vec![0.0; k];
    let mut dmeans = vec![0.0; k * d];
    let mut dicf = vec![0.0; k * icf_sz];
    let mut qdiag = vec![0.0; k * d];
    let mut sum_qs = vec![0.0; k];
    for ik in 0..k {
        for j in 0..d {
            let q = icf[ik * icf_sz + j];
            qdiag[ik * d + j] = q.exp();
            sum_qs[ik] += q;
        }
    }
    let mut main_term = vec![0.0; k];
    let mut xc = vec![0.0; k * d];
    let mut qxc = vec![0.0; k * d];
    let mut dxc = vec![0.0; d];
    let mut slse = 0.0;
    for ix in 0..n {
        let xi = &x[ix * d..(ix + 1) * d];
        for ik in 0..k {
            let base = ik * icf_sz;
            let xck = &mut xc[ik * d..(ik + 1) * d];
            let qxck = &mut qxc[ik * d..(ik + 1) * d];
            for j in 0..d {
                xck[j] = xi[j] - means[ik * d + j];
                qxck[j] = qdiag[ik * d + j] * xck[j];
            }
            let mut li = base + d;
            for c in 0..d {
                for r in (c + 1)..d {
                    qxck[r] += icf[li] * xck[c];
                    li += 1;
                }
            }
            let sqnorm: f64 = qxck.iter().map(|v| v * v).sum();
            main_term[ik] = alphas[ik] + sum_qs[ik] - 0.5 * sqnorm;
        }
        let mx = main_term.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sumexp: f64 = main_term.iter().map(|m| (m - mx).exp()).sum();
        let lse = sumexp.ln() + mx;
        slse += lse;
        // Backward: dF/dmain_k is the softmax weight; main_k = alpha_k + sum q_k - |Qxc|²/2.
        for ik in 0..k {
            let wk = (main_term[ik] - lse).exp();
            let base = ik * icf_sz;
            let xck = &xc[ik * d..(ik + 1) * d];
            let qxck = &qxc[ik * d..(ik + 1) * d];
            dalphas[ik] += wk;
            for j in 0..d {
                // d/dq_j: from sum q (wk) and from exp(q_j)·xc_j in row j of Q·xc.
                let g = -wk * qxck[j];
                dicf[base + j] += wk + g * qdiag[ik * d + j] * xck[j];
                dxc[j] = g * qdiag[ik * d + j];
            }
            let mut li = base + d;
            for c in 0..d {
                for r in (c + 1)..d {
                    let g = -wk * qxck[r];
                    dicf[li] += g * xck[c];
                    dxc[c] += g * icf[li];
                    li += 1;
                }
            }
            for j in 0..d {
                dmeans[ik * d + j] -= dxc[j];
            }
        }
    }
    let amax = alphas.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let asum: f64 = alphas.iter().map(|a| (a - amax).exp()).sum();
    let lse_alphas = asum.ln() + amax;
    let nf = n as f64;
    for ik in 0..k {
        dalphas[ik] -= nf * (alphas[ik] - lse_alphas).exp();
    }
    let g2 = wishart_gamma * wishart_gamma;
    let mut prior = 0.0;
    for ik in 0..k {
        let base = ik * icf_sz;
        let mut frobenius = 0.0;
        for j in 0..d {
            let e = qdiag[ik * d + j];
            frobenius += e * e;
            dicf[base + j] += g2 * e * e - wishart_m;
        }
        for j in d..icf_sz {
            let l = icf[base + j];
            frobenius += l * l;
            dicf[base + j] += g2 * l;
        }
        prior += 0.5 * g2 * frobenius - wishart_m * sum_qs[ik];
    }
    let value = constant + slse - nf * lse_alphas + prior;
    (value, (dalphas, dmeans, dicf))
}

/// ADBench's unit-test values for `gmm/test.txt` (GmmTests.cpp, tolerance 1e-8).
pub const GMM_TEST_F: f64 = 8.07380408004975791e+00;
pub const GMM_TEST_GRADIENT: [f64; 18] = [
    1.08662855508652456e-01,
    -7.41270039523898472e-01,
    6.32607184015246071e-01,
    1.11692576532787013e+00,
    1.63333013551455269e-01,
    -2.19989824071193142e-02,
    2.27778292254236098e-01,
    1.20963025612832187e+00,
    -6.06375920733956339e-02,
    2.58529994051162237e+00,
    1.12632694524213789e-01,
    3.85744309849611777e-01,
    7.35180573182305508e-02,
    5.41836362715595232e+00,
    -3.21494409677446469e-01,
    1.71892309775004937e+00,
    8.60091090790866875e-01,
    -9.94640930466322848e-01,
];

/// The README's independently computed references for `gmm/1k`: `(file stem, F, |grad|₂)`.
pub const GMM_1K_REFERENCE: [(&str, f64, f64); 6] = [
    ("gmm_d2_K5", -5.240590562549643e+03, 1.277188864679e+03),
    ("gmm_d2_K10", -3.484552366348191e+03, 4.910898835368e+02),
    ("gmm_d2_K25", -3.448405753455362e+03, 3.922150250819e+02),
    ("gmm_d10_K5", -3.130254091091077e+04, 5.668087940168e+03),
    ("gmm_d10_K10", -3.029294195924225e+04, 4.598904455712e+03),
    ("gmm_d10_K25", -2.564965262119760e+04, 2.662398601312e+03),
];

// ---- bundle adjustment ----------------------------------------------------------------------

/// Camera parameter layout (ADBench's `ba.h`).
pub const ROT: usize = 0;
pub const CENTRE: usize = 3;
pub const FOCAL: usize = 6;
pub const PRINCIPAL: usize = 7;
pub const RADIAL: usize = 9;

/// A BA instance, expanded the way ADBench expands the file: the one camera, point, weight
/// and feature are replicated to `n` cameras, `m` points and `p` observations, and
/// observation `i` uses camera `i mod n` and point `i mod m`.
#[derive(Clone, Debug)]
pub struct BaInput {
    pub n: usize,
    pub m: usize,
    pub p: usize,
    pub cams: Vec<[f64; 11]>,
    pub points: Vec<[f64; 3]>,
    pub weights: Vec<f64>,
    pub features: Vec<[f64; 2]>,
    pub obs: Vec<(usize, usize)>,
}

impl BaInput {
    pub fn read(path: &Path) -> BaInput {
        let v = numbers(path);
        let (n, m, p) = (v[0] as usize, v[1] as usize, v[2] as usize);
        let cam: [f64; 11] = v[3..14].try_into().unwrap();
        let point: [f64; 3] = v[14..17].try_into().unwrap();
        let w = v[17];
        let feat: [f64; 2] = v[18..20].try_into().unwrap();
        BaInput {
            n,
            m,
            p,
            cams: vec![cam; n],
            points: vec![point; m],
            weights: vec![w; p],
            features: vec![feat; p],
            obs: (0..p).map(|i| (i % n, i % m)).collect(),
        }
    }

    /// All `3p` residuals through the original function: `[reproj (2p) | w_err (p)]`.
    pub fn residuals(&self, out: &mut [f64]) {
        let p = self.p;
        for (i, &(c, pt)) in self.obs.iter().enumerate() {
            let (e0, e1) = ba_reprojection(
                &self.cams[c],
                &self.points[pt],
                self.weights[i],
                &self.features[i],
            );
            out[2 * i] = e0;
            out[2 * i + 1] = e1;
            out[2 * p + i] = ba_weight_error(self.weights[i]);
        }
    }

    /// The Jacobian's non-zeros through the generated code: per observation the two
    /// reprojection rows of 15 from `ba_reprojection_jacobian` (one forward sweep, one reverse
    /// sweep per row), then one weight row entry each. `out` holds `30p + p` values.
    pub fn generated_jacobian(&self, out: &mut [f64]) {
        let p = self.p;
        for (i, &(c, pt)) in self.obs.iter().enumerate() {
            let (cam, x, w, feat) = (
                &self.cams[c],
                &self.points[pt],
                self.weights[i],
                &self.features[i],
            );
            let (_, rows) = ba_reprojection_jacobian(cam, x, w, feat);
            for (row, (dcam, dx, dw)) in rows.iter().enumerate() {
                let r = &mut out[30 * i + 15 * row..30 * i + 15 * row + 15];
                r[..11].copy_from_slice(dcam);
                r[11..14].copy_from_slice(dx);
                r[14] = *dw;
            }
            out[30 * p + i] = ba_weight_error_grad(w).1;
        }
    }

    /// The same Jacobian from the hand-written derivative [`ba_reprojection_hand_jacobian`].
    pub fn hand_jacobian(&self, out: &mut [f64]) {
        let p = self.p;
        for (i, &(c, pt)) in self.obs.iter().enumerate() {
            let w = self.weights[i];
            let (_, rows) = ba_reprojection_hand_jacobian(
                &self.cams[c],
                &self.points[pt],
                w,
                &self.features[i],
            );
            out[30 * i..30 * i + 15].copy_from_slice(&rows[0]);
            out[30 * i + 15..30 * i + 30].copy_from_slice(&rows[1]);
            out[30 * p + i] = -2.0 * w;
        }
    }
}

/// ADBench's `computeReprojError`: project point `x` through camera `cam` (Rodrigues rotation
/// about the camera centre, perspective division, radial distortion, focal length and principal
/// point) and weight the difference from the observed feature.
#[differentiate(wrt(cam, x, w))]
pub fn ba_reprojection(cam: &[f64; 11], x: &[f64; 3], w: f64, feat: &[f64; 2]) -> (f64, f64) {
    let xo0 = x[0] - cam[3];
    let xo1 = x[1] - cam[4];
    let xo2 = x[2] - cam[5];
    let sqtheta = cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2];
    let xc0;
    let xc1;
    let xc2;
    if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let theta_inverse = 1.0 / theta;
        let w0 = cam[0] * theta_inverse;
        let w1 = cam[1] * theta_inverse;
        let w2 = cam[2] * theta_inverse;
        let cross0 = w1 * xo2 - w2 * xo1;
        let cross1 = w2 * xo0 - w0 * xo2;
        let cross2 = w0 * xo1 - w1 * xo0;
        let tmp = (w0 * xo0 + w1 * xo1 + w2 * xo2) * (1.0 - costheta);
        xc0 = xo0 * costheta + cross0 * sintheta + w0 * tmp;
        xc1 = xo1 * costheta + cross1 * sintheta + w1 * tmp;
        xc2 = xo2 * costheta + cross2 * sintheta + w2 * tmp;
    } else {
        xc0 = xo0 + (cam[1] * xo2 - cam[2] * xo1);
        xc1 = xo1 + (cam[2] * xo0 - cam[0] * xo2);
        xc2 = xo2 + (cam[0] * xo1 - cam[1] * xo0);
    }
    let p0 = xc0 / xc2;
    let p1 = xc1 / xc2;
    let rsq = p0 * p0 + p1 * p1;
    let distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq;
    let proj0 = p0 * distortion * cam[6] + cam[7];
    let proj1 = p1 * distortion * cam[6] + cam[8];
    (w * (proj0 - feat[0]), w * (proj1 - feat[1]))
}

/// ADBench's weight residual `1 - w²`.
#[differentiate]
pub fn ba_weight_error(w: f64) -> f64 {
    1.0 - w * w
}

/// Both Jacobian rows of [`ba_reprojection`] derived by hand: one forward pass, then one
/// backward pass whose adjoints are pairs (one entry per output row). Each row is
/// `[d/dcam (11) | d/dx (3) | d/dw]`, ADBench's order.
pub fn ba_reprojection_hand_jacobian(
    cam: &[f64; 11],
    x: &[f64; 3],
    w: f64,
    feat: &[f64; 2],
) -> ((f64, f64), [[f64; 15]; 2]) {
    type A = [f64; 2]; // one adjoint per output row
    let xo = [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]];
    let r = [cam[0], cam[1], cam[2]];
    let sqtheta = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
    // Forward.
    let rotating = sqtheta != 0.0;
    let (c, s, ti) = if rotating {
        let theta = sqtheta.sqrt();
        (theta.cos(), theta.sin(), 1.0 / theta)
    } else {
        (1.0, 0.0, 1.0)
    };
    let wv = if rotating {
        [r[0] * ti, r[1] * ti, r[2] * ti]
    } else {
        r
    };
    let cross = [
        wv[1] * xo[2] - wv[2] * xo[1],
        wv[2] * xo[0] - wv[0] * xo[2],
        wv[0] * xo[1] - wv[1] * xo[0],
    ];
    let dot = wv[0] * xo[0] + wv[1] * xo[1] + wv[2] * xo[2];
    let tmp = dot * (1.0 - c);
    let xc = if rotating {
        [
            xo[0] * c + cross[0] * s + wv[0] * tmp,
            xo[1] * c + cross[1] * s + wv[1] * tmp,
            xo[2] * c + cross[2] * s + wv[2] * tmp,
        ]
    } else {
        [xo[0] + cross[0], xo[1] + cross[1], xo[2] + cross[2]]
    };
    let p = [xc[0] / xc[2], xc[1] / xc[2]];
    let rsq = p[0] * p[0] + p[1] * p[1];
    let (k1, k2) = (cam[RADIAL], cam[RADIAL + 1]);
    let l = 1.0 + k1 * rsq + k2 * rsq * rsq;
    let f = cam[FOCAL];
    let proj = [
        p[0] * l * f + cam[PRINCIPAL],
        p[1] * l * f + cam[PRINCIPAL + 1],
    ];
    let err = (w * (proj[0] - feat[0]), w * (proj[1] - feat[1]));

    // Backward, both rows at once: row o is seeded with d err_o = 1.
    let mut jac = [[0.0; 15]; 2];
    let dw: A = [proj[0] - feat[0], proj[1] - feat[1]];
    let dl: A = [w * p[0] * f, w * p[1] * f];
    let mut dp: [A; 2] = [[w * l * f, 0.0], [0.0, w * l * f]];
    let drsq: A = [dl[0] * (k1 + 2.0 * k2 * rsq), dl[1] * (k1 + 2.0 * k2 * rsq)];
    let mut dxc: [A; 3] = [[0.0; 2]; 3];
    for o in 0..2 {
        jac[o][FOCAL] = w * p[o] * l;
        jac[o][PRINCIPAL + o] = w;
        jac[o][RADIAL] = dl[o] * rsq;
        jac[o][RADIAL + 1] = dl[o] * rsq * rsq;
        jac[o][14] = dw[o];
        dp[0][o] += drsq[o] * 2.0 * p[0];
        dp[1][o] += drsq[o] * 2.0 * p[1];
        dxc[0][o] = dp[0][o] / xc[2];
        dxc[1][o] = dp[1][o] / xc[2];
        dxc[2][o] = -(dp[0][o] * p[0] + dp[1][o] * p[1]) / xc[2];
    }
    for o in 0..2 {
        let d = [dxc[0][o], dxc[1][o], dxc[2][o]];
        let mut dxo;
        let mut dwv;
        let dcross;
        if rotating {
            dxo = [d[0] * c, d[1] * c, d[2] * c];
            dcross = [d[0] * s, d[1] * s, d[2] * s];
            dwv = [d[0] * tmp, d[1] * tmp, d[2] * tmp];
            let dtmp = d[0] * wv[0] + d[1] * wv[1] + d[2] * wv[2];
            let dc = d[0] * xo[0] + d[1] * xo[1] + d[2] * xo[2] - dtmp * dot;
            let ds = d[0] * cross[0] + d[1] * cross[1] + d[2] * cross[2];
            let ddot = dtmp * (1.0 - c);
            for i in 0..3 {
                dwv[i] += ddot * xo[i];
                dxo[i] += ddot * wv[i];
            }
            // cross = wv × xo
            dwv[0] += -dcross[1] * xo[2] + dcross[2] * xo[1];
            dwv[1] += dcross[0] * xo[2] - dcross[2] * xo[0];
            dwv[2] += -dcross[0] * xo[1] + dcross[1] * xo[0];
            dxo[0] += dcross[1] * wv[2] - dcross[2] * wv[1];
            dxo[1] += -dcross[0] * wv[2] + dcross[2] * wv[0];
            dxo[2] += dcross[0] * wv[1] - dcross[1] * wv[0];
            // wv = r / theta, theta = sqrt(|r|²)
            let dti = dwv[0] * r[0] + dwv[1] * r[1] + dwv[2] * r[2];
            let dtheta = -dti * ti * ti - dc * s + ds * c;
            let dsq = dtheta * 0.5 * ti;
            for i in 0..3 {
                jac[o][ROT + i] = dwv[i] * ti + 2.0 * r[i] * dsq;
            }
        } else {
            dxo = d;
            dcross = d;
            dwv = [
                -dcross[1] * xo[2] + dcross[2] * xo[1],
                dcross[0] * xo[2] - dcross[2] * xo[0],
                -dcross[0] * xo[1] + dcross[1] * xo[0],
            ];
            dxo[0] += dcross[1] * wv[2] - dcross[2] * wv[1];
            dxo[1] += -dcross[0] * wv[2] + dcross[2] * wv[0];
            dxo[2] += dcross[0] * wv[1] - dcross[1] * wv[0];
            jac[o][ROT..ROT + 3].copy_from_slice(&dwv);
        }
        for i in 0..3 {
            jac[o][CENTRE + i] = -dxo[i];
            jac[o][11 + i] = dxo[i];
        }
    }
    (err, jac)
}

/// ADBench's unit-test values for `ba/test.txt` (BaTests.cpp, tolerance 1e-8).
pub const BA_TEST_REPROJ_ERR: [f64; 2] = [-2.69048849235189402e-01, 2.59944792677901881e-01];
pub const BA_TEST_W_ERR: f64 = 8.26092651515999976e-01;
pub const BA_TEST_FIRST_ROW_CAMERA: [f64; 11] = [
    2.28877202208246757e+02,
    6.34574811495545418e+02,
    -7.82222866259340549e+02,
    2.42892615607159668e+00,
    -1.17828079628011313e+01,
    2.54169312487743460e+00,
    -1.03657084958518086e+00,
    4.17022e-01,
    0.0,
    -3.50739521096005205e+02,
    -9.12107773668008576e+02,
];
/// The README's reference residuals for `ba1`..`ba4` (given to 8 significant digits).
pub const BA_FILES_REPROJ_ERR: [f64; 2] = [0.10133584, -0.06896777];
pub const BA_FILES_W_ERR: f64 = 0.82609265;
