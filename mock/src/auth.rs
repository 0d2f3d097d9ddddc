//! Credentials: parsing the `Authorization` header and checking vendor key pairs.
//!
//! The secret half of a key pair is compared and then forgotten: it never reaches the
//! request log, a `Debug` string or an error message.

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use std::fmt;

/// A vendor key pair accepted with HTTP Basic auth.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// Public key (Basic username).
    pub public: String,
    /// Secret key (Basic password).
    pub secret: String,
    /// Test-mode pair: objects created with it get `test: true`.
    pub test: bool,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .field("test", &self.test)
            .finish()
    }
}

impl KeyPair {
    /// Parses `PUBLIC:SECRET[:test|:live]`. Without the mode suffix a pair is test mode
    /// when its public key contains `test` (the real prefixes do not tell, §1.2).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut parts = spec.splitn(3, ':');
        let public = parts.next().unwrap_or("");
        let secret = parts.next().unwrap_or("");
        if public.is_empty() || secret.is_empty() {
            return Err(format!(
                "--key expects PUBLIC:SECRET[:test|:live], got {:?}",
                public
            ));
        }
        let test = match parts.next() {
            None => public.contains("test"),
            Some("test") => true,
            Some("live") | Some("production") => false,
            Some(other) => return Err(format!("unknown key mode {other:?} (test or live)")),
        };
        Ok(Self {
            public: public.into(),
            secret: secret.into(),
            test,
        })
    }

    /// The default pairs: `pk_test_mock:sk_test_mock` (test) and `pk_live_mock:sk_live_mock`.
    pub fn defaults() -> Vec<Self> {
        vec![
            Self {
                public: "pk_test_mock".into(),
                secret: "sk_test_mock".into(),
                test: true,
            },
            Self {
                public: "pk_live_mock".into(),
                secret: "sk_live_mock".into(),
                test: false,
            },
        ]
    }
}

/// What the `Authorization` header carried.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No header.
    None,
    /// `Basic base64(public:secret)`.
    Basic {
        /// Username.
        public: String,
        /// Password; compared, never logged.
        secret: String,
    },
    /// A `Basic` header whose payload is not `base64(user:pass)`.
    MalformedBasic,
    /// `Bearer <token>`.
    Bearer(String),
    /// Any other scheme (lower-cased name).
    Other(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => write!(f, "None"),
            Credentials::Basic { public, .. } => write!(f, "Basic({public}:<redacted>)"),
            Credentials::MalformedBasic => write!(f, "MalformedBasic"),
            Credentials::Bearer(_) => write!(f, "Bearer(<redacted>)"),
            Credentials::Other(s) => write!(f, "Other({s})"),
        }
    }
}

impl Credentials {
    /// Parses an `Authorization` header value.
    pub fn parse(header: Option<&str>) -> Self {
        let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
            return Credentials::None;
        };
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        let rest = rest.trim();
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => match base64_decode(rest)
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| {
                    s.split_once(':')
                        .map(|(p, k)| (p.to_string(), k.to_string()))
                }) {
                Some((public, secret)) => Credentials::Basic { public, secret },
                None => Credentials::MalformedBasic,
            },
            "bearer" => Credentials::Bearer(rest.to_string()),
            other => Credentials::Other(other.to_string()),
        }
    }

    /// The scheme name for the request log (`basic`, `bearer`, other lower-cased, or null).
    pub fn scheme(&self) -> Option<String> {
        match self {
            Credentials::None => None,
            Credentials::Basic { .. } | Credentials::MalformedBasic => Some("basic".into()),
            Credentials::Bearer(_) => Some("bearer".into()),
            Credentials::Other(s) => Some(s.clone()),
        }
    }

    /// The Basic username, for the request log.
    pub fn public_key(&self) -> Option<&str> {
        match self {
            Credentials::Basic { public, .. } => Some(public),
            _ => None,
        }
    }

    /// The key pair these credentials authenticate as, if any (Basic only).
    pub fn vendor<'a>(&self, keys: &'a [KeyPair]) -> Option<&'a KeyPair> {
        match self {
            Credentials::Basic { public, secret } => keys
                .iter()
                .find(|k| &k.public == public && &k.secret == secret),
            _ => None,
        }
    }

    /// The position in `keys` of the Partner API key these credentials carry (Bearer only).
    pub fn partner(&self, keys: &[String]) -> Option<usize> {
        match self {
            Credentials::Bearer(token) => keys.iter().position(|k| k == token),
            _ => None,
        }
    }

    /// Whether these are `Bearer <token>` with exactly this token.
    pub fn is_bearer(&self, token: &str) -> bool {
        matches!(self, Credentials::Bearer(t) if t == token)
    }
}

/// Base64 as clients put it in a `Basic` header, read leniently: padding optional and
/// unused trailing bits ignored.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
/// The standard alphabet (`+`, `/`), read leniently.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
/// The URL-safe alphabet (`-`, `_`), which some clients use, read leniently.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes base64 in the standard or the URL-safe alphabet; padding optional (any number
/// of trailing `=` is ignored). `None` on invalid input.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    STANDARD_LENIENT
        .decode(s)
        .or_else(|_| URL_SAFE_LENIENT.decode(s))
        .ok()
}

/// The `Authorization` header value for HTTP Basic auth with this key pair.
pub fn basic_header(public: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{public}:{secret}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> String {
        basic_header(user, pass)
    }

    #[test]
    fn base64_round_trips() {
        for s in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "pk_test_mock:sk_test_mock",
            "Zoë:ü",
        ] {
            assert_eq!(
                base64_decode(&STANDARD.encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("!!!!").is_none());
    }

    #[test]
    fn basic_auth_matches_only_the_exact_pair() {
        let keys = KeyPair::defaults();
        let good = Credentials::parse(Some(&basic("pk_test_mock", "sk_test_mock")));
        assert!(good.vendor(&keys).unwrap().test);
        let live = Credentials::parse(Some(&basic("pk_live_mock", "sk_live_mock")));
        assert!(!live.vendor(&keys).unwrap().test);
        let wrong = Credentials::parse(Some(&basic("pk_test_mock", "sk_live_mock")));
        assert!(wrong.vendor(&keys).is_none());
        assert_eq!(wrong.public_key(), Some("pk_test_mock"));
        assert!(Credentials::parse(None).vendor(&keys).is_none());
    }

    #[test]
    fn bearer_never_authenticates_vendor_paths() {
        let keys = KeyPair::defaults();
        let c = Credentials::parse(Some("Bearer sk_test_mock"));
        assert!(c.vendor(&keys).is_none());
        assert_eq!(c.scheme().as_deref(), Some("bearer"));
        assert!(c.is_bearer("sk_test_mock"));
        assert_eq!(c.public_key(), None);
    }

    #[test]
    fn partner_keys_are_bearer_only() {
        let keys = vec!["pak_a".to_string(), "pak_b".to_string()];
        assert_eq!(
            Credentials::parse(Some("Bearer pak_b")).partner(&keys),
            Some(1)
        );
        assert_eq!(
            Credentials::parse(Some("Bearer pak_c")).partner(&keys),
            None
        );
        let basic = Credentials::parse(Some(&basic("pak_a", "pak_a")));
        assert_eq!(basic.partner(&keys), None);
    }

    #[test]
    fn malformed_and_other_schemes() {
        assert_eq!(
            Credentials::parse(Some("Basic !!!")),
            Credentials::MalformedBasic
        );
        assert_eq!(
            Credentials::parse(Some("Digest x=1")),
            Credentials::Other("digest".into())
        );
        assert_eq!(Credentials::parse(Some("   ")), Credentials::None);
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c = Credentials::parse(Some(&basic("pk", "topsecret")));
        assert!(!format!("{c:?}").contains("topsecret"));
        let k = KeyPair::parse("pk:topsecret").unwrap();
        assert!(!format!("{k:?}").contains("topsecret"));
    }

    #[test]
    fn key_specs() {
        let k = KeyPair::parse("pk_x:sk_x:live").unwrap();
        assert!(!k.test);
        assert!(KeyPair::parse("pk_test_1:sk").unwrap().test);
        assert!(!KeyPair::parse("pk_1:sk").unwrap().test);
        assert!(KeyPair::parse("pk_1").is_err());
        assert!(KeyPair::parse("pk:sk:weird").is_err());
    }
}
