//! The wrapper's options, as one table (like postgres_fdw's `PgFdwOption`): each option once,
//! with where it may appear, how its value is checked, its default and a line of doc.
//!
//! The validator, the typed options the scan and the writes read, the "accepted options"
//! message and the README's "Options" table all follow [`OPTIONS`]. Reading the option lists
//! out of the Postgres catalogs, and raising errors, is the glue's job.

use std::fmt;

use crate::catalogue::{self, Api, Resource, UpdateMethod};
use crate::client::{
    ClientConfig, DEFAULT_API_URL, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_REQUESTS_PER_MINUTE,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRIES, DEFAULT_PAGE_SIZE, DEFAULT_RETRY_BASE_MS,
    DEFAULT_RETRY_MAX_MS, DEFAULT_S2S_URL, DEFAULT_TIMEOUT_MS, MAX_PAGE_SIZE,
};

/// Row estimate for a list scan when the table does not set `estimated_rows`: large enough
/// that the planner prefers key lookups and hash joins over repeated list scans.
pub const DEFAULT_ESTIMATED_ROWS: u64 = 1000;

/// Planner cost of one request when the server does not set `request_cost`: a round trip to
/// PartnerStack costs as much as reading many local pages (a sequential page costs 1.0).
pub const DEFAULT_REQUEST_COST: u64 = 100;

/// The catalog an option list belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `CREATE FOREIGN DATA WRAPPER`: takes no options.
    Wrapper,
    /// `CREATE SERVER`
    Server,
    /// `CREATE USER MAPPING`
    UserMapping,
    /// `CREATE FOREIGN TABLE`
    Table,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Wrapper => "foreign data wrapper",
            Scope::Server => "server",
            Scope::UserMapping => "user mapping",
            Scope::Table => "foreign table",
        })
    }
}

/// How an option's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// An `https://` or `http://` URL with a host.
    Url,
    /// A whole number from `min` to `max`.
    Count {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// Any text but a blank one (keys and tokens).
    NotBlank,
    /// `put` or `patch`, in any case.
    UpdateMethod,
    /// `insert` or `upsert`.
    InsertMode,
    /// The name of a resource of the catalogue.
    Resource,
    /// `vendor` or `partner`, in any case.
    Api,
    /// Any text: checked against the table's resource when the table is written.
    Any,
}

impl Check {
    /// Checks `value`; the error says what is wrong with it, for "invalid value for option".
    pub fn check(self, value: &str) -> Result<(), String> {
        match self {
            Check::Url => {
                let rest = value
                    .strip_prefix("https://")
                    .or_else(|| value.strip_prefix("http://"))
                    .ok_or("it must start with https:// or http://")?;
                if rest.is_empty() || rest.starts_with('/') {
                    return Err("it has no host".into());
                }
                Ok(())
            }
            Check::Count { min, max } => count(value, min, max).map(drop),
            Check::NotBlank if value.trim().is_empty() => Err("it is empty".into()),
            Check::NotBlank | Check::Any => Ok(()),
            Check::UpdateMethod => UpdateMethod::from_option(value)
                .map(drop)
                .ok_or_else(|| format!("\"{value}\" is neither 'put' nor 'patch'")),
            Check::InsertMode => InsertMode::from_option(value)
                .map(drop)
                .ok_or_else(|| format!("\"{value}\" is neither 'insert' nor 'upsert'")),
            Check::Api => Api::from_option(value)
                .map(drop)
                .ok_or_else(|| format!("\"{value}\" is neither 'vendor' nor 'partner'")),
            Check::Resource => catalogue::resource(value).map(drop).ok_or_else(|| {
                format!(
                    "\"{value}\" is not a PartnerStack resource; valid resources are: {}",
                    catalogue::resource_names().join(", ")
                )
            }),
        }
    }
}

/// The whole number `value` holds, if it is from `min` to `max`.
fn count(value: &str, min: u64, max: u64) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "\"{value}\" is not a whole number from {min} to {max}"
        )),
    }
}

/// What an option is when it is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionDefault {
    /// This value, as if it were set.
    Value(&'static str),
    /// This number, as if it were set.
    Number(u64),
    /// No value: the wrapper does what this says instead.
    Behaviour(&'static str),
    /// No value and no substitute (a key that must be set somewhere).
    Nothing,
}

impl OptionDefault {
    /// The value used when the option is not set, if there is one.
    fn value(self) -> Option<String> {
        match self {
            OptionDefault::Value(v) => Some(v.to_owned()),
            OptionDefault::Number(n) => Some(n.to_string()),
            OptionDefault::Behaviour(_) | OptionDefault::Nothing => None,
        }
    }

    /// The README's "default" cell.
    fn markdown(self) -> String {
        match self {
            OptionDefault::Value(v) => format!("`{v}`"),
            OptionDefault::Number(n) => n.to_string(),
            OptionDefault::Behaviour(text) => text.to_owned(),
            OptionDefault::Nothing => "—".to_owned(),
        }
    }
}

/// One option of the wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Its name in `OPTIONS (...)`.
    pub name: &'static str,
    /// Where it may appear; the first is where the documentation says to put it.
    pub scopes: &'static [Scope],
    /// How its value is checked.
    pub check: Check,
    /// What it is when not set.
    pub default: OptionDefault,
    /// What it does, in a line (the README's "meaning").
    pub doc: &'static str,
}

const SERVER: &[Scope] = &[Scope::Server];
/// Keys belong in the user mapping; the server's are a fallback for a single shared role.
const KEY_SCOPES: &[Scope] = &[Scope::UserMapping, Scope::Server];
const TABLE: &[Scope] = &[Scope::Table];
/// Set on the server for all its tables; a table's own value wins.
const SERVER_AND_TABLE: &[Scope] = &[Scope::Server, Scope::Table];

/// Requests in flight per statement by default. Eight requests of about 300 ms (the real API's
/// pace for a page) make some 27 a second: 4 to 8 times a sequential read, and about half of the
/// default `max_requests_per_minute` (3,000), so that a second busy statement still gets its
/// share before the shared budget has to pace them.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;

/// Rows an INSERT validates before it sends any of them, by default. 1,000 keeps the promise
/// that one bad row in an `INSERT ... SELECT` of 1,000 sends nothing at all, while the rows
/// held (their request bodies, a few hundred bytes each) stay well under a megabyte.
pub const DEFAULT_BATCH_SIZE: u64 = 1000;

/// Every option, in the order of the documentation.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "api_url",
        scopes: SERVER,
        check: Check::Url,
        default: OptionDefault::Value(DEFAULT_API_URL),
        doc: "API base URL",
    },
    OptionSpec {
        name: "api",
        scopes: SERVER,
        check: Check::Api,
        default: OptionDefault::Value("vendor"),
        doc: "which API: `vendor` (key pair, Basic auth) or `partner` (the Partner API: `api_key`, Bearer; read-only tables)",
    },
    OptionSpec {
        name: "page_size",
        scopes: SERVER,
        check: Check::Count {
            min: 1,
            max: MAX_PAGE_SIZE as u64,
        },
        default: OptionDefault::Number(DEFAULT_PAGE_SIZE as u64),
        doc: "items per list request (1–250)",
    },
    OptionSpec {
        name: "request_cost",
        scopes: SERVER,
        // Up to a billion: far above any page-read equivalent worth expressing.
        check: Check::Count {
            min: 0,
            max: 1_000_000_000,
        },
        default: OptionDefault::Number(DEFAULT_REQUEST_COST),
        doc: "planner cost of one request, in sequential page reads (like postgres_fdw's `fdw_startup_cost`)",
    },
    OptionSpec {
        name: "connect_timeout_ms",
        scopes: SERVER,
        // Up to an hour: beyond that a statement is better cancelled.
        check: Check::Count {
            min: 1,
            max: 3_600_000,
        },
        default: OptionDefault::Number(DEFAULT_CONNECT_TIMEOUT_MS),
        doc: "TCP/TLS connect timeout",
    },
    OptionSpec {
        name: "timeout_ms",
        scopes: SERVER,
        check: Check::Count {
            min: 1,
            max: 3_600_000,
        },
        default: OptionDefault::Number(DEFAULT_TIMEOUT_MS),
        doc: "whole-request timeout",
    },
    OptionSpec {
        name: "max_retries",
        scopes: SERVER,
        check: Check::Count { min: 0, max: 20 },
        default: OptionDefault::Number(DEFAULT_MAX_RETRIES as u64),
        doc: "retries after 429 / 5xx, and for reads after a timeout or a damaged answer",
    },
    OptionSpec {
        name: "retry_base_ms",
        scopes: SERVER,
        // Up to ten minutes per wait.
        check: Check::Count {
            min: 0,
            max: 600_000,
        },
        default: OptionDefault::Number(DEFAULT_RETRY_BASE_MS),
        doc: "first backoff delay, doubled per retry, with jitter",
    },
    OptionSpec {
        name: "retry_max_ms",
        scopes: SERVER,
        check: Check::Count {
            min: 0,
            max: 600_000,
        },
        default: OptionDefault::Number(DEFAULT_RETRY_MAX_MS),
        doc: "cap on one wait (also caps `Retry-After`)",
    },
    OptionSpec {
        name: "max_response_bytes",
        scopes: SERVER,
        // From 1 KiB (an error body must fit) to 1 GiB (Postgres' largest value).
        check: Check::Count {
            min: 1024,
            max: 1 << 30,
        },
        default: OptionDefault::Number(DEFAULT_MAX_RESPONSE_BYTES),
        doc: "larger answers are an ERROR",
    },
    OptionSpec {
        name: "max_requests_per_minute",
        scopes: SERVER,
        check: Check::Count {
            min: 0,
            max: 1_000_000,
        },
        default: OptionDefault::Number(DEFAULT_MAX_REQUESTS_PER_MINUTE),
        doc: "client-side rate limit shared by all sessions of the cluster (bursts of a third; needs `shared_preload_libraries`, else per backend); 0 = off",
    },
    OptionSpec {
        name: "max_concurrency",
        scopes: SERVER,
        check: Check::Count { min: 1, max: 64 },
        default: OptionDefault::Number(DEFAULT_MAX_CONCURRENCY as u64),
        doc: "requests in flight per statement: list windows, key lookups, writes; 1 = one at a time (see [Concurrency](#concurrency))",
    },
    OptionSpec {
        name: "batch_size",
        scopes: SERVER_AND_TABLE,
        // Postgres makes a slot per held row: some 17 kB a row at peak (README, Batches).
        check: Check::Count {
            min: 1,
            max: 10_000,
        },
        default: OptionDefault::Number(DEFAULT_BATCH_SIZE),
        doc: "rows an INSERT or COPY validates before it sends them (see [Writes](#writes)); a table's own value wins",
    },
    OptionSpec {
        name: "update_method",
        scopes: SERVER,
        check: Check::UpdateMethod,
        default: OptionDefault::Behaviour("PUT, then PATCH after a 405"),
        doc: "pins the UPDATE verb: `put` or `patch`",
    },
    OptionSpec {
        name: "s2s_url",
        scopes: SERVER,
        check: Check::Url,
        default: OptionDefault::Value(DEFAULT_S2S_URL),
        doc: "host of S2S conversions",
    },
    OptionSpec {
        name: "public_key",
        scopes: KEY_SCOPES,
        check: Check::NotBlank,
        default: OptionDefault::Nothing,
        doc: "the key pair (server-level fallback accepted)",
    },
    OptionSpec {
        name: "private_key",
        scopes: KEY_SCOPES,
        check: Check::NotBlank,
        default: OptionDefault::Nothing,
        doc: "the key pair (server-level fallback accepted)",
    },
    OptionSpec {
        name: "api_key",
        // A secret: only in the user mapping, whose options other roles cannot read.
        scopes: &[Scope::UserMapping],
        check: Check::NotBlank,
        default: OptionDefault::Nothing,
        doc: "a partner's Partner API key (Bearer), for a server with `api 'partner'`; user mapping only",
    },
    OptionSpec {
        name: "s2s_token",
        scopes: KEY_SCOPES,
        check: Check::NotBlank,
        default: OptionDefault::Nothing,
        doc: "S2S tracking token, for `conversions` (server-level fallback accepted)",
    },
    OptionSpec {
        name: "resource",
        scopes: TABLE,
        check: Check::Resource,
        default: OptionDefault::Behaviour("table name"),
        doc: "which resource the table reads (a Partner API table: `partner.` and its name, e.g. `partner.payouts`)",
    },
    OptionSpec {
        name: "rowid_column",
        scopes: TABLE,
        check: Check::Any,
        default: OptionDefault::Behaviour("set by IMPORT"),
        doc: "the column UPDATE/DELETE address rows by (must be the resource's)",
    },
    OptionSpec {
        name: "insert_mode",
        scopes: TABLE,
        check: Check::InsertMode,
        default: OptionDefault::Value("insert"),
        doc: "`upsert` on customers and partnerships",
    },
    OptionSpec {
        name: "estimated_rows",
        scopes: TABLE,
        // Up to about a trillion: any real account is far smaller.
        check: Check::Count {
            min: 1,
            max: 1 << 40,
        },
        default: OptionDefault::Number(DEFAULT_ESTIMATED_ROWS),
        doc: "planner's row estimate for a list scan",
    },
];

/// The option called `name`, wherever it may appear.
pub fn spec(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.name == name)
}

/// The names of the options valid in `scope`, in the order of [`OPTIONS`].
pub fn accepted(scope: Scope) -> Vec<&'static str> {
    OPTIONS
        .iter()
        .filter(|o| o.scopes.contains(&scope))
        .map(|o| o.name)
        .collect()
}

/// An option list that cannot be used. Never carries an option's value when it may be a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// A name not valid in this place.
    #[error("invalid option \"{name}\" for a partnerstack {scope}")]
    UnknownName {
        /// Where it was given.
        scope: Scope,
        /// The name given.
        name: String,
    },
    /// A value its option does not accept.
    #[error("invalid value for option \"{name}\": {problem}")]
    InvalidValue {
        /// The option.
        name: &'static str,
        /// What is wrong with the value.
        problem: String,
    },
    /// A key set neither in the user mapping nor on the server.
    #[error("no {name} for the PartnerStack server")]
    MissingKey {
        /// The option.
        name: &'static str,
    },
    /// A foreign table that names no resource, by its `resource` option or its own name.
    #[error("foreign table \"{table}\" does not name a PartnerStack resource")]
    NoResource {
        /// The foreign table.
        table: String,
    },
    /// Keys of the other API in the user mapping of a server (a Vendor key pair for a Partner
    /// API server, or the reverse). Names no value.
    #[error(
        "{} takes {}, but the user mapping holds {}",
        server_api.server_kind(),
        key_names(*server_api),
        key_names(server_api.other())
    )]
    WrongKeyKind {
        /// The API of the server.
        server_api: Api,
    },
    /// A foreign table whose resource belongs to the other API than its server's.
    #[error(
        "foreign table \"{table}\" reads {resource}, which is not a resource of {}",
        server_api.server_kind()
    )]
    WrongApi {
        /// The foreign table.
        table: String,
        /// Its `resource` option, or its name.
        resource: String,
        /// The API of its server.
        server_api: Api,
    },
    /// A `rowid_column` other than the column the API addresses the resource by.
    #[error(
        "foreign table \"{table}\" must have rowid_column '{expected}': PartnerStack addresses {resource} by it"
    )]
    WrongRowidColumn {
        /// The foreign table.
        table: String,
        /// The column it must name.
        expected: &'static str,
        /// The resource.
        resource: &'static str,
    },
}

impl OptionError {
    /// The obvious next step, for the ERROR's HINT.
    pub fn hint(&self) -> Option<String> {
        match self {
            OptionError::UnknownName { scope, .. } => {
                let accepted = accepted(*scope);
                Some(if accepted.is_empty() {
                    format!("A partnerstack {scope} takes no options.")
                } else {
                    format!("Valid options are: {}.", accepted.join(", "))
                })
            }
            OptionError::MissingKey { name: "api_key" } => Some(
                "Set it in the user mapping: CREATE USER MAPPING FOR CURRENT_USER SERVER ... \
                 OPTIONS (api_key '...'), the partner's Partner API key."
                    .to_owned(),
            ),
            OptionError::MissingKey { .. } => Some(
                "Set it in the user mapping: CREATE USER MAPPING FOR CURRENT_USER SERVER ... \
                 OPTIONS (public_key '...', private_key '...')."
                    .to_owned(),
            ),
            OptionError::WrongKeyKind { server_api } => Some(format!(
                "Use {} on {}; this server needs {} in its user mapping.",
                key_names(server_api.other()),
                server_api.other().server_kind(),
                key_names(*server_api)
            )),
            OptionError::WrongApi { server_api, .. } => Some(format!(
                "Read it through {}, or use one of this server's tables: {}.",
                server_api.other().server_kind(),
                catalogue::table_names(*server_api).join(", ")
            )),
            OptionError::InvalidValue {
                name: "resource", ..
            } => Some(format!(
                "Partner API tables (on a server with OPTIONS (api 'partner')) are named with \
                 the prefix {}: {}.",
                catalogue::PARTNER_PREFIX,
                catalogue::PARTNER_RESOURCES
                    .iter()
                    .map(|r| r.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            OptionError::NoResource { .. } => Some(format!(
                "Set OPTIONS (resource '...') to one of: {}.",
                catalogue::resource_names().join(", ")
            )),
            OptionError::InvalidValue { .. } | OptionError::WrongRowidColumn { .. } => None,
        }
    }
}

/// The keys an API authenticates with, for messages.
fn key_names(api: Api) -> &'static str {
    match api {
        Api::Vendor => "a Vendor API key pair (public_key, private_key)",
        Api::Partner => "a Partner API key (api_key)",
    }
}

/// Checks an option list as given to CREATE or ALTER: every name valid in `scope`, every value
/// accepted by its option. The first problem, in list order, is the error.
pub fn validate(scope: Scope, options: &[(String, String)]) -> Result<(), OptionError> {
    for (name, value) in options {
        let spec = spec(name)
            .filter(|o| o.scopes.contains(&scope))
            .ok_or_else(|| OptionError::UnknownName {
                scope,
                name: name.clone(),
            })?;
        spec.check
            .check(value)
            .map_err(|problem| OptionError::InvalidValue {
                name: spec.name,
                problem,
            })?;
    }
    Ok(())
}

/// A validated option list, read by name; an option not set reads as its default.
struct Given<'a> {
    options: &'a [(String, String)],
}

impl<'a> Given<'a> {
    fn new(scope: Scope, options: &'a [(String, String)]) -> Result<Given<'a>, OptionError> {
        validate(scope, options)?;
        Ok(Given { options })
    }

    /// The option's value, or its default value; `None` when it has neither.
    fn get(&self, name: &str) -> Option<String> {
        self.options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| Self::spec(name).default.value())
    }

    /// Whether the option is set here (not defaulted).
    fn is_set(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }

    /// A [`Check::Count`] option (always set or defaulted).
    fn count(&self, name: &str) -> u64 {
        let Check::Count { min, max } = Self::spec(name).check else {
            panic!("option {name} is not a number");
        };
        let value = self
            .get(name)
            .expect("every count option has a numeric default");
        count(&value, min, max).expect("validated, and the defaults pass their own check")
    }

    fn spec(name: &str) -> &'static OptionSpec {
        spec(name).expect("the parser reads only options of the table")
    }
}

/// A [`Check::Count`] value as `u32`; the option's range keeps it in bounds.
fn small(n: u64) -> u32 {
    u32::try_from(n).expect("the option's range fits u32")
}

/// The keys: `public_key` and `private_key` (the Vendor API's Basic auth) and `s2s_token`
/// (S2S conversions). `Debug` shows the public key only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Keys {
    /// Public key (Basic auth user name).
    pub public_key: Option<String>,
    /// Private key (Basic auth password). Never printed.
    pub private_key: Option<String>,
    /// Bearer token of S2S conversion tracking. Never printed.
    pub s2s_token: Option<String>,
    /// A partner's Partner API key (Bearer). Never printed.
    pub api_key: Option<String>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |key: &Option<String>| key.as_ref().map(|_| "<redacted>");
        f.debug_struct("Keys")
            .field("public_key", &self.public_key)
            .field("private_key", &redacted(&self.private_key))
            .field("s2s_token", &redacted(&self.s2s_token))
            .field("api_key", &redacted(&self.api_key))
            .finish()
    }
}

impl Keys {
    /// Reads a user mapping's options (all of them keys).
    pub fn from_user_mapping(options: &[(String, String)]) -> Result<Keys, OptionError> {
        Ok(Keys::read(&Given::new(Scope::UserMapping, options)?))
    }

    fn read(given: &Given<'_>) -> Keys {
        Keys {
            public_key: given.get("public_key"),
            private_key: given.get("private_key"),
            s2s_token: given.get("s2s_token"),
            api_key: given.get("api_key"),
        }
    }
}

/// A server's options, typed, with the defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerOptions {
    /// The client settings the server sets (URLs, timeouts, retries, size cap, rate limit),
    /// without keys: [`ServerOptions::client_config`] adds the role's.
    pub client: ClientConfig,
    /// Items per list request.
    pub page_size: u32,
    /// Requests in flight per statement.
    pub max_concurrency: usize,
    /// Rows an INSERT validates before sending them (`batch_size`).
    pub batch_size: usize,
    /// The planner's cost of one request.
    pub request_cost: f64,
    /// The UPDATE verb, when pinned.
    pub update_method: Option<UpdateMethod>,
    /// Keys set on the server: a fallback for the user mapping's.
    pub keys: Keys,
    /// The API the server reads.
    pub api: Api,
}

impl ServerOptions {
    /// Checks and reads a server's options.
    pub fn parse(options: &[(String, String)]) -> Result<ServerOptions, OptionError> {
        let given = Given::new(Scope::Server, options)?;
        let text = |name| given.get(name).expect("a server option with a default");
        let mut client = ClientConfig::new(&text("api_url"), "", "");
        client.connect_timeout_ms = given.count("connect_timeout_ms");
        client.timeout_ms = given.count("timeout_ms");
        client.max_retries = small(given.count("max_retries"));
        client.retry_base_ms = given.count("retry_base_ms");
        client.retry_max_ms = given.count("retry_max_ms");
        client.max_response_bytes = given.count("max_response_bytes");
        client.max_requests_per_minute = given.count("max_requests_per_minute");
        client.s2s_url = text("s2s_url").trim_end_matches('/').to_owned();
        Ok(ServerOptions {
            client,
            page_size: small(given.count("page_size")),
            max_concurrency: small(given.count("max_concurrency")) as usize,
            batch_size: small(given.count("batch_size")) as usize,
            // Exact: the option's range is far below 2^53.
            request_cost: given.count("request_cost") as f64,
            update_method: given
                .get("update_method")
                .and_then(|v| UpdateMethod::from_option(&v)),
            keys: Keys::read(&given),
            api: given
                .get("api")
                .and_then(|v| Api::from_option(&v))
                .expect("api is validated and has a default"),
        })
    }

    /// Whether the server holds keys of its own, so that a role without a user mapping may
    /// use it.
    pub fn has_keys(&self) -> bool {
        self.keys.public_key.is_some() && self.keys.private_key.is_some()
            || self.keys.s2s_token.is_some()
    }

    /// The client configuration for a role whose user mapping holds `mapping`.
    ///
    /// Each key comes from the user mapping, else from the server. Without `needs_keys` (S2S
    /// conversions, which use only `s2s_token`) missing API keys are left empty.
    pub fn client_config(
        &self,
        mapping: &Keys,
        needs_keys: bool,
    ) -> Result<ClientConfig, OptionError> {
        let key =
            |name: &'static str, from_mapping: &Option<String>, from_server: &Option<String>| {
                from_mapping
                    .as_ref()
                    .or(from_server.as_ref())
                    .cloned()
                    .or_else(|| (!needs_keys).then(String::new))
                    .ok_or(OptionError::MissingKey { name })
            };
        let has = |from_mapping: &Option<String>, from_server: &Option<String>| {
            from_mapping.is_some() || from_server.is_some()
        };
        let has_pair = has(&mapping.public_key, &self.keys.public_key)
            || has(&mapping.private_key, &self.keys.private_key);
        let has_api_key = has(&mapping.api_key, &self.keys.api_key);
        let mut client = self.client.clone();
        if self.api == Api::Partner {
            if !has_api_key && has_pair {
                return Err(OptionError::WrongKeyKind {
                    server_api: Api::Partner,
                });
            }
            client.partner_api_key = Some(key("api_key", &mapping.api_key, &self.keys.api_key)?);
            return Ok(client);
        }
        if needs_keys && has_api_key && !has_pair {
            return Err(OptionError::WrongKeyKind {
                server_api: Api::Vendor,
            });
        }
        client.public_key = key("public_key", &mapping.public_key, &self.keys.public_key)?;
        client.private_key = key("private_key", &mapping.private_key, &self.keys.private_key)?;
        client.s2s_token = mapping
            .s2s_token
            .clone()
            .or_else(|| self.keys.s2s_token.clone());
        Ok(client)
    }
}

/// What an INSERT into a foreign table does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    /// Create every row (`insert`).
    Insert,
    /// Update by key, create when the API answers 404 (`upsert`).
    Upsert,
}

impl InsertMode {
    /// Parses the table option `insert_mode`.
    pub fn from_option(value: &str) -> Option<InsertMode> {
        match value {
            "insert" => Some(InsertMode::Insert),
            "upsert" => Some(InsertMode::Upsert),
            _ => None,
        }
    }
}

/// A foreign table's options, typed, with the defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOptions {
    /// The `resource` option; when unset the table's name is the resource's.
    pub resource: Option<String>,
    /// The planner's row estimate for a list scan.
    pub estimated_rows: f64,
    /// The `rowid_column` option (IMPORT sets it).
    pub rowid_column: Option<String>,
    /// What an INSERT does.
    pub insert_mode: InsertMode,
    /// The table's own `batch_size`, when set (else the server's).
    pub batch_size: Option<usize>,
}

impl TableOptions {
    /// Checks and reads a foreign table's options.
    pub fn parse(options: &[(String, String)]) -> Result<TableOptions, OptionError> {
        let given = Given::new(Scope::Table, options)?;
        Ok(TableOptions {
            resource: given.get("resource"),
            // Exact: the option's range is far below 2^53.
            estimated_rows: given.count("estimated_rows") as f64,
            rowid_column: given.get("rowid_column"),
            insert_mode: given
                .get("insert_mode")
                .and_then(|v| InsertMode::from_option(&v))
                .expect("insert_mode is validated and has a default"),
            batch_size: given
                .is_set("batch_size")
                .then(|| small(given.count("batch_size")) as usize),
        })
    }

    /// The resource the foreign table `table` reads: its `resource` option, else its own name.
    pub fn resource(&self, table: &str) -> Result<&'static Resource, OptionError> {
        catalogue::resource(self.resource.as_deref().unwrap_or(table)).ok_or_else(|| {
            OptionError::NoResource {
                table: table.to_owned(),
            }
        })
    }

    /// The resource the foreign table `table` of a server of `api` reads: its `resource`
    /// option, else its own name, looked up among `api`'s resources (on a Partner API server
    /// `customers` is the Partner API's customers). A resource of the other API is an error
    /// whose hint names the other kind of server.
    pub fn resource_in(&self, api: Api, table: &str) -> Result<&'static Resource, OptionError> {
        let name = self.resource.as_deref().unwrap_or(table);
        if let Some(found) = catalogue::resource_in(api, name) {
            return Ok(found);
        }
        if catalogue::resource(name).is_some()
            || catalogue::resource_in(api.other(), name).is_some()
        {
            return Err(OptionError::WrongApi {
                table: table.to_owned(),
                resource: name.to_owned(),
                server_api: api,
            });
        }
        Err(OptionError::NoResource {
            table: table.to_owned(),
        })
    }

    /// Checks that `rowid_column`, when set, names the column the API addresses `resource` by.
    pub fn check_rowid_column(&self, resource: &Resource, table: &str) -> Result<(), OptionError> {
        let expected = catalogue::rowid_column_name(resource);
        match &self.rowid_column {
            Some(column) if column != expected => Err(OptionError::WrongRowidColumn {
                table: table.to_owned(),
                expected,
                resource: resource.name,
            }),
            _ => Ok(()),
        }
    }
}

/// The README's "Options" table, rendered from [`OPTIONS`]. Adjacent options with the same
/// place, default and meaning share a row (`public_key`, `private_key`).
pub fn readme_table() -> String {
    let mut rows: Vec<(&str, Vec<&str>, String, &str)> = Vec::new();
    for option in OPTIONS {
        let place = match option.scopes[0] {
            Scope::Table => "table",
            Scope::Server => "server",
            Scope::UserMapping => "user mapping",
            Scope::Wrapper => "wrapper",
        };
        let default = option.default.markdown();
        match rows.last_mut() {
            Some((p, names, d, doc)) if *p == place && *d == default && *doc == option.doc => {
                names.push(option.name);
            }
            _ => rows.push((place, vec![option.name], default, option.doc)),
        }
    }
    let mut table = String::from("| where | option | default | meaning |\n|---|---|---|---|\n");
    for (place, names, default, doc) in rows {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        table.push_str(&format!(
            "| {place} | {} | {default} | {doc} |\n",
            names.join(", ")
        ));
    }
    table
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
