use differentiate::differentiate;

struct Line {
    w: f64,
    b: f64,
}

fn predict(line: &Line, x: f64) -> f64 {
    line.w * x + line.b
}

// A struct built in the body and passed whole to a function: its fields are not followed.
#[differentiate]
fn loss(w: f64, b: f64, x: f64) -> f64 {
    let line = Line { w, b };
    let y = predict(&line, x);
    y * y
}

fn main() {}
