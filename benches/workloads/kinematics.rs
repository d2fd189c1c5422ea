//! Workload 8: rigid-body kinematics with nalgebra (`--features nalgebra`). Calibrating a
//! three-joint arm: the joint-angle offsets, the three link vectors and the tool offset are
//! fitted to measured tool positions over many poses. Each pose builds three rotation
//! matrices from angles (`Matrix3::new` of sines and cosines), chains them, and turns the tool
//! offset by the arm's mounting rotation (a constant `UnitQuaternion`).
//!
//! `arm_error` is written as a robotics programmer writes it; `arm_error_hand_grad` is its
//! adjoint written by hand with the same nalgebra operations.

use differentiate::differentiate;
use nalgebra::{Matrix3, UnitQuaternion, Vector3};

/// The arm's unknowns: what the gradient is taken with respect to.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmParams {
    pub offsets: Vector3<f64>,
    pub link1: Vector3<f64>,
    pub link2: Vector3<f64>,
    pub link3: Vector3<f64>,
    pub tool: Vector3<f64>,
}

/// A rotation by `a` about z, and about y.
fn about_z(c: f64, s: f64) -> Matrix3<f64> {
    Matrix3::new(c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0)
}
fn about_y(c: f64, s: f64) -> Matrix3<f64> {
    Matrix3::new(c, 0.0, s, 0.0, 1.0, 0.0, -s, 0.0, c)
}

/// Half the summed squared distance between the modelled and the measured tool positions;
/// `angles` and `targets` hold three numbers per pose.
#[allow(clippy::too_many_arguments)]
#[differentiate(wrt(offsets, link1, link2, link3, tool))]
pub fn arm_error(
    offsets: &Vector3<f64>,
    link1: &Vector3<f64>,
    link2: &Vector3<f64>,
    link3: &Vector3<f64>,
    tool: &Vector3<f64>,
    mount: &UnitQuaternion<f64>,
    angles: &[f64],
    targets: &[f64],
) -> f64 {
    let mut total = 0.0;
    for p in 0..angles.len() / 3 {
        let a = angles[3 * p] + offsets.x;
        let b = angles[3 * p + 1] + offsets.y;
        let c = angles[3 * p + 2] + offsets.z;
        let r1 = Matrix3::new(a.cos(), -a.sin(), 0.0, a.sin(), a.cos(), 0.0, 0.0, 0.0, 1.0);
        let r2 = Matrix3::new(b.cos(), 0.0, b.sin(), 0.0, 1.0, 0.0, -b.sin(), 0.0, b.cos());
        let r3 = Matrix3::new(c.cos(), 0.0, c.sin(), 0.0, 1.0, 0.0, -c.sin(), 0.0, c.cos());
        let r12 = r1 * r2;
        let r123 = r12 * r3;
        let tip = r1 * link1 + r12 * link2 + r123 * (link3 + mount * tool);
        let target = Vector3::new(targets[3 * p], targets[3 * p + 1], targets[3 * p + 2]);
        let error = tip - target;
        total += error.norm_squared();
    }
    0.5 * total
}

/// [`arm_error`] and its gradient, by hand: the forward pass per pose, then its adjoint.
pub fn arm_error_hand_grad(
    params: &ArmParams,
    mount: &UnitQuaternion<f64>,
    angles: &[f64],
    targets: &[f64],
) -> (f64, ArmParams) {
    let zero = Vector3::zeros();
    let mut g = ArmParams {
        offsets: zero,
        link1: zero,
        link2: zero,
        link3: zero,
        tool: zero,
    };
    let mounted = mount * params.tool;
    let end = params.link3 + mounted;
    let mut total = 0.0;
    let mut d_end = zero;
    for p in 0..angles.len() / 3 {
        let a = angles[3 * p] + params.offsets.x;
        let b = angles[3 * p + 1] + params.offsets.y;
        let c = angles[3 * p + 2] + params.offsets.z;
        let (ca, sa, cb, sb, cc, sc) = (a.cos(), a.sin(), b.cos(), b.sin(), c.cos(), c.sin());
        let (r1, r2, r3) = (about_z(ca, sa), about_y(cb, sb), about_y(cc, sc));
        let r12 = r1 * r2;
        let r123 = r12 * r3;
        let target = Vector3::new(targets[3 * p], targets[3 * p + 1], targets[3 * p + 2]);
        let error = r1 * params.link1 + r12 * params.link2 + r123 * end - target;
        total += error.norm_squared();
        // tip = r1 l1 + r12 l2 + r123 e: each rotation's adjoint is error ⊗ (what it turns).
        g.link1 += r1.tr_mul(&error);
        g.link2 += r12.tr_mul(&error);
        d_end += r123.tr_mul(&error);
        let d_r123 = error * end.transpose();
        let d_r12 = error * params.link2.transpose() + d_r123 * r3.transpose();
        let d_r3 = r12.tr_mul(&d_r123);
        let d_r1 = error * params.link1.transpose() + d_r12 * r2.transpose();
        let d_r2 = r1.tr_mul(&d_r12);
        // d/dθ of a rotation about z: (−s, −c; c, −s) in the xy block; about y likewise.
        let d_a = d_r1[(0, 0)] * -sa + d_r1[(0, 1)] * -ca + d_r1[(1, 0)] * ca + d_r1[(1, 1)] * -sa;
        let d_b = d_r2[(0, 0)] * -sb + d_r2[(0, 2)] * cb + d_r2[(2, 0)] * -cb + d_r2[(2, 2)] * -sb;
        let d_c = d_r3[(0, 0)] * -sc + d_r3[(0, 2)] * cc + d_r3[(2, 0)] * -cc + d_r3[(2, 2)] * -sc;
        g.offsets += Vector3::new(d_a, d_b, d_c);
    }
    g.link3 = d_end;
    g.tool = mount.inverse_transform_vector(&d_end);
    (0.5 * total, g)
}

/// The arm's true parameters, the poses and the positions measured there (the true model
/// plus a deterministic perturbation of about a millimetre), and a starting guess away from
/// the truth.
pub struct ArmInput {
    pub guess: ArmParams,
    pub mount: UnitQuaternion<f64>,
    pub angles: Vec<f64>,
    pub targets: Vec<f64>,
}

impl ArmInput {
    pub fn new(poses: usize) -> ArmInput {
        let truth = ArmParams {
            offsets: Vector3::new(0.02, -0.01, 0.03),
            link1: Vector3::new(0.0, 0.0, 0.4),
            link2: Vector3::new(0.5, 0.0, 0.0),
            link3: Vector3::new(0.4, 0.0, 0.05),
            tool: Vector3::new(0.1, 0.02, 0.0),
        };
        let mount = UnitQuaternion::from_euler_angles(0.1, -0.2, 0.3);
        let wave = |k: usize, salt: f64| ((k as f64) * 0.618_033_988_75 + salt).fract();
        let angles: Vec<f64> = (0..3 * poses)
            .map(|k| std::f64::consts::PI * (2.0 * wave(k, 0.1) - 1.0))
            .collect();
        let mut targets = Vec::with_capacity(3 * poses);
        for p in 0..poses {
            let tip = tip(&truth, &mount, &angles[3 * p..3 * p + 3]);
            for (i, t) in tip.iter().enumerate() {
                targets.push(t + 1e-3 * (wave(3 * p + i, 0.7) - 0.5));
            }
        }
        let guess = ArmParams {
            offsets: Vector3::zeros(),
            link1: Vector3::new(0.0, 0.0, 0.38),
            link2: Vector3::new(0.52, 0.01, 0.0),
            link3: Vector3::new(0.39, 0.0, 0.0),
            tool: Vector3::new(0.1, 0.0, 0.0),
        };
        ArmInput {
            guess,
            mount,
            angles,
            targets,
        }
    }

    pub fn generated_grad(&self, p: &ArmParams) -> (f64, ArmParams) {
        let (value, (offsets, link1, link2, link3, tool)) = arm_error_grad(
            &p.offsets,
            &p.link1,
            &p.link2,
            &p.link3,
            &p.tool,
            &self.mount,
            &self.angles,
            &self.targets,
        );
        let g = ArmParams {
            offsets,
            link1,
            link2,
            link3,
            tool,
        };
        (value, g)
    }

    pub fn value(&self, p: &ArmParams) -> f64 {
        arm_error(
            &p.offsets,
            &p.link1,
            &p.link2,
            &p.link3,
            &p.tool,
            &self.mount,
            &self.angles,
            &self.targets,
        )
    }
}

/// The true arm's tool position at one pose's joint angles.
fn tip(truth: &ArmParams, mount: &UnitQuaternion<f64>, angle: &[f64]) -> Vector3<f64> {
    let a = angle[0] + truth.offsets.x;
    let b = angle[1] + truth.offsets.y;
    let c = angle[2] + truth.offsets.z;
    let r1 = about_z(a.cos(), a.sin());
    let r12 = r1 * about_y(b.cos(), b.sin());
    let r123 = r12 * about_y(c.cos(), c.sin());
    r1 * truth.link1 + r12 * truth.link2 + r123 * (truth.link3 + mount * truth.tool)
}

/// The 15 parameters in one list: offsets, link1, link2, link3, tool.
pub fn flatten(p: &ArmParams) -> Vec<f64> {
    [p.offsets, p.link1, p.link2, p.link3, p.tool]
        .iter()
        .flat_map(|v| v.iter().copied())
        .collect()
}

/// The parameters from such a list.
pub fn unflatten(x: &[f64]) -> ArmParams {
    let v = |k: usize| Vector3::new(x[3 * k], x[3 * k + 1], x[3 * k + 2]);
    ArmParams {
        offsets: v(0),
        link1: v(1),
        link2: v(2),
        link3: v(3),
        tool: v(4),
    }
}

/// Central differences of the objective over the 15 parameters.
pub fn arm_error_fd(input: &ArmInput, p: &ArmParams) -> Vec<f64> {
    let x = flatten(p);
    let h = 1e-6;
    (0..x.len())
        .map(|i| {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            (input.value(&unflatten(&up)) - input.value(&unflatten(&down))) / (2.0 * h)
        })
        .collect()
}
