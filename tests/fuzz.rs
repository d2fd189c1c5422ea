//! Differential fuzzing of `#[differentiate]` (issue 6).
//!
//! Generates random differentiable functions as source text (`tests/fuzz/gen.rs`), writes them
//! into a standalone crate under `target/fuzz-crate/`, builds it (its own target directory,
//! `target/fuzz-crate-target`) and runs it. For every function, the generated `main` compares
//! `NAME_grad` at random points with central finite differences of the original function,
//! checks the value against the original bit for bit, and `NAME_vjp` against `NAME_grad`
//! (`tests/fuzz/harness.rs`), and `NAME_hvp` along a random direction against the central
//! difference of `NAME_grad` along it. A function the macro fails to compile is a finding too.
//!
//! - `DIFFERENTIATE_FUZZ_CASES=N`: functions to generate (default 1000).
//! - `DIFFERENTIATE_FUZZ_SEED=S`: the seed, decimal or `0x` hex (default fixed).
//! - `DIFFERENTIATE_FUZZ_BATCH=B`: functions per generated crate (default 250).
//! - `DIFFERENTIATE_FUZZ_RELEASE=1`: build the generated crate in release mode (about three
//!   times slower to compile, for no gain: the checks themselves take a fraction of a second).
//! - `DIFFERENTIATE_FUZZ_GENERIC=0`: leave out the generic twins. By default each function is
//!   also written over `T: Float` (`tests/fuzz/generic.rs`), as `NAME_generic`, and its value,
//!   `_grad` and `_vjp` at `T = f64` must equal the `f64` function's bit for bit, and its
//!   `_hvp` along a random direction must match the central difference of `_grad` along it.
//! - `DIFFERENTIATE_FUZZ_AVOID=a,b`: leave constructs out, to fuzz past a known bug (the
//!   names are listed in `gen::AVOIDABLE`, e.g. `closure-shadow,deref-constant`).
//!
//! A compile failure is checked against the same functions without the attribute: valid Rust
//! there means the macro rejects or mis-generates something; invalid Rust is a generator bug.
//! A function calling a failing one is left out without a finding of its own.
//!
//! On failure the panic message gives the seed, a count of each kind of problem and, for each
//! kind, the shortest failing function's source (with the functions it calls), the points and
//! both values. The whole report is written to `target/fuzz-crate/report.txt`, and each batch's
//! crate stays in `target/fuzz-crate/batch-N` (its `main` prints `N passed, M failed`).

#[path = "fuzz/gen.rs"]
mod gen;
#[path = "fuzz/generic.rs"]
mod generic;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HARNESS: &str = include_str!("fuzz/harness.rs");
const DEFAULT_CASES: usize = 1000;
const DEFAULT_SEED: u64 = 0x00D1_FFE2_E271_A7E5;
const DEFAULT_BATCH: usize = 250;

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={s:?} is not a number")),
        Err(_) => default,
    }
}

fn env_seed() -> u64 {
    match std::env::var("DIFFERENTIATE_FUZZ_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                u64::from_str_radix(&hex.replace('_', ""), 16)
            } else {
                s.replace('_', "").parse()
            };
            parsed.unwrap_or_else(|_| panic!("DIFFERENTIATE_FUZZ_SEED={s:?} is not a number"))
        }
        Err(_) => DEFAULT_SEED,
    }
}

/// One finding: a function that fails to compile or whose derivative is wrong.
struct Finding {
    function: String,
    text: String,
}

impl Finding {
    /// What kind of problem it is: rustc's first error message, or what was wrong at run
    /// time.
    fn kind(&self) -> String {
        if self.text.contains("does not compile") {
            let generator = if self.text.contains("NOT valid Rust") {
                " (generator bug)"
            } else {
                ""
            };
            let first = self
                .text
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("compile error");
            return format!("does not compile: {}{generator}", first.trim());
        }
        let detail = self.text.lines().nth(1).unwrap_or("").trim();
        let what = if detail.contains("value") && detail.contains("original returns") {
            "wrong value"
        } else if detail.contains("gives NaN") {
            "NaN derivative"
        } else if detail.contains("reverse mode gives") {
            "wrong derivative"
        } else if detail.contains("panicked") {
            "panic"
        } else if detail.contains("generic twin's _hvp") {
            "generic twin's _hvp wrong"
        } else if detail.contains("_hvp") {
            "_hvp wrong"
        } else if detail.contains("generic twin") {
            "generic twin differs from the f64 function"
        } else if detail.contains("_vjp") {
            "_vjp disagrees with _grad"
        } else {
            "other"
        };
        format!("wrong result: {what}")
    }
}

/// Where each function and its check start and end in the generated `main.rs` (1-based,
/// inclusive).
struct Rendered {
    main_rs: String,
    ranges: Vec<(usize, usize, usize)>,
}

const PRELUDE: &str = "#![allow(warnings)]\n\
use differentiate::differentiate;\n\n\
const SCALE: f64 = 0.75;\n\
const HALF: f64 = 0.5;\n";

/// The source of `index` and every function it calls, in definition order.
fn source_with_callees(fns: &[gen::GenFn], index: usize) -> String {
    gen::with_callees(fns, index)
        .into_iter()
        .map(|i| fns[i].source.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The type of a harness variable holding a value for a parameter of this kind.
fn param_ty(kind: gen::ParamKind) -> String {
    match kind {
        gen::ParamKind::Scalar => "f64".to_string(),
        gen::ParamKind::Slice(len, form) if form.is_array() => format!("[f64; {len}]"),
        gen::ParamKind::Slice(..) => "Vec<f64>".to_string(),
        gen::ParamKind::Usize => "usize".to_string(),
        gen::ParamKind::I32 => "i32".to_string(),
        gen::ParamKind::Bool => "bool".to_string(),
    }
}

/// How the harness passes its variable `name` to a parameter of this kind.
fn pass(kind: gen::ParamKind, name: &str) -> String {
    match kind {
        gen::ParamKind::Slice(_, gen::SliceForm::Arr) => name.to_string(),
        gen::ParamKind::Slice(..) => format!("&{name}"),
        _ => name.to_string(),
    }
}

/// `check_NAME`: random points, the original, `_grad`, `_vjp`, and the comparison.
/// `skip_hvp`: whether its `_hvp` is not checked: it has none, or a function it calls casts a
/// float to `f64` (that callee's twin, run as written in the caller's forward sweep at dual
/// numbers, keeps only the value there; see the README's limits).
fn render_check(f: &gen::GenFn, skip_hvp: bool) -> String {
    use gen::ParamKind::*;
    let sig = &f.sig;
    let name = &sig.name;
    let mut s = String::new();
    writeln!(s, "fn check_{name}(fz_rep: &mut fuzz_rt::Report) {{").unwrap();
    writeln!(s, "    fz_rep.f32_rounding = {};", f.uses_f32).unwrap();
    writeln!(
        s,
        "    let mut fz_rng = fuzz_rt::Rng::new({:#x});",
        f.point_seed
    )
    .unwrap();
    writeln!(s, "    for fz_point in 0..fuzz_rt::POINTS {{").unwrap();
    let mut args = Vec::new();
    let mut fmt = Vec::new();
    let mut fmt_args = Vec::new();
    for p in &sig.params {
        let draw = match p.kind {
            Scalar => "fz_rng.scalar()".to_string(),
            Slice(len, form) if form.is_array() => {
                format!("fz_rng.vector({len}).try_into().unwrap()")
            }
            Slice(len, _) => format!("fz_rng.vector({len})"),
            Usize => "fz_rng.konst_usize()".to_string(),
            I32 => "fz_rng.konst_i32()".to_string(),
            Bool => "fz_rng.flag()".to_string(),
        };
        writeln!(s, "        let {}: {} = {draw};", p.name, param_ty(p.kind)).unwrap();
        args.push(pass(p.kind, &p.name));
        fmt.push(format!("{} = {{:?}}", p.name));
        fmt_args.push(p.name.clone());
    }
    let args = args.join(", ");
    writeln!(
        s,
        "        let fz_inputs = format!(\"{}\", {});",
        fmt.join(", "),
        fmt_args.join(", ")
    )
    .unwrap();
    writeln!(
        s,
        "        let fz_original = match fuzz_rt::guard(|| {name}({args})) {{"
    )
    .unwrap();
    writeln!(s, "            Ok(fz_v) => fz_v,").unwrap();
    writeln!(s, "            Err(fz_msg) => {{ fz_rep.fail(format!(\"point {{fz_point}}: the original function panicked (a generator bug): {{fz_msg}}\\n      at {{fz_inputs}}\")); continue; }}").unwrap();
    writeln!(s, "        }};").unwrap();
    writeln!(
        s,
        "        let (fz_value, fz_grad) = match fuzz_rt::guard(|| {name}_grad({args})) {{"
    )
    .unwrap();
    writeln!(s, "            Ok(fz_v) => fz_v,").unwrap();
    writeln!(s, "            Err(fz_msg) => {{ fz_rep.fail(format!(\"point {{fz_point}}: {name}_grad panicked: {{fz_msg}}\\n      at {{fz_inputs}}\")); continue; }}").unwrap();
    writeln!(s, "        }};").unwrap();
    writeln!(
        s,
        "        let (fz_vjp_value, fz_vjp_grad) = match fuzz_rt::guard(|| {name}_vjp({args}, 2.0)) {{"
    )
    .unwrap();
    writeln!(s, "            Ok(fz_v) => fz_v,").unwrap();
    writeln!(s, "            Err(fz_msg) => {{ fz_rep.fail(format!(\"point {{fz_point}}: {name}_vjp panicked: {{fz_msg}}\\n      at {{fz_inputs}}\")); continue; }}").unwrap();
    writeln!(s, "        }};").unwrap();
    if f.source.contains(&format!("fn {name}_generic")) {
        // The generic twin at `f64`: the same numbers, bit for bit (`{:?}` shows every bit
        // but a NaN's payload, and tells -0.0 from 0.0).
        let twin = format!("{name}_generic");
        writeln!(s, "        let fz_twin = fuzz_rt::guard(|| ({twin}::<f64>({args}), {twin}_grad::<f64>({args}), {twin}_vjp::<f64>({args}, 2.0)));").unwrap();
        writeln!(s, "        let fz_expected = format!(\"{{:?}}\", (&fz_original, (&fz_value, &fz_grad), (&fz_vjp_value, &fz_vjp_grad)));").unwrap();
        writeln!(s, "        match fz_twin {{").unwrap();
        writeln!(s, "            Ok(fz_t) => {{ let fz_got = format!(\"{{:?}}\", (&fz_t.0, (&fz_t.1 .0, &fz_t.1 .1), (&fz_t.2 .0, &fz_t.2 .1))); if fz_got != fz_expected {{ fz_rep.fail(format!(\"point {{fz_point}}: the generic twin at f64 gives (value, _grad, _vjp) {{fz_got}}, the f64 function {{fz_expected}}\\n      at {{fz_inputs}}\")); continue; }} }}").unwrap();
        writeln!(s, "            Err(fz_msg) => {{ fz_rep.fail(format!(\"point {{fz_point}}: the generic twin panicked: {{fz_msg}}\\n      at {{fz_inputs}}\")); continue; }}").unwrap();
        writeln!(s, "        }}").unwrap();
    }
    // Destructure the gradient with its expected type.
    let active: Vec<&gen::Param> = sig.params.iter().filter(|p| p.active).collect();
    let ty = |p: &gen::Param| match p.kind {
        Slice(len, form) if form.is_array() => format!("[f64; {len}]"),
        Slice(..) => "Vec<f64>".to_string(),
        _ => "f64".to_string(),
    };
    let (pat, pat2, tys) = if active.len() == 1 {
        ("fz_g_0".to_string(), "fz_h_0".to_string(), ty(active[0]))
    } else {
        let g: Vec<String> = (0..active.len()).map(|i| format!("fz_g_{i}")).collect();
        let h: Vec<String> = (0..active.len()).map(|i| format!("fz_h_{i}")).collect();
        let t: Vec<String> = active.iter().map(|p| ty(p)).collect();
        (
            format!("({})", g.join(", ")),
            format!("({})", h.join(", ")),
            format!("({})", t.join(", ")),
        )
    };
    writeln!(s, "        let {pat}: {tys} = fz_grad;").unwrap();
    writeln!(s, "        let {pat2}: {tys} = fz_vjp_grad;").unwrap();
    writeln!(s, "        let mut fz_got: Vec<f64> = Vec::new();").unwrap();
    writeln!(s, "        let mut fz_got_vjp: Vec<f64> = Vec::new();").unwrap();
    writeln!(s, "        let mut fz_x0: Vec<f64> = Vec::new();").unwrap();
    let mut labels = Vec::new();
    for (i, p) in active.iter().enumerate() {
        match p.kind {
            Slice(len, _) => {
                writeln!(s, "        if fz_g_{i}.len() != {len} || fz_h_{i}.len() != {len} {{ fz_rep.fail(format!(\"point {{fz_point}}: gradient of {} has {{}} entries (_grad) and {{}} (_vjp), expected {len}\", fz_g_{i}.len(), fz_h_{i}.len())); continue; }}", p.name).unwrap();
                writeln!(s, "        fz_got.extend(fz_g_{i}.iter().copied());").unwrap();
                writeln!(s, "        fz_got_vjp.extend(fz_h_{i}.iter().copied());").unwrap();
                writeln!(s, "        fz_x0.extend({}.iter().copied());", p.name).unwrap();
                for j in 0..len {
                    labels.push(format!("\"{}[{j}]\"", p.name));
                }
            }
            _ => {
                writeln!(s, "        fz_got.push(fz_g_{i});").unwrap();
                writeln!(s, "        fz_got_vjp.push(fz_h_{i});").unwrap();
                writeln!(s, "        fz_x0.push({});", p.name).unwrap();
                labels.push(format!("\"{}\"", p.name));
            }
        }
    }
    // The original as a function of the active coordinates.
    let mut eval_args = Vec::new();
    let mut offset = 0usize;
    for p in &sig.params {
        if p.active {
            match p.kind {
                Slice(len, form) => {
                    let part = format!("fz_p[{offset}..{}]", offset + len);
                    eval_args.push(match form {
                        gen::SliceForm::Slice => format!("&{part}"),
                        gen::SliceForm::VecRef => format!("&{part}.to_vec()"),
                        gen::SliceForm::ArrRef => {
                            format!("&<[f64; {len}]>::try_from(&{part}).unwrap()")
                        }
                        gen::SliceForm::Arr => {
                            format!("<[f64; {len}]>::try_from(&{part}).unwrap()")
                        }
                    });
                    offset += len;
                }
                _ => {
                    eval_args.push(format!("fz_p[{offset}]"));
                    offset += 1;
                }
            }
        } else {
            eval_args.push(pass(p.kind, &p.name));
        }
    }
    writeln!(
        s,
        "        let fz_labels: &[&str] = &[{}];",
        labels.join(", ")
    )
    .unwrap();
    writeln!(
        s,
        "        fz_rep.check(fz_point, &fz_inputs, fz_original, fz_value, &fz_got, (fz_vjp_value, &fz_got_vjp), fz_labels, &fz_x0, &|fz_p: &[f64]| {name}({}));",
        eval_args.join(", ")
    )
    .unwrap();
    if !skip_hvp {
        let hvp = |item: String, what: &str| HvpCheck {
            item,
            what: what.to_string(),
        };
        let own = hvp(format!("{name}_hvp"), "_hvp");
        render_hvp_check(&mut s, f, &active, &args, &eval_args, &own);
        if f.source.contains(&format!("fn {name}_generic")) {
            let twin = hvp(
                format!("{name}_generic_hvp::<f64>"),
                "the generic twin's _hvp",
            );
            render_hvp_check(&mut s, f, &active, &args, &eval_args, &twin);
        }
    }
    writeln!(s, "    }}").unwrap();
    writeln!(s, "}}").unwrap();
    s
}

/// A Hessian-vector product the harness checks: the item it calls, and how failures name it.
struct HvpCheck {
    item: String,
    what: String,
}

/// An `_hvp` (the function's own, or its generic twin's at `f64`) along a random direction
/// `v`, against the central difference of `_grad` along `v`, and its gradient against
/// `_grad`'s.
fn render_hvp_check(
    s: &mut String,
    f: &gen::GenFn,
    active: &[&gen::Param],
    args: &str,
    eval_args: &[String],
    hvp: &HvpCheck,
) {
    use gen::ParamKind::Slice;
    let name = &f.sig.name;
    // `v` shaped like the gradient, from the flat `fz_v`.
    let mut entries = Vec::new();
    let mut offset = 0usize;
    for p in active {
        match p.kind {
            Slice(len, form) if form.is_array() => {
                entries.push(format!(
                    "<[f64; {len}]>::try_from(&fz_v[{offset}..{}]).unwrap()",
                    offset + len
                ));
                offset += len;
            }
            Slice(len, _) => {
                entries.push(format!("fz_v[{offset}..{}].to_vec()", offset + len));
                offset += len;
            }
            _ => {
                entries.push(format!("fz_v[{offset}]"));
                offset += 1;
            }
        }
    }
    let tuple = |names: &[String]| {
        if names.len() == 1 {
            names[0].clone()
        } else {
            format!("({})", names.join(", "))
        }
    };
    let v = tuple(&entries);
    let flatten = |prefix: &str, into: &str| -> String {
        active
            .iter()
            .enumerate()
            .map(|(i, p)| match p.kind {
                Slice(..) => format!("{into}.extend({prefix}_{i}.iter().copied()); "),
                _ => format!("{into}.push({prefix}_{i}); "),
            })
            .collect()
    };
    let names = |prefix: &str| -> String {
        tuple(
            &(0..active.len())
                .map(|i| format!("{prefix}_{i}"))
                .collect::<Vec<_>>(),
        )
    };
    writeln!(
        s,
        "        let fz_v: Vec<f64> = (0..fz_x0.len()).map(|_| fz_rng.scalar()).collect();"
    )
    .unwrap();
    writeln!(
        s,
        "        let fz_hvp = fuzz_rt::guard(|| {}({args}, {v}));",
        hvp.item
    )
    .unwrap();
    writeln!(s, "        match fz_hvp {{").unwrap();
    writeln!(
        s,
        "            Ok((_, {}, {})) => {{",
        names("fz_q"),
        names("fz_w")
    )
    .unwrap();
    writeln!(s, "                let (mut fz_hg, mut fz_hv): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());").unwrap();
    writeln!(
        s,
        "                {}{}",
        flatten("fz_q", "fz_hg"),
        flatten("fz_w", "fz_hv")
    )
    .unwrap();
    writeln!(
        s,
        "                fz_rep.check_hvp(fz_point, &fz_inputs, {:?}, &fz_got_vjp, (&fz_hg, &fz_hv), fz_labels, &fz_x0, &fz_v, &|fz_p: &[f64]| {{ let {}= {name}_grad({}).1; let mut fz_flat = Vec::new(); {}fz_flat }});",
        hvp.what,
        names("fz_k"),
        eval_args.join(", "),
        flatten("fz_k", "fz_flat")
    )
    .unwrap();
    writeln!(s, "            }}").unwrap();
    writeln!(s, "            Err(fz_msg) => fz_rep.fail(format!(\"point {{fz_point}}: {} panicked: {{fz_msg}}\\n      at {{fz_inputs}}\")),", hvp.what).unwrap();
    writeln!(s, "        }}").unwrap();
}

/// `no_second_order[i]`: function `i` or one it calls has no second derivatives, so that its
/// `_hvp` is not checked.
fn render(fns: &[gen::GenFn], included: &[bool], no_second_order: &[bool]) -> Rendered {
    let mut main_rs = String::from(PRELUDE);
    main_rs.push_str("\nmod fuzz_rt {\n");
    main_rs.push_str(HARNESS);
    main_rs.push_str("}\n\n");
    let mut ranges = Vec::new();
    let mut checks = Vec::new();
    let mut sources = Vec::new();
    for (i, f) in fns.iter().enumerate() {
        if !included[i] {
            continue;
        }
        let start = main_rs.lines().count() + 1;
        writeln!(main_rs, "// ---- {} ----", f.sig.name).unwrap();
        main_rs.push_str(&f.source);
        main_rs.push('\n');
        // A function calling itself is its own callee.
        let recursive = fns[i].callees.contains(&i);
        let callee_identity_cast = gen::with_callees(fns, i)
            .into_iter()
            .any(|c| (c != i || recursive) && fns[c].identity_cast);
        main_rs.push_str(&render_check(f, callee_identity_cast || no_second_order[i]));
        main_rs.push('\n');
        let end = main_rs.lines().count();
        ranges.push((start, end, i));
        checks.push(format!(
            "(\"{0}\", check_{0} as fuzz_rt::Check)",
            f.sig.name
        ));
        sources.push(format!("r####\"{}\"####", source_with_callees(fns, i)));
    }
    writeln!(
        main_rs,
        "static SOURCES: &[&str] = &[\n{}\n];\n",
        sources.join(",\n")
    )
    .unwrap();
    writeln!(
        main_rs,
        "fn main() {{\n    let checks: &[(&str, fuzz_rt::Check)] = &[\n        {}\n    ];\n    fuzz_rt::run(checks, SOURCES);\n}}",
        checks.join(",\n        ")
    )
    .unwrap();
    Rendered { main_rs, ranges }
}

fn write_crate(dir: &Path, package: &str, main_rs: &str, with_differentiate: bool, root: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    // `num-traits` for the generic twins' bounds.
    let deps = if with_differentiate {
        format!(
            "differentiate = {{ path = {:?} }}\nnum-traits = \"0.2\"\n",
            root.to_str().expect("a UTF-8 path")
        )
    } else {
        "num-traits = \"0.2\"\n".to_string()
    };
    let toml = format!(
        "[package]\nname = \"{package}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n{deps}\n\
         [profile.dev]\ndebug = false\nincremental = false\n\n\
         [profile.release]\nincremental = false\ncodegen-units = 16\n\n\
         # Not a member of the repository's workspace.\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), toml).unwrap();
    // The repository's lock file pins the dependencies' versions (no registry access needed).
    let lock = root.join("Cargo.lock");
    if lock.exists() {
        std::fs::copy(&lock, dir.join("Cargo.lock")).unwrap();
    }
    std::fs::write(dir.join("src").join("main.rs"), main_rs).unwrap();
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Builds the crate in `dir`; `Err(stderr)` if it does not compile.
fn build(dir: &Path, target_dir: &Path, release: bool) -> Result<(), String> {
    let mut cmd = Command::new(cargo());
    cmd.arg("build")
        .arg("--color")
        .arg("never")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir);
    if release {
        cmd.arg("--release");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", cargo()));
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Splits rustc's output into error messages, each with the first line of `src/main.rs` it
/// points at.
fn errors(stderr: &str) -> Vec<(Option<usize>, String)> {
    let mut blocks: Vec<(Option<usize>, String)> = Vec::new();
    let mut current: Option<(Option<usize>, String)> = None;
    for line in stderr.lines() {
        let starts_error = line.starts_with("error");
        let starts_other = line.starts_with("warning")
            || line.starts_with("For more information")
            || line.starts_with("Some errors have")
            || line.trim_start().starts_with("Compiling ")
            || line.trim_start().starts_with("Building ");
        if starts_error || starts_other {
            if let Some(b) = current.take() {
                blocks.push(b);
            }
            let summary = line.starts_with("error: could not compile")
                || line.starts_with("error: aborting due to");
            if starts_error && !summary {
                current = Some((None, String::new()));
            }
        }
        if let Some((loc, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
            if loc.is_none() {
                let t = line.trim_start();
                let rest = t.strip_prefix("--> ").or_else(|| t.strip_prefix("::: "));
                if let Some(rest) = rest {
                    if let Some(pos) = rest.find("src/main.rs:") {
                        let after = &rest[pos + "src/main.rs:".len()..];
                        let num: String =
                            after.chars().take_while(|c| c.is_ascii_digit()).collect();
                        *loc = num.parse().ok();
                    }
                }
            }
        }
    }
    if let Some(b) = current.take() {
        blocks.push(b);
    }
    blocks
}

/// Runs `bin` with a time limit; returns its stdout, stderr and whether it exited normally.
fn run_binary(bin: &Path, limit: Duration) -> (String, String, bool) {
    let mut child = Command::new(bin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("FUZZ_TIMEOUT_SECS", limit.as_secs().to_string())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", bin.display()));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let deadline = Instant::now() + limit + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            // Our own child, by its handle.
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = out_thread.join().unwrap_or_default();
    let err = err_thread.join().unwrap_or_default();
    (out, err, status.is_some_and(|s| s.success()))
}

/// Functions that call an excluded function are excluded too.
fn exclude_dependents(fns: &[gen::GenFn], included: &mut [bool]) {
    for i in 0..fns.len() {
        if included[i] && fns[i].callees.iter().any(|&c| !included[c]) {
            included[i] = false;
        }
    }
}

/// Which of `offenders` are not valid Rust even without `#[differentiate]` (a generator bug
/// rather than a finding), with rustc's errors: all of them, and the functions they call, go
/// into one plain crate.
fn invalid_without_macro(
    dir: &Path,
    target_dir: &Path,
    fns: &[gen::GenFn],
    offenders: &[(usize, String)],
) -> Vec<(usize, String)> {
    if offenders.is_empty() {
        return Vec::new();
    }
    let mut needed = vec![false; fns.len()];
    for (i, _) in offenders {
        for c in gen::with_callees(fns, *i) {
            needed[c] = true;
        }
    }
    let mut main_rs =
        String::from("#![allow(warnings)]\nconst SCALE: f64 = 0.75;\nconst HALF: f64 = 0.5;\n\n");
    let mut ranges = Vec::new();
    for (i, f) in fns.iter().enumerate().filter(|(i, _)| needed[*i]) {
        let start = main_rs.lines().count() + 1;
        for l in f.source.lines() {
            if !l.trim_start().starts_with("#[differentiate") {
                main_rs.push_str(l);
                main_rs.push('\n');
            }
        }
        ranges.push((start, main_rs.lines().count(), i));
        main_rs.push('\n');
    }
    main_rs.push_str("fn main() {}\n");
    write_crate(dir, "fuzz_plain", &main_rs, false, Path::new("."));
    let stderr = match build(dir, target_dir, false) {
        Ok(()) => return Vec::new(),
        Err(e) => e,
    };
    let mut bad: Vec<(usize, String)> = Vec::new();
    for (line, text) in errors(&stderr) {
        let owner = line.and_then(|l| ranges.iter().find(|(s, e, _)| (*s..=*e).contains(&l)));
        let Some(&(_, _, f)) = owner else {
            // Not attributable: count it against every offender.
            for (i, _) in offenders {
                bad.push((*i, text.clone()));
            }
            continue;
        };
        for (i, _) in offenders {
            if gen::with_callees(fns, *i).contains(&f) {
                match bad.iter_mut().find(|(j, _)| j == i) {
                    Some((_, t)) => t.push_str(&text),
                    None => bad.push((*i, text.clone())),
                }
            }
        }
    }
    bad
}

/// The functions the build errors say have no second derivatives (the macro's message
/// "`NAME` has no second derivatives ..: REASON"), with the message.
fn without_second_order(fns: &[gen::GenFn], stderr: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for line in stderr.lines() {
        let Some(at) = line.find("` has no second derivatives") else {
            continue;
        };
        let Some(start) = line[..at].rfind('`') else {
            continue;
        };
        let name = &line[start + 1..at];
        if let Some(i) = fns.iter().position(|f| f.sig.name == name) {
            if !found.iter().any(|(j, _)| *j == i) {
                found.push((i, line[start..].to_string()));
            }
        }
    }
    found
}

#[test]
fn differential_fuzz() {
    let cases = env_usize("DIFFERENTIATE_FUZZ_CASES", DEFAULT_CASES);
    let seed = env_seed();
    let batch_size = env_usize("DIFFERENTIATE_FUZZ_BATCH", DEFAULT_BATCH).max(1);
    let release =
        std::env::var("DIFFERENTIATE_FUZZ_RELEASE").is_ok_and(|v| v != "0" && !v.is_empty());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target").join("fuzz-crate");
    let target_dir = root.join("target").join("fuzz-crate-target");
    let generic_mode = std::env::var("DIFFERENTIATE_FUZZ_GENERIC").map_or(true, |v| v != "0");
    let mut cfg = gen::Config::default();
    // By default, leave out what the README lists as not supported yet: a local buffer
    // declared after an early `return` (the rest of the body then runs inside a branch).
    // Setting DIFFERENTIATE_FUZZ_AVOID replaces this list (an empty value leaves nothing out).
    if std::env::var_os("DIFFERENTIATE_FUZZ_AVOID").is_none() {
        cfg.avoid.insert("buffer-after-return".to_string());
    }
    if let Ok(list) = std::env::var("DIFFERENTIATE_FUZZ_AVOID") {
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            assert!(
                gen::AVOIDABLE.iter().any(|(n, _)| *n == item),
                "DIFFERENTIATE_FUZZ_AVOID: unknown {item:?}; known: {:?}",
                gen::AVOIDABLE
            );
            cfg.avoid.insert(item.to_string());
        }
    }
    let started = Instant::now();
    let mut repro = format!("DIFFERENTIATE_FUZZ_SEED={seed:#x} DIFFERENTIATE_FUZZ_CASES={cases} DIFFERENTIATE_FUZZ_BATCH={batch_size}");
    if !cfg.avoid.is_empty() {
        let mut v: Vec<&str> = cfg.avoid.iter().map(String::as_str).collect();
        v.sort();
        repro.push_str(&format!(" DIFFERENTIATE_FUZZ_AVOID={}", v.join(",")));
    }

    let mut findings: Vec<Finding> = Vec::new();
    let mut second_order_missing = 0usize;
    let mut log = String::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    let batches = cases.div_ceil(batch_size);
    for b in 0..batches {
        let first = b * batch_size;
        let count = batch_size.min(cases - first);
        let mut fns = gen::generate_batch(seed, b as u64, first, count, &cfg);
        if generic_mode {
            let names: Vec<String> = fns.iter().map(|f| f.sig.name.clone()).collect();
            for f in &mut fns {
                let twin = generic::twin(&f.source, &names);
                f.source = format!("{}\n{twin}", f.source);
            }
        }
        let dir = work.join(format!("batch-{b}"));
        let package = format!("fuzz_batch_{b}");
        let mut included = vec![true; fns.len()];
        let mut no_second_order = vec![false; fns.len()];
        let mut built = false;
        for attempt in 0..8 {
            let rendered = render(&fns, &included, &no_second_order);
            write_crate(&dir, &package, &rendered.main_rs, true, &root);
            let t = Instant::now();
            let result = build(&dir, &target_dir, release);
            writeln!(
                log,
                "batch {b} build attempt {attempt}: {:.1} s",
                t.elapsed().as_secs_f64()
            )
            .unwrap();
            let stderr = match result {
                Ok(()) => {
                    built = true;
                    break;
                }
                Err(stderr) => stderr,
            };
            // An unavailable second order is a compile error where `_hvp` is used (see the
            // README's limits), not a finding: its checks are left out, with the reason logged.
            let unavailable = without_second_order(&fns, &stderr);
            if !unavailable.is_empty() {
                for (i, reason) in unavailable {
                    if !no_second_order[i] {
                        writeln!(log, "batch {b}: {reason}").unwrap();
                    }
                    for (j, f) in fns.iter().enumerate() {
                        let _ = f;
                        if gen::with_callees(&fns, j).contains(&i) {
                            no_second_order[j] = true;
                        }
                    }
                }
                continue;
            }
            let errs = errors(&stderr);
            let mut offenders: Vec<(usize, String)> = Vec::new();
            let mut unattributed = Vec::new();
            for (line, text) in &errs {
                let owner = line.and_then(|l| {
                    rendered
                        .ranges
                        .iter()
                        .find(|(s, e, _)| (*s..=*e).contains(&l))
                        .map(|r| r.2)
                });
                match owner {
                    Some(i) => match offenders.iter_mut().find(|(j, _)| *j == i) {
                        Some((_, t)) => t.push_str(text),
                        None => offenders.push((i, text.clone())),
                    },
                    None => unattributed.push(text.clone()),
                }
            }
            if offenders.is_empty() {
                findings.push(Finding {
                    function: format!("batch {b}"),
                    text: format!(
                        "the generated crate {} does not compile, and the errors point at no generated function:\n{stderr}",
                        dir.display()
                    ),
                });
                break;
            }
            // A function that calls another failing one may fail only because of it: leave
            // it out without a finding (it is retried in no later attempt either).
            let failing: Vec<usize> = offenders.iter().map(|(i, _)| *i).collect();
            offenders.retain(|(i, _)| {
                !gen::with_callees(&fns, *i)
                    .iter()
                    .any(|c| c != i && failing.contains(c))
            });
            for &i in &failing {
                included[i] = false;
            }
            let plain_dir = work.join(format!("plain-{b}"));
            let invalid = invalid_without_macro(&plain_dir, &target_dir, &fns, &offenders);
            for (i, text) in offenders {
                let source = source_with_callees(&fns, i);
                let verdict = match invalid.iter().find(|(j, _)| *j == i) {
                    None => {
                        "valid Rust without the attribute: the macro rejects or mis-generates it"
                            .to_string()
                    }
                    Some((_, e)) => {
                        format!("NOT valid Rust even without the attribute (a generator bug):\n{e}")
                    }
                };
                findings.push(Finding {
                    function: fns[i].sig.name.clone(),
                    text: format!(
                        "{} does not compile ({verdict}).\n--- rustc:\n{text}--- source (with the functions it calls):\n{source}",
                        fns[i].sig.name
                    ),
                });
            }
            exclude_dependents(&fns, &mut included);
            if !unattributed.is_empty() {
                writeln!(
                    log,
                    "batch {b}: errors outside generated functions:\n{}",
                    unattributed.join("")
                )
                .unwrap();
            }
        }
        if !built {
            continue;
        }
        second_order_missing += no_second_order
            .iter()
            .zip(&included)
            .filter(|(n, i)| **n && **i)
            .count();
        let profile = if release { "release" } else { "debug" };
        let bin = target_dir.join(profile).join(&package);
        let t = Instant::now();
        let (stdout, stderr, ok) = run_binary(&bin, Duration::from_secs(300));
        writeln!(log, "batch {b} run: {:.1} s", t.elapsed().as_secs_f64()).unwrap();
        // Failure blocks.
        let mut in_block: Option<(String, String)> = None;
        let mut summary = None;
        for line in stdout.lines() {
            if let Some(name) = line.strip_prefix("=== FAIL ") {
                in_block = Some((name.to_string(), String::new()));
                continue;
            }
            if line.starts_with("=== END ") {
                if let Some((name, text)) = in_block.take() {
                    findings.push(Finding {
                        function: name.clone(),
                        text: format!("{name}: wrong result\n{text}"),
                    });
                }
                continue;
            }
            if let Some((_, text)) = in_block.as_mut() {
                text.push_str(line);
                text.push('\n');
                continue;
            }
            if line.starts_with("STATS ") {
                writeln!(log, "batch {b}: {line}").unwrap();
            }
            if let Some(rest) = line.strip_suffix(" failed") {
                if let Some((p, f)) = rest.split_once(" passed, ") {
                    if let (Ok(p), Ok(f)) = (p.parse::<usize>(), f.parse::<usize>()) {
                        summary = Some((p, f));
                    }
                }
            }
        }
        match summary {
            Some((p, f)) if ok => {
                passed += p;
                failed += f;
            }
            _ => findings.push(Finding {
                function: format!("batch {b}"),
                text: format!(
                    "{} did not finish normally.\n--- stdout (end):\n{}\n--- stderr:\n{stderr}",
                    bin.display(),
                    stdout
                        .lines()
                        .rev()
                        .take(40)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            }),
        }
    }
    let compile_failures = findings
        .iter()
        .filter(|f| f.text.contains("does not compile"))
        .count();
    writeln!(
        log,
        "{cases} functions, seed {seed:#x}: {passed} passed, {failed} failed, {compile_failures} failed to compile, {second_order_missing} without second derivatives (of their own or a callee's); {:.1} s",
        started.elapsed().as_secs_f64()
    )
    .unwrap();
    let mut report = log.clone();
    for f in &findings {
        writeln!(report, "\n==================== {}\n{}", f.function, f.text).unwrap();
    }
    std::fs::create_dir_all(&work).ok();
    let report_path = work.join("report.txt");
    std::fs::write(&report_path, &report).ok();
    eprintln!("{log}");

    if !findings.is_empty() {
        // One example (the shortest) of each kind of problem, wrong results first.
        let mut kinds: Vec<(String, Vec<&Finding>)> = Vec::new();
        for f in &findings {
            let kind = f.kind();
            match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, v)) => v.push(f),
                None => kinds.push((kind, vec![f])),
            }
        }
        kinds.sort_by_key(|(k, v)| (!k.starts_with("wrong"), std::cmp::Reverse(v.len())));
        let mut msg = format!(
            "differential fuzzing found {} problem(s) of {} kind(s) (reproduce with {repro} \
             cargo test --test fuzz); full report in {}\n{log}\n",
            findings.len(),
            kinds.len(),
            report_path.display()
        );
        for (kind, v) in &kinds {
            writeln!(msg, "{:>5} x {kind}", v.len()).unwrap();
        }
        for (kind, v) in kinds.iter().take(8) {
            let example = v.iter().min_by_key(|f| f.text.len()).unwrap();
            writeln!(
                msg,
                "\n==================== {} (seed {seed:#x}; {} function(s) with: {kind})\n{}",
                example.function,
                v.len(),
                example.text
            )
            .unwrap();
        }
        if kinds.len() > 8 {
            writeln!(
                msg,
                "\n... and {} more kinds in {}",
                kinds.len() - 8,
                report_path.display()
            )
            .unwrap();
        }
        panic!("{msg}");
    }
}
