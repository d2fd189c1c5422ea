//! The tape: what a loop's forward sweep records for its adjoint.
//!
//! A loop whose trip count is known only at run time pushes one record per iteration (the
//! values its adjoint reads that the iteration computed or overwrote) and the adjoint pops
//! them in reverse. Records are tuples whose types Rust infers, so a tape is a plain `Vec`:
//! no boxing, no type erasure. A record with nothing in it is zero-sized, and a tape of them
//! is only a counter.
//!
//! [`bytes_recorded`] tells how much the tapes of this thread have recorded, so tests and
//! examples can check that a loop records only what its adjoint needs.

use std::cell::Cell;

thread_local! {
    static RECORDED: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// Total bytes pushed on tapes by this thread since the last [`reset_bytes_recorded`].
///
/// ```
/// use autodiff_runtime::tape::{bytes_recorded, reset_bytes_recorded, Tape};
/// reset_bytes_recorded();
/// let mut tape = Tape::new();
/// tape.push((1.0_f64, 2.0_f64));
/// let _ = tape.pop();
/// drop(tape);
/// assert_eq!(bytes_recorded(), 16);
/// ```
pub fn bytes_recorded() -> usize {
    RECORDED.with(Cell::get)
}

/// Sets [`bytes_recorded`] and [`peak_bytes`] back to zero.
pub fn reset_bytes_recorded() {
    RECORDED.with(|c| c.set(0));
    PEAK.with(|c| c.set(0));
}

/// The most bytes this thread's tapes held at once during the sweeps since the last
/// [`reset_bytes_recorded`], with the snapshots of checkpointed loops: each tape's largest
/// size, added up over the tapes of a pullback (which live at once), and the snapshots each
/// checkpointed loop kept. A taped loop holds all its iterations' records at the end of its
/// forward sweep; a checkpointed one holds its snapshots and one iteration's record.
///
/// ```
/// use autodiff_runtime::tape::{peak_bytes, reset_bytes_recorded, Tape};
/// reset_bytes_recorded();
/// let mut tape = Tape::new();
/// for k in 0..4 {
///     tape.push(k as f64);
/// }
/// for _ in 0..4 {
///     let _ = tape.pop();
/// }
/// drop(tape);
/// assert_eq!(peak_bytes(), 32);
/// ```
pub fn peak_bytes() -> usize {
    PEAK.with(Cell::get)
}

/// Adds `bytes` held (by a tape at its largest, or a checkpoint's snapshot) to the peak.
#[doc(hidden)]
pub fn note_held(bytes: usize) {
    PEAK.with(|c| c.set(c.get() + bytes));
}

/// A stack of per-iteration records.
#[doc(hidden)]
pub struct Tape<T> {
    records: Vec<T>,
    pushed: usize,
    /// The most records held at once (updated when records leave).
    most: usize,
}

impl<T> Tape<T> {
    #[inline]
    pub fn new() -> Self {
        Tape {
            records: Vec::new(),
            pushed: 0,
            most: 0,
        }
    }

    /// Makes room for `additional` more records (a range loop knows its trip count).
    #[inline]
    pub fn reserve(&mut self, additional: usize) {
        self.records.reserve(additional);
    }

    #[inline]
    pub fn push(&mut self, record: T) {
        self.pushed += 1;
        self.records.push(record);
    }

    /// [`push`](Self::push) into room a [`reserve`](Self::reserve) made: a range loop reserves
    /// its trip count before it runs. The check makes the vector's own growth path provably
    /// dead, so the only call left in the loop is a panic that never returns, and the loop's
    /// values can stay in registers across the push (a call that returns, such as growing the
    /// tape, makes the compiler save them to the stack in every iteration).
    #[inline]
    pub fn push_reserved(&mut self, record: T) {
        self.pushed += 1;
        if self.records.len() == self.records.capacity() {
            not_reserved();
        }
        self.records.push(record);
    }

    /// The most recent record. The adjoint pops exactly what the forward sweep pushed, so an
    /// empty tape here is a bug in the generated code, not in the user's.
    #[inline]
    pub fn pop(&mut self) -> T {
        self.most = self.most.max(self.records.len());
        match self.records.pop() {
            Some(record) => record,
            None => panic!("differentiate: the adjoint popped more records than its loop pushed (a bug in differentiate)"),
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Drops the records after the first `len` (those of a run no adjoint follows).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.most = self.most.max(self.records.len());
        self.records.truncate(len);
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cold]
#[inline(never)]
fn not_reserved() -> ! {
    panic!("differentiate: a loop pushed more records than it reserved (a bug in differentiate)")
}

impl<T> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for Tape<T> {
    fn drop(&mut self) {
        let bytes = self.pushed * std::mem::size_of::<T>();
        if bytes > 0 {
            RECORDED.with(|c| c.set(c.get() + bytes));
        }
        let most = self.most.max(self.records.len());
        note_held(most * std::mem::size_of::<T>());
    }
}
