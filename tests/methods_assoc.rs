//! `#[differentiate]` on an `impl` block: associated functions without `self`, calls through
//! `Self::f` and `Type::f`, and the methods of a trait impl.

use differentiate::{differentiate, Differentiable};

struct Activation;

#[differentiate]
impl Activation {
    #[differentiate]
    fn softplus(x: f64) -> f64 {
        (1.0 + x.exp()).ln()
    }

    #[differentiate]
    fn twice_softplus(x: f64) -> f64 {
        2.0 * Self::softplus(x) + Activation::softplus(x)
    }

    /// Not marked: left as it is.
    fn name() -> &'static str {
        "softplus"
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn associated_functions_and_calls_through_self() {
    let (v, g) = Activation::softplus_grad(0.3);
    assert!((v - (1.0f64 + 0.3f64.exp()).ln()).abs() < 1e-15);
    assert!((g - sigmoid(0.3)).abs() < 1e-15);
    let (_, g3) = Activation::twice_softplus_grad(0.3);
    assert!((g3 - 3.0 * sigmoid(0.3)).abs() < 1e-15);
    // Second derivatives through the calls: 3 σ(x)(1 − σ(x)).
    let (_, _, h) = Activation::twice_softplus_hessian(0.3);
    assert!((h - 3.0 * sigmoid(0.3) * (1.0 - sigmoid(0.3))).abs() < 1e-14);
    assert_eq!(Activation::name(), "softplus");
}

trait Loss {
    fn loss(&self, prediction: f64, target: f64) -> f64;
}

#[derive(Clone, Differentiable)]
struct Huber {
    delta: f64,
}

#[differentiate]
impl Loss for Huber {
    #[differentiate(wrt(prediction))]
    fn loss(&self, prediction: f64, target: f64) -> f64 {
        let r = (prediction - target).abs();
        if r <= self.delta {
            0.5 * r * r
        } else {
            self.delta * (r - 0.5 * self.delta)
        }
    }
}

#[test]
fn trait_impl_methods() {
    let h = Huber { delta: 1.0 };
    assert_eq!(h.loss_grad(2.5, 2.0), (0.125, 0.5));
    assert_eq!(h.loss_grad(5.0, 2.0), (2.5, 1.0));
    assert_eq!(h.loss_grad(-5.0, 2.0).1, -1.0);
    // Through the trait, as generic code calls it.
    fn total(l: &impl Loss, pairs: &[(f64, f64)]) -> f64 {
        pairs.iter().map(|(p, t)| l.loss(*p, *t)).sum()
    }
    assert_eq!(total(&h, &[(2.5, 2.0), (5.0, 2.0)]), 2.625);
}
