//! The tensor type: an n-dimensional array of `f64` on `ndarray`, with the operations
//! differentiated code uses. Its derivative rules are in [`crate::tensor_rules`].
//!
//! [`Tensor`] wraps an `ndarray::ArrayD<f64>` behind a reference count, so the copies the
//! generated code makes (a value kept for the adjoint, a record of a loop iteration) share the
//! data instead of duplicating it. Converting from an `ndarray` array moves it in without
//! copying; [`Tensor::into_array`] moves it back out (copying only if it is shared).
//!
//! Matrix products run on the `gemm` crate (one thread) and `tanh` on a vectorised kernel.
//! The storage of a dropped tensor of 8,192 elements or more is kept by its thread (up to 16
//! buffers, 64 MB) and reused by the next tensor of the same length, so a function called in
//! a loop does not ask the system allocator for its large temporaries every time.
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
        let mut out = output(shape);
        out.fill(value);
        out.into()
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
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the Arc is moved out exactly once
        // (a plain move is not allowed: `Tensor` implements `Drop`).
        let shared = unsafe { std::ptr::read(&this.0) };
        Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone())
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
        let mut out = output(self.shape());
        Zip::from(&mut out)
            .and(&*self.0)
            .for_each(|o, x| *o = f(*x));
        out.into()
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
        // exp(x − m) in one pass (m broadcast, not copied), then ln Σ + m in place.
        let lanes = m.view().insert_axis(Axis(axis));
        let lanes = lanes.broadcast(self.0.raw_dim()).expect("m along its axis");
        let exps = Zip::from(&*self.0)
            .and(&lanes)
            .map_collect(|v, m| (v - m).exp());
        let mut lse = exps.sum_axis(Axis(axis));
        Zip::from(&mut lse).and(&m).for_each(|l, m| {
            *l = if m.is_infinite() { *m } else { l.ln() + m };
        });
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
        if self.shape() == other.shape() {
            // The common case, without working out (and allocating) the broadcast shape.
            let mut out = output(self.shape());
            Zip::from(&mut out)
                .and(&*self.0)
                .and(&*other.0)
                .for_each(|o, x, y| *o = f(*x, *y));
            return out.into();
        }
        let shape = broadcast_shape(self.shape(), other.shape(), what);
        let a = self.0.broadcast(IxDyn(&shape)).expect("broadcast shape");
        let b = other.0.broadcast(IxDyn(&shape)).expect("broadcast shape");
        let mut out = output(&shape);
        Zip::from(&mut out)
            .and(&a)
            .and(&b)
            .for_each(|o, x, y| *o = f(*x, *y));
        out.into()
    }

    /// The tensor broadcast to `shape`.
    pub(crate) fn broadcast_to(&self, shape: &[usize]) -> Tensor {
        match self.0.broadcast(IxDyn(shape)) {
            Some(view) => view.to_owned().into(),
            None => panic!("cannot broadcast shape {:?} to {shape:?}", self.shape()),
        }
    }
}

// -- storage reuse ------------------------------------------------------------------------------
//
// A differentiated function makes several tensors of the same size per call and drops them
// all when it returns. Through the system allocator, those of a few hundred kB are often
// given back to the kernel and faulted in again on the next call (glibc trims the heap or
// unmaps them): on a 256 × 256 perceptron that measured up to 1.5 ms per gradient, in some
// runs and not others. So the storage of a dropped tensor of at least `REUSE_MIN` elements
// is kept, per thread, for the next tensor of the same length.

/// Smaller buffers are cheap to allocate and not kept.
const REUSE_MIN: usize = 1 << 13;
/// At most this many buffers, and this many elements in all (64 MB), are kept per thread.
const REUSE_SLOTS: usize = 16;
const REUSE_ELEMENTS: usize = 1 << 23;

thread_local! {
    static SPARE: std::cell::RefCell<Vec<Vec<f64>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffer of `len` elements whose values are to be overwritten: a kept one, or a new one.
fn buffer(len: usize) -> Vec<f64> {
    reused(len).unwrap_or_else(|| vec![0.0; len])
}

/// A buffer of `len` zeros.
fn zeroed_buffer(len: usize) -> Vec<f64> {
    match reused(len) {
        Some(mut v) => {
            v.fill(0.0);
            v
        }
        None => vec![0.0; len],
    }
}

fn reused(len: usize) -> Option<Vec<f64>> {
    if len < REUSE_MIN {
        return None;
    }
    SPARE
        .try_with(|spare| {
            let mut spare = spare.borrow_mut();
            let at = spare.iter().position(|v| v.len() == len)?;
            Some(spare.swap_remove(at))
        })
        .ok()
        .flatten()
}

/// An array of `shape` whose elements are all to be written (row-major).
fn output(shape: &[usize]) -> ArrayD<f64> {
    let len = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), buffer(len)).expect("shape's length")
}

impl Drop for Tensor {
    fn drop(&mut self) {
        if self.0.len() < REUSE_MIN {
            return;
        }
        let Some(array) = Arc::get_mut(&mut self.0) else {
            return; // still shared
        };
        let array = std::mem::replace(array, ArrayD::zeros(IxDyn(&[0])));
        let (storage, _) = array.into_raw_vec_and_offset();
        let _ = SPARE.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            let kept: usize = spare.iter().map(Vec::len).sum();
            if spare.len() < REUSE_SLOTS && kept + storage.len() <= REUSE_ELEMENTS {
                spare.push(storage);
            }
        });
    }
}

/// `a · b` (`a.ncols() == b.nrows()`) into a fresh row-major matrix, by the `gemm` crate on
/// one thread: about 1.2× faster than ndarray's `dot` (matrixmultiply) on 256 × 256 products
/// with AVX2, about 2× with the AVX-512 kernels gemm picks when the CPU has them.
/// The operands are read through their strides, so a transposed view (`x.t()`, as the
/// adjoints pass) costs no copy. The result is deterministic: the same operands give the same
/// bits on a given machine.
pub(crate) fn product(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let ((m, k), n) = (a.dim(), b.ncols());
    debug_assert_eq!(k, b.nrows());
    let positive = |s: &[isize]| s.iter().all(|&s| s >= 0);
    if !positive(a.strides()) || !positive(b.strides()) {
        // A user's array with a reversed axis: ndarray's kernel takes any stride.
        return a.dot(&b);
    }
    if k == 0 || m == 0 || n == 0 {
        return Array2::from_shape_vec((m, n), zeroed_buffer(m * n)).expect("m × n elements");
    }
    // gemm writes every element of `c` without reading it, so its old contents do not matter.
    let mut c = Array2::from_shape_vec((m, n), buffer(m * n)).expect("m × n elements");
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

/// `tanh` of every element, in a loop the compiler vectorises (libm's `tanh` is a scalar call
/// of about 20 ns, the largest cost of a tanh layer after its product). Within 4 ulp of libm.
pub(crate) fn tanh_all(x: &ArrayD<f64>) -> ArrayD<f64> {
    let Some(src) = x.as_slice() else {
        return x.mapv(tanh);
    };
    let mut out = buffer(src.len());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked above.
        unsafe { tanh_into_avx2(src, &mut out) };
    } else {
        tanh_into(src, &mut out);
    }
    #[cfg(not(target_arch = "x86_64"))]
    tanh_into(src, &mut out);
    ArrayD::from_shape_vec(x.raw_dim(), out).expect("same shape")
}

#[inline(always)]
fn tanh_into(src: &[f64], out: &mut [f64]) {
    for (o, x) in out.iter_mut().zip(src) {
        *o = tanh(*x);
    }
}

/// [`tanh_into`] four lanes wide. No FMA: mul and add round as in the SSE2 loop, so both
/// give the same bits and a result does not depend on the machine.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tanh_into_avx2(src: &[f64], out: &mut [f64]) {
    tanh_into(src, out)
}

/// `tanh x = (e^2|x| − 1) / (e^2|x| + 1)` with the sign of `x`, written without branches or
/// calls so that it vectorises. `e^y − 1` is `2^k (e^r − 1) + (2^k − 1)` with `y = k ln 2 + r`,
/// `|r| ≤ ln 2 / 2`, and `e^r − 1` a Taylor polynomial without its constant term, so small
/// `x` keep their relative accuracy. `|x|` is clamped at 20, where `tanh` rounds to 1; NaN
/// passes through.
#[inline(always)]
fn tanh(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1; // ln 2 in its high 32 bits: k·LN2_HI is exact
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5·2^52: adding it rounds to an integer
    const INV_FACT: [f64; 13] = [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        0.0,
    ];
    let ax = x.abs();
    let y = 2.0 * if ax > 20.0 { 20.0 } else { ax };
    let shifted = y * std::f64::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = (y - k * LN2_HI) - k * LN2_LO;
    // r + r²/2! + … + r¹³/13!, the error term r¹⁴/14! below 2^-53 · r
    let mut p = 1.0 / 6_227_020_800.0;
    for c in INV_FACT {
        p = p * r + c;
    }
    // 2^k from the integer in the low bits of `shifted`
    let scale = f64::from_bits(
        (shifted.to_bits().wrapping_sub(ROUND.to_bits()))
            .wrapping_add(1023)
            .wrapping_shl(52),
    );
    let em1 = scale * p + (scale - 1.0);
    (em1 / (em1 + 2.0)).copysign(x)
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
