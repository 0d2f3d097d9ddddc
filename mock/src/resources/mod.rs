//! The resources the mock serves, one module each.
//!
//! Each module holds everything about its resource, in the same order: the compact record,
//! its generation from the seed, its JSON rendering, its list endpoint with the equality
//! filters, and its writes (create, update, delete rules). [`Resource`] is the one list of
//! resources with a collection path; the router ([`crate::routes::api`]) asks it which
//! methods a path has and dispatches through it.
//!
//! The facts here (paths, fields, filters, validation messages) come from
//! `shared/partnerstack-api.md`, never from the FDW's catalogue: the mock is the oracle the
//! catalogue is tested against.

pub mod actions;
pub mod customers;
pub mod deals;
pub mod groups;
pub mod leads;
pub mod links;
pub mod partner;
pub mod partnerships;
pub mod rewards;
pub mod transactions;
pub mod webhooks;

use crate::envelope::{self, ApiError};
use crate::http::Response;
use crate::model::RowId;
use crate::routes::Ctx;
use crate::store::Store;
use crate::validate::Body;

/// Resources with a collection path (`/api/v2/{resource}`).
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

/// The answer to a method a resource does not have (the router checks first; this guards
/// the dispatch below).
fn method_not_allowed() -> ApiError {
    ApiError::new(405, "Method Not Allowed")
}

impl Resource {
    /// The resource of a collection path segment.
    pub fn from_segment(s: &str) -> Option<Self> {
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

    /// Whether `/{resource}/{key}` exists, and which methods it has.
    pub fn item_methods(self) -> Option<&'static [&'static str]> {
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

    /// The methods of `/{resource}`.
    pub fn collection_methods(self) -> &'static [&'static str] {
        match self {
            Resource::Groups => &["GET"],
            _ => &["GET", "POST"],
        }
    }

    /// Lower-case singular name used in messages.
    pub fn noun(self) -> &'static str {
        match self {
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
    pub fn title(self) -> String {
        let n = self.noun();
        let mut c = n.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => String::new(),
        }
    }

    /// Row id of a live item addressed by its path id (404 when there is none).
    pub fn find(self, s: &Store, id: &str) -> Result<RowId, ApiError> {
        let found = match self {
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
        found.ok_or_else(|| ApiError::not_found(format!("{} not found", self.noun())))
    }

    /// Renders one item in the single-object envelope.
    pub fn item_response(self, s: &Store, row: RowId, message: &str) -> Response {
        match self {
            Resource::Customers => {
                envelope::single(customers::render(s, s.customers.row(row)), message)
            }
            Resource::Partnerships => {
                envelope::single(partnerships::render(s, s.partnerships.row(row)), message)
            }
            Resource::Deals => envelope::single(deals::render(s, s.deals.row(row)), message),
            Resource::Leads => envelope::single(leads::render(s, s.leads.row(row)), message),
            Resource::Webhooks => envelope::single(webhooks::render(s.webhooks.row(row)), message),
            Resource::Transactions => {
                envelope::single(transactions::render(s, s.transactions.row(row)), message)
            }
            Resource::Actions => envelope::single(actions::render(s, s.actions.row(row)), message),
            Resource::Rewards => envelope::single(rewards::render(s, s.rewards.row(row)), message),
            Resource::Groups => envelope::single(groups::render(s.groups.row(row)), message),
        }
    }

    /// `GET /api/v2/{resource}`: one page, filtered.
    pub fn list(self, ctx: &Ctx, s: &Store) -> Result<Response, ApiError> {
        match self {
            Resource::Customers => customers::list(ctx, s),
            Resource::Partnerships => partnerships::list(ctx, s),
            Resource::Groups => groups::list(ctx, s),
            Resource::Deals => deals::list(ctx, s),
            Resource::Leads => leads::list(ctx, s),
            Resource::Transactions => transactions::list(ctx, s),
            Resource::Rewards => rewards::list(ctx, s),
            Resource::Actions => actions::list(ctx, s),
            Resource::Webhooks => webhooks::list(ctx, s),
        }
    }

    /// `POST /api/v2/{resource}`: validates `b` and inserts the new row; `test` marks
    /// objects created with a test-mode key pair.
    pub(crate) fn create(
        self,
        s: &mut Store,
        b: Body,
        test: bool,
        now: i64,
    ) -> Result<RowId, ApiError> {
        match self {
            Resource::Customers => customers::create(s, b, test, now),
            Resource::Partnerships => partnerships::create(s, b, now),
            Resource::Deals => deals::create(s, b, now),
            Resource::Leads => leads::create(s, b, now),
            Resource::Transactions => transactions::create(s, b, test, now),
            Resource::Rewards => rewards::create(s, b, now),
            Resource::Actions => actions::create(s, b, now),
            Resource::Webhooks => webhooks::create(s, b, now),
            Resource::Groups => Err(method_not_allowed()),
        }
    }

    /// `PATCH /api/v2/{resource}/{id}` on row `row`: validates `b` and applies it.
    pub(crate) fn update(
        self,
        s: &mut Store,
        row: RowId,
        b: Body,
        now: i64,
    ) -> Result<(), ApiError> {
        match self {
            Resource::Customers => customers::update(s, row, b, now),
            Resource::Partnerships => partnerships::update(s, row, b, now),
            Resource::Deals => deals::update(s, row, b, now),
            Resource::Leads => leads::update(s, row, b, now),
            Resource::Webhooks => webhooks::update(s, row, b, now),
            _ => Err(method_not_allowed()),
        }
    }

    /// `DELETE /api/v2/{resource}/{id}` on row `row`. Deletes are soft: the object
    /// disappears from lists and GETs.
    pub(crate) fn delete(self, s: &mut Store, row: RowId) -> Result<(), ApiError> {
        match self {
            Resource::Customers => customers::delete(s, row),
            Resource::Partnerships => partnerships::delete(s, row),
            Resource::Actions => actions::delete(s, row),
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
            Resource::Groups | Resource::Rewards => return Err(method_not_allowed()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(Resource::Customers.title(), "Customer");
        assert_eq!(Resource::Partnerships.title(), "Partnership");
    }
}
