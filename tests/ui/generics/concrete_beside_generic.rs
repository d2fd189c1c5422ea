use differentiate::differentiate;
use num_traits::Float;

#[differentiate]
fn f<T: Float>(x: T, h: f64) -> T {
    x * T::from(h).unwrap()
}

fn main() {}
