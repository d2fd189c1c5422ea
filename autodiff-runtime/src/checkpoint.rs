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
//! follows the actions the [`Schedule`] iterator yields, in the reverse sweep:
//!
//! ```text
//! forward                                  reverse
//! for i in 0..n {                          for action in schedule {
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

/// The binomial schedule for a loop of `n` iterations keeping at most `s` snapshots of its
/// state at once (iteration 0's among them; `s ≥ 1`). Its actions are made as they are
/// asked for, so it holds only a stack as deep as the schedule's nesting, never a list as
/// long as the loop.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Where the first run takes each snapshot: (iteration, slot), by iteration.
    first_run: Vec<(usize, usize)>,
    slots: usize,
    /// The iteration each slot holds, if any.
    snapshot_at: Vec<Option<usize>>,
    /// Where the state is (the start of which iteration); `None` past anything tracked.
    position: Option<usize>,
    /// Whether the reverse phase has not begun: the state is at the loop's end.
    first: bool,
    /// What remains to do, the next task last.
    tasks: Vec<Task>,
    /// Actions made and not yet taken.
    ready: std::collections::VecDeque<Action>,
    recomputed: usize,
}

#[derive(Clone, Copy, Debug)]
enum Task {
    /// Reverse `start..end` with `snaps` slots, the first (`slot`) holding `start`'s state.
    Reverse {
        start: usize,
        end: usize,
        slot: usize,
        snaps: usize,
    },
    /// The snapshot in `slot` is no longer needed.
    Free(usize),
}

impl Schedule {
    /// The schedule for `n` iterations with `snapshots` snapshots (iteration 0's included).
    pub fn binomial(n: usize, snapshots: usize) -> Schedule {
        let snapshots = snapshots.max(1);
        let mut schedule = Schedule {
            first_run: vec![(0, 0)],
            slots: snapshots,
            snapshot_at: vec![None; snapshots],
            position: Some(0),
            first: true,
            tasks: Vec::new(),
            ready: std::collections::VecDeque::new(),
            recomputed: 0,
        };
        schedule.snapshot_at[0] = Some(0);
        if n > 0 {
            schedule.tasks.push(Task::Reverse {
                start: 0,
                end: n,
                slot: 0,
                snaps: snapshots,
            });
        }
        // The first run's snapshots: the first descent, each into the part after a split.
        let (mut start, mut len, mut snaps) = (0, n, snapshots);
        while len > 1 && snaps > 1 {
            let m = split(len, snaps);
            start += m;
            len -= m;
            schedule.first_run.push((start, schedule.first_run.len()));
            snaps -= 1;
        }
        schedule
    }

    /// The schedule for a loop whose trip count was known only when its first run ended (a
    /// `while` or `loop`): that run kept iteration 0's state only, so the snapshots the first
    /// descent places are taken in the reverse phase, after running there again.
    pub fn after_run(n: usize, snapshots: usize) -> Schedule {
        let mut schedule = Schedule::binomial(n, snapshots);
        schedule.first_run.truncate(1);
        schedule.first = false;
        schedule.position = None;
        schedule
    }

    /// The snapshot slot the first run fills at the start of iteration `i`, if any.
    pub fn snapshot_slot(&self, i: usize) -> Option<usize> {
        self.first_run
            .binary_search_by_key(&i, |&(at, _)| at)
            .ok()
            .map(|k| self.first_run[k].1)
    }

    /// How many snapshot slots the schedule uses (iteration 0's included).
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// How many iterations the reverse phase has run forward again so far (recorded runs
    /// excluded).
    pub fn recomputed(&self) -> usize {
        self.recomputed
    }

    /// Brings the state to the start of iteration `target` from the snapshot in `slot` (at or
    /// before it) or from where it is.
    fn go_to(&mut self, target: usize, slot: usize) {
        if self.first {
            // The first run passes here on its way to the loop's end.
            self.position = Some(target);
            return;
        }
        let from = self.snapshot_at[slot].expect("a segment's start is kept");
        let here = match self.position {
            Some(p) if p >= from && p <= target => p,
            _ => {
                self.ready.push_back(Action::Restore(slot));
                from
            }
        };
        if here < target {
            self.ready.push_back(Action::Advance(target));
            self.recomputed += target - here;
        }
        self.position = Some(target);
    }

    /// Iteration `i` is reversed: the first ends the first run, which went on to the loop's
    /// end, so the state comes back from the last snapshot before `i`.
    fn reverse_one(&mut self, i: usize, slot: usize) {
        if self.first {
            self.first = false;
            let (latest, _) = self
                .snapshot_at
                .iter()
                .enumerate()
                .filter_map(|(k, at)| at.filter(|&at| at <= i).map(|at| (k, at)))
                .max_by_key(|&(_, at)| at)
                .expect("iteration 0 is kept");
            self.position = None;
            self.go_to(i, latest);
        } else {
            self.go_to(i, slot);
        }
        self.ready.push_back(Action::Reverse(i));
        self.position = Some(i + 1);
    }

    /// Works through tasks until an action is ready.
    fn plan_more(&mut self) {
        while self.ready.is_empty() {
            let Some(task) = self.tasks.pop() else {
                return;
            };
            match task {
                Task::Free(slot) => self.snapshot_at[slot] = None,
                Task::Reverse {
                    start,
                    end,
                    slot,
                    snaps,
                } => {
                    let n = end - start;
                    if n == 1 {
                        self.reverse_one(start, slot);
                    } else if snaps == 1 {
                        // No snapshot to spare: the last iteration from the segment's start,
                        // then the rest the same way.
                        self.tasks.push(Task::Reverse {
                            start,
                            end: end - 1,
                            slot,
                            snaps,
                        });
                        self.reverse_one(end - 1, slot);
                    } else {
                        let m = split(n, snaps);
                        self.go_to(start + m, slot);
                        let next = slot + 1;
                        self.snapshot_at[next] = Some(start + m);
                        if !self.first {
                            self.ready.push_back(Action::Snapshot(next));
                        }
                        self.tasks.push(Task::Reverse {
                            start,
                            end: start + m,
                            slot,
                            snaps,
                        });
                        self.tasks.push(Task::Free(next));
                        self.tasks.push(Task::Reverse {
                            start: start + m,
                            end,
                            slot: next,
                            snaps: snaps - 1,
                        });
                    }
                }
            }
        }
    }
}

impl Iterator for Schedule {
    type Item = Action;

    /// The reverse phase's next action.
    fn next(&mut self) -> Option<Action> {
        self.plan_more();
        self.ready.pop_front()
    }
}

/// Counts the snapshots a checkpointed loop kept towards [`crate::tape::peak_bytes`]: its
/// slots, and the buffers' elements each filled slot held (`heap_each` bytes).
#[doc(hidden)]
pub fn note_snapshots<T>(kept: &[Option<T>], heap_each: usize) {
    let filled = kept.iter().filter(|k| k.is_some()).count();
    crate::tape::note_held(std::mem::size_of_val(kept) + filled * heap_each);
}

/// The bytes a buffer's elements take (a `Vec`'s heap; a fixed-size array's are counted in
/// place).
#[doc(hidden)]
pub fn heap_bytes<B: HeapBytes + ?Sized>(buffer: &B) -> usize {
    buffer.heap_bytes()
}

#[doc(hidden)]
pub trait HeapBytes {
    fn heap_bytes(&self) -> usize;
}

impl<T> HeapBytes for Vec<T> {
    fn heap_bytes(&self) -> usize {
        self.len() * std::mem::size_of::<T>()
    }
}

impl<T, const N: usize> HeapBytes for [T; N] {
    fn heap_bytes(&self) -> usize {
        0
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

/// The least forward runs that reverse `n` iterations with `s` snapshots (the start's
/// included), besides the recorded runs: `r·n − C(s + r, s + 1)` with `r` the least such that
/// `C(s + r, s) ≥ n` (Griewank and Walther's optimum).
pub fn optimal_runs(n: usize, s: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let r = repetitions(n, s);
    // C(s + r, s + 1) = beta(s + 1, r - 1).
    r * n - beta(s + 1, r - 1)
}

/// Where the binomial schedule puts the next snapshot in a segment of `n` iterations with
/// `s` snapshots (`s ≥ 2`): the position that makes the runs to it, then the part after it
/// with `s − 1` snapshots and the part before with `s`, the least. The optimum is flat over
/// an interval; its ends and the point between the two parts' binomial sizes are tried.
fn split(n: usize, s: usize) -> usize {
    let r = repetitions(n, s);
    let cost = |m: usize| m + optimal_runs(n - m, s - 1) + optimal_runs(m, s);
    let low = n.saturating_sub(beta(s - 1, r)).max(1);
    let high = beta(s, r.saturating_sub(1)).min(n - 1).max(low);
    let middle = n
        .saturating_sub(beta(s - 1, r.saturating_sub(1)))
        .clamp(low, high);
    [low, middle, high]
        .into_iter()
        .min_by_key(|&m| (cost(m), m))
        .expect("three candidates")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a schedule on a simulated loop: checks every iteration is reversed once, last
    /// first, each from the right state, and counts the forward runs.
    fn simulate(n: usize, s: usize) -> usize {
        let mut schedule = Schedule::binomial(n, s);
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
        for action in schedule.by_ref() {
            match action {
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
            assert!(slots.iter().flatten().count() <= s.max(1));
        }
        assert_eq!(next_reversed, 0, "not every iteration reversed");
        assert_eq!(runs, schedule.recomputed());
        runs
    }

    /// The least forward runs any schedule needs to reverse `n` iterations with `s` snapshots
    /// (the start's included): a search over every position of the next snapshot.
    fn searched_optimum(
        n: usize,
        s: usize,
        memo: &mut std::collections::HashMap<(usize, usize), usize>,
    ) -> usize {
        if n <= 1 {
            return 0;
        }
        if s == 1 {
            return n * (n - 1) / 2;
        }
        if let Some(&v) = memo.get(&(n, s)) {
            return v;
        }
        let best = (1..n)
            .map(|m| m + searched_optimum(n - m, s - 1, memo) + searched_optimum(m, s, memo))
            .min()
            .unwrap();
        memo.insert((n, s), best);
        best
    }

    #[test]
    fn the_closed_form_is_the_searched_optimum() {
        let mut memo = std::collections::HashMap::new();
        for s in 1..7 {
            for n in 1..80 {
                assert_eq!(
                    optimal_runs(n, s),
                    searched_optimum(n, s, &mut memo),
                    "n = {n}, s = {s}"
                );
            }
        }
    }

    #[test]
    fn the_schedule_reaches_the_optimum() {
        for s in 1..7 {
            for n in 1..120 {
                // The first run (the loop's forward sweep) makes the first descent's runs.
                let runs = simulate(n, s) + first_descent(n, s);
                assert_eq!(runs, optimal_runs(n, s), "n = {n}, s = {s}");
            }
        }
    }

    /// The runs the optimum makes advancing to each snapshot of its first descent, which the
    /// loop's first run makes here (the rest of the way to the first reversed iteration is
    /// run again after a restore, and counted by `simulate`).
    fn first_descent(n: usize, s: usize) -> usize {
        let (mut len, mut snaps, mut total) = (n, s, 0);
        while len > 1 && snaps > 1 {
            let m = split(len, snaps);
            total += m;
            len -= m;
            snaps -= 1;
        }
        total
    }

    #[test]
    fn after_a_run_of_unknown_length_the_schedule_takes_its_own_snapshots() {
        for s in 1..6 {
            for n in 1..80 {
                let mut schedule = Schedule::after_run(n, s);
                let mut slots: Vec<Option<usize>> = vec![None; schedule.slots()];
                slots[0] = Some(0);
                for i in 1..n {
                    assert_eq!(schedule.snapshot_slot(i), None);
                }
                let (mut position, mut next_reversed, mut runs) = (n, n, 0);
                for action in schedule.by_ref() {
                    match action {
                        Action::Restore(k) => position = slots[k].expect("a kept state"),
                        Action::Snapshot(k) => slots[k] = Some(position),
                        Action::Advance(to) => {
                            runs += to - position;
                            position = to;
                        }
                        Action::Reverse(i) => {
                            assert_eq!((i, i + 1), (position, next_reversed));
                            next_reversed = i;
                            position = i + 1;
                        }
                    }
                }
                assert_eq!(next_reversed, 0);
                // The optimum, the first descent run again included.
                assert_eq!(runs, optimal_runs(n, s), "n = {n}, s = {s}");
            }
        }
    }

    #[test]
    fn repetitions_match_the_binomial_bound() {
        assert_eq!(beta(2, 3), 10);
        assert_eq!(repetitions(10, 2), 3);
        assert_eq!(repetitions(11, 2), 4);
        assert_eq!(repetitions(1_000_000, 100), 4);
    }

    #[test]
    fn no_iteration_runs_more_than_the_bound() {
        for (n, s) in [(10, 2), (100, 3), (1000, 10), (37, 1), (100_000, 20)] {
            let mut schedule = Schedule::binomial(n, s);
            let r = repetitions(n, s);
            let mut runs = vec![0usize; n];
            let mut slots: Vec<Option<usize>> = vec![None; schedule.slots()];
            for i in 0..n {
                if let Some(k) = schedule.snapshot_slot(i) {
                    slots[k] = Some(i);
                }
            }
            let mut position = n;
            for action in schedule.by_ref() {
                match action {
                    Action::Restore(k) => position = slots[k].unwrap(),
                    Action::Snapshot(k) => slots[k] = Some(position),
                    Action::Advance(to) => {
                        for run in &mut runs[position..to] {
                            *run += 1;
                        }
                        position = to;
                    }
                    Action::Reverse(i) => position = i + 1,
                }
            }
            let most = runs.iter().max().copied().unwrap_or(0);
            assert!(
                most <= r,
                "n = {n}, s = {s}: an iteration ran {most} more times, bound {r}"
            );
        }
    }
}
