//! `POST /conversion/xid`: server-to-server conversion tracking (reference §4.15).
//!
//! Bearer-token auth; answers 200 with an empty body whether or not a customer was
//! created (that is what the live endpoint does), so the only proof is reading the
//! customer back through `GET /api/v2/customers/{customer_key}`.

use super::Ctx;
use crate::envelope::{self, ApiError};
use crate::http::Response;
use crate::resources::customers::create_conversion_customer;
use crate::validate::{self, Body};

/// Answers a conversion request.
pub fn handle(ctx: &Ctx) -> Response {
    if !ctx.creds.is_bearer(&ctx.server.options.s2s_token) {
        return envelope::status(401);
    }
    if ctx.req.method != "POST" {
        return envelope::status(405).with_header("Allow", "POST");
    }
    match convert(ctx) {
        Ok(()) => Response::json(200, Vec::new()),
        Err(e) => e.into_response(),
    }
}

fn convert(ctx: &Ctx) -> Result<(), ApiError> {
    let body = validate::parse_object(&ctx.req.body)?;
    let b = Body::new(&body);
    b.require(&["xid", "customer_key"])?;
    let xid = b.string("xid")?.unwrap_or_default();
    let customer_key = b.string("customer_key")?.unwrap_or_default();
    validate::length("customer_key", customer_key, 1, 255)?;
    let email = b.nullable_string("email")?.flatten();
    let name = b.nullable_string("name")?.flatten();
    let provider_key = b.nullable_string("provider_key")?.flatten();
    let meta = b.nullable_object("meta")?.flatten();
    b.nullable_string_array("sub_ids")?;
    let mut store = ctx.server.store_write();
    create_conversion_customer(
        &mut store,
        customer_key,
        xid,
        email,
        name,
        provider_key,
        meta,
    );
    Ok(())
}
