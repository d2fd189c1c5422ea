//! Index arithmetic for sub-slices and iterator adaptors in generated code.
//!
//! The macro turns `&x[a..b]`, `windows(k)`, `skip(n)` and their kin into index arithmetic on
//! the array they view, so that an element's adjoint lands in the array's adjoint. These
//! helpers keep the checks the slice itself would have made: an out-of-range sub-slice or
//! index panics as it does in the original function.

/// The length of `a..b` inside a slice of length `len`, panicking as `&x[a..b]` would.
#[inline]
pub fn sub_range(a: usize, b: usize, len: usize) -> usize {
    if a > b {
        panic!("slice index starts at {a} but ends at {b}");
    }
    if b > len {
        panic!("range end index {b} out of range for slice of length {len}");
    }
    b - a
}

/// The length of `a..` inside a slice of length `len`, panicking as `&x[a..]` would.
#[inline]
pub fn sub_range_from(a: usize, len: usize) -> usize {
    if a > len {
        panic!("range start index {a} out of range for slice of length {len}");
    }
    len - a
}

/// The position in the viewed array of index `i` of a view starting at `start` with `len`
/// elements, panicking as indexing the sub-slice would.
#[inline]
pub fn view_index(start: usize, i: usize, len: usize) -> usize {
    if i >= len {
        panic!("index out of bounds: the len is {len} but the index is {i}");
    }
    start + i
}

/// The index of the last element of `len`, for `x.last().unwrap()`.
#[inline]
pub fn last_index(len: usize) -> usize {
    match len.checked_sub(1) {
        Some(last) => last,
        None => panic!("called `Option::unwrap()` on a `None` value"),
    }
}

/// How many integers `a..b` has (none when `b < a`); also what `skip(a)` leaves of `b`.
#[inline]
pub fn range_count(a: usize, b: usize) -> usize {
    b.saturating_sub(a)
}

/// How many items `take(n)` leaves of `count` (and `zip` of two counts).
#[inline]
pub fn take_count(count: usize, n: usize) -> usize {
    count.min(n)
}

/// The length of both sides of `copy_from_slice`, which panics when they differ.
#[inline]
pub fn same_len(dst: usize, src: usize) -> usize {
    if dst != src {
        panic!("source slice length ({src}) does not match destination slice length ({dst})");
    }
    dst
}

/// How many windows of `k` `windows(k)` makes of `len` elements.
#[inline]
pub fn windows_count(len: usize, k: usize) -> usize {
    assert!(k != 0, "window size must be non-zero");
    (len + 1).saturating_sub(k)
}

/// How many chunks of `k` `chunks(k)` makes of `len` elements (the last may be shorter).
#[inline]
pub fn chunks_count(len: usize, k: usize) -> usize {
    assert!(k != 0, "chunk size must be non-zero");
    len.div_ceil(k)
}

/// How many items `step_by(k)` keeps of `count`.
#[inline]
pub fn step_count(count: usize, k: usize) -> usize {
    assert!(k != 0, "assertion failed: step != 0");
    count.div_ceil(k)
}

/// Where the first item of a reversed `step_by(k)` lies: `step_by` keeps the last of the
/// reversed run, so the kept positions start at `(count - 1) % k`.
#[inline]
pub fn reversed_step_offset(count: usize, k: usize) -> usize {
    if count == 0 {
        0
    } else {
        (count - 1) % k
    }
}

/// The length of chunk `i` of `chunks(k)` over `len` elements.
#[inline]
pub fn chunk_len(i: usize, k: usize, len: usize) -> usize {
    k.min(len - i * k)
}

/// The windows of `width` elements of `array` for the iterations of an ascending range loop
/// starting at `range`'s start, which reads `array[i + offset ..= i + offset + width - 1]`
/// in iteration `i`: window `j` holds what iteration `start + j` reads. A loop zipped with
/// them reads its elements as `window[k]`, indices the compiler knows are in bounds, where
/// `array[i + k]` kept a check in every iteration that stopped vectorisation.
///
/// The generated code zips the range with these windows only for a loop that already ran
/// over the same range reading the same elements, so there are at least as many windows as
/// iterations; a start before the array (a negative offset on an empty range) gives none.
#[inline]
pub fn windows_from<'a, T, R: std::ops::RangeBounds<usize>>(
    array: &'a [T],
    range: &R,
    offset: isize,
    width: usize,
) -> std::slice::Windows<'a, T> {
    let start = match range.start_bound() {
        std::ops::Bound::Included(&s) => Some(s),
        std::ops::Bound::Excluded(&s) => s.checked_add(1),
        std::ops::Bound::Unbounded => Some(0),
    };
    start
        .and_then(|s| s.checked_add_signed(offset))
        .and_then(|s| array.get(s..))
        .unwrap_or(&[])
        .windows(width)
}

/// The row `array[base..base + end]` that iterations `i` of the range loop `start..end` read
/// at `array[base + i]`: an adjoint loop indexing the row as `row[i]` lets the compiler check
/// the bounds once instead of in every iteration, where the checks stopped vectorisation.
///
/// The generated code asks for a row only for a loop whose range is not empty and whose
/// forward iterations read or wrote `array[base + i]` in every iteration, so the row is in
/// bounds. Its length is exactly `end`, which is what lets the compiler drop the checks of
/// `row[i]` for `i < end` (a row that might also be empty would not).
#[inline]
pub fn row<'a, T>(array: &'a [T], range: &std::ops::Range<usize>, base: usize) -> &'a [T] {
    &array[base..][..range.end]
}

/// [`row`], to write through.
#[inline]
pub fn row_mut<'a, T>(
    array: &'a mut [T],
    range: &std::ops::Range<usize>,
    base: usize,
) -> &'a mut [T] {
    &mut array[base..][..range.end]
}

/// A range loop's iterations in blocks of `width`: the blocks' numbers, the index the first
/// block starts at, and the indices left after the last block. Block `b` holds the indices
/// `first + width * b..first + width * (b + 1)`.
#[inline]
pub fn blocks_of(
    range: std::ops::Range<usize>,
    width: usize,
) -> (std::ops::Range<usize>, usize, std::ops::Range<usize>) {
    let blocks = range.len() / width;
    let rest = range.start + width * blocks;
    (0..blocks, range.start, rest..range.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_standard_adaptors() {
        let x: Vec<f64> = (0..7).map(f64::from).collect();
        for k in 1..9 {
            assert_eq!(windows_count(x.len(), k), x.windows(k).count());
            assert_eq!(chunks_count(x.len(), k), x.chunks(k).count());
            assert_eq!(step_count(x.len(), k), x.iter().step_by(k).count());
            let kept: Vec<f64> = x.iter().rev().step_by(k).copied().collect();
            let offset = reversed_step_offset(x.len(), k);
            let n = step_count(x.len(), k);
            let ours: Vec<f64> = (0..n).map(|i| x[offset + (n - 1 - i) * k]).collect();
            assert_eq!(kept, ours, "rev().step_by({k})");
            for (i, chunk) in x.chunks(k).enumerate() {
                assert_eq!(chunk.len(), chunk_len(i, k, x.len()));
            }
        }
    }

    #[test]
    fn blocks_and_the_rest_cover_the_range_once() {
        for (start, end) in [(0, 0), (0, 3), (0, 8), (2, 13), (5, 5)] {
            let (blocks, first, rest) = blocks_of(start..end, 4);
            let mut seen: Vec<usize> = blocks
                .flat_map(|b| (0..4).map(move |k| first + 4 * b + k))
                .collect();
            seen.extend(rest);
            assert_eq!(seen, (start..end).collect::<Vec<_>>(), "{start}..{end}");
        }
    }

    #[test]
    fn rows_cover_the_iterations() {
        let x: Vec<i32> = (0..12).collect();
        assert_eq!(row(&x, &(0..4), 4), &[4, 5, 6, 7]);
        // The row starts at `base`: index `i` of iteration `i` is `base + i`.
        assert_eq!(row(&x, &(2..4), 4), &[4, 5, 6, 7]);
        let mut y = x.clone();
        row_mut(&mut y, &(0..2), 10)[1] += 100;
        assert_eq!(y[11], 111);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn a_range_past_the_end_panics() {
        sub_range(2, 9, 5);
    }

    #[test]
    #[should_panic(expected = "index out of bounds")]
    fn an_index_past_a_view_panics() {
        view_index(3, 2, 2);
    }

    #[test]
    fn window_j_holds_what_iteration_start_plus_j_reads() {
        let x = [10, 11, 12, 13, 14, 15];
        // `for i in 1..4` reading x[i - 1], x[i], x[i + 1].
        let windows: Vec<&[i32]> = windows_from(&x, &(1..4), -1, 3).collect();
        assert_eq!(windows[..3], [&x[0..3], &x[1..4], &x[2..5]]);
        for (i, w) in (1..4).zip(windows_from(&x, &(1..4), -1, 3)) {
            assert_eq!(w, [x[i - 1], x[i], x[i + 1]]);
        }
        // `for i in 2..=4` reading x[i] and x[i + 1].
        for (i, w) in (2..=4).zip(windows_from(&x, &(2..=4), 0, 2)) {
            assert_eq!(w, [x[i], x[i + 1]]);
        }
        // An empty range whose start minus the offset falls before the array: no windows.
        assert_eq!(windows_from(&x, &(0..0), -1, 3).count(), 0);
        // A start past the end: none either.
        assert_eq!(windows_from(&x, &(9..9), 0, 2).count(), 0);
    }
}
