// A nalgebra operation with no derivative rule: the error names the method, the value and its
// type, and lists the operations that have rules.
use differentiate::differentiate;
use nalgebra::Matrix3;

#[differentiate]
fn f(m: &Matrix3<f64>, x: f64) -> f64 {
    m.amax() * x
}

fn main() {}
