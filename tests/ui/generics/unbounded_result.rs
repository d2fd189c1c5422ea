use differentiate::differentiate;

#[differentiate]
fn f<T: Default>(x: f64) -> T {
    let _ = x;
    T::default()
}

fn main() {}
