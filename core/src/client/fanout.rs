//! Several requests in flight for one statement: each job (a request with its retries) runs on
//! one of the fan-out's request threads (`pool.rs`: started as needed up to the limit, reused
//! by the next jobs, ended with the fan-out) while the caller's thread, a Postgres backend's,
//! waits for the answers and answers a cancel.
//!
//! The request threads touch no Postgres state: they hold a [`Client::detached`] copy of the
//! client whose interrupt check is a flag, not the backend's. The caller's thread is the only
//! one that consults the backend's own check; when it says the statement is cancelled, the flag
//! is raised and the caller returns at once. A job then stops at its next wait (rate limit,
//! backoff) and a request already on the wire ends on its own (`timeout_ms` at most); its
//! answer is dropped. Dropping the fan-out raises the flag too, and ends its threads: idle ones
//! at once, busy ones when their job ends (waiting at most `SHUTDOWN_WAIT` of `pool.rs`; one still
//! waiting for an answer after that ends on its own when the answer comes, sending nothing
//! more).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use super::pool::Pool;
use super::transport::INTERRUPT_POLL;
use super::{Client, Stats};
use crate::error::ApiError;

/// What a finished job gives back.
#[derive(Debug)]
pub struct Done<T> {
    /// The tag the job was started with.
    pub tag: usize,
    /// The job's result.
    pub result: Result<T, ApiError>,
    /// What the job sent and received.
    pub stats: Stats,
}

/// Jobs in flight for one statement, at most `limit` at once.
#[derive(Debug)]
pub struct Fanout<T> {
    limit: usize,
    stop: Arc<AtomicBool>,
    sender: mpsc::Sender<Done<T>>,
    inbox: mpsc::Receiver<Done<T>>,
    in_flight: usize,
    /// Most jobs that were in flight at once.
    pub peak: usize,
    pool: Pool,
}

impl<T: Send + 'static> Fanout<T> {
    /// A fan-out keeping at most `limit` (at least 1) jobs in flight.
    pub fn new(limit: usize) -> Fanout<T> {
        let (sender, inbox) = mpsc::channel();
        Fanout {
            limit: limit.max(1),
            stop: Arc::new(AtomicBool::new(false)),
            sender,
            inbox,
            in_flight: 0,
            peak: 0,
            pool: Pool::new(limit.max(1)),
        }
    }

    /// Whether another job may start now.
    pub fn has_room(&self) -> bool {
        self.in_flight < self.limit
    }

    /// Jobs started and not yet collected by [`Fanout::next_done`].
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Starts `job` on an idle request thread (every signal blocked), or a new one while fewer
    /// than the limit exist, with a detached copy of `client`. The caller checks
    /// [`Fanout::has_room`] first.
    pub fn start(
        &mut self,
        client: &Client,
        tag: usize,
        job: impl FnOnce(&Client, &mut Stats) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<(), ApiError> {
        debug_assert!(self.has_room(), "a job started beyond the limit");
        let detached = client.detached(self.stop.clone());
        let stop = self.stop.clone();
        let sender = self.sender.clone();
        let task = Box::new(move || {
            let mut stats = Stats::default();
            let result = if stop.load(Ordering::Relaxed) {
                // Queued when the statement ended: nothing is sent.
                Err(ApiError::Cancelled)
            } else {
                // A job that panics still answers, so the statement never waits for it forever.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    job(&detached, &mut stats)
                }))
                .unwrap_or_else(|_| {
                    Err(ApiError::Transport {
                        host: detached.host().to_owned(),
                        detail: "a request thread failed".into(),
                    })
                })
            };
            // The receiver is gone when the statement ended first: the answer is dropped.
            let _ = sender.send(Done { tag, result, stats });
        });
        self.pool
            .execute(task, self.in_flight + 1)
            .map_err(|e| ApiError::Transport {
                host: client.host().to_owned(),
                detail: format!("cannot start a request thread: {e}"),
            })?;
        self.in_flight += 1;
        self.peak = self.peak.max(self.in_flight);
        Ok(())
    }

    /// Request threads started so far: at most the limit, however many jobs ran.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// Waits for the next job to finish, checking `client`'s interrupt (the backend's) on every
    /// call and every [`INTERRUPT_POLL`] of waiting, so that answers arriving fast never hide
    /// a cancel; a cancel stops every job and is `Err(Cancelled)` at once. `None` when no job
    /// is in flight.
    pub fn next_done(&mut self, client: &Client) -> Result<Option<Done<T>>, ApiError> {
        if self.in_flight == 0 {
            return Ok(None);
        }
        loop {
            if client.interrupted() {
                self.stop.store(true, Ordering::Relaxed);
                return Err(ApiError::Cancelled);
            }
            match self.inbox.recv_timeout(INTERRUPT_POLL) {
                Ok(done) => {
                    self.in_flight -= 1;
                    return Ok(Some(done));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    unreachable!("the fan-out holds a sender itself")
                }
            }
        }
    }

    /// Tells every job in flight to stop at its next wait (their answers are dropped).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl<T> Drop for Fanout<T> {
    fn drop(&mut self) {
        // Raised before the pool ends (its own drop, after this), so that queued jobs send
        // nothing and waiting ones stop.
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientConfig;
    use std::time::{Duration, Instant};

    fn client() -> Client {
        Client::new(ClientConfig::new("http://127.0.0.1:1/api/v2", "pk", "sk")).unwrap()
    }

    #[test]
    fn jobs_run_at_once_up_to_the_limit_and_every_result_comes_back() {
        let client = client();
        let mut fanout = Fanout::new(3);
        let start = Instant::now();
        for tag in 0..3 {
            assert!(fanout.has_room());
            fanout
                .start(&client, tag, move |_, stats| {
                    std::thread::sleep(Duration::from_millis(200));
                    stats.requests += 1;
                    Ok(tag * 10)
                })
                .unwrap();
        }
        assert!(!fanout.has_room());
        assert_eq!(fanout.peak, 3);
        let mut got = Vec::new();
        while let Some(done) = fanout.next_done(&client).unwrap() {
            assert_eq!(done.stats.requests, 1);
            got.push((done.tag, done.result.unwrap()));
        }
        got.sort();
        assert_eq!(got, vec![(0, 0), (1, 10), (2, 20)]);
        // Three jobs of 200 ms together, not one after the other.
        assert!(
            start.elapsed() < Duration::from_millis(550),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn a_cancel_returns_at_once_and_stops_the_jobs() {
        let cancelled = Arc::new(AtomicBool::new(false));
        let mut client = client();
        let flag = cancelled.clone();
        client.set_interrupt(Arc::new(move || flag.load(Ordering::Relaxed)));
        let mut fanout = Fanout::<bool>::new(2);
        let (seen_tx, seen) = mpsc::channel();
        let (running_tx, running) = mpsc::channel();
        fanout
            .start(&client, 0, move |detached, _| {
                running_tx.send(()).unwrap();
                // Waits like a backoff would, until the job is told to stop.
                let stopped = detached.wait(Duration::from_secs(30)).is_err();
                seen_tx.send(stopped).unwrap();
                Ok(stopped)
            })
            .unwrap();
        // Cancelled while the job waits (a job still queued would not run at all).
        running.recv_timeout(Duration::from_secs(2)).unwrap();
        cancelled.store(true, Ordering::Relaxed);
        let start = Instant::now();
        assert!(matches!(
            fanout.next_done(&client),
            Err(ApiError::Cancelled)
        ));
        assert!(start.elapsed() < Duration::from_millis(500));
        assert!(seen.recv_timeout(Duration::from_secs(2)).unwrap());
    }

    #[test]
    fn a_job_that_panics_is_an_error_not_a_wait_forever() {
        let client = client();
        let mut fanout = Fanout::<u8>::new(2);
        fanout
            .start(&client, 0, |_, _| panic!("a bug in a job"))
            .unwrap();
        let done = fanout.next_done(&client).unwrap().unwrap();
        assert!(
            matches!(done.result, Err(ApiError::Transport { .. })),
            "{:?}",
            done.result
        );
        assert_eq!(fanout.in_flight(), 0);
        // The thread that ran it takes the next job.
        fanout.start(&client, 1, |_, _| Ok(5)).unwrap();
        let done = fanout.next_done(&client).unwrap().unwrap();
        assert_eq!((done.tag, done.result.unwrap()), (1, 5));
        assert_eq!(fanout.threads(), 1);
    }

    #[test]
    fn a_cancel_is_seen_while_answers_keep_coming() {
        let cancelled = Arc::new(AtomicBool::new(false));
        let mut client = client();
        let flag = cancelled.clone();
        client.set_interrupt(Arc::new(move || flag.load(Ordering::Relaxed)));
        let mut fanout = Fanout::<usize>::new(8);
        let (mut next, total, mut done) = (0usize, 400usize, 0usize);
        loop {
            // As a statement sending rows: start while there is room, then take one answer.
            while next < total && fanout.has_room() {
                fanout
                    .start(&client, next, |_, _| {
                        std::thread::sleep(Duration::from_millis(10));
                        Ok(0)
                    })
                    .unwrap();
                next += 1;
            }
            if done == 20 {
                cancelled.store(true, Ordering::Relaxed);
            }
            match fanout.next_done(&client) {
                Ok(Some(_)) => done += 1,
                Ok(None) => panic!("every job ran: the cancel was missed"),
                Err(e) => {
                    assert!(matches!(e, ApiError::Cancelled));
                    break;
                }
            }
        }
        assert_eq!(done, 20, "the cancel is seen at the next answer");
    }

    #[test]
    fn every_job_reuses_the_same_few_threads() {
        let client = client();
        let mut fanout = Fanout::<std::thread::ThreadId>::new(4);
        let (mut started, mut threads) = (0, std::collections::HashSet::new());
        loop {
            while started < 100 && fanout.has_room() {
                fanout
                    .start(&client, started, |_, _| Ok(std::thread::current().id()))
                    .unwrap();
                started += 1;
            }
            match fanout.next_done(&client).unwrap() {
                Some(done) => {
                    threads.insert(done.result.unwrap());
                }
                None => break,
            }
        }
        assert_eq!(started, 100);
        assert!(fanout.threads() <= 4, "{} threads", fanout.threads());
        assert!(
            threads.len() <= 4,
            "100 jobs ran on {} threads",
            threads.len()
        );
    }

    #[test]
    fn dropping_it_with_jobs_in_flight_stops_and_joins_them() {
        let client = client();
        let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stopped_tx, stopped) = mpsc::channel();
        let mut fanout = Fanout::<()>::new(3);
        for tag in 0..3 {
            let (ran, stopped_tx) = (ran.clone(), stopped_tx.clone());
            fanout
                .start(&client, tag, move |detached, _| {
                    ran.fetch_add(1, Ordering::SeqCst);
                    // A backoff wait: ends when the fan-out stops its jobs.
                    let result = detached.wait(Duration::from_secs(30));
                    stopped_tx.send(result.is_err()).unwrap();
                    result
                })
                .unwrap();
        }
        while ran.load(Ordering::SeqCst) < 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let started = Instant::now();
        drop(fanout);
        // Every job saw the stop and every thread was joined (the waits end within a poll).
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
        for _ in 0..3 {
            assert!(
                stopped.try_recv().unwrap(),
                "each job stopped before the drop returned"
            );
        }
    }
}
