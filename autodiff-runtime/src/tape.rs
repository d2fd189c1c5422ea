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

/// Frees the memory this thread's tapes keep for the next gradient.
///
/// A dropped tape hands its memory, if large (64 kB or more), to the next tapes of its thread
/// rather than to the allocator, which would give it back to the system and hand out fresh
/// pages next time: a gradient called in a loop then reuses the same memory. At most 8 blocks
/// are kept per thread; this frees them.
pub fn release_memory() {
    spare::release();
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

    #[inline]
    pub fn push(&mut self, record: T) {
        self.pushed += 1;
        self.records.push(record);
    }

    /// Room for `count` more records and a [`TapeWriter`] that pushes into it: a range loop
    /// knows its trip count before it runs.
    #[inline]
    pub fn writer(&mut self, count: usize) -> TapeWriter<'_, T> {
        self.make_room(count);
        let next = self.records.as_mut_ptr().wrapping_add(self.records.len());
        let room = self.records.capacity() - self.records.len();
        TapeWriter {
            tape: self,
            next,
            written: 0,
            room,
        }
    }

    /// A [`TapeReader`] popping this tape's records, most recent first: a loop's adjoint
    /// takes one per iteration.
    #[inline]
    pub fn reader(&mut self) -> TapeReader<'_, T> {
        let left = self.records.len();
        self.most = self.most.max(left);
        // SAFETY: the reader owns the records `0..left` until it drops and gives back those
        // it did not take; were it leaked, they would leak, never be dropped twice.
        unsafe { self.records.set_len(0) };
        TapeReader {
            start: self.records.as_ptr(),
            tape: self,
            left,
        }
    }

    /// The most recent record. The adjoint pops exactly what the forward sweep pushed, so an
    /// empty tape here is a bug in the generated code, not in the user's.
    #[inline]
    pub fn pop(&mut self) -> T {
        self.most = self.most.max(self.records.len());
        match self.records.pop() {
            Some(record) => record,
            None => popped_too_many(),
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

    /// Room for `count` more records; an empty tape takes it from the memory earlier tapes
    /// left (see [`release_memory`]) when that has enough.
    #[inline]
    fn make_room(&mut self, count: usize) {
        if self.records.is_empty() && self.records.capacity() < count {
            if let Some(kept) = spare::take::<T>(count) {
                spare::give_back(std::mem::replace(&mut self.records, kept));
            }
        }
        self.records.reserve(count);
    }
}

impl<T: Clone> Tape<T> {
    /// Room for `count` buffers of `len` elements: a range loop that saves a buffer per
    /// iteration knows how many it will save.
    #[inline]
    pub fn reserve_slices(&mut self, count: usize, len: usize) {
        self.make_room(count.saturating_mul(len));
    }

    /// Records a whole buffer: a loop that rewrites a buffer and then reads it many times
    /// saves it once per iteration instead of recording every read.
    #[inline]
    pub fn push_slice(&mut self, values: &[T]) {
        self.pushed += values.len();
        self.records.extend_from_slice(values);
    }

    /// Puts the most recent `into.len()` records back into `into`, in the order
    /// [`Tape::push_slice`] took them.
    #[inline]
    pub fn pop_slice(&mut self, into: &mut [T]) {
        self.most = self.most.max(self.records.len());
        let Some(start) = self.records.len().checked_sub(into.len()) else {
            popped_too_many()
        };
        into.clone_from_slice(&self.records[start..]);
        self.records.truncate(start);
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
        spare::give_back(std::mem::take(&mut self.records));
    }
}

/// Pushes a range loop's records into the room [`Tape::writer`] made. The loop's position is
/// a local here, which the compiler keeps in a register: `Vec::push` reads and writes the
/// vector's length in memory at every call, because the loop's stores to the user's arrays
/// might, as far as the compiler knows, change it.
pub struct TapeWriter<'t, T> {
    tape: &'t mut Tape<T>,
    /// The first free slot of the reserved room.
    next: *mut T,
    written: usize,
    room: usize,
}

impl<T> TapeWriter<'_, T> {
    #[inline]
    pub fn push(&mut self, record: T) {
        if self.written == self.room {
            not_reserved();
        }
        // SAFETY: `written < room`, and the room is the vector's spare capacity, which
        // cannot move while this writer borrows the tape.
        unsafe { self.next.add(self.written).write(record) };
        self.written += 1;
    }
}

impl<T> Drop for TapeWriter<'_, T> {
    /// Hands the records written over to the tape (also when the loop is left early).
    #[inline]
    fn drop(&mut self) {
        let records = &mut self.tape.records;
        // SAFETY: the `written` slots after the old length were initialised by `push`.
        unsafe { records.set_len(records.len() + self.written) };
        self.tape.pushed += self.written;
    }
}

/// Pops a tape's records for a loop's adjoint, keeping the position in a local (see
/// [`TapeWriter`]).
pub struct TapeReader<'t, T> {
    tape: &'t mut Tape<T>,
    start: *const T,
    /// The records not yet taken: `start[..left]`.
    left: usize,
}

impl<T> TapeReader<'_, T> {
    /// The most recent record not yet taken. The adjoint pops exactly what the forward
    /// sweep pushed, so an empty tape here is a bug in the generated code, not in the user's.
    #[inline]
    pub fn pop(&mut self) -> T {
        if self.left == 0 {
            popped_too_many();
        }
        self.left -= 1;
        // SAFETY: `start[left]` is initialised and owned by this reader, and is read once:
        // `left` only decreases.
        unsafe { self.start.add(self.left).read() }
    }
}

impl<T> Drop for TapeReader<'_, T> {
    /// Gives the records not taken back to the tape.
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `start[..left]` are still initialised and were the tape's first records.
        unsafe { self.tape.records.set_len(self.left) };
    }
}

#[cold]
#[inline(never)]
fn popped_too_many() -> ! {
    panic!("differentiate: the adjoint popped more records than its loop pushed (a bug in differentiate)")
}

/// Memory of tapes that have been dropped, kept for the next tapes of this thread. A gradient
/// called in a loop would otherwise ask the allocator for its large tapes afresh at every
/// call, and the allocator hands large blocks back to the system when they are freed: every
/// call then touches new pages, and the page faults can cost a quarter of the gradient.
mod spare {
    use std::alloc::Layout;
    use std::cell::RefCell;
    use std::ptr::NonNull;

    /// Blocks smaller than this are cheap to allocate and are not kept.
    const SMALLEST: usize = 64 * 1024;
    /// How many blocks a thread keeps at most.
    const KEPT: usize = 8;

    struct Block {
        ptr: NonNull<u8>,
        layout: Layout,
    }

    struct Blocks(Vec<Block>);

    impl Drop for Blocks {
        fn drop(&mut self) {
            for block in self.0.drain(..) {
                // SAFETY: each block was allocated by the global allocator with this layout
                // (a `Vec`'s buffer) and is owned by the list alone.
                unsafe { std::alloc::dealloc(block.ptr.as_ptr(), block.layout) };
            }
        }
    }

    thread_local! {
        static BLOCKS: RefCell<Blocks> = const { RefCell::new(Blocks(Vec::new())) };
    }

    /// Frees the blocks this thread keeps.
    pub(super) fn release() {
        let _ = BLOCKS.try_with(|blocks| drop(Blocks(std::mem::take(&mut blocks.borrow_mut().0))));
    }

    /// An empty `Vec` with room for at least `count` records, made from a kept block of the
    /// same alignment whose size is a whole number of records (the smallest such), if any.
    pub(super) fn take<T>(count: usize) -> Option<Vec<T>> {
        let size = std::mem::size_of::<T>();
        let needed = count.checked_mul(size)?;
        if size == 0 || needed < SMALLEST {
            return None;
        }
        let fits = |b: &Block| {
            b.layout.align() == std::mem::align_of::<T>()
                && b.layout.size().is_multiple_of(size)
                && b.layout.size() >= needed
        };
        let block = BLOCKS
            .try_with(|blocks| {
                let mut blocks = blocks.borrow_mut();
                let best = (0..blocks.0.len())
                    .filter(|&i| fits(&blocks.0[i]))
                    .min_by_key(|&i| blocks.0[i].layout.size())?;
                Some(blocks.0.swap_remove(best))
            })
            .ok()??;
        // SAFETY: the block was a `Vec`'s buffer, allocated by the global allocator with
        // `block.layout`; `T` has that alignment, and `capacity` records of `T` have exactly
        // its size, which is the layout `Vec<T>` will free it with.
        Some(unsafe {
            Vec::from_raw_parts(
                block.ptr.as_ptr().cast::<T>(),
                0,
                block.layout.size() / size,
            )
        })
    }

    /// Keeps the buffer of `records` (emptied first) for a later tape, if it is large.
    pub(super) fn give_back<T>(mut records: Vec<T>) {
        records.clear();
        let Ok(layout) = Layout::array::<T>(records.capacity()) else {
            return;
        };
        if layout.size() < SMALLEST {
            return;
        }
        let mut records = std::mem::ManuallyDrop::new(records);
        let ptr = NonNull::new(records.as_mut_ptr().cast::<u8>()).expect("a Vec's buffer");
        let kept = BLOCKS.try_with(|blocks| {
            let mut blocks = blocks.borrow_mut();
            blocks.0.push(Block { ptr, layout });
            if blocks.0.len() > KEPT {
                // The smallest block goes.
                let smallest = (0..blocks.0.len())
                    .min_by_key(|&i| blocks.0[i].layout.size())
                    .expect("more than KEPT blocks");
                let block = blocks.0.swap_remove(smallest);
                // SAFETY: as in `Blocks::drop`.
                unsafe { std::alloc::dealloc(block.ptr.as_ptr(), block.layout) };
            }
        });
        if kept.is_err() {
            // The thread is ending: free the buffer as the `Vec` would have.
            // SAFETY: `records` still owns its buffer, which was not handed to the list.
            unsafe { std::mem::ManuallyDrop::drop(&mut records) };
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_large_tape_leaves_its_memory_to_the_next() {
        release_memory();
        let first = {
            let mut tape = Tape::new();
            let mut writer = tape.writer(10_000);
            for k in 0..10_000 {
                writer.push((k as f64, 1.0_f64));
            }
            drop(writer);
            tape.records.as_ptr() as usize
        };
        // 160 kB of pairs, taken again as 20 000 numbers (same size, same alignment).
        let mut tape: Tape<f64> = Tape::new();
        let writer = tape.writer(20_000);
        drop(writer);
        assert_eq!(tape.records.as_ptr() as usize, first);
        assert!(tape.records.capacity() >= 20_000);
        // A tape too large for what is kept allocates its own.
        let mut big: Tape<f64> = Tape::new();
        drop(big.writer(100_000));
        assert_ne!(big.records.as_ptr() as usize, first);
        release_memory();
    }

    #[test]
    fn records_left_on_a_dropped_tape_are_dropped_once() {
        release_memory();
        let shared = std::rc::Rc::new(());
        {
            let mut tape = Tape::new();
            let mut writer = tape.writer(10_000);
            for _ in 0..10_000 {
                writer.push(std::rc::Rc::clone(&shared));
            }
        }
        assert_eq!(std::rc::Rc::strong_count(&shared), 1);
        // The memory kept is reused by records of another type, then freed.
        let mut tape: Tape<(usize,)> = Tape::new();
        let mut writer = tape.writer(9_000);
        for k in 0..9_000 {
            writer.push((k,));
        }
        drop(writer);
        assert_eq!(tape.pop(), (8_999,));
        drop(tape);
        release_memory();
    }

    #[test]
    fn a_saved_buffer_comes_back_whole() {
        let mut tape = Tape::new();
        tape.reserve_slices(2, 3);
        tape.push_slice(&[1.0, 2.0, 3.0]);
        tape.push_slice(&[4.0, 5.0, 6.0]);
        let mut buffer = [0.0; 3];
        tape.pop_slice(&mut buffer);
        assert_eq!(buffer, [4.0, 5.0, 6.0]);
        tape.pop_slice(&mut buffer);
        assert_eq!(buffer, [1.0, 2.0, 3.0]);
        assert!(tape.is_empty());
    }
    use super::*;
    use std::rc::Rc;

    #[test]
    fn a_writer_and_a_reader_hand_back_records_in_reverse_and_drop_each_once() {
        let alive = Rc::new(());
        let mut tape = Tape::new();
        for round in 0..3 {
            let mut writer = tape.writer(4);
            for k in 0..4 {
                writer.push((round * 10 + k, Rc::clone(&alive)));
            }
        }
        assert_eq!(tape.len(), 12);
        assert_eq!(Rc::strong_count(&alive), 13);
        {
            // Half of the last round's records; the rest stay on the tape.
            let mut reader = tape.reader();
            assert_eq!(reader.pop().0, 23);
            assert_eq!(reader.pop().0, 22);
        }
        assert_eq!(tape.len(), 10);
        assert_eq!(Rc::strong_count(&alive), 11);
        let mut reader = tape.reader();
        let order: Vec<i32> = (0..10).map(|_| reader.pop().0).collect();
        drop(reader);
        assert_eq!(order, [21, 20, 13, 12, 11, 10, 3, 2, 1, 0]);
        assert!(tape.is_empty());
        assert_eq!(Rc::strong_count(&alive), 1);
    }

    #[test]
    fn a_writer_left_early_keeps_what_it_wrote_and_the_tape_counts_it() {
        reset_bytes_recorded();
        let mut tape = Tape::new();
        {
            let mut writer = tape.writer(8);
            for k in 0..8 {
                if k == 3 {
                    break;
                }
                writer.push(k as f64);
            }
        }
        assert_eq!(tape.len(), 3);
        let mut reader = tape.reader();
        assert_eq!(reader.pop(), 2.0);
        drop(reader);
        drop(tape);
        assert_eq!(bytes_recorded(), 24);
        assert_eq!(peak_bytes(), 24);
    }

    #[test]
    #[should_panic(expected = "pushed more records than it reserved")]
    fn a_writer_refuses_more_records_than_it_reserved() {
        let mut tape = Tape::new();
        let mut writer = tape.writer(2);
        // `reserve` may round up: past whatever room there is.
        for k in 0..1000 {
            writer.push(k);
        }
    }

    #[test]
    #[should_panic(expected = "popped more records than its loop pushed")]
    fn a_reader_refuses_to_pop_an_empty_tape() {
        let mut tape: Tape<f64> = Tape::new();
        tape.reader().pop();
    }
}
