use differentiate::differentiate;

struct Model {
    scale: f64,
}

impl Model {
    #[differentiate]
    fn f(&mut self, x: f64) -> f64 {
        x * self.scale
    }
}

fn main() {}
