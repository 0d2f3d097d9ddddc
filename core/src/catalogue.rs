//! The catalogue of PartnerStack Vendor API resources.
//!
//! One declarative entry per resource drives everything else: the foreign-table DDL of
//! IMPORT FOREIGN SCHEMA, which conditions become query parameters or lookups by key, how a JSON
//! item becomes a row, and (for writes) which columns are accepted. Facts come from
//! `shared/partnerstack-api.md` §3–§4 and `partnerstack-api-fields.json`.

/// The Postgres type a column is exposed as, and the JSON shape it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// JSON string → `text`.
    Text,
    /// JSON integer → `bigint` (money is integer cents of the row's currency).
    BigInt,
    /// JSON boolean → `boolean`.
    Boolean,
    /// JSON integer of epoch milliseconds → `timestamptz`, milliseconds kept.
    Timestamp,
    /// JSON object or array → `jsonb`.
    Json,
    /// JSON array of strings → `text[]`.
    TextArray,
}

impl ColumnType {
    /// The SQL type name used in the generated DDL.
    pub fn sql_type(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::BigInt => "bigint",
            ColumnType::Boolean => "boolean",
            ColumnType::Timestamp => "timestamp with time zone",
            ColumnType::Json => "jsonb",
            ColumnType::TextArray => "text[]",
        }
    }
}

/// Where a column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A field of the item, by name.
    Field(&'static str),
    /// A field the API has spelled two ways: the first name present wins.
    FieldOrAlias(&'static str, &'static str),
    /// The whole item exactly as the API sent it (`attrs`).
    WholeItem,
    /// The value of the path parameter the item was listed under (links' `partnership_key`).
    PathParameter,
}

/// How a column may be pushed down to the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushdown {
    /// Only Postgres filters on this column.
    None,
    /// `column = value` becomes the query parameter of that name.
    Equality(&'static str),
    /// `column = value` (or `IN`) becomes a GET of `item_path` with the value in the path.
    ItemKey,
    /// `column = value` (or `IN`) fills the `{}` of a list path that needs it.
    PathParameter,
    /// Range conditions become `min_created` / `max_created`.
    CreatedRange,
    /// Range conditions become `min_updated` / `max_updated`.
    UpdatedRange,
}

/// One column of a foreign table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name, as the API names the field.
    pub name: &'static str,
    /// Postgres type and accepted JSON shape.
    pub ty: ColumnType,
    /// Where the value comes from.
    pub source: Source,
    /// What a condition on it may become.
    pub pushdown: Pushdown,
}

/// One PartnerStack resource, exposed as one foreign table.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// Foreign table name, and the value of the table option `resource`.
    pub name: &'static str,
    /// List path below the API base URL; `{}` stands for a path parameter (links).
    pub list_path: &'static str,
    /// Path of a single object, `{}` standing for the value of the `ItemKey` column.
    pub item_path: Option<&'static str>,
    /// Columns in table order (`attrs` last).
    pub columns: &'static [Column],
    /// One line for COMMENT ON FOREIGN TABLE.
    pub description: &'static str,
}

impl Resource {
    /// Looks a column up by name.
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column whose equality condition is required to build the list path (links).
    pub fn path_parameter(&self) -> Option<&'static Column> {
        self.columns
            .iter()
            .find(|c| c.pushdown == Pushdown::PathParameter)
    }

    /// The column a GET by key is addressed with, when the API has one.
    pub fn item_key(&self) -> Option<&'static Column> {
        self.item_path?;
        self.columns
            .iter()
            .find(|c| c.pushdown == Pushdown::ItemKey)
    }

    /// The `CREATE FOREIGN TABLE` statement for this resource.
    pub fn create_table_sql(&self, schema: &str, server: &str) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("  {} {}", quote_ident(c.name), c.ty.sql_type()))
            .collect();
        format!(
            "CREATE FOREIGN TABLE {}.{} (\n{}\n) SERVER {} OPTIONS (resource {})",
            quote_ident(schema),
            quote_ident(self.name),
            columns.join(",\n"),
            quote_ident(server),
            quote_literal(self.name),
        )
    }
}

/// Quotes an SQL identifier unconditionally (always valid, and keeps `default` usable).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes an SQL string literal.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Looks a resource up by its table name.
pub fn resource(name: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.name == name)
}

/// Names of every resource, for messages.
pub fn resource_names() -> Vec<&'static str> {
    RESOURCES.iter().map(|r| r.name).collect()
}

// Builders keep the table below readable: one line per column.
const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        source: Source::Field(name),
        pushdown: Pushdown::None,
    }
}
const fn text(name: &'static str) -> Column {
    col(name, ColumnType::Text)
}
const fn bigint(name: &'static str) -> Column {
    col(name, ColumnType::BigInt)
}
const fn boolean(name: &'static str) -> Column {
    col(name, ColumnType::Boolean)
}
const fn json(name: &'static str) -> Column {
    col(name, ColumnType::Json)
}
const fn timestamp(name: &'static str) -> Column {
    col(name, ColumnType::Timestamp)
}
const fn text_array(name: &'static str) -> Column {
    col(name, ColumnType::TextArray)
}
const fn pushed(column: Column, pushdown: Pushdown) -> Column {
    Column { pushdown, ..column }
}
const KEY: Column = text("key");
const KEY_LOOKUP: Column = pushed(text("key"), Pushdown::ItemKey);
const CREATED: Column = pushed(timestamp("created_at"), Pushdown::CreatedRange);
const UPDATED: Column = pushed(timestamp("updated_at"), Pushdown::UpdatedRange);
// On transactions and rewards the API has no updated filter (§3): updated_at is local-only.
const UPDATED_LOCAL: Column = timestamp("updated_at");
const ATTRS: Column = Column {
    name: "attrs",
    ty: ColumnType::Json,
    source: Source::WholeItem,
    pushdown: Pushdown::None,
};

/// Every resource the extension exposes.
pub static RESOURCES: &[Resource] = &[
    Resource {
        name: "customers",
        list_path: "/customers",
        // Addressed by the vendor's own customer_key, not the cus_ key (§4.1).
        item_path: Some("/customers/{}"),
        description: "PartnerStack customers (GET /v2/customers)",
        columns: &[
            KEY,
            pushed(text("customer_key"), Pushdown::ItemKey),
            text("email"),
            text("name"),
            pushed(text("partner_key"), Pushdown::Equality("partner_key")),
            text("partnership_key"),
            text("provider_key"),
            text("source_key"),
            text("source_type"),
            boolean("test"),
            json("meta"),
            json("mdata"),
            json("field_data"),
            json("fields"),
            CREATED,
            UPDATED,
            ATTRS,
        ],
    },
    Resource {
        name: "partnerships",
        list_path: "/partnerships",
        item_path: Some("/partnerships/{}"),
        description: "PartnerStack partnerships: partners in your program (GET /v2/partnerships)",
        columns: &[
            KEY_LOOKUP,
            pushed(text("partner_key"), Pushdown::Equality("partner_key")),
            text("email"),
            text("first_name"),
            text("last_name"),
            json("group"),
            timestamp("joined_at"),
            json("manager"),
            // Airbyte's schema calls it m_data; the API sends mdata (§6 #14).
            Column {
                source: Source::FieldOrAlias("mdata", "m_data"),
                ..json("mdata")
            },
            json("stats"),
            text_array("tags"),
            json("team"),
            json("tier"),
            json("address"),
            json("fields"),
            json("field_data"),
            json("meta"),
            CREATED,
            UPDATED,
            ATTRS,
        ],
    },
    Resource {
        name: "groups",
        list_path: "/groups",
        item_path: None,
        description: "PartnerStack partner groups, read-only (GET /v2/groups)",
        columns: &[
            KEY,
            text("name"),
            text("slug"),
            boolean("default"),
            boolean("archived"),
            json("features"),
            CREATED,
            UPDATED,
            ATTRS,
        ],
    },
    Resource {
        name: "deals",
        list_path: "/deals",
        item_path: Some("/deals/{}"),
        description: "PartnerStack deals (GET /v2/deals)",
        columns: &[
            KEY_LOOKUP,
            text("account_name"),
            bigint("amount"),
            text("close_date"),
            text("contact_first_name"),
            text("contact_last_name"),
            text("external_key"),
            text("group_key"),
            pushed(text("partner_key"), Pushdown::Equality("partner_key")),
            text("lost_reason"),
            text("mold_key"),
            text("source"),
            text("stage"),
            json("fields"),
            json("field_data"),
            json("meta"),
            json("team"),
            json("team_member"),
            CREATED,
            UPDATED,
            ATTRS,
        ],
    },
    Resource {
        name: "leads",
        list_path: "/leads",
        item_path: Some("/leads/{}"),
        description: "PartnerStack leads (GET /v2/leads)",
        columns: &[
            KEY_LOOKUP,
            bigint("amount"),
            boolean("approved"),
            text("external_key"),
            text("group_key"),
            pushed(text("partner_key"), Pushdown::Equality("partner_key")),
            text("mold_key"),
            text("status"),
            json("meta"),
            json("field_data"),
            json("fields"),
            CREATED,
            UPDATED,
            ATTRS,
        ],
    },
    Resource {
        name: "transactions",
        list_path: "/transactions",
        // DELETE /v2/transactions/{key} exists, but there is no documented GET by key (§4.7).
        item_path: None,
        description: "PartnerStack transactions, append-only (GET /v2/transactions)",
        columns: &[
            KEY,
            bigint("amount"),
            bigint("amount_usd"),
            boolean("approved"),
            text("category_key"),
            text("product_key"),
            text("currency"),
            text("customer_key"),
            json("customer"),
            json("extension"),
            json("metadata"),
            boolean("test"),
            CREATED,
            UPDATED_LOCAL,
            ATTRS,
        ],
    },
    Resource {
        name: "rewards",
        list_path: "/rewards",
        item_path: None,
        description: "PartnerStack rewards (GET /v2/rewards)",
        columns: &[
            KEY,
            bigint("amount"),
            text("currency"),
            text("description"),
            pushed(text("reward_status"), Pushdown::Equality("status")),
            json("action"),
            json("customer"),
            json("invoice"),
            json("offer"),
            json("partnership"),
            json("transaction"),
            json("trigger"),
            CREATED,
            UPDATED_LOCAL,
            ATTRS,
        ],
    },
    Resource {
        name: "actions",
        list_path: "/actions",
        item_path: None,
        description: "PartnerStack actions (GET /v2/actions)",
        columns: &[
            KEY,
            pushed(text("type"), Pushdown::Equality("action_type")),
            bigint("value"),
            boolean("archived"),
            pushed(
                text("partnership_key"),
                Pushdown::Equality("partnership_key"),
            ),
            json("customer"),
            json("company"),
            text("target_type"),
            text("target_key"),
            text("external_key"),
            CREATED,
            UPDATED,
            ATTRS,
        ],
    },
    Resource {
        name: "webhooks",
        list_path: "/webhooks",
        item_path: Some("/webhooks/{}"),
        description: "PartnerStack webhooks (GET /v2/webhooks)",
        columns: &[
            KEY_LOOKUP,
            text("target"),
            text_array("events"),
            // The list endpoint takes no date filters (§3): timestamps are filtered locally.
            timestamp("created_at"),
            UPDATED_LOCAL,
            ATTRS,
        ],
    },
    Resource {
        name: "links",
        // Vendor keys can only list links per partnership (§4.11).
        list_path: "/links/partnership/{}",
        item_path: None,
        description: "PartnerStack tracking links of one partnership (GET /v2/links/partnership/{key}); \
                      needs partnership_key = ... or a join on it",
        columns: &[
            Column {
                name: "partnership_key",
                ty: ColumnType::Text,
                source: Source::PathParameter,
                pushdown: Pushdown::PathParameter,
            },
            KEY,
            text("dest"),
            text("url"),
            ATTRS,
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_has_key_attrs_and_unique_columns() {
        for r in RESOURCES {
            assert!(r.column("key").is_some(), "{} has no key", r.name);
            assert_eq!(r.columns.last().unwrap().name, "attrs", "{}", r.name);
            let mut names: Vec<_> = r.columns.iter().map(|c| c.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), r.columns.len(), "{} repeats a column", r.name);
        }
    }

    #[test]
    fn item_key_only_where_the_api_has_a_get() {
        let with_get: Vec<_> = RESOURCES
            .iter()
            .filter(|r| r.item_key().is_some())
            .map(|r| r.name)
            .collect();
        assert_eq!(
            with_get,
            ["customers", "partnerships", "deals", "leads", "webhooks"]
        );
        assert_eq!(
            resource("customers").unwrap().item_key().unwrap().name,
            "customer_key"
        );
    }

    #[test]
    fn path_parameter_matches_placeholder() {
        for r in RESOURCES {
            assert_eq!(r.list_path.contains("{}"), r.path_parameter().is_some());
        }
    }

    #[test]
    fn ddl_quotes_reserved_words() {
        let sql = resource("groups")
            .unwrap()
            .create_table_sql("partnerstack", "srv");
        assert!(sql.contains("\"default\" boolean"), "{sql}");
        assert!(sql.contains("OPTIONS (resource 'groups')"), "{sql}");
        assert!(sql.starts_with("CREATE FOREIGN TABLE \"partnerstack\".\"groups\""));
    }
}
