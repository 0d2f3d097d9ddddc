//! JSON text → jsonb datum, built token by token with `pushJsonbValue`.
//!
//! PG15's `jsonb_in` lexes character by character and dominated the profile of `SELECT *`
//! (`json_lex`, `appendStringInfoChar`). serde_json already tokenizes faster, and its strings
//! can be handed to Postgres without copying. Where the fast path could change a value it
//! steps aside: a non-integer number (f64 would lose the scale the API sent, `1.50` → `1.5`), an
//! integer beyond i64, or a NUL character (which jsonb rejects): then `jsonb_in` parses the text.

use std::ffi::{CString, c_char};
use std::ptr;

use pgrx::pg_sys;
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// Builds the jsonb datum of a JSON object or array text.
pub fn jsonb_datum(text: &str) -> pg_sys::Datum {
    let mut builder = Builder {
        state: ptr::null_mut(),
        owned: Vec::new(),
        result: ptr::null_mut(),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let built = Node {
        builder: &mut builder,
        token: pg_sys::JsonbIteratorToken::WJB_VALUE,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match built {
        // SAFETY: `result` is the finished top-level container pushJsonbValue built in the
        // current memory context, and the strings it points at are still held by
        // `builder.owned`; JsonbValueToJsonb copies everything into one new datum.
        Ok(()) if !builder.result.is_null() => unsafe {
            pg_sys::Datum::from(pg_sys::JsonbValueToJsonb(builder.result))
        },
        _ => jsonb_in(text),
    }
}

/// Postgres' own parser: exact for every input, and the one that reports malformed JSON.
fn jsonb_in(text: &str) -> pg_sys::Datum {
    // JSON text has no raw NUL byte (a NUL can only appear escaped as \u0000).
    let cstring = CString::new(text).unwrap_or_default();
    // SAFETY: on the backend thread (a scan callback); jsonb_in reads the NUL-terminated
    // `cstring`, alive for the call, and returns a datum in the current memory context. An
    // ERROR for malformed JSON goes through pgrx's guard.
    unsafe {
        pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::jsonb_in,
            &[Some(pg_sys::Datum::from(cstring.as_ptr()))],
        )
        .expect("jsonb_in returns a value")
    }
}

struct Builder {
    state: *mut pg_sys::JsonbParseState,
    /// Unescaped strings: Postgres keeps pointers to them until JsonbValueToJsonb copies them.
    owned: Vec<String>,
    /// The finished top-level container.
    result: *mut pg_sys::JsonbValue,
}

impl Builder {
    fn push(&mut self, token: pg_sys::JsonbIteratorToken::Type, value: Option<pg_sys::JsonbValue>) {
        let mut value = value;
        let ptr = value
            .as_mut()
            .map_or(ptr::null_mut(), |v| v as *mut pg_sys::JsonbValue);
        // SAFETY: pushJsonbValue copies the JsonbValue struct (not the string bytes) before
        // returning, and the string bytes stay in `owned` (or the input text) until
        // JsonbValueToJsonb; `state` is null or the parse state it returned before.
        let r = unsafe { pg_sys::pushJsonbValue(&mut self.state, token, ptr) };
        if token == pg_sys::JsonbIteratorToken::WJB_END_OBJECT
            || token == pg_sys::JsonbIteratorToken::WJB_END_ARRAY
        {
            self.result = r;
        }
    }

    fn string(&mut self, s: &str) -> pg_sys::JsonbValue {
        string_value(s.as_ptr() as *mut c_char, s.len())
    }
}

fn string_value(ptr: *mut c_char, len: usize) -> pg_sys::JsonbValue {
    // SAFETY: JsonbValue is a plain C struct (integers, pointers, a union of them): all zeros
    // is a valid value of it.
    let mut v: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
    v.type_ = pg_sys::jbvType::jbvString;
    v.val.string = pg_sys::JsonbValue__bindgen_ty_1__bindgen_ty_1 {
        len: len as i32,
        val: ptr,
    };
    v
}

fn scalar(type_: pg_sys::jbvType::Type) -> pg_sys::JsonbValue {
    // SAFETY: JsonbValue is a plain C struct (integers, pointers, a union of them): all zeros
    // is a valid value of it.
    let mut v: pg_sys::JsonbValue = unsafe { std::mem::zeroed() };
    v.type_ = type_;
    v
}

/// One JSON value, pushed as a key's value (`WJB_VALUE`) or an array element (`WJB_ELEM`).
struct Node<'b> {
    builder: &'b mut Builder,
    token: pg_sys::JsonbIteratorToken::Type,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.builder
            .push(pg_sys::JsonbIteratorToken::WJB_BEGIN_OBJECT, None);
        while let Some(key) = map.next_key::<KeyText<'de>>()? {
            let value = match key {
                KeyText::Borrowed(s) => self.builder.string(s),
                KeyText::Owned(s) => {
                    if s.contains('\0') {
                        return Err(A::Error::custom("NUL in key"));
                    }
                    self.builder.owned.push(s);
                    let s = self.builder.owned.last().expect("just pushed");
                    string_value(s.as_ptr() as *mut c_char, s.len())
                }
            };
            self.builder
                .push(pg_sys::JsonbIteratorToken::WJB_KEY, Some(value));
            map.next_value_seed(Node {
                builder: self.builder,
                token: pg_sys::JsonbIteratorToken::WJB_VALUE,
            })?;
        }
        self.builder
            .push(pg_sys::JsonbIteratorToken::WJB_END_OBJECT, None);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.builder
            .push(pg_sys::JsonbIteratorToken::WJB_BEGIN_ARRAY, None);
        while seq
            .next_element_seed(Node {
                builder: self.builder,
                token: pg_sys::JsonbIteratorToken::WJB_ELEM,
            })?
            .is_some()
        {}
        self.builder
            .push(pg_sys::JsonbIteratorToken::WJB_END_ARRAY, None);
        Ok(())
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<(), E> {
        let v = self.builder.string(s);
        self.builder.push(self.token, Some(v));
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<(), E> {
        self.visit_string(s.to_owned())
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<(), E> {
        if s.contains('\0') {
            return Err(E::custom("NUL in string"));
        }
        self.builder.owned.push(s);
        let s = self.builder.owned.last().expect("just pushed");
        let v = string_value(s.as_ptr() as *mut c_char, s.len());
        self.builder.push(self.token, Some(v));
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<(), E> {
        let mut v = scalar(pg_sys::jbvType::jbvNumeric);
        // SAFETY: on the backend thread; int64_to_numeric pallocs the numeric in the current
        // memory context, where it stays until JsonbValueToJsonb copies it.
        v.val.numeric = unsafe { pg_sys::int64_to_numeric(n) };
        self.builder.push(self.token, Some(v));
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<(), E> {
        match i64::try_from(n) {
            Ok(n) => self.visit_i64(n),
            Err(_) => Err(E::custom("integer beyond i64")),
        }
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom("non-integer number: keep its exact text"))
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<(), E> {
        let mut v = scalar(pg_sys::jbvType::jbvBool);
        v.val.boolean = b;
        self.builder.push(self.token, Some(v));
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.builder
            .push(self.token, Some(scalar(pg_sys::jbvType::jbvNull)));
        Ok(())
    }
}

/// An object key, borrowed from the input unless it had escapes.
enum KeyText<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl<'de> serde::Deserialize<'de> for KeyText<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                s: &'de str,
            ) -> Result<KeyText<'de>, E> {
                Ok(KeyText::Borrowed(s))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<KeyText<'de>, E> {
                Ok(KeyText::Owned(s.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<KeyText<'de>, E> {
                Ok(KeyText::Owned(s))
            }
        }
        d.deserialize_str(V)
    }
}
