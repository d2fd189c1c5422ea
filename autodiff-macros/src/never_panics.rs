//! The expansion never panics: random, well-formed function items (built from a grammar that
//! reaches every kind of `syn` expression and statement, supported or not) are expanded, and
//! each must produce tokens (the derivative, or compile errors), not a panic.
//! `DIFFERENTIATE_NEVER_PANICS_CASES` sets how many (default 2000).

use std::panic::{catch_unwind, AssertUnwindSafe};

/// splitmix64: small, seeded, good enough to pick grammar productions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "x",
    "y",
    "n",
    "v",
    "buf",
    "t",
    "seed",
    "self",
    "flag",
    "xs",
    "undefined",
];

fn expr(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 {
        return match rng.below(4) {
            0 => rng
                .pick(&[
                    "1.0",
                    "2",
                    "-0.5",
                    "true",
                    "\"s\"",
                    "'c'",
                    "std::f64::consts::PI",
                ])
                .to_string(),
            _ => rng.pick(NAMES).to_string(),
        };
    }
    let d = depth - 1;
    let choice = rng.below(40);
    let name = rng.pick(NAMES);
    let op = rng.pick(&[
        "+", "-", "*", "/", "%", "<", "==", "&&", "|", "<<", "+=", "*=", "%=",
    ]);
    let callee = rng.pick(&["f", "g", "f64::sin", "f64::max", "Tensor::zeros", "Some"]);
    let ty = rng.pick(&["f64", "f32", "usize", "i32"]);
    let member = rng.pick(&["0", "field", "len"]);
    let method = rng.pick(&[
        "sin", "powi", "max", "matmul", "sum", "iter", "unknown", "clone", "len",
    ]);
    let path = rng.pick(&["x", "a::b::c", "<f64>::MAX", "Self::K"]);
    let subs: Vec<String> = (0..4).map(|_| expr(rng, d)).collect();
    let mut next = subs.into_iter();
    let mut e = || next.next().unwrap_or_default();
    match choice {
        0 => format!("[{}, {}]", e(), e()),
        1 => format!("{name} = {}", e()),
        2 => format!("async {{ {} }}", e()),
        3 => format!("{}.await", e()),
        4 => format!("{} {op} {}", e(), e()),
        5 => format!("{{ let {name} = {}; {} }}", e(), e()),
        6 => "break".to_string(),
        7 => format!("{callee}({}, {})", e(), e()),
        8 => format!("({} as {ty})", e()),
        9 => format!("(|a: f64| a * {})({})", e(), e()),
        10 => "const { 1.0 }".to_string(),
        11 => "continue".to_string(),
        12 => format!("{}.{member}", e()),
        13 => format!("for i in 0..{} {{ {}; }}", e(), e()),
        14 => format!("if {} {{ {} }} else {{ {} }}", e(), e(), e()),
        15 => format!("{}[{}]", e(), e()),
        16 => "_".to_string(),
        17 => format!("if let Some(k) = {} {{ {} }} else {{ {} }}", e(), e(), e()),
        18 => format!("loop {{ {}; break; }}", e()),
        19 => format!("vec![{}; 3]", e()),
        20 => format!(
            "match {} {{ 0 => {}, k if k > 1 => {}, _ => {} }}",
            e(),
            e(),
            e(),
            e()
        ),
        21 => format!("{}.{method}({})", e(), e()),
        22 => format!("({})", e()),
        23 => path.to_string(),
        24 => format!("{}..{}", e(), e()),
        25 => "&raw const x".to_string(),
        26 => format!("&{}", e()),
        27 => format!("[{}; 2]", e()),
        28 => format!("return {}", e()),
        29 => format!("S {{ a: {}, b }}", e()),
        30 => format!("{}?", e()),
        31 => format!("({}, {})", e(), e()),
        32 => format!("-{}", e()),
        33 => format!("!{}", e()),
        34 => format!("*{}", e()),
        35 => format!("unsafe {{ {} }}", e()),
        36 => format!("while {} {{ {}; }}", e(), e()),
        37 => format!("{}.iter().map(|v| v * {}).sum::<f64>()", e(), e()),
        38 => format!("println!(\"{{}}\", {})", e()),
        _ => format!("{}.fold(0.0, |a, b| a + b * {})", e(), e()),
    }
}

fn stmt(rng: &mut Rng, depth: usize) -> String {
    let choice = rng.below(6);
    let name = rng.pick(NAMES);
    let ty = rng.pick(&["f64", "usize", "Tensor", "Vec<f64>", "[f64; 2]"]);
    let (a, b) = (expr(rng, depth), expr(rng, depth));
    match choice {
        0 => format!("let {name} = {a};"),
        1 => format!("let mut {name}: {ty} = {a};"),
        2 => format!("{a};"),
        3 => "fn inner(a: f64) -> f64 { a }".to_string(),
        4 => format!("let (a, b) = ({a}, {b});"),
        _ => format!("{name} += {a};"),
    }
}

fn function(rng: &mut Rng) -> (String, String) {
    let attr = rng
        .pick(&[
            "",
            "wrt(x)",
            "wrt(y)",
            "wrt(nope)",
            "wrt()",
            "vjp = other",
            "foo",
            "wrt(x, x)",
        ])
        .to_string();
    let receiver = rng.pick(&["", "&self, ", "&mut self, "]);
    let params = rng.pick(&[
        "x: f64",
        "x: f64, y: f64",
        "x: &[f64], n: usize",
        "x: &Tensor",
        "x: [f64; 3]",
        "x: &mut f64",
        "n: usize",
        "(a, b): (f64, f64)",
    ]);
    let ret = rng.pick(&[
        "-> f64",
        "-> (f64, f64)",
        "-> [f64; 2]",
        "-> Tensor",
        "",
        "-> String",
        "-> f32",
    ]);
    let count = rng.below(5);
    let mut stmts = Vec::new();
    for _ in 0..count {
        let depth = 1 + rng.below(3);
        stmts.push(stmt(rng, depth));
    }
    let depth = 1 + rng.below(3);
    let tail = expr(rng, depth);
    let source = format!(
        "fn f({receiver}{params}) {ret} {{ {} {tail} }}",
        stmts.join(" ")
    );
    (attr, source)
}

#[test]
fn expansion_never_panics_on_random_functions() {
    let cases: usize = std::env::var("DIFFERENTIATE_NEVER_PANICS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut rng = Rng(0x5eed);
    let mut expanded = 0;
    for case in 0..cases {
        let (attr, source) = function(&mut rng);
        // Only well-formed items count: the grammar may produce text Rust would not parse.
        let (Ok(attr_tokens), Ok(item)) = (
            attr.parse::<proc_macro2::TokenStream>(),
            syn::parse_str::<syn::ItemFn>(&source),
        ) else {
            continue;
        };
        let item = quote::quote!(#item);
        let result = catch_unwind(AssertUnwindSafe(|| {
            crate::expand::expand(attr_tokens, item)
        }));
        assert!(
            result.is_ok(),
            "case {case}: the expansion panicked on\n#[differentiate({attr})]\n{source}"
        );
        expanded += 1;
    }
    assert!(
        expanded > cases / 2,
        "only {expanded} of {cases} generated functions parsed"
    );
}
