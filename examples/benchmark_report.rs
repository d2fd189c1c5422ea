//! The benchmark report: times every workload's original function, generated gradient,
//! hand-written gradient and peers in one run, prints a markdown table of times and ratios,
//! checks the targets of BENCHMARKS.md, measures the macro's expansion time, and writes the
//! figures as JSON to `target/benchmark-report.json`.
//!
//! ```sh
//! cargo run --release --example benchmark_report                  # everything (~2-3 min)
//! cargo run --release --example benchmark_report -- --quick       # shorter timing budget
//! cargo run --release --example benchmark_report -- --no-expansion gmm_d10
//! cargo run --release --example benchmark_report -- --second-order-only   # issue 14's table
//! ```
//!
//! Arguments: `--quick` (100 ms per contender instead of 400), `--budget-ms N`,
//! `--no-expansion`, `--expansion-only`, `--first-order-only`, `--second-order-only`,
//! `--no-jax`, `--jax-rounds N`, `--no-parallel` (no data-parallel table), and any other word
//! keeps only the workloads whose name contains it.
//!
//! Against JAX (issue 17): when a Python with `jax` is found (`DIFFERENTIATE_JAX_PYTHON`, else
//! `python3` on PATH; see `benches/jax/README.md`), each workload that `benches/jax/workloads.py`
//! also implements is timed alternately, ours then JAX's, `--jax-rounds` times (3 by default),
//! after checking that both compute the same objective value.
//!
//! The second-order table (`benches/workloads/second_order.rs`) times, per workload, the
//! generated gradient, `NAME_hvp`, `NAME_hessian`, a Hessian written by hand and the peers
//! (`num-dual`, `echidna`), interleaved in the same way.
//!
//! Timing: each contender is warmed up, then run in batches sized to its cost; the batches
//! of a workload's contenders are interleaved (f, grad, hand, peers, f, grad, ...) so a load
//! spike on the machine hits all of them alike, and each contender's time is the median over
//! its batches. Ratios are taken between those medians. Nothing here depends on criterion.
//!
//! Allocations: after the timing, one more run of f, the generated and the hand-written
//! gradient is made with the counting global allocator below switched on (calls, bytes asked
//! for, peak bytes held); switched off, it adds one relaxed atomic load per allocation.

#[allow(dead_code)]
#[path = "../benches/workloads/mod.rs"]
mod workloads;

use differentiate::runtime::tape::{bytes_recorded, reset_bytes_recorded};
use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

const BATCHES: usize = 11;

// ---- allocation counting -------------------------------------------------------------------------

/// The system allocator, counting allocations only while [`count_allocations`] runs a
/// contender once, after all timing: when not counting, each allocation costs one relaxed load
/// and a branch more than `System` alone.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn grow(size: usize) {
        ALLOCATIONS.fetch_add(1, Relaxed);
        ALLOCATED.fetch_add(size, Relaxed);
        let live = LIVE.fetch_add(size, Relaxed) + size;
        PEAK.fetch_max(live, Relaxed);
    }
    fn shrink(size: usize) {
        // Saturating: blocks allocated before counting started may be freed while counting.
        let _ = LIVE.fetch_update(Relaxed, Relaxed, |l| Some(l.saturating_sub(size)));
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters have no effect on it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            Counting::grow(layout.size());
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            Counting::grow(layout.size());
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Relaxed) {
            Counting::shrink(layout.size());
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            Counting::shrink(layout.size());
            Counting::grow(new_size);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What one run of a contender allocates, per evaluation.
#[derive(Clone, Copy, Default)]
struct Allocations {
    /// Calls of `alloc`, `alloc_zeroed` and `realloc`.
    count: f64,
    /// Bytes those calls asked for.
    bytes: f64,
    /// The largest number of bytes the run held allocated at once (above what it started
    /// with).
    peak: usize,
}

/// Counts the allocations of one run of `run` (already warmed up by the timing).
fn count_allocations(run: &mut workloads::Runner, calls_per_run: usize) -> Allocations {
    for counter in [&ALLOCATIONS, &ALLOCATED, &LIVE, &PEAK] {
        counter.store(0, Relaxed);
    }
    COUNTING.store(true, Relaxed);
    run();
    COUNTING.store(false, Relaxed);
    let per = calls_per_run as f64;
    Allocations {
        count: ALLOCATIONS.load(Relaxed) as f64 / per,
        bytes: ALLOCATED.load(Relaxed) as f64 / per,
        peak: PEAK.load(Relaxed),
    }
}

struct Options {
    budget: Duration,
    expansion: bool,
    workloads: bool,
    first_order: bool,
    second_order: bool,
    jax: bool,
    /// How many times ours and JAX's are alternated per workload.
    jax_rounds: usize,
    parallel: bool,
    filters: Vec<String>,
}

fn options() -> Options {
    let mut o = Options {
        budget: Duration::from_millis(400),
        expansion: true,
        workloads: true,
        first_order: true,
        second_order: true,
        jax: true,
        jax_rounds: 3,
        parallel: true,
        filters: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.budget = Duration::from_millis(100),
            "--budget-ms" => {
                let ms: u64 = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--budget-ms takes a number of milliseconds");
                o.budget = Duration::from_millis(ms);
            }
            "--no-expansion" => o.expansion = false,
            "--expansion-only" => o.workloads = false,
            "--first-order-only" => o.second_order = false,
            "--second-order-only" => o.first_order = false,
            "--no-jax" => o.jax = false,
            "--jax-rounds" => {
                o.jax_rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n: &usize| n > 0)
                    .expect("--jax-rounds takes a positive number");
            }
            "--no-parallel" => o.parallel = false,
            "--bench" => {} // passed by `cargo bench --all-targets`; nothing to do
            other => o.filters.push(other.to_string()),
        }
    }
    o
}

// ---- checkpointing -----------------------------------------------------------------------------

/// Issue 18's table: the chain of oscillators' gradient taped and checkpointed, each run
/// once per step count (a taped run of 10⁶ steps holds gigabytes), alternated three times;
/// the median of each.
fn checkpointing() -> String {
    use differentiate::runtime::checkpoint::repetitions;
    use differentiate::runtime::tape::peak_bytes;
    use workloads::checkpoint::*;
    let x0 = start();
    let state = 2 * x0.len() * 8;
    let mut s = String::from(
        "## Checkpointing (issue 18)\n\nChain of 100 oscillators, gradient with respect to (k, c), 100 snapshots.\n\n\
         | steps | taped: peak bytes, time | checkpointed: peak bytes, time | memory ÷ | time × | bound r | targets |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for steps in [10_000usize, 100_000, 1_000_000] {
        let mut taped_times = Vec::new();
        let mut checkpointed_times = Vec::new();
        let (mut taped_peak, mut checkpointed_peak) = (0, 0);
        for _ in 0..3 {
            reset_bytes_recorded();
            let started = Instant::now();
            let taped = chain_energy_vjp(&x0, 1.5, 0.01, steps, 1.0);
            taped_times.push(started.elapsed().as_secs_f64());
            taped_peak = peak_bytes();
            reset_bytes_recorded();
            let started = Instant::now();
            let checkpointed = chain_energy_checkpointed_vjp(&x0, 1.5, 0.01, steps, 1.0);
            checkpointed_times.push(started.elapsed().as_secs_f64());
            checkpointed_peak = peak_bytes();
            assert_eq!(taped, checkpointed, "checkpointing changed the result");
        }
        let (t, c) = (median(&mut taped_times), median(&mut checkpointed_times));
        let r = repetitions(steps, SNAPSHOTS);
        // (s + 1) states (with their positions) and one step's record.
        let memory_ok = checkpointed_peak <= (SNAPSHOTS + 1) * (state + 64) + 4096;
        // At most the bound's recomputation; on 10⁶ steps, at most 3× the taped sweep.
        let time_ok = c / t <= r as f64 && (steps < 1_000_000 || c / t <= 3.0);
        let _ = writeln!(
            s,
            "| {steps} | {taped_peak}, {:.3} s | {checkpointed_peak}, {:.3} s | {:.0} | {:.2} | {r} | memory {}, time {} |",
            t,
            c,
            taped_peak as f64 / checkpointed_peak as f64,
            c / t,
            if memory_ok { "met" } else { "MISSED" },
            if time_ok { "met" } else { "MISSED" },
        );
    }
    s
}

// ---- data-parallel gradient (issue 17) ---------------------------------------------------------

/// Issue 17's table: the batch gradient of `benches/workloads/parallel.rs` on one thread and
/// with rayon on all of them, alternated [`PARALLEL_ROUNDS`] times. Each round's speed-up is
/// its sequential time over its parallel time, so a load spike from another process spoils a
/// round, not the figure; the table gives the median and the spread of those. Returns the
/// markdown and the JSON object.
fn data_parallel() -> (String, String) {
    use workloads::parallel::*;
    const PARALLEL_ROUNDS: usize = 15;
    let (xs, ys) = data(SAMPLES);
    let model = initial_model();
    let chunk = chunk_size(SAMPLES);
    let threads = rayon::current_num_threads();
    // Warms up rayon's pool; the example checks the two agree within the rounding bound.
    let (seq_loss, seq) = sequential_gradient(&model, &xs, &ys);
    let (par_loss, par) = parallel_gradient(&model, &xs, &ys, chunk);
    let what = "parallel gradient";
    workloads::assert_close(what, &[par_loss], &[seq_loss], 1e-12, false);
    workloads::assert_close(what, &par.numbers(), &seq.numbers(), 1e-12, true);
    let (mut seq_ns, mut par_ns, mut speedups) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..PARALLEL_ROUNDS {
        let started = Instant::now();
        std::hint::black_box(sequential_gradient(&model, &xs, &ys));
        let s = started.elapsed().as_secs_f64() * 1e9;
        let started = Instant::now();
        std::hint::black_box(parallel_gradient(&model, &xs, &ys, chunk));
        let p = started.elapsed().as_secs_f64() * 1e9;
        seq_ns.push(s);
        par_ns.push(p);
        speedups.push(s / p);
    }
    let (s, p, x) = (
        median(&mut seq_ns),
        median(&mut par_ns),
        median(&mut speedups),
    );
    // `median` sorted the speed-ups.
    let quartile = |q: usize| speedups[q * (PARALLEL_ROUNDS - 1) / 4];
    let (q1, q3, low, high) = (quartile(1), quartile(3), speedups[0], quartile(4));
    let parameters = model.numbers().len();
    let markdown = format!(
        "## Data-parallel gradient (issue 17)\n\n\
         Perceptron 16-32-1 with tanh, logistic loss, {parameters} parameters in a struct: the \
         batch's mean loss and gradient, summed over the samples on one thread and with rayon \
         (chunks of {chunk} samples); {PARALLEL_ROUNDS} rounds, the two alternated.\n\n\
         | samples | threads | sequential | rayon | speed-up, median | quartiles | min–max | target ≥ 1.8× |\n\
         |---|---|---|---|---|---|---|---|\n\
         | {SAMPLES} | {threads} | {} | {} | {x:.2} | {q1:.2}–{q3:.2} | {low:.2}–{high:.2} | {} |\n",
        human(s),
        human(p),
        if x >= 1.8 { "met" } else { "MISSED" },
    );
    let json = format!(
        "{{\"samples\": {SAMPLES}, \"parameters\": {parameters}, \"threads\": {threads}, \
         \"sequential_ns\": {}, \"parallel_ns\": {}, \"speedup\": {x:.3}, \
         \"speedup_quartiles\": [{q1:.3}, {q3:.3}], \"speedup_range\": [{low:.3}, {high:.3}]}}",
        json_number(s),
        json_number(p),
    );
    (markdown, json)
}

// ---- timing ------------------------------------------------------------------------------------

/// Median time of one run of each contender, in nanoseconds, with the contenders' batches
/// interleaved. Each gets about `budget` of running time: up to [`BATCHES`] batches of as many
/// runs as fit. Also returns how many timed runs the median is over.
fn measure(contenders: &mut [&mut workloads::Runner], budget: Duration) -> Vec<(f64, usize)> {
    measure_rounds(contenders, budget)
        .into_iter()
        .map(|t| (t.median_ns, t.runs))
        .collect()
}

/// One contender's timing by [`measure_rounds`].
struct Timed {
    median_ns: f64,
    runs: usize,
    /// Each round's batch time per run, in round order (a warm-up run only, for a contender
    /// slower than the whole budget).
    rounds: Vec<f64>,
}

/// [`measure`], keeping each round's time, so that two contenders timed in the same rounds
/// can be compared round by round: on a host whose speed drifts, the ratio of two batches
/// run back to back moves far less than the ratio of two medians.
fn measure_rounds(contenders: &mut [&mut workloads::Runner], budget: Duration) -> Vec<Timed> {
    struct Plan {
        iters: u32,
        batches: usize,
        samples: Vec<f64>,
    }
    let mut plans: Vec<Plan> = contenders
        .iter_mut()
        .map(|run| {
            // Warm up (caches, allocator, lazily built state) and estimate the cost of a run.
            let start = Instant::now();
            let mut n = 0u32;
            let mut first = None;
            while n == 0 || (start.elapsed() < Duration::from_millis(20) && n < 1_000_000) {
                let t = Instant::now();
                run();
                first.get_or_insert(t.elapsed());
                n += 1;
            }
            let per_run = start.elapsed().as_secs_f64() / n as f64;
            let slice = budget.as_secs_f64() / BATCHES as f64;
            if per_run <= slice {
                Plan {
                    iters: ((slice / per_run) as u32).max(1),
                    batches: BATCHES,
                    samples: Vec::new(),
                }
            } else {
                // Slower than a batch slice: single runs, as many as fit in the budget; a
                // contender slower than the whole budget keeps its warm-up run as its only
                // sample.
                let batches = ((budget.as_secs_f64() / per_run) as usize).min(BATCHES);
                let samples = if batches == 0 {
                    vec![first.unwrap().as_secs_f64() * 1e9]
                } else {
                    Vec::new()
                };
                Plan {
                    iters: 1,
                    batches,
                    samples,
                }
            }
        })
        .collect();
    for round in 0..BATCHES {
        for (run, plan) in contenders.iter_mut().zip(plans.iter_mut()) {
            if round >= plan.batches {
                continue;
            }
            let start = Instant::now();
            for _ in 0..plan.iters {
                run();
            }
            plan.samples
                .push(start.elapsed().as_secs_f64() * 1e9 / plan.iters as f64);
        }
    }
    plans
        .into_iter()
        .map(|p| {
            let runs = p.samples.len() * p.iters as usize;
            let mut sorted = p.samples.clone();
            Timed {
                median_ns: median(&mut sorted),
                runs,
                rounds: p.samples,
            }
        })
        .collect()
}

/// `a ÷ b` round by round (the rounds both ran), as its median and range.
fn paired_ratio(a: &Timed, b: &Timed) -> Spread {
    let mut ratios: Vec<f64> = a.rounds.iter().zip(&b.rounds).map(|(x, y)| x / y).collect();
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Spread {
        median: median(&mut ratios),
        low,
        high,
    }
}

/// A ratio over rounds: its median and range.
#[derive(Clone, Copy)]
struct Spread {
    median: f64,
    low: f64,
    high: f64,
}

impl std::fmt::Display for Spread {
    fn fmt(&self, out: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(out, "{:.2} ({:.2}–{:.2})", self.median, self.low, self.high)
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

struct Row {
    name: String,
    what: String,
    f_ns: f64,
    grad_ns: f64,
    hand_ns: f64,
    /// Generated grad ÷ hand-written grad and ÷ f, round by round.
    grad_over_hand: Spread,
    grad_over_f: Spread,
    peers: Vec<(&'static str, f64, usize)>,
    /// Bytes the generated gradient's loops push on tapes, per evaluation.
    tape_bytes: usize,
    /// Allocations of f, the generated gradient and the hand-written one, per evaluation.
    allocations: [Allocations; 3],
}

fn run_workloads(opts: &Options, mut jax: Option<&mut Jax>) -> (Vec<Row>, Vec<JaxRow>) {
    eprintln!("checking ADBench's unit-test instances and building the workloads (each gradient checked against the hand-written one and the peers) ...");
    workloads::check_adbench_unit_tests();
    let cases = workloads::cases(&opts.filters);
    let mut rows = Vec::new();
    let mut jax_rows = Vec::new();
    for mut case in cases {
        let t0 = Instant::now();
        let mut contenders: Vec<&mut workloads::Runner> =
            vec![&mut case.f, &mut case.grad, &mut case.hand];
        for (_, run) in case.peers.iter_mut() {
            contenders.push(run);
        }
        let timed = measure_rounds(&mut contenders, opts.budget);
        let grad_over_hand = paired_ratio(&timed[1], &timed[2]);
        let grad_over_f = paired_ratio(&timed[1], &timed[0]);
        let times: Vec<(f64, usize)> = timed.iter().map(|t| (t.median_ns, t.runs)).collect();
        let per = case.calls_per_run as f64;
        reset_bytes_recorded();
        (case.grad)();
        let tape_bytes = bytes_recorded() / case.calls_per_run;
        let allocations = [&mut case.f, &mut case.grad, &mut case.hand]
            .map(|run| count_allocations(run, case.calls_per_run));
        let row = Row {
            name: case.name.clone(),
            what: case.what.clone(),
            f_ns: times[0].0 / per,
            grad_ns: times[1].0 / per,
            hand_ns: times[2].0 / per,
            grad_over_hand,
            grad_over_f,
            peers: case
                .peers
                .iter()
                .zip(&times[3..])
                .map(|((label, _), &(t, runs))| (*label, t / per, runs))
                .collect(),
            tape_bytes,
            allocations,
        };
        eprintln!(
            "  {:<24} grad/hand {}  grad/f {}   ({:.1} s)",
            row.name,
            row.grad_over_hand,
            row.grad_over_f,
            t0.elapsed().as_secs_f64()
        );
        rows.push(row);
        if let Some(jax) = jax.as_deref_mut() {
            if jax.names.contains(&case.name) {
                jax_rows.push(against_jax(&mut case, jax, opts));
            }
        }
    }
    (rows, jax_rows)
}

// ---- against JAX -------------------------------------------------------------------------------

/// `benches/jax/workloads.py --serve`, running: one Python process for the whole report, so
/// jax is imported and each workload compiled once, however many rounds are alternated.
struct Jax {
    /// The Python that runs it, and how it was found.
    python: String,
    how: &'static str,
    /// The workloads the script implements (`--list`).
    names: Vec<String>,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// jax's version, from the first answer.
    version: String,
}

/// Whether the JAX comparison runs, and if not, why.
enum JaxStatus {
    Off,
    Missing(String),
    Found(Box<Jax>),
}

/// One answer of the script: JAX's value and median times per evaluation.
struct JaxAnswer {
    value: f64,
    grad_norm: f64,
    f_ns: f64,
    grad_ns: f64,
}

/// A field of the script's one-line JSON answers (flat objects of numbers and strings; no
/// JSON crate among the dependencies for this).
fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = &line[line.find(&format!("\"{key}\": "))? + key.len() + 4..];
    match rest.strip_prefix('"') {
        Some(text) => text.split('"').next(),
        None => rest.split([',', '}']).next().map(str::trim),
    }
}

/// Finds the Python with jax (`DIFFERENTIATE_JAX_PYTHON`, else `python3` on PATH), asks the
/// script for its workloads and starts it in serving mode.
fn find_jax(workspace: &Path) -> Result<Jax, String> {
    let script = workspace.join("benches/jax/workloads.py");
    let (python, how) = match std::env::var("DIFFERENTIATE_JAX_PYTHON") {
        Ok(p) if !p.is_empty() => (p, "DIFFERENTIATE_JAX_PYTHON"),
        _ => ("python3".to_string(), "python3 on PATH"),
    };
    // `--list` imports jax too, so it tells whether this Python has it.
    let out = Command::new(&python)
        .arg(&script)
        .arg("--list")
        .output()
        .map_err(|e| format!("cannot run `{python}` ({how}): {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "`{python}` ({how}) cannot run `{} --list`: {}",
            script.display(),
            stderr.trim().lines().last().unwrap_or("(no message)")
        ));
    }
    let names = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let mut child = Command::new(&python)
        .arg(&script)
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{python} {} --serve`: {e}", script.display()))?;
    let stdin = child.stdin.take();
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    Ok(Jax {
        python,
        how,
        names,
        child,
        stdin,
        stdout,
        version: String::new(),
    })
}

impl Jax {
    /// Times the JAX workload `name` (`budget` for each of f and grad, as ours).
    fn time(&mut self, name: &str, budget: Duration) -> Result<JaxAnswer, String> {
        let stdin = self.stdin.as_mut().expect("open while serving");
        writeln!(stdin, "{name} {}", budget.as_millis())
            .and_then(|_| stdin.flush())
            .map_err(|e| format!("writing to the JAX script: {e}"))?;
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .map_err(|e| format!("reading from the JAX script: {e}"))?;
        if line.is_empty() {
            return Err("the JAX script exited (its error is above)".into());
        }
        if let Some(error) = json_field(&line, "error") {
            return Err(error.to_string());
        }
        if let Some(v) = json_field(&line, "jax") {
            self.version = v.to_string();
        }
        let number = |key: &str| {
            json_field(&line, key)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| format!("no number `{key}` in the JAX script's answer {line:?}"))
        };
        Ok(JaxAnswer {
            value: number("value")?,
            grad_norm: number("grad_norm")?,
            f_ns: number("f_ns")?,
            grad_ns: number("grad_ns")?,
        })
    }
}

impl Drop for Jax {
    fn drop(&mut self) {
        // Closing its stdin ends the serving loop.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// One workload against JAX: medians over the rounds, and each round's grad ratio.
struct JaxRow {
    name: String,
    value: f64,
    jax_value: f64,
    f_ns: f64,
    grad_ns: f64,
    jax_f_ns: f64,
    jax_grad_ns: f64,
    /// Ours ÷ JAX per round, gradient and objective.
    grad_ratios: Vec<f64>,
    f_ratios: Vec<f64>,
}

/// Alternates ours (f and grad, the report's `measure`) and JAX's (the script's, timed the
/// same way) `opts.jax_rounds` times: absolute times on a shared machine move by up to 2×
/// between minutes, so each round's ratio compares times taken within seconds of each other.
/// JAX's first answer is checked against our objective value (and, for GMM, ADBench's |∇F|);
/// a mismatch stops the report.
fn against_jax(case: &mut workloads::Case, jax: &mut Jax, opts: &Options) -> JaxRow {
    let name = case.name.clone();
    let value = case.value.unwrap_or_else(|| {
        panic!("{name}: the JAX script implements it, but the Rust case has no `value` to check")
    });
    let per = case.calls_per_run as f64;
    let (mut f, mut grad, mut jax_f, mut jax_grad) = (vec![], vec![], vec![], vec![]);
    let mut jax_value = f64::NAN;
    for round in 0..opts.jax_rounds {
        let times = measure(&mut [&mut case.f, &mut case.grad], opts.budget);
        f.push(times[0].0 / per);
        grad.push(times[1].0 / per);
        let answer = jax
            .time(&name, opts.budget)
            .unwrap_or_else(|e| panic!("{name}: the JAX script failed: {e}"));
        if round == 0 {
            jax_value = answer.value;
            assert!(
                (value - answer.value).abs() <= 1e-10 * (value.abs() + 1.0),
                "{name}: JAX's objective {:.17e} differs from ours {value:.17e} by more than \
                 1e-10·(|ours| + 1): the two sides do not compute the same function on the \
                 same data",
                answer.value
            );
            // `gmm_port_*` and `gmm_blocked_*` are the same GMM function on the same data as
            // `gmm_*`.
            let stem = name
                .replace("gmm_port_", "gmm_")
                .replace("gmm_blocked_", "gmm_");
            if let Some((_, _, norm)) = workloads::adbench::GMM_1K_REFERENCE
                .into_iter()
                .find(|r| r.0 == stem)
            {
                assert!(
                    (answer.grad_norm - norm).abs() <= 1e-10 * norm,
                    "{name}: JAX's |∇F| = {} differs from ADBench's {norm}",
                    answer.grad_norm
                );
            }
        }
        jax_f.push(answer.f_ns);
        jax_grad.push(answer.grad_ns);
    }
    let grad_ratios: Vec<f64> = grad.iter().zip(&jax_grad).map(|(o, j)| o / j).collect();
    let f_ratios: Vec<f64> = f.iter().zip(&jax_f).map(|(o, j)| o / j).collect();
    let row = JaxRow {
        name,
        value,
        jax_value,
        f_ns: median(&mut f),
        grad_ns: median(&mut grad),
        jax_f_ns: median(&mut jax_f),
        jax_grad_ns: median(&mut jax_grad),
        f_ratios,
        grad_ratios,
    };
    eprintln!(
        "  {:<24} against JAX: grad ours ÷ JAX {:.3} (rounds {})",
        row.name,
        median(&mut row.grad_ratios.clone()),
        row.grad_ratios
            .iter()
            .map(|r| format!("{r:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    row
}

/// Min and max.
fn spread(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// The "Against JAX" section: the table, or why it was not run.
fn jax_markdown(status: &JaxStatus, rows: &[JaxRow], opts: &Options, built: &[String]) -> String {
    let mut s = String::from("## Against JAX\n\n");
    let jax = match status {
        JaxStatus::Off => {
            s.push_str("Not run (`--no-jax`).\n");
            return s;
        }
        JaxStatus::Missing(why) => {
            writeln!(
                s,
                "**JAX not found; the comparison was not run.** {why}.\n\nTo run it: \
                 `python3 -m venv /path/to/venv && /path/to/venv/bin/pip install jax`, then \
                 `DIFFERENTIATE_JAX_PYTHON=/path/to/venv/bin/python` (see `benches/jax/README.md`)."
            )
            .unwrap();
            return s;
        }
        JaxStatus::Found(jax) => jax,
    };
    writeln!(
        s,
        "JAX {} (`{}`, {}): jit, float64, one thread. Per workload, ours and JAX's alternated \
         {} times; times are the medians over the rounds (each round's time is itself a median \
         over batches); the ratio is ours ÷ JAX per round, its median and its spread (min–max). \
         Below 1: ours is faster. Values checked equal to 1e-10·(|ours| + 1) first.\n",
        if jax.version.is_empty() {
            "?"
        } else {
            &jax.version
        },
        jax.python,
        jax.how,
        opts.jax_rounds
    )
    .unwrap();
    if rows.is_empty() {
        s.push_str("No workload of this run has a JAX counterpart.\n");
    } else {
        s.push_str(
            "| workload | ours f | ours grad | JAX f | JAX grad | grad: ours ÷ JAX | spread | f: ours ÷ JAX |\n\
             |---|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for r in rows {
            let (lo, hi) = spread(&r.grad_ratios);
            writeln!(
                s,
                "| {} | {} | {} | {} | {} | **{}** | {}–{} | {} |",
                r.name,
                human(r.f_ns),
                human(r.grad_ns),
                human(r.jax_f_ns),
                human(r.jax_grad_ns),
                factor(median(&mut r.grad_ratios.clone())),
                factor(lo),
                factor(hi),
                factor(median(&mut r.f_ratios.clone())),
            )
            .unwrap();
        }
    }
    // JAX workloads this run selected but whose Rust case does not exist (yet).
    let wanted =
        |name: &str| opts.filters.is_empty() || opts.filters.iter().any(|f| name.contains(f));
    let absent: Vec<String> = jax
        .names
        .iter()
        .filter(|n| wanted(n) && !built.contains(n))
        .map(|n| format!("`{n}`"))
        .collect();
    if !absent.is_empty() {
        writeln!(
            s,
            "\nSkipped (in `benches/jax/workloads.py` but no Rust case of that name): {}.",
            absent.join(", ")
        )
        .unwrap();
    }
    s
}

fn jax_json(status: &JaxStatus, rows: &[JaxRow]) -> String {
    let version = match status {
        JaxStatus::Found(jax) => format!("\"{}\"", jax.version),
        _ => return "null".into(),
    };
    let list = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{r:.4}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!("{{\"version\": {version}, \"workloads\": [");
    for (i, r) in rows.iter().enumerate() {
        let (lo, hi) = spread(&r.grad_ratios);
        write!(
            s,
            "{}\n    {{\"name\": \"{}\", \"value\": {:e}, \"jax_value\": {:e}, \"f_ns\": {}, \"grad_ns\": {}, \"jax_f_ns\": {}, \"jax_grad_ns\": {}, \"grad_ratio\": {:.4}, \"grad_ratio_min\": {lo:.4}, \"grad_ratio_max\": {hi:.4}, \"grad_ratios\": [{}], \"f_ratios\": [{}]}}",
            if i == 0 { "" } else { "," },
            r.name,
            r.value,
            r.jax_value,
            json_number(r.f_ns),
            json_number(r.grad_ns),
            json_number(r.jax_f_ns),
            json_number(r.jax_grad_ns),
            median(&mut r.grad_ratios.clone()),
            list(&r.grad_ratios),
            list(&r.f_ratios),
        )
        .unwrap();
    }
    s.push_str("\n  ]}");
    s
}

// ---- second order -------------------------------------------------------------------------------

use workloads::second_order::{self, Ours};

struct SecondRow {
    name: String,
    what: String,
    grad_ns: f64,
    hvp_ns: f64,
    hessian_ns: Option<f64>,
    hand_ns: Option<f64>,
    peers: Vec<(&'static str, Ours, f64, usize)>,
    /// Allocations of the generated gradient, hvp and Hessian and of the hand-written
    /// Hessian, per evaluation (`None` where the workload has no such contender).
    allocations: [Option<Allocations>; 4],
}

impl SecondRow {
    /// The time of ours a peer compares with.
    fn ours(&self, kind: Ours) -> Option<f64> {
        match kind {
            Ours::Hessian => self.hessian_ns,
            Ours::Hvp => Some(self.hvp_ns),
            Ours::Coloured => self
                .peers
                .iter()
                .find(|p| p.0 == second_order::COLOURED)
                .map(|p| p.2),
        }
    }

    fn peer(&self, label: &str) -> Option<f64> {
        self.peers.iter().find(|p| p.0 == label).map(|p| p.2)
    }
}

fn run_second_order(opts: &Options) -> Vec<SecondRow> {
    eprintln!("building the second-order workloads (each checked against its hand-written Hessian and the peers) ...");
    let mut rows = Vec::new();
    for mut case in second_order::cases(&opts.filters) {
        let t0 = Instant::now();
        let mut contenders: Vec<&mut workloads::Runner> = vec![&mut case.grad, &mut case.hvp];
        if let Some(h) = case.hessian.as_mut() {
            contenders.push(h);
        }
        if let Some(h) = case.hand.as_mut() {
            contenders.push(h);
        }
        for (_, _, run) in case.peers.iter_mut() {
            contenders.push(run);
        }
        let times = measure(&mut contenders, opts.budget);
        let per = case.calls_per_run as f64;
        let mut next = times.iter().map(|&(t, runs)| (t / per, runs));
        let grad_ns = next.next().unwrap().0;
        let hvp_ns = next.next().unwrap().0;
        let hessian_ns = case.hessian.as_ref().map(|_| next.next().unwrap().0);
        let hand_ns = case.hand.as_ref().map(|_| next.next().unwrap().0);
        let peers = case
            .peers
            .iter()
            .map(|(label, kind, _)| {
                let (t, runs) = next.next().unwrap();
                (*label, *kind, t, runs)
            })
            .collect();
        let n = case.calls_per_run;
        let allocations = [
            Some(count_allocations(&mut case.grad, n)),
            Some(count_allocations(&mut case.hvp, n)),
            case.hessian.as_mut().map(|run| count_allocations(run, n)),
            case.hand.as_mut().map(|run| count_allocations(run, n)),
        ];
        let row = SecondRow {
            name: case.name.clone(),
            what: case.what.clone(),
            grad_ns,
            hvp_ns,
            hessian_ns,
            hand_ns,
            peers,
            allocations,
        };
        eprintln!(
            "  {:<24} hvp/grad {:5.2}  hessian/hand {}   ({:.1} s)",
            row.name,
            row.hvp_ns / row.grad_ns,
            match (row.hessian_ns, row.hand_ns) {
                (Some(h), Some(hand)) => format!("{:5.2}", h / hand),
                _ => "  —  ".into(),
            },
            t0.elapsed().as_secs_f64()
        );
        rows.push(row);
    }
    rows
}

fn second_order_markdown(rows: &[SecondRow]) -> String {
    let mut s = String::new();
    let mut peer_names: Vec<&str> = Vec::new();
    for r in rows {
        for (p, _, _, _) in &r.peers {
            if !peer_names.contains(p) {
                peer_names.push(p);
            }
        }
    }
    s.push_str("| workload | grad | hvp | hvp ÷ grad | hessian | hand Hessian | hessian ÷ hand |");
    for p in &peer_names {
        write!(s, " {p} (÷ ours) |").unwrap();
    }
    s.push_str("\n|---|--:|--:|--:|--:|--:|--:|");
    for _ in &peer_names {
        s.push_str("--:|");
    }
    s.push('\n');
    let opt = |t: Option<f64>| t.map(human).unwrap_or_else(|| "—".into());
    for r in rows {
        let ratio = match (r.hessian_ns, r.hand_ns) {
            (Some(h), Some(hand)) => format!("**{:.2}**", h / hand),
            _ => "—".into(),
        };
        write!(
            s,
            "| {} | {} | {} | **{:.2}** | {} | {} | {ratio} |",
            r.name,
            human(r.grad_ns),
            human(r.hvp_ns),
            r.hvp_ns / r.grad_ns,
            opt(r.hessian_ns),
            opt(r.hand_ns),
        )
        .unwrap();
        for &p in &peer_names {
            match r.peers.iter().find(|x| x.0 == p) {
                Some(&(_, kind, ns, runs)) => {
                    let few = if runs < 3 { "†" } else { "" };
                    match r.ours(kind) {
                        Some(ours) => {
                            write!(s, " {} ({}){few} |", human(ns), factor(ns / ours)).unwrap()
                        }
                        None => write!(s, " {}{few} |", human(ns)).unwrap(),
                    }
                }
                None => s.push_str(" — |"),
            }
        }
        s.push('\n');
    }
    s.push_str(
        "\nTimes are medians per evaluation (per point for `j` and `fonction_complexe`). Each \
         peer is shown as time (time ÷ ours), where ours is `NAME_hessian` for a peer's Hessian, \
         `NAME_hvp` for a peer's Hessian-vector product, and the Hessian by colouring for \
         echidna's sparse Hessian; † timed from fewer than 3 runs.\n\n",
    );
    for r in rows {
        writeln!(s, "- `{}`: {}", r.name, r.what).unwrap();
    }
    s.push_str(
        "\nAllocations per evaluation (one run of each, counted after the timing): calls \
         (bytes asked for).\n\n| workload | grad | hvp | hessian | hand Hessian |\n|---|--:|--:|--:|--:|\n",
    );
    for r in rows {
        let cells: Vec<String> = r
            .allocations
            .iter()
            .map(|a| match a {
                Some(a) => allocation_cell(a),
                None => "—".into(),
            })
            .collect();
        writeln!(s, "| {} | {} |", r.name, cells.join(" | ")).unwrap();
    }
    s.push('\n');
    s.push_str(&second_order_targets(rows));
    s
}

/// A ratio with two significant digits below 1 (`0.031×`), one decimal above.
fn factor(r: f64) -> String {
    if r >= 0.95 {
        format!("{r:.1}×")
    } else if r >= 0.095 {
        format!("{r:.2}×")
    } else {
        format!("{r:.3}×")
    }
}

fn second_order_targets(rows: &[SecondRow]) -> String {
    let mut s = String::from("Second-order targets:\n");
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let find = |name: &str| rows.iter().find(|r| r.name == name);
    if let Some(r) = find("fonction_complexe") {
        if let (Some(h), Some(hand)) = (r.hessian_ns, r.hand_ns) {
            let ratio = h / hand;
            writeln!(
                s,
                "- hessian ÷ hand-written on `fonction_complexe`: {ratio:.2} (target ≤ 3): {}",
                verdict(ratio <= 3.0)
            )
            .unwrap();
        }
    }
    if let Some(r) = find(second_order::GMM) {
        let ratio = r.hvp_ns / r.grad_ns;
        writeln!(
            s,
            "- hvp ÷ grad on `{}`: {ratio:.2} (target ≤ 2.5): {}",
            r.name,
            verdict(ratio <= 2.5)
        )
        .unwrap();
    }
    if let Some(r) = find(second_order::ROSENBROCK_NAME) {
        if let (Some(h), Some(hand)) = (r.hessian_ns, r.hand_ns) {
            writeln!(
                s,
                "- hessian ÷ hand-written on `{}`: {:.2} (reported; the hand-written Hessian \
                 fills the three bands, the generated one makes {} products); by colouring \
                 (3 products) ÷ hand-written: {}",
                r.name,
                h / hand,
                second_order::ROSENBROCK_N,
                r.ours(Ours::Coloured)
                    .map(|c| format!("{:.2}", c / hand))
                    .unwrap_or_else(|| "—".into())
            )
            .unwrap();
        }
        if let (Some(e), Some(h)) = (r.peer("echidna hessian"), r.hessian_ns) {
            let ratio = e / h;
            writeln!(
                s,
                "- echidna's `tape.hessian` ÷ ours on `{}`: {ratio:.1} (target ≥ 10): {}",
                r.name,
                verdict(ratio >= 10.0)
            )
            .unwrap();
        }
    }
    s
}

// ---- expansion time ----------------------------------------------------------------------------

/// One generated function of `statements` statements, each a few primitives over the two
/// previous values (arithmetic, `sin`, `exp`, `ln_1p`, `sqrt`, `powi`).
fn generated_function(name: &str, statements: usize, annotated: bool) -> String {
    let mut s = String::new();
    if annotated {
        s.push_str("#[differentiate]\n");
    }
    writeln!(s, "pub fn {name}(x: f64, y: f64) -> f64 {{").unwrap();
    let var = |i: isize| -> String {
        match i {
            -2 => "y".into(),
            -1 => "x".into(),
            i => format!("v{i}"),
        }
    };
    for i in 0..statements as isize {
        let (a, b) = (var(i - 1), var(i - 2));
        let rhs = match i % 4 {
            0 => format!("{a} * y + {b}.sin()"),
            1 => format!("({a} - x) / (1.0 + {b} * {b})"),
            2 => format!("(0.1 * {a}).exp().ln_1p() * 0.5 + {b}"),
            _ => format!("({a} * {a} + 1.0).sqrt() - x * {b}.powi(2)"),
        };
        writeln!(s, "    let v{i} = {rhs};").unwrap();
    }
    writeln!(s, "    {}\n}}", var(statements as isize - 1)).unwrap();
    s
}

/// The scratch crate's source: `copies` functions of `statements` statements, annotated or
/// not, plus one small annotated function in both variants so both load the proc macro.
fn scratch_source(statements: usize, copies: usize, annotated: bool, salt: usize) -> String {
    let mut s = format!(
        "// generated by examples/benchmark_report.rs (variant {salt})\n\
         #![allow(unused, clippy::all)]\n\
         use differentiate::differentiate;\n\n\
         #[differentiate]\npub fn loads_the_macro(x: f64) -> f64 {{ x * x }}\n\n"
    );
    for c in 0..copies {
        s.push_str(&generated_function(&format!("f{c}"), statements, annotated));
        s.push('\n');
    }
    s
}

/// Seconds of the `macro_expand_crate` pass and of the whole compile, from `-Z time-passes`.
fn time_passes(stderr: &str) -> Option<(f64, f64)> {
    let pass = |name: &str| {
        stderr.lines().find_map(|l| {
            let l = l.trim();
            if !l.ends_with(name) || !l.starts_with("time:") {
                return None;
            }
            l["time:".len()..]
                .split(';')
                .next()?
                .trim()
                .parse::<f64>()
                .ok()
        })
    };
    Some((pass("\tmacro_expand_crate")?, pass("\ttotal")?))
}

struct Expansion {
    statements: usize,
    copies: usize,
    /// Median extra time of the macro-expansion pass per annotated function, ms.
    expand_ms: f64,
    /// Median extra time of the whole `cargo check`-style compile per annotated function, ms.
    check_ms: f64,
    /// `expand_ms` with the proc macro compiled optimised, as README's "Compile time"
    /// suggests (`[profile.dev.build-override] opt-level = 1`).
    optimised_expand_ms: f64,
}

/// The profile README's "Compile time" suggests: build scripts and proc macros (this
/// crate's macro, `syn`, `quote`, `proc-macro2`) compiled optimised in dev builds.
const OPTIMISED_MACRO_PROFILE: &str = "[profile.dev.build-override]\nopt-level = 1\n";

/// A scratch crate depending on this workspace, compiled with `-Z time-passes`.
struct ScratchCrate {
    dir: PathBuf,
}

impl ScratchCrate {
    /// The crate `name` in the target directory, with `profile` appended to its manifest.
    fn new(workspace: &Path, name: &str, profile: &str) -> Result<ScratchCrate, String> {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"));
        let dir = target.join(name);
        std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [dependencies]\ndifferentiate = {{ path = {:?} }}\n\n[workspace]\n\n{profile}",
                workspace.display().to_string()
            ),
        )
        .map_err(|e| e.to_string())?;
        Ok(ScratchCrate { dir })
    }

    /// Seconds of `macro_expand_crate` and of the whole compile of the crate as `source`.
    fn compile(&self, source: &str) -> Result<(f64, f64), String> {
        let dir = &self.dir;
        let lib = dir.join("src/lib.rs");
        std::fs::write(&lib, source).map_err(|e| e.to_string())?;
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            // `-Z time-passes` is a nightly flag; this lets the pinned stable rustc accept it.
            // It changes nothing else about the compile.
            .env("RUSTC_BOOTSTRAP", "1")
            .args([
                "rustc",
                "--lib",
                "--profile",
                "check",
                "-q",
                "--",
                "-Ztime-passes",
            ])
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!("scratch crate failed to compile:\n{stderr}"));
        }
        time_passes(&stderr).ok_or_else(|| format!("no -Z time-passes output in:\n{stderr}"))
    }
}

fn measure_expansion(workspace: &Path) -> Result<Vec<Expansion>, String> {
    let default = ScratchCrate::new(workspace, "expansion-bench", "")?;
    let optimised = ScratchCrate::new(workspace, "expansion-bench-opt", OPTIMISED_MACRO_PROFILE)?;
    for scratch in [&default, &optimised] {
        eprintln!(
            "expansion: building the scratch crate's dependencies in {} ...",
            scratch.dir.display()
        );
        scratch.compile(&scratch_source(1, 1, false, 0))?;
    }
    let mut results = Vec::new();
    for statements in [10, 100, 1000] {
        // Several copies of the small functions lift them above the pass timer's 1 ms
        // resolution; each copy is an independent macro invocation.
        let copies = (200 / statements).max(1);
        let (mut expand, mut check, mut optimised_expand) = (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..5 {
            let (plain, annotated) = (
                scratch_source(statements, copies, false, rep),
                scratch_source(statements, copies, true, rep),
            );
            // The two profiles alternate, so the host's drift falls on both alike.
            let (p, a) = (default.compile(&plain)?, default.compile(&annotated)?);
            expand.push((a.0 - p.0) * 1e3 / copies as f64);
            check.push((a.1 - p.1) * 1e3 / copies as f64);
            let (p, a) = (optimised.compile(&plain)?, optimised.compile(&annotated)?);
            optimised_expand.push((a.0 - p.0) * 1e3 / copies as f64);
        }
        let e = Expansion {
            statements,
            copies,
            expand_ms: median(&mut expand),
            check_ms: median(&mut check),
            optimised_expand_ms: median(&mut optimised_expand),
        };
        eprintln!(
            "  {statements:>5} statements: expansion {:.2} ms ({:.2} ms with the macro optimised), whole check {:.1} ms per function",
            e.expand_ms, e.optimised_expand_ms, e.check_ms
        );
        results.push(e);
    }
    Ok(results)
}

// ---- output ------------------------------------------------------------------------------------

fn human(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn bytes(b: usize) -> String {
    if b == 0 {
        "0".into()
    } else if b < 10_000 {
        format!("{b} B")
    } else if b < 10_000_000 {
        format!("{:.0} kB", b as f64 / 1e3)
    } else {
        format!("{:.0} MB", b as f64 / 1e6)
    }
}

fn markdown(rows: &[Row], second: &[SecondRow], expansion: &[Expansion]) -> String {
    let mut s = String::new();
    let mut peer_names: Vec<&str> = Vec::new();
    for r in rows {
        for (p, _, _) in &r.peers {
            if !peer_names.contains(p) {
                peer_names.push(p);
            }
        }
    }
    if !rows.is_empty() {
        s.push_str("| workload | f | generated grad | hand grad | grad ÷ hand | grad ÷ f | tape |");
        for p in &peer_names {
            write!(s, " {p} (÷ grad) |").unwrap();
        }
        s.push_str("\n|---|--:|--:|--:|--:|--:|--:|");
        for _ in &peer_names {
            s.push_str("--:|");
        }
        s.push('\n');
        for r in rows {
            write!(
                s,
                "| {} | {} | {} | {} | **{:.2}** ({:.2}–{:.2}) | {} | {} |",
                r.name,
                human(r.f_ns),
                human(r.grad_ns),
                human(r.hand_ns),
                r.grad_over_hand.median,
                r.grad_over_hand.low,
                r.grad_over_hand.high,
                r.grad_over_f,
                bytes(r.tape_bytes)
            )
            .unwrap();
            for &p in &peer_names {
                match r.peers.iter().find(|x| x.0 == p) {
                    Some(&(_, ns, runs)) => {
                        let few = if runs < 3 { "†" } else { "" };
                        write!(s, " {} ({:.1}×){few} |", human(ns), ns / r.grad_ns).unwrap()
                    }
                    None => s.push_str(" — |"),
                }
            }
            s.push('\n');
        }
        s.push_str("\nTimes are medians per evaluation; grad ÷ hand and grad ÷ f are the medians (and ranges) of the ratios of batches run back to back in the same round, not ratios of the medians; `tape` is what the generated gradient's loops record per evaluation; peers are shown as time (time ÷ generated grad); † timed from fewer than 3 runs (one run takes longer than the timing budget).\n\n");
        for r in rows {
            writeln!(s, "- `{}`: {}", r.name, r.what).unwrap();
        }
        s.push('\n');
        s.push_str(&allocation_table(rows));
        s.push('\n');
        s.push_str(&targets(rows));
    }
    if !second.is_empty() {
        if !s.is_empty() {
            s.push('\n');
        }
        s.push_str(&second_order_markdown(second));
    }
    if !expansion.is_empty() {
        s.push_str("\n| statements | expansion (ms per function) | with the macro optimised (README's profile) | whole `cargo check` overhead (ms per function) | functions per crate |\n|--:|--:|--:|--:|--:|\n");
        for e in expansion {
            writeln!(
                s,
                "| {} | {:.2} | {:.2} | {:.1} | {} |",
                e.statements, e.expand_ms, e.optimised_expand_ms, e.check_ms, e.copies
            )
            .unwrap();
        }
        if let [a, .., b] = expansion {
            writeln!(
                s,
                "\nExpansion growth from {} to {} statements: ×{:.1} (linear would be ×{:.0}).",
                a.statements,
                b.statements,
                b.expand_ms / a.expand_ms,
                b.statements as f64 / a.statements as f64
            )
            .unwrap();
        }
        let at = |n: usize| expansion.iter().find(|e| e.statements == n);
        if let (Some(a), Some(b)) = (at(100), at(1000)) {
            // Where rustc's checking of the generated code stops being linear, users feel it.
            writeln!(
                s,
                "`cargo check` overhead growth from 100 to 1000 statements: ×{:.1} (linear would be ×10).",
                b.check_ms / a.check_ms
            )
            .unwrap();
        }
        if let Some(e) = at(100) {
            let met = |ms: f64| if ms < 50.0 { "met" } else { "MISSED" };
            writeln!(
                s,
                "Target < 50 ms for 100 statements: {:.2} ms, {} ({:.2} ms with the macro optimised, {}).",
                e.expand_ms,
                met(e.expand_ms),
                e.optimised_expand_ms,
                met(e.optimised_expand_ms)
            )
            .unwrap();
        }
    }
    s
}

/// Calls (bytes asked for), per evaluation.
fn allocation_cell(a: &Allocations) -> String {
    let count = if a.count.fract() == 0.0 {
        format!("{:.0}", a.count)
    } else {
        format!("{:.2}", a.count)
    };
    format!("{count} ({})", bytes(a.bytes.round() as usize))
}

fn allocation_table(rows: &[Row]) -> String {
    let mut s = String::from(
        "Allocations per evaluation (one run of each, counted after the timing): calls, bytes \
         asked for, and the most held at once (peak).\n\n\
         | workload | f | generated grad | peak | hand grad | peak |\n|---|--:|--:|--:|--:|--:|\n",
    );
    let cell = allocation_cell;
    for r in rows {
        let [f, grad, hand] = &r.allocations;
        writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r.name,
            cell(f),
            cell(grad),
            bytes(grad.peak),
            cell(hand),
            bytes(hand.peak)
        )
        .unwrap();
    }
    s
}

fn targets(rows: &[Row]) -> String {
    let mut s = String::from("Targets:\n");
    let mut ratios: Vec<f64> = rows.iter().map(|r| r.grad_over_hand.median).collect();
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    if !ratios.is_empty() {
        let med = median(&mut ratios);
        let worst = rows
            .iter()
            .max_by(|a, b| (a.grad_over_hand.median).total_cmp(&b.grad_over_hand.median))
            .unwrap();
        let worst_ratio = worst.grad_over_hand.median;
        writeln!(
            s,
            "- generated ÷ hand-written, median over {} workloads: {med:.2} (target ≤ 1.10): {}",
            rows.len(),
            verdict(med <= 1.10)
        )
        .unwrap();
        writeln!(
            s,
            "- generated ÷ hand-written, worst: {worst_ratio:.2} on `{}` (target ≤ 1.5): {}",
            worst.name,
            verdict(worst_ratio <= 1.5)
        )
        .unwrap();
        let above: Vec<String> = rows
            .iter()
            .filter(|r| r.grad_over_hand.median > 1.5)
            .map(|r| format!("`{}` {:.2}", r.name, r.grad_over_hand.median))
            .collect();
        if !above.is_empty() {
            writeln!(s, "  - above 1.5: {}", above.join(", ")).unwrap();
        }
    }
    for (name, limit) in [
        ("gmm_d10_K25", 2.5),
        ("gmm_port_d2_K5", 2.5),
        ("gmm_port_d10_K25", 2.5),
        ("gmm_blocked_d2_K5", 2.5),
        ("gmm_blocked_d10_K25", 2.5),
        ("residual_sum_n1000", 1.5),
        (workloads::MLP_NAME, 3.0),
    ] {
        if let Some(r) = rows.iter().find(|r| r.name == name) {
            let ratio = r.grad_over_f;
            writeln!(
                s,
                "- gradient ÷ objective on `{name}`: {ratio} (target ≤ {limit}): {}",
                verdict(ratio.median <= limit)
            )
            .unwrap();
        }
    }
    s
}

fn json_number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "null".into()
    }
}

fn json(rows: &[Row], second: &[SecondRow], expansion: &[Expansion]) -> String {
    let mut s = String::from("{\n  \"workloads\": [");
    for (i, r) in rows.iter().enumerate() {
        let peers: Vec<String> = r
            .peers
            .iter()
            .map(|(p, ns, _)| format!("\"{p}\": {}", json_number(*ns)))
            .collect();
        write!(
            s,
            "{}\n    {{\"name\": \"{}\", \"f_ns\": {}, \"grad_ns\": {}, \"hand_ns\": {}, \"grad_over_hand\": {:.4}, \"grad_over_f\": {:.4}, \"peers\": {{{}}}}}",
            if i == 0 { "" } else { "," },
            r.name,
            json_number(r.f_ns),
            json_number(r.grad_ns),
            json_number(r.hand_ns),
            r.grad_over_hand.median,
            r.grad_over_f.median,
            peers.join(", ")
        )
        .unwrap();
    }
    s.push_str("\n  ],\n  \"second_order\": [");
    for (i, r) in second.iter().enumerate() {
        let peers: Vec<String> = r
            .peers
            .iter()
            .map(|(p, _, ns, _)| format!("\"{p}\": {}", json_number(*ns)))
            .collect();
        let opt = |t: Option<f64>| t.map(json_number).unwrap_or_else(|| "null".into());
        write!(
            s,
            "{}\n    {{\"name\": \"{}\", \"grad_ns\": {}, \"hvp_ns\": {}, \"hessian_ns\": {}, \"hand_ns\": {}, \"peers\": {{{}}}}}",
            if i == 0 { "" } else { "," },
            r.name,
            json_number(r.grad_ns),
            json_number(r.hvp_ns),
            opt(r.hessian_ns),
            opt(r.hand_ns),
            peers.join(", ")
        )
        .unwrap();
    }
    s.push_str("\n  ],\n  \"expansion\": [");
    for (i, e) in expansion.iter().enumerate() {
        write!(
            s,
            "{}\n    {{\"statements\": {}, \"ms\": {:.3}, \"optimised_ms\": {:.3}}}",
            if i == 0 { "" } else { "," },
            e.statements,
            e.expand_ms,
            e.optimised_expand_ms
        )
        .unwrap();
    }
    s.push_str("\n  ]\n}\n");
    s
}

/// `json` with `"key": value` added as the last member of its top-level object.
fn with_json_member(json: &str, key: &str, value: &str) -> String {
    let body = json.trim_end().strip_suffix('}').expect("a JSON object");
    format!("{},\n  \"{key}\": {value}\n}}\n", body.trim_end())
}

fn main() {
    let opts = options();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful times");
    }
    let started = Instant::now();
    let first_order = opts.workloads && opts.first_order;
    // JAX runs beside the first-order workloads; looked for only when they run.
    let mut jax = if !first_order || !opts.jax {
        JaxStatus::Off
    } else {
        match find_jax(workspace) {
            Ok(jax) => JaxStatus::Found(Box::new(jax)),
            Err(why) => {
                eprintln!("JAX comparison not run: {why}");
                JaxStatus::Missing(why)
            }
        }
    };
    let (rows, jax_rows) = if first_order {
        let jax = match &mut jax {
            JaxStatus::Found(jax) => Some(&mut **jax),
            _ => None,
        };
        run_workloads(&opts, jax)
    } else {
        (Vec::new(), Vec::new())
    };
    let second = if opts.workloads && opts.second_order {
        run_second_order(&opts)
    } else {
        Vec::new()
    };
    let expansion = if opts.expansion {
        match measure_expansion(workspace) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("expansion time not measured: {e}");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    println!("{}", markdown(&rows, &second, &expansion));
    if first_order {
        let built: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        println!("{}", jax_markdown(&jax, &jax_rows, &opts, &built));
    }
    if opts.workloads
        && opts.first_order
        && opts
            .filters
            .iter()
            .all(|f| "checkpoint".contains(f.as_str()))
    {
        println!("{}", checkpointing());
    }
    let report = json(&rows, &second, &expansion);
    let mut report = with_json_member(&report, "jax", &jax_json(&jax, &jax_rows));
    if opts.workloads
        && opts.first_order
        && opts.parallel
        && opts.filters.iter().all(|f| "parallel".contains(f.as_str()))
    {
        let (table, object) = data_parallel();
        println!("{table}");
        report = with_json_member(&report, "parallel", &object);
    }
    let path = workspace.join("target/benchmark-report.json");
    std::fs::create_dir_all(path.parent().unwrap()).expect("create target/");
    std::fs::write(&path, report).expect("write the JSON report");
    eprintln!(
        "wrote {} ({:.0} s in all)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
}
