//! The request threads of one [`super::Fanout`]: started when a job finds none idle, up to the
//! fan-out's limit, reused for every later job, and ended with the fan-out.
//!
//! A thread per job let the C allocator give many threads an arena each (glibc makes up to 8
//! per core, each keeping freed memory for its next user): a scan of 2 million rows at 8 in
//! flight passed through 8,000 threads and its backend's peak RSS grew with the rows. A pool
//! touches at most `limit` arenas however long the scan. Every thread starts with every signal
//! blocked (see [`with_signals_blocked`]) and never touches Postgres state.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::transport::{INTERRUPT_POLL, with_signals_blocked};

/// One unit of work for a pool thread. It reports its own result (a panic in it is caught and
/// the thread goes on).
pub(super) type Task = Box<dyn FnOnce() + Send>;

/// How long ending a pool waits for threads still busy. A job in a backoff or rate-limit
/// wait sees its fan-out's stop within [`INTERRUPT_POLL`]; a request already on the wire
/// cannot be interrupted (the blocking HTTP client has no abort) and may last `timeout_ms`,
/// which a cancel must not wait for (it ends the statement within a second).
pub(super) const SHUTDOWN_WAIT: Duration =
    Duration::from_millis(2 * INTERRUPT_POLL.as_millis() as u64);

/// Threads taking [`Task`]s from one queue.
#[derive(Debug)]
pub(super) struct Pool {
    limit: usize,
    /// Closed (dropped) to tell idle threads to end.
    queue: Option<mpsc::Sender<Task>>,
    tasks: Arc<Mutex<mpsc::Receiver<Task>>>,
    /// Each thread holds a clone until it ends: the receiver sees them all gone.
    alive: Option<mpsc::Sender<()>>,
    ended: mpsc::Receiver<()>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// A pool of at most `limit` (at least 1) threads, none started yet.
    pub(super) fn new(limit: usize) -> Pool {
        let (queue, tasks) = mpsc::channel();
        let (alive, ended) = mpsc::channel();
        Pool {
            limit: limit.max(1),
            queue: Some(queue),
            tasks: Arc::new(Mutex::new(tasks)),
            alive: Some(alive),
            ended,
            threads: Vec::new(),
        }
    }

    /// Threads started so far (all alive until [`Pool::shutdown`]).
    pub(super) fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Queues `task`, first starting a thread when fewer than `busy` (the caller's tasks not
    /// yet finished, this one included) exist and the limit allows: so a task never waits
    /// behind another while the caller keeps at most `limit` unfinished.
    pub(super) fn execute(&mut self, task: Task, busy: usize) -> std::io::Result<()> {
        if self.threads.len() < busy.min(self.limit) {
            self.spawn()?;
        }
        let queue = self
            .queue
            .as_ref()
            .expect("a pool is used only before shutdown");
        queue
            .send(task)
            .map_err(|_| std::io::Error::other("every request thread ended"))
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let tasks = self.tasks.clone();
        let alive = self
            .alive
            .clone()
            .expect("a pool is used only before shutdown");
        let thread = std::thread::Builder::new().name("partnerstack-job".into());
        let handle = with_signals_blocked(|| {
            thread.spawn(move || {
                let _alive = alive;
                loop {
                    // The lock is held only while waiting for the queue, never while working.
                    let task = match tasks.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(task) = task else {
                        return;
                    };
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task));
                }
            })
        })?;
        self.threads.push(handle);
        Ok(())
    }

    /// Closes the queue and joins every thread that ends within `wait`: idle ones at once,
    /// busy ones when their task ends. Returns how many were still busy and were left to end
    /// on their own (each after its task; tasks queued and not started still run, so they
    /// must check their own stop signal). Idempotent.
    pub(super) fn shutdown(&mut self, wait: Duration) -> usize {
        self.queue = None;
        self.alive = None;
        let deadline = Instant::now() + wait;
        // Disconnected once every thread has dropped its `alive`, its last act.
        let all_ended = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ended.recv_timeout(left) {
                Err(mpsc::RecvTimeoutError::Disconnected) => break true,
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() >= deadline => break false,
                _ => {}
            }
        };
        let mut left = 0;
        for handle in self.threads.drain(..) {
            if all_ended || handle.is_finished() {
                let _ = handle.join();
            } else {
                // Dropping the handle detaches the thread; see SHUTDOWN_WAIT.
                left += 1;
            }
        }
        left
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shutdown(SHUTDOWN_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Threads of these tests alive now: each counts itself once and uncounts at its end.
    static LIVE: AtomicUsize = AtomicUsize::new(0);

    struct Live;
    impl Drop for Live {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }
    thread_local! {
        static COUNTED: RefCell<Option<Live>> = const { RefCell::new(None) };
    }

    /// Counts the calling thread in `LIVE` until it ends (thread-local destructors run before
    /// a join returns).
    fn count_this_thread() {
        COUNTED.with(|counted| {
            counted.borrow_mut().get_or_insert_with(|| {
                LIVE.fetch_add(1, Ordering::SeqCst);
                Live
            });
        });
    }

    #[test]
    fn many_tasks_reuse_at_most_limit_threads() {
        let mut pool = Pool::new(3);
        let (done, finished) = mpsc::channel();
        let mut unfinished = 0;
        for n in 0..60 {
            // As a fan-out: at most 3 unfinished, the next started when one ends.
            if unfinished == 3 {
                finished.recv().unwrap();
                unfinished -= 1;
            }
            let done = done.clone();
            unfinished += 1;
            pool.execute(
                Box::new(move || {
                    std::thread::sleep(Duration::from_millis(n % 3));
                    done.send(std::thread::current().id()).unwrap();
                }),
                unfinished,
            )
            .unwrap();
        }
        drop(done);
        let mut ids: HashSet<_> = HashSet::new();
        while let Ok(id) = finished.recv_timeout(Duration::from_secs(5)) {
            ids.insert(id);
        }
        assert!(pool.threads() <= 3, "{} threads", pool.threads());
        assert!(
            !ids.is_empty() && ids.len() <= 3,
            "{} threads ran",
            ids.len()
        );
        assert_eq!(pool.shutdown(SHUTDOWN_WAIT), 0);
    }

    #[test]
    fn shutdown_joins_every_thread() {
        let before = LIVE.load(Ordering::SeqCst);
        let mut pool = Pool::new(4);
        let (done, finished) = mpsc::channel();
        for busy in 1..=4 {
            let done = done.clone();
            pool.execute(
                Box::new(move || {
                    count_this_thread();
                    std::thread::sleep(Duration::from_millis(30));
                    done.send(()).unwrap();
                }),
                busy,
            )
            .unwrap();
        }
        for _ in 0..4 {
            finished.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        assert_eq!(pool.threads(), 4);
        // Tests run at once share LIVE; ours are the 4 above `before` at most.
        assert!(LIVE.load(Ordering::SeqCst) >= 4);
        let started = Instant::now();
        assert_eq!(pool.shutdown(SHUTDOWN_WAIT), 0);
        assert!(
            started.elapsed() < SHUTDOWN_WAIT,
            "idle threads end at once"
        );
        assert_eq!(pool.threads(), 0);
        assert!(LIVE.load(Ordering::SeqCst) <= before);
        // Idempotent, and dropping it later waits for nothing.
        assert_eq!(pool.shutdown(SHUTDOWN_WAIT), 0);
    }

    #[test]
    fn a_task_that_panics_leaves_its_thread_working() {
        let mut pool = Pool::new(2);
        pool.execute(Box::new(|| panic!("a bug in a task")), 1)
            .unwrap();
        let (done, finished) = mpsc::channel();
        pool.execute(Box::new(move || done.send(7).unwrap()), 1)
            .unwrap();
        assert_eq!(finished.recv_timeout(Duration::from_secs(5)).unwrap(), 7);
        assert_eq!(pool.threads(), 1, "the same thread ran both");
    }

    #[test]
    fn shutdown_waits_for_a_short_task_and_leaves_a_stuck_one() {
        let mut pool = Pool::new(2);
        let (release, stuck) = mpsc::channel::<()>();
        pool.execute(
            Box::new(move || std::thread::sleep(Duration::from_millis(20))),
            1,
        )
        .unwrap();
        pool.execute(
            Box::new(move || {
                // As a request on the wire that nothing can interrupt.
                let _ = stuck.recv_timeout(Duration::from_secs(30));
            }),
            2,
        )
        .unwrap();
        let started = Instant::now();
        assert_eq!(pool.shutdown(SHUTDOWN_WAIT), 1, "the stuck one is left");
        let took = started.elapsed();
        assert!(
            took >= SHUTDOWN_WAIT && took < SHUTDOWN_WAIT + Duration::from_millis(300),
            "{took:?}"
        );
        drop(release);
    }
}
