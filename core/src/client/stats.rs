//! Traffic counters, reported by EXPLAIN ANALYZE.

/// How many request lines [`Stats::log`] keeps: enough to show a scan's paging and retries in
/// EXPLAIN (ANALYZE, VERBOSE) without a long scan making the plan unreadable.
pub const STATS_LOG_LINES: usize = 20;

/// Counters a scan reports in EXPLAIN ANALYZE.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Retries after 429/5xx.
    pub retries: u64,
    /// List pages read.
    pub pages: u64,
    /// Items received.
    pub items: u64,
    /// Time spent waiting for the client-side rate limit.
    pub throttled_ms: u64,
    /// Cursors and lookups run (a list request split into created_at windows counts each
    /// window); 0 when nothing was read.
    pub streams: u64,
    /// Most requests in flight at once.
    pub peak_in_flight: u64,
    /// The first [`STATS_LOG_LINES`] requests made, each as
    /// [`request_line`](super::request_line) writes it (verb, path and query; never
    /// credentials).
    pub log: Vec<String>,
}

impl Stats {
    /// Adds `other` into these counters; its log lines follow these, up to
    /// [`STATS_LOG_LINES`] in all (e.g. the total of several runs of a rescanned scan).
    pub fn add(&mut self, other: &Stats) {
        self.requests += other.requests;
        self.retries += other.retries;
        self.pages += other.pages;
        self.items += other.items;
        self.throttled_ms += other.throttled_ms;
        self.streams += other.streams;
        self.peak_in_flight = self.peak_in_flight.max(other.peak_in_flight);
        let room = STATS_LOG_LINES.saturating_sub(self.log.len());
        self.log.extend(other.log.iter().take(room).cloned());
    }

    /// Logs one request line, unless the log is full.
    pub(super) fn record(&mut self, line: String) {
        if self.log.len() < STATS_LOG_LINES {
            self.log.push(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(requests: u64, lines: usize) -> Stats {
        Stats {
            requests,
            retries: 1,
            pages: 2,
            items: 3,
            throttled_ms: 4,
            streams: 2,
            peak_in_flight: requests,
            log: (0..lines)
                .map(|i| format!("GET /r{requests}/{i}"))
                .collect(),
        }
    }

    #[test]
    fn add_sums_every_counter_and_caps_the_log() {
        let mut total = run(5, 15);
        total.add(&run(7, 15));
        assert_eq!(
            (
                total.requests,
                total.retries,
                total.pages,
                total.items,
                total.throttled_ms,
                total.streams,
                total.peak_in_flight
            ),
            (12, 2, 4, 6, 8, 4, 7),
            "counters add up; the peak is the larger one"
        );
        assert_eq!(total.log.len(), STATS_LOG_LINES);
        assert_eq!(total.log[14], "GET /r5/14");
        assert_eq!(total.log[15], "GET /r7/0");
        assert_eq!(total.log[19], "GET /r7/4");
        let full = total.log.clone();
        total.add(&run(1, 3));
        assert_eq!(total.log, full, "a full log takes no more lines");
        assert_eq!(total.requests, 13);
    }

    #[test]
    fn record_stops_at_the_cap() {
        let mut stats = Stats::default();
        for i in 0..STATS_LOG_LINES + 5 {
            stats.record(format!("GET /{i}"));
        }
        assert_eq!(stats.log.len(), STATS_LOG_LINES);
        assert_eq!(stats.log.last().unwrap(), "GET /19");
    }
}
