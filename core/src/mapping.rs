//! JSON item → row values, with no Postgres types: the FDW glue turns [`Value`]s into datums.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::catalogue::{Column, ColumnType, Resource, Source};
use crate::error::{VALUE_EXCERPT_CHARS, excerpt};

/// One cell, typed as the catalogue says; text borrows from the page where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// SQL NULL: the field was absent or JSON null.
    Null,
    /// `text`.
    Text(Cow<'a, str>),
    /// `bigint`.
    BigInt(i64),
    /// `boolean`.
    Bool(bool),
    /// `timestamptz`, as Unix epoch milliseconds.
    TimestampMs(i64),
    /// `jsonb`, as the JSON text exactly as received.
    Json(Cow<'a, str>),
    /// `text[]`.
    TextArray(Vec<Option<Cow<'a, str>>>),
}

impl Value<'_> {
    /// The same value, owning its text.
    pub fn into_owned(self) -> Value<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        match self {
            Value::Null => Value::Null,
            Value::Text(t) => Value::Text(own(t)),
            Value::BigInt(i) => Value::BigInt(i),
            Value::Bool(b) => Value::Bool(b),
            Value::TimestampMs(ms) => Value::TimestampMs(ms),
            Value::Json(j) => Value::Json(own(j)),
            Value::TextArray(a) => Value::TextArray(a.into_iter().map(|t| t.map(own)).collect()),
        }
    }
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

/// One item of a page, kept exactly as received; fields are read from it on demand.
#[derive(Debug)]
pub struct Item {
    /// The item's JSON text, exactly as the API sent it.
    pub raw: Box<RawValue>,
    /// The path parameter it was listed under (links' partnership_key).
    pub path_parameter: Option<String>,
}

impl Item {
    /// Wraps one item; an item that is not a JSON object is an error for the caller to report.
    pub fn parse(raw: Box<RawValue>, path_parameter: Option<String>) -> Result<Item, String> {
        if !raw.get().trim_start().starts_with('{') {
            return Err(format!("a list item is {}", describe(raw.get())));
        }
        Ok(Item {
            raw,
            path_parameter,
        })
    }

    /// The item's `key` field, when it is a string.
    pub fn key(&self) -> Option<Cow<'_, str>> {
        #[derive(Deserialize)]
        struct KeyOnly<'a> {
            #[serde(borrow, default)]
            key: Option<Text<'a>>,
        }
        serde_json::from_str::<KeyOnly>(self.raw.get())
            .ok()
            .and_then(|k| k.key)
            .map(|t| t.0)
    }

    /// The item's `created_at` (epoch milliseconds), when it is an integer.
    pub fn created_at(&self) -> Option<i64> {
        #[derive(Deserialize)]
        struct CreatedOnly {
            #[serde(default)]
            created_at: Option<serde_json::Value>,
        }
        serde_json::from_str::<CreatedOnly>(self.raw.get())
            .ok()
            .and_then(|c| c.created_at)
            .and_then(|v| v.as_i64())
    }

    /// The item's top-level fields, as borrowed raw JSON.
    pub fn fields(&self) -> Result<Fields<'_>, String> {
        serde_json::from_str::<Fields>(self.raw.get())
            .map_err(|e| format!("a list item is not a valid JSON object: {e}"))
    }
}

/// Top-level fields of an item: names and raw values, borrowed from the item's text.
#[derive(Debug, Default)]
pub struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Fields<'a> {
    /// The raw value of a field.
    pub fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((name, value)) = map.next_entry::<Text<'de>, &'de RawValue>()? {
                    fields.push((name.0, value));
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// A JSON string, borrowed from the input unless it had escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

/// Maps the columns numbered in `wanted` (indexes into `resource.columns`) of one item.
///
/// Returns one value per entry of `wanted`, in that order.
pub fn map_item<'a>(
    resource: &Resource,
    item: &'a Item,
    wanted: &[usize],
) -> Result<Vec<Value<'a>>, MappingError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let fields = item.fields().map_err(|found| MappingError {
        table: resource.name,
        column: "attrs",
        key: "(unknown)".into(),
        expected: "a JSON object",
        found,
    })?;
    wanted
        .iter()
        .map(|&i| map_column(resource, &resource.columns[i], item, &fields))
        .collect()
}

/// Maps one column of one item.
pub fn map_column<'a>(
    resource: &Resource,
    column: &'static Column,
    item: &'a Item,
    fields: &Fields<'a>,
) -> Result<Value<'a>, MappingError> {
    let raw = match column.source {
        Source::WholeItem => return Ok(Value::Json(Cow::Borrowed(item.raw.get()))),
        Source::PathParameter => {
            return Ok(item
                .path_parameter
                .as_deref()
                .map_or(Value::Null, |p| Value::Text(Cow::Borrowed(p))));
        }
        Source::WriteOnly => return Ok(Value::Null),
        Source::Field(name) => fields.get(name),
        Source::FieldOrAlias(name, alias) => fields.get(name).or_else(|| fields.get(alias)),
        Source::Nested(object, name) => match fields.get(object).map(RawValue::get) {
            None | Some("null") => None,
            Some(outer) => serde_json::from_str::<Fields>(outer)
                .map_err(|_| MappingError {
                    table: resource.name,
                    column: column.name,
                    key: item
                        .key()
                        .map_or_else(|| "(unknown)".to_owned(), Cow::into_owned),
                    expected: "an object around the field",
                    found: format!(
                        "{} {}",
                        describe(outer),
                        excerpt(outer, VALUE_EXCERPT_CHARS)
                    ),
                })?
                .get(name),
        },
    };
    let text = match raw.map(RawValue::get) {
        None | Some("null") => return Ok(Value::Null),
        Some(text) => text,
    };
    let mismatch = || MappingError {
        table: resource.name,
        column: column.name,
        key: item
            .key()
            .map_or_else(|| "(unknown)".to_owned(), Cow::into_owned),
        expected: expected(column.ty),
        found: format!("{} {}", describe(text), excerpt(text, VALUE_EXCERPT_CHARS)),
    };
    match column.ty {
        ColumnType::Text => serde_json::from_str::<Text>(text)
            .map(|t| Value::Text(t.0))
            .map_err(|_| mismatch()),
        ColumnType::BigInt => serde_json::from_str::<i64>(text)
            .map(Value::BigInt)
            .map_err(|_| mismatch()),
        ColumnType::Boolean => serde_json::from_str::<bool>(text)
            .map(Value::Bool)
            .map_err(|_| mismatch()),
        ColumnType::Timestamp => serde_json::from_str::<i64>(text)
            .ok()
            .filter(|ms| (MIN_TIMESTAMP_MS..=MAX_TIMESTAMP_MS).contains(ms))
            .map(Value::TimestampMs)
            .ok_or_else(mismatch),
        ColumnType::Json => match text.as_bytes().first() {
            Some(b'{' | b'[') => Ok(Value::Json(Cow::Borrowed(text))),
            _ => Err(mismatch()),
        },
        ColumnType::TextArray => serde_json::from_str::<Vec<Option<Text>>>(text)
            .map(|v| Value::TextArray(v.into_iter().map(|t| t.map(|t| t.0)).collect()))
            .map_err(|_| mismatch()),
    }
}

/// Earliest epoch-ms value mapped to a timestamp (year 1): anything earlier is not a
/// PartnerStack timestamp but a wrong unit or a corrupt value.
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

/// What kind of JSON value a raw text is, from its first character.
fn describe(raw: &str) -> &'static str {
    match raw.trim_start().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "a number",
        _ => "an unreadable value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::resource;

    fn item(json: &str) -> Item {
        Item::parse(RawValue::from_string(json.to_owned()).unwrap(), None).unwrap()
    }

    fn map_all(table: &str, json: &str) -> Result<Vec<Value<'static>>, MappingError> {
        let r = resource(table).unwrap();
        let all: Vec<usize> = (0..r.columns.len()).collect();
        let it = item(json);
        map_item(r, &it, &all).map(|v| v.into_iter().map(Value::into_owned).collect())
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
        let escaped = map_all("partnerships", r#"{"key":"p","tags":["a\"b"]}"#).unwrap();
        assert_eq!(escaped[i], Value::TextArray(vec![Some("a\"b".into())]));
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
    fn nested_write_columns_read_what_the_api_echoes() {
        let r = resource("transactions").unwrap();
        let at = |n: &str| r.columns.iter().position(|c| c.name == n).unwrap();
        let v = map_all(
            "transactions",
            r#"{"key":"t","customer":{"key":"cus_1","email":"a@b.c","external_key":null}}"#,
        )
        .unwrap();
        assert_eq!(v[at("customer_email")], Value::Text("a@b.c".into()));
        assert_eq!(v[at("customer_external_key")], Value::Null);
        let v = map_all("transactions", r#"{"key":"t","customer":null}"#).unwrap();
        assert_eq!(v[at("customer_email")], Value::Null);
        let err = map_all("transactions", r#"{"key":"t","customer":"x"}"#).unwrap_err();
        assert_eq!(err.column, "customer_external_key");
        let rewards = map_all("rewards", r#"{"key":"r","target":{"key":"x"}}"#).unwrap();
        let rr = resource("rewards").unwrap();
        let target = rr.columns.iter().position(|c| c.name == "target").unwrap();
        assert_eq!(rewards[target], Value::Null, "write-only input reads NULL");
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
