//! HTTP/1.1 request reading and response writing on plain byte streams.
//!
//! The request head is parsed by `httparse` and query strings by `form_urlencoded`; framing
//! (`Content-Length`, chunked bodies, `Expect: 100-continue`) and response writing stay here,
//! on the socket, so the fault injector controls every byte that goes on the wire: a wrong
//! `Content-Length`, a body cut in the middle, a trickle.

use std::io::{self, BufRead, Read, Write};

/// Longest request line or header line accepted; real clients send far less.
const MAX_LINE_BYTES: u64 = 64 * 1024;
/// Most header lines accepted in one request.
const MAX_HEADERS: usize = 100;
/// Largest request body accepted (create/update bodies are a few KiB at most).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// HTTP protocol version of a request, which decides the keep-alive default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: close after the response unless the client asks for keep-alive.
    Http10,
    /// HTTP/1.1: keep-alive unless the client sends `Connection: close`.
    Http11,
}

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Request method as sent (upper case by convention).
    pub method: String,
    /// Raw path, still percent-encoded, without the query string.
    pub path: String,
    /// Raw query string without the leading `?`, or empty.
    pub query: String,
    /// Protocol version.
    pub version: Version,
    /// Header names lower-cased, values trimmed, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Request body (de-chunked).
    pub body: Vec<u8>,
}

impl Request {
    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection may stay open after the response.
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        let tokens: Vec<&str> = connection.split(',').map(str::trim).collect();
        match self.version {
            Version::Http11 => !tokens.contains(&"close"),
            Version::Http10 => tokens.contains(&"keep-alive"),
        }
    }

    /// Query parameters, percent-decoded (`+` as space), in order.
    pub fn params(&self) -> Vec<(String, String)> {
        parse_query(&self.query)
    }

    /// Path segments, each percent-decoded separately so an encoded `/` stays inside its
    /// segment. Empty segments (from `//` or a trailing `/`) are dropped.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s, false))
            .collect()
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection cleanly between requests.
    Closed,
    /// Socket error or EOF in the middle of a request.
    Io(io::Error),
    /// Syntactically invalid request; answer 400 and close.
    Bad(String),
    /// Body larger than [`MAX_BODY_BYTES`]; answer 413 and close.
    TooLarge,
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads one line including its line ending. `Ok(None)` on EOF before any byte.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> Result<Option<usize>, ReadError> {
    let start = buf.len();
    let n = reader
        .by_ref()
        .take(MAX_LINE_BYTES)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        if n as u64 >= MAX_LINE_BYTES {
            return Err(ReadError::Bad("header line too long".into()));
        }
        return Err(ReadError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed mid-line",
        )));
    }
    let line = &buf[start..];
    let content = line.strip_suffix(b"\n").unwrap_or(line);
    Ok(Some(content.strip_suffix(b"\r").unwrap_or(content).len()))
}

/// Reads the request head (request line and headers, up to and including the empty line)
/// without consuming any byte of the body, which stays in `reader`.
fn read_head(reader: &mut impl BufRead) -> Result<Vec<u8>, ReadError> {
    let mut head = Vec::new();
    // RFC 9112 §2.2: ignore empty lines before the request line.
    loop {
        head.clear();
        match read_line(reader, &mut head)? {
            None => return Err(ReadError::Closed),
            Some(0) => continue,
            Some(_) => break,
        }
    }
    let mut header_lines = 0;
    loop {
        let Some(len) = read_line(reader, &mut head)? else {
            return Err(ReadError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed in headers",
            )));
        };
        if len == 0 {
            return Ok(head);
        }
        header_lines += 1;
        if header_lines > MAX_HEADERS {
            return Err(ReadError::Bad("too many headers".into()));
        }
    }
}

/// Reads one request from `reader`. When the client sent `Expect: 100-continue`, an
/// interim `100 Continue` is written to `interim` before the body is read (curl does this
/// for larger bodies and would otherwise wait a second).
pub fn read_request(
    reader: &mut impl BufRead,
    interim: &mut impl Write,
) -> Result<Request, ReadError> {
    let head = read_head(reader)?;
    if std::str::from_utf8(&head).is_err() {
        return Err(ReadError::Bad("request head is not valid UTF-8".into()));
    }
    let mut header_slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut header_slots);
    let parsed_head = parser().parse_request(&mut parsed, &head);
    let (Ok(httparse::Status::Complete(_)), Some(method), Some(target), Some(version)) =
        (parsed_head, parsed.method, parsed.path, parsed.version)
    else {
        return Err(ReadError::Bad(head_error(&head)));
    };
    let version = if version == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let target = strip_absolute_form(target);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    };
    // A fragment is never sent by well-behaved clients; drop it if present.
    let query = query.split('#').next().unwrap_or("").to_string();
    let headers = parsed
        .headers
        .iter()
        .map(|h| {
            // The whole head was checked to be UTF-8 above.
            let value = String::from_utf8_lossy(h.value);
            (h.name.to_ascii_lowercase(), value.trim().to_string())
        })
        .collect();
    let mut req = Request {
        method: method.to_string(),
        path,
        query,
        version,
        headers,
        body: Vec::new(),
    };

    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let length = match req.header("content-length") {
        Some(v) => Some(
            v.parse::<usize>()
                .map_err(|_| ReadError::Bad(format!("invalid Content-Length {v:?}")))?,
        ),
        None => None,
    };
    if length.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ReadError::TooLarge);
    }
    let has_body = chunked || length.is_some_and(|n| n > 0);
    if has_body
        && req
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        interim.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        interim.flush()?;
    }
    if chunked {
        req.body = read_chunked(reader)?;
    } else if let Some(n) = length {
        let mut body = vec![0; n];
        reader.read_exact(&mut body)?;
        req.body = body;
    }
    Ok(req)
}

/// The request-head parser: strict but for runs of spaces in the request line, which the
/// mock has always accepted.
fn parser() -> httparse::ParserConfig {
    let mut config = httparse::ParserConfig::default();
    config.allow_multiple_spaces_in_request_line_delimiters(true);
    config
}

/// The 400 message for a request head `httparse` refused, naming the line at fault.
fn head_error(head: &[u8]) -> String {
    // Only called on a complete head that is valid UTF-8 (checked before parsing).
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines().skip_while(|l| l.is_empty());
    let request_line = lines.next().unwrap_or("");
    let parses = |head: &str| {
        let mut slots = [httparse::EMPTY_HEADER; 1];
        let mut request = httparse::Request::new(&mut slots);
        matches!(
            parser().parse_request(&mut request, head.as_bytes()),
            Ok(httparse::Status::Complete(_))
        )
    };
    if !parses(&format!("{request_line}\r\n\r\n")) {
        let tokens: Vec<&str> = request_line.split(' ').filter(|t| !t.is_empty()).collect();
        return match tokens.as_slice() {
            [_, _, version] if !matches!(*version, "HTTP/1.0" | "HTTP/1.1") => {
                format!("unsupported protocol {version:?}")
            }
            _ => format!("malformed request line: {request_line:?}"),
        };
    }
    // `read_head` already refused more than `MAX_HEADERS` lines.
    match lines
        .take_while(|l| !l.is_empty())
        .find(|l| !parses(&format!("GET / HTTP/1.1\r\n{l}\r\n\r\n")))
    {
        Some(line) => format!("malformed header line: {line:?}"),
        None => "malformed request head".into(),
    }
}

/// Turns `http://host:port/path?q` (absolute-form, sent to proxies) into `/path?q`.
fn strip_absolute_form(target: &str) -> &str {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = target.strip_prefix(scheme) {
            return match rest.find('/') {
                Some(i) => &rest[i..],
                None => "/",
            };
        }
    }
    target
}

/// Decodes a `Transfer-Encoding: chunked` body (trailers are read and discarded).
fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let Some(len) = read_line(reader, &mut line)? else {
            return Err(ReadError::Bad("EOF in chunked body".into()));
        };
        let size_line = String::from_utf8_lossy(&line[..len]);
        let size_text = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ReadError::Bad(format!("invalid chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailer section ends with an empty line.
            loop {
                line.clear();
                match read_line(reader, &mut line)? {
                    None | Some(0) => break,
                    Some(_) => {}
                }
            }
            return Ok(body);
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(ReadError::TooLarge);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(ReadError::Bad("chunk not terminated by CRLF".into()));
        }
    }
}

/// Percent-decodes `s`; `plus_as_space` for query strings (form encoding). Invalid
/// escapes are kept literally; invalid UTF-8 is replaced with U+FFFD.
pub fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    if plus_as_space {
        decode(&s.replace('+', " "))
    } else {
        decode(s)
    }
}

/// Splits and decodes a raw query string into `(name, value)` pairs, in order
/// (`application/x-www-form-urlencoded`: `+` is a space).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Standard reason phrase for the status codes the mock emits.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// `application/json`, the content type of every API answer.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// A complete response, before it is put on the wire (possibly mangled by a fault).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Additional headers (e.g. `Retry-After`, `Allow`).
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response with a pre-serialized body.
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type: CONTENT_TYPE_JSON,
            headers: Vec::new(),
            body,
        }
    }

    /// Serializes `value` as the JSON body.
    pub fn json_value(status: u16, value: &serde_json::Value) -> Self {
        Self::json(
            status,
            serde_json::to_vec(value).expect("JSON values always serialize"),
        )
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Value of an extra header, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Status line and headers of `resp`, announcing `content_length` body bytes.
pub fn head_bytes(resp: &Response, content_length: usize, keep_alive: bool) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\nServer: partnerstack-mock\r\n",
        resp.status,
        reason_phrase(resp.status),
        resp.content_type,
        content_length,
        if keep_alive { "keep-alive" } else { "close" },
    );
    for (name, value) in &resp.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Writes `resp` completely and correctly.
pub fn write_response(w: &mut impl Write, resp: &Response, keep_alive: bool) -> io::Result<()> {
    let mut bytes = head_bytes(resp, resp.body.len(), keep_alive);
    bytes.extend_from_slice(&resp.body);
    w.write_all(&bytes)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn parse(raw: &str) -> Result<Request, ReadError> {
        let mut interim = Vec::new();
        read_request(&mut Cursor::new(raw.as_bytes().to_vec()), &mut interim)
    }

    #[test]
    fn parses_request_line_headers_and_body() {
        let req = parse(
            "POST /api/v2/customers?limit=5&x=a%20b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        )
        .unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/api/v2/customers");
        assert_eq!(req.query, "limit=5&x=a%20b");
        assert_eq!(req.body, b"{}");
        assert_eq!(req.header("HOST"), Some("x"));
        assert!(req.keep_alive());
        assert_eq!(
            req.params(),
            vec![("limit".into(), "5".into()), ("x".into(), "a b".into())]
        );
    }

    #[test]
    fn keeps_multiple_requests_on_one_stream() {
        let raw = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
        let mut cur = Cursor::new(raw.as_bytes().to_vec());
        let mut interim = Vec::new();
        let a = read_request(&mut cur, &mut interim).unwrap();
        let b = read_request(&mut cur, &mut interim).unwrap();
        assert_eq!(a.path, "/a");
        assert_eq!(b.path, "/b");
        assert!(!b.keep_alive());
        assert!(matches!(
            read_request(&mut cur, &mut interim),
            Err(ReadError::Closed)
        ));
    }

    #[test]
    fn decodes_chunked_bodies_and_answers_expect_continue() {
        let raw = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n";
        let mut interim = Vec::new();
        let req = read_request(&mut Cursor::new(raw.as_bytes().to_vec()), &mut interim).unwrap();
        assert_eq!(req.body, b"abcde");
        assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn http10_closes_by_default() {
        let req = parse("GET / HTTP/1.0\r\n\r\n").unwrap();
        assert!(!req.keep_alive());
        let req = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        assert!(req.keep_alive());
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(parse("HELLO\r\n\r\n"), Err(ReadError::Bad(_))));
        assert!(matches!(
            parse("GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n"),
            Err(ReadError::Bad(_))
        ));
    }

    #[test]
    fn bad_request_messages_name_the_line_at_fault() {
        let message = |raw: &str| match parse(raw) {
            Err(ReadError::Bad(m)) => m,
            other => panic!("{raw:?} gave {other:?}"),
        };
        assert_eq!(
            message("HELLO\r\n\r\n"),
            "malformed request line: \"HELLO\""
        );
        assert_eq!(
            message("GET / HTTP/2.0\r\n\r\n"),
            "unsupported protocol \"HTTP/2.0\""
        );
        assert_eq!(
            message("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
            "malformed header line: \"Bad Header\""
        );
    }

    #[test]
    fn absolute_form_targets_are_reduced_to_the_path() {
        let req =
            parse("GET http://127.0.0.1:8787/api/v2/groups?limit=1 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(req.path, "/api/v2/groups");
        assert_eq!(req.query, "limit=1");
    }

    #[test]
    fn percent_decoding_handles_reserved_and_non_ascii() {
        assert_eq!(percent_decode("a%2Fb%3F%23%26%25", false), "a/b?#&%");
        assert_eq!(percent_decode("Zo%C3%AB+x", true), "Zoë x");
        assert_eq!(percent_decode("Zo%C3%AB+x", false), "Zoë+x");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
        assert_eq!(percent_decode("%41", false), "A");
    }

    #[test]
    fn path_segments_keep_encoded_slashes_inside() {
        let req =
            parse("DELETE /api/v2/transactions/ord%202025%2F7%20%231 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(
            req.segments(),
            vec!["api", "v2", "transactions", "ord 2025/7 #1"]
        );
    }

    #[test]
    fn writes_status_line_length_and_extra_headers() {
        let resp = Response::json(429, b"{}".to_vec()).with_header("Retry-After", "3");
        let mut out = Vec::new();
        write_response(&mut out, &resp, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 429 Too Many Requests\r\n"));
        assert!(text.contains("Content-Type: application/json\r\n"));
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.contains("Retry-After: 3\r\n"));
        assert!(text.ends_with("\r\n\r\n{}"));
    }
}
