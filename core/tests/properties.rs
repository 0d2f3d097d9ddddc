//! Property tests over the two pure translations: JSON item → row, and conditions → requests.
//!
//! `cargo test -p partnerstack-api --test properties` runs the default budget (256 cases per
//! property); `bash scripts/fuzz.sh` runs a larger one (`PROPTEST_CASES`).

use partnerstack_api::catalogue::{ColumnType, Pushdown, RESOURCES};
use partnerstack_api::client::{encode_query, encode_segment};
use partnerstack_api::mapping::{Item, map_item};
use partnerstack_api::pushdown::{Condition, Op, Operand, RequestKind, plan_requests};
use proptest::prelude::*;
use serde_json::Value as Json;
use serde_json::value::RawValue;

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Json::from),
        ".{0,12}".prop_map(Json::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// An item whose fields are catalogue column names (so mapping is exercised) and random names.
fn item_for(resource: usize) -> impl Strategy<Value = String> {
    let names: Vec<&'static str> = RESOURCES[resource].columns.iter().map(|c| c.name).collect();
    prop::collection::vec(
        (
            prop::sample::select(names)
                .prop_map(str::to_owned)
                .boxed()
                .prop_union(".{0,5}".boxed()),
            json_value(),
        ),
        0..12,
    )
    .prop_map(|fields| {
        let map: serde_json::Map<String, Json> = fields.into_iter().collect();
        Json::Object(map).to_string()
    })
}

proptest! {
    #[test]
    fn mapping_never_panics_and_types_match(
        (resource, text) in (0..RESOURCES.len()).prop_flat_map(|r| (Just(r), item_for(r)))
    ) {
        let r = &RESOURCES[resource];
        let item = Item::parse(RawValue::from_string(text.clone()).unwrap(), Some("p".into())).unwrap();
        let all: Vec<usize> = (0..r.columns.len()).collect();
        match map_item(r, &item, &all) {
            Ok(values) => {
                let parsed: Json = serde_json::from_str(&text).unwrap();
                for (column, value) in r.columns.iter().zip(values) {
                    use partnerstack_api::Value as V;
                    match (&value, column.ty) {
                        (V::Null, _) => {}
                        (V::Text(t), ColumnType::Text) => {
                            // links.partnership_key comes from the request path, not the item.
                            let from_item = matches!(column.source, partnerstack_api::catalogue::Source::Field(_));
                            if let Some(s) = parsed.get(column.name).and_then(Json::as_str).filter(|_| from_item) {
                                prop_assert_eq!(t.as_ref(), s);
                            }
                        }
                        (V::BigInt(_), ColumnType::BigInt)
                        | (V::Bool(_), ColumnType::Boolean)
                        | (V::TimestampMs(_), ColumnType::Timestamp)
                        | (V::TextArray(_), ColumnType::TextArray) => {}
                        (V::Json(j), ColumnType::Json) => {
                            let reparsed: Json = serde_json::from_str(j).unwrap();
                            prop_assert!(reparsed.is_object() || reparsed.is_array());
                        }
                        _ => prop_assert!(false, "{} got {:?}", column.name, value),
                    }
                }
            }
            Err(e) => {
                prop_assert_eq!(e.table, r.name);
                prop_assert!(r.columns.iter().any(|c| c.name == e.column) || e.column == "attrs");
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_item_parser(text in ".{0,64}") {
        if let Ok(raw) = RawValue::from_string(text)
            && let Ok(item) = Item::parse(raw, None)
        {
            let r = &RESOURCES[0];
            let all: Vec<usize> = (0..r.columns.len()).collect();
            let _ = map_item(r, &item, &all);
            let _ = item.key();
        }
    }
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        Just(Operand::Null),
        ".{0,8}".prop_map(Operand::Text),
        prop_oneof![any::<i64>(), -10_000_000i64..10_000_000].prop_map(Operand::TimestampMicros),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop::sample::select(vec![Op::Eq, Op::Lt, Op::Le, Op::Gt, Op::Ge])
}

fn conditions(resource: usize) -> impl Strategy<Value = Vec<Condition>> {
    let n = RESOURCES[resource].columns.len();
    prop::collection::vec(
        (0..n, op(), prop::collection::vec(operand(), 1..4))
            .prop_map(|(column, op, values)| Condition { column, op, values }),
        0..5,
    )
}

/// Whether a row timestamp (ms) satisfies `column op value` as Postgres compares timestamptz.
fn satisfies(ms: i64, op: Op, micros: i64) -> bool {
    let row = i128::from(ms) * 1000;
    let v = i128::from(micros);
    match op {
        Op::Eq => row == v,
        Op::Lt => row < v,
        Op::Le => row <= v,
        Op::Gt => row > v,
        Op::Ge => row >= v,
    }
}

proptest! {
    #[test]
    fn pushdown_never_loses_a_row(
        (resource, conds) in (0..RESOURCES.len()).prop_flat_map(|r| (Just(r), conditions(r))),
        probes in prop::collection::vec(-20_000i64..20_000, 1..16),
    ) {
        let r = &RESOURCES[resource];
        let Ok(requests) = plan_requests(r, &conds) else {
            // Only a missing path parameter may refuse a scan.
            prop_assert!(r.path_parameter().is_some());
            return Ok(());
        };
        // A row with these timestamps in every column satisfies the pushed timestamp conditions
        // (and has text values matching): the requests must not exclude it.
        for ms in probes {
            let matches_all_timestamps = conds.iter().all(|c| {
                let col = &r.columns[c.column];
                let ranged = matches!(col.pushdown, Pushdown::CreatedRange | Pushdown::UpdatedRange);
                match (ranged, c.values.as_slice()) {
                    (true, [Operand::TimestampMicros(us)]) => satisfies(ms, c.op, *us),
                    (true, [Operand::Null]) => false,
                    _ => true,
                }
            });
            let only_text_or_range = conds.iter().all(|c| {
                let col = &r.columns[c.column];
                !matches!(col.pushdown, Pushdown::ItemKey | Pushdown::PathParameter | Pushdown::Equality(_))
                    || c.op != Op::Eq
            });
            if matches_all_timestamps && only_text_or_range {
                prop_assert!(!requests.is_empty(), "a matching row ({ms} ms) was planned away: {conds:?}");
                for request in &requests {
                    prop_assert_eq!(request.kind, RequestKind::List);
                    for (name, value) in &request.params {
                        let bound: i64 = value.parse().unwrap();
                        match name.as_str() {
                            "min_created" | "min_updated" => prop_assert!(ms >= bound, "{} {} {:?}", name, bound, conds),
                            "max_created" | "max_updated" => prop_assert!(ms <= bound, "{} {} {:?}", name, bound, conds),
                            _ => {}
                        }
                    }
                }
            }
        }
        for request in &requests {
            // Paths never contain a raw separator from a value, and queries are fully encoded.
            prop_assert!(!request.path.contains(['?', '#', ' ']));
            let q = encode_query(&request.params);
            prop_assert!(q.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~%=&".contains(c)));
        }
    }

    #[test]
    fn encoded_segments_decode_to_the_value(value in ".{0,24}") {
        let encoded = encode_segment(&value);
        prop_assert!(encoded.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~%".contains(c)));
        let decoded = percent_encoding::percent_decode_str(&encoded).decode_utf8().unwrap();
        prop_assert_eq!(decoded.as_ref(), value.as_str());
    }

    #[test]
    fn timestamp_bounds_are_exact(
        conds in prop::collection::vec((op(), -10_000_000i64..10_000_000), 1..4)
    ) {
        // customers.updated_at: every comparison is pushed as min_updated / max_updated.
        let r = partnerstack_api::catalogue::resource("customers").unwrap();
        let column = r.columns.iter().position(|c| c.name == "updated_at").unwrap();
        let conditions: Vec<Condition> = conds
            .iter()
            .map(|(op, us)| Condition { column, op: *op, values: vec![Operand::TimestampMicros(*us)] })
            .collect();
        let requests = plan_requests(r, &conditions).unwrap();
        let bound = |name: &str| {
            requests.first().and_then(|q| q.params.iter().find(|(k, _)| k == name)).map(|(_, v)| v.parse::<i64>().unwrap())
        };
        for ms in -11_000i64..11_000 {
            let wanted = conds.iter().all(|(op, us)| satisfies(ms, *op, *us));
            let sent = !requests.is_empty()
                && bound("min_updated").is_none_or(|m| ms >= m)
                && bound("max_updated").is_none_or(|m| ms <= m);
            prop_assert_eq!(wanted, sent, "row at {} ms, conditions {:?}, requests {:?}", ms, conds, requests);
        }
    }
}
