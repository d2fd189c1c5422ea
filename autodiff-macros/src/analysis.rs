//! The analysis stage: every fact the transform reads about the lowered function, computed
//! once per expansion, and the decisions made from them. The stages after it (the reverse and
//! forward sweeps, the generated items) read these and analyse nothing themselves.
//!
//! It runs in two steps around hoisting, the one rewrite that needs facts:
//!
//! 1. [`values`]: which values carry a derivative (`activity`, which also reports the
//!    constructs that need a derivative they do not have) and which are tensors (`kinds`).
//! 2. Hoisting rewrites the function and marks what it adds: a copy of a variable
//!    (`Var::copy_of`) has that variable's facts, a cache (`Array::holds`) is active as the
//!    value it holds, a counter it adds has none. [`Values::catch_up`] extends the facts over
//!    them, so they are not computed again.
//! 3. [`facts`]: the facts about statements (fused loops, in-place updates, `sin`/`cos`
//!    partners, values read by component, borrowed tensors) and the [`Strategy`]: the shape of
//!    the result, whether `NAME_grad` runs in forward mode, and how `NAME_jacobian` is computed.

mod facts;
pub mod strategy;

use crate::activity::{self, Activity};
use crate::errors::Errors;
use crate::fusion::{self, Fused};
use crate::ir::*;
use crate::kinds::{self, Kind};
use crate::signature::Signature;
use std::collections::{BTreeMap, BTreeSet};

pub use strategy::{Jacobian, Shape, Strategy};

/// The facts about each value.
pub struct Values {
    pub activity: Activity,
    pub kinds: Vec<Kind>,
}

/// Which values carry a derivative and which are tensors.
pub fn values(ir: &FnIr, active_params: &[bool], errors: &mut Errors) -> Values {
    let kinds = kinds::infer(ir);
    let values = Values {
        activity: activity::analyse(ir, active_params, &kinds, errors),
        kinds,
    };
    check_nalgebra_only_reads(ir, &values, errors);
    if errors.is_empty() {
        // After the body's own errors, which say more.
        check_nalgebra_feature(ir, &values, errors);
    }
    values
}

/// nalgebra arithmetic calls the rules of the runtime's `nalgebra` feature, which the facade's
/// feature of the same name enables in both crates.
fn check_nalgebra_feature(ir: &FnIr, values: &Values, errors: &mut Errors) {
    if cfg!(any(feature = "nalgebra", test)) {
        return;
    }
    if let Some(v) = values.kinds.iter().position(|k| *k == Kind::Linalg) {
        errors.at(
            ir.vars[v].span,
            "computing with nalgebra values whole needs the `nalgebra` feature of `differentiate`: `differentiate = { version = \"0.1\", features = [\"nalgebra\"] }` (reading their components, `v.x`, `v[i]`, does not)",
        );
    }
}

/// Reads only nalgebra values have: `v.x` is a component of a nalgebra value, and of anything
/// else with a derivative (a struct a call returned) a field the transform cannot see into.
/// Likewise `v.map(|x| ..)` has a rule for nalgebra values only (a tensor's `map` has none).
fn check_nalgebra_only_reads(ir: &FnIr, values: &Values, errors: &mut Errors) {
    ir.body.walk(&mut |stmt| {
        if let Stmt::Let {
            var,
            rhs: Rhs::Prim { prim, args, .. },
            ..
        } = stmt
        {
            let receiver = args.first().and_then(Operand::var);
            if std::ptr::eq(*prim, &crate::primitives::LINALG_MAP)
                && receiver.is_some_and(|r| values.kinds[r] != Kind::Linalg && values.activity.active[r])
            {
                errors.at(
                    ir.vars[*var].span,
                    "the method `map` has no derivative, and here it is applied to a value that depends on an active parameter; compute the value with the float functions the README lists, or in a function marked `#[differentiate]`",
                );
            }
        }
        if let Stmt::Let {
            var,
            rhs:
                Rhs::Component {
                    of,
                    field: Some(field),
                    ..
                },
            ..
        } = stmt
        {
            if values.kinds[*of] != Kind::Linalg && values.activity.active[*of] {
                errors.at(
                    ir.vars[*var].span,
                    format!("field access `.{field}` of a value with a derivative is not supported in a `#[differentiate]` function; only the components `.x`, `.y`, `.z`, `.w` of nalgebra vectors and points are read this way (annotate the value's type, `let v: Vector3<f64> = ..`, if it is one)"),
                );
            }
        }
    });
}

impl Values {
    /// Extends the facts over the variables and arrays a rewrite added (see the module doc).
    pub fn catch_up(&mut self, ir: &FnIr) {
        for v in self.kinds.len()..ir.vars.len() {
            let like = ir.vars[v].copy_of;
            self.activity.push_like(like);
            self.kinds
                .push(like.map_or(Kind::Scalar, |l| self.kinds[l]));
        }
        for a in self.activity.active_arrays.len()..ir.arrays.len() {
            let active = ir.arrays[a].holds.is_some_and(|v| self.activity.active[v]);
            self.activity.push_array(active);
        }
    }
}

/// Everything the sweeps read about the function.
pub struct Facts {
    pub activity: Activity,
    pub kinds: Vec<Kind>,
    /// The tensor variables that are references in the user's code (see `kinds::borrowed`).
    pub borrowed: Vec<bool>,
    /// Variables holding a tuple or array a call returned, read by component.
    pub aggregates: BTreeSet<VarId>,
    /// The loops whose iterations run their adjoint in the forward sweep.
    pub fused: BTreeMap<LoopId, Fused>,
    /// `sin x` and `cos x` of the same `x`, each the other's partner.
    pub partners: BTreeMap<VarId, VarId>,
    /// In-place updates `a[i] = a[i] + e`: the value stored, and the load.
    pub increments: BTreeMap<VarId, VarId>,
}

/// The facts about statements, and the strategy, from the facts about values.
pub fn facts(ir: &FnIr, values: Values, sig: &Signature) -> (Facts, Strategy) {
    let Values { activity, kinds } = values;
    let tensor_refs: Vec<bool> = sig.params.iter().map(|p| p.tensor_ref()).collect();
    let aggregates = facts::aggregates(&ir.body);
    let fused = fusion::plan(ir, &activity, &kinds, &aggregates);
    let facts = Facts {
        borrowed: kinds::borrowed(ir, &tensor_refs),
        partners: facts::sin_cos_partners(&ir.body),
        increments: facts::increments(ir),
        aggregates,
        fused,
        activity,
        kinds,
    };
    let strategy = Strategy::choose(ir, &facts, sig);
    (facts, strategy)
}

#[cfg(test)]
thread_local! {
    static RUNS: std::cell::RefCell<BTreeMap<&'static str, usize>> = const {
        std::cell::RefCell::new(BTreeMap::new())
    };
}

/// Counts a run of the analysis `name`, in tests (each runs once per expansion).
pub fn ran(name: &'static str) {
    #[cfg(test)]
    RUNS.with(|runs| *runs.borrow_mut().entry(name).or_default() += 1);
    #[cfg(not(test))]
    let _ = name;
}

/// How often each analysis ran on this thread since the last call, in tests.
#[cfg(test)]
pub fn take_runs() -> BTreeMap<&'static str, usize> {
    RUNS.with(|runs| std::mem::take(&mut *runs.borrow_mut()))
}

#[cfg(test)]
mod tests;
