use differentiate::differentiate;
use num_traits::Float;

#[differentiate(wrt(x))]
fn scaled<T: Float>(x: T, k: T) -> T {
    x * k
}

#[differentiate]
fn f<T: Float>(x: T) -> T {
    scaled(x, x.cos())
}

fn main() {}
