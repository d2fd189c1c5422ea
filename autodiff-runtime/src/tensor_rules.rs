//! Derivative rules of the tensor operations, one function per (operation, operand), in
//! vector-Jacobian form like [`crate::rules`]: `rule(&dy, &reads..) -> contribution`.
//!
//! Arguments come by reference (the generated code keeps every value for the adjoint), and
//! every contribution has its target's shape: where an operation broadcast an operand, its
//! rule sums the adjoint back over the broadcast axes ([`Operand::reduce`]), so a scalar
//! operand of a tensor operation receives a scalar.
//!
//! The float-library functions applied elementwise to a tensor reuse the scalar rules of
//! [`crate::rules`] element by element ([`elementwise`]): each derivative is written once.

use crate::tensor::{product, Tensor};
use ndarray::{ArrayD, Axis, Ix1, Ix2, IxDyn, Zip};

/// A value an operation on tensors can take: a tensor or a number (broadcast).
pub trait Operand: Sized {
    /// This value as a tensor (a number becomes zero-dimensional).
    fn to_tensor(&self) -> Tensor;
    /// An adjoint computed at a broadcast shape, summed back to `like`'s shape.
    fn reduce(adjoint: Tensor, like: &Self) -> Self;
    /// Zeros shaped like `self`.
    fn zeros_like(&self) -> Self;
}

impl Operand for f64 {
    fn to_tensor(&self) -> Tensor {
        Tensor::scalar(*self)
    }
    fn reduce(adjoint: Tensor, _: &f64) -> f64 {
        adjoint.sum()
    }
    fn zeros_like(&self) -> f64 {
        0.0
    }
}

impl Operand for Tensor {
    fn to_tensor(&self) -> Tensor {
        self.clone()
    }
    fn reduce(adjoint: Tensor, like: &Tensor) -> Tensor {
        unbroadcast(adjoint, like.shape())
    }
    fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape())
    }
}

/// An adjoint computed at a broadcast shape, summed back to `like`'s shape (a number's
/// adjoint is the sum of all of it).
pub fn reduce_to<T: Operand>(adjoint: Tensor, like: &T) -> T {
    T::reduce(adjoint, like)
}

/// Zeros shaped like `x`: the starting value of an adjoint that arms or iterations add to.
pub fn zeros_like<T: Operand>(x: &T) -> T {
    x.zeros_like()
}

/// Sums `adjoint` over the axes along which an operand of shape `shape` was broadcast. The
/// first sum reads the adjoint in place (it may be shared), so nothing is copied whole.
pub fn unbroadcast(adjoint: Tensor, shape: &[usize]) -> Tensor {
    if adjoint.shape() == shape {
        return adjoint;
    }
    let mut summed: Option<ArrayD<f64>> = None;
    let sum = |summed: &mut Option<ArrayD<f64>>, axis: usize, keep: bool| {
        let next = match summed.as_ref() {
            Some(a) => a.sum_axis(Axis(axis)),
            None => adjoint.array().sum_axis(Axis(axis)),
        };
        *summed = Some(if keep {
            next.insert_axis(Axis(axis))
        } else {
            next
        });
    };
    let extra = adjoint.ndim().saturating_sub(shape.len());
    for _ in 0..extra {
        sum(&mut summed, 0, false);
    }
    for (axis, &n) in shape.iter().enumerate() {
        let current = summed
            .as_ref()
            .map_or(adjoint.shape()[axis + extra], |a| a.shape()[axis]);
        if n == 1 && current != 1 {
            sum(&mut summed, axis, true);
        }
    }
    match summed {
        Some(array) => array.into(),
        None => adjoint,
    }
}

// -- arithmetic ------------------------------------------------------------------------------

/// `y = a ± b`, adjoint of `a` (or of `b` for `+`).
pub fn add<A: Operand>(dy: &Tensor, target: &A) -> A {
    A::reduce(dy.clone(), target)
}
/// `y = a - b`, adjoint of `b`.
pub fn sub_b<B: Operand>(dy: &Tensor, b: &B) -> B {
    B::reduce(-dy, b)
}
/// `y = -a`, adjoint of `a`.
pub fn neg<A: Operand>(dy: &Tensor, a: &A) -> A {
    A::reduce(-dy, a)
}
/// `y = a * b`, adjoint of `a`.
pub fn mul_a<A: Operand, B: Operand>(dy: &Tensor, a: &A, b: &B) -> A {
    A::reduce(dy * &b.to_tensor(), a)
}
/// `y = a * b`, adjoint of `b`.
pub fn mul_b<A: Operand, B: Operand>(dy: &Tensor, a: &A, b: &B) -> B {
    B::reduce(&a.to_tensor() * dy, b)
}
/// `y = a / b`, adjoint of `a`.
pub fn div_a<A: Operand, B: Operand>(dy: &Tensor, a: &A, b: &B) -> A {
    A::reduce(dy / &b.to_tensor(), a)
}
/// `y = a / b`, adjoint of `b`: `-dy · y / b`.
pub fn div_b<B: Operand>(dy: &Tensor, b: &B, y: &Tensor) -> B {
    B::reduce(-(dy * y / &b.to_tensor()), b)
}
/// `y = x as f64` of a tensor (an identity).
pub fn cast_x(dy: &Tensor, _x: &Tensor) -> Tensor {
    dy.clone()
}

// -- the float library, elementwise ------------------------------------------------------------

/// Maps a scalar rule over the elements of its (broadcast) inputs.
fn map1(dy: &Tensor, f: impl Fn(f64) -> f64) -> Tensor {
    dy.map(f)
}

fn map2(dy: &Tensor, a: &Tensor, f: impl Fn(f64, f64) -> f64) -> Tensor {
    dy.zip_with(a, "elementwise rule", f)
}

fn map3(dy: &Tensor, a: &Tensor, b: &Tensor, f: impl Fn(f64, f64, f64) -> f64) -> Tensor {
    let shape = crate::tensor::broadcast_shape(dy.shape(), a.shape(), "elementwise rule");
    let shape = crate::tensor::broadcast_shape(&shape, b.shape(), "elementwise rule");
    let (dy, a, b) = (
        dy.broadcast_to(&shape),
        a.broadcast_to(&shape),
        b.broadcast_to(&shape),
    );
    Zip::from(dy.array())
        .and(a.array())
        .and(b.array())
        .map_collect(|d, x, y| f(*d, *x, *y))
        .into()
}

/// A rule of [`crate::rules`], lifted to tensors: `elementwise::sin_x(&dy, &x)` applies
/// `rules::sin_x` to every element; operands that are numbers are broadcast.
macro_rules! lift {
    ($name:ident($($arg:ident),*)) => {
        #[doc = concat!("[`rules::", stringify!($name), "`], elementwise.")]
        pub fn $name(dy: &Tensor $(, $arg: &impl Operand)*) -> Tensor {
            lift!(@apply $name dy; $($arg),*)
        }
    };
    (@apply $name:ident $dy:ident;) => { map1($dy, rules::$name) };
    (@apply $name:ident $dy:ident; $a:ident) => { map2($dy, &$a.to_tensor(), rules::$name) };
    (@apply $name:ident $dy:ident; $a:ident, $b:ident) => {
        map3($dy, &$a.to_tensor(), &$b.to_tensor(), rules::$name)
    };
}

/// The float library on tensors, from one list: the functions a tensor has elementwise
/// (`t.sin()`) with the scalar rule their adjoint lifts (`elementwise::sin_x`), those with no
/// derivative (piecewise constant), and the rules of functions a tensor has under another
/// form (`powf`, `maximum`, `mul_add`), lifted all the same.
macro_rules! float_library {
    (@apply $self:ident, $name:ident) => { $self.map(f64::$name) };
    (@apply $self:ident, $name:ident, $kernel:path) => { Tensor::from($kernel($self.array())) };
    (
        with_rules { $($name:ident $(by $kernel:path)? => $rule:ident($($arg:ident),*);)* }
        piecewise_constant { $($constant:ident),* $(,)? }
        other_rules { $($other:ident($($other_arg:ident),*);)* }
    ) => {
        impl Tensor {
            $(
                #[doc = concat!("`f64::", stringify!($name), "` of every element.")]
                pub fn $name(&self) -> Tensor {
                    float_library!(@apply self, $name $(, $kernel)?)
                }
            )*
            $(
                #[doc = concat!("`f64::", stringify!($constant), "` of every element.")]
                pub fn $constant(&self) -> Tensor {
                    self.map(f64::$constant)
                }
            )*
        }

        /// The rules of [`crate::rules`], lifted to tensors: `elementwise::sin_x(&dy, &x)`
        /// applies `rules::sin_x` to every element. Operands that are numbers are broadcast.
        pub mod elementwise {
            use super::*;
            use crate::rules;

            $(lift!($rule($($arg),*));)*
            $(lift!($other($($other_arg),*));)*

            /// [`rules::powi_x`], elementwise.
            pub fn powi_x<X: Operand>(dy: &Tensor, x: &X, n: &i32) -> Tensor {
                let n = *n;
                map2(dy, &x.to_tensor(), move |d, x| rules::powi_x(d, x, n))
            }
        }
    };
}

float_library! {
    with_rules {
        abs => abs_x(x); sqrt => sqrt_x(y); cbrt => cbrt_x(y); exp => exp_x(y);
        exp2 => exp2_x(y); exp_m1 => exp_m1_x(y); ln => ln_x(x); log2 => log2_x(x);
        log10 => log10_x(x); ln_1p => ln_1p_x(x); sin => sin_x(x); cos => cos_x(x);
        tan => tan_x(y); asin => asin_x(x); acos => acos_x(x); atan => atan_x(x);
        sinh => sinh_x(x); cosh => cosh_x(x); tanh by crate::tensor::tanh_all => tanh_x(y); asinh => asinh_x(x);
        acosh => acosh_x(x); atanh => atanh_x(x); recip => recip_x(y);
        to_degrees => to_degrees_x(); to_radians => to_radians_x(); fract => fract_x();
    }
    piecewise_constant { signum, floor, ceil, round, trunc }
    other_rules {
        powf_x(x, p); powf_p(x, y); log_x(x, b); log_b(b, y); atan2_a(a, b); atan2_b(a, b);
        hypot_a(a, y); hypot_b(b, y); min_a(a, b); min_b(a, b); max_a(a, b); max_b(a, b);
        copysign_x(x, s); mul_add_a(b); mul_add_b(a); mul_add_c();
    }
}

// -- tensor operations -------------------------------------------------------------------------

fn as2(t: &ArrayD<f64>) -> ndarray::ArrayView2<'_, f64> {
    t.view().into_dimensionality::<Ix2>().expect("a matrix")
}

fn as1(t: &ArrayD<f64>) -> ndarray::ArrayView1<'_, f64> {
    t.view().into_dimensionality::<Ix1>().expect("a vector")
}

/// `y = a.matmul(b)`, adjoint of `a`: `dy · bᵀ` (with the vector cases).
pub fn matmul_a(dy: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
    let (dy, av, bv) = (dy.array(), a.array(), b.array());
    match (av.ndim(), bv.ndim()) {
        (2, 2) => product(as2(dy), as2(bv).t()).into(),
        (2, 1) => {
            let (d, b) = (as1(dy), as1(bv));
            let outer = d.insert_axis(Axis(1)).dot(&b.insert_axis(Axis(0)));
            outer.into()
        }
        (1, 2) => as2(bv).dot(&as1(dy)).into(),
        _ => (b * dy.first().copied().unwrap_or(0.0)).reshape(a.shape()),
    }
}

/// `y = a.matmul(b)`, adjoint of `b`: `aᵀ · dy` (with the vector cases).
pub fn matmul_b(dy: &Tensor, a: &Tensor, b: &Tensor) -> Tensor {
    let (dy, av, bv) = (dy.array(), a.array(), b.array());
    match (av.ndim(), bv.ndim()) {
        (2, 2) => product(as2(av).t(), as2(dy)).into(),
        (2, 1) => as2(av).t().dot(&as1(dy)).into(),
        (1, 2) => {
            let (a, d) = (as1(av), as1(dy));
            a.insert_axis(Axis(1)).dot(&d.insert_axis(Axis(0))).into()
        }
        _ => (a * dy.first().copied().unwrap_or(0.0)).reshape(b.shape()),
    }
}

/// `y = a.dot(b)` (a number), adjoint of `a`.
pub fn dot_a(dy: &f64, b: &Tensor) -> Tensor {
    b * *dy
}
/// `y = a.dot(b)`, adjoint of `b`.
pub fn dot_b(dy: &f64, a: &Tensor) -> Tensor {
    a * *dy
}
/// `y = x.t()`.
pub fn t_x(dy: &Tensor) -> Tensor {
    dy.t()
}
/// `y = x.reshape(..)`: the adjoint in `x`'s shape.
pub fn reshape_x(dy: &Tensor, x: &Tensor) -> Tensor {
    dy.reshape(x.shape())
}
/// `y = x.sum()`.
pub fn sum_x(dy: &f64, x: &Tensor) -> Tensor {
    Tensor::full(x.shape(), *dy)
}
/// `y = x.mean()`.
pub fn mean_x(dy: &f64, x: &Tensor) -> Tensor {
    Tensor::full(x.shape(), *dy / x.len() as f64)
}
/// `y = x.max()`: the adjoint goes to the largest element, split evenly among ties.
pub fn max_x(dy: &f64, x: &Tensor, y: &f64) -> Tensor {
    let ties = x.array().iter().filter(|v| **v == *y).count().max(1) as f64;
    x.map(|v| if v == *y { *dy / ties } else { 0.0 })
}
/// `y = x.logsumexp()`: `dy · softmax(x)`.
pub fn logsumexp_x(dy: &f64, x: &Tensor, y: &f64) -> Tensor {
    x.map(|v| *dy * (v - *y).exp())
}
/// `y = x.sum_axis(axis)`: `dy` spread back along `axis`.
pub fn sum_axis_x(dy: &Tensor, x: &Tensor, axis: &usize) -> Tensor {
    spread(dy, x, *axis)
}
/// `y = x.mean_axis(axis)`.
pub fn mean_axis_x(dy: &Tensor, x: &Tensor, axis: &usize) -> Tensor {
    let n = x.shape()[*axis] as f64;
    &spread(dy, x, *axis) / n
}
/// `y = x.max_axis(axis)`: to the largest element of each lane, split evenly among ties.
pub fn max_axis_x(dy: &Tensor, x: &Tensor, y: &Tensor, axis: &usize) -> Tensor {
    let axis = *axis;
    let ymax = spread(y, x, axis);
    let hits = x.array().mapv(|_| 0.0)
        + &Zip::from(x.array())
            .and(ymax.array())
            .map_collect(|a, m| if a == m { 1.0 } else { 0.0 });
    let count = hits.sum_axis(Axis(axis)).mapv(|c: f64| c.max(1.0));
    let share = dy.array() / &count;
    let share = Tensor::from(share);
    let share = spread(&share, x, axis);
    (Tensor::from(hits) * share).reshape(x.shape())
}
/// `y = x.logsumexp_axis(axis)`: `dy · softmax(x)` along `axis`.
pub fn logsumexp_axis_x(dy: &Tensor, x: &Tensor, y: &Tensor, axis: &usize) -> Tensor {
    // One pass over `x`, with `y` and `dy` read through broadcast views (no copies).
    let (y, dy) = (with_axis(y, *axis), with_axis(dy, *axis));
    Zip::from(x.array())
        .and(&broadcast(&y, x))
        .and(&broadcast(&dy, x))
        .map_collect(|v, m, d| d * (v - m).exp())
        .into()
}
/// `y = x.softmax(axis)`: `y · (dy - Σ dy·y)` along `axis`.
pub fn softmax_x(dy: &Tensor, y: &Tensor, axis: &usize) -> Tensor {
    let axis = *axis;
    let dot = (dy * y).array().sum_axis(Axis(axis));
    let dot = Tensor::from(dot);
    let dot = with_axis(&dot, axis);
    Zip::from(y.array())
        .and(dy.array())
        .and(&broadcast(&dot, y))
        .map_collect(|y, d, s| y * (d - s))
        .into()
}
/// `y = x.slice_axis(axis, start, end)`: `dy` in place, zeros elsewhere.
pub fn slice_axis_x(dy: &Tensor, x: &Tensor, axis: &usize, start: &usize, end: &usize) -> Tensor {
    let mut out = ArrayD::zeros(IxDyn(x.shape()));
    out.slice_axis_mut(Axis(*axis), ndarray::Slice::from(*start..*end))
        .assign(dy.array());
    out.into()
}
/// `y = a.concat(b, axis)`, adjoint of `a`: its part of `dy`.
pub fn concat_a(dy: &Tensor, a: &Tensor, axis: &usize) -> Tensor {
    dy.slice_axis(*axis, 0, a.shape()[*axis])
}
/// `y = a.concat(b, axis)`, adjoint of `b`.
pub fn concat_b(dy: &Tensor, a: &Tensor, axis: &usize) -> Tensor {
    dy.slice_axis(*axis, a.shape()[*axis], dy.shape()[*axis])
}
/// `y = x.get(index)`: `dy` at `index`, zeros elsewhere.
pub fn get_x<I: AsRef<[usize]>>(dy: &f64, x: &Tensor, index: &I) -> Tensor {
    let mut out = ArrayD::zeros(IxDyn(x.shape()));
    out[IxDyn(index.as_ref())] = *dy;
    out.into()
}
/// `y = x.relu()`: 1 where `x > 0`, and 0 at 0 (the minimum-norm subgradient).
pub fn relu_x(dy: &Tensor, x: &Tensor) -> Tensor {
    map2(dy, x, |d, v| if v > 0.0 { d } else { 0.0 })
}
/// `y = a.maximum(b)`, adjoint of `a` (ties split evenly).
pub fn maximum_a<B: Operand>(dy: &Tensor, a: &Tensor, b: &B) -> Tensor {
    Tensor::reduce(map3(dy, a, &b.to_tensor(), crate::rules::max_a), a)
}
/// `y = a.maximum(b)`, adjoint of `b`.
pub fn maximum_b<B: Operand>(dy: &Tensor, a: &Tensor, b: &B) -> B {
    B::reduce(map3(dy, a, &b.to_tensor(), crate::rules::max_b), b)
}
/// `y = a.minimum(b)`, adjoint of `a`.
pub fn minimum_a<B: Operand>(dy: &Tensor, a: &Tensor, b: &B) -> Tensor {
    Tensor::reduce(map3(dy, a, &b.to_tensor(), crate::rules::min_a), a)
}
/// `y = a.minimum(b)`, adjoint of `b`.
pub fn minimum_b<B: Operand>(dy: &Tensor, a: &Tensor, b: &B) -> B {
    B::reduce(map3(dy, a, &b.to_tensor(), crate::rules::min_b), b)
}

/// `d` (a reduction's adjoint, `axis` removed) broadcast back to `x`'s shape.
fn spread(d: &Tensor, x: &Tensor, axis: usize) -> Tensor {
    let d = with_axis(d, axis);
    broadcast(&d, x).to_owned().into()
}

/// `d` (a reduction's result or adjoint) with its reduced `axis` back, as a view.
fn with_axis(d: &Tensor, axis: usize) -> ndarray::ArrayViewD<'_, f64> {
    d.array().view().insert_axis(Axis(axis))
}

/// `d` broadcast to `x`'s shape, as a view (no copy).
fn broadcast<'a>(d: &'a ndarray::ArrayViewD<'_, f64>, x: &Tensor) -> ndarray::ArrayViewD<'a, f64> {
    match d.broadcast(IxDyn(x.shape())) {
        Some(view) => view,
        None => panic!("cannot broadcast shape {:?} to {:?}", d.shape(), x.shape()),
    }
}
