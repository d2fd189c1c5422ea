//! nalgebra arithmetic and methods (`--features nalgebra`): vectors, matrices and points
//! computed with whole (`a - b`, `m * v`, `v.norm()`, `a.cross(&b)`, `Matrix3::new(..)`),
//! with gradients of the same types. Each gradient is checked against one worked by hand or
//! against central differences of the function itself, never against another generated item.

use differentiate::differentiate;
use nalgebra::{DMatrix, DVector, Matrix2, Matrix3, Point3, UnitQuaternion, Vector3};

mod common;
use common::{assert_close, central_differences as differences, hessian_by_differences};

fn v3(x: &[f64]) -> Vector3<f64> {
    Vector3::from_column_slice(x)
}

/// A spring between two points held as vectors, rest length 1.
#[differentiate]
fn spring(a: &Vector3<f64>, b: &Vector3<f64>, k: f64) -> f64 {
    let d = a - b;
    let stretch = d.norm() - 1.0;
    0.5 * k * stretch * stretch
}

#[test]
fn spring_gradient_is_worked_by_hand() {
    let a = Vector3::new(1.0, 2.0, 2.0);
    let b = Vector3::zeros();
    let (value, (g_a, g_b, g_k)) = spring_grad(&a, &b, 10.0);
    // |a − b| = 3, stretch 2: ∂/∂a = k · stretch · (a − b)/3, ∂/∂b its negative.
    assert!((value - 20.0).abs() < 1e-12);
    let expected = [20.0 / 3.0, 40.0 / 3.0, 40.0 / 3.0];
    assert_close("∂a", g_a.as_slice(), &expected, 1e-14);
    assert_close("∂b", (-g_b).as_slice(), &expected, 1e-14);
    assert_eq!(g_k, 2.0);
}

/// A planar rotation about z by `theta`, applied to `v`, read by component.
#[differentiate]
fn rotated_reach(theta: f64, v: &Vector3<f64>) -> f64 {
    let (s, c) = (theta.sin(), theta.cos());
    let r = Matrix3::new(c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0);
    let w = r * v;
    w.x + 2.0 * w.y + w.z * w.z
}

#[test]
fn rotation_built_from_an_angle() {
    let v = Vector3::new(1.0, 0.5, -2.0);
    let theta = 0.3;
    let (value, (g_theta, g_v)) = rotated_reach_grad(theta, &v);
    let (s, c) = (theta.sin(), theta.cos());
    // w = (c·vx − s·vy, s·vx + c·vy, vz): ∂/∂θ of wx + 2wy = −wy + 2wx.
    let (wx, wy) = (c * v.x - s * v.y, s * v.x + c * v.y);
    assert!((value - (wx + 2.0 * wy + 4.0)).abs() < 1e-14);
    assert!((g_theta - (-wy + 2.0 * wx)).abs() < 1e-14);
    // ∂/∂v = Rᵀ (1, 2, 2 vz).
    assert_close(
        "∂v",
        g_v.as_slice(),
        &[c + 2.0 * s, -s + 2.0 * c, -4.0],
        1e-14,
    );
}

/// Every method with a rule, on one function: dot, cross, normalize, transpose,
/// component_mul, norm_squared, sum, determinant, scalar products and a quotient.
#[differentiate]
fn methods(a: &Vector3<f64>, b: &Vector3<f64>, m: &Matrix3<f64>, s: f64) -> f64 {
    let n = a.cross(b);
    let u = n.normalize();
    let t = m.transpose() * u;
    let c = t.component_mul(b);
    let q = (s * c - a / s) * 0.5;
    q.dot(a) + q.norm_squared() + c.sum() + m.determinant() * s + u.magnitude()
}

fn methods_flat(x: &[f64]) -> f64 {
    let m = Matrix3::from_column_slice(&x[6..15]);
    methods(&v3(&x[0..3]), &v3(&x[3..6]), &m, x[15])
}

#[test]
fn methods_against_central_differences() {
    let x: Vec<f64> = (0..16)
        .map(|i| ((i as f64) * 0.7 + 0.3).sin() + if i == 15 { 1.5 } else { 0.0 })
        .collect();
    let m = Matrix3::from_column_slice(&x[6..15]);
    let (value, (g_a, g_b, g_m, g_s)) = methods_grad(&v3(&x[0..3]), &v3(&x[3..6]), &m, x[15]);
    assert_eq!(value, methods_flat(&x));
    let mut got: Vec<f64> = g_a
        .iter()
        .chain(g_b.iter())
        .chain(g_m.iter())
        .copied()
        .collect();
    got.push(g_s);
    let expected = differences(methods_flat, &x, 1e-6);
    assert_close("∇methods", &got, &expected, 1e-7);
}

/// Points: their difference is a vector, a point plus a vector a point.
#[differentiate]
fn point_geometry(p: &Point3<f64>, q: &Point3<f64>, step: &Vector3<f64>) -> f64 {
    let moved = p + step;
    let d = moved - q;
    d.norm_squared() + 3.0 * moved.z
}

#[test]
fn points_and_vectors() {
    let p = Point3::new(1.0, -1.0, 0.5);
    let q = Point3::new(0.0, 2.0, 1.0);
    let step = Vector3::new(0.25, 0.5, -1.0);
    let (_, (g_p, g_q, g_step)) = point_geometry_grad(&p, &q, &step);
    // d = p + step − q = (1.25, −2.5, −1.5): ∂/∂p = 2d + (0, 0, 3) = ∂/∂step, ∂/∂q = −2d.
    let d = [1.25, -2.5, -1.5];
    let along = [2.0 * d[0], 2.0 * d[1], 2.0 * d[2] + 3.0];
    assert_close("∂p", g_p.coords.as_slice(), &along, 1e-14);
    assert_close("∂step", g_step.as_slice(), &along, 1e-14);
    assert_close("∂q", g_q.coords.as_slice(), &d.map(|x| -2.0 * x), 1e-14);
}

/// A value carried through a loop: the centroid of `n` scaled copies of `v`.
#[differentiate]
fn swept(v: &Vector3<f64>, n: usize) -> f64 {
    let mut total = Vector3::zeros();
    for i in 0..n {
        let t = i as f64 + 1.0;
        total += v * t;
    }
    let centroid = total / (n as f64);
    centroid.norm_squared()
}

#[test]
fn values_carried_by_loops() {
    let v = Vector3::new(1.0, 2.0, -0.5);
    let (value, g) = swept_grad(&v, 4);
    // centroid = v · (1 + 2 + 3 + 4)/4 = 2.5 v; value 6.25 |v|², gradient 12.5 v.
    assert!((value - 6.25 * v.norm_squared()).abs() < 1e-12);
    assert_close("∂v", g.as_slice(), (v * 12.5).as_slice(), 1e-13);
}

/// Dynamic sizes: the quadratic form xᵀ M x, and a residual norm.
#[differentiate]
fn quadratic(m: &DMatrix<f64>, x: &DVector<f64>, y: &DVector<f64>) -> f64 {
    let mx = m * x;
    let r = &mx - y;
    x.dot(&mx) + 0.5 * r.norm_squared()
}

#[test]
fn dynamic_matrices_and_vectors() {
    let m = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 0.0, 3.0]);
    let x = DVector::from_vec(vec![1.0, -1.0]);
    let y = DVector::from_vec(vec![0.5, 0.5]);
    let (_, (g_m, g_x, g_y)) = quadratic_grad(&m, &x, &y);
    // ∂/∂x = (M + Mᵀ) x + Mᵀ r, ∂/∂M = x xᵀ + r xᵀ, ∂/∂y = −r, with r = M x − y.
    let r = &m * &x - &y;
    let gx = (&m + m.transpose()) * &x + m.transpose() * &r;
    let gm = &x * x.transpose() + &r * x.transpose();
    assert_close("∂x", g_x.as_slice(), gx.as_slice(), 1e-14);
    assert_close("∂M", g_m.as_slice(), gm.as_slice(), 1e-14);
    assert_close("∂y", g_y.as_slice(), (-r).as_slice(), 1e-14);
}

/// A parameter read both whole and by component: the two readings add up.
#[differentiate]
fn whole_and_component(v: &Vector3<f64>, m: &Matrix2<f64>) -> f64 {
    v.norm() + v.x * v.z + (m * m).determinant()
}

#[test]
fn whole_and_component_readings_add_up() {
    let v = Vector3::new(3.0, 0.0, 4.0);
    let m = Matrix2::new(1.0, 2.0, 0.5, -1.0);
    let (_, (g_v, g_m)) = whole_and_component_grad(&v, &m);
    // ∂|v|/∂v = v/5, ∂(vx vz)/∂v = (vz, 0, vx).
    assert_close("∂v", g_v.as_slice(), &[0.6 + 4.0, 0.0, 0.8 + 3.0], 1e-14);
    // det(M²) = det(M)², ∂/∂M = 2 det(M) · det(M) M⁻ᵀ.
    let det = m.determinant();
    let expected = m.try_inverse().expect("invertible").transpose() * (2.0 * det * det);
    assert_close("∂M", g_m.as_slice(), expected.as_slice(), 1e-13);
}

/// Unit quaternions: a rotation built from an angle, composed with a constant one, applied
/// to a vector.
#[differentiate(wrt(angle, v))]
fn quaternion_reach(angle: f64, v: &Vector3<f64>, mount: &UnitQuaternion<f64>) -> f64 {
    let q = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), angle);
    let w = (q * mount) * v;
    w.x + 2.0 * w.y + 3.0 * w.z
}

#[test]
fn quaternions_against_central_differences() {
    let mount = UnitQuaternion::from_euler_angles(0.3, -0.2, 0.7);
    let x = [0.4, 1.0, -0.5, 2.0];
    let flat = |x: &[f64]| quaternion_reach(x[0], &v3(&x[1..4]), &mount);
    let (value, (g_angle, g_v)) = quaternion_reach_grad(x[0], &v3(&x[1..4]), &mount);
    assert_eq!(value, flat(&x));
    let mut got = vec![g_angle];
    got.extend(g_v.iter());
    assert_close("∇", &got, &differences(flat, &x, 1e-6), 1e-8);
    // ∂/∂v = Rᵀ (1, 2, 3) exactly.
    let r =
        (UnitQuaternion::from_axis_angle(&Vector3::z_axis(), x[0]) * mount).to_rotation_matrix();
    let expected = r.transpose() * Vector3::new(1.0, 2.0, 3.0);
    assert_close("∂v", g_v.as_slice(), expected.as_slice(), 1e-14);
}

/// A sum over poses (a loop whose iterations the gradient runs as they come, adding to the
/// nalgebra parameters' adjoints): rotations built from angles, chained, applied to links.
#[differentiate(wrt(offset, link1, link2))]
fn two_link_error(offset: f64, link1: &Vector3<f64>, link2: &Vector3<f64>, angles: &[f64]) -> f64 {
    let mut total = 0.0;
    for p in 0..angles.len() / 2 {
        let (a, b) = (angles[2 * p] + offset, angles[2 * p + 1]);
        let r1 = Matrix3::new(a.cos(), -a.sin(), 0.0, a.sin(), a.cos(), 0.0, 0.0, 0.0, 1.0);
        let r2 = Matrix3::new(b.cos(), 0.0, b.sin(), 0.0, 1.0, 0.0, -b.sin(), 0.0, b.cos());
        let tip = r1 * link1 + r1 * r2 * link2;
        total += (tip - Vector3::new(1.0, 0.5, 0.25)).norm_squared();
    }
    total
}

#[test]
fn sums_over_poses_against_central_differences() {
    let angles: Vec<f64> = (0..40).map(|k| (k as f64 * 0.37).sin() * 3.0).collect();
    let x = [0.1, 0.0, 0.1, 0.4, 0.5, 0.0, 0.05];
    let flat = |x: &[f64]| two_link_error(x[0], &v3(&x[1..4]), &v3(&x[4..7]), &angles);
    let (value, (g_offset, g_link1, g_link2)) =
        two_link_error_grad(x[0], &v3(&x[1..4]), &v3(&x[4..7]), &angles);
    assert_eq!(value, flat(&x));
    let mut got = vec![g_offset];
    got.extend(g_link1.iter().chain(g_link2.iter()));
    assert_close("∇", &got, &differences(flat, &x, 1e-6), 1e-7);
}

/// A nalgebra result: `NAME_vjp` takes a seed of the result's type.
#[differentiate]
fn turned(v: &Vector3<f64>, angle: f64) -> Vector3<f64> {
    let (s, c) = (angle.sin(), angle.cos());
    let r = Matrix3::new(c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0);
    r * v + v.cross(&Vector3::new(0.0, 0.0, 1.0))
}

/// A point result.
#[differentiate]
fn moved(p: &Point3<f64>, step: &Vector3<f64>, k: f64) -> Point3<f64> {
    p + step * k
}

#[test]
fn nalgebra_results_take_seeds_of_their_type() {
    let v = Vector3::new(1.0, -2.0, 0.5);
    let seed = Vector3::new(0.3, 0.7, -1.1);
    let (value, (g_v, g_angle)) = turned_vjp(&v, 0.4, seed);
    assert_eq!(value, turned(&v, 0.4));
    // seed · turned(v, θ) by central differences, in v and θ.
    let x = [v.x, v.y, v.z, 0.4];
    let dotted = |x: &[f64]| seed.dot(&turned(&v3(&x[..3]), x[3]));
    let mut got: Vec<f64> = g_v.iter().copied().collect();
    got.push(g_angle);
    assert_close("seedᵀJ", &got, &differences(dotted, &x, 1e-6), 1e-8);

    let p = Point3::new(1.0, 2.0, 3.0);
    let step = Vector3::new(0.5, 0.0, -1.0);
    let (q, (g_p, g_step, g_k)) = moved_vjp(&p, &step, 2.0, Point3::new(1.0, 10.0, 100.0));
    assert_eq!(q, Point3::new(2.0, 2.0, 1.0));
    // ∂/∂p is the seed (as a point), ∂/∂step k·seed, ∂/∂k seed · step.
    assert_eq!(g_p, Point3::new(1.0, 10.0, 100.0));
    assert_eq!(g_step, Vector3::new(2.0, 20.0, 200.0));
    assert_eq!(g_k, 0.5 - 100.0);
}

/// `try_inverse().unwrap()`: solving with the inverse of a matrix built from the parameters.
#[differentiate]
fn solved(m: &Matrix3<f64>, b: &Vector3<f64>) -> f64 {
    let inverse = m.try_inverse().expect("invertible");
    let x = inverse * b;
    x.norm_squared() + inverse.sum()
}

#[test]
fn inverse_against_central_differences() {
    let x: Vec<f64> = (0..12)
        .map(|i| ((i as f64) * 1.3 + 0.2).cos() + if i % 4 == 0 { 3.0 } else { 0.0 })
        .collect();
    let flat = |x: &[f64]| solved(&Matrix3::from_column_slice(&x[..9]), &v3(&x[9..]));
    let (value, (g_m, g_b)) = solved_grad(&Matrix3::from_column_slice(&x[..9]), &v3(&x[9..]));
    assert_eq!(value, flat(&x));
    let got: Vec<f64> = g_m.iter().chain(g_b.iter()).copied().collect();
    assert_close("∇", &got, &differences(flat, &x, 1e-6), 1e-7);
}

/// `Vector3::from([..])` and `Point3::from([..])` of numbers with derivatives.
#[differentiate]
fn from_arrays(a: f64, b: f64) -> f64 {
    let v = Vector3::from([a, b * b, 1.0]);
    let p = Point3::from([b, a, a * b]);
    v.dot(&p.coords) + v.norm_squared()
}

#[test]
fn from_arrays_against_central_differences() {
    let x = [0.7, -1.3];
    let flat = |x: &[f64]| from_arrays(x[0], x[1]);
    let (value, (g_a, g_b)) = from_arrays_grad(x[0], x[1]);
    assert_eq!(value, flat(&x));
    assert_close("∇", &[g_a, g_b], &differences(flat, &x, 1e-6), 1e-8);
}

/// `p.coords` and `Point3::from(v)`.
#[differentiate]
fn through_coords(p: &Point3<f64>, v: &Vector3<f64>) -> f64 {
    let q = Point3::from(v * 2.0);
    let d = q.coords - p.coords;
    d.norm_squared() + p.coords.sum()
}

#[test]
fn coords_and_points_from_vectors() {
    let (p, v) = (Point3::new(1.0, 2.0, 3.0), Vector3::new(0.5, 0.0, -1.0));
    let (_, (g_p, g_v)) = through_coords_grad(&p, &v);
    // d = 2v − p = (0, −2, −5): ∂/∂p = −2d + 1, ∂/∂v = 4d.
    assert_eq!(g_p, Point3::new(1.0, 5.0, 11.0));
    assert_eq!(g_v, Vector3::new(0.0, -8.0, -20.0));
}

/// A branch choosing between nalgebra values, and a `while` loop carrying one.
#[differentiate]
fn branch_and_while(v: &Vector3<f64>, steps: usize) -> f64 {
    let w = if v.x > 0.0 { v * 2.0 } else { -v };
    let mut acc = w;
    let mut k = 0;
    while k < steps {
        acc = acc.cross(&Vector3::new(0.0, 0.0, 1.0)) + v;
        k += 1;
    }
    acc.norm_squared()
}

#[test]
fn branches_and_while_loops_carry_values() {
    for x in [[0.5, -1.0, 2.0], [-0.5, 1.5, 0.25]] {
        let flat = |x: &[f64]| branch_and_while(&v3(x), 3);
        let (value, g) = branch_and_while_grad(&v3(&x), 3);
        assert_eq!(value, flat(&x));
        assert_close("∇", g.as_slice(), &differences(flat, &x, 1e-6), 1e-7);
    }
}

/// A function generic over the float type, as geometry crates write them.
#[differentiate]
fn generic_distance<T: nalgebra::RealField + num_traits::Float + Copy>(
    a: &Vector3<T>,
    b: &Vector3<T>,
) -> T {
    let d = a - b;
    d.norm() + d.dot(&d) * T::from(0.5).unwrap()
}

#[test]
fn generic_functions_over_nalgebra_values() {
    let (a, b) = (Vector3::new(1.0, 2.0, 2.0), Vector3::zeros());
    let (value, (g_a, g_b)) = generic_distance_grad(&a, &b);
    assert_eq!(value, 3.0 + 4.5);
    // ∂/∂a = a/3 + a, ∂/∂b its negative.
    assert_close("∂a", g_a.as_slice(), (a / 3.0 + a).as_slice(), 1e-14);
    assert_close("∂b", (-g_b).as_slice(), (a / 3.0 + a).as_slice(), 1e-14);
    let (v32, _) = generic_distance_grad(&Vector3::new(1.0f32, 2.0, 2.0), &Vector3::zeros());
    assert_eq!(v32, 7.5f32);
}

/// `map` with a closure of one number, differentiated at dual numbers.
#[differentiate]
fn mapped(v: &Vector3<f64>, m: &Matrix2<f64>) -> f64 {
    let s = v.map(|x| x.sin() * 2.0 + x * x);
    let t = m.map(|x: f64| (0.5 * x).exp());
    s.sum() + t.determinant()
}

#[test]
fn map_with_a_closure_against_central_differences() {
    let x = [0.3, -1.2, 2.0, 0.5, 1.0, -0.25, 0.75];
    let flat = |x: &[f64]| mapped(&v3(x), &Matrix2::from_column_slice(&x[3..]));
    let (value, (g_v, g_m)) = mapped_grad(&v3(&x), &Matrix2::from_column_slice(&x[3..]));
    assert_eq!(value, flat(&x));
    let got: Vec<f64> = g_v.iter().chain(g_m.iter()).copied().collect();
    assert_close("∇", &got, &differences(flat, &x, 1e-6), 1e-8);
}

/// The README's example.
#[differentiate(wrt(angle, link))]
fn reach(
    angle: f64,
    link: &Vector3<f64>,
    mount: &UnitQuaternion<f64>,
    target: &Vector3<f64>,
) -> f64 {
    let (s, c) = (angle.sin(), angle.cos());
    let r = Matrix3::new(c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0);
    let tip = r * (mount * link);
    (tip - target).norm_squared()
}

#[test]
fn readme_example_against_central_differences() {
    let (mount, target) = (
        UnitQuaternion::from_euler_angles(0.2, 0.1, -0.3),
        Vector3::new(1.0, 0.5, 0.2),
    );
    let x = [0.3, 1.0, 0.0, 0.25];
    let flat = |x: &[f64]| reach(x[0], &v3(&x[1..]), &mount, &target);
    let (value, (d_angle, d_link)) = reach_grad(x[0], &v3(&x[1..]), &mount, &target);
    assert_eq!(value, flat(&x));
    let mut got = vec![d_angle];
    got.extend(d_link.iter());
    assert_close("∇", &got, &differences(flat, &x, 1e-6), 1e-8);
}

// ---- second derivatives: the functions above at dual numbers inside nalgebra values ----

/// Every row of `got` within `tol` of `expected`'s (a Hessian against one by differences,
/// which are symmetric: rows or columns alike).
fn assert_hessian(what: &str, got: &[Vec<f64>], expected: &[Vec<f64>], tol: f64) {
    assert_eq!(got.len(), expected.len(), "{what}: rows");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert_close(&format!("{what} row {i}"), g, e, tol);
    }
}

fn methods_gradient_flat(x: &[f64]) -> Vec<f64> {
    let m = Matrix3::from_column_slice(&x[6..15]);
    let (_, (g_a, g_b, g_m, g_s)) = methods_grad(&v3(&x[0..3]), &v3(&x[3..6]), &m, x[15]);
    let mut flat: Vec<f64> = g_a
        .iter()
        .chain(g_b.iter())
        .chain(g_m.iter())
        .copied()
        .collect();
    flat.push(g_s);
    flat
}

#[test]
fn hessian_through_nalgebra_methods_against_differences_of_the_gradient() {
    let x: Vec<f64> = (0..16)
        .map(|i| ((i as f64) * 0.7 + 0.3).sin() + if i == 15 { 1.5 } else { 0.0 })
        .collect();
    let (a, b, m, s) = (
        v3(&x[0..3]),
        v3(&x[3..6]),
        Matrix3::from_column_slice(&x[6..15]),
        x[15],
    );
    let (value, _, h) = methods_hessian(&a, &b, &m, s);
    assert_eq!(value, methods_flat(&x));
    // Over the parameters' numbers in order, a matrix's column by column.
    let expected = hessian_by_differences(methods_gradient_flat, &x, 1e-5);
    assert_hessian("H", &h, &expected, 1e-6);
    // One product along a direction of every parameter's type equals H·v.
    let v: Vec<f64> = (0..16).map(|i| 0.1 * i as f64 - 0.7).collect();
    let tangent = (
        v3(&v[0..3]),
        v3(&v[3..6]),
        Matrix3::from_column_slice(&v[6..15]),
        v[15],
    );
    let (_, g, hv) = methods_hvp(&a, &b, &m, s, tangent);
    let mut got: Vec<f64> =
        hv.0.iter()
            .chain(hv.1.iter())
            .chain(hv.2.iter())
            .copied()
            .collect();
    got.push(hv.3);
    let h_v: Vec<f64> = expected
        .iter()
        .map(|row| row.iter().zip(&v).map(|(a, b)| a * b).sum())
        .collect();
    assert_close("H·v", &got, &h_v, 1e-6);
    assert_close(
        "∇ of hvp",
        g.0.as_slice(),
        &methods_gradient_flat(&x)[0..3],
        1e-14,
    );
    // The Jacobian-vector product along the same direction: the derivative of the value.
    let (_, along) = methods_jvp(&a, &b, &m, s, tangent);
    let step = 1e-6;
    let at = |t: f64| methods_flat(&x.iter().zip(&v).map(|(x, v)| x + t * v).collect::<Vec<_>>());
    assert!((along - (at(step) - at(-step)) / (2.0 * step)).abs() < 1e-7);
}

#[test]
fn hessian_through_angles_rotations_and_points() {
    // Rotations built from an angle by `sin`/`cos` (numbers' methods inside nalgebra code).
    let x = [0.7, 1.0, 0.5, -2.0];
    let grad = |x: &[f64]| {
        let (_, (g_theta, g_v)) = rotated_reach_grad(x[0], &v3(&x[1..4]));
        let mut flat = vec![g_theta];
        flat.extend(g_v.iter());
        flat
    };
    let (_, _, h) = rotated_reach_hessian(x[0], &v3(&x[1..4]));
    assert_hessian(
        "H rotated",
        &h,
        &hessian_by_differences(grad, &x, 1e-5),
        1e-7,
    );

    // A unit quaternion built from an angle, composed with a constant mount.
    let mount = UnitQuaternion::from_euler_angles(0.3, -0.2, 0.7);
    let grad = |x: &[f64]| {
        let (_, (g_angle, g_v)) = quaternion_reach_grad(x[0], &v3(&x[1..4]), &mount);
        let mut flat = vec![g_angle];
        flat.extend(g_v.iter());
        flat
    };
    let (_, _, h) = quaternion_reach_hessian(x[0], &v3(&x[1..4]), &mount);
    assert_hessian(
        "H quaternion",
        &h,
        &hessian_by_differences(grad, &x, 1e-5),
        1e-7,
    );
    // Linear in v: that block is zero, exactly.
    assert!(h[1..].iter().all(|row| row[1..].iter().all(|e| *e == 0.0)));

    // Points: `d.norm_squared()` of `p + step − q` has the Hessian 2·[I, −I, I; −I, I, −I; I, −I, I].
    let (p, q, step) = (
        Point3::new(1.0, -1.0, 0.5),
        Point3::new(0.0, 2.0, 1.0),
        Vector3::new(0.25, 0.5, -1.0),
    );
    let (_, _, h) = point_geometry_hessian(&p, &q, &step);
    for (i, row) in h.iter().enumerate() {
        for (j, e) in row.iter().enumerate() {
            let sign = if (i / 3 == 1) == (j / 3 == 1) {
                2.0
            } else {
                -2.0
            };
            let expected = if i % 3 == j % 3 { sign } else { 0.0 };
            assert_eq!(*e, expected, "H points [{i}][{j}]");
        }
    }
}

#[test]
fn hessian_through_map_and_generic_functions() {
    // `map` with a closure of one number holding constants.
    let x = [0.3, -1.2, 2.0, 0.5, 1.0, -0.25, 0.75];
    let grad = |x: &[f64]| {
        let (_, (g_v, g_m)) = mapped_grad(&v3(x), &Matrix2::from_column_slice(&x[3..]));
        g_v.iter().chain(g_m.iter()).copied().collect::<Vec<f64>>()
    };
    let (_, _, h) = mapped_hessian(&v3(&x), &Matrix2::from_column_slice(&x[3..]));
    assert_hessian(
        "H mapped",
        &h,
        &hessian_by_differences(grad, &x, 1e-5),
        1e-6,
    );

    // A function generic over the float type: evaluated at dual numbers as it is.
    let x = [1.0, 2.0, 2.0, 0.5, -0.5, 1.0];
    let grad = |x: &[f64]| {
        let (_, (g_a, g_b)) = generic_distance_grad(&v3(x), &v3(&x[3..]));
        g_a.iter().chain(g_b.iter()).copied().collect::<Vec<f64>>()
    };
    let (_, _, h) = generic_distance_hessian(&v3(&x), &v3(&x[3..]));
    assert_hessian(
        "H generic",
        &h,
        &hessian_by_differences(grad, &x, 1e-5),
        1e-7,
    );
}

#[test]
fn jvp_of_nalgebra_results_against_central_differences() {
    let (v, angle) = (Vector3::new(1.0, -2.0, 0.5), 0.4);
    let (dv, da) = (Vector3::new(0.2, 0.1, -0.3), 0.7);
    let (value, along) = turned_jvp(&v, angle, (dv, da));
    assert_eq!(value, turned(&v, angle));
    let h = 1e-6;
    let expected =
        (turned(&(v + dv * h), angle + da * h) - turned(&(v - dv * h), angle - da * h)) / (2.0 * h);
    assert_close("J·t", along.as_slice(), expected.as_slice(), 1e-8);

    let (p, step) = (Point3::new(1.0, 2.0, 3.0), Vector3::new(0.5, 0.0, -1.0));
    let (_, along) = moved_jvp(
        &p,
        &step,
        2.0,
        (Point3::new(1.0, 0.0, 0.0), Vector3::zeros(), 1.0),
    );
    // p + k·step moves by e₁ + step along that direction.
    assert_eq!(along, Point3::new(1.5, 0.0, -1.0));
}

/// One parameter read only by component (a struct parameter, read as numbers), one computed
/// with whole (a nalgebra value).
#[differentiate]
fn component_and_whole(offsets: &Vector3<f64>, link: &Vector3<f64>) -> f64 {
    let a = offsets.x;
    let r = Matrix3::new(a.cos(), -a.sin(), 0.0, a.sin(), a.cos(), 0.0, 0.0, 0.0, 1.0);
    (r * link).norm_squared() * offsets.y + (r * link).x * offsets.z
}

#[test]
fn hessian_with_a_parameter_read_by_component() {
    let x = [0.4, 1.5, -0.5, 1.0, 2.0, -1.0];
    let grad = |x: &[f64]| {
        let (_, (g_o, g_l)) = component_and_whole_grad(&v3(x), &v3(&x[3..]));
        g_o.iter().chain(g_l.iter()).copied().collect::<Vec<f64>>()
    };
    let (_, _, h) = component_and_whole_hessian(&v3(&x), &v3(&x[3..]));
    assert_hessian("H", &h, &hessian_by_differences(grad, &x, 1e-5), 1e-7);
    // |R·link|² = |link|²: ∂²/∂link² = 2·offsets.y·I, exactly.
    assert_eq!([h[3][3], h[4][4], h[5][5], h[3][4]], [3.0, 3.0, 3.0, 0.0]);
}
