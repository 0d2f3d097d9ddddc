//! Response envelopes of reference §1.4.
//!
//! - single object: `{"data": {...}, "message": "...", "status": 200}`
//! - list: `{"data": {"items": [...], "has_more": bool, "total": int}, "message", "status"}`
//! - error and delete: `{"message": "...", "status": N}`

use crate::http::{Response, reason_phrase};
use serde::Serialize;

#[derive(Serialize)]
struct Single<'a, T> {
    data: T,
    message: &'a str,
    status: u16,
}

#[derive(Serialize)]
struct ListData<T> {
    items: Vec<T>,
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<usize>,
}

#[derive(Serialize)]
struct List<'a, T> {
    data: ListData<T>,
    message: &'a str,
    status: u16,
}

#[derive(Serialize)]
struct Bare<'a> {
    message: &'a str,
    status: u16,
}

fn to_vec<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("envelopes always serialize")
}

/// 200 with one object in `data`.
pub fn single<T: Serialize>(data: T, message: &str) -> Response {
    Response::json(
        200,
        to_vec(&Single {
            data,
            message,
            status: 200,
        }),
    )
}

/// 200 with a list page in `data`.
/// `total: None` leaves the field out.
pub fn list<T: Serialize>(
    items: Vec<T>,
    has_more: bool,
    total: Option<usize>,
    message: &str,
) -> Response {
    Response::json(
        200,
        to_vec(&List {
            data: ListData {
                items,
                has_more,
                total,
            },
            message,
            status: 200,
        }),
    )
}

/// `{"message", "status"}` with the given HTTP status (errors, deletes).
pub fn bare(status: u16, message: &str) -> Response {
    Response::json(status, to_vec(&Bare { message, status }))
}

/// Error envelope whose message is the status's reason phrase
/// (`{"message":"Unauthorized","status":401}`).
pub fn status(status: u16) -> Response {
    bare(status, reason_phrase(status))
}

/// An API error carried through handlers before it becomes a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `message` of the error envelope.
    pub message: String,
}

impl ApiError {
    /// An error with an explicit message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// The error envelope.
    pub fn into_response(self) -> Response {
        bare(self.status, &self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn body(r: &Response) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn single_envelope_shape() {
        let r = single(json!({"key": "cus_1"}), "Customer retrieved successfully");
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "application/json");
        assert_eq!(
            body(&r),
            json!({"data": {"key": "cus_1"}, "message": "Customer retrieved successfully", "status": 200})
        );
    }

    #[test]
    fn list_envelope_shape() {
        let r = list(
            vec![json!({"key": "a"})],
            true,
            Some(7),
            "Page returned successfully",
        );
        assert_eq!(
            body(&r),
            json!({"data": {"items": [{"key": "a"}], "has_more": true, "total": 7},
                   "message": "Page returned successfully", "status": 200})
        );
        let r = list(
            vec![json!({"key": "a"})],
            false,
            None,
            "Page returned successfully",
        );
        assert_eq!(
            body(&r),
            json!({"data": {"items": [{"key": "a"}], "has_more": false},
                   "message": "Page returned successfully", "status": 200}),
            "an omitted total is no field at all"
        );
    }

    #[test]
    fn error_envelope_shape() {
        let r = status(401);
        assert_eq!(r.status, 401);
        assert_eq!(body(&r), json!({"message": "Unauthorized", "status": 401}));
        let r = ApiError::bad_request("'email' is a required property").into_response();
        assert_eq!(
            body(&r),
            json!({"message": "'email' is a required property", "status": 400})
        );
    }
}
