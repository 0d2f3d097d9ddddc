//! The catalogue of PartnerStack resources: the Vendor API's ([`RESOURCES`]) and the Partner
//! API's ([`PARTNER_RESOURCES`]).
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
    /// A field of an object field: `Nested("group", "key")` reads `group.key`. Lets a column
    /// named as the write body names it (`group_key`) read back what the API echoes.
    Nested(&'static str, &'static str),
    /// Never sent back by the API: reads as NULL (a write-only input such as rewards' `target`).
    WriteOnly,
    /// Two text fields joined by a space, the NULL or empty ones left out (`partners.name` from
    /// a partnership's `first_name` and `last_name`); NULL when both are.
    FullName(&'static str, &'static str),
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
    /// On an array column, `'x' = ANY(column)` becomes the query parameter of that name: a list
    /// filter taking one value that keeps the items whose array holds it (programs' `category`).
    Contains(&'static str),
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
    /// How the column takes part in INSERT and UPDATE.
    pub write: Write,
    /// The list endpoint's `order_by` takes this column's field name (ascending, `-name`
    /// descending; reference §2, §3): `ORDER BY` it needs no sort.
    pub order_by: bool,
}

/// Whether a column goes into the body of a create (POST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Not accepted on create: a non-NULL value is an error.
    No,
    /// Sent when not NULL.
    Optional,
    /// Must be given and not NULL.
    Required,
}

/// A value check beyond the column's type, made before any request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The type is all.
    None,
    /// ISO 4217 code: exactly 3 ASCII letters, sent upper case (§1.6).
    Currency,
    /// `jsonb` that must be a JSON object.
    Object,
    /// `jsonb` that must be a JSON array.
    Array,
    /// Text that must be one of these values.
    OneOf(&'static [&'static str]),
}

/// How a column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write {
    /// On create.
    pub create: Need,
    /// Accepted in an update body.
    pub update: bool,
    /// Extra validation.
    pub check: Check,
}

/// A read-only column.
pub const READ_ONLY: Write = Write {
    create: Need::No,
    update: false,
    check: Check::None,
};

/// Where a resource's writes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The Vendor API (`api_url`, Basic auth).
    Vendor,
    /// The S2S tracking host (`s2s_url`, Bearer `s2s_token`, §4.15): 200 with an empty body.
    Conversion,
}

/// The HTTP verb of an update. The reference documents PATCH (§4), Stitchflow PUT (§6 #4):
/// PUT is sent first, a 405 falls back to the same body as PATCH (the glue remembers the verb
/// per server), and the server option `update_method` pins one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMethod {
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
}

impl UpdateMethod {
    /// Parses the server option `update_method` (`put` or `patch`, any case).
    pub fn from_option(value: &str) -> Option<UpdateMethod> {
        match value.to_ascii_lowercase().as_str() {
            "put" => Some(UpdateMethod::Put),
            "patch" => Some(UpdateMethod::Patch),
            _ => None,
        }
    }

    /// The verb.
    pub fn verb(self) -> &'static str {
        match self {
            UpdateMethod::Put => "PUT",
            UpdateMethod::Patch => "PATCH",
        }
    }
}

/// A rule on a create body that spans several columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Exactly one of these columns must be non-NULL (transactions' customer reference, §4.7).
    ExactlyOne(&'static [&'static str]),
    /// `required` must be non-NULL when `column` equals `value`, or is NULL and `value` is
    /// the default (deals: partner_key for source `partner`, group_key for `vendor`, §4.5).
    RequiredWhen {
        /// The deciding column.
        column: &'static str,
        /// Its value.
        value: &'static str,
        /// Whether a NULL deciding column means `value`.
        default: bool,
        /// The column then required.
        required: &'static str,
    },
}

/// How to find out, after a POST failed without an answer (5xx, timeout), whether the object
/// was created anyway. Only possible when the row carries a key of its own choosing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// `GET item_path` with this column's value: 404 means absent.
    ItemGet(&'static str),
    /// `GET list_path?param=value`: absent when no item has `column` equal to the value.
    ListFilter {
        /// The column (and item field) holding the row's own key.
        column: &'static str,
        /// The list's query parameter filtering on it.
        param: &'static str,
    },
}

/// What the API lets you write for a resource; the per-column part is [`Column::write`].
#[derive(Debug, Clone, Copy)]
pub struct Writes {
    /// Host and auth of the writes.
    pub endpoint: Endpoint,
    /// `POST` path of a create, when the API has one.
    pub create_path: Option<&'static str>,
    /// Path of one object for update and delete, `{}` standing for `item_column`'s value.
    pub item_path: Option<&'static str>,
    /// The column whose value addresses the object in `item_path`.
    pub item_column: &'static str,
    /// Whether the API updates objects, and with which verb first.
    pub update: Option<UpdateMethod>,
    /// Why a write the API lacks is refused: an UPDATE when `update` is `None`, any write of
    /// a read-only resource.
    pub refusal: &'static str,
    /// Whether `DELETE item_path` exists.
    pub delete: bool,
    /// Upsert ("update by key, create when the API answers 404"), addressed by this column.
    pub upsert: Option<&'static str>,
    /// Cross-column rules of a create.
    pub rules: &'static [Rule],
    /// How a failed create can be confirmed absent before it is sent again.
    pub confirm: Option<Confirm>,
}

/// A resource nothing can be written to.
const NO_WRITES: Writes = Writes {
    endpoint: Endpoint::Vendor,
    create_path: None,
    item_path: None,
    item_column: "key",
    update: None,
    refusal: "the PartnerStack API has no endpoint to change it",
    delete: false,
    upsert: None,
    rules: &[],
    confirm: None,
};

/// Which PartnerStack API a server reads (§1.2): they share the host and several paths but
/// not the auth, the shapes or the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// The Vendor API: a program's key pair, HTTP Basic (`public_key`, `private_key`).
    Vendor,
    /// The Partner API: a partner's `api_key`, `Authorization: Bearer`.
    Partner,
}

impl Api {
    /// Parses the server option `api` (`vendor` or `partner`, any case).
    pub fn from_option(value: &str) -> Option<Api> {
        match value.to_ascii_lowercase().as_str() {
            "vendor" => Some(Api::Vendor),
            "partner" => Some(Api::Partner),
            _ => None,
        }
    }

    /// The resources of this API.
    pub fn resources(self) -> &'static [Resource] {
        match self {
            Api::Vendor => RESOURCES,
            Api::Partner => PARTNER_RESOURCES,
        }
    }

    /// How a user names this kind of server in messages.
    pub fn server_kind(self) -> &'static str {
        match self {
            Api::Vendor => "a Vendor API server (without OPTIONS (api 'partner'))",
            Api::Partner => "a Partner API server (OPTIONS (api 'partner'))",
        }
    }

    /// The other API.
    pub fn other(self) -> Api {
        match self {
            Api::Vendor => Api::Partner,
            Api::Partner => Api::Vendor,
        }
    }
}

/// How the `resource` option of a Partner API table starts: the prefix keeps a Partner
/// resource apart from the Vendor resource of the same name (`partner.customers`).
pub const PARTNER_PREFIX: &str = "partner.";

/// One PartnerStack resource, exposed as one foreign table.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// The value of the table option `resource`; also the foreign table's name, without
    /// [`PARTNER_PREFIX`] for a Partner API resource (which that prefix marks).
    pub name: &'static str,
    /// List path below the API base URL; `{}` stands for a path parameter (links).
    pub list_path: &'static str,
    /// Path of a single object, `{}` standing for the value of the `ItemKey` column.
    pub item_path: Option<&'static str>,
    /// Columns in table order (`attrs` last).
    pub columns: &'static [Column],
    /// One line for COMMENT ON FOREIGN TABLE.
    pub description: &'static str,
    /// False for a write-only resource (conversions): the API has nothing to list.
    pub readable: bool,
    /// What INSERT, UPDATE and DELETE become.
    pub writes: Writes,
}

impl Resource {
    /// The API the resource belongs to.
    pub fn api(&self) -> Api {
        if self.name.starts_with(PARTNER_PREFIX) {
            Api::Partner
        } else {
            Api::Vendor
        }
    }

    /// The name IMPORT FOREIGN SCHEMA gives its table (`payouts` for `partner.payouts`).
    pub fn table_name(&self) -> &'static str {
        self.name.strip_prefix(PARTNER_PREFIX).unwrap_or(self.name)
    }

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

    /// The list path as a reader expects it: the `{}` named after the column that fills it
    /// (`/links/partnership/{partnership_key}`), for EXPLAIN and messages.
    pub fn list_path_display(&self) -> String {
        match self.path_parameter() {
            Some(column) => self
                .list_path
                .replace("{}", &format!("{{{}}}", column.name)),
            None => self.list_path.to_owned(),
        }
    }

    /// The column a GET by key is addressed with, when the API has one.
    pub fn item_key(&self) -> Option<&'static Column> {
        self.item_path?;
        self.columns
            .iter()
            .find(|c| c.pushdown == Pushdown::ItemKey)
    }

    /// The column UPDATE and DELETE address an object by (the glue's row identity column),
    /// when the resource has either.
    pub fn rowid_column(&self) -> Option<&'static Column> {
        let w = &self.writes;
        w.item_path?;
        if w.update.is_none() && !w.delete {
            return None;
        }
        self.column(w.item_column)
    }

    /// The `CREATE FOREIGN TABLE` statement for this resource.
    pub fn create_table_sql(&self, schema: &str, server: &str) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("  {} {}", quote_ident(c.name), c.ty.sql_type()))
            .collect();
        format!(
            "CREATE FOREIGN TABLE {}.{} (\n{}\n) SERVER {} OPTIONS (resource {}, rowid_column {})",
            quote_ident(schema),
            quote_ident(self.table_name()),
            columns.join(",\n"),
            quote_ident(server),
            quote_literal(self.name),
            quote_literal(rowid_column_name(self)),
        )
    }
}

/// The table option `rowid_column` of a resource: the column UPDATE and DELETE address an
/// object by, else `key` (or the first column) so that every table has one: the framework's
/// modify path asks for it even for INSERT, and a read-only table then refuses writes with
/// its own message.
pub fn rowid_column_name(resource: &Resource) -> &'static str {
    resource
        .rowid_column()
        .or_else(|| resource.column("key"))
        .map_or(resource.columns[0].name, |c| c.name)
}

/// Quotes an SQL identifier unconditionally (always valid, and keeps `default` usable).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes an SQL string literal.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Looks a resource up by its `resource` option: a Vendor API name, or a Partner API one with
/// [`PARTNER_PREFIX`].
pub fn resource(name: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .chain(PARTNER_RESOURCES)
        .find(|r| r.name == name)
}

/// Looks a resource of `api` up by its table name or its `resource` option: on a Partner API
/// server `customers` is the Partner API's customers.
pub fn resource_in(api: Api, name: &str) -> Option<&'static Resource> {
    api.resources()
        .iter()
        .find(|r| r.name == name || r.table_name() == name)
}

/// Table names of the resources of `api`, for messages.
pub fn table_names(api: Api) -> Vec<&'static str> {
    api.resources().iter().map(Resource::table_name).collect()
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
        write: READ_ONLY,
        order_by: false,
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
/// The list's documented `order_by` takes this column (§2).
const fn sortable(column: Column) -> Column {
    Column {
        order_by: true,
        ..column
    }
}
const fn nested(column: Column, object: &'static str, field: &'static str) -> Column {
    Column {
        source: Source::Nested(object, field),
        ..column
    }
}
const fn write_only(column: Column) -> Column {
    Column {
        source: Source::WriteOnly,
        ..column
    }
}
const fn written(column: Column, create: Need, update: bool) -> Column {
    Column {
        write: Write {
            create,
            update,
            check: column.write.check,
        },
        ..column
    }
}
/// Required on create, not updatable.
const fn required(column: Column) -> Column {
    written(column, Need::Required, false)
}
/// Required on create, updatable.
const fn required_updatable(column: Column) -> Column {
    written(column, Need::Required, true)
}
/// Optional on create, not updatable.
const fn optional(column: Column) -> Column {
    written(column, Need::Optional, false)
}
/// Optional on create, updatable.
const fn optional_updatable(column: Column) -> Column {
    written(column, Need::Optional, true)
}
/// Only accepted by updates.
const fn update_only(column: Column) -> Column {
    written(column, Need::No, true)
}
const fn checked(column: Column, check: Check) -> Column {
    Column {
        write: Write {
            check,
            ..column.write
        },
        ..column
    }
}
const fn object(name: &'static str) -> Column {
    checked(json(name), Check::Object)
}
const fn array(name: &'static str) -> Column {
    checked(json(name), Check::Array)
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
    write: READ_ONLY,
    order_by: false,
};
/// Lead statuses the API accepts (§4.6).
const LEAD_STATUSES: &[&str] = &["open", "closed", "dead", "closed won", "closed lost"];

/// Every resource the extension exposes. `conversions` (write-only) stays last.
pub static RESOURCES: &[Resource] = &[
    Resource {
        name: "customers",
        list_path: "/customers",
        // Addressed by the vendor's own customer_key, not the cus_ key (§4.1).
        item_path: Some("/customers/{}"),
        description: "PartnerStack customers (GET /v2/customers)",
        readable: true,
        writes: Writes {
            create_path: Some("/customers"),
            item_path: Some("/customers/{}"),
            item_column: "customer_key",
            update: Some(UpdateMethod::Put),
            delete: true,
            upsert: Some("customer_key"),
            // GET /customers/{customer_key} is documented (§4.1) and 404s when absent.
            confirm: Some(Confirm::ItemGet("customer_key")),
            ..NO_WRITES
        },
        columns: &[
            KEY,
            optional_updatable(pushed(text("customer_key"), Pushdown::ItemKey)),
            required_updatable(text("email")),
            optional_updatable(text("name")),
            // Not updatable: re-attribution is a dashboard operation (§4.1, §6 #6).
            required(pushed(
                text("partner_key"),
                Pushdown::Equality("partner_key"),
            )),
            text("partnership_key"),
            optional_updatable(text("provider_key")),
            text("source_key"),
            text("source_type"),
            boolean("test"),
            optional_updatable(object("meta")),
            json("mdata"),
            json("field_data"),
            json("fields"),
            // A write input the API does not echo: reads NULL.
            optional_updatable(write_only(text("member_key"))),
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
        readable: true,
        writes: Writes {
            create_path: Some("/partnerships"),
            item_path: Some("/partnerships/{}"),
            item_column: "key",
            update: Some(UpdateMethod::Put),
            delete: true,
            // partner_key is the vendor-chosen unique key a create can carry, so the object an
            // upsert creates is the one the next upsert of the same row finds (§4.2: the path
            // takes the partnership key; partner_key there is L confidence — a miss ends in a
            // duplicate-partner_key 400, never a second partner).
            upsert: Some("partner_key"),
            confirm: Some(Confirm::ListFilter {
                column: "partner_key",
                param: "partner_key",
            }),
            ..NO_WRITES
        },
        columns: &[
            KEY_LOOKUP,
            optional_updatable(pushed(
                text("partner_key"),
                Pushdown::Equality("partner_key"),
            )),
            required(text("email")),
            optional(text("first_name")),
            optional(text("last_name")),
            json("group"),
            timestamp("joined_at"),
            json("manager"),
            // Airbyte's schema calls it m_data; the API sends mdata (§6 #14).
            Column {
                source: Source::FieldOrAlias("mdata", "m_data"),
                ..json("mdata")
            },
            json("stats"),
            // Tags change through PATCH /partnerships/{key}/tags, not the update body.
            optional(text_array("tags")),
            json("team"),
            json("tier"),
            json("address"),
            optional_updatable(array("fields")),
            optional(object("field_data")),
            optional(object("meta")),
            // Write inputs named as the body names them, read back from the nested objects.
            optional_updatable(nested(text("group_key"), "group", "key")),
            optional_updatable(nested(text("manager_email"), "manager", "manager_email")),
            optional(nested(text("manager_name"), "manager", "manager_name")),
            update_only(nested(text("tier_key"), "tier", "key")),
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
        readable: true,
        writes: Writes {
            refusal: "groups are read-only: they are created and edited in the PartnerStack dashboard",
            ..NO_WRITES
        },
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
        readable: true,
        writes: Writes {
            create_path: Some("/deals"),
            item_path: Some("/deals/{}"),
            update: Some(UpdateMethod::Put),
            delete: true,
            // §4.5, §6 #8: the owner key that matches `source` (partner by default).
            rules: &[
                Rule::RequiredWhen {
                    column: "source",
                    value: "partner",
                    default: true,
                    required: "partner_key",
                },
                Rule::RequiredWhen {
                    column: "source",
                    value: "vendor",
                    default: false,
                    required: "group_key",
                },
            ],
            ..NO_WRITES
        },
        columns: &[
            KEY_LOOKUP,
            optional_updatable(text("account_name")),
            optional_updatable(bigint("amount")),
            optional_updatable(text("close_date")),
            optional_updatable(text("contact_first_name")),
            optional_updatable(text("contact_last_name")),
            optional_updatable(text("external_key")),
            optional_updatable(text("group_key")),
            optional_updatable(pushed(
                text("partner_key"),
                Pushdown::Equality("partner_key"),
            )),
            optional_updatable(text("lost_reason")),
            optional_updatable(text("mold_key")),
            optional_updatable(checked(
                text("source"),
                Check::OneOf(&["partner", "vendor"]),
            )),
            optional_updatable(text("stage")),
            optional_updatable(array("fields")),
            optional(object("field_data")),
            optional(object("meta")),
            update_only(object("team")),
            update_only(object("team_member")),
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
        readable: true,
        writes: Writes {
            create_path: Some("/leads"),
            item_path: Some("/leads/{}"),
            update: Some(UpdateMethod::Put),
            delete: true,
            ..NO_WRITES
        },
        columns: &[
            KEY_LOOKUP,
            optional_updatable(bigint("amount")),
            optional_updatable(boolean("approved")),
            required_updatable(text("external_key")),
            optional_updatable(text("group_key")),
            required_updatable(pushed(
                text("partner_key"),
                Pushdown::Equality("partner_key"),
            )),
            optional_updatable(text("mold_key")),
            required_updatable(checked(text("status"), Check::OneOf(LEAD_STATUSES))),
            // Must carry the contact's first_name and last_name (§4.6); the API checks that.
            required_updatable(object("meta")),
            optional_updatable(object("field_data")),
            optional_updatable(array("fields")),
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
        readable: true,
        writes: Writes {
            create_path: Some("/transactions"),
            item_path: Some("/transactions/{}"),
            refusal: "transactions are append-only: PartnerStack has no endpoint to change one \
                        (delete it and insert a corrected one)",
            delete: true,
            rules: &[Rule::ExactlyOne(&[
                "customer_key",
                "customer_external_key",
                "customer_email",
            ])],
            // No GET by key and no key filter: a failed create cannot be confirmed absent, so
            // it is never sent twice (a duplicate transaction means a duplicate reward).
            confirm: None,
            ..NO_WRITES
        },
        columns: &[
            optional(KEY),
            required(bigint("amount")),
            bigint("amount_usd"),
            boolean("approved"),
            optional(text("category_key")),
            optional(text("product_key")),
            required(checked(text("currency"), Check::Currency)),
            // On create: PartnerStack's cus_ key; or your customer_key, or the e-mail (§4.7).
            optional(text("customer_key")),
            optional(nested(
                text("customer_external_key"),
                "customer",
                "external_key",
            )),
            optional(nested(text("customer_email"), "customer", "email")),
            json("customer"),
            json("extension"),
            optional(object("metadata")),
            optional(boolean("test")),
            // Client-supplied created_at backdates a transaction (§1.5). `order_by` (§3).
            optional(sortable(CREATED)),
            UPDATED_LOCAL,
            ATTRS,
        ],
    },
    Resource {
        name: "rewards",
        list_path: "/rewards",
        item_path: None,
        description: "PartnerStack rewards (GET /v2/rewards)",
        readable: true,
        writes: Writes {
            create_path: Some("/rewards"),
            refusal: "rewards are approved or declined in the PartnerStack dashboard; the API \
                        only creates them",
            ..NO_WRITES
        },
        columns: &[
            KEY,
            required(bigint("amount")),
            text("currency"),
            optional(text("description")),
            pushed(text("reward_status"), Pushdown::Equality("status")),
            json("action"),
            json("customer"),
            json("invoice"),
            json("offer"),
            json("partnership"),
            json("transaction"),
            json("trigger"),
            // {"key": ..., "type": "customer" | "transaction"} (§4.8); not echoed back.
            required(write_only(object("target"))),
            // `order_by=created_at` / `-created_at` (§2, §3).
            sortable(CREATED),
            UPDATED_LOCAL,
            ATTRS,
        ],
    },
    Resource {
        name: "actions",
        list_path: "/actions",
        item_path: None,
        description: "PartnerStack actions (GET /v2/actions)",
        readable: true,
        writes: Writes {
            create_path: Some("/actions"),
            item_path: Some("/actions/{}"),
            refusal: "actions cannot be changed through the API: delete (archive) the action \
                        and record a new one",
            delete: true,
            ..NO_WRITES
        },
        columns: &[
            KEY,
            required(pushed(text("type"), Pushdown::Equality("action_type"))),
            required(bigint("value")),
            boolean("archived"),
            pushed(
                text("partnership_key"),
                Pushdown::Equality("partnership_key"),
            ),
            json("customer"),
            json("company"),
            required(checked(
                text("target_type"),
                Check::OneOf(&["customer", "partnership"]),
            )),
            required(text("target_key")),
            optional(text("external_key")),
            // `order_by` (§3, SDK): `created_at` / `-created_at` (§2).
            sortable(CREATED),
            UPDATED,
            ATTRS,
        ],
    },
    Resource {
        name: "webhooks",
        list_path: "/webhooks",
        item_path: Some("/webhooks/{}"),
        description: "PartnerStack webhooks (GET /v2/webhooks)",
        readable: true,
        writes: Writes {
            create_path: Some("/webhooks"),
            item_path: Some("/webhooks/{}"),
            update: Some(UpdateMethod::Put),
            delete: true,
            ..NO_WRITES
        },
        columns: &[
            KEY_LOOKUP,
            required_updatable(text("target")),
            required_updatable(text_array("events")),
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
        readable: true,
        writes: Writes {
            refusal: "links are read-only through the Vendor API",
            ..NO_WRITES
        },
        columns: &[
            Column {
                name: "partnership_key",
                ty: ColumnType::Text,
                source: Source::PathParameter,
                pushdown: Pushdown::PathParameter,
                write: READ_ONLY,
                order_by: false,
            },
            KEY,
            text("dest"),
            text("url"),
            ATTRS,
        ],
    },
    Resource {
        name: "partners",
        // No vendor partners endpoint (§4.3, §6 #15): a partnership carries its partner's
        // identity and partner_key is unique per program (§4.2), so a partnership is a partner.
        list_path: "/partnerships",
        item_path: None,
        description: "PartnerStack partners of your program, one row per partnership \
                      (GET /v2/partnerships); partner_key = ... is pushed",
        readable: true,
        writes: Writes {
            refusal: "partners are read from partnerships: write to partnerships instead",
            ..NO_WRITES
        },
        columns: &[
            pushed(text("partner_key"), Pushdown::Equality("partner_key")),
            Column {
                source: Source::FullName("first_name", "last_name"),
                ..text("name")
            },
            text("email"),
            text("first_name"),
            text("last_name"),
            nested(text("group_key"), "group", "key"),
            nested(text("group_name"), "group", "name"),
            text_array("tags"),
            timestamp("joined_at"),
            json("manager"),
            json("tier"),
            json("address"),
            json("stats"),
            // The partnership's key (part_...): what customers and links point at.
            KEY,
            CREATED,
            UPDATED,
            ATTRS,
        ],
    },
    Resource {
        name: "conversions",
        // Not a list: the S2S endpoint only takes POSTs (§4.15). Reads are refused by
        // `pushdown::check_readable`; a read that skips it gets the API's 404 for this path.
        list_path: "/conversion/xid",
        item_path: None,
        description: "PartnerStack S2S conversions, write-only (POST {s2s_url}/conversion/xid); \
                      the customer appears in customers",
        readable: false,
        writes: Writes {
            endpoint: Endpoint::Conversion,
            create_path: Some("/conversion/xid"),
            refusal: "conversions are write-only events: update the customer in customers instead",
            ..NO_WRITES
        },
        // Exactly the body's fields: the answer is empty, so there is no key and no attrs.
        columns: &[
            required(text("xid")),
            required(text("customer_key")),
            optional(text("email")),
            optional(text("name")),
            optional(text("provider_key")),
            optional(text("origin")),
            optional(text("ip_address")),
            optional(text("user_agent")),
            optional(text("external_type")),
            optional(text_array("sub_ids")),
            optional(object("meta")),
        ],
    },
];

/// Partner API tables: read-only, the reference documents no Partner API writes (§4.11–§4.14).
const PARTNER_READ_ONLY: Writes = Writes {
    refusal: "Partner API tables are read-only: the PartnerStack reference documents no Partner \
              API writes",
    ..NO_WRITES
};

/// A read-only Partner API resource listed at `list_path`.
const fn partner(
    name: &'static str,
    list_path: &'static str,
    description: &'static str,
    columns: &'static [Column],
) -> Resource {
    Resource {
        name,
        list_path,
        item_path: None,
        columns,
        description,
        readable: true,
        writes: PARTNER_READ_ONLY,
    }
}

/// The Partner API's resources (§1.2, §4.11–§4.14): what a partner reads with its `api_key`
/// on a server with `OPTIONS (api 'partner')`. Shapes beyond `key`, `created_at` and
/// `updated_at` are the reference's Partner-only fields (low to medium confidence, see the
/// README); every other field is in `attrs`.
pub static PARTNER_RESOURCES: &[Resource] = &[
    partner(
        "partner.payouts",
        "/payouts",
        "PartnerStack Partner API payouts (GET /v2/payouts)",
        &[
            KEY,
            bigint("amount"),
            text("currency"),
            json("provider"),
            timestamp("sent_at"),
            text("status"),
            timestamp("withdrawal_date"),
            // §4.13: `order_by`; its values are field names (§2).
            sortable(CREATED),
            // §3: payouts filter on created only.
            UPDATED_LOCAL,
            ATTRS,
        ],
    ),
    Resource {
        // `{company_key}`: the program's key (co_..., §1.7, §4.14).
        item_path: Some("/marketplace/programs/{}"),
        ..partner(
            "partner.marketplace_programs",
            "/marketplace/programs",
            "PartnerStack Partner API marketplace programs (GET /v2/marketplace/programs); \
             key = ... is GET /v2/marketplace/programs/{company_key}",
            &[
                KEY_LOOKUP,
                bigint("id"),
                text("name"),
                text("description"),
                // The `category` filter takes one category (§4.14) and keeps the programs listed
                // under it: `'x' = ANY(category)`.
                pushed(text_array("category"), Pushdown::Contains("category")),
                text("country"),
                boolean("has_sub_id"),
                text("logo"),
                text("website"),
                json("offers"),
                json("promotions"),
                CREATED,
                ATTRS,
            ],
        )
    },
    // The flat list is Partner API only (§4.11).
    partner(
        "partner.links",
        "/links",
        "PartnerStack Partner API tracking links (GET /v2/links)",
        &[KEY, text("dest"), text("url"), ATTRS],
    ),
    partner(
        "partner.customers",
        "/customers",
        "PartnerStack Partner API customers you referred (GET /v2/customers)",
        &[
            KEY,
            text("email"),
            text("name"),
            boolean("archived"),
            json("company"),
            text("country_iso"),
            boolean("has_paid"),
            text("shared_id"),
            text_array("sub_ids"),
            // §2: `order_by=created_at` / `-created_at` on the Partner customers page.
            sortable(CREATED),
            UPDATED_LOCAL,
            ATTRS,
        ],
    ),
    partner(
        "partner.transactions",
        "/transactions",
        "PartnerStack Partner API transactions of your customers (GET /v2/transactions)",
        &[
            KEY,
            bigint("amount"),
            bigint("amount_usd"),
            text("currency"),
            boolean("approved"),
            boolean("archived"),
            json("company"),
            text("partnership_key"),
            json("customer"),
            // §2: `order_by=created_at` / `-created_at` on the Partner transactions page.
            sortable(CREATED),
            UPDATED_LOCAL,
            ATTRS,
        ],
    ),
    partner(
        "partner.rewards",
        "/rewards",
        "PartnerStack Partner API rewards you earned (GET /v2/rewards)",
        &[
            KEY,
            // §2: Partner rewards' `order_by` also takes `amount` (and `ready_at`, no column).
            sortable(bigint("amount")),
            text("currency"),
            text("description"),
            pushed(text("reward_status"), Pushdown::Equality("status")),
            pushed(text("payment_status"), Pushdown::Equality("payment_status")),
            timestamp("payment_date"),
            text("payout_id"),
            boolean("withdrawn"),
            json("source"),
            json("company"),
            // The Partner-side `company_key` filter (§3), read back from `company.key`.
            pushed(
                nested(text("company_key"), "company", "key"),
                Pushdown::Equality("company_key"),
            ),
            json("customer"),
            text("decline_reason"),
            sortable(CREATED),
            UPDATED_LOCAL,
            ATTRS,
        ],
    ),
    partner(
        "partner.partnerships",
        "/partnerships",
        "PartnerStack Partner API partnerships: the programs you joined (GET /v2/partnerships)",
        &[
            KEY,
            boolean("claimed"),
            json("company"),
            nested(text("company_key"), "company", "key"),
            boolean("has_sub_id"),
            boolean("is_archived"),
            json("offers"),
            text("status"),
            // §6 #16: order_by, has_sub_id, include_offers, include_archived; no date filters.
            // §2: partnerships' `order_by` takes `created_at` and `updated_at`.
            sortable(timestamp("created_at")),
            sortable(UPDATED_LOCAL),
            ATTRS,
        ],
    ),
    partner(
        "partner.actions",
        "/actions",
        "PartnerStack Partner API actions credited to you (GET /v2/actions)",
        &[
            KEY,
            pushed(text("type"), Pushdown::Equality("action_type")),
            bigint("value"),
            boolean("archived"),
            pushed(
                text("partnership_key"),
                Pushdown::Equality("partnership_key"),
            ),
            json("customer"),
            // The Partner variant's `customer_key` filter (§3), read back from `customer.key`.
            pushed(
                nested(text("customer_key"), "customer", "key"),
                Pushdown::Equality("customer_key"),
            ),
            json("company"),
            // §2: `order_by=created_at` / `-created_at` on the Partner actions page.
            sortable(CREATED),
            UPDATED,
            ATTRS,
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_has_key_attrs_and_unique_columns() {
        for r in RESOURCES {
            if r.readable {
                assert!(r.column("key").is_some(), "{} has no key", r.name);
                assert_eq!(r.columns.last().unwrap().name, "attrs", "{}", r.name);
            }
            let mut names: Vec<_> = r.columns.iter().map(|c| c.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), r.columns.len(), "{} repeats a column", r.name);
        }
    }

    #[test]
    fn list_path_display_names_the_path_parameter() {
        let links = RESOURCES.iter().find(|r| r.name == "links").unwrap();
        assert_eq!(
            links.list_path_display(),
            "/links/partnership/{partnership_key}"
        );
        let customers = RESOURCES.iter().find(|r| r.name == "customers").unwrap();
        assert_eq!(customers.list_path_display(), "/customers");
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
    fn conversions_are_last_write_only_and_only_the_s2s_body() {
        let last = RESOURCES.last().unwrap();
        assert_eq!(last.name, "conversions");
        assert!(!last.readable && RESOURCES.iter().filter(|r| !r.readable).count() == 1);
        assert_eq!(last.writes.endpoint, Endpoint::Conversion);
        let names: Vec<_> = last.columns.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "xid",
                "customer_key",
                "email",
                "name",
                "provider_key",
                "origin",
                "ip_address",
                "user_agent",
                "external_type",
                "sub_ids",
                "meta"
            ]
        );
        let sql = last.create_table_sql("ps", "srv");
        assert!(sql.contains("\"sub_ids\" text[]"), "{sql}");
        assert!(
            sql.ends_with("OPTIONS (resource 'conversions', rowid_column 'xid')"),
            "{sql}"
        );
    }

    #[test]
    fn write_specs_name_existing_columns() {
        for r in RESOURCES {
            let w = &r.writes;
            let has = |c: &str| r.column(c).is_some();
            if w.item_path.is_some() {
                assert!(has(w.item_column), "{}: {}", r.name, w.item_column);
            }
            if let Some(c) = w.upsert {
                assert!(w.update.is_some() && w.create_path.is_some(), "{}", r.name);
                assert!(r.column(c).unwrap().write.create != Need::No, "{}", r.name);
            }
            if let Some(Confirm::ItemGet(c) | Confirm::ListFilter { column: c, .. }) = w.confirm {
                assert!(has(c), "{}: {c}", r.name);
            }
            for rule in w.rules {
                let cols: Vec<&str> = match rule {
                    Rule::ExactlyOne(cols) => cols.to_vec(),
                    Rule::RequiredWhen {
                        column, required, ..
                    } => vec![column, required],
                };
                for c in cols {
                    assert!(
                        r.column(c).unwrap().write.create != Need::No,
                        "{}: {c}",
                        r.name
                    );
                }
            }
            let creates = r.columns.iter().any(|c| c.write.create != Need::No);
            assert_eq!(creates, w.create_path.is_some(), "{}", r.name);
            let updates = r.columns.iter().any(|c| c.write.update);
            assert_eq!(updates, w.update.is_some(), "{}", r.name);
            assert!(!w.delete || w.item_path.is_some(), "{}", r.name);
            assert!(!w.refusal.is_empty(), "{}", r.name);
        }
        let writable: Vec<_> = RESOURCES
            .iter()
            .filter(|r| r.writes.create_path.is_none())
            .map(|r| r.name)
            .collect();
        assert_eq!(
            writable,
            ["groups", "links", "partners"],
            "read-only resources"
        );
    }

    #[test]
    fn rowid_columns() {
        let rowids: Vec<_> = RESOURCES
            .iter()
            .map(|r| (r.name, r.rowid_column().map(|c| c.name)))
            .collect();
        assert_eq!(
            rowids,
            [
                ("customers", Some("customer_key")),
                ("partnerships", Some("key")),
                ("groups", None),
                ("deals", Some("key")),
                ("leads", Some("key")),
                ("transactions", Some("key")),
                ("rewards", None),
                ("actions", Some("key")),
                ("webhooks", Some("key")),
                ("links", None),
                ("partners", None),
                ("conversions", None),
            ]
        );
    }

    #[test]
    fn update_method_option() {
        assert_eq!(
            UpdateMethod::from_option("PATCH"),
            Some(UpdateMethod::Patch)
        );
        assert_eq!(UpdateMethod::from_option("put"), Some(UpdateMethod::Put));
        assert_eq!(UpdateMethod::from_option("post"), None);
    }

    #[test]
    fn ddl_quotes_reserved_words() {
        let sql = resource("groups")
            .unwrap()
            .create_table_sql("partnerstack", "srv");
        assert!(sql.contains("\"default\" boolean"), "{sql}");
        assert!(
            sql.contains("OPTIONS (resource 'groups', rowid_column 'key')"),
            "{sql}"
        );
        assert!(sql.starts_with("CREATE FOREIGN TABLE \"partnerstack\".\"groups\""));
    }

    #[test]
    fn partner_resources_are_marked_read_only_and_named_for_their_tables() {
        let tables: Vec<_> = PARTNER_RESOURCES.iter().map(Resource::table_name).collect();
        assert_eq!(
            tables,
            [
                "payouts",
                "marketplace_programs",
                "links",
                "customers",
                "transactions",
                "rewards",
                "partnerships",
                "actions"
            ]
        );
        for r in PARTNER_RESOURCES {
            assert_eq!(r.api(), Api::Partner, "{}", r.name);
            assert!(r.readable && r.column("key").is_some(), "{}", r.name);
            assert_eq!(r.columns.last().unwrap().name, "attrs", "{}", r.name);
            let mut names: Vec<_> = r.columns.iter().map(|c| c.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), r.columns.len(), "{} repeats a column", r.name);
            assert!(r.writes.create_path.is_none() && r.rowid_column().is_none());
            assert!(r.columns.iter().all(|c| c.write == READ_ONLY), "{}", r.name);
            assert!(r.path_parameter().is_none(), "{}", r.name);
            assert_eq!(resource(r.name).map(|f| f.name), Some(r.name));
            assert_eq!(
                resource_in(Api::Partner, r.table_name()).map(|f| f.name),
                Some(r.name)
            );
        }
        for r in RESOURCES {
            assert_eq!(r.api(), Api::Vendor, "{}", r.name);
            assert_eq!(r.table_name(), r.name);
        }
        assert_eq!(
            resource_in(Api::Partner, "customers").unwrap().name,
            "partner.customers"
        );
        assert_eq!(
            resource_in(Api::Vendor, "customers").unwrap().name,
            "customers"
        );
        assert!(resource_in(Api::Vendor, "payouts").is_none());
        assert!(resource_in(Api::Partner, "groups").is_none());
        assert!(
            resource("payouts").is_none(),
            "Partner names need their prefix"
        );
    }

    #[test]
    fn partner_ddl_names_the_table_and_the_prefixed_resource() {
        let sql = resource("partner.payouts")
            .unwrap()
            .create_table_sql("ps", "partner_srv");
        assert!(
            sql.starts_with("CREATE FOREIGN TABLE \"ps\".\"payouts\""),
            "{sql}"
        );
        assert!(
            sql.ends_with("OPTIONS (resource 'partner.payouts', rowid_column 'key')"),
            "{sql}"
        );
        let programs = resource("partner.marketplace_programs").unwrap();
        assert_eq!(programs.item_key().unwrap().name, "key");
        assert_eq!(programs.item_path, Some("/marketplace/programs/{}"));
    }

    #[test]
    fn partner_filters_are_the_references() {
        let pushed = |name: &str| -> Vec<(&str, Pushdown)> {
            resource(name)
                .unwrap()
                .columns
                .iter()
                .filter(|c| c.pushdown != Pushdown::None)
                .map(|c| (c.name, c.pushdown))
                .collect()
        };
        assert_eq!(
            pushed("partner.payouts"),
            [("created_at", Pushdown::CreatedRange)]
        );
        assert_eq!(
            pushed("partner.rewards"),
            [
                ("reward_status", Pushdown::Equality("status")),
                ("payment_status", Pushdown::Equality("payment_status")),
                ("company_key", Pushdown::Equality("company_key")),
                ("created_at", Pushdown::CreatedRange)
            ]
        );
        assert_eq!(
            pushed("partner.actions"),
            [
                ("type", Pushdown::Equality("action_type")),
                ("partnership_key", Pushdown::Equality("partnership_key")),
                ("customer_key", Pushdown::Equality("customer_key")),
                ("created_at", Pushdown::CreatedRange),
                ("updated_at", Pushdown::UpdatedRange)
            ]
        );
        assert!(pushed("partner.partnerships").is_empty());
        assert!(pushed("partner.links").is_empty());
    }

    #[test]
    fn partners_are_partnerships_with_partner_key_pushed() {
        let p = resource("partners").unwrap();
        assert_eq!(p.list_path, "/partnerships");
        assert_eq!(
            p.column("partner_key").unwrap().pushdown,
            Pushdown::Equality("partner_key")
        );
        assert_eq!(
            p.column("name").unwrap().source,
            Source::FullName("first_name", "last_name")
        );
        assert!(p.writes.create_path.is_none() && p.rowid_column().is_none());
    }

    #[test]
    fn api_option() {
        assert_eq!(Api::from_option("Partner"), Some(Api::Partner));
        assert_eq!(Api::from_option("vendor"), Some(Api::Vendor));
        assert_eq!(Api::from_option("both"), None);
        assert_eq!(Api::Vendor.other(), Api::Partner);
        assert!(Api::Partner.server_kind().contains("api 'partner'"));
    }
}
