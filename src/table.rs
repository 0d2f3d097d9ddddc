//! A foreign table's columns matched to its resource's catalogue columns, and values to datums.

use partnerstack_api::{ColumnType, Operand, Resource, Value};
use pgrx::pg_sys;
use pgrx::{IntoDatum, PgRelation, PgSqlErrorCode};

use crate::errors::{error, raise};
use crate::quals::ValueType;
use partnerstack_api::options::TableOptions;

use crate::options::{table_options, table_resource};

/// Microseconds between the Unix epoch and Postgres' epoch (2000-01-01).
pub(crate) const POSTGRES_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A foreign table's layout.
#[derive(Debug, Clone)]
pub struct TableMap {
    /// The resource it reads.
    pub resource: &'static Resource,
    /// Table name, for messages.
    pub name: String,
    /// For each attribute (attnum - 1): the catalogue column index, `None` for a dropped column.
    pub columns: Vec<Option<usize>>,
    /// The table's options, read once here for the planner and the write path.
    pub options: TableOptions,
}

impl TableMap {
    /// Reads and checks the table's columns: each must be a field of the resource, with the
    /// catalogue's type (so a datum is never built with the wrong type).
    pub fn load(relid: pg_sys::Oid) -> TableMap {
        let options = table_options(relid);
        let resource = table_resource(relid, &options);
        // SAFETY: called on the backend thread inside a transaction (planning or executor
        // start); the relation is opened with a lock held to the end of the transaction, so its
        // tuple descriptor stays valid while `rel` (closed on drop) is used below.
        let rel = unsafe { PgRelation::with_lock(relid, pg_sys::AccessShareLock as _) };
        let name = rel.name().to_owned();
        let mut columns = Vec::new();
        for att in rel.tuple_desc().iter() {
            if att.is_dropped() {
                columns.push(None);
                continue;
            }
            let attname = att.name();
            let Some(index) = resource.columns.iter().position(|c| c.name == attname) else {
                raise(
                    error(
                        PgSqlErrorCode::ERRCODE_FDW_COLUMN_NAME_NOT_FOUND,
                        format!(
                            "column \"{attname}\" of foreign table \"{name}\" is not a field of PartnerStack {}",
                            resource.name
                        ),
                    )
                    .set_hint(format!(
                        "Known columns: {}.",
                        resource.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                    )),
                )
            };
            let expected = resource.columns[index].ty;
            if att.type_oid().value() != type_oid(expected) {
                raise(error(
                    PgSqlErrorCode::ERRCODE_FDW_INVALID_DATA_TYPE,
                    format!(
                        "column \"{attname}\" of foreign table \"{name}\" must be of type {}",
                        expected.sql_type()
                    ),
                ));
            }
            columns.push(Some(index));
        }
        TableMap {
            resource,
            name,
            columns,
            options,
        }
    }

    /// The catalogue column of attribute `attnum` (1-based).
    pub fn column_of(&self, attnum: i16) -> Option<usize> {
        usize::try_from(attnum - 1)
            .ok()
            .and_then(|i| self.columns.get(i).copied().flatten())
    }
}

/// The Postgres type of a catalogue column type.
pub fn type_oid(ty: ColumnType) -> pg_sys::Oid {
    match ty {
        ColumnType::Text => pg_sys::TEXTOID,
        ColumnType::BigInt => pg_sys::INT8OID,
        ColumnType::Boolean => pg_sys::BOOLOID,
        ColumnType::Timestamp => pg_sys::TIMESTAMPTZOID,
        ColumnType::Json => pg_sys::JSONBOID,
        ColumnType::TextArray => pg_sys::TEXTARRAYOID,
    }
}

/// Unix microseconds of a timestamptz datum; `None` for ±infinity.
pub fn timestamptz_micros(datum: pg_sys::Datum) -> Option<i64> {
    let pg = datum.value() as i64;
    if pg == i64::MIN || pg == i64::MAX {
        return None;
    }
    pg.checked_add(POSTGRES_EPOCH_OFFSET_MICROS)
}

/// A time value compared with a timestamptz column, as an operand: the value itself, or a
/// `date` / `timestamp` converted to timestamptz under the session's TimeZone by the function
/// Postgres' cross-type comparison operators use. ±infinity, and a value beyond timestamptz's
/// range (which those operators compare as an infinity), are `TimestampInfinity`.
///
/// # Safety
/// On the backend thread, inside a transaction (the conversion reads the session's TimeZone);
/// `datum` must be a non-null datum of the type `value_type` stands for.
pub unsafe fn time_operand(datum: pg_sys::Datum, value_type: ValueType) -> Operand {
    let mut overflow: std::ffi::c_int = 0;
    let timestamptz = match value_type {
        ValueType::AsColumn => datum.value() as i64,
        // SAFETY: per the caller; a date datum is an int32 by value, a timestamp an int64.
        ValueType::Date => unsafe {
            pg_sys::date2timestamptz_opt_overflow(datum.value() as i32, &mut overflow)
        },
        // SAFETY: as above.
        ValueType::Timestamp => unsafe {
            pg_sys::timestamp2timestamptz_opt_overflow(datum.value() as i64, &mut overflow)
        },
    };
    if overflow != 0 {
        return Operand::TimestampInfinity(overflow > 0);
    }
    match timestamptz_micros(pg_sys::Datum::from(timestamptz)) {
        Some(micros) => Operand::TimestampMicros(micros),
        None => Operand::TimestampInfinity(timestamptz == i64::MAX),
    }
}

/// Builds the datum of a value, in the current memory context. `None` is SQL NULL.
pub fn to_datum(value: Value<'_>) -> Option<pg_sys::Datum> {
    match value {
        Value::Null => None,
        Value::Text(s) => s.as_ref().into_datum(),
        Value::BigInt(i) => Some(pg_sys::Datum::from(i)),
        Value::Bool(b) => Some(pg_sys::Datum::from(b)),
        Value::TimestampMs(ms) => Some(pg_sys::Datum::from(
            ms * 1000 - POSTGRES_EPOCH_OFFSET_MICROS,
        )),
        Value::Json(text) => Some(crate::jsonb::jsonb_datum(&text)),
        Value::TextArray(items) => items
            .into_iter()
            .map(|t| t.map(std::borrow::Cow::into_owned))
            .collect::<Vec<Option<String>>>()
            .into_datum(),
    }
}
