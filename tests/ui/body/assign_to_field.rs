use differentiate::differentiate;

struct State {
    value: f64,
}

#[differentiate]
fn f(x: f64) -> f64 {
    let mut s = State { value: 0.0 };
    s.value = x * 2.0;
    x
}

fn main() {}
