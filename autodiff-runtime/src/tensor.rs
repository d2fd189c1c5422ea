//! The tensor type: an n-dimensional array of `f64` on `ndarray`, with the operations
//! differentiated code uses. Its derivative rules are in [`crate::tensor_rules`].
//!
//! [`Tensor`] wraps an `ndarray::ArrayD<f64>` behind a reference count, so the copies the
//! generated code makes (a value kept for the adjoint, a record of a loop iteration) share the
//! data instead of duplicating it. Converting from an `ndarray` array moves it in without
//! copying; [`Tensor::into_array`] moves it back out (copying only if it is shared).
//!
//! Arithmetic broadcasts as NumPy does; shapes that do not broadcast panic with both shapes
//! in the message, where the operation is.

use ndarray::{Array2, ArrayD, ArrayView2, Axis, IxDyn, Zip};
use std::fmt;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};
use std::sync::Arc;

/// An n-dimensional array of `f64`.
#[derive(Clone, PartialEq)]
pub struct Tensor(Arc<ArrayD<f64>>);

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({:?})", self.0)
    }
}

impl<D: ndarray::Dimension> From<ndarray::Array<f64, D>> for Tensor {
    fn from(array: ndarray::Array<f64, D>) -> Self {
        Tensor(Arc::new(array.into_dyn()))
    }
}

impl From<&Tensor> for Tensor {
    fn from(t: &Tensor) -> Self {
        t.clone()
    }
}

impl From<f64> for Tensor {
    fn from(value: f64) -> Self {
        Tensor::scalar(value)
    }
}

impl Tensor {
    /// A tensor of `shape` from its elements in row-major order.
    pub fn from_vec(shape: &[usize], data: Vec<f64>) -> Tensor {
        let len = data.len();
        match ArrayD::from_shape_vec(IxDyn(shape), data) {
            Ok(array) => array.into(),
            Err(_) => panic!("Tensor::from_vec: {len} elements do not fill shape {shape:?}"),
        }
    }

    /// A one-dimensional tensor.
    pub fn vector(data: &[f64]) -> Tensor {
        Tensor::from_vec(&[data.len()], data.to_vec())
    }

    /// A two-dimensional tensor from its rows.
    pub fn matrix(rows: &[&[f64]]) -> Tensor {
        let cols = rows.first().map_or(0, |r| r.len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(
                row.len(),
                cols,
                "Tensor::matrix: row {i} has {} elements, row 0 has {cols}",
                row.len()
            );
            data.extend_from_slice(row);
        }
        Tensor::from_vec(&[rows.len(), cols], data)
    }

    /// A zero-dimensional tensor holding `value`.
    pub fn scalar(value: f64) -> Tensor {
        ArrayD::from_elem(IxDyn(&[]), value).into()
    }

    pub fn full(shape: &[usize], value: f64) -> Tensor {
        ArrayD::from_elem(IxDyn(shape), value).into()
    }

    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape())
    }

    pub fn shape(&self) -> &[usize] {
        self.0.shape()
    }

    pub fn ndim(&self) -> usize {
        self.0.ndim()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The underlying array.
    pub fn array(&self) -> &ArrayD<f64> {
        &self.0
    }

    /// The underlying array, moved out (copied only if this tensor's data is shared).
    pub fn into_array(self) -> ArrayD<f64> {
        Arc::try_unwrap(self.0).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The elements in row-major order.
    pub fn to_vec(&self) -> Vec<f64> {
        self.0.iter().copied().collect()
    }

    /// The element at `index` (one index per axis).
    pub fn get(&self, index: &[usize]) -> f64 {
        match self.0.get(IxDyn(index)) {
            Some(v) => *v,
            None => panic!(
                "Tensor::get: index {index:?} is out of bounds for shape {:?}",
                self.shape()
            ),
        }
    }

    /// Applies `f` to every element (no derivative: for constants, masks and data).
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Tensor {
        self.0.mapv(f).into()
    }

    /// 1 where the element is greater than `threshold`, else 0: a constant mask.
    pub fn gt(&self, threshold: f64) -> Tensor {
        self.map(|v| if v > threshold { 1.0 } else { 0.0 })
    }

    /// 1 where the element is less than `threshold`, else 0: a constant mask.
    pub fn lt(&self, threshold: f64) -> Tensor {
        self.map(|v| if v < threshold { 1.0 } else { 0.0 })
    }

    // -- shape --------------------------------------------------------------------------

    /// The same elements in another shape (row-major order).
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        assert_eq!(
            n,
            self.len(),
            "Tensor::reshape: cannot reshape {:?} ({} elements) into {shape:?}",
            self.shape(),
            self.len()
        );
        Tensor::from_vec(shape, self.to_vec())
    }

    /// The axes reversed (a matrix transposed).
    pub fn t(&self) -> Tensor {
        self.0.t().to_owned().into()
    }

    /// `self` and `other` joined along `axis`.
    pub fn concat(&self, other: &Tensor, axis: usize) -> Tensor {
        match ndarray::concatenate(Axis(axis), &[self.0.view(), other.0.view()]) {
            Ok(array) => array.into(),
            Err(_) => panic!(
                "Tensor::concat: cannot join {:?} and {:?} along axis {axis}",
                self.shape(),
                other.shape()
            ),
        }
    }

    /// Elements `start..end` along `axis`.
    pub fn slice_axis(&self, axis: usize, start: usize, end: usize) -> Tensor {
        assert!(
            axis < self.ndim() && start <= end && end <= self.shape()[axis],
            "Tensor::slice_axis: {start}..{end} along axis {axis} is out of bounds for shape {:?}",
            self.shape()
        );
        self.0
            .slice_axis(Axis(axis), ndarray::Slice::from(start..end))
            .to_owned()
            .into()
    }

    // -- products -------------------------------------------------------------------------

    /// Matrix product: matrix × matrix (the `gemm` crate's kernels, one thread), matrix ×
    /// vector, vector × matrix (ndarray's).
    pub fn matmul(&self, other: &Tensor) -> Tensor {
        use ndarray::{Ix1, Ix2};
        let a = &*self.0;
        let b = &*other.0;
        let mismatch = || -> ! {
            panic!(
                "Tensor::matmul: shapes {:?} and {:?} do not multiply",
                a.shape(),
                b.shape()
            )
        };
        match (a.ndim(), b.ndim()) {
            (2, 2) => {
                let (a, b) = (
                    a.view().into_dimensionality::<Ix2>().unwrap(),
                    b.view().into_dimensionality::<Ix2>().unwrap(),
                );
                if a.ncols() != b.nrows() {
                    mismatch();
                }
                product(a, b).into()
            }
            (2, 1) => {
                let (a, b) = (
                    a.view().into_dimensionality::<Ix2>().unwrap(),
                    b.view().into_dimensionality::<Ix1>().unwrap(),
                );
                if a.ncols() != b.len() {
                    mismatch();
                }
                a.dot(&b).into()
            }
            (1, 2) => {
                let (a, b) = (
                    a.view().into_dimensionality::<Ix1>().unwrap(),
                    b.view().into_dimensionality::<Ix2>().unwrap(),
                );
                if a.len() != b.nrows() {
                    mismatch();
                }
                a.dot(&b).into()
            }
            (1, 1) => Tensor::scalar(self.dot(other)),
            _ => mismatch(),
        }
    }

    /// Inner product of two tensors of the same shape.
    pub fn dot(&self, other: &Tensor) -> f64 {
        assert_eq!(
            self.shape(),
            other.shape(),
            "Tensor::dot: shapes {:?} and {:?} differ",
            self.shape(),
            other.shape()
        );
        Zip::from(&*self.0)
            .and(&*other.0)
            .fold(0.0, |acc, a, b| acc + a * b)
    }

    // -- reductions -----------------------------------------------------------------------

    pub fn sum(&self) -> f64 {
        self.0.sum()
    }

    pub fn mean(&self) -> f64 {
        assert!(!self.is_empty(), "Tensor::mean of an empty tensor");
        self.sum() / self.len() as f64
    }

    /// The largest element.
    pub fn max(&self) -> f64 {
        self.0.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// `ln Σ exp(x)`, computed stably.
    pub fn logsumexp(&self) -> f64 {
        let m = self.max();
        if m.is_infinite() {
            return m;
        }
        m + self.0.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
    }

    fn check_axis(&self, axis: usize, what: &str) {
        assert!(
            axis < self.ndim(),
            "Tensor::{what}: axis {axis} is out of bounds for shape {:?}",
            self.shape()
        );
    }

    pub fn sum_axis(&self, axis: usize) -> Tensor {
        self.check_axis(axis, "sum_axis");
        self.0.sum_axis(Axis(axis)).into()
    }

    pub fn mean_axis(&self, axis: usize) -> Tensor {
        self.check_axis(axis, "mean_axis");
        let n = self.shape()[axis] as f64;
        (self.0.sum_axis(Axis(axis)) / n).into()
    }

    pub fn max_axis(&self, axis: usize) -> Tensor {
        self.check_axis(axis, "max_axis");
        self.0
            .fold_axis(Axis(axis), f64::NEG_INFINITY, |a, b| a.max(*b))
            .into()
    }

    pub fn logsumexp_axis(&self, axis: usize) -> Tensor {
        self.check_axis(axis, "logsumexp_axis");
        let m = self
            .0
            .fold_axis(Axis(axis), f64::NEG_INFINITY, |a, b| a.max(*b));
        let shifted = &*self.0 - &m.clone().insert_axis(Axis(axis));
        let lse = shifted.mapv(f64::exp).sum_axis(Axis(axis)).mapv(f64::ln) + &m;
        let lse = Zip::from(&lse)
            .and(&m)
            .map_collect(|l, m| if m.is_infinite() { *m } else { *l });
        lse.into()
    }

    /// `exp(x) / Σ exp(x)` along `axis`.
    pub fn softmax(&self, axis: usize) -> Tensor {
        self.check_axis(axis, "softmax");
        let m = self
            .0
            .fold_axis(Axis(axis), f64::NEG_INFINITY, |a, b| a.max(*b))
            .insert_axis(Axis(axis));
        let e = (&*self.0 - &m).mapv(f64::exp);
        let s = e.sum_axis(Axis(axis)).insert_axis(Axis(axis));
        (e / &s).into()
    }

    // -- elementwise ----------------------------------------------------------------------

    /// Elementwise maximum with another tensor (broadcast) or a number: `x.maximum(0.0)` is a ReLU.
    pub fn maximum<O: Into<Tensor>>(&self, other: O) -> Tensor {
        self.zip_with(&other.into(), "maximum", f64::max)
    }

    /// Elementwise minimum with another tensor (broadcast) or a number.
    pub fn minimum<O: Into<Tensor>>(&self, other: O) -> Tensor {
        self.zip_with(&other.into(), "minimum", f64::min)
    }

    pub fn relu(&self) -> Tensor {
        self.map(|v| v.max(0.0))
    }

    pub fn powi(&self, n: i32) -> Tensor {
        self.map(|v| v.powi(n))
    }

    pub fn powf(&self, p: f64) -> Tensor {
        self.map(|v| v.powf(p))
    }

    /// `f(a, b)` elementwise over the broadcast of both shapes.
    pub(crate) fn zip_with(
        &self,
        other: &Tensor,
        what: &str,
        f: impl Fn(f64, f64) -> f64,
    ) -> Tensor {
        let shape = broadcast_shape(self.shape(), other.shape(), what);
        let a = self.0.broadcast(IxDyn(&shape)).expect("broadcast shape");
        let b = other.0.broadcast(IxDyn(&shape)).expect("broadcast shape");
        Zip::from(&a).and(&b).map_collect(|x, y| f(*x, *y)).into()
    }

    /// The tensor broadcast to `shape`.
    pub(crate) fn broadcast_to(&self, shape: &[usize]) -> Tensor {
        match self.0.broadcast(IxDyn(shape)) {
            Some(view) => view.to_owned().into(),
            None => panic!("cannot broadcast shape {:?} to {shape:?}", self.shape()),
        }
    }
}

/// `a · b` (`a.ncols() == b.nrows()`) into a fresh row-major matrix, by the `gemm` crate on
/// one thread: about 1.2× faster than ndarray's `dot` (matrixmultiply) on 256 × 256 products.
/// The operands are read through their strides, so a transposed view (`x.t()`, as the
/// adjoints pass) costs no copy. The result is deterministic: the same operands give the same
/// bits on a given machine.
pub(crate) fn product(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let ((m, k), n) = (a.dim(), b.ncols());
    debug_assert_eq!(k, b.nrows());
    let mut c = Array2::<f64>::zeros((m, n));
    let positive = |s: &[isize]| s.iter().all(|&s| s >= 0);
    if k == 0 || m == 0 || n == 0 {
        return c;
    }
    if !positive(a.strides()) || !positive(b.strides()) {
        // A user's array with a reversed axis: ndarray's kernel takes any stride.
        return a.dot(&b);
    }
    let (cs, (as_, bs)) = (c.strides().to_vec(), (a.strides(), b.strides()));
    // SAFETY: the pointers and strides describe `a` (m × k), `b` (k × n) and `c` (m × n)
    // exactly, all within their arrays; `c` is written (not read: `read_dst` is false) and is
    // borrowed by nothing else.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            cs[1],
            cs[0],
            false,
            a.as_ptr(),
            as_[1],
            as_[0],
            b.as_ptr(),
            bs[1],
            bs[0],
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    c
}

/// The shape two shapes broadcast to, NumPy's way; panics with both shapes.
pub fn broadcast_shape(a: &[usize], b: &[usize], what: &str) -> Vec<usize> {
    let n = a.len().max(b.len());
    let mut shape = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        shape[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => panic!("{what}: shapes {a:?} and {b:?} do not broadcast"),
        };
    }
    shape
}

// The float library elementwise (`t.sin()`, `t.floor()`) is defined with its rules, from one
// list, in `tensor_rules.rs`.

// -- arithmetic, broadcasting ------------------------------------------------------------------

macro_rules! binary_op {
    ($trait:ident, $method:ident, $op:tt, $what:literal) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                if self.shape() == rhs.shape() {
                    return (&*self.0 $op &*rhs.0).into();
                }
                self.zip_with(rhs, $what, |a, b| a $op b)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                &self $op &rhs
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                &self $op rhs
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                self $op &rhs
            }
        }
        impl $trait<f64> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f64) -> Tensor {
                self.map(|a| a $op rhs)
            }
        }
        impl $trait<f64> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f64) -> Tensor {
                &self $op rhs
            }
        }
        impl $trait<&f64> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &f64) -> Tensor {
                self $op *rhs
            }
        }
        impl $trait<&Tensor> for f64 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                rhs.map(|b| self $op b)
            }
        }
        impl $trait<Tensor> for f64 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                self $op &rhs
            }
        }
        impl $trait<&Tensor> for &f64 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                *self $op rhs
            }
        }
    };
}

binary_op!(Add, add, +, "tensor +");
binary_op!(Sub, sub, -, "tensor -");
binary_op!(Mul, mul, *, "tensor *");
binary_op!(Div, div, /, "tensor /");

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        self.map(|a| -a)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        -&self
    }
}

impl AddAssign<Tensor> for Tensor {
    fn add_assign(&mut self, rhs: Tensor) {
        *self = &*self + &rhs;
    }
}

impl AddAssign<&Tensor> for Tensor {
    fn add_assign(&mut self, rhs: &Tensor) {
        *self = &*self + rhs;
    }
}

impl std::ops::SubAssign<Tensor> for Tensor {
    fn sub_assign(&mut self, rhs: Tensor) {
        *self = &*self - &rhs;
    }
}
