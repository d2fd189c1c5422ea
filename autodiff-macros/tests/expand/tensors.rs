// Tensor rules: broadcasting adds, a matrix product, elementwise functions.
#[differentiate(wrt(w, b))]
fn loss(x: &Tensor, w: &Tensor, b: &Tensor, y: &Tensor) -> f64 {
    let h = (x.matmul(w) + b).tanh();
    let r = &h - y;
    (&r * &r).mean() / 2.0
}
