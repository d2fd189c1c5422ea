//! Derivative rules of nalgebra's arithmetic and methods (with the `nalgebra` feature), one
//! function per (operation, operand), in vector-Jacobian form like [`crate::rules`]:
//! `rule(&dy, &reads..) -> contribution`, the contribution of the type of its target.
//!
//! The generated code names one rule per operation (`mul_a`, `dot_b`, ..), whatever the
//! operands' types; the traits here pick the calculus from the types, as nalgebra's own
//! operator impls do: `mul_a` of `m * v` is `dy vᵀ`, of `s * v` the number `dy · v`.
//! Vectors and matrices are `OMatrix` (fixed or dynamic sizes), points `OPoint`; a point's
//! adjoint is a point, as its gradient entry is.

use nalgebra::allocator::Allocator;
use nalgebra::{
    DMatrix, DefaultAllocator, Dim, DimName, OMatrix, OPoint, OVector, Quaternion, RealField, Unit,
    UnitQuaternion, Vector3,
};
use num_traits::Zero;

/// A nalgebra value the generated code differentiates through.
pub trait Value: Clone {
    type Scalar: RealField + Copy;
    /// The type of its adjoint: itself, except for a point, whose adjoint is a vector (points
    /// cannot be added; the adjoints of a sweep are sums). The gradient entry of a point
    /// parameter is a point again ([`gradient_entry`]).
    type Adjoint: Value<Scalar = Self::Scalar>;
    /// Zeros shaped like `self`: the starting value of an adjoint.
    fn zeros_like(&self) -> Self::Adjoint;
    /// `self · s`, as an adjoint.
    fn scaled(&self, s: Self::Scalar) -> Self::Adjoint;
    /// Every entry `s`, shaped like `self`.
    fn filled(&self, s: Self::Scalar) -> Self::Adjoint;
    /// The entries, column by column.
    fn entries(&self) -> &[Self::Scalar];
    /// Entry `k` in the order a constructor takes them (`Matrix3::new` reads rows).
    fn entry_row_major(&self, k: usize) -> Self::Scalar;
    /// The gradient entry of a parameter of this type, from its adjoint.
    fn from_adjoint(adjoint: Self::Adjoint) -> Self;
    /// A seed of this type (the result's), as an adjoint.
    fn to_adjoint(self) -> Self::Adjoint;
}

impl<T, R, C> Value for OMatrix<T, R, C>
where
    T: RealField + Copy,
    R: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, C>,
{
    type Scalar = T;
    type Adjoint = Self;
    fn zeros_like(&self) -> Self {
        self.map(|_| T::zero())
    }
    fn scaled(&self, s: T) -> Self {
        self * s
    }
    fn filled(&self, s: T) -> Self {
        self.map(|_| s)
    }
    fn entries(&self) -> &[T] {
        self.as_slice()
    }
    fn entry_row_major(&self, k: usize) -> T {
        let columns = self.ncols();
        self[(k / columns, k % columns)]
    }
    fn from_adjoint(adjoint: Self) -> Self {
        adjoint
    }
    fn to_adjoint(self) -> Self {
        self
    }
}

impl<T, D> Value for OPoint<T, D>
where
    T: RealField + Copy,
    D: DimName,
    DefaultAllocator: Allocator<D>,
{
    type Scalar = T;
    type Adjoint = OVector<T, D>;
    fn zeros_like(&self) -> OVector<T, D> {
        self.coords.zeros_like()
    }
    fn scaled(&self, s: T) -> OVector<T, D> {
        &self.coords * s
    }
    fn filled(&self, s: T) -> OVector<T, D> {
        self.coords.map(|_| s)
    }
    fn entries(&self) -> &[T] {
        self.coords.as_slice()
    }
    fn entry_row_major(&self, k: usize) -> T {
        self.coords[k]
    }
    fn from_adjoint(adjoint: OVector<T, D>) -> Self {
        OPoint::from(adjoint)
    }
    fn to_adjoint(self) -> OVector<T, D> {
        self.coords
    }
}

/// Zeros shaped like `x`, as its adjoint.
pub fn zeros_like<V: Value>(x: &V) -> V::Adjoint {
    x.zeros_like()
}

/// The seed of `NAME_vjp` of a function returning a nalgebra value, as that value's adjoint
/// (a point's seed is a point, its adjoint a vector).
pub fn seed_adjoint<V: Value>(seed: V) -> V::Adjoint {
    seed.to_adjoint()
}

/// The gradient entry of parameter `like` from its adjoint (a point's is a point).
pub fn gradient_entry<V: Value>(adjoint: V::Adjoint, _like: &V) -> V {
    V::from_adjoint(adjoint)
}

/// `Σ a_k b_k` over the entries of two values of one shape (the Frobenius inner product).
fn inner<A: Value, B: Value<Scalar = A::Scalar>>(a: &A, b: &B) -> A::Scalar {
    a.entries()
        .iter()
        .zip(b.entries())
        .fold(A::Scalar::zero(), |sum, (x, y)| sum + *x * *y)
}

// -- sums ------------------------------------------------------------------------------------

/// `y = a ± b`, adjoint of `a` (or of `b` for `+`): the result's, a vector for a point
/// operand as for a vector one (`p + v`, `p - q`).
pub fn add<D: Clone>(dy: &D) -> D {
    dy.clone()
}
/// `y = a - b`, adjoint of `b`.
pub fn sub_b<D: Clone + core::ops::Neg<Output = D>>(dy: &D) -> D {
    -dy.clone()
}
/// `y = -a`, adjoint of `a`.
pub fn neg<D: Clone + core::ops::Neg<Output = D>, A>(dy: &D, _a: &A) -> D {
    -dy.clone()
}

// -- products --------------------------------------------------------------------------------

/// `y = a * b` for the operand types nalgebra multiplies: a matrix and a matrix or vector, a
/// matrix and a point, quaternions (a number and a value: [`scale`], [`scale_number`]). Adjoints have the adjoint
/// types (a vector for a point).
pub trait Product<B: Adjoint>: Adjoint + Sized {
    /// The adjoint of the product.
    type Output;
    fn mul_a(dy: &Self::Output, a: &Self, b: &B) -> Self::Cotangent;
    fn mul_b(dy: &Self::Output, a: &Self, b: &B) -> B::Cotangent;
}

/// The type of the adjoint of a number or a nalgebra value.
pub trait Adjoint {
    type Cotangent;
}

impl Adjoint for f64 {
    type Cotangent = f64;
}

impl Adjoint for f32 {
    type Cotangent = f32;
}

impl<T, R, C> Adjoint for OMatrix<T, R, C>
where
    T: RealField + Copy,
    R: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, C>,
{
    type Cotangent = Self;
}

impl<T: RealField + Copy, D: DimName> Adjoint for OPoint<T, D>
where
    DefaultAllocator: Allocator<D>,
{
    type Cotangent = OVector<T, D>;
}

/// `y = a * b`, adjoint of `a`.
pub fn mul_a<A: Product<B>, B: Adjoint>(dy: &A::Output, a: &A, b: &B) -> A::Cotangent {
    A::mul_a(dy, a, b)
}
/// `y = a * b`, adjoint of `b`.
pub fn mul_b<A: Product<B>, B: Adjoint>(dy: &A::Output, a: &A, b: &B) -> B::Cotangent {
    A::mul_b(dy, a, b)
}

/// `y = a * b` with `a` `R × K` and `b` `K × C`: `dy bᵀ` and `aᵀ dy`.
impl<T, R, K, C> Product<OMatrix<T, K, C>> for OMatrix<T, R, K>
where
    T: RealField + Copy,
    R: Dim,
    K: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, K> + Allocator<K, C> + Allocator<R, C> + Allocator<C, K>,
{
    type Output = OMatrix<T, R, C>;
    fn mul_a(dy: &Self::Output, _a: &Self, b: &OMatrix<T, K, C>) -> Self {
        dy * b.transpose()
    }
    fn mul_b(dy: &Self::Output, a: &Self, _b: &OMatrix<T, K, C>) -> OMatrix<T, K, C> {
        a.tr_mul(dy)
    }
}

/// `y = m * p`, a matrix applied to a point (the adjoint of the point `y` is a vector).
impl<T, D> Product<OPoint<T, D>> for OMatrix<T, D, D>
where
    T: RealField + Copy,
    D: DimName,
    DefaultAllocator: Allocator<D, D> + Allocator<D> + Allocator<nalgebra::U1, D>,
{
    type Output = OVector<T, D>;
    fn mul_a(dy: &OVector<T, D>, _m: &Self, p: &OPoint<T, D>) -> Self {
        dy * p.coords.transpose()
    }
    fn mul_b(dy: &OVector<T, D>, m: &Self, _p: &OPoint<T, D>) -> OVector<T, D> {
        m.tr_mul(dy)
    }
}

/// `y = s * v` or `y = v * s` of a number and a value, adjoint of the value: `dy · s`. (Not
/// through [`Product`]: nalgebra's products by a number name the float types, and these rules
/// serve a number type parameter too.)
pub fn scale<A: Value>(dy: &A, s: &A::Scalar) -> A::Adjoint {
    dy.scaled(*s)
}

/// `y = s * v` or `y = v * s`, adjoint of the number `s`: `dy · v`.
pub fn scale_number<A: Value, V: Value<Scalar = A::Scalar>>(dy: &A, v: &V) -> A::Scalar {
    inner(dy, v)
}

impl<T, R, C> Quotient for OMatrix<T, R, C>
where
    T: RealField + Copy,
    R: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, C>,
{
    type Divisor = T;
    fn div_a(dy: &Self, _v: &Self, s: &T) -> Self {
        dy / *s
    }
    fn div_b(dy: &Self, s: &T, y: &Self) -> T {
        -inner(dy, y) / *s
    }
}

/// `y = v / s` of a value by a number.
pub trait Quotient: Sized {
    type Divisor;
    fn div_a(dy: &Self, v: &Self, s: &Self::Divisor) -> Self;
    fn div_b(dy: &Self, s: &Self::Divisor, y: &Self) -> Self::Divisor;
}

/// `y = v / s`, adjoint of `v`.
pub fn div_a<V: Quotient>(dy: &V, v: &V, s: &V::Divisor) -> V {
    V::div_a(dy, v, s)
}
/// `y = v / s`, adjoint of `s`: `-(dy · y) / s`.
pub fn div_b<V: Quotient>(dy: &V, s: &V::Divisor, y: &V) -> V::Divisor {
    V::div_b(dy, s, y)
}

// -- constructors ----------------------------------------------------------------------------

/// `Vector3::new(x, y, z)`, `Matrix3::new(m11, m12, ..)`: the adjoint of argument `k`.
macro_rules! constructor_rules {
    ($($name:ident $k:literal),*) => {$(
        #[doc = concat!("`V::new(..)`, adjoint of argument ", stringify!($k), " (row by row).")]
        pub fn $name<V: Value>(dy: &V) -> V::Scalar {
            dy.entry_row_major($k)
        }
    )*};
}

/// `V::from([e0, e1, ..])` of a vector or point type, as the generated code writes it: a
/// constructor of `N` entries (their rules are `new_k`'s).
macro_rules! from_entries {
    ($($name:ident $n:literal [$($e:ident)*]),*) => {$(
        #[doc = concat!("`V::from([..])` of ", stringify!($n), " entries.")]
        #[allow(clippy::too_many_arguments)]
        pub fn $name<V: From<[T; $n]>, T>($($e: T),*) -> V {
            V::from([$($e),*])
        }
    )*};
}

from_entries!(
    from_1 1 [e0], from_2 2 [e0 e1], from_3 3 [e0 e1 e2], from_4 4 [e0 e1 e2 e3],
    from_5 5 [e0 e1 e2 e3 e4], from_6 6 [e0 e1 e2 e3 e4 e5]
);

constructor_rules!(
    new_0 0, new_1 1, new_2 2, new_3 3, new_4 4, new_5 5, new_6 6, new_7 7, new_8 8, new_9 9,
    new_10 10, new_11 11, new_12 12, new_13 13, new_14 14, new_15 15
);

// -- methods ---------------------------------------------------------------------------------

/// `y = a.dot(&b)`, adjoint of `a`.
pub fn dot_a<V: Value>(dy: &V::Scalar, b: &V) -> V::Adjoint {
    b.scaled(*dy)
}
/// `y = a.dot(&b)`, adjoint of `b`.
pub fn dot_b<V: Value>(dy: &V::Scalar, a: &V) -> V::Adjoint {
    a.scaled(*dy)
}
/// `y = x.sum()`.
pub fn sum_x<V: Value>(dy: &V::Scalar, x: &V) -> V::Adjoint {
    x.filled(*dy)
}
/// `y = x.norm()` (`magnitude`): `dy · x / y`; at `x = 0`, where the norm has a kink, the
/// minimum-norm subgradient, zero.
pub fn norm_x<V: Value>(dy: &V::Scalar, x: &V, y: &V::Scalar) -> V::Adjoint {
    if *y == V::Scalar::zero() {
        x.zeros_like()
    } else {
        x.scaled(*dy / *y)
    }
}
/// `y = x.norm_squared()` (`magnitude_squared`): `2 dy · x`.
pub fn norm_squared_x<V: Value>(dy: &V::Scalar, x: &V) -> V::Adjoint {
    x.scaled(*dy + *dy)
}
/// `y = x.normalize()`: `(dy - y (y · dy)) / ‖x‖`, zero at `x = 0`.
pub fn normalize_x<T, R, C>(
    dy: &OMatrix<T, R, C>,
    x: &OMatrix<T, R, C>,
    y: &OMatrix<T, R, C>,
) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    R: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, C>,
{
    let norm = x.norm();
    if norm == T::zero() {
        return x.zeros_like();
    }
    (dy - y * inner(y, dy)) / norm
}
/// `y = a.cross(&b)`, adjoint of `a`: `b × dy`.
pub fn cross_a<T: RealField + Copy>(dy: &Vector3<T>, b: &Vector3<T>) -> Vector3<T> {
    b.cross(dy)
}
/// `y = a.cross(&b)`, adjoint of `b`: `dy × a`.
pub fn cross_b<T: RealField + Copy>(dy: &Vector3<T>, a: &Vector3<T>) -> Vector3<T> {
    dy.cross(a)
}
/// `y = x.transpose()`.
pub fn transpose_x<T, R, C>(dy: &OMatrix<T, C, R>) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    R: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, C> + Allocator<C, R>,
{
    dy.transpose()
}
/// `y = a.component_mul(&b)`, adjoint of `a`.
pub fn component_mul_a<T, R, C>(dy: &OMatrix<T, R, C>, b: &OMatrix<T, R, C>) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    R: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, C>,
{
    dy.component_mul(b)
}
/// `y = a.component_mul(&b)`, adjoint of `b`.
pub fn component_mul_b<T, R, C>(dy: &OMatrix<T, R, C>, a: &OMatrix<T, R, C>) -> OMatrix<T, R, C>
where
    T: RealField + Copy,
    R: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, C>,
{
    dy.component_mul(a)
}
/// `y = x.determinant()`: `dy` times the cofactor matrix (`det(x) x⁻ᵀ` where `x` is
/// invertible, and still defined where it is not).
pub fn determinant_x<T, D>(dy: &T, x: &OMatrix<T, D, D>) -> OMatrix<T, D, D>
where
    T: RealField + Copy,
    D: Dim,
    DefaultAllocator: Allocator<D, D>,
{
    let n = x.nrows();
    let dense = DMatrix::from_column_slice(n, n, x.as_slice());
    let mut cofactors = x.zeros_like();
    for i in 0..n {
        for j in 0..n {
            let minor = if n == 1 {
                T::one()
            } else {
                dense.clone().remove_row(i).remove_column(j).determinant()
            };
            let sign = if (i + j) % 2 == 0 {
                T::one()
            } else {
                -T::one()
            };
            cofactors[(i, j)] = sign * minor * *dy;
        }
    }
    cofactors
}

/// `p.coords` of a point, as the generated code reads it.
pub fn coords<T: RealField + Copy, D: DimName>(p: &OPoint<T, D>) -> OVector<T, D>
where
    DefaultAllocator: Allocator<D>,
{
    p.coords.clone()
}
/// `y = p.coords`: the point's adjoint is the vector's.
pub fn coords_x<V: Clone>(dy: &V) -> V {
    dy.clone()
}
/// `Point::from(v)` of a vector, as the generated code writes it.
pub fn point<T: RealField + Copy, D: DimName>(v: &OVector<T, D>) -> OPoint<T, D>
where
    DefaultAllocator: Allocator<D>,
{
    OPoint::from(v.clone())
}
/// `y = Point::from(v)`: the point's adjoint (a vector) is the vector's.
pub fn point_x<V: Clone>(dy: &V) -> V {
    dy.clone()
}

/// `y = x.map(f)` of a closure of one number: `dy ∘ f'(x)`, each `f'(x_i)` from `f` at the
/// dual number `x_i + ε` (the generated code passes the user's closure, which the call
/// types over dual numbers).
pub fn map_x<T, R, C, F>(dy: &OMatrix<T, R, C>, x: &OMatrix<T, R, C>, f: &F) -> OMatrix<T, R, C>
where
    T: RealField + Copy + num_traits::Float,
    R: Dim,
    C: Dim,
    DefaultAllocator: Allocator<R, C>,
    F: Fn(crate::Dual<T>) -> crate::Dual<T>,
{
    x.zip_map(dy, |xi, di| di * f(crate::Dual::new(xi, T::one())).eps)
}

/// `m.try_inverse().unwrap()`, as the generated code computes it.
pub fn inverse<T, D>(m: &OMatrix<T, D, D>) -> OMatrix<T, D, D>
where
    T: RealField + Copy,
    D: Dim,
    DefaultAllocator: Allocator<D, D>,
{
    m.clone()
        .try_inverse()
        .expect("`try_inverse` of a singular matrix, unwrapped")
}
/// `y = m⁻¹`: `-yᵀ dy yᵀ`.
pub fn inverse_x<T, D>(dy: &OMatrix<T, D, D>, y: &OMatrix<T, D, D>) -> OMatrix<T, D, D>
where
    T: RealField + Copy,
    D: Dim,
    DefaultAllocator: Allocator<D, D>,
{
    -(y.transpose() * dy * y.transpose())
}

// -- quaternions -----------------------------------------------------------------------------
//
// A quaternion's adjoint is a `Quaternion` over its four coordinates (`i, j, k, w`), also for
// a unit quaternion: its rules differentiate the formulas on those coordinates, exact on the
// unit sphere, where a unit quaternion built from an angle stays.

impl<T: RealField + Copy> Value for Quaternion<T> {
    type Scalar = T;
    type Adjoint = Self;
    fn zeros_like(&self) -> Self {
        Quaternion::from(self.coords.zeros_like())
    }
    fn scaled(&self, s: T) -> Self {
        Quaternion::from(self.coords * s)
    }
    fn filled(&self, s: T) -> Self {
        Quaternion::from(self.coords.map(|_| s))
    }
    fn entries(&self) -> &[T] {
        self.coords.as_slice()
    }
    fn entry_row_major(&self, k: usize) -> T {
        // `Quaternion::new(w, i, j, k)`; the coordinates are stored `i, j, k, w`.
        self.coords[(k + 3) % 4]
    }
    fn from_adjoint(adjoint: Self) -> Self {
        adjoint
    }
    fn to_adjoint(self) -> Self {
        self
    }
}

/// A unit quaternion parameter's gradient entry holds the gradient with respect to its four
/// coordinates (read it with `.quaternion()`); it is not a rotation.
impl<T: RealField + Copy> Value for UnitQuaternion<T> {
    type Scalar = T;
    type Adjoint = Quaternion<T>;
    fn zeros_like(&self) -> Quaternion<T> {
        self.quaternion().zeros_like()
    }
    fn scaled(&self, s: T) -> Quaternion<T> {
        self.quaternion().scaled(s)
    }
    fn filled(&self, s: T) -> Quaternion<T> {
        self.quaternion().filled(s)
    }
    fn entries(&self) -> &[T] {
        self.as_ref().coords.as_slice()
    }
    fn entry_row_major(&self, k: usize) -> T {
        self.quaternion().entry_row_major(k)
    }
    fn from_adjoint(adjoint: Quaternion<T>) -> Self {
        UnitQuaternion::new_unchecked(adjoint)
    }
    fn to_adjoint(self) -> Quaternion<T> {
        self.into_inner()
    }
}

impl<T: RealField + Copy> Adjoint for UnitQuaternion<T> {
    type Cotangent = Quaternion<T>;
}

impl<T: RealField + Copy> Adjoint for Quaternion<T> {
    type Cotangent = Quaternion<T>;
}

/// `y = q * v`, the rotation of a vector: `y = v + 2w (u × v) + 2 u × (u × v)` with
/// `q = (u, w)`. The adjoint of `v` is `q⁻¹ dy`; of `q`, `u`'s part
/// `2w (v × dy) + 2 (u × v) × dy + 2 v × (dy × u)` and `w`'s `2 dy · (u × v)`.
impl<T: RealField + Copy> Product<Vector3<T>> for UnitQuaternion<T> {
    type Output = Vector3<T>;
    fn mul_a(dy: &Vector3<T>, q: &Self, v: &Vector3<T>) -> Quaternion<T> {
        let (u, w) = (q.imag(), q.w);
        let two = T::one() + T::one();
        let uv = u.cross(v);
        let du = (v.cross(dy) * w + uv.cross(dy) + v.cross(&dy.cross(&u))) * two;
        Quaternion::from_parts(dy.dot(&uv) * two, du)
    }
    fn mul_b(dy: &Vector3<T>, q: &Self, _v: &Vector3<T>) -> Vector3<T> {
        q.inverse_transform_vector(dy)
    }
}

/// `y = a * b`, the composition of rotations (the Hamilton product): `dy b̄` and `ā dy`.
impl<T: RealField + Copy> Product<UnitQuaternion<T>> for UnitQuaternion<T> {
    type Output = Quaternion<T>;
    fn mul_a(dy: &Quaternion<T>, _a: &Self, b: &Self) -> Quaternion<T> {
        dy * b.quaternion().conjugate()
    }
    fn mul_b(dy: &Quaternion<T>, a: &Self, _b: &Self) -> Quaternion<T> {
        a.quaternion().conjugate() * dy
    }
}

/// `q = UnitQuaternion::from_axis_angle(&axis, angle)`, adjoint of the angle:
/// `q = (sin(angle/2) axis, cos(angle/2))`.
pub fn from_axis_angle_angle<T: RealField + Copy>(
    dq: &Quaternion<T>,
    axis: &Unit<Vector3<T>>,
    angle: &T,
) -> T {
    let half = *angle / (T::one() + T::one());
    let (s, c) = (half.sin(), half.cos());
    let along = dq.imag().dot(axis);
    (along * c - dq.w * s) / (T::one() + T::one())
}
