//! Errors of the API layer. The FDW converts each into an ERROR with its SQLSTATE once.

/// What went wrong talking to PartnerStack. No variant ever carries a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401 or 403: the key pair (or the Partner API key) was refused.
    #[error("PartnerStack refused the API keys (HTTP {status}: {message})")]
    Unauthorized {
        /// The API the keys were sent to: a 401 there may mean keys of the other API.
        api: crate::catalogue::Api,
        /// HTTP status.
        status: u16,
        /// The API's message, shortened.
        message: String,
    },
    /// 429 on every attempt.
    #[error("PartnerStack kept answering HTTP 429 Too Many Requests ({attempts} attempts)")]
    RateLimited {
        /// Requests made, retries included.
        attempts: u32,
    },
    /// 5xx on every attempt.
    #[error("PartnerStack answered HTTP {status} ({attempts} attempts): {excerpt}")]
    Server {
        /// HTTP status of the last attempt.
        status: u16,
        /// Requests made.
        attempts: u32,
        /// Start of the last body.
        excerpt: String,
    },
    /// Another 4xx, e.g. a 400 validation error or a 404 on a list.
    #[error("PartnerStack answered HTTP {status} for {path}: {message}")]
    Client {
        /// HTTP status.
        status: u16,
        /// Request path (no query).
        path: String,
        /// The API's message, shortened.
        message: String,
    },
    /// A body that is not the documented envelope.
    #[error("PartnerStack sent an unreadable response for {path} ({reason}): {excerpt}")]
    InvalidBody {
        /// Request path.
        path: String,
        /// What was wrong.
        reason: String,
        /// Start of the body.
        excerpt: String,
    },
    /// Paging that would lose or repeat rows (an empty page claiming more, a cursor that repeats).
    #[error("PartnerStack paging for {path} is inconsistent: {detail}")]
    Paging {
        /// Request path.
        path: String,
        /// What was inconsistent.
        detail: String,
    },
    /// The server could not be reached.
    #[error("could not connect to PartnerStack at {host}: {detail}")]
    Connect {
        /// Host and port.
        host: String,
        /// Cause, without URL credentials.
        detail: String,
    },
    /// No complete answer within the timeout.
    #[error("PartnerStack at {host} did not answer within {timeout_ms} ms ({which})")]
    Timeout {
        /// Host and port.
        host: String,
        /// The limit that was hit.
        timeout_ms: u64,
        /// `timeout_ms` or `connect_timeout_ms`.
        which: &'static str,
    },
    /// Any other transport failure (connection reset, truncated body...).
    #[error("the connection to PartnerStack at {host} failed: {detail}")]
    Transport {
        /// Host and port.
        host: String,
        /// Cause.
        detail: String,
    },
    /// A write needs an option that is not set.
    #[error("the option {option} is not set ({purpose})")]
    MissingOption {
        /// The option.
        option: &'static str,
        /// What it is for.
        purpose: &'static str,
    },
    /// The statement was cancelled while waiting.
    #[error("cancelled while waiting for PartnerStack")]
    Cancelled,
}

/// Longest excerpt of a response body quoted in an error: enough for the API's message or
/// the start of an HTML error page, short enough for one line of a client's screen.
pub const BODY_EXCERPT_CHARS: usize = 200;

/// Longest excerpt of a single value (a cell, a field of an item) quoted in an error: the
/// message is about the column, and the value only has to be recognisable.
pub const VALUE_EXCERPT_CHARS: usize = 60;

/// The first `max_chars` characters of `text`, and whether any were cut.
pub fn clip(text: &str, max_chars: usize) -> (&str, bool) {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => (&text[..end], true),
        None => (text, false),
    }
}

/// A short, single-line excerpt for an error message: at most `max_chars` characters
/// (e.g. [`BODY_EXCERPT_CHARS`], [`VALUE_EXCERPT_CHARS`]), control characters as spaces, and
/// `…` when something was cut.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let (short, cut) = clip(text, max_chars);
    let flat: String = short
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if cut {
        format!("{}…", flat.trim_end())
    } else {
        flat.trim_end().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_counts_characters_not_bytes() {
        assert_eq!(clip("héllo", 2), ("hé", true));
        assert_eq!(clip("héllo", 5), ("héllo", false));
        assert_eq!(clip("", 0), ("", false));
        assert_eq!(clip("a", 0), ("", true));
    }

    #[test]
    fn excerpts_are_single_line_and_marked_when_cut() {
        assert_eq!(excerpt("{\"a\":\n 1}\n", 60), "{\"a\":  1}");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("ab  \tcdef", 4), "ab…");
        assert_eq!(excerpt("abc", 3), "abc");
        let long = "é".repeat(BODY_EXCERPT_CHARS + 1);
        assert_eq!(
            excerpt(&long, BODY_EXCERPT_CHARS).chars().count(),
            BODY_EXCERPT_CHARS + 1
        );
    }
}
