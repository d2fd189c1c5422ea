use differentiate::differentiate;
use num_traits::Float;

#[differentiate]
fn f<T: Float, U: Float>(x: T, y: U) -> T {
    x * T::from(y).unwrap()
}

fn main() {}
