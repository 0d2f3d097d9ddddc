//! Vendor API (`/api/v2/...`): authentication, rate limiting, routing, reads, deletes.

use super::lists::{self, ListResource};
use super::{Ctx, writes};
use crate::auth::KeyPair;
use crate::envelope::{self, ApiError};
use crate::http::Response;
use crate::render;
use crate::store::Store;
use crate::validate;
use std::time::Instant;

/// Resources with a collection path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// customers
    Customers,
    /// partnerships
    Partnerships,
    /// groups
    Groups,
    /// deals
    Deals,
    /// leads
    Leads,
    /// transactions
    Transactions,
    /// rewards
    Rewards,
    /// actions
    Actions,
    /// webhooks
    Webhooks,
}

impl Resource {
    fn from_segment(s: &str) -> Option<Self> {
        Some(match s {
            "customers" => Resource::Customers,
            "partnerships" => Resource::Partnerships,
            "groups" => Resource::Groups,
            "deals" => Resource::Deals,
            "leads" => Resource::Leads,
            "transactions" => Resource::Transactions,
            "rewards" => Resource::Rewards,
            "actions" => Resource::Actions,
            "webhooks" => Resource::Webhooks,
            _ => return None,
        })
    }

    fn list(self) -> ListResource {
        match self {
            Resource::Customers => ListResource::Customers,
            Resource::Partnerships => ListResource::Partnerships,
            Resource::Groups => ListResource::Groups,
            Resource::Deals => ListResource::Deals,
            Resource::Leads => ListResource::Leads,
            Resource::Transactions => ListResource::Transactions,
            Resource::Rewards => ListResource::Rewards,
            Resource::Actions => ListResource::Actions,
            Resource::Webhooks => ListResource::Webhooks,
        }
    }

    /// Whether `/{resource}/{key}` exists, and which methods it has.
    fn item_methods(self) -> Option<&'static [&'static str]> {
        match self {
            Resource::Customers
            | Resource::Partnerships
            | Resource::Deals
            | Resource::Leads
            | Resource::Webhooks => Some(&["GET", "PATCH", "DELETE"]),
            Resource::Transactions | Resource::Actions => Some(&["DELETE"]),
            Resource::Groups | Resource::Rewards => None,
        }
    }

    fn collection_methods(self) -> &'static [&'static str] {
        match self {
            Resource::Groups => &["GET"],
            _ => &["GET", "POST"],
        }
    }
}

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
    if ctx.config.rate_limit > 0 {
        let admitted = server
            .limiter()
            .admit(&key.public, ctx.config.rate_limit, Instant::now());
        if !admitted {
            let mut r = envelope::status(429);
            if let Some(secs) = ctx.config.retry_after {
                r = r.with_header("Retry-After", secs.to_string());
            }
            return r;
        }
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
        Route::Collection(r) => lists::list(ctx, s, r.list()),
        Route::Links(id) => lists::links(ctx, s, id),
        Route::Item(r, id) => get_item(s, *r, id),
    }
}

/// Lower-case singular name used in messages.
fn noun(r: Resource) -> &'static str {
    match r {
        Resource::Customers => "customer",
        Resource::Partnerships => "partnership",
        Resource::Groups => "group",
        Resource::Deals => "deal",
        Resource::Leads => "lead",
        Resource::Transactions => "transaction",
        Resource::Rewards => "reward",
        Resource::Actions => "action",
        Resource::Webhooks => "webhook",
    }
}

/// Capitalized singular name used in success messages.
pub fn title(r: Resource) -> String {
    let n = noun(r);
    let mut c = n.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn not_found(r: Resource) -> ApiError {
    ApiError::not_found(format!("{} not found", noun(r)))
}

/// Row id of a live item addressed by its path id.
pub fn find_item(s: &Store, r: Resource, id: &str) -> Result<u32, ApiError> {
    let found = match r {
        Resource::Customers => s.find_customer(id),
        Resource::Partnerships => s.find_partnership(id),
        Resource::Deals => s.deals.find_live(id),
        Resource::Leads => s.leads.find_live(id),
        Resource::Webhooks => s.webhooks.find_live(id),
        Resource::Transactions => s.transactions.find_live(id),
        Resource::Actions => s.actions.find_live(id),
        Resource::Groups => s.groups.find_live(id),
        Resource::Rewards => s.rewards.find_live(id),
    };
    found.ok_or_else(|| not_found(r))
}

/// Renders one item in the single-object envelope.
pub fn item_response(s: &Store, r: Resource, id: u32, message: &str) -> Response {
    match r {
        Resource::Customers => envelope::single(render::customer(s, s.customers.row(id)), message),
        Resource::Partnerships => {
            envelope::single(render::partnership(s, s.partnerships.row(id)), message)
        }
        Resource::Deals => envelope::single(render::deal(s, s.deals.row(id)), message),
        Resource::Leads => envelope::single(render::lead(s, s.leads.row(id)), message),
        Resource::Webhooks => envelope::single(render::webhook(s.webhooks.row(id)), message),
        Resource::Transactions => {
            envelope::single(render::transaction(s, s.transactions.row(id)), message)
        }
        Resource::Actions => envelope::single(render::action(s, s.actions.row(id)), message),
        Resource::Rewards => envelope::single(render::reward(s, s.rewards.row(id)), message),
        Resource::Groups => envelope::single(render::group(s.groups.row(id)), message),
    }
}

fn get_item(s: &Store, r: Resource, id: &str) -> Result<Response, ApiError> {
    let row = find_item(s, r, id)?;
    Ok(item_response(
        s,
        r,
        row,
        &format!("{} retrieved successfully", title(r)),
    ))
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
    let row = find_item(s, r, id)?;
    match r {
        Resource::Customers => {
            s.customers.delete(row);
            let c = s.customers.row(row);
            if let Some(k) = c.customer_key.clone()
                && s.customer_keys.get(&k) == Some(&row)
            {
                s.customer_keys.remove(&k);
            }
            let p = c.partnership;
            let p = s.partnerships.row_mut(p);
            p.customer_count = p.customer_count.saturating_sub(1);
        }
        Resource::Partnerships => {
            s.partnerships.delete(row);
            let k = s.partnerships.row(row).partner_key.clone();
            if s.partner_keys.get(&k) == Some(&row) {
                s.partner_keys.remove(&k);
            }
        }
        Resource::Deals => {
            s.deals.delete(row);
        }
        Resource::Leads => {
            s.leads.delete(row);
        }
        Resource::Webhooks => {
            s.webhooks.delete(row);
        }
        Resource::Transactions => {
            s.transactions.delete(row);
        }
        Resource::Actions => {
            s.actions.delete(row);
            // Archiving an action also archives the rewards it created (§4.9).
            let earned: Vec<u32> = s
                .rewards
                .live()
                .filter(|(_, rw)| rw.action == Some(row))
                .map(|(i, _)| i)
                .collect();
            for i in earned {
                s.rewards.delete(i);
            }
        }
        Resource::Groups | Resource::Rewards => {
            return Err(ApiError::new(405, "Method Not Allowed"));
        }
    }
    Ok(envelope::bare(
        200,
        &format!("{} deleted successfully", title(r)),
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

    #[test]
    fn titles() {
        assert_eq!(title(Resource::Customers), "Customer");
        assert_eq!(title(Resource::Partnerships), "Partnership");
    }
}
