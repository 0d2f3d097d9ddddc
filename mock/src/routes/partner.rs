//! Partner API (`/api/v2/...` with `Authorization: Bearer <api_key>`, reference §1.2):
//! authentication, rate limiting, routing, and the read-only answers from the partner's own
//! data set ([`crate::resources::partner`]).
//!
//! Same base as the Vendor API (§1.1) and partly the same paths: [`super::dispatch`] sends a
//! request here by its scheme. A Bearer token on a vendor-only path is a 401, as the live API
//! answers (§1.2); Basic credentials never reach this module (on a Partner-only path the
//! vendor router answers 404, as the live API does for `/v2/links`, §4.11, §6 #17).

use super::Ctx;
use super::api::is_vendor_path;
use super::lists::{Filters, OrderBy, respond_ordered};
use crate::envelope::{self, ApiError};
use crate::http::Response;
use crate::resources::partner::{Item, PartnerResource};

/// Answers `/api/v2/{segs...}` for a Bearer request.
pub fn handle(ctx: &Ctx, segs: &[String]) -> Response {
    let server = ctx.server;
    let Some(index) = ctx.creds.partner(&server.options.partner_keys) else {
        return envelope::status(401);
    };
    // Limited per key like the vendor pairs, identified by position (never by the secret).
    if let Some(refused) = super::rate_limited(ctx, &format!("partner#{index}")) {
        return refused;
    }
    let program = match segs {
        [m, p, id] if m == "marketplace" && p == "programs" => Some(id),
        _ => None,
    };
    let list = PartnerResource::from_segments(segs);
    if list.is_none() && program.is_none() {
        return envelope::status(if is_vendor_path(segs) { 401 } else { 404 });
    }
    if ctx.req.method != "GET" {
        // The reference documents no Partner-API writes.
        return envelope::status(405).with_header("Allow", "GET");
    }
    let store = server.partner_store();
    let result = match (list, program) {
        (Some(r), _) => list_page(ctx, store.table(r), r),
        (None, Some(id)) => {
            let table = store.table(PartnerResource::MarketplacePrograms);
            table
                .find_live(id)
                .map(|row| {
                    envelope::single(&*table.row(row).json, "Program retrieved successfully")
                })
                .ok_or_else(|| ApiError::not_found("program not found"))
        }
        (None, None) => unreachable!("checked above"),
    };
    result.unwrap_or_else(ApiError::into_response)
}

/// One page of a Partner list, with its equality and date filters.
fn list_page(
    ctx: &Ctx,
    table: &crate::store::Table<Item>,
    r: PartnerResource,
) -> Result<Response, ApiError> {
    let mut filters = Filters::new(ctx);
    for &filter in r.filters() {
        filters = filters.on(filter.param(), move |it: &Item, v| {
            filter.matches(&it.json, v)
        });
    }
    let value = |it: &Item, field: &str| it.json.get(field).and_then(serde_json::Value::as_i64);
    respond_ordered(
        ctx,
        table,
        r.dates(),
        OrderBy {
            fields: r.order_by(),
            value: &value,
        },
        filters.combined(),
        |it: &Item| &*it.json,
        r.message(),
    )
}

#[cfg(test)]
mod tests {
    use crate::auth::basic_header;
    use crate::config::{DEFAULT_PARTNER_KEY, Options};
    use crate::http::{Request, Version};
    use crate::server::Server;
    use serde_json::Value;

    fn get(s: &Server, target: &str, auth: &str) -> (u16, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let req = Request {
            method: "GET".into(),
            path: path.into(),
            query: query.into(),
            version: Version::Http11,
            headers: vec![("authorization".into(), auth.into())],
            body: Vec::new(),
        };
        let (r, _) = s.respond(&req);
        (r.status, serde_json::from_slice(&r.body).unwrap())
    }

    fn bearer() -> String {
        format!("Bearer {DEFAULT_PARTNER_KEY}")
    }

    fn keys(v: &Value) -> Vec<String> {
        v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["key"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn order_by_is_honoured_where_documented_and_ignored_elsewhere() {
        let s = Server::new(Options::default());
        let vendor = basic_header("pk_test_mock", "sk_test_mock");
        // Every page, by starting_after.
        let all = |path: &str, auth: &str| {
            let mut seen: Vec<String> = Vec::new();
            loop {
                let after = seen
                    .last()
                    .map(|k| {
                        let k: String = form_urlencoded::byte_serialize(k.as_bytes()).collect();
                        format!("&starting_after={k}")
                    })
                    .unwrap_or_default();
                let (st, v) = get(&s, &format!("{path}limit=100{after}"), auth);
                assert_eq!(st, 200, "{v}");
                seen.extend(keys(&v));
                if v["data"]["has_more"] != true {
                    return seen;
                }
            }
        };
        // Vendor transactions: created_at ascending is the exact reverse, paged.
        let newest = all("/api/v2/transactions?", &vendor);
        let oldest = all("/api/v2/transactions?order_by=created_at&", &vendor);
        assert_eq!(oldest, newest.iter().rev().cloned().collect::<Vec<_>>());
        let (_, v) = get(
            &s,
            &format!(
                "/api/v2/transactions?order_by=created_at&limit=3&starting_after={}",
                form_urlencoded::byte_serialize(oldest[1].as_bytes()).collect::<String>()
            ),
            &vendor,
        );
        assert_eq!(keys(&v), oldest[2..5].to_vec());
        assert_eq!(
            all("/api/v2/transactions?order_by=-created_at&", &vendor),
            newest
        );
        // Not documented on vendor customers or partnerships: ignored like any unknown parameter.
        for path in ["/api/v2/customers?", "/api/v2/partnerships?"] {
            assert_eq!(
                all(&format!("{path}order_by=created_at&"), &vendor),
                all(path, &vendor),
                "{path}"
            );
        }
        // A field the endpoint does not document: 400.
        let (st, v) = get(&s, "/api/v2/transactions?order_by=amount", &vendor);
        assert_eq!(st, 400);
        assert_eq!(
            v["message"],
            "'order_by': 'amount' is not one of ['created_at', '-created_at']"
        );
        // Partner rewards by amount, partner partnerships by updated_at.
        let (_, v) = get(&s, "/api/v2/rewards?order_by=-amount&limit=250", &bearer());
        let amounts: Vec<i64> = v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["amount"].as_i64().unwrap())
            .collect();
        assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{amounts:?}");
        let (_, v) = get(
            &s,
            "/api/v2/partnerships?order_by=updated_at&limit=250",
            &bearer(),
        );
        let updated: Vec<i64> = v["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["updated_at"].as_i64().unwrap())
            .collect();
        assert!(updated.windows(2).all(|w| w[0] <= w[1]), "{updated:?}");
        let (st, _) = get(&s, "/api/v2/partnerships?order_by=amount", &bearer());
        assert_eq!(st, 400);
        // Programs: no order_by documented.
        assert_eq!(
            all(
                "/api/v2/marketplace/programs?order_by=created_at&",
                &bearer()
            ),
            all("/api/v2/marketplace/programs?", &bearer())
        );
    }

    #[test]
    fn the_scheme_decides_which_api_answers() {
        let s = Server::new(Options::default());
        let vendor = basic_header("pk_test_mock", "sk_test_mock");
        // Shared path: a vendor customer has partner_key, a partner's has company.
        let (st, v) = get(&s, "/api/v2/customers?limit=1", &vendor);
        assert_eq!(st, 200);
        assert!(v["data"]["items"][0].get("partner_key").is_some());
        let (st, v) = get(&s, "/api/v2/customers?limit=1", &bearer());
        assert_eq!(st, 200);
        assert!(v["data"]["items"][0].get("company").is_some(), "{v}");
        assert_eq!(v["data"]["total"], 40);
        // Bearer on vendor-only paths, a wrong Bearer key, a vendor secret as Bearer: 401.
        for (path, auth) in [
            ("/api/v2/groups", bearer()),
            ("/api/v2/links/partnership/x", bearer()),
            ("/api/v2/customers/cus_x", bearer()),
            ("/api/v2/payouts", "Bearer sk_test_mock".to_string()),
            ("/api/v2/customers", "Bearer pak_wrong".to_string()),
        ] {
            let (st, v) = get(&s, path, &auth);
            assert_eq!(
                (st, v["message"].as_str()),
                (401, Some("Unauthorized")),
                "{path}"
            );
        }
        // Partner-only paths with vendor keys: 404, as the live API answers /v2/links.
        for path in [
            "/api/v2/payouts",
            "/api/v2/links",
            "/api/v2/marketplace/programs",
        ] {
            assert_eq!(get(&s, path, &vendor).0, 404, "{path}");
        }
        assert_eq!(get(&s, "/api/v2/partners", &bearer()).0, 404);
    }

    #[test]
    fn partner_lists_page_and_filter() {
        let s = Server::new(Options::default());
        let (st, all) = get(&s, "/api/v2/payouts?limit=250", &bearer());
        assert_eq!(st, 200);
        let all_keys = keys(&all);
        assert_eq!(all_keys.len(), 24);
        let (_, first) = get(&s, "/api/v2/payouts?limit=10", &bearer());
        assert_eq!(first["data"]["has_more"], true);
        let last = keys(&first).last().unwrap().clone();
        let (_, next) = get(
            &s,
            &format!("/api/v2/payouts?limit=250&starting_after={last}"),
            &bearer(),
        );
        assert_eq!([keys(&first), keys(&next)].concat(), all_keys);
        // min_created is inclusive.
        let items = all["data"]["items"].as_array().unwrap();
        let pivot = items[5]["created_at"].as_i64().unwrap();
        let (_, newer) = get(
            &s,
            &format!("/api/v2/payouts?limit=250&min_created={pivot}"),
            &bearer(),
        );
        let expected = items
            .iter()
            .filter(|i| i["created_at"].as_i64().unwrap() >= pivot)
            .count();
        assert_eq!(keys(&newer).len(), expected);
        // category matches a member of the array; the value arrives percent-decoded.
        let (_, programs) = get(
            &s,
            "/api/v2/marketplace/programs?limit=250&category=S%C3%A9curit%C3%A9%20%26%20IT",
            &bearer(),
        );
        let listed = programs["data"]["items"].as_array().unwrap();
        assert!(!listed.is_empty());
        for p in listed {
            let cats = p["category"].as_array().unwrap();
            assert!(cats.iter().any(|c| c == "Sécurité & IT"), "{p}");
        }
        // One program by its company key.
        let key = listed[0]["key"].as_str().unwrap();
        let (st, one) = get(
            &s,
            &format!("/api/v2/marketplace/programs/{key}"),
            &bearer(),
        );
        assert_eq!((st, one["data"]["key"].as_str()), (200, Some(key)));
        assert!(one["data"].get("updated_at").is_none());
        let (st, _) = get(&s, "/api/v2/marketplace/programs/co_nope", &bearer());
        assert_eq!(st, 404);
        // rewards: company_key → company.key.
        let (_, rewards) = get(&s, "/api/v2/rewards?limit=1", &bearer());
        let company = rewards["data"]["items"][0]["company"]["key"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, by_company) = get(
            &s,
            &format!("/api/v2/rewards?limit=250&company_key={company}"),
            &bearer(),
        );
        for r in by_company["data"]["items"].as_array().unwrap() {
            assert_eq!(r["company"]["key"], company.as_str());
        }
    }

    #[test]
    fn partner_api_is_read_only() {
        let s = Server::new(Options::default());
        let req = Request {
            method: "POST".into(),
            path: "/api/v2/customers".into(),
            query: String::new(),
            version: Version::Http11,
            headers: vec![("authorization".into(), bearer())],
            body: b"{}".to_vec(),
        };
        let (r, _) = s.respond(&req);
        assert_eq!(r.status, 405);
    }
}
