// Computing with nalgebra values whole without the `nalgebra` feature: the error says which
// feature to enable (the tests run without it).
use differentiate::differentiate;
use nalgebra::Vector3;

#[differentiate]
fn f(v: &Vector3<f64>) -> f64 {
    v.norm()
}

fn main() {}
