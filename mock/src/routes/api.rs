//! Vendor API (`/api/v2/...`): authentication, rate limiting, routing by path and method,
//! then dispatch through [`Resource`] (reads, writes, deletes).

use super::{Ctx, writes};
use crate::auth::KeyPair;
use crate::envelope::{self, ApiError};
use crate::http::Response;
use crate::resources::{Resource, links};
use crate::store::Store;
use crate::validate;

/// A matched vendor path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Collection(Resource),
    Item(Resource, String),
    Links(String),
}

impl Route {
    fn methods(&self) -> &'static [&'static str] {
        match self {
            Route::Collection(r) => r.collection_methods(),
            Route::Item(r, _) => r.item_methods().unwrap_or(&[]),
            Route::Links(_) => &["GET"],
        }
    }
}

fn route(segs: &[String]) -> Option<Route> {
    match segs {
        [r] => Resource::from_segment(r).map(Route::Collection),
        [r, id] => {
            let r = Resource::from_segment(r)?;
            r.item_methods()?;
            Some(Route::Item(r, id.clone()))
        }
        [links, partnership, id] if links == "links" && partnership == "partnership" => {
            Some(Route::Links(id.clone()))
        }
        _ => None,
    }
}

/// Whether `segs` (below `/api/v2`) is a Vendor API path: a Bearer key there is a 401 (§1.2).
pub(crate) fn is_vendor_path(segs: &[String]) -> bool {
    route(segs).is_some()
}

/// 405 with the error envelope and an `Allow` header.
fn method_not_allowed(allowed: &[&str]) -> Response {
    envelope::status(405).with_header("Allow", allowed.join(", "))
}

/// Answers `/api/v2/{segs...}`.
pub fn handle(ctx: &Ctx, segs: &[String]) -> Response {
    let server = ctx.server;
    let Some(key) = ctx.creds.vendor(&server.options.keys) else {
        return envelope::status(401);
    };
    if let Some(refused) = super::rate_limited(ctx, &key.public) {
        return refused;
    }
    let Some(route) = route(segs) else {
        return envelope::status(404);
    };
    let method = match ctx.req.method.as_str() {
        "PUT" if ctx.config.accept_put => "PATCH",
        m => m,
    };
    if !route.methods().contains(&method) {
        return method_not_allowed(route.methods());
    }
    let result = match method {
        "GET" => read(ctx, &server.store_read(), &route),
        _ => {
            let body = if matches!(method, "POST" | "PATCH") {
                match validate::parse_object(&ctx.req.body) {
                    Ok(b) => b,
                    Err(e) => return e.into_response(),
                }
            } else {
                Default::default()
            };
            write(&mut server.store_write(), &route, method, &body, key)
        }
    };
    result.unwrap_or_else(ApiError::into_response)
}

/// GET: lists, single objects, links.
fn read(ctx: &Ctx, s: &Store, route: &Route) -> Result<Response, ApiError> {
    match route {
        Route::Collection(r) => r.list(ctx, s),
        Route::Links(id) => links::list(ctx, s, id),
        Route::Item(r, id) => get_item(s, *r, id),
    }
}

fn get_item(s: &Store, r: Resource, id: &str) -> Result<Response, ApiError> {
    let row = r.find(s, id)?;
    Ok(r.item_response(s, row, &format!("{} retrieved successfully", r.title())))
}

/// POST, PATCH, DELETE.
fn write(
    s: &mut Store,
    route: &Route,
    method: &str,
    body: &serde_json::Map<String, serde_json::Value>,
    key: &KeyPair,
) -> Result<Response, ApiError> {
    match (route, method) {
        (Route::Collection(r), "POST") => writes::create(s, *r, body, key.test),
        (Route::Item(r, id), "PATCH") => writes::update(s, *r, id, body),
        (Route::Item(r, id), "DELETE") => delete(s, *r, id),
        _ => Err(ApiError::new(405, "Method Not Allowed")),
    }
}

/// Soft delete: the object disappears from lists and GETs.
fn delete(s: &mut Store, r: Resource, id: &str) -> Result<Response, ApiError> {
    let row = r.find(s, id)?;
    r.delete(s, row)?;
    Ok(envelope::bare(
        200,
        &format!("{} deleted successfully", r.title()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split('/').map(String::from).collect()
    }

    #[test]
    fn routes() {
        assert_eq!(
            route(&segs("customers")),
            Some(Route::Collection(Resource::Customers))
        );
        assert_eq!(
            route(&segs("customers/a b")),
            Some(Route::Item(Resource::Customers, "a b".into()))
        );
        assert_eq!(
            route(&segs("links/partnership/part_1")),
            Some(Route::Links("part_1".into()))
        );
        for unknown in [
            "partners",
            "partners/x",
            "links",
            "payouts",
            "stats",
            "groups/grup_1",
            "rewards/rwrd_1",
            "partnerships/p/stats",
        ] {
            assert_eq!(route(&segs(unknown)), None, "{unknown}");
        }
        assert_eq!(
            route(&segs("transactions/t")).unwrap().methods(),
            &["DELETE"]
        );
    }
}
