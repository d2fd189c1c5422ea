use differentiate::differentiate;
use num_traits::Float;

#[differentiate]
fn f<T: Float>(x: T) -> f64 {
    x.to_f64().unwrap()
}

fn main() {}
