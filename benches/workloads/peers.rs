//! The same workloads written for the alternatives: the `reverse` crate (a tape of `Var`s,
//! reverse mode at run time), `echidna` (a tape recorded per call by `grad`, or a bytecode
//! tape recorded once by `record` and re-evaluated by `gradient`), `num-dual` (forward-mode
//! dual numbers) and central finite differences. Each is written the way that crate's
//! documentation suggests.

#![allow(clippy::needless_range_loop, clippy::too_many_arguments)]

use super::adbench::{gmm_objective, BaInput, GmmInput};
use super::basic;
use echidna::Scalar;
use nalgebra::SVector;
use num_dual::{first_derivative, gradient, jacobian, Dual64, DualNum, DualSVec64};
use reverse::{Gradient, Tape, Var};

// ---- reverse: one tape per benchmark closure, cleared before each gradient -------------------

pub fn j_reverse(tape: &Tape, x: f64) -> (f64, f64) {
    tape.clear();
    let xv = tape.add_var(x);
    let y = xv.powi(3) + xv.powi(2) - xv * 6.0 + 1.0;
    (y.val(), y.grad().wrt(&xv))
}

pub fn fonction_complexe_reverse(tape: &Tape, x: f64, y: f64, z: f64) -> (f64, [f64; 3]) {
    tape.clear();
    let (x, y, z) = (tape.add_var(x), tape.add_var(y), tape.add_var(z));
    let f = x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos();
    let g = f.grad();
    (f.val(), [g.wrt(&x), g.wrt(&y), g.wrt(&z)])
}

pub fn residual_sum_reverse(tape: &Tape, w: &[f64], x: &[f64], y: &[f64]) -> (f64, Vec<f64>) {
    tape.clear();
    let (wv, xv, yv) = (tape.add_vars(w), tape.add_vars(x), tape.add_vars(y));
    let mut s = tape.add_var(0.0);
    for i in 0..x.len() {
        let r = wv[i] * xv[i] - yv[i];
        s = s + r * r + xv[i].sin();
    }
    let g = s.grad();
    let mut out = g.wrt(&wv);
    out.extend(g.wrt(&xv));
    out.extend(g.wrt(&yv));
    (s.val(), out)
}

pub fn oscillator_reverse(
    tape: &Tape,
    k: f64,
    c: f64,
    x0: f64,
    v0: f64,
    dt: f64,
    steps: usize,
) -> (f64, [f64; 2]) {
    tape.clear();
    let (kv, cv) = (tape.add_var(k), tape.add_var(c));
    let mut x = tape.add_var(x0);
    let mut v = tape.add_var(v0);
    for _ in 0..steps {
        let a = -kv * x - cv * v;
        x = x + v * dt;
        v = v + a * dt;
    }
    let g = x.grad();
    (x.val(), [g.wrt(&kv), g.wrt(&cv)])
}

/// ADBench's GMM objective over `Var`s; the log-sum-exp shift is a plain `f64` (its derivative
/// cancels), as one writes it for any tape-based AD.
pub fn gmm_reverse(tape: &Tape, input: &GmmInput) -> (f64, Vec<f64>) {
    tape.clear();
    let (d, k, n) = (input.d, input.k, input.n);
    let icf_sz = d * (d + 1) / 2;
    let alphas = tape.add_vars(&input.alphas);
    let means = tape.add_vars(&input.means);
    let icf = tape.add_vars(&input.icf);
    let x = &input.x;
    let zero = tape.add_var(0.0);
    let qdiag: Vec<Var> = (0..k * d)
        .map(|i| icf[(i / d) * icf_sz + i % d].exp())
        .collect();
    let sum_qs: Vec<Var> = (0..k)
        .map(|ik| icf[ik * icf_sz..ik * icf_sz + d].iter().copied().sum())
        .collect();
    let mut main_term = vec![zero; k];
    let mut xc = vec![zero; d];
    let mut qxc = vec![zero; d];
    let mut slse = zero;
    for ix in 0..n {
        for ik in 0..k {
            for j in 0..d {
                xc[j] = means[ik * d + j] * -1.0 + x[ix * d + j];
                qxc[j] = qdiag[ik * d + j] * xc[j];
            }
            let mut li = ik * icf_sz + d;
            for c in 0..d {
                for r in (c + 1)..d {
                    qxc[r] = qxc[r] + icf[li] * xc[c];
                    li += 1;
                }
            }
            let sqnorm: Var = qxc.iter().map(|v| *v * *v).sum();
            main_term[ik] = alphas[ik] + sum_qs[ik] - sqnorm * 0.5;
        }
        let mx = main_term
            .iter()
            .map(|m| m.val())
            .fold(f64::NEG_INFINITY, f64::max);
        let sumexp: Var = main_term.iter().map(|m| (*m - mx).exp()).sum();
        slse = slse + sumexp.ln() + mx;
    }
    let amax = input
        .alphas
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let asum: Var = alphas.iter().map(|a| (*a - amax).exp()).sum();
    let lse_alphas = asum.ln() + amax;
    let g2 = input.wishart_gamma * input.wishart_gamma;
    let mut prior = zero;
    for ik in 0..k {
        let mut frobenius = zero;
        for j in 0..d {
            frobenius = frobenius + qdiag[ik * d + j] * qdiag[ik * d + j];
        }
        for j in d..icf_sz {
            frobenius = frobenius + icf[ik * icf_sz + j] * icf[ik * icf_sz + j];
        }
        prior = prior + frobenius * (0.5 * g2) - sum_qs[ik] * input.wishart_m;
    }
    let f = slse - lse_alphas * n as f64 + prior + input.constant();
    let g = f.grad();
    let mut out = g.wrt(&alphas);
    out.extend(g.wrt(&means));
    out.extend(g.wrt(&icf));
    (f.val(), out)
}

fn ba_residual_vars<'a>(
    cam: &[Var<'a>],
    x: &[Var<'a>],
    w: Var<'a>,
    feat: &[f64; 2],
) -> [Var<'a>; 2] {
    let xo = [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]];
    let sqtheta = cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2];
    let xc = if sqtheta.val() != 0.0 {
        let theta = sqtheta.sqrt();
        let (c, s) = (theta.cos(), theta.sin());
        let ti = theta.recip();
        let wv = [cam[0] * ti, cam[1] * ti, cam[2] * ti];
        let cross = [
            wv[1] * xo[2] - wv[2] * xo[1],
            wv[2] * xo[0] - wv[0] * xo[2],
            wv[0] * xo[1] - wv[1] * xo[0],
        ];
        let tmp = (wv[0] * xo[0] + wv[1] * xo[1] + wv[2] * xo[2]) * (1.0 - c);
        [
            xo[0] * c + cross[0] * s + wv[0] * tmp,
            xo[1] * c + cross[1] * s + wv[1] * tmp,
            xo[2] * c + cross[2] * s + wv[2] * tmp,
        ]
    } else {
        [
            xo[0] + (cam[1] * xo[2] - cam[2] * xo[1]),
            xo[1] + (cam[2] * xo[0] - cam[0] * xo[2]),
            xo[2] + (cam[0] * xo[1] - cam[1] * xo[0]),
        ]
    };
    let p0 = xc[0] / xc[2];
    let p1 = xc[1] / xc[2];
    let rsq = p0 * p0 + p1 * p1;
    let l = cam[9] * rsq + cam[10] * rsq * rsq + 1.0;
    let proj0 = p0 * l * cam[6] + cam[7];
    let proj1 = p1 * l * cam[6] + cam[8];
    [w * (proj0 - feat[0]), w * (proj1 - feat[1])]
}

/// The BA Jacobian with `reverse`: per observation a cleared tape, the 15 inputs as variables,
/// and one backward sweep per residual row.
pub fn ba_reverse(tape: &Tape, input: &BaInput, out: &mut [f64]) {
    let p = input.p;
    for (i, &(c, pt)) in input.obs.iter().enumerate() {
        tape.clear();
        let cam = tape.add_vars(&input.cams[c]);
        let x = tape.add_vars(&input.points[pt]);
        let w = tape.add_var(input.weights[i]);
        let err = ba_residual_vars(&cam, &x, w, &input.features[i]);
        for (row, e) in err.iter().enumerate() {
            let g = e.grad();
            let r = &mut out[30 * i + 15 * row..30 * i + 15 * row + 15];
            for j in 0..11 {
                r[j] = g.wrt(&cam[j]);
            }
            for j in 0..3 {
                r[11 + j] = g.wrt(&x[j]);
            }
            r[14] = g.wrt(&w);
        }
        let werr = 1.0 - w * w;
        out[30 * p + i] = werr.grad().wrt(&w);
    }
}

// ---- num-dual: generic functions, derivatives through its helpers or one pass per input --------

pub fn j_dual<D: DualNum<Primitive = f64> + Copy>(x: D) -> D {
    x.powi(3) + x.powi(2) - x * 6.0 + 1.0
}

pub fn fonction_complexe_dual<D: DualNum<Primitive = f64> + Copy>(x: D, y: D, z: D) -> D {
    x * y * (x / y).atan() * (z.powi(2) - x).cos() / z + (x / y).atan() - (z * z - x).cos()
}

pub fn j_num_dual(x: f64) -> (f64, f64) {
    first_derivative(j_dual, x)
}

/// `gradient` with a 3-wide static dual vector: one forward pass.
pub fn fonction_complexe_num_dual(x: f64, y: f64, z: f64) -> (f64, SVector<f64, 3>) {
    gradient(
        |v: SVector<DualSVec64<3>, 3>| fonction_complexe_dual(v[0], v[1], v[2]),
        &SVector::from([x, y, z]),
    )
}

pub fn residual_sum_dual<D: DualNum<Primitive = f64> + Copy>(w: &[D], x: &[D], y: &[D]) -> D {
    let mut s = D::from(0.0);
    for i in 0..x.len() {
        let r = w[i] * x[i] - y[i];
        s += r * r + x[i].sin();
    }
    s
}

/// Forward mode over 3n inputs: one `Dual64` pass per input (the inputs are kept as duals
/// between calls; a pass flips one `eps` to 1 and back). O(n) passes of O(n) work.
pub fn residual_sum_num_dual(wxy: &mut [Vec<Dual64>; 3]) -> (f64, Vec<f64>) {
    let n = wxy[0].len();
    let mut out = Vec::with_capacity(3 * n);
    let mut value = 0.0;
    for which in 0..3 {
        for i in 0..n {
            wxy[which][i].eps = 1.0;
            let r = residual_sum_dual(&wxy[0], &wxy[1], &wxy[2]);
            wxy[which][i].eps = 0.0;
            value = r.re;
            out.push(r.eps);
        }
    }
    (value, out)
}

pub fn oscillator_dual<D: DualNum<Primitive = f64> + Copy>(
    k: D,
    c: D,
    x0: f64,
    v0: f64,
    dt: f64,
    steps: usize,
) -> D {
    let mut x = D::from(x0);
    let mut v = D::from(v0);
    for _ in 0..steps {
        let a = -k * x - c * v;
        x += v * dt;
        v += a * dt;
    }
    x
}

/// `gradient` with a 2-wide static dual vector: one forward pass carrying both derivatives.
pub fn oscillator_num_dual(
    k: f64,
    c: f64,
    x0: f64,
    v0: f64,
    dt: f64,
    steps: usize,
) -> (f64, SVector<f64, 2>) {
    gradient(
        |p: SVector<DualSVec64<2>, 2>| oscillator_dual(p[0], p[1], x0, v0, dt, steps),
        &SVector::from([k, c]),
    )
}

pub fn gmm_dual<D: DualNum<Primitive = f64> + Copy>(
    input: &GmmInput,
    alphas: &[D],
    means: &[D],
    icf: &[D],
    scratch: &mut [Vec<D>; 3],
) -> D {
    let (d, k, n) = (input.d, input.k, input.n);
    let icf_sz = d * (d + 1) / 2;
    let x = &input.x;
    let [main_term, xc, qxc] = scratch;
    let mut slse = D::from(0.0);
    for ix in 0..n {
        for ik in 0..k {
            let mut sum_q = D::from(0.0);
            for j in 0..d {
                sum_q += icf[ik * icf_sz + j];
            }
            for j in 0..d {
                xc[j] = -means[ik * d + j] + x[ix * d + j];
                qxc[j] = icf[ik * icf_sz + j].exp() * xc[j];
            }
            let mut li = ik * icf_sz + d;
            for c in 0..d {
                for r in (c + 1)..d {
                    let t = icf[li] * xc[c];
                    qxc[r] += t;
                    li += 1;
                }
            }
            let mut sqnorm = D::from(0.0);
            for j in 0..d {
                sqnorm += qxc[j] * qxc[j];
            }
            main_term[ik] = alphas[ik] + sum_q - sqnorm * 0.5;
        }
        let mx = main_term[..k]
            .iter()
            .map(|m| m.re())
            .fold(f64::NEG_INFINITY, f64::max);
        let mut sumexp = D::from(0.0);
        for ik in 0..k {
            sumexp += (main_term[ik] - mx).exp();
        }
        slse += sumexp.ln() + mx;
    }
    let amax = alphas
        .iter()
        .map(|a| a.re())
        .fold(f64::NEG_INFINITY, f64::max);
    let mut asum = D::from(0.0);
    for ik in 0..k {
        asum += (alphas[ik] - amax).exp();
    }
    let lse_alphas = asum.ln() + amax;
    let g2 = input.wishart_gamma * input.wishart_gamma;
    let mut prior = D::from(0.0);
    for ik in 0..k {
        let mut frobenius = D::from(0.0);
        let mut sum_q = D::from(0.0);
        for j in 0..d {
            let q = icf[ik * icf_sz + j];
            sum_q += q;
            frobenius += q.exp() * q.exp();
        }
        for j in d..icf_sz {
            frobenius += icf[ik * icf_sz + j] * icf[ik * icf_sz + j];
        }
        prior += frobenius * (0.5 * g2) - sum_q * input.wishart_m;
    }
    slse - lse_alphas * n as f64 + prior + input.constant()
}

/// Forward mode over all P parameters: one `Dual64` pass per parameter.
pub fn gmm_num_dual(input: &GmmInput, params: &mut [Vec<Dual64>; 3]) -> (f64, Vec<f64>) {
    let mut scratch = [
        vec![Dual64::from(0.0); input.k],
        vec![Dual64::from(0.0); input.d],
        vec![Dual64::from(0.0); input.d],
    ];
    let mut out = Vec::with_capacity(input.parameter_count());
    let mut value = 0.0;
    for which in 0..3 {
        for i in 0..params[which].len() {
            params[which][i].eps = 1.0;
            let [a, m, q] = &*params;
            let r = gmm_dual(input, a, m, q, &mut scratch);
            params[which][i].eps = 0.0;
            value = r.re;
            out.push(r.eps);
        }
    }
    (value, out)
}

pub fn ba_residual_dual<D: DualNum<Primitive = f64> + Copy>(
    cam: &[D],
    x: &[D],
    w: D,
    feat: &[f64; 2],
) -> [D; 2] {
    let xo = [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]];
    let sqtheta = cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2];
    let xc = if sqtheta.re() != 0.0 {
        let theta = sqtheta.sqrt();
        let (s, c) = theta.sin_cos();
        let ti = theta.recip();
        let wv = [cam[0] * ti, cam[1] * ti, cam[2] * ti];
        let cross = [
            wv[1] * xo[2] - wv[2] * xo[1],
            wv[2] * xo[0] - wv[0] * xo[2],
            wv[0] * xo[1] - wv[1] * xo[0],
        ];
        let tmp = (wv[0] * xo[0] + wv[1] * xo[1] + wv[2] * xo[2]) * (-c + 1.0);
        [
            xo[0] * c + cross[0] * s + wv[0] * tmp,
            xo[1] * c + cross[1] * s + wv[1] * tmp,
            xo[2] * c + cross[2] * s + wv[2] * tmp,
        ]
    } else {
        [
            xo[0] + (cam[1] * xo[2] - cam[2] * xo[1]),
            xo[1] + (cam[2] * xo[0] - cam[0] * xo[2]),
            xo[2] + (cam[0] * xo[1] - cam[1] * xo[0]),
        ]
    };
    let p0 = xc[0] / xc[2];
    let p1 = xc[1] / xc[2];
    let rsq = p0 * p0 + p1 * p1;
    let l = cam[9] * rsq + cam[10] * rsq * rsq + 1.0;
    let proj0 = p0 * l * cam[6] + cam[7];
    let proj1 = p1 * l * cam[6] + cam[8];
    [w * (proj0 - feat[0]), w * (proj1 - feat[1])]
}

/// The BA Jacobian with `num_dual::jacobian`: per observation one forward pass with 15-wide
/// static dual vectors.
pub fn ba_num_dual(input: &BaInput, out: &mut [f64]) {
    let p = input.p;
    for (i, &(c, pt)) in input.obs.iter().enumerate() {
        let mut v = [0.0; 15];
        v[..11].copy_from_slice(&input.cams[c]);
        v[11..14].copy_from_slice(&input.points[pt]);
        v[14] = input.weights[i];
        let feat = input.features[i];
        let (_, jac) = jacobian(
            |v: SVector<DualSVec64<15>, 15>| {
                let e = ba_residual_dual(&v.as_slice()[..11], &v.as_slice()[11..14], v[14], &feat);
                SVector::from(e)
            },
            &SVector::from(v),
        );
        for row in 0..2 {
            for j in 0..15 {
                out[30 * i + 15 * row + j] = jac[(row, j)];
            }
        }
        out[30 * p + i] = first_derivative(|w: Dual64| -(w * w) + 1.0, input.weights[i]).1;
    }
}

// ---- central finite differences ----------------------------------------------------------------

/// A step that balances truncation (O(h²)) and rounding (ε|f|/h) error for central differences.
pub fn step(x: f64) -> f64 {
    6e-6 * x.abs().max(1.0)
}

pub fn j_fd(x: f64) -> f64 {
    let h = step(x);
    (basic::j(x + h) - basic::j(x - h)) / (2.0 * h)
}

pub fn fonction_complexe_fd(x: f64, y: f64, z: f64) -> [f64; 3] {
    let f = basic::fonction_complexe;
    let (hx, hy, hz) = (step(x), step(y), step(z));
    [
        (f(x + hx, y, z) - f(x - hx, y, z)) / (2.0 * hx),
        (f(x, y + hy, z) - f(x, y - hy, z)) / (2.0 * hy),
        (f(x, y, z + hz) - f(x, y, z - hz)) / (2.0 * hz),
    ]
}

/// Central differences over a flat parameter vector, one coordinate at a time (2P calls).
pub fn gradient_fd(f: impl Fn(&[f64]) -> f64, x: &mut [f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let xi = x[i];
            let h = step(xi);
            x[i] = xi + h;
            let up = f(x);
            x[i] = xi - h;
            let down = f(x);
            x[i] = xi;
            (up - down) / (2.0 * h)
        })
        .collect()
}

pub fn residual_sum_fd(wxy: &mut [f64], n: usize) -> Vec<f64> {
    gradient_fd(
        |v| basic::residual_sum(&v[..n], &v[n..2 * n], &v[2 * n..]),
        wxy,
    )
}

pub fn oscillator_fd(k: f64, c: f64, x0: f64, v0: f64, dt: f64, steps: usize) -> [f64; 2] {
    let f = basic::oscillator;
    let (hk, hc) = (step(k), step(c));
    [
        (f(k + hk, c, x0, v0, dt, steps) - f(k - hk, c, x0, v0, dt, steps)) / (2.0 * hk),
        (f(k, c + hc, x0, v0, dt, steps) - f(k, c - hc, x0, v0, dt, steps)) / (2.0 * hc),
    ]
}

pub fn gmm_fd(input: &GmmInput, params: &mut [f64]) -> Vec<f64> {
    let constant = input.constant();
    let (k, d) = (input.k, input.d);
    gradient_fd(
        |v| {
            let (a, rest) = v.split_at(k);
            let (m, icf) = rest.split_at(k * d);
            gmm_objective(
                d,
                k,
                input.n,
                a,
                m,
                icf,
                &input.x,
                input.wishart_gamma,
                input.wishart_m,
                constant,
            )
        },
        params,
    )
}

/// The BA Jacobian by central differences: 15 inputs × 2 calls per observation, each call
/// giving both residual rows.
pub fn ba_fd(input: &BaInput, out: &mut [f64]) {
    use super::adbench::ba_reprojection;
    let p = input.p;
    for (i, &(c, pt)) in input.obs.iter().enumerate() {
        let feat = &input.features[i];
        let mut cam = input.cams[c];
        let mut x = input.points[pt];
        let w = input.weights[i];
        for j in 0..15 {
            let eval = |cam: &[f64; 11], x: &[f64; 3], w: f64| ba_reprojection(cam, x, w, feat);
            let (up, down, h);
            if j < 11 {
                let v = cam[j];
                h = step(v);
                cam[j] = v + h;
                up = eval(&cam, &x, w);
                cam[j] = v - h;
                down = eval(&cam, &x, w);
                cam[j] = v;
            } else if j < 14 {
                let v = x[j - 11];
                h = step(v);
                x[j - 11] = v + h;
                up = eval(&cam, &x, w);
                x[j - 11] = v - h;
                down = eval(&cam, &x, w);
                x[j - 11] = v;
            } else {
                h = step(w);
                up = eval(&cam, &x, w + h);
                down = eval(&cam, &x, w - h);
            }
            out[30 * i + j] = (up.0 - down.0) / (2.0 * h);
            out[30 * i + 15 + j] = (up.1 - down.1) / (2.0 * h);
        }
        let h = step(w);
        out[30 * p + i] = (super::adbench::ba_weight_error(w + h)
            - super::adbench::ba_weight_error(w - h))
            / (2.0 * h);
    }
}

// ---- echidna: the objectives over its `Scalar` (one generic function serves `grad`'s
// `Reverse` and `record`'s `BReverse`); constants through `from_f` ------------------------------

/// `residual_sum` over `[w | x | y]`.
pub fn residual_sum_echidna<T: Scalar<Float = f64>>(wxy: &[T]) -> T {
    let n = wxy.len() / 3;
    let (w, rest) = wxy.split_at(n);
    let (x, y) = rest.split_at(n);
    let mut s = T::from_f(0.0);
    for i in 0..n {
        let r = w[i] * x[i] - y[i];
        s = s + r * r + x[i].sin();
    }
    s
}

/// The oscillator's final position as a function of `[k, c]`.
pub fn oscillator_echidna<T: Scalar<Float = f64>>(
    kc: &[T],
    x0: f64,
    v0: f64,
    dt: f64,
    steps: usize,
) -> T {
    let (k, c) = (kc[0], kc[1]);
    let (mut x, mut v) = (T::from_f(x0), T::from_f(v0));
    let dt = T::from_f(dt);
    for _ in 0..steps {
        let a = -(k * x) - c * v;
        x = x + v * dt;
        v = v + a * dt;
    }
    x
}

/// ADBench's GMM objective over `[alpha | mu | icf]`, ported from its C++ (`exp(q_k)` once
/// per component), with the log-sum-exp shifts as recorded operations.
pub fn gmm_echidna<T: Scalar<Float = f64>>(input: &GmmInput, params: &[T]) -> T {
    let (d, k, n) = (input.d, input.k, input.n);
    let icf_sz = d * (d + 1) / 2;
    let (alphas, rest) = params.split_at(k);
    let (means, icf) = rest.split_at(k * d);
    let zero = T::from_f(0.0);
    let qdiags: Vec<T> = (0..k * d)
        .map(|i| icf[(i / d) * icf_sz + i % d].exp())
        .collect();
    let sum_qs: Vec<T> = (0..k)
        .map(|ik| (0..d).fold(zero, |s, j| s + icf[ik * icf_sz + j]))
        .collect();
    let mut main_term = vec![zero; k];
    let mut xcentered = vec![zero; d];
    let mut qxcentered = vec![zero; d];
    let mut slse = zero;
    for ix in 0..n {
        for ik in 0..k {
            for j in 0..d {
                xcentered[j] = T::from_f(input.x[ix * d + j]) - means[ik * d + j];
                qxcentered[j] = qdiags[ik * d + j] * xcentered[j];
            }
            let mut li = ik * icf_sz + d;
            for c in 0..d {
                for r in (c + 1)..d {
                    qxcentered[r] = qxcentered[r] + icf[li] * xcentered[c];
                    li += 1;
                }
            }
            let sqnorm = qxcentered.iter().fold(zero, |s, &q| s + q * q);
            main_term[ik] = alphas[ik] + sum_qs[ik] - T::from_f(0.5) * sqnorm;
        }
        let mx = main_term.iter().fold(main_term[0], |m, &t| m.max(t));
        let sumexp = main_term.iter().fold(zero, |s, &t| s + (t - mx).exp());
        slse = slse + sumexp.ln() + mx;
    }
    let amax = alphas.iter().fold(alphas[0], |m, &a| m.max(a));
    let lse_alphas = alphas.iter().fold(zero, |s, &a| s + (a - amax).exp()).ln() + amax;
    let gamma = input.wishart_gamma;
    let mut prior = zero;
    for ik in 0..k {
        let mut frobenius = zero;
        for j in 0..d {
            frobenius = frobenius + qdiags[ik * d + j] * qdiags[ik * d + j];
        }
        for j in d..icf_sz {
            frobenius = frobenius + icf[ik * icf_sz + j] * icf[ik * icf_sz + j];
        }
        prior = prior + T::from_f(0.5 * gamma * gamma) * frobenius
            - T::from_f(input.wishart_m) * sum_qs[ik];
    }
    T::from_f(input.constant()) + slse - T::from_f(input.n as f64) * lse_alphas + prior
}

// ---- Rosenbrock (first order) -----------------------------------------------------------------

pub fn rosenbrock_reverse(tape: &Tape, x: &[f64]) -> (f64, Vec<f64>) {
    tape.clear();
    let xv = tape.add_vars(x);
    let mut s = tape.add_var(0.0);
    for i in 0..x.len() - 1 {
        let a = 1.0 - xv[i];
        let b = xv[i + 1] - xv[i].powi(2);
        s = s + a * a + b * b * 100.0;
    }
    (s.val(), s.grad().wrt(&xv))
}

pub fn rosenbrock_dual<D: DualNum<Primitive = f64> + Copy>(x: &[D]) -> D {
    let mut s = D::from(0.0);
    for i in 0..x.len() - 1 {
        s += (D::from(1.0) - x[i]).powi(2) + (x[i + 1] - x[i].powi(2)).powi(2) * 100.0;
    }
    s
}

/// Forward mode: one `Dual64` pass per input (n passes of O(n) work).
pub fn rosenbrock_num_dual(x: &mut [Dual64]) -> (f64, Vec<f64>) {
    let mut value = 0.0;
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        x[i].eps = 1.0;
        let r = rosenbrock_dual(x);
        x[i].eps = 0.0;
        value = r.re;
        out.push(r.eps);
    }
    (value, out)
}
