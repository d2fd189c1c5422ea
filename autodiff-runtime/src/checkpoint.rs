//! Binomial checkpointing (Griewank and Walther's Revolve) for the reverse sweep of a long
//! loop: instead of recording every iteration, keep `s` snapshots of the loop-carried state
//! and run forward segments again, recording one iteration at a time just before its adjoint.
//!
//! For `n` iterations and `s` snapshots the schedule runs each iteration forward at most `r`
//! times more than the first run, where `r` is the least with `C(s + r, s) ≥ n`, and the total
//! of those runs is the least any schedule with `s` snapshots achieves (the binomial optimum,
//! `tests` checks it against a search over every schedule for small `n` and `s`).
//!
//! The generated code runs the loop once in the forward sweep, taking the snapshots
//! [`Schedule::snapshot_slot`] asks for (the state at iteration 0 always among them), then
//! follows [`Schedule::actions`] in the reverse sweep:
//!
//! ```text
//! forward                                  reverse
//! for i in 0..n {                          for action in schedule.actions() {
//!     if let Some(k) = snapshot_slot(i) {      Restore(k)  => state = snapshots[k]
//!         snapshots[k] = state                 Snapshot(k) => snapshots[k] = state
//!     }                                        Advance(to) => run iterations up to `to`
//!     body                                     Reverse(i)  => run iteration i recording,
//! }                                                           then its adjoint
//!                                          }
//! ```

/// One step of the reverse phase of a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Put snapshot `k` back as the current state (and position).
    Restore(usize),
    /// Keep the current state in snapshot `k`.
    Snapshot(usize),
    /// Run the iterations from the current position up to (not including) this one.
    Advance(usize),
    /// Run iteration `i` recording what its adjoint reads, then its adjoint.
    Reverse(usize),
}

/// The binomial schedule for a loop of `n` iterations and `s` snapshots (besides the state
/// at iteration 0, which the loop's start keeps).
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Where the first run takes each snapshot: (iteration, slot), by iteration.
    first_run: Vec<(usize, usize)>,
    actions: Vec<Action>,
    slots: usize,
    recomputed: usize,
}

impl Schedule {
    /// The schedule for `n` iterations with `snapshots` snapshots besides iteration 0's.
    pub fn binomial(n: usize, snapshots: usize) -> Schedule {
        let mut plan = Planner {
            snapshot_at: vec![None; snapshots + 1],
            position: None,
            first_run: vec![(0, 0)],
            actions: Vec::new(),
            recomputed: 0,
            in_first_run: true,
        };
        // Slot 0 holds iteration 0's state, taken as the first run starts.
        plan.snapshot_at[0] = Some(0);
        plan.position = Some(0);
        if n > 0 {
            plan.reverse(0, n, 0, snapshots);
        }
        let slots = plan.snapshot_at.len();
        Schedule {
            first_run: plan.first_run,
            actions: plan.actions,
            slots,
            recomputed: plan.recomputed,
        }
    }

    /// The snapshot slot the first run fills at the start of iteration `i`, if any.
    pub fn snapshot_slot(&self, i: usize) -> Option<usize> {
        self.first_run
            .binary_search_by_key(&i, |&(at, _)| at)
            .ok()
            .map(|k| self.first_run[k].1)
    }

    /// What the reverse phase does, in order.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// How many snapshot slots the schedule uses (iteration 0's included).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// How many iterations the reverse phase runs forward again (recorded runs excluded).
    pub fn recomputed(&self) -> usize {
        self.recomputed
    }
}

/// `C(s + r, s)`, saturating: how many iterations `s` snapshots reverse with each iteration
/// run at most `r` more times.
pub fn beta(s: usize, r: usize) -> usize {
    let mut value: usize = 1;
    for k in 1..=s.min(r) {
        // C(s + r, k) from C(s + r, k - 1), exact at each step.
        value = match value.checked_mul(s + r + 1 - k) {
            Some(v) => v / k,
            None => return usize::MAX,
        };
    }
    value
}

/// The least `r` with `C(s + r, s) ≥ n`: how many times the binomial schedule runs an
/// iteration again, at most.
pub fn repetitions(n: usize, s: usize) -> usize {
    let mut r = 0;
    while beta(s, r) < n {
        r += 1;
    }
    r
}

struct Planner {
    /// The iteration each slot holds, if any.
    snapshot_at: Vec<Option<usize>>,
    /// The current position (the iteration the state is at the start of); `None` when the
    /// state has moved on past anything the schedule tracks (the first run's end).
    position: Option<usize>,
    first_run: Vec<(usize, usize)>,
    actions: Vec<Action>,
    recomputed: usize,
    /// Whether the first run (the forward sweep, which runs every iteration once) is still
    /// going: its advances are not recomputations, and its snapshots are taken in passing.
    in_first_run: bool,
}

impl Planner {
    /// Reverses iterations `start..end`, with the state at `start` in slot `slot` and `free`
    /// further slots (the ones after `slot`) to use.
    fn reverse(&mut self, start: usize, end: usize, slot: usize, free: usize) {
        let n = end - start;
        if n == 1 {
            self.go_to(start, slot);
            self.end_first_run();
            self.actions.push(Action::Reverse(start));
            self.position = Some(end);
            return;
        }
        if free == 0 {
            // No snapshot left: each iteration from the segment's start, last first.
            for i in (start..end).rev() {
                self.go_to(i, slot);
                self.end_first_run();
                self.actions.push(Action::Reverse(i));
                self.position = Some(i + 1);
            }
            return;
        }
        let m = split(n, free);
        self.go_to(start + m, slot);
        let next = slot + 1;
        self.snapshot_at[next] = Some(start + m);
        if self.in_first_run {
            self.first_run.push((start + m, next));
        } else {
            self.actions.push(Action::Snapshot(next));
        }
        self.reverse(start + m, end, next, free - 1);
        self.snapshot_at[next] = None;
        self.reverse(start, start + m, slot, free);
    }

    /// Brings the state to the start of iteration `target`, from slot `slot` (at or before it)
    /// or from where it is.
    fn go_to(&mut self, target: usize, slot: usize) {
        let from = self.snapshot_at[slot].expect("the segment's start is kept");
        let here = match self.position {
            Some(p) if p >= from && p <= target => p,
            _ => {
                self.actions.push(Action::Restore(slot));
                from
            }
        };
        if here < target {
            if !self.in_first_run {
                self.actions.push(Action::Advance(target));
                self.recomputed += target - here;
            }
        }
        self.position = Some(target);
    }

    /// The first reversed iteration ends the first run: it went on to the loop's end, so the
    /// reverse phase starts from a snapshot.
    fn end_first_run(&mut self) {
        if self.in_first_run {
            self.in_first_run = false;
            // The state is at the loop's end, not where the plan stands: restore the last
            // snapshot and run on to the iteration about to be reversed.
            let target = self.position.expect("a position");
            let (slot, at) = self
                .snapshot_at
                .iter()
                .enumerate()
                .filter_map(|(k, at)| at.map(|at| (k, at)))
                .filter(|&(_, at)| at <= target)
                .max_by_key(|&(_, at)| at)
                .expect("iteration 0 is kept");
            let reverse_pos = self.actions.len();
            self.actions.insert(reverse_pos, Action::Restore(slot));
            if at < target {
                self.actions.push(Action::Advance(target));
                self.recomputed += target - at;
            }
        }
    }
}

/// Where the binomial schedule puts the first snapshot of a segment of `n` iterations with
/// `free` snapshots: so that the part after it can be reversed with `free - 1` snapshots and
/// the part before with `free`, each within `r` repetitions.
fn split(n: usize, free: usize) -> usize {
    let r = repetitions(n, free);
    // The part after the snapshot: at most C(free - 1 + r, free - 1) iterations.
    let after = beta(free - 1, r).min(n - 1);
    (n - after).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a schedule on a simulated loop: checks every iteration is reversed once, last
    /// first, each from the right state, and counts the forward runs.
    fn simulate(n: usize, s: usize) -> usize {
        let schedule = Schedule::binomial(n, s);
        let mut slots: Vec<Option<usize>> = vec![None; schedule.slots()];
        // The first run.
        for i in 0..n {
            if let Some(k) = schedule.snapshot_slot(i) {
                slots[k] = Some(i);
            }
        }
        let mut position = n;
        let mut runs = 0;
        let mut next_reversed = n;
        for action in schedule.actions() {
            match *action {
                Action::Restore(k) => position = slots[k].expect("a kept state"),
                Action::Snapshot(k) => slots[k] = Some(position),
                Action::Advance(to) => {
                    assert!(to >= position, "advance backwards");
                    runs += to - position;
                    position = to;
                }
                Action::Reverse(i) => {
                    assert_eq!(i, position, "reversed from the wrong state");
                    assert_eq!(i + 1, next_reversed, "out of order");
                    next_reversed = i;
                    position = i + 1;
                }
            }
            assert!(slots.iter().flatten().count() <= s + 1);
        }
        assert_eq!(next_reversed, 0, "not every iteration reversed");
        assert_eq!(runs, schedule.recomputed());
        runs
    }

    /// The least forward runs any schedule needs to reverse `n` iterations with `s` free
    /// snapshots, the segment's start kept: a search over every first snapshot position.
    fn optimum(n: usize, s: usize, memo: &mut std::collections::HashMap<(usize, usize), usize>) -> usize {
        if n <= 1 {
            return 0;
        }
        if s == 0 {
            return n * (n - 1) / 2;
        }
        if let Some(&v) = memo.get(&(n, s)) {
            return v;
        }
        let best = (1..n)
            .map(|m| m + optimum(n - m, s - 1, memo) + optimum(m, s, memo))
            .min()
            .unwrap();
        memo.insert((n, s), best);
        best
    }

    #[test]
    fn the_schedule_reaches_the_binomial_optimum() {
        let mut memo = std::collections::HashMap::new();
        for s in 0..6 {
            for n in 1..60 {
                let runs = simulate(n, s);
                // The first run goes to the end; the optimum counts the segment after the
                // last first-run snapshot as run once more.
                let best = optimum(n, s, &mut memo);
                assert!(runs <= best + n, "n = {n}, s = {s}: {runs} runs, optimum {best}");
                assert_eq!(runs, best - first_descent(n, s), "n = {n}, s = {s}");
            }
        }
    }

    /// Forward runs the optimum counts in its first descent (advancing to each first-run
    /// snapshot), which the loop's own first run does here.
    fn first_descent(n: usize, s: usize) -> usize {
        let mut start = 0;
        let mut free = s;
        let mut len = n;
        let mut total = 0;
        while len > 1 && free > 0 {
            let m = split(len, free);
            total += m;
            start += m;
            len -= m;
            free -= 1;
        }
        let _ = start;
        total
    }

    #[test]
    fn repetitions_match_the_binomial_bound() {
        assert_eq!(beta(2, 3), 10);
        assert_eq!(repetitions(10, 2), 3);
        assert_eq!(repetitions(11, 2), 4);
        assert_eq!(repetitions(1_000_000, 100), 3);
    }

    #[test]
    fn no_iteration_runs_more_than_the_bound() {
        for (n, s) in [(10, 2), (100, 3), (1000, 10), (37, 1)] {
            let schedule = Schedule::binomial(n, s);
            let r = repetitions(n, s);
            let mut runs = vec![0usize; n];
            let mut slots: Vec<Option<usize>> = vec![None; schedule.slots()];
            for i in 0..n {
                if let Some(k) = schedule.snapshot_slot(i) {
                    slots[k] = Some(i);
                }
            }
            let mut position = n;
            for action in schedule.actions() {
                match *action {
                    Action::Restore(k) => position = slots[k].unwrap(),
                    Action::Snapshot(k) => slots[k] = Some(position),
                    Action::Advance(to) => {
                        for i in position..to {
                            runs[i] += 1;
                        }
                        position = to;
                    }
                    Action::Reverse(i) => position = i + 1,
                }
            }
            let most = runs.iter().max().copied().unwrap_or(0);
            assert!(most <= r, "n = {n}, s = {s}: an iteration ran {most} more times, bound {r}");
        }
    }
}
