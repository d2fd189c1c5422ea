//! Criterion benchmarks: for each workload, the original function, the generated gradient, the
//! hand-written gradient and the peers (`reverse`, `num-dual`, central finite differences).
//!
//! ```sh
//! cargo bench --bench gradients                 # everything
//! cargo bench --bench gradients -- gmm_d10_K25  # one workload (criterion's filter)
//! ```
//!
//! Criterion times one *run* of a contender: for `j` and `fonction_complexe` a run evaluates
//! 1024 points (the report divides by that; criterion does not).
//!
//! The workloads and their correctness checks live in `benches/workloads/`, shared with
//! `cargo run --release --example benchmark_report`, which does its own timing and prints the
//! ratios. Peers whose single run takes longer than [`SLOW_RUN`] (forward mode and finite
//! differences on the larger GMM instances: P or 2P objective evaluations) are left to the
//! report, which times them with fewer repetitions.

#[allow(dead_code)]
#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

const SLOW_RUN: Duration = Duration::from_millis(200);

fn gradients(c: &mut Criterion) {
    workloads::check_adbench_unit_tests();
    // Build only the workloads criterion's filter (a positional argument, `workload/contender`)
    // can match: building one reads its data and runs its correctness checks.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.split('/').next().unwrap_or_default().to_string())
        .collect();
    for case in workloads::cases(&filters) {
        let mut group = c.benchmark_group(&case.name);
        let mut contenders: Vec<(&str, workloads::Runner)> =
            vec![("f", case.f), ("grad", case.grad), ("hand", case.hand)];
        contenders.extend(case.peers);
        for (label, mut run) in contenders {
            let start = Instant::now();
            run();
            let once = start.elapsed();
            if once > SLOW_RUN {
                println!(
                    "{}/{label}: skipped, one run takes {once:.2?} (see the benchmark report)",
                    case.name
                );
                continue;
            }
            group.bench_function(label, |b| b.iter(&mut run));
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = gradients
}
criterion_main!(benches);
