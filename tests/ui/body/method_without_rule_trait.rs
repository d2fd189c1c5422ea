use differentiate::differentiate;

trait MyMethod {
    fn my_method(self) -> f64;
}

impl MyMethod for f64 {
    fn my_method(self) -> f64 {
        self * 3.0
    }
}

#[differentiate]
fn f(x: f64) -> f64 {
    x.my_method() + 1.0
}

fn main() {}
