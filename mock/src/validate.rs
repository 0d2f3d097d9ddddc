//! Request-body validation with JSON-Schema-style messages.
//!
//! PartnerStack answers validation failures with Python `jsonschema` messages such as
//! `'target_type' is a required property` (reference §1.4, LIVE). The mock mirrors that
//! style, using Python's repr for values (`None`, `True`, `'text'`), and names the field
//! in type errors so a failing test says which one.

use crate::envelope::ApiError;
use serde_json::{Map, Value};

/// Longest value echoed back inside an error message.
const MAX_ECHO_CHARS: usize = 80;

/// Python-style repr of a JSON value, as jsonschema prints it.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut shown: String = s.chars().take(MAX_ECHO_CHARS).collect();
            if shown.len() < s.len() {
                shown.push_str("...");
            }
            format!("'{}'", shown.replace('\\', "\\\\").replace('\'', "\\'"))
        }
        other => {
            let s = other.to_string();
            if s.chars().count() > MAX_ECHO_CHARS {
                format!("{}...", s.chars().take(MAX_ECHO_CHARS).collect::<String>())
            } else {
                s
            }
        }
    }
}

/// Parses a request body into a JSON object. An empty body counts as `{}`.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(ApiError::bad_request(format!(
            "{} is not of type 'object'",
            py_repr(&other)
        ))),
        Err(e) => Err(ApiError::bad_request(format!("Malformed JSON body: {e}"))),
    }
}

/// A request body under validation.
#[derive(Debug, Clone, Copy)]
pub struct Body<'a> {
    map: &'a Map<String, Value>,
}

fn type_error(field: &str, v: &Value, ty: &str) -> ApiError {
    ApiError::bad_request(format!("'{field}': {} is not of type '{ty}'", py_repr(v)))
}

impl<'a> Body<'a> {
    /// Wraps a parsed body.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Self { map }
    }

    /// The raw value of a field, if present (null included).
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }

    /// Whether the field is present (null included).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Whether the field is present and not null.
    pub fn has_value(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    /// Fails with `'<name>' is a required property` for the first missing field.
    pub fn require(&self, names: &[&str]) -> Result<(), ApiError> {
        match names.iter().find(|n| !self.has(n)) {
            Some(n) => Err(required(n)),
            None => Ok(()),
        }
    }

    /// A non-null string field: absent → `None`; null or another type → 400.
    pub fn string(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(type_error(name, v, "string")),
        }
    }

    /// A nullable string field: absent → `None`, null → `Some(None)`.
    pub fn nullable_string(&self, name: &str) -> Result<Option<Option<&'a str>>, ApiError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s))),
            Some(v) => Err(type_error(name, v, "string")),
        }
    }

    /// A non-null integer field (floats such as `1.5` or `1.0` are rejected).
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .filter(|_| !v.is_f64())
                .map(Some)
                .ok_or_else(|| type_error(name, v, "integer")),
        }
    }

    /// A nullable integer field.
    pub fn nullable_integer(&self, name: &str) -> Result<Option<Option<i64>>, ApiError> {
        match self.map.get(name) {
            Some(Value::Null) => Ok(Some(None)),
            _ => Ok(self.integer(name)?.map(Some)),
        }
    }

    /// A non-null boolean field.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(type_error(name, v, "boolean")),
        }
    }

    /// A nullable boolean field.
    pub fn nullable_boolean(&self, name: &str) -> Result<Option<Option<bool>>, ApiError> {
        match self.map.get(name) {
            Some(Value::Null) => Ok(Some(None)),
            _ => Ok(self.boolean(name)?.map(Some)),
        }
    }

    /// A nullable object field.
    pub fn nullable_object(
        &self,
        name: &str,
    ) -> Result<Option<Option<&'a Map<String, Value>>>, ApiError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Object(m)) => Ok(Some(Some(m))),
            Some(v) => Err(type_error(name, v, "object")),
        }
    }

    /// A non-null object field.
    pub fn object(&self, name: &str) -> Result<Option<&'a Map<String, Value>>, ApiError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(type_error(name, v, "object")),
        }
    }

    /// A nullable array field.
    pub fn nullable_array(&self, name: &str) -> Result<Option<Option<&'a Vec<Value>>>, ApiError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Array(a)) => Ok(Some(Some(a))),
            Some(v) => Err(type_error(name, v, "array")),
        }
    }

    /// A nullable array of strings.
    pub fn nullable_string_array(
        &self,
        name: &str,
    ) -> Result<Option<Option<Vec<&'a str>>>, ApiError> {
        match self.nullable_array(name)? {
            None => Ok(None),
            Some(None) => Ok(Some(None)),
            Some(Some(items)) => items
                .iter()
                .map(|v| v.as_str().ok_or_else(|| type_error(name, v, "string")))
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Some(Some(v))),
        }
    }
}

/// `'<name>' is a required property`.
pub fn required(name: &str) -> ApiError {
    ApiError::bad_request(format!("'{name}' is a required property"))
}

/// Length bounds in characters.
pub fn length(name: &str, s: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = s.chars().count();
    let v = Value::String(s.to_string());
    if n < min {
        return Err(ApiError::bad_request(format!(
            "'{name}': {} is too short",
            py_repr(&v)
        )));
    }
    if n > max {
        return Err(ApiError::bad_request(format!(
            "'{name}': {} is too long",
            py_repr(&v)
        )));
    }
    Ok(())
}

/// Membership in an enumeration.
pub fn one_of(name: &str, s: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&s) {
        return Ok(());
    }
    let list = allowed
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ApiError::bad_request(format!(
        "'{name}': {} is not one of [{list}]",
        py_repr(&Value::String(s.into()))
    )))
}

/// Integer bounds.
pub fn int_range(name: &str, v: i64, min: i64, max: i64) -> Result<(), ApiError> {
    if v < min {
        return Err(ApiError::bad_request(format!(
            "'{name}': {v} is less than the minimum of {min}"
        )));
    }
    if v > max {
        return Err(ApiError::bad_request(format!(
            "'{name}': {v} is greater than the maximum of {max}"
        )));
    }
    Ok(())
}

/// A plausible e-mail address, 4–255 characters (reference §4.1).
pub fn email(name: &str, s: &str) -> Result<(), ApiError> {
    length(name, s, 4, 255)?;
    let ok = match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "'{name}': {} is not a 'email'",
            py_repr(&Value::String(s.into()))
        )))
    }
}

/// An absolute http(s) URL.
pub fn url(name: &str, s: &str) -> Result<(), ApiError> {
    let ok = (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() > "https://".len()
        && !s.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "'{name}': {} is not a 'uri'",
            py_repr(&Value::String(s.into()))
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn required_message_matches_the_live_api() {
        let m = map(json!({"type": "signup"}));
        let b = Body::new(&m);
        let e = b.require(&["target_type", "target_key"]).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.message, "'target_type' is a required property");
        assert!(b.require(&["type"]).is_ok());
    }

    #[test]
    fn type_errors_use_python_repr() {
        let m = map(json!({"a": null, "b": 1.5, "c": "x", "d": true, "e": 3, "f": 2.0}));
        let b = Body::new(&m);
        assert_eq!(
            b.string("a").unwrap_err().message,
            "'a': None is not of type 'string'"
        );
        assert_eq!(
            b.integer("b").unwrap_err().message,
            "'b': 1.5 is not of type 'integer'"
        );
        assert_eq!(
            b.integer("c").unwrap_err().message,
            "'c': 'x' is not of type 'integer'"
        );
        assert_eq!(
            b.integer("f").unwrap_err().message,
            "'f': 2.0 is not of type 'integer'"
        );
        assert_eq!(
            b.string("d").unwrap_err().message,
            "'d': True is not of type 'string'"
        );
        assert_eq!(b.integer("e").unwrap(), Some(3));
        assert_eq!(b.nullable_string("a").unwrap(), Some(None));
        assert_eq!(b.nullable_string("zz").unwrap(), None);
        assert_eq!(b.nullable_integer("a").unwrap(), Some(None));
    }

    #[test]
    fn value_checks() {
        assert!(email("email", "a@b.c").is_ok());
        assert_eq!(
            email("email", "nope").unwrap_err().message,
            "'email': 'nope' is not a 'email'"
        );
        assert!(email("email", "a@").is_err());
        assert!(
            length("key", "abc", 4, 255)
                .unwrap_err()
                .message
                .ends_with("is too short")
        );
        assert!(
            one_of("status", "won", &["open", "closed"])
                .unwrap_err()
                .message
                .contains("is not one of ['open', 'closed']")
        );
        assert!(
            int_range("value", 0, 1, 10)
                .unwrap_err()
                .message
                .contains("less than the minimum of 1")
        );
        assert!(url("target", "https://x.test/h").is_ok());
        assert!(url("target", "ftp://x").is_err());
    }

    #[test]
    fn body_parsing() {
        assert!(parse_object(b"").unwrap().is_empty());
        assert!(parse_object(b"{\"a\":1}").is_ok());
        let e = parse_object(b"{nope").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.starts_with("Malformed JSON body"));
        assert_eq!(
            parse_object(b"[1]").unwrap_err().message,
            "[1] is not of type 'object'"
        );
    }
}
