//! `ON CONFLICT DO NOTHING` against the bundled mock over real HTTP: a duplicate key is told
//! apart from any other 400 by reading the object back, never by the API's message.

use partnerstack_api::catalogue::resource;
use partnerstack_api::on_conflict::{Created, create_unless_duplicate};
use partnerstack_api::write::{self, Cell};
use partnerstack_api::{ApiError, Stats, Value, WriteRequest};

mod support;
use support::Mock;

fn t(s: &str) -> Value<'_> {
    Value::Text(s.into())
}

fn insert(table: &str, row: &[Cell]) -> WriteRequest {
    write::plan_insert(resource(table).unwrap(), row).unwrap()
}

#[test]
fn a_duplicate_customer_key_is_skipped_any_other_400_stands() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let customers = resource("customers").unwrap();
    let partner = mock.first(&client, "/partnerships", "partner_key");
    let row = |key: &'static str, email: &'static str| {
        insert(
            "customers",
            &[
                ("customer_key", t(key)),
                ("email", t(email)),
                ("partner_key", t(&partner)),
            ],
        )
    };
    mock.clear_requests();
    let mut stats = Stats::default();
    let first = create_unless_duplicate(
        &client,
        customers,
        &row("dup 1", "d1@example.com"),
        &mut stats,
    )
    .unwrap();
    assert!(
        matches!(first, Created::New(ref o) if o.key.as_deref().is_some_and(|k| k.starts_with("cus_")))
    );
    let again = create_unless_duplicate(
        &client,
        customers,
        &row("dup 1", "d2@example.com"),
        &mut stats,
    )
    .unwrap();
    assert_eq!(
        again,
        Created::Duplicate {
            column: "customer_key",
            value: "dup 1".into()
        }
    );
    assert_eq!(
        mock.requests(),
        [
            "POST /api/v2/customers 200",
            "POST /api/v2/customers 400",
            "GET /api/v2/customers/dup%201 200"
        ]
    );

    // A 400 for another reason (an unknown partner) with a key nobody holds: it stands.
    mock.clear_requests();
    let bad = insert(
        "customers",
        &[
            ("customer_key", t("dup 2")),
            ("email", t("d3@example.com")),
            ("partner_key", t("no-such-partner")),
        ],
    );
    let err = create_unless_duplicate(&client, customers, &bad, &mut stats).unwrap_err();
    assert!(
        matches!(err, ApiError::Client { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(
        mock.requests(),
        [
            "POST /api/v2/customers 400",
            "GET /api/v2/customers/dup%202 404"
        ]
    );

    // The item path also resolves PartnerStack's own cus_ key: an object found that way whose
    // customer_key differs is not a duplicate of this row.
    let Created::New(created) = first else {
        unreachable!()
    };
    let cus = created.key.unwrap();
    mock.clear_requests();
    let lookalike = insert(
        "customers",
        &[
            ("customer_key", t(&cus)),
            ("email", t("d4@example.com")),
            ("partner_key", t("no-such-partner")),
        ],
    );
    let err = create_unless_duplicate(&client, customers, &lookalike, &mut stats).unwrap_err();
    assert!(
        matches!(err, ApiError::Client { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(
        mock.requests()[1],
        format!("GET /api/v2/customers/{cus} 200")
    );
}

#[test]
fn a_duplicate_partner_key_is_found_through_the_list_filter() {
    let mock = Mock::start(&[]);
    let client = mock.client();
    let partnerships = resource("partnerships").unwrap();
    let mut stats = Stats::default();
    let row = |email: &'static str| {
        insert(
            "partnerships",
            &[("email", t(email)), ("partner_key", t("pk-dup"))],
        )
    };
    mock.clear_requests();
    let first =
        create_unless_duplicate(&client, partnerships, &row("p1@example.com"), &mut stats).unwrap();
    assert!(matches!(first, Created::New(_)));
    let again =
        create_unless_duplicate(&client, partnerships, &row("p2@example.com"), &mut stats).unwrap();
    assert_eq!(
        again,
        Created::Duplicate {
            column: "partner_key",
            value: "pk-dup".into()
        }
    );
    // A duplicate e-mail under a new partner_key: the read finds no such partner_key, so the
    // 400 stands (the API's answer alone cannot say which key clashed).
    let err = create_unless_duplicate(
        &client,
        partnerships,
        &insert(
            "partnerships",
            &[("email", t("p1@example.com")), ("partner_key", t("pk-new"))],
        ),
        &mut stats,
    )
    .unwrap_err();
    assert!(
        matches!(err, ApiError::Client { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(
        mock.requests(),
        [
            "POST /api/v2/partnerships 200",
            "POST /api/v2/partnerships 400",
            "GET /api/v2/partnerships?partner_key=pk-dup 200",
            "POST /api/v2/partnerships 400",
            "GET /api/v2/partnerships?partner_key=pk-new 200"
        ]
    );
}
