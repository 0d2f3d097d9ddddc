//! The rate-limit budget every backend of the cluster shares: `max_requests_per_minute` (and its
//! burst) holds for all sessions together, not for each.
//!
//! A small table of buckets lives in shared memory, reserved at postmaster start, which is why it
//! needs `shared_preload_libraries = 'partnerstack'`. Each bucket is one API host (host:port of
//! `api_url`): PartnerStack counts its limit per client IP, so every account and server that
//! reaches the same host from this cluster draws on one budget. The bucket arithmetic and the
//! table (lock-free atomics, no Postgres lock, nothing held while a backend waits) are core's
//! [`take_shared`]; this file only places the table in shared memory and hands clients a view.
//!
//! Without the preload, clients keep their own bucket (per backend) and the backend says so once.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use partnerstack_api::client::{BudgetSlot, RateLimit, budget_key, monotonic_ns, take_shared};
use pgrx::prelude::*;
use pgrx::{PGRXSharedMemory, PgAtomic, PgSqlErrorCode, pg_shmem_init};

use crate::errors::error;

/// Buckets in the table: one per API host in use at once. A cluster talks to one or two hosts
/// (production, a sandbox); a host beyond the table's size shares a busy bucket (stricter, never
/// looser), and a bucket idle past its burst window is reclaimed without loss.
const SLOTS: usize = 16;

/// The table as placed in shared memory.
#[derive(Default)]
struct Budgets([BudgetSlot; SLOTS]);

// SAFETY: a `BudgetSlot` is two `AtomicU64`s and nothing else: no pointers or process-local
// handles, so one copy mapped at any address in every backend is valid, and every access to it
// is atomic.
unsafe impl PGRXSharedMemory for Budgets {}

// SAFETY: the name is this extension's own, unique among the shared-memory segments of the cluster.
static BUDGETS: PgAtomic<Budgets> = unsafe { PgAtomic::new(c"partnerstack_budgets") };

/// Set in the postmaster when the table was requested; backends inherit it by fork.
static RESERVED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The backend already said that its budget is its own.
    static TOLD: Cell<bool> = const { Cell::new(false) };
}

/// Requests the table, when the library is being preloaded (called from `_PG_init`); otherwise
/// nothing: shared memory can only be reserved at postmaster start.
// pg_shmem_init! picks the hook by `feature = "pgNN"`, evaluated in this crate: our `pg15`
// selects the right branch; the features of other versions do not exist here.
#[allow(unexpected_cfgs)]
pub fn init() {
    // SAFETY: a plain global Postgres sets while it loads shared_preload_libraries; `_PG_init`
    // runs on the main thread of the process loading the library.
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    pg_shmem_init!(BUDGETS);
    RESERVED.store(true, Ordering::Relaxed);
}

/// A client's view of the shared table: its host's bucket at its server's rate.
struct SharedBudget {
    key: u64,
    per_minute: u64,
}

impl RateLimit for SharedBudget {
    fn take(&self) -> Duration {
        // Atomics only: safe on any thread, never blocks.
        take_shared(&BUDGETS.get().0, self.key, self.per_minute, monotonic_ns())
    }
}

/// The shared budget for requests to `host` at `per_minute` requests a minute, when the table is
/// in shared memory. `None` when the limiter is off (0) or the library was not preloaded; in the
/// latter case the backend's first call says, as a NOTICE, that its limit is its own.
pub fn for_host(host: &str, per_minute: u64) -> Option<Arc<dyn RateLimit>> {
    if per_minute == 0 {
        return None;
    }
    if RESERVED.load(Ordering::Relaxed) {
        return Some(Arc::new(SharedBudget {
            key: budget_key(host),
            per_minute,
        }));
    }
    if !TOLD.replace(true) {
        error(
            PgSqlErrorCode::ERRCODE_WARNING,
            "partnerstack: max_requests_per_minute holds for this session only",
        )
        .set_detail(
            "The extension is not in shared_preload_libraries, so there is no budget shared by \
             all sessions: several sessions together can exceed the limit and draw 429 answers, \
             which are retried.",
        )
        .set_hint("Add partnerstack to shared_preload_libraries and restart the server.")
        .report(PgLogLevel::NOTICE);
    }
    None
}
