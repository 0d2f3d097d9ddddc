//! Where to cut a list into `created_at` windows (pure).
//!
//! The API lists newest first (`created_at` descending, §2) and filters `created_at` with
//! inclusive millisecond bounds (`min_created`, `max_created`, §3). So once a window has handed
//! out rows down to millisecond `t`, every row it has not handed out lies in `[min, t]`: that
//! range can be read as several windows at once, each with its own cursor. Rows of millisecond
//! `t` already handed out are skipped by key in the newest of them (see `Scan`), so a
//! millisecond shared by many rows is neither lost nor repeated.

use crate::pushdown::MsRange;

/// Fewest pages a new window is expected to hold. Each window ends with a part-filled page, so
/// windows of at least ten pages add at most a tenth to the requests of a sequential read.
pub const MIN_WINDOW_PAGES: u64 = 10;

/// What a window has read so far, for [`cut`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The window's bounds.
    pub range: MsRange,
    /// Rows the window matches, when its first page said (`total`).
    pub total: Option<u64>,
    /// Rows received so far.
    pub received: u64,
    /// `created_at` of the first row received (the newest).
    pub newest: i64,
    /// `created_at` of the last row received (the oldest so far).
    pub oldest: i64,
}

/// Bounds of at most `most` windows that together cover exactly what is left of a window,
/// `[range.min, oldest]`, newest first and without overlap; empty when cutting is not worth it
/// (fewer than two windows of [`MIN_WINDOW_PAGES`] pages expected, or nothing older than
/// `oldest` can be left).
///
/// With a lower bound the range is cut into equal spans of time. Without one, the windows are
/// sized by the density of the rows read so far (rows per millisecond), each for a share of the
/// rows left (`total`, when known) or for [`MIN_WINDOW_PAGES`] pages, and the oldest window is
/// open below. A wrong guess costs balance, never rows: each window may be cut again.
pub fn cut(progress: &Progress, page_size: u64, most: usize) -> Vec<MsRange> {
    let t = progress.oldest;
    if progress.range.min.is_some_and(|lo| lo >= t) || most < 2 {
        return Vec::new();
    }
    let read_span = (progress.newest.saturating_sub(t)).max(0) as f64 + 1.0;
    let density = progress.received.max(1) as f64 / read_span;
    let left = progress
        .total
        .map(|n| n.saturating_sub(progress.received))
        .or_else(|| {
            progress
                .range
                .min
                .map(|lo| (density * (i128::from(t) - i128::from(lo) + 1) as f64) as u64)
        });
    let window_rows = MIN_WINDOW_PAGES * page_size.max(1);
    let count = match left {
        Some(rows) => (rows / window_rows).min(most as u64) as usize,
        None => most,
    };
    if count < 2 {
        return Vec::new();
    }
    let windows = match progress.range.min {
        Some(lo) => equal_spans(lo, t, count),
        None => {
            let rows_each = left.map_or(window_rows, |rows| rows / count as u64);
            let span = ((rows_each as f64 / density).ceil() as i64).max(1);
            open_below(t, span, count)
        }
    };
    if windows.len() < 2 {
        return Vec::new();
    }
    windows
}

/// `[lo, t]` as `count` spans of (nearly) equal length, newest first.
fn equal_spans(lo: i64, t: i64, count: usize) -> Vec<MsRange> {
    let length = i128::from(t) - i128::from(lo) + 1;
    let count = (count as i128).min(length);
    // Edge i is the lowest millisecond of window i (counting from the newest).
    let edge = |i: i128| (i128::from(t) + 1 - length * (i + 1) / count) as i64;
    (0..count)
        .map(|i| MsRange {
            min: Some(edge(i)),
            max: Some(if i == 0 { t } else { edge(i - 1) - 1 }),
        })
        .collect()
}

/// `count` windows below and including `t`: `count - 1` of `span` milliseconds, newest first,
/// then one open below.
fn open_below(t: i64, span: i64, count: usize) -> Vec<MsRange> {
    let mut windows = Vec::with_capacity(count);
    let mut max = t;
    for _ in 1..count {
        let min = max.saturating_sub(span - 1);
        windows.push(MsRange {
            min: Some(min),
            max: Some(max),
        });
        if min == i64::MIN {
            return windows;
        }
        max = min - 1;
    }
    windows.push(MsRange {
        min: None,
        max: Some(max),
    });
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(
        min: Option<i64>,
        total: Option<u64>,
        received: u64,
        newest: i64,
        oldest: i64,
    ) -> Progress {
        Progress {
            range: MsRange { min, max: None },
            total,
            received,
            newest,
            oldest,
        }
    }

    /// The windows cover `[lo, t]` (or everything up to `t`) exactly once, newest first.
    fn assert_partition(windows: &[MsRange], lo: Option<i64>, t: i64) {
        assert_eq!(windows[0].max, Some(t), "{windows:?}");
        for pair in windows.windows(2) {
            let (newer, older) = (pair[0], pair[1]);
            assert!(newer.min.unwrap() <= newer.max.unwrap(), "{windows:?}");
            assert_eq!(older.max, Some(newer.min.unwrap() - 1), "{windows:?}");
        }
        assert_eq!(windows.last().unwrap().min, lo, "{windows:?}");
    }

    #[test]
    fn a_bounded_range_is_cut_into_equal_spans() {
        // 250 rows over 1,000 ms; 100,000 rows left in [0, 999_000].
        let p = progress(Some(0), Some(100_250), 250, 1_000_000, 999_000);
        let windows = cut(&p, 250, 8);
        assert_eq!(windows.len(), 8);
        assert_partition(&windows, Some(0), 999_000);
        let lengths: Vec<i64> = windows
            .iter()
            .map(|w| w.max.unwrap() - w.min.unwrap() + 1)
            .collect();
        assert!(
            lengths.iter().all(|&l| (124_875..=124_876).contains(&l)),
            "{lengths:?}"
        );
    }

    #[test]
    fn too_few_rows_left_for_two_windows_is_no_cut() {
        let p = progress(Some(0), Some(250 + 19 * 250), 250, 2_000, 1_000);
        assert!(
            cut(&p, 250, 8).is_empty(),
            "19 pages left: one window of 10 at most"
        );
        let p = progress(Some(0), Some(250 + 20 * 250), 250, 2_000, 1_000);
        assert_eq!(cut(&p, 250, 8).len(), 2);
        assert!(
            cut(&p, 250, 1).is_empty(),
            "one free stream: nothing to gain"
        );
    }

    #[test]
    fn nothing_below_the_last_millisecond_is_no_cut() {
        let p = progress(Some(1_000), Some(100_000), 250, 1_000, 1_000);
        assert!(cut(&p, 250, 8).is_empty());
    }

    #[test]
    fn a_span_shorter_than_the_count_gives_one_window_per_millisecond() {
        let p = progress(Some(997), Some(100_000), 250, 1_000, 999);
        let windows = cut(&p, 250, 8);
        assert_eq!(windows.len(), 3);
        assert_partition(&windows, Some(997), 999);
    }

    #[test]
    fn without_a_lower_bound_windows_follow_the_density_and_the_last_is_open() {
        // 250 rows in 250 ms: one row a millisecond; 80,000 rows left in 8 windows.
        let p = progress(None, Some(80_250), 250, 10_000_249, 10_000_000);
        let windows = cut(&p, 250, 8);
        assert_eq!(windows.len(), 8);
        assert_partition(&windows, None, 10_000_000);
        assert_eq!(windows[0].min, Some(10_000_000 - 10_000 + 1));
    }

    #[test]
    fn without_total_or_lower_bound_each_window_is_sized_for_ten_pages() {
        let p = progress(None, None, 250, 249, 0);
        let windows = cut(&p, 250, 4);
        assert_eq!(windows.len(), 4);
        assert_partition(&windows, None, 0);
        assert_eq!(
            windows[0].min,
            Some(-2_499),
            "2,500 rows at one a millisecond"
        );
    }

    #[test]
    fn extreme_values_neither_overflow_nor_leave_a_gap() {
        let p = progress(Some(i64::MIN), Some(u64::MAX), 1, i64::MAX, i64::MAX - 1);
        let windows = cut(&p, 250, 8);
        assert_partition(&windows, Some(i64::MIN), i64::MAX - 1);
        let p = progress(None, Some(u64::MAX), 1, i64::MIN + 5, i64::MIN + 5);
        // The first window would already reach the lowest millisecond there is: no cut.
        assert!(cut(&p, 1, 8).is_empty());
    }

    #[test]
    fn windows_always_partition_what_is_left() {
        // A small property check over many shapes.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..10_000 {
            let t = (next() % 2_000_000) as i64 - 1_000_000;
            let newest = t + (next() % 100_000) as i64;
            let lo = (next() % 2 == 0).then(|| t - (next() % 3_000_000) as i64);
            let total = (next() % 2 == 0).then(|| next() % 1_000_000);
            let p = Progress {
                range: MsRange { min: lo, max: None },
                total,
                received: 1 + next() % 250,
                newest,
                oldest: t,
            };
            let windows = cut(&p, 1 + next() % 250, 1 + (next() % 16) as usize);
            if !windows.is_empty() {
                assert_partition(&windows, lo, t);
            }
        }
    }
}
