//! Routing of API requests (everything except the `/__mock/` control API).

pub mod api;
pub mod lists;
pub mod partner;
pub mod s2s;
pub mod writes;

use crate::auth::Credentials;
use crate::config::RuntimeConfig;
use crate::envelope;
use crate::http::{Request, Response};
use crate::server::Server;

/// A list-level fault the handler must apply (see [`crate::faults::FaultKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListFault {
    /// Answer normally.
    #[default]
    None,
    /// No items, `has_more: true`.
    EmptyHasMore,
    /// Repeat the page ending at the `starting_after` cursor.
    RepeatCursor,
}

/// Everything a handler needs about the request being answered.
pub struct Ctx<'a> {
    /// Shared server state.
    pub server: &'a Server,
    /// The request.
    pub req: &'a Request,
    /// Parsed `Authorization`.
    pub creds: &'a Credentials,
    /// Decoded query parameters.
    pub params: &'a [(String, String)],
    /// Runtime configuration snapshot taken when the request arrived.
    pub config: &'a RuntimeConfig,
    /// List fault to apply, if any.
    pub list_fault: ListFault,
}

impl Ctx<'_> {
    /// Decoded value of a query parameter (the last one when repeated).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The 429 for a client (`id`: a public key, never a secret) over the rate limit, with
/// `Retry-After` as configured; `None` when the request is admitted.
pub(crate) fn rate_limited(ctx: &Ctx, id: &str) -> Option<Response> {
    if ctx.config.rate_limit == 0 {
        return None;
    }
    let admitted = ctx.server.limiter().admit(
        id,
        ctx.config.rate_limit,
        std::time::Duration::from_millis(ctx.config.rate_window_ms),
        std::time::Instant::now(),
    );
    if admitted {
        return None;
    }
    let mut r = envelope::status(429);
    if let Some(secs) = ctx.config.retry_after {
        let value = ctx
            .config
            .retry_after_value(secs, crate::faults::wall_clock());
        r = r.with_header("Retry-After", value);
    }
    Some(r)
}

/// Answers an API request: `/api/v2/...` (vendor with Basic auth, Partner API with a Bearer
/// key: the two share the base and some paths, §1.2) or `/conversion/xid` (S2S).
pub fn dispatch(ctx: &Ctx) -> Response {
    let segs = ctx.req.segments();
    match segs.as_slice() {
        [api, v2, rest @ ..] if api == "api" && v2 == "v2" => match ctx.creds {
            Credentials::Bearer(_) => partner::handle(ctx, rest),
            _ => api::handle(ctx, rest),
        },
        [conversion, xid] if conversion == "conversion" && xid == "xid" => s2s::handle(ctx),
        _ => envelope::status(404),
    }
}
