//! JSON text → the bytes of a jsonb datum, laid out as PG15's `convertToJsonb` lays them out.
//!
//! No Postgres types here: the caller hands in the one conversion that needs the server
//! (non-integer numbers go through `numeric_in`, so their scale is the server's own) and turns
//! the bytes into a datum. Whatever this module is not sure to encode exactly as `jsonb_in`
//! would, it refuses ([`encode`] returns `None`), and the caller asks `jsonb_in`, which also
//! reports malformed JSON: NUL characters (jsonb rejects them), lone surrogates, nesting deeper
//! than [`MAX_DEPTH`], a container beyond jsonb's size limits, a scalar at the top level.
//!
//! The layout (utils/jsonb.h): a varlena header, then the root container. A container is its
//! header (count | flag), one `JEntry` per child (an object lists its keys, sorted, then their
//! values), then the children's data. A `JEntry` holds the type and the length of its data, or
//! every [`OFFSET_STRIDE`]th one the end offset of it. Nested containers and numerics start on
//! a 4-byte boundary; the padding counts as part of their data.

use std::num::NonZeroU128;

/// `JEntry` type bits and flags (utils/jsonb.h).
const JENTRY_OFFLENMASK: u32 = 0x0FFF_FFFF;
const JENTRY_TYPEMASK: u32 = 0x7000_0000;
const JENTRY_HAS_OFF: u32 = 0x8000_0000;
const JENTRY_ISNUMERIC: u32 = 0x1000_0000;
const JENTRY_ISBOOL_FALSE: u32 = 0x2000_0000;
const JENTRY_ISBOOL_TRUE: u32 = 0x3000_0000;
const JENTRY_ISNULL: u32 = 0x4000_0000;
const JENTRY_ISCONTAINER: u32 = 0x5000_0000;

/// Container header flags and count mask (utils/jsonb.h).
const JB_CMASK: u32 = 0x0FFF_FFFF;
/// PG15's `JSONB_MAX_ELEMS` (MaxAllocSize / sizeof(JsonbValue) on 64-bit): `jsonb_in` refuses an
/// array with more elements. At or above it the image is not built and `jsonb_in` reports.
const JSONB_MAX_ELEMS: usize = 0x3FFF_FFFF / 32;
/// PG15's `JSONB_MAX_PAIRS` (MaxAllocSize / sizeof(JsonbPair)): counted before duplicate keys
/// are removed, as `jsonb_in` counts them.
const JSONB_MAX_PAIRS: usize = 0x3FFF_FFFF / 72;
const JB_FOBJECT: u32 = 0x2000_0000;
const JB_FARRAY: u32 = 0x4000_0000;

/// Every this many children a `JEntry` stores an end offset instead of a length (jsonb.h).
const OFFSET_STRIDE: usize = 32;

/// Short-format numeric header bits (utils/adt/numeric.c).
const NUMERIC_SHORT: u16 = 0x8000;
const NUMERIC_SHORT_SIGN_MASK: u16 = 0x2000;

/// Size of a 4-byte varlena header.
const VARHDRSZ: usize = 4;

/// Nesting deeper than this goes to `jsonb_in`: the encoder recurses, and API items are
/// shallow; `jsonb_in` has its own stack-depth check for the rest.
pub const MAX_DEPTH: usize = 256;

/// Integers of at most this many digits take the fast path: they fit in a u64 and are encoded
/// here exactly as `numeric_in` would; longer ones go through the caller's `numeric_in`.
const MAX_FAST_INTEGER_DIGITS: usize = 18;

/// Buffers kept from one document to the next, so a scan does not allocate per row.
#[derive(Default)]
pub struct Scratch {
    /// Children of finished containers, each container's children contiguous.
    nodes: Vec<Packed>,
    /// Children of the containers being parsed (inner containers' above outer ones'); an
    /// object's as key, value, key, value...
    stack: Vec<Packed>,
    /// Of each member of the objects being parsed, its key's [`sort_key`].
    sort_keys: Vec<u128>,
    /// Strings that had escapes, unescaped.
    strings: Vec<u8>,
    /// Numeric images returned by `numeric_in` (varlena header included).
    numerics: Vec<u8>,
    /// The datum being written: varlena header, then the root container.
    pub out: Vec<u8>,
}

impl Scratch {
    /// Bytes the buffers hold on to.
    pub fn capacity(&self) -> usize {
        (self.nodes.capacity() + self.stack.capacity()) * size_of::<Packed>()
            + self.sort_keys.capacity() * size_of::<u128>()
            + self.strings.capacity()
            + self.numerics.capacity()
            + self.out.capacity()
    }
}

/// One parsed value. Strings and numerics point into the input or the scratch buffers.
#[derive(Clone, Copy)]
enum Node {
    Null,
    Bool(bool),
    /// A string of the input text, between its quotes, that had no escapes.
    Raw {
        start: u32,
        len: u32,
    },
    /// A string that had escapes, unescaped in `Scratch::strings`.
    Unescaped {
        start: u32,
        len: u32,
    },
    /// An integer of at most [`MAX_FAST_INTEGER_DIGITS`] digits.
    Integer {
        negative: bool,
        magnitude: u64,
    },
    /// A numeric image in `Scratch::numerics`.
    Numeric {
        start: u32,
        len: u32,
    },
    /// `len` elements at `Scratch::nodes[first..]`.
    Array {
        first: u32,
        len: u32,
    },
    /// `len` keys at `Scratch::nodes[first..]`, sorted and unique, then their `len` values.
    Object {
        first: u32,
        len: u32,
    },
}

/// A [`Node`] in one 128-bit word: tag, then a 32-bit length, then a 64-bit start, first
/// child or magnitude. Parsing moves these through registers and whole-word stores; the enum's
/// byte-wise stores read back as wider loads stalled the parser.
#[derive(Clone, Copy)]
struct Packed(NonZeroU128);

impl Node {
    fn pack(self) -> Packed {
        let (tag, len, at): (u8, u32, u64) = match self {
            Node::Null => (1, 0, 0),
            Node::Bool(false) => (2, 0, 0),
            Node::Bool(true) => (3, 0, 0),
            Node::Raw { start, len } => (4, len, start.into()),
            Node::Unescaped { start, len } => (5, len, start.into()),
            Node::Integer {
                negative: false,
                magnitude,
            } => (6, 0, magnitude),
            Node::Integer {
                negative: true,
                magnitude,
            } => (7, 0, magnitude),
            Node::Numeric { start, len } => (8, len, start.into()),
            Node::Array { first, len } => (9, len, first.into()),
            Node::Object { first, len } => (10, len, first.into()),
        };
        let word = u128::from(tag) | (u128::from(len) << 32) | (u128::from(at) << 64);
        Packed(NonZeroU128::new(word).expect("tags start at 1"))
    }
}

impl Packed {
    fn unpack(self) -> Node {
        let word = self.0.get();
        let len = (word >> 32) as u32;
        let at = (word >> 64) as u64;
        match word as u8 {
            1 => Node::Null,
            2 => Node::Bool(false),
            3 => Node::Bool(true),
            4 => Node::Raw {
                start: at as u32,
                len,
            },
            5 => Node::Unescaped {
                start: at as u32,
                len,
            },
            6 | 7 => Node::Integer {
                negative: word as u8 == 7,
                magnitude: at,
            },
            8 => Node::Numeric {
                start: at as u32,
                len,
            },
            9 => Node::Array {
                first: at as u32,
                len,
            },
            10 => Node::Object {
                first: at as u32,
                len,
            },
            tag => unreachable!("pack writes tags 1 to 10, not {tag}"),
        }
    }
}

/// Writes the jsonb datum of `text`, varlena header included, into `scratch.out`. `numeric` appends the
/// image `numeric_in` gives a non-integer number's text (or refuses with `None`). `None`:
/// leave this text to `jsonb_in`.
pub fn encode(
    text: &str,
    scratch: &mut Scratch,
    numeric: &mut dyn FnMut(&str, &mut Vec<u8>) -> Option<()>,
) -> Option<()> {
    scratch.nodes.clear();
    scratch.stack.clear();
    scratch.sort_keys.clear();
    scratch.strings.clear();
    scratch.numerics.clear();
    scratch.out.clear();
    let mut parser = Parser {
        text: text.as_bytes(),
        pos: 0,
        scratch,
        numeric,
    };
    parser.skip_whitespace();
    let root = match parser.peek() {
        Some(b'{' | b'[') => {
            parser.value(0)?;
            parser.scratch.stack.pop()?
        }
        // A top-level scalar is a one-element "raw scalar" array: rare, left to jsonb_in.
        _ => return None,
    };
    parser.skip_whitespace();
    if parser.pos != parser.text.len() {
        return None;
    }
    let scratch = parser.scratch;
    let mut writer = Writer {
        text: text.as_bytes(),
        nodes: &scratch.nodes,
        strings: &scratch.strings,
        numerics: &scratch.numerics,
        out: &mut scratch.out,
    };
    writer.out.extend_from_slice(&[0; VARHDRSZ]);
    writer.value(root)?;
    let header = varlena_header(scratch.out.len());
    scratch.out[..VARHDRSZ].copy_from_slice(&header.to_ne_bytes());
    Some(())
}

struct Parser<'t, 's, 'n> {
    text: &'t [u8],
    pos: usize,
    scratch: &'s mut Scratch,
    numeric: &'n mut dyn FnMut(&str, &mut Vec<u8>) -> Option<()>,
}

impl Parser<'_, '_, '_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    /// JSON's whitespace, as Postgres' lexer takes it.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Parses a value and pushes it on `Scratch::stack`.
    fn value(&mut self, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let node = match self.peek()? {
            b'{' => self.object(depth)?,
            b'[' => self.array(depth)?,
            b'"' => self.string()?,
            b't' => self.literal(b"true", Node::Bool(true))?,
            b'f' => self.literal(b"false", Node::Bool(false))?,
            b'n' => self.literal(b"null", Node::Null)?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        };
        self.scratch.stack.push(node);
        Some(())
    }

    /// A literal, which must end where a token may end (Postgres reads `truex` as one token).
    fn literal(&mut self, word: &[u8], node: Node) -> Option<Packed> {
        if !self.text[self.pos..].starts_with(word) {
            return None;
        }
        self.pos += word.len();
        self.token_ends()?;
        Some(node.pack())
    }

    /// After a number or literal: the end, whitespace or punctuation, never a letter or digit.
    fn token_ends(&self) -> Option<()> {
        match self.peek() {
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b']' | b'}' | b':') => Some(()),
            _ => None,
        }
    }

    fn array(&mut self, depth: usize) -> Option<Packed> {
        self.pos += 1;
        let start = self.scratch.stack.len();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                self.value(depth + 1)?;
                self.skip_whitespace();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b']' => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let len = self.scratch.stack.len() - start;
        if len > JB_CMASK as usize || len >= JSONB_MAX_ELEMS {
            return None;
        }
        let first = self.scratch.nodes.len();
        self.scratch.nodes.extend(self.scratch.stack.drain(start..));
        Some(
            Node::Array {
                first: u32::try_from(first).ok()?,
                len: len as u32,
            }
            .pack(),
        )
    }

    fn object(&mut self, depth: usize) -> Option<Packed> {
        self.pos += 1;
        let start = self.scratch.stack.len();
        let sort_start = self.scratch.sort_keys.len();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                if self.peek()? != b'"' {
                    return None;
                }
                let key = self.string()?;
                let index = self.scratch.sort_keys.len() - sort_start;
                let sort_key = sort_key(key_bytes(self.text, &self.scratch.strings, key), index)?;
                self.scratch.sort_keys.push(sort_key);
                self.scratch.stack.push(key);
                self.skip_whitespace();
                if self.peek()? != b':' {
                    return None;
                }
                self.pos += 1;
                self.skip_whitespace();
                self.value(depth + 1)?;
                self.skip_whitespace();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b'}' => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        if (self.scratch.stack.len() - start) / 2 >= JSONB_MAX_PAIRS {
            return None;
        }
        let len = self.uniqueify(sort_start);
        if len > JB_CMASK as usize {
            return None;
        }
        let scratch = &mut *self.scratch;
        let first = scratch.nodes.len();
        let members = &scratch.stack[start..];
        let order = &scratch.sort_keys[sort_start..];
        let index = |k: &u128| *k as u32 as usize;
        scratch
            .nodes
            .extend(order.iter().map(|k| members[2 * index(k)]));
        scratch
            .nodes
            .extend(order.iter().map(|k| members[2 * index(k) + 1]));
        scratch.stack.truncate(start);
        scratch.sort_keys.truncate(sort_start);
        Some(
            Node::Object {
                first: u32::try_from(first).ok()?,
                len: len as u32,
            }
            .pack(),
        )
    }

    /// Sorts the sort keys from `start` on in jsonb's key order and keeps, of equal keys, the
    /// one that came last (as `uniqueifyJsonbObject` does). Returns how many remain.
    fn uniqueify(&mut self, start: usize) -> usize {
        let text = self.text;
        let scratch = &mut *self.scratch;
        let keys = &mut scratch.sort_keys[start..];
        // Length and first eight bytes, without the index.
        let head = |k: u128| k >> 32;
        if keys.windows(2).all(|w| head(w[0]) < head(w[1])) {
            return keys.len();
        }
        // The index in the low bits keeps equal keys in document order.
        keys.sort_unstable();
        let long_tie = keys
            .windows(2)
            .any(|w| head(w[0]) == head(w[1]) && (w[0] >> 96) as usize > 8);
        let (nodes, strings) = (&scratch.stack, &scratch.strings);
        let member_start = nodes.len() - 2 * keys.len();
        let bytes =
            |k: u128| key_bytes(text, strings, nodes[member_start + 2 * (k as u32 as usize)]);
        if long_tie {
            // Keys longer than eight bytes that share their first eight: compare them whole.
            keys.sort_unstable_by(|&a, &b| {
                head(a)
                    .cmp(&head(b))
                    .then_with(|| bytes(a).cmp(bytes(b)))
                    .then((a as u32).cmp(&(b as u32)))
            });
        }
        let mut kept = 0;
        for i in 0..keys.len() {
            let last_of_run = i + 1 == keys.len()
                || head(keys[i]) != head(keys[i + 1])
                || bytes(keys[i]) != bytes(keys[i + 1]);
            if last_of_run {
                keys[kept] = keys[i];
                kept += 1;
            }
        }
        scratch.sort_keys.truncate(start + kept);
        kept
    }

    /// A string token; the cursor is on its opening quote.
    fn string(&mut self) -> Option<Packed> {
        self.pos += 1;
        let start = self.pos;
        while let Some(word) = self.text.get(self.pos..self.pos + 8) {
            let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            if may_end_plain_run(word) {
                break;
            }
            self.pos += 8;
        }
        loop {
            match *self.text.get(self.pos)? {
                b'"' => {
                    let len = self.pos - start;
                    self.pos += 1;
                    return Some(
                        Node::Raw {
                            start: u32::try_from(start).ok()?,
                            len: u32::try_from(len).ok()?,
                        }
                        .pack(),
                    );
                }
                b'\\' => return self.escaped_string(start),
                // Control characters must be escaped.
                0..=0x1F => return None,
                _ => self.pos += 1,
            }
        }
    }

    /// The rest of a string that has escapes: it is unescaped into `Scratch::strings`.
    fn escaped_string(&mut self, start: usize) -> Option<Packed> {
        let out_start = self.scratch.strings.len();
        self.scratch
            .strings
            .extend_from_slice(&self.text[start..self.pos]);
        loop {
            let byte = *self.text.get(self.pos)?;
            self.pos += 1;
            match byte {
                b'"' => break,
                0..=0x1F => return None,
                b'\\' => {
                    let escaped = *self.text.get(self.pos)?;
                    self.pos += 1;
                    let plain = match escaped {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0C,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let c = self.unicode_escape()?;
                            let mut utf8 = [0; 4];
                            self.scratch
                                .strings
                                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                            continue;
                        }
                        _ => return None,
                    };
                    self.scratch.strings.push(plain);
                }
                _ => self.scratch.strings.push(byte),
            }
        }
        let len = self.scratch.strings.len() - out_start;
        Some(
            Node::Unescaped {
                start: u32::try_from(out_start).ok()?,
                len: u32::try_from(len).ok()?,
            }
            .pack(),
        )
    }

    /// The character of a `\uXXXX` escape (the cursor after its `u`), joining a surrogate
    /// pair. `None` for what jsonb rejects: U+0000 and a surrogate without its partner.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.text[self.pos..].starts_with(b"\\u") {
                    return None;
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return None;
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF | 0 => return None,
            _ => first,
        };
        char::from_u32(code)
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let mut code = 0;
        for &d in digits {
            code = code * 16 + char::from(d).to_digit(16)?;
        }
        self.pos += 4;
        Some(code)
    }

    /// A number token, checked against JSON's grammar (as Postgres' lexer checks it).
    fn number(&mut self) -> Option<Packed> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.skip_digits(),
            _ => return None,
        }
        let int_digits = self.pos - int_start;
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.at_least_one_digit()?;
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.at_least_one_digit()?;
            integer = false;
        }
        self.token_ends()?;
        if integer && int_digits <= MAX_FAST_INTEGER_DIGITS {
            let magnitude = self.text[int_start..self.pos]
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            return Some(
                Node::Integer {
                    negative,
                    magnitude,
                }
                .pack(),
            );
        }
        // The token is ASCII, so this slice is on character boundaries.
        let token = std::str::from_utf8(&self.text[start..self.pos]).ok()?;
        let numerics = &mut self.scratch.numerics;
        let at = numerics.len();
        (self.numeric)(token, numerics)?;
        Some(
            Node::Numeric {
                start: u32::try_from(at).ok()?,
                len: u32::try_from(numerics.len() - at).ok()?,
            }
            .pack(),
        )
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn at_least_one_digit(&mut self) -> Option<()> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return None;
        }
        self.skip_digits();
        Some(())
    }
}

/// A key's place in jsonb's key order (`lengthCompareJsonbString`: shorter first, then
/// bytewise), as far as its length and first eight bytes tell, then `index`, its place in the
/// document. `None` for a key longer than a `JEntry` can hold.
fn sort_key(key: &[u8], index: usize) -> Option<u128> {
    let mut prefix = [0; 8];
    let n = key.len().min(8);
    prefix[..n].copy_from_slice(&key[..n]);
    let len = entry_length(key.len())?;
    let index = u32::try_from(index).ok()?;
    Some(
        (u128::from(len) << 96)
            | (u128::from(u64::from_be_bytes(prefix)) << 32)
            | u128::from(index),
    )
}

/// Whether eight bytes hold a quote, a backslash or a control character, the bytes that end a
/// run of plain string content (exact as a yes/no: the classic "has zero byte" and "has byte
/// less than" bit tricks).
fn may_end_plain_run(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
    has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\')))
        || word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0
}

/// The unescaped bytes of a key.
fn key_bytes<'a>(text: &'a [u8], strings: &'a [u8], node: Packed) -> &'a [u8] {
    match node.unpack() {
        Node::Raw { start, len } => &text[start as usize..(start + len) as usize],
        Node::Unescaped { start, len } => &strings[start as usize..(start + len) as usize],
        _ => unreachable!("object keys are strings"),
    }
}

struct Writer<'a> {
    text: &'a [u8],
    nodes: &'a [Packed],
    strings: &'a [u8],
    numerics: &'a [u8],
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    /// Appends a value's data and returns its `JEntry` (holding its length, with padding).
    fn value(&mut self, packed: Packed) -> Option<u32> {
        Some(match packed.unpack() {
            Node::Null => JENTRY_ISNULL,
            Node::Bool(true) => JENTRY_ISBOOL_TRUE,
            Node::Bool(false) => JENTRY_ISBOOL_FALSE,
            Node::Raw { .. } | Node::Unescaped { .. } => {
                let bytes = key_bytes(self.text, self.strings, packed);
                self.out.extend_from_slice(bytes);
                entry_length(bytes.len())?
            }
            Node::Integer {
                negative,
                magnitude,
            } => {
                let pad = self.pad();
                let len = push_integer_numeric(self.out, negative, magnitude);
                JENTRY_ISNUMERIC | entry_length(pad + len)?
            }
            Node::Numeric { start, len } => {
                let pad = self.pad();
                self.out
                    .extend_from_slice(&self.numerics[start as usize..(start + len) as usize]);
                JENTRY_ISNUMERIC | entry_length(pad + len as usize)?
            }
            Node::Array { first, len } => {
                let base = self.out.len();
                self.pad();
                self.container(JB_FARRAY, first as usize, len as usize, len as usize)?;
                JENTRY_ISCONTAINER | entry_length(self.out.len() - base)?
            }
            Node::Object { first, len } => {
                let base = self.out.len();
                self.pad();
                self.container(JB_FOBJECT, first as usize, len as usize, 2 * len as usize)?;
                JENTRY_ISCONTAINER | entry_length(self.out.len() - base)?
            }
        })
    }

    /// A container's header, `JEntry`s and children's data. `children` is `count` for an
    /// array and twice it for an object (keys, then values).
    fn container(&mut self, flag: u32, first: usize, count: usize, children: usize) -> Option<()> {
        push_u32(self.out, count as u32 | flag);
        let mut entry_at = self.out.len();
        self.out.resize(entry_at + 4 * children, 0);
        let mut total = 0usize;
        for i in 0..children {
            let entry = self.value(self.nodes[first + i])?;
            total += (entry & JENTRY_OFFLENMASK) as usize;
            let entry = if i % OFFSET_STRIDE == 0 {
                (entry & JENTRY_TYPEMASK) | entry_length(total)? | JENTRY_HAS_OFF
            } else {
                entry
            };
            self.out[entry_at..entry_at + 4].copy_from_slice(&entry.to_ne_bytes());
            entry_at += 4;
        }
        entry_length(total)?;
        Some(())
    }

    /// Zero bytes up to the next 4-byte boundary of the datum; returns how many.
    fn pad(&mut self) -> usize {
        let pad = self.out.len().next_multiple_of(4) - self.out.len();
        self.out.extend_from_slice(&[0; 3][..pad]);
        pad
    }
}

/// A length as a `JEntry` holds it; `None` beyond jsonb's limit (so `jsonb_in` reports it).
fn entry_length(len: usize) -> Option<u32> {
    u32::try_from(len).ok().filter(|&l| l <= JENTRY_OFFLENMASK)
}

fn push_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_ne_bytes());
}

/// The varlena header word of a datum of `len` bytes with a 4-byte header (`SET_VARSIZE`).
fn varlena_header(len: usize) -> u32 {
    #[cfg(target_endian = "little")]
    return (len as u32) << 2;
    #[cfg(target_endian = "big")]
    return len as u32 & 0x3FFF_FFFF;
}

/// Appends the numeric `numeric_in` makes of an integer (short format: the value in base-10000
/// digits, most significant first, trailing zero digits dropped; zero has none and is
/// positive). Returns its length.
fn push_integer_numeric(out: &mut Vec<u8>, negative: bool, magnitude: u64) -> usize {
    // 18 decimal digits are at most five base-10000 digits.
    let mut digits = [0u16; 5];
    let mut count = 0;
    let mut rest = magnitude;
    while rest > 0 {
        digits[count] = (rest % 10_000) as u16;
        rest /= 10_000;
        count += 1;
    }
    // `digits[..count]` is least significant first; the weight is that of the first digit.
    let weight = count.saturating_sub(1) as u16;
    let trailing_zeros = digits[..count].iter().take_while(|&&d| d == 0).count();
    let kept = &digits[trailing_zeros..count];
    let len = VARHDRSZ + 2 + 2 * kept.len();
    push_u32(out, varlena_header(len));
    let sign = if negative && count > 0 {
        NUMERIC_SHORT_SIGN_MASK
    } else {
        0
    };
    out.extend_from_slice(&(NUMERIC_SHORT | sign | weight).to_ne_bytes());
    for d in kept.iter().rev() {
        out.extend_from_slice(&(*d as i16).to_ne_bytes());
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(text: &str) -> Option<Vec<u8>> {
        let mut scratch = Scratch::default();
        encode(text, &mut scratch, &mut |_, _| None).map(|()| scratch.out)
    }

    fn u32s(bytes: &[u8]) -> Vec<u32> {
        bytes
            .chunks(4)
            .map(|c| u32::from_ne_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn empty_containers_are_a_header_and_a_count() {
        assert_eq!(
            u32s(&encoded("{}").unwrap()),
            [varlena_header(8), JB_FOBJECT]
        );
        assert_eq!(
            u32s(&encoded(" [ ] ").unwrap()),
            [varlena_header(8), JB_FARRAY]
        );
    }

    #[test]
    fn keys_are_ordered_by_length_then_bytes_and_the_last_duplicate_wins() {
        let image = encoded(r#"{"bb":true,"a":null,"ab":false,"a":true}"#).unwrap();
        // Header, three key entries, three value entries, then "a", "ab", "bb".
        let words = u32s(&image[..32]);
        assert_eq!(words[1], 3 | JB_FOBJECT);
        assert_eq!(words[2], JENTRY_HAS_OFF | 1);
        assert_eq!(words[3], 2);
        assert_eq!(words[4], 2);
        assert_eq!(
            words[5..8],
            [JENTRY_ISBOOL_TRUE, JENTRY_ISBOOL_FALSE, JENTRY_ISBOOL_TRUE]
        );
        assert_eq!(&image[32..], b"aabbb");
    }

    #[test]
    fn integers_are_short_numerics_without_trailing_zero_digits() {
        let numeric = |negative, magnitude| {
            let mut out = Vec::new();
            push_integer_numeric(&mut out, negative, magnitude);
            out
        };
        let header = |len: usize| varlena_header(len).to_ne_bytes().to_vec();
        assert_eq!(
            numeric(true, 0),
            [header(6), 0x8000u16.to_ne_bytes().to_vec()].concat()
        );
        assert_eq!(
            numeric(false, 10_000),
            [
                header(8),
                0x8001u16.to_ne_bytes().to_vec(),
                1i16.to_ne_bytes().to_vec()
            ]
            .concat()
        );
        assert_eq!(
            numeric(true, 123_456),
            [
                header(10),
                0xA001u16.to_ne_bytes().to_vec(),
                12i16.to_ne_bytes().to_vec(),
                3456i16.to_ne_bytes().to_vec()
            ]
            .concat()
        );
    }

    #[test]
    fn what_jsonb_in_must_judge_is_refused() {
        for text in [
            "1",
            "[01]",
            "[1.]",
            "[truex]",
            "[\"\\u0000\"]",
            "[\"\\ud800\"]",
            "[1,]",
            "{\"a\"}",
            "[\"a\nb\"]",
            "[]x",
        ] {
            assert!(encoded(text).is_none(), "{text}");
        }
        // Non-integers go to the caller's numeric_in, which here refuses.
        assert!(encoded("[1.5]").is_none());
        assert!(encoded(&"[".repeat(MAX_DEPTH + 1)).is_none());
    }

    #[test]
    fn plain_runs_end_at_quotes_backslashes_and_control_characters() {
        let word = |s: &[u8; 8]| u64::from_le_bytes(*s);
        assert!(!may_end_plain_run(word(b"abc\x7f\xc3\xa9 ~")));
        assert!(may_end_plain_run(word(b"abcdefg\"")));
        assert!(may_end_plain_run(word(b"\\bcdefgh")));
        assert!(may_end_plain_run(word(b"abc\x1fefgh")));
        assert!(may_end_plain_run(word(b"abc\x00efgh")));
    }
}
