use differentiate::differentiate;
use num_traits::Float;

// Leaving the float type has no derivative: the value is a constant of the derivative.
#[differentiate]
fn f<T: Float>(x: T) -> T {
    let y = x.to_f64().unwrap();
    T::from(y * 2.0).unwrap()
}

fn main() {}
