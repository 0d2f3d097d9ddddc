//! JSON text → jsonb datum, the datum's bytes written directly.
//!
//! PG15's `jsonb_in` lexes character by character, then sorts each object's keys and copies
//! every value into the datum; building it value by value with `pushJsonbValue` still paid for
//! the sorting (`qsort_arg`) and the per-value work. [`image`] parses the text once and lays the
//! datum out as `convertToJsonb` would, byte for byte (the pg_tests compare the bytes with
//! `jsonb_in`'s). Whatever it cannot build exactly (NUL characters, which jsonb rejects; lone
//! surrogates; malformed JSON; a database not in UTF-8) goes to `jsonb_in`, which also reports
//! the errors.

mod image;
#[cfg(any(test, feature = "pg_test"))]
mod tests;

use std::cell::RefCell;
use std::ffi::CString;

use pgrx::pg_sys;

/// The scratch buffers are kept between rows, but not past this capacity, so that one huge
/// item does not hold its memory for the rest of the session.
const MAX_KEPT_SCRATCH_BYTES: usize = 1 << 20;

thread_local! {
    /// Scratch buffers of [`image::encode`]; Postgres calls us on its one backend thread.
    static SCRATCH: RefCell<image::Scratch> = RefCell::new(image::Scratch::default());
}

/// Builds the jsonb datum of a JSON object or array text, in the current memory context.
pub fn jsonb_datum(text: &str) -> pg_sys::Datum {
    direct_datum(text).unwrap_or_else(|| jsonb_in(text))
}

/// The datum built without `jsonb_in`, or `None` where only `jsonb_in` is exact.
pub(crate) fn direct_datum(text: &str) -> Option<pg_sys::Datum> {
    // SAFETY: on the backend thread; GetDatabaseEncoding reads the session's encoding.
    if unsafe { pg_sys::GetDatabaseEncoding() } != pg_sys::pg_enc::PG_UTF8 as i32 {
        // \u escapes would have to be converted to the server encoding.
        return None;
    }
    SCRATCH.with_borrow_mut(|scratch| {
        let built =
            image::encode(text, scratch, &mut numeric_in).map(|()| palloc_copy(&scratch.out));
        if scratch.capacity() > MAX_KEPT_SCRATCH_BYTES {
            *scratch = image::Scratch::default();
        }
        built
    })
}

/// A palloc'd copy of `bytes`, in the current memory context.
fn palloc_copy(bytes: &[u8]) -> pg_sys::Datum {
    // SAFETY: on the backend thread; palloc returns `bytes.len()` writable bytes (or raises an
    // ERROR), aligned for any type, which do not overlap `bytes`.
    unsafe {
        let ptr = pg_sys::palloc(bytes.len()).cast::<u8>();
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
        pg_sys::Datum::from(ptr)
    }
}

/// Appends the numeric image `numeric_in` makes of a JSON number token, as `jsonb_in` does for
/// each number (so the scale the API sent stays: `1.50` is not `1.5`).
fn numeric_in(token: &str, out: &mut Vec<u8>) -> Option<()> {
    let cstring = CString::new(token).ok()?;
    // SAFETY: on the backend thread; numeric_in reads the NUL-terminated `cstring`, alive for
    // the call, and returns a palloc'd numeric with a 4-byte varlena header, of which we copy
    // VARSIZE bytes before freeing it. An ERROR (a number beyond numeric's range, which
    // jsonb_in would raise the same way) goes through pgrx's guard.
    unsafe {
        let datum = pgrx::fcinfo::direct_function_call_as_datum(
            pg_sys::numeric_in,
            &[
                Some(pg_sys::Datum::from(cstring.as_ptr())),
                Some(pg_sys::Datum::from(pg_sys::InvalidOid)),
                Some(pg_sys::Datum::from(-1i32)),
            ],
        )?;
        let numeric = datum.cast_mut_ptr::<pg_sys::varlena>();
        let len = pgrx::varlena::varsize_any(numeric);
        out.extend_from_slice(std::slice::from_raw_parts(numeric.cast::<u8>(), len));
        pg_sys::pfree(numeric.cast());
    }
    Some(())
}

/// Postgres' own parser: exact for every input, and the one that reports malformed JSON.
pub(crate) fn jsonb_in(text: &str) -> pg_sys::Datum {
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
