//! Helpers shared by the integration tests (`mod common;` in each).

/// Every entry of `got` within `tol` of `expected`, relative to `1 + |expected|`.
#[allow(dead_code)]
pub fn assert_close(name: &str, got: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(got.len(), expected.len(), "{name}: lengths");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= tol * (1.0 + e.abs()),
            "{name}[{i}]: got {g}, expected {e}"
        );
    }
}

/// Central differences of `f` at `x` along each coordinate, step `h`: its gradient.
#[allow(dead_code)]
pub fn central_differences(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let (mut up, mut down) = (x.to_vec(), x.to_vec());
            up[i] += h;
            down[i] -= h;
            (f(&up) - f(&down)) / (2.0 * h)
        })
        .collect()
}

/// Central differences of a gradient `g` at `x`: column `j` of the Hessian.
#[allow(dead_code)]
pub fn hessian_by_differences(g: impl Fn(&[f64]) -> Vec<f64>, x: &[f64], h: f64) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut columns = vec![vec![0.0; n]; n];
    for j in 0..n {
        let (mut up, mut down) = (x.to_vec(), x.to_vec());
        up[j] += h;
        down[j] -= h;
        let (gu, gd) = (g(&up), g(&down));
        for i in 0..n {
            columns[j][i] = (gu[i] - gd[i]) / (2.0 * h);
        }
    }
    columns
}

/// The gradient of the teaching material's `fonction_complexe`
/// `xy·atan(x/y)·cos(z² − x)/z + atan(x/y) − cos(z² − x)`, worked by hand.
#[allow(dead_code)]
pub fn fonction_complexe_gradient(p: &[f64]) -> Vec<f64> {
    let (x, y, z) = (p[0], p[1], p[2]);
    let a = (x / y).atan();
    let u = z * z - x;
    let (s, c) = u.sin_cos();
    let r2 = x * x + y * y;
    let (da_dx, da_dy) = (y / r2, -x / r2);
    let xy = x * y;
    let t = xy * a * c / z;
    vec![
        (y * a * c + xy * da_dx * c + xy * a * s) / z + da_dx - s,
        (x * a * c + xy * da_dy * c) / z + da_dy,
        -2.0 * xy * a * s - t / z + 2.0 * z * s,
    ]
}

/// `a + t·d`, elementwise: a tensor moved along a direction.
#[cfg(feature = "tensor")]
#[allow(dead_code)]
pub fn moved(
    a: &differentiate::Tensor,
    d: &differentiate::Tensor,
    t: f64,
) -> differentiate::Tensor {
    let data = a
        .to_vec()
        .iter()
        .zip(d.to_vec())
        .map(|(a, d)| a + t * d)
        .collect();
    differentiate::Tensor::from_vec(a.shape(), data)
}
