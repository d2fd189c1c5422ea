use differentiate::differentiate;

#[differentiate]
fn f<T: Clone>(x: T) -> T {
    x
}

fn main() {}
