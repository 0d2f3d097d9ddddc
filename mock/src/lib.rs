//! Mock of the PartnerStack Vendor API v2 for the `partnerstack` FDW's tests and
//! benchmarks.
//!
//! Faithful to `shared/partnerstack-api.md`: Basic auth, envelopes, cursor pagination,
//! filters, per-resource fields and write validation, plus a control API under
//! `/__mock/` for the request log, runtime configuration and fault injection.
//!
//! Layers: [`http`] (bytes ↔ requests/responses), [`resources`] (one module per resource:
//! record, generation, rendering, list filters, writes), [`data`] (shared generation pools
//! and [`data::generate`]), [`store`] (tables and the list engine), [`routes`] (routing and
//! what all endpoints share), [`faults`], [`control`], [`server`] (pipeline and
//! connections), and [`launcher`] (starting the mock binary from tests).
//!
//! The mock knows nothing of the FDW's catalogue (`partnerstack-api`): it is the oracle the
//! catalogue is tested against.

pub mod auth;
pub mod cli;
pub mod config;
pub mod control;
pub mod data;
pub mod envelope;
pub mod faults;
pub mod http;
pub mod launcher;
pub mod log;
pub mod model;
pub mod ratelimit;
pub mod render;
pub mod resources;
pub mod rng;
pub mod routes;
pub mod server;
pub mod store;
pub mod validate;

use std::io::{self, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time in epoch milliseconds (timestamps of objects created through the API).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Binds, generates the data, prints `listening on HOST:PORT` and serves forever.
pub fn run(options: config::Options) -> io::Result<()> {
    let listener = TcpListener::bind((options.host.as_str(), options.port))?;
    let addr = listener.local_addr()?;
    let server = Arc::new(server::Server::new(options));
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()?;
    drop(out);
    server::serve(listener, server);
    Ok(())
}
