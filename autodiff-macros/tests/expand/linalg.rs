// nalgebra values computed with whole: a loop carrying a vector, a product, a norm.
#[differentiate]
fn swept(v: &Vector3<f64>, n: usize) -> f64 {
    let mut total = Vector3::zeros();
    for i in 0..n {
        let t = i as f64 + 1.0;
        total += v * t;
    }
    let centroid = total / (n as f64);
    centroid.norm_squared()
}
