#!/usr/bin/env python3
"""The benchmark workloads in JAX, as a JAX user writes them: jnp, vectorised, jit-compiled,
float64, one thread. The data is rebuilt here bit for bit as the Rust side builds it
(`benches/workloads/`), so the objective values agree with ours to rounding.

    workloads.py --list                       # the workload names, one a line
    workloads.py NAME [--budget-ms 400]       # one JSON line: name, value, f_ns, grad_ns, ...
    workloads.py --serve                      # lines "NAME BUDGET_MS" on stdin, one JSON
                                              # line each on stdout (the report's mode: jax is
                                              # imported and each workload compiled once)

Times are per evaluation in nanoseconds, the median over batches, timed the way
`examples/benchmark_report.rs` times ours (see `measure`). See README.md in this directory.
"""

import math
import os
import sys

# One thread, set before jax is imported (XLA reads the flags when its backend starts): the
# Rust contenders run on one core, and the machine is shared.
# Appended to any XLA_FLAGS already set, unless they already say how many threads.
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    ).strip()
# CPU only: a machine with a GPU would otherwise measure something else.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import json  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.scipy.special import logsumexp  # noqa: E402

jax.config.update("jax_enable_x64", True)

HERE = os.path.dirname(os.path.abspath(__file__))
ADBENCH = os.path.join(HERE, "..", "data", "adbench")

# ---- data, as benches/workloads/ builds it ---------------------------------------------------


def points(lo, hi, salt, count):
    """`points` of benches/workloads/mod.rs and second_order.rs: `lo + (hi − lo)·fract(0.618…·i
    + salt)`. mod.rs draws 1024 and slices; the first `count` are the same numbers. The same
    float operations in the same order as Rust (`fract` is `x − trunc(x)`, exact), so the
    same bits."""
    out = []
    for i in range(count):
        t = float(i) * 0.61803398875 + salt
        out.append(lo + (hi - lo) * (t - math.trunc(t)))
    return np.array(out, dtype=np.float64)


def read_gmm(stem):
    """`GmmInput::read` (benches/workloads/adbench.rs): whitespace-separated numbers d, k, n,
    then alphas (k), means (k × d), icf (k × d(d+1)/2), x (n × d), wishart gamma and m."""
    with open(os.path.join(ADBENCH, "gmm", "1k", stem + ".txt")) as f:
        v = [float(t) for t in f.read().split()]
    d, k, n = int(v[0]), int(v[1]), int(v[2])
    icf_sz = d * (d + 1) // 2
    at = 3

    def take(count):
        nonlocal at
        out = np.array(v[at : at + count], dtype=np.float64)
        at += count
        return out

    alphas = take(k)
    means = take(k * d).reshape(k, d)
    icf = take(k * icf_sz).reshape(k, icf_sz)
    x = take(n * d).reshape(n, d)
    gamma, m = take(2)
    return d, k, n, alphas, means, icf, x, float(gamma), float(m)


def gmm_constant(d, k, n, gamma, m):
    """`gmm_constant`: −N·D/2·log 2π − K·C, C = n'·D·(log γ − ½ log 2) − log Γ_D(n'/2),
    n' = D + m + 1. Like the Rust side, computed once outside the timed function."""
    n_prime = d + m + 1.0
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        log_gamma_d += math.lgamma(0.5 * n_prime + 0.5 * (1.0 - j))
    c = n_prime * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_d
    return -n * d * 0.5 * math.log(2.0 * math.pi) - k * c


def mlp_data():
    """`MlpInput::new` (benches/workloads/mlp.rs): xorshift64 (13, 7, 17) from
    0x2545f4914f6cdd1d, uniform in [−scale, scale] from the top 53 bits; drawn in the order
    W1 (256 × 256), b1, W2 (256 × 10), b2, X (256 × 256), row-major."""
    mask = (1 << 64) - 1
    state = 0x2545F4914F6CDD1D

    def tensor(shape, scale):
        nonlocal state
        count = math.prod(shape)
        out = np.empty(count, dtype=np.float64)
        for i in range(count):
            state ^= (state << 13) & mask
            state ^= state >> 7
            state ^= (state << 17) & mask
            out[i] = scale * (2.0 * ((state >> 11) / float(1 << 53)) - 1.0)
        return out.reshape(shape)

    batch, inputs, hidden, classes = 256, 256, 256, 10
    w1 = tensor((inputs, hidden), math.sqrt(3.0 / inputs))
    b1 = tensor((hidden,), 0.1)
    w2 = tensor((hidden, classes), math.sqrt(3.0 / hidden))
    b2 = tensor((classes,), 0.1)
    x = tensor((batch, inputs), 1.0)
    onehot = np.zeros((batch, classes))
    for i in range(batch):
        onehot[i, (i * 7 + i // classes) % classes] = 1.0
    return w1, b1, w2, b2, x, onehot


# ---- the objectives --------------------------------------------------------------------------


def gmm_objective(alphas, means, icf, x, wishart_gamma, wishart_m, constant):
    """ADBench's GMM objective (`gmm_objective` in adbench.rs), vectorised over points and
    components in the style of ADBench's own numpy/JAX versions: Q_k = diag(exp q_k) + the
    strictly lower part from icf (column by column), a log-sum-exp over the components per
    point, the log-sum-exp of the weights, the Wishart prior."""
    n, d = x.shape
    qs = icf[:, :d]
    # Strictly lower entries, column by column: (1, 0), (2, 0), ..., (2, 1), ... as ADBench.
    rows, cols = zip(*[(r, c) for c in range(d) for r in range(c + 1, d)]) if d > 1 else ((), ())
    lower = jnp.zeros((icf.shape[0], d, d)).at[:, rows, cols].set(icf[:, d:])
    big_q = lower + jax.vmap(jnp.diag)(jnp.exp(qs))
    xcentered = x[:, None, :] - means[None, :, :]  # N × K × D
    qxcentered = jnp.einsum("kij,nkj->nki", big_q, xcentered)
    main_term = alphas + jnp.sum(qs, axis=1) - 0.5 * jnp.sum(qxcentered**2, axis=2)
    slse = jnp.sum(logsumexp(main_term, axis=1))
    frobenius = jnp.sum(jnp.exp(qs) ** 2, axis=1) + jnp.sum(icf[:, d:] ** 2, axis=1)
    prior = jnp.sum(0.5 * wishart_gamma**2 * frobenius - wishart_m * jnp.sum(qs, axis=1))
    return constant + slse - n * logsumexp(alphas) + prior


def mlp_loss(w1, b1, w2, b2, x, onehot):
    """`mlp_loss`: tanh hidden layer, softmax cross-entropy, mean over the batch."""
    hidden = jnp.tanh(x @ w1 + b1)
    logits = hidden @ w2 + b2
    return jnp.mean(logsumexp(logits, axis=1) - jnp.sum(logits * onehot, axis=1))


def residual_sum(w, x, y):
    """`residual_sum` (basic.rs): Σ (wᵢxᵢ − yᵢ)² + sin xᵢ."""
    return jnp.sum((w * x - y) ** 2 + jnp.sin(x))


def rosenbrock(x):
    """`rosenbrock` (second_order.rs): Σ (1 − xᵢ)² + 100 (xᵢ₊₁ − xᵢ²)²."""
    return jnp.sum((1.0 - x[:-1]) ** 2 + 100.0 * (x[1:] - x[:-1] ** 2) ** 2)


# ---- the workloads ---------------------------------------------------------------------------


def gmm_workload(stem):
    d, k, n, alphas, means, icf, x, gamma, m = read_gmm(stem)
    constant = gmm_constant(d, k, n, gamma, m)

    # The points are an argument (not differentiated); the three scalars are closed over.
    def f(alphas, means, icf, x):
        return gmm_objective(alphas, means, icf, x, gamma, m, constant)

    return f, (alphas, means, icf), (x,)


def mlp_workload():
    w1, b1, w2, b2, x, onehot = mlp_data()
    return mlp_loss, (w1, b1, w2, b2), (x, onehot)


def residual_sum_workload(n):
    # residual_sum_case in mod.rs: 1024 points, the first n.
    w = points(0.5, 1.5, 0.2, n)
    x = points(-2.0, 2.0, 0.5, n)
    y = points(-1.0, 1.0, 0.9, n)
    return residual_sum, (w, x, y), ()


def rosenbrock_workload(n):
    # rosenbrock_case in second_order.rs: its own `points`, n of them.
    return rosenbrock, (points(-1.5, 1.5, 0.3, n),), ()


# Name -> builder of (objective, arguments to differentiate in, further arguments: the data).
# `gmm_port_*` and `gmm_blocked_*` are other Rust
# formulations of the same GMM function on the same data, so they are the same JAX workload.
WORKLOADS = {
    "gmm_d2_K5": lambda: gmm_workload("gmm_d2_K5"),
    "gmm_d10_K25": lambda: gmm_workload("gmm_d10_K25"),
    "gmm_port_d2_K5": lambda: gmm_workload("gmm_d2_K5"),
    "gmm_port_d10_K25": lambda: gmm_workload("gmm_d10_K25"),
    "gmm_blocked_d2_K5": lambda: gmm_workload("gmm_d2_K5"),
    "gmm_blocked_d10_K25": lambda: gmm_workload("gmm_d10_K25"),
    "mlp_b256_d256_h256": mlp_workload,
    "residual_sum_n1000": lambda: residual_sum_workload(1000),
    "rosenbrock_n100": lambda: rosenbrock_workload(100),
    "rosenbrock_n1000": lambda: rosenbrock_workload(1000),
}

# ---- timing ----------------------------------------------------------------------------------

BATCHES = 11


def measure(contenders, budget_s):
    """The report's `measure`: warm each contender up for at least 20 ms (after compiling),
    size batches so that 11 of them take about the budget, interleave the contenders' batches,
    and take each one's median time per run, in ns."""
    plans = []
    for run in contenders:
        start = time.perf_counter()
        n = 0
        first = None
        while n == 0 or (time.perf_counter() - start < 0.02 and n < 1_000_000):
            t = time.perf_counter()
            run()
            if first is None:
                first = time.perf_counter() - t
            n += 1
        per_run = (time.perf_counter() - start) / n
        slice_s = budget_s / BATCHES
        if per_run <= slice_s:
            plans.append([max(int(slice_s / per_run), 1), BATCHES, []])
        else:
            batches = min(int(budget_s / per_run), BATCHES)
            plans.append([1, batches, [] if batches else [first * 1e9]])
    for round_ in range(BATCHES):
        for run, plan in zip(contenders, plans):
            iters, batches, samples = plan
            if round_ >= batches:
                continue
            start = time.perf_counter_ns()
            for _ in range(iters):
                run()
            samples.append((time.perf_counter_ns() - start) / iters)
    return [float(np.median(p[2])) for p in plans]


class Compiled:
    """One workload, compiled: `jax.jit(f)` and `jax.jit(jax.value_and_grad(f, argnums=...))`
    over the parameters, with all arguments already on the device."""

    def __init__(self, name):
        f, params, data = WORKLOADS[name]()
        self.name = name
        self.args = tuple(jnp.asarray(a) for a in params + data)
        self.f = jax.jit(f)
        self.grad = jax.jit(jax.value_and_grad(f, argnums=tuple(range(len(params)))))
        # Compile both now, outside any timing, and keep the value for the check.
        self.value = float(self.f(*self.args))
        grad_value, grads = self.grad(*self.args)
        grad_value = float(grad_value)
        # value_and_grad traces the same function; its value must agree with jit(f)'s.
        assert abs(grad_value - self.value) <= 1e-12 * (abs(self.value) + 1), (
            f"{name}: value_and_grad's value {grad_value!r} differs from f's {self.value!r}"
        )
        self.grad_norm = float(
            math.sqrt(sum(float(jnp.sum(g * g)) for g in grads))
        )
        self.parameters = int(sum(a.size for a in params))

    def run_f(self):
        self.f(*self.args).block_until_ready()

    def run_grad(self):
        jax.block_until_ready(self.grad(*self.args))

    def timed(self, budget_ms):
        f_ns, grad_ns = measure([self.run_f, self.run_grad], budget_ms / 1e3)
        return {
            "name": self.name,
            "value": self.value,
            "grad_norm": self.grad_norm,
            "parameters": self.parameters,
            "f_ns": f_ns,
            "grad_ns": grad_ns,
            "jax": jax.__version__,
        }


def main(argv):
    if "--list" in argv:
        print("\n".join(WORKLOADS))
        return 0
    if "--serve" in argv:
        # The report's mode: one process, each workload compiled on first use.
        compiled = {}
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            name, budget_ms = words[0], float(words[1]) if len(words) > 1 else 400.0
            try:
                if name not in compiled:
                    compiled[name] = Compiled(name)
                answer = compiled[name].timed(budget_ms)
            except Exception as e:  # the report shows the error and stops
                answer = {"name": name, "error": f"{type(e).__name__}: {e}"}
            print(json.dumps(answer), flush=True)
        return 0
    budget_ms = 400.0
    names = []
    args = iter(argv)
    for a in args:
        if a == "--budget-ms":
            budget_ms = float(next(args))
        else:
            names.append(a)
    if not names:
        print(__doc__, file=sys.stderr)
        return 2
    for name in names:
        if name not in WORKLOADS:
            print(f"unknown workload {name!r}; --list shows them", file=sys.stderr)
            return 2
        print(json.dumps(Compiled(name).timed(budget_ms)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
