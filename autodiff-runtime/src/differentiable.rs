//! Values whose numbers carry a gradient: user structs that derive `Differentiable`, and the
//! field types such a struct may hold.
//!
//! A struct parameter's gradient is a value of the same type: its numbers hold the partial
//! derivatives, its constant fields are copies (JAX's pytrees, PyTorch's `.grad` on a
//! module's parameters). The generated code reads the fields the body uses as numbers or
//! slices of numbers and stores their gradients back ([`FieldNumber`], [`FieldNumbers`]);
//! [`Differentiable`] makes the zero gradient the others start from and
//! lays the numbers out flat, in declaration order, for the Hessian.

/// A value whose numbers (of type `F`) can carry a gradient. Derive it on a struct with
/// `#[derive(differentiate::Differentiable)]`: fields of floats, `Vec`s and arrays of them,
/// tensors and other `Differentiable` structs hold numbers; integer, `bool`, `String` fields
/// and fields marked `#[differentiate(constant)]` are constants, copied into the gradient.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a gradient of `{F}` numbers: it does not implement `Differentiable`",
    label = "a parameter of this type is active by default",
    note = "derive it (`#[derive(differentiate::Differentiable)]`) if its numbers are parameters to differentiate, or name the active parameters with `#[differentiate(wrt(..))]` so that this one stays a constant"
)]
pub trait Differentiable<F>: Sized {
    /// The same value with every number zero and every constant kept.
    fn zero_like(&self) -> Self;
    /// How many numbers it holds.
    fn count_numbers(&self) -> usize;
    /// Appends its numbers, in declaration order.
    fn write_numbers(&self, out: &mut Vec<F>);
    /// Replaces its numbers, in declaration order, by the first ones of `numbers`, and moves
    /// `numbers` past them.
    fn read_numbers(&mut self, numbers: &mut &[F]);
    /// A stand-in for a gradient field that the generated code then stores whole, replacing
    /// it: as cheap as the type allows (an empty `Vec`, a tensor sharing this one's data)
    /// where zeros would be allocated only to be dropped.
    fn placeholder(&self) -> Self {
        self.zero_like()
    }
    /// The starting value of a gradient whose fields at the member paths `stored` (from
    /// member `depth` on) the generated code then stores whole: those hold
    /// [`placeholder`](Differentiable::placeholder)s, every other number is zero and every
    /// constant is copied. A struct gradient so allocates nothing beyond what is stored.
    fn gradient_shell(&self, stored: &[&[&str]], depth: usize) -> Self {
        let _ = (stored, depth);
        self.zero_like()
    }
    /// Where the numbers of the field at `path` (member names) lie among its numbers laid out
    /// in declaration order, as `(start, end)`; all of them for an empty path.
    fn number_range(&self, path: &[&str]) -> Option<(usize, usize)> {
        path.is_empty().then(|| (0, self.count_numbers()))
    }
}

/// Where the numbers of field `path` (`"w"`, `"layer.w"`; `""` for all) start among `x`'s
/// numbers in declaration order: a struct's second-order twin reads its fields there.
#[doc(hidden)]
pub fn number_start<F, S: Differentiable<F>>(x: &S, path: &str) -> usize {
    field_range(x, path).0
}

/// Where they end (see [`number_start`]).
#[doc(hidden)]
pub fn number_end<F, S: Differentiable<F>>(x: &S, path: &str) -> usize {
    field_range(x, path).1
}

fn field_range<F, S: Differentiable<F>>(x: &S, path: &str) -> (usize, usize) {
    let members: Vec<&str> = path.split('.').filter(|m| !m.is_empty()).collect();
    x.number_range(&members)
        .unwrap_or_else(|| panic!("no field `{path}` holding numbers"))
}

/// How a derived [`Differentiable::gradient_shell`] starts field `member`: a placeholder if
/// it is stored whole, a shell of its own if a field inside it is, else zeros.
#[doc(hidden)]
pub fn field_shell<F, T: Differentiable<F>>(
    field: &T,
    member: &str,
    stored: &[&[&str]],
    depth: usize,
) -> T {
    let at = |p: &&[&str]| p.get(depth) == Some(&member);
    if stored.iter().any(|p| at(p) && p.len() == depth + 1) {
        field.placeholder()
    } else if stored.iter().any(|p| at(p) && p.len() > depth + 1) {
        field.gradient_shell(stored, depth + 1)
    } else {
        field.zero_like()
    }
}

/// A type a field of a `Differentiable` struct may have and hold numbers: floats, `Vec`s and
/// arrays of them, tensors, and structs that derive `Differentiable`. The derive checks each
/// such field against it, so a field of another type is reported where it is declared.
#[diagnostic::on_unimplemented(
    message = "the field's type `{Self}` cannot hold a gradient",
    label = "neither numbers nor a `Differentiable` struct",
    note = "derive `Differentiable` for `{Self}` if it holds parameters, or mark the field `#[differentiate(constant)]` to copy it into the gradient unchanged"
)]
pub trait HoldsNumbers {}

impl HoldsNumbers for f64 {}
impl HoldsNumbers for f32 {}
impl<T: HoldsNumbers> HoldsNumbers for Vec<T> {}
impl<T: HoldsNumbers, const N: usize> HoldsNumbers for [T; N] {}
#[cfg(feature = "tensor")]
impl HoldsNumbers for crate::Tensor {}

/// The derive's check of a field's type (see [`HoldsNumbers`]).
pub const fn holds_numbers<T: HoldsNumbers + ?Sized>() {}

macro_rules! float_differentiable {
    ($($t:ty),*) => {$(
        impl Differentiable<$t> for $t {
            fn zero_like(&self) -> $t {
                0.0
            }
            fn count_numbers(&self) -> usize {
                1
            }
            fn write_numbers(&self, out: &mut Vec<$t>) {
                out.push(*self);
            }
            fn read_numbers(&mut self, numbers: &mut &[$t]) {
                *self = numbers[0];
                *numbers = &numbers[1..];
            }
        }
    )*};
}
float_differentiable!(f64, f32);

impl<F, T: Differentiable<F>> Differentiable<F> for Vec<T> {
    fn zero_like(&self) -> Vec<T> {
        self.iter().map(T::zero_like).collect()
    }
    fn placeholder(&self) -> Vec<T> {
        Vec::new()
    }
    fn count_numbers(&self) -> usize {
        self.iter().map(T::count_numbers).sum()
    }
    fn write_numbers(&self, out: &mut Vec<F>) {
        self.iter().for_each(|x| x.write_numbers(out));
    }
    fn read_numbers(&mut self, numbers: &mut &[F]) {
        self.iter_mut().for_each(|x| x.read_numbers(numbers));
    }
}

impl<F, T: Differentiable<F>, const N: usize> Differentiable<F> for [T; N] {
    fn zero_like(&self) -> [T; N] {
        std::array::from_fn(|i| self[i].zero_like())
    }
    fn count_numbers(&self) -> usize {
        self.iter().map(T::count_numbers).sum()
    }
    fn write_numbers(&self, out: &mut Vec<F>) {
        self.iter().for_each(|x| x.write_numbers(out));
    }
    fn read_numbers(&mut self, numbers: &mut &[F]) {
        self.iter_mut().for_each(|x| x.read_numbers(numbers));
    }
}

#[cfg(feature = "tensor")]
impl Differentiable<f64> for crate::Tensor {
    fn zero_like(&self) -> crate::Tensor {
        self.zeros_like()
    }
    fn placeholder(&self) -> crate::Tensor {
        self.clone()
    }
    fn count_numbers(&self) -> usize {
        self.shape().iter().product()
    }
    fn write_numbers(&self, out: &mut Vec<f64>) {
        out.extend(self.array().iter().copied());
    }
    fn read_numbers(&mut self, numbers: &mut &[f64]) {
        let n = self.count_numbers();
        let shape = self.shape().to_vec();
        *self = crate::Tensor::from_vec(&shape, numbers[..n].to_vec());
        *numbers = &numbers[n..];
    }
}

/// A field the body reads as one number of the function's float type `F`, and whose
/// gradient the generated code stores back.
#[diagnostic::on_unimplemented(
    message = "this field is read as a number of type `{F}`, but it holds `{Self}`",
    label = "read as a number here",
    note = "a `#[differentiate]` function reads a field of an active struct as a number where it computes with it; an integer field used in arithmetic: copy it into a typed local first (`let n: usize = p.n;`)"
)]
pub trait FieldNumber<F> {
    fn number(&self) -> F;
    /// Stores the gradient into a zero gradient's field.
    fn store(&mut self, gradient: F);
    /// Adds the gradient, where the body also reads an enclosing value (`v[0]` and `v.x`).
    fn add(&mut self, gradient: F);
}

/// A field the body reads as a slice of numbers of the function's float type `F` (it indexes
/// it, iterates over it, or takes its length), and whose gradient the generated code stores
/// back.
#[diagnostic::on_unimplemented(
    message = "this field is read as a slice of `{F}` numbers, but it holds `{Self}`",
    label = "read as a slice of numbers here",
    note = "a `#[differentiate]` function reads a field of an active struct as a slice where it indexes it, iterates over it or takes its length: a `Vec<{F}>` or `[{F}; N]` field; a field of integers used as indices: copy it into a typed local first (`let idx: &[usize] = &p.idx;`)"
)]
pub trait FieldNumbers<F> {
    fn numbers(&self) -> &[F];
    /// Stores the gradient into a zero gradient's field.
    fn store(&mut self, gradient: Vec<F>);
    /// Adds the gradient, where the body also reads a part of it (`v[0]` and `v.x`).
    fn add(&mut self, gradient: Vec<F>);
}

/// The first `n` of `numbers` into `slots`, in order; `numbers` moves past them.
#[cfg(any(feature = "tensor", feature = "nalgebra"))]
fn read_into<'a, F: Copy + 'a>(
    slots: impl Iterator<Item = &'a mut F>,
    n: usize,
    numbers: &mut &[F],
) {
    for (x, v) in slots.zip(&numbers[..n]) {
        *x = *v;
    }
    *numbers = &numbers[n..];
}

/// `numbers += gradient`, element by element.
fn add_into<F: Copy + std::ops::Add<Output = F>>(numbers: &mut [F], gradient: &[F]) {
    for (n, g) in numbers.iter_mut().zip(gradient) {
        *n = *n + *g;
    }
}

impl<F: num_traits::Float> FieldNumber<F> for F {
    #[inline(always)]
    fn number(&self) -> F {
        *self
    }
    #[inline(always)]
    fn store(&mut self, gradient: F) {
        *self = gradient;
    }
    #[inline(always)]
    fn add(&mut self, gradient: F) {
        *self = *self + gradient;
    }
}

impl<F: Copy + std::ops::Add<Output = F>> FieldNumbers<F> for Vec<F> {
    #[inline(always)]
    fn numbers(&self) -> &[F] {
        self
    }
    #[inline(always)]
    fn store(&mut self, gradient: Vec<F>) {
        *self = gradient;
    }
    fn add(&mut self, gradient: Vec<F>) {
        add_into(self, &gradient);
    }
}

impl<F: Copy + std::ops::Add<Output = F>, const N: usize> FieldNumbers<F> for [F; N] {
    #[inline(always)]
    fn numbers(&self) -> &[F] {
        self
    }
    #[inline(always)]
    fn store(&mut self, gradient: Vec<F>) {
        self.copy_from_slice(&gradient);
    }
    fn add(&mut self, gradient: Vec<F>) {
        add_into(self, &gradient);
    }
}

/// A field the body reads as a tensor (it calls a tensor method on it, passes it to one, or
/// adds it by reference), and whose gradient the generated code stores back.
#[cfg(feature = "tensor")]
#[diagnostic::on_unimplemented(
    message = "this field is read as a tensor, but it holds `{Self}`",
    label = "read as a tensor here"
)]
pub trait FieldTensor {
    fn tensor(&self) -> &crate::Tensor;
    fn store(&mut self, gradient: crate::Tensor);
    fn add(&mut self, gradient: crate::Tensor);
}

#[cfg(feature = "tensor")]
impl FieldTensor for crate::Tensor {
    #[inline(always)]
    fn tensor(&self) -> &crate::Tensor {
        self
    }
    #[inline(always)]
    fn store(&mut self, gradient: crate::Tensor) {
        *self = gradient;
    }
    fn add(&mut self, gradient: crate::Tensor) {
        *self += gradient;
    }
}

/// Every number of a value, in declaration order: a struct passed whole to a differentiated
/// call, as the caller's reverse sweep sees it.
pub fn numbers_of<F, S: Differentiable<F>>(x: &S) -> Vec<F> {
    let mut out = Vec::with_capacity(x.count_numbers());
    x.write_numbers(&mut out);
    out
}

/// `Σ aᵢ·bᵢ` over the numbers of two values of one shape: a row of a Jacobian (a gradient
/// entry) times a tangent, for a `NAME_jvp` computed by reverse sweeps.
pub fn inner<F: num_traits::Float, S: Differentiable<F>>(a: &S, b: &S) -> F {
    let (a, b) = (numbers_of(a), numbers_of(b));
    assert_eq!(
        a.len(),
        b.len(),
        "a tangent must have its parameter's shape"
    );
    a.iter()
        .zip(&b)
        .fold(F::zero(), |sum, (x, y)| sum + *x * *y)
}

/// The value `template` with its numbers replaced by `numbers` (its constants kept): the
/// struct a callee receives from a caller that passed it whole.
pub fn with_numbers<F, S: Differentiable<F>>(template: &S, numbers: &[F]) -> S {
    let mut value = template.zero_like();
    value.read_numbers(&mut &numbers[..]);
    value
}

/// Adds `numbers`, in declaration order, to the numbers of `gradient`.
pub fn add_numbers<F: Copy + std::ops::Add<Output = F>, S: Differentiable<F>>(
    gradient: &mut S,
    numbers: &[F],
) {
    let mut sum = numbers_of(gradient);
    add_into(&mut sum, numbers);
    gradient.read_numbers(&mut &sum[..]);
}

/// A struct's number as a constant of a caller's second-order twin (at dual numbers).
#[inline(always)]
pub fn lift_number<N: num_traits::NumCast, F: num_traits::ToPrimitive>(x: F) -> N {
    N::from(x).expect("a float converts into the twin's number type")
}

/// A struct's slice of numbers as constants of a caller's second-order twin.
pub fn lift_numbers<N: num_traits::NumCast, F: num_traits::ToPrimitive + Copy>(x: &[F]) -> Vec<N> {
    x.iter().map(|v| lift_number(*v)).collect()
}

#[cfg(feature = "tensor")]
pub use ndarray_arrays::view_gradient;

/// ndarray arrays (with the `tensor` feature): parameters whose body indexes them, iterates
/// over them or takes their length, with a gradient of the same type (owned, same shape);
/// views (`ArrayView1<f64>`) read the same way, with an owned array as their gradient.
#[cfg(feature = "tensor")]
mod ndarray_arrays {
    use super::{add_into, read_into, Differentiable, FieldNumbers, HoldsNumbers};
    use ndarray::{Array, Dimension};

    impl<F: Copy + num_traits::Zero, D: Dimension> Differentiable<F> for Array<F, D> {
        fn zero_like(&self) -> Self {
            Array::zeros(self.raw_dim())
        }
        fn count_numbers(&self) -> usize {
            self.len()
        }
        fn write_numbers(&self, out: &mut Vec<F>) {
            out.extend(self.iter().copied());
        }
        fn read_numbers(&mut self, numbers: &mut &[F]) {
            let n = self.len();
            read_into(self.iter_mut(), n, numbers);
        }
    }

    /// A view parameter (`ArrayView1<f64>`) read as a slice; its gradient is an owned array
    /// ([`view_gradient`]), never the view itself.
    impl<F: Copy, D: Dimension> FieldNumbers<F> for ndarray::ArrayView<'_, F, D> {
        fn numbers(&self) -> &[F] {
            self.as_slice()
                .expect("an ndarray view read as a slice is in standard (row-major) layout")
        }
        fn store(&mut self, _: Vec<F>) {
            unreachable!("a view's gradient is an owned array")
        }
        fn add(&mut self, _: Vec<F>) {
            unreachable!("a view's gradient is an owned array")
        }
    }

    /// The zero gradient of a view parameter: an owned array of its shape.
    pub fn view_gradient<F: Copy + num_traits::Zero, D: Dimension>(
        view: &ndarray::ArrayView<'_, F, D>,
    ) -> Array<F, D> {
        Array::zeros(view.raw_dim())
    }

    impl<F: Copy + std::ops::Add<Output = F>, D: Dimension> FieldNumbers<F> for Array<F, D> {
        fn numbers(&self) -> &[F] {
            self.as_slice()
                .expect("an ndarray parameter read as a slice is in standard (row-major) layout")
        }
        fn store(&mut self, gradient: Vec<F>) {
            self.add(gradient);
        }
        fn add(&mut self, gradient: Vec<F>) {
            let numbers = self
                .as_slice_mut()
                .expect("a gradient array is in standard layout");
            add_into(numbers, &gradient);
        }
    }

    impl<F, D: Dimension> HoldsNumbers for Array<F, D> {}
}

/// nalgebra vectors, matrices and points (with the `nalgebra` feature): parameters whose body
/// reads `.x`/`.y`/`.z`, indexes them or iterates over them, with a gradient of the same type.
#[cfg(feature = "nalgebra")]
mod nalgebra_values {
    use super::{add_into, read_into, Differentiable, FieldNumbers, HoldsNumbers};
    use nalgebra::allocator::Allocator;
    use nalgebra::{DefaultAllocator, Dim, DimName, OMatrix, OPoint, Scalar};

    impl<F, R, C> Differentiable<F> for OMatrix<F, R, C>
    where
        F: Scalar + Copy + num_traits::Zero,
        R: Dim,
        C: Dim,
        DefaultAllocator: Allocator<R, C>,
    {
        fn zero_like(&self) -> Self {
            self.map(|_| F::zero())
        }
        fn count_numbers(&self) -> usize {
            self.len()
        }
        fn write_numbers(&self, out: &mut Vec<F>) {
            out.extend(self.iter().copied());
        }
        fn read_numbers(&mut self, numbers: &mut &[F]) {
            let n = self.len();
            read_into(self.iter_mut(), n, numbers);
        }
    }

    impl<F, R, C> FieldNumbers<F> for OMatrix<F, R, C>
    where
        F: Scalar + Copy + std::ops::Add<Output = F>,
        R: Dim,
        C: Dim,
        DefaultAllocator: Allocator<R, C>,
    {
        fn numbers(&self) -> &[F] {
            self.as_slice()
        }
        fn store(&mut self, gradient: Vec<F>) {
            self.add(gradient);
        }
        fn add(&mut self, gradient: Vec<F>) {
            add_into(self.as_mut_slice(), &gradient);
        }
    }

    impl<F: Scalar, R: Dim, C: Dim> HoldsNumbers for OMatrix<F, R, C> where
        DefaultAllocator: Allocator<R, C>
    {
    }

    impl<F, D> Differentiable<F> for OPoint<F, D>
    where
        F: Scalar + Copy + num_traits::Zero,
        D: DimName,
        DefaultAllocator: Allocator<D>,
    {
        fn zero_like(&self) -> Self {
            OPoint::from(self.coords.zero_like())
        }
        fn count_numbers(&self) -> usize {
            self.coords.len()
        }
        fn write_numbers(&self, out: &mut Vec<F>) {
            self.coords.write_numbers(out);
        }
        fn read_numbers(&mut self, numbers: &mut &[F]) {
            self.coords.read_numbers(numbers);
        }
    }

    impl<F, D> FieldNumbers<F> for OPoint<F, D>
    where
        F: Scalar + Copy + std::ops::Add<Output = F>,
        D: DimName,
        DefaultAllocator: Allocator<D>,
    {
        fn numbers(&self) -> &[F] {
            self.coords.as_slice()
        }
        fn store(&mut self, gradient: Vec<F>) {
            self.add(gradient);
        }
        fn add(&mut self, gradient: Vec<F>) {
            add_into(self.coords.as_mut_slice(), &gradient);
        }
    }

    impl<F: Scalar, D: DimName> HoldsNumbers for OPoint<F, D> where DefaultAllocator: Allocator<D> {}
}
