use differentiate::differentiate;

#[derive(Default)]
struct State {
    value: f64,
}

// A field of a struct that was not built in the body by a literal.
#[differentiate]
fn f(x: f64) -> f64 {
    let mut s = State::default();
    s.value = x * 2.0;
    x
}

fn main() {}
