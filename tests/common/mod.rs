//! Helpers shared by the integration tests (`mod common;` in each).

/// Every entry of `got` within `tol` of `expected`, relative to `1 + |expected|`.
pub fn assert_close(name: &str, got: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(got.len(), expected.len(), "{name}: lengths");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= tol * (1.0 + e.abs()),
            "{name}[{i}]: got {g}, expected {e}"
        );
    }
}
