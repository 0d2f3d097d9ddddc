//! What a backend keeps between statements: its API clients, and the check that tells a client
//! waiting for PartnerStack that the statement was cancelled.
//!
//! Both the scan and the write paths take their client from here.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use partnerstack_api::{Client, ClientConfig};
use pgrx::pg_sys;

use crate::errors::raise_api;
use crate::shared_budget;

thread_local! {
    /// Clients kept by this backend, by their whole configuration (keys included), so that
    /// statements after the first reuse TLS setup and open connections: building a client costs
    /// tens of milliseconds, more than a small request to PartnerStack.
    static CLIENTS: RefCell<HashMap<ClientConfig, Rc<Client>>> = RefCell::new(HashMap::new());

    /// Requests sent by the scans this backend has finished, retries included: what
    /// `partnerstack_sync` reports as a run's requests (the difference across the run).
    static SCAN_REQUESTS: Cell<u64> = const { Cell::new(0) };
}

/// Adds a finished scan's requests to [`scan_requests`].
pub fn count_scan_requests(requests: u64) {
    SCAN_REQUESTS.with(|n| n.set(n.get() + requests));
}

/// Requests sent by the scans this backend has finished so far.
pub fn scan_requests() -> u64 {
    SCAN_REQUESTS.with(Cell::get)
}

/// Most clients a backend keeps: one per server and role in use is typical.
const MAX_CACHED_CLIENTS: usize = 8;

/// The backend's client for this configuration, built on first use. `context` starts the
/// ERROR raised when the client cannot be built ("reading customers").
pub fn cached_client(config: ClientConfig, context: &str) -> Rc<Client> {
    let key = config.clone();
    if let Some(client) = CLIENTS.with(|c| c.borrow().get(&key).cloned()) {
        return client;
    }
    let mut client = Client::new(config).unwrap_or_else(|e| raise_api(&e, context));
    client.set_interrupt(Arc::new(statement_cancelled));
    let per_minute = client.config().max_requests_per_minute;
    if let Some(budget) = shared_budget::for_host(client.host(), per_minute) {
        client.set_rate_limit(budget);
    }
    let client = Rc::new(client);
    CLIENTS.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= MAX_CACHED_CLIENTS {
            cache.clear();
        }
        cache.insert(key, client.clone());
    });
    client
}

/// The client's interrupt check, called on the backend thread while it waits for an answer.
///
/// True for a cancel (pg_cancel_backend, Ctrl-C, statement_timeout) or a termination: the
/// client stops waiting and the caller lets Postgres report it. Any other pending interrupt
/// (cache-invalidation catch-up when other sessions run DDL, barriers, notifies) is serviced
/// here and the wait goes on: it must not end a statement.
fn statement_cancelled() -> bool {
    // SAFETY: the client calls this on the backend's own thread (it waits there for its worker),
    // and these are plain `sig_atomic_t` globals that signal handlers set: volatile reads of
    // them are how Postgres itself polls them (INTERRUPTS_PENDING_CONDITION).
    let (pending, cancel, die) = unsafe {
        (
            std::ptr::read_volatile(&raw const pg_sys::InterruptPending),
            std::ptr::read_volatile(&raw const pg_sys::QueryCancelPending),
            std::ptr::read_volatile(&raw const pg_sys::ProcDiePending),
        )
    };
    if pending == 0 {
        return false;
    }
    if cancel != 0 || die != 0 {
        return true;
    }
    pgrx::check_for_interrupts!();
    false
}
