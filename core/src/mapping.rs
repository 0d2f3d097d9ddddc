//! JSON item → row values, with no Postgres types: the FDW glue turns [`Value`]s into datums.

use serde_json::Value as Json;
use serde_json::value::RawValue;

use crate::catalogue::{Column, ColumnType, Resource, Source};

/// One cell, typed as the catalogue says.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL: the field was absent or JSON null.
    Null,
    /// `text`.
    Text(String),
    /// `bigint`.
    BigInt(i64),
    /// `boolean`.
    Bool(bool),
    /// `timestamptz`, as Unix epoch milliseconds.
    TimestampMs(i64),
    /// `jsonb`, as JSON text exactly as received (for `attrs`) or re-serialized.
    Json(String),
    /// `text[]`.
    TextArray(Vec<Option<String>>),
}

/// A field whose JSON type does not match its column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "PartnerStack returned {found} for {table}.{column} where {expected} was expected (item key {key})"
)]
pub struct MappingError {
    /// Foreign table.
    pub table: &'static str,
    /// Column.
    pub column: &'static str,
    /// The item's `key`, or `(unknown)`.
    pub key: String,
    /// What the column accepts.
    pub expected: &'static str,
    /// What arrived, with a short excerpt.
    pub found: String,
}

/// One item of a page, parsed once and kept as received.
#[derive(Debug)]
pub struct Item {
    /// The item's JSON text, exactly as the API sent it.
    pub raw: Box<RawValue>,
    /// The item parsed, for field access.
    pub fields: serde_json::Map<String, Json>,
    /// The path parameter it was listed under (links' partnership_key).
    pub path_parameter: Option<String>,
}

impl Item {
    /// Parses one item; an item that is not a JSON object is an error for the caller to report.
    pub fn parse(raw: Box<RawValue>, path_parameter: Option<String>) -> Result<Item, String> {
        match serde_json::from_str::<Json>(raw.get()) {
            Ok(Json::Object(fields)) => Ok(Item {
                raw,
                fields,
                path_parameter,
            }),
            Ok(other) => Err(format!("a list item is {}", describe(&other))),
            Err(e) => Err(format!("a list item is not valid JSON: {e}")),
        }
    }

    /// The item's `key` field, when it is a string.
    pub fn key(&self) -> Option<&str> {
        self.fields.get("key").and_then(Json::as_str)
    }
}

/// Maps the columns numbered in `wanted` (indexes into `resource.columns`) of one item.
///
/// Returns one value per entry of `wanted`, in that order.
pub fn map_item(
    resource: &Resource,
    item: &Item,
    wanted: &[usize],
) -> Result<Vec<Value>, MappingError> {
    wanted
        .iter()
        .map(|&i| map_column(resource, &resource.columns[i], item))
        .collect()
}

/// Maps one column of one item.
pub fn map_column(
    resource: &Resource,
    column: &'static Column,
    item: &Item,
) -> Result<Value, MappingError> {
    let field = match column.source {
        Source::WholeItem => return Ok(Value::Json(item.raw.get().to_owned())),
        Source::PathParameter => {
            return Ok(item.path_parameter.clone().map_or(Value::Null, Value::Text));
        }
        Source::Field(name) => item.fields.get(name),
        Source::FieldOrAlias(name, alias) => {
            item.fields.get(name).or_else(|| item.fields.get(alias))
        }
    };
    let json = match field {
        None | Some(Json::Null) => return Ok(Value::Null),
        Some(v) => v,
    };
    let mismatch = || MappingError {
        table: resource.name,
        column: column.name,
        key: item.key().unwrap_or("(unknown)").to_owned(),
        expected: expected(column.ty),
        found: excerpt(json),
    };
    match column.ty {
        ColumnType::Text => json
            .as_str()
            .map(|s| Value::Text(s.to_owned()))
            .ok_or_else(mismatch),
        ColumnType::BigInt => json.as_i64().map(Value::BigInt).ok_or_else(mismatch),
        ColumnType::Boolean => json.as_bool().map(Value::Bool).ok_or_else(mismatch),
        ColumnType::Timestamp => json
            .as_i64()
            .filter(|ms| (MIN_TIMESTAMP_MS..=MAX_TIMESTAMP_MS).contains(ms))
            .map(Value::TimestampMs)
            .ok_or_else(mismatch),
        ColumnType::Json => match json {
            Json::Object(_) | Json::Array(_) => Ok(Value::Json(json.to_string())),
            _ => Err(mismatch()),
        },
        ColumnType::TextArray => {
            let Json::Array(elements) = json else {
                return Err(mismatch());
            };
            elements
                .iter()
                .map(|e| match e {
                    Json::Null => Ok(None),
                    Json::String(s) => Ok(Some(s.clone())),
                    _ => Err(mismatch()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::TextArray)
        }
    }
}

/// Earliest epoch-ms value mapped to a timestamp: 4713 BC is Postgres' lower bound; anything
/// before year 1 is not a PartnerStack timestamp but a wrong unit or a corrupt value.
const MIN_TIMESTAMP_MS: i64 = -62_135_596_800_000;
/// Latest epoch-ms value mapped (year 9999): beyond it the value is not epoch milliseconds.
const MAX_TIMESTAMP_MS: i64 = 253_402_300_799_999;

fn expected(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "a string",
        ColumnType::BigInt => "an integer",
        ColumnType::Boolean => "a boolean",
        ColumnType::Timestamp => "an integer of epoch milliseconds",
        ColumnType::Json => "an object or array",
        ColumnType::TextArray => "an array of strings",
    }
}

fn describe(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Longest excerpt of a wrong value quoted in an error.
const EXCERPT_CHARS: usize = 60;

fn excerpt(v: &Json) -> String {
    let text = v.to_string();
    let short: String = text.chars().take(EXCERPT_CHARS).collect();
    let ellipsis = if short.len() < text.len() { "…" } else { "" };
    format!("{} {short}{ellipsis}", describe(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::resource;

    fn item(json: &str) -> Item {
        Item::parse(RawValue::from_string(json.to_owned()).unwrap(), None).unwrap()
    }

    fn map_all(table: &str, json: &str) -> Result<Vec<Value>, MappingError> {
        let r = resource(table).unwrap();
        let all: Vec<usize> = (0..r.columns.len()).collect();
        map_item(r, &item(json), &all)
    }

    #[test]
    fn customer_maps_every_type_and_keeps_raw_attrs() {
        let json = r#"{"key":"cus_1","customer_key":"c1","email":null,"name":"Zoë","test":true,
            "meta":{},"fields":[{"a":1}],"created_at":1700000000123,"updated_at":1700000000999}"#;
        let values = map_all("customers", json).unwrap();
        let r = resource("customers").unwrap();
        let get = |n: &str| &values[r.columns.iter().position(|c| c.name == n).unwrap()];
        assert_eq!(get("key"), &Value::Text("cus_1".into()));
        assert_eq!(get("email"), &Value::Null);
        assert_eq!(get("partner_key"), &Value::Null, "absent field");
        assert_eq!(get("name"), &Value::Text("Zoë".into()));
        assert_eq!(get("test"), &Value::Bool(true));
        assert_eq!(get("meta"), &Value::Json("{}".into()));
        assert_eq!(get("created_at"), &Value::TimestampMs(1_700_000_000_123));
        assert_eq!(
            get("attrs"),
            &Value::Json(json.into()),
            "attrs is byte-exact"
        );
    }

    #[test]
    fn wrong_type_names_table_column_and_key() {
        let err = map_all("transactions", r#"{"key":"t_9","amount":"12.50"}"#).unwrap_err();
        assert_eq!(
            (err.table, err.column, err.key.as_str()),
            ("transactions", "amount", "t_9")
        );
        assert!(err.to_string().contains("a string \"12.50\""), "{err}");
    }

    #[test]
    fn fractional_amount_is_an_error_not_a_truncation() {
        let err = map_all("transactions", r#"{"key":"t","amount":12.5}"#).unwrap_err();
        assert_eq!(err.column, "amount");
    }

    #[test]
    fn absurd_timestamps_are_rejected() {
        let err = map_all("groups", r#"{"key":"g","created_at":1e300}"#).unwrap_err();
        assert_eq!(err.column, "created_at");
        let err = map_all("groups", r#"{"key":"g","created_at":99999999999999999}"#).unwrap_err();
        assert_eq!(err.column, "created_at");
    }

    #[test]
    fn tags_become_text_array_and_reject_numbers() {
        let v = map_all("partnerships", r#"{"key":"p","tags":["a",null,"ü"]}"#).unwrap();
        let r = resource("partnerships").unwrap();
        let i = r.columns.iter().position(|c| c.name == "tags").unwrap();
        assert_eq!(
            v[i],
            Value::TextArray(vec![Some("a".into()), None, Some("ü".into())])
        );
        assert!(map_all("partnerships", r#"{"key":"p","tags":[1]}"#).is_err());
    }

    #[test]
    fn mdata_is_read_under_either_name() {
        let r = resource("partnerships").unwrap();
        let i = r.columns.iter().position(|c| c.name == "mdata").unwrap();
        let v = map_all("partnerships", r#"{"key":"p","m_data":{"x":1}}"#).unwrap();
        assert_eq!(v[i], Value::Json(r#"{"x":1}"#.into()));
    }

    #[test]
    fn links_take_partnership_key_from_the_path() {
        let r = resource("links").unwrap();
        let it = Item::parse(
            RawValue::from_string(r#"{"key":"l1","url":"u"}"#.into()).unwrap(),
            Some("part_1".into()),
        )
        .unwrap();
        let v = map_item(r, &it, &[0, 1]).unwrap();
        assert_eq!(v, [Value::Text("part_1".into()), Value::Text("l1".into())]);
    }

    #[test]
    fn scalar_where_object_expected_is_an_error() {
        let err = map_all("customers", r#"{"key":"c","meta":"x"}"#).unwrap_err();
        assert_eq!(err.column, "meta");
    }

    #[test]
    fn non_object_item_is_rejected() {
        assert!(Item::parse(RawValue::from_string("[1]".into()).unwrap(), None).is_err());
    }
}
