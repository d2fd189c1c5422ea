#[differentiate]
pub fn rosenbrock<T: Float + FromPrimitive>(x: &[T], a: T, b: T) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        s = s + (a - x[i]).powi(2) + b * (x[i + 1] - x[i].powi(2)).powi(2);
    }
    let n = T::from_usize(x.len()).unwrap();
    s / n
}
