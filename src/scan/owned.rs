//! Rust values owned by a Postgres memory context.
//!
//! The planner's relation and the executor's scan node can only point at our state through a
//! `void *` (`RelOptInfo.fdw_private`, `ForeignScanState.fdw_state`), and an ERROR can end the
//! query without any callback of ours running. So the value is boxed, a small header in the
//! memory context points at it, and a reset callback of that context drops it: the value lives
//! exactly as long as the context, or less when `free` drops it earlier.

use std::ffi::c_void;

use pgrx::pg_guard;
use pgrx::pg_sys;

/// The header allocated in the memory context: palloc'd memory never moves, so the
/// `MemoryContextCallback` inside it stays where `MemoryContextRegisterResetCallback` was told.
struct Header {
    /// The boxed value, null once dropped.
    value: *mut c_void,
    /// Drops `value` as the `Box` of its own type.
    drop_value: unsafe fn(*mut c_void),
    callback: pg_sys::MemoryContextCallback,
}

/// Moves `value` into memory context `cxt` and returns the pointer to keep in a `void *` field.
///
/// # Safety
/// `cxt` must be a valid memory context, and the returned pointer must not be used after `cxt`
/// is reset or deleted (keep it only in a structure allocated in `cxt` or a shorter-lived one).
pub unsafe fn attach<T>(cxt: pg_sys::MemoryContext, value: T) -> *mut c_void {
    unsafe fn drop_boxed<T>(value: *mut c_void) {
        // SAFETY: `value` came from `Box::<T>::into_raw` in `attach::<T>` and is dropped once:
        // `drop_now` nulls the header's pointer before calling this.
        drop(unsafe { Box::from_raw(value as *mut T) });
    }
    // SAFETY: the caller gives a valid context; the header is zeroed (a null callback `next`)
    // before it is filled in, and registered in the same context that holds it, so Postgres
    // never calls the callback after the header is freed.
    unsafe {
        let header =
            pg_sys::MemoryContextAllocZero(cxt, std::mem::size_of::<Header>()) as *mut Header;
        (*header).value = Box::into_raw(Box::new(value)) as *mut c_void;
        (*header).drop_value = drop_boxed::<T>;
        (*header).callback.func = Some(drop_now);
        (*header).callback.arg = header as *mut c_void;
        pg_sys::MemoryContextRegisterResetCallback(cxt, &mut (*header).callback);
        header as *mut c_void
    }
}

/// Calls `f` with the value behind `ptr`, `None` when `ptr` is null or the value was dropped.
/// The borrow ends with `f`, so it cannot outlive the memory context that owns the value.
///
/// # Safety
/// `ptr` must be null or a pointer returned by `attach::<T>` (same `T`) whose context is still
/// alive, and `f` must not reach the same value again through `ptr` (no nested `with`).
pub unsafe fn with<T, R>(ptr: *mut c_void, f: impl FnOnce(&mut T) -> R) -> Option<R> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: per the caller, `ptr` is a live header of `attach::<T>`; its non-null `value` is
    // the `Box<T>`, not freed (dropping nulls it), and no other reference to it exists now.
    unsafe {
        let value = (*(ptr as *mut Header)).value as *mut T;
        value.as_mut().map(f)
    }
}

/// Drops the value now (the header stays until its context goes). Idempotent.
///
/// # Safety
/// `ptr` must be null or a pointer returned by `attach` whose context is still alive, and no
/// borrow of the value (from `with`) may be live.
pub unsafe fn free(ptr: *mut c_void) {
    if !ptr.is_null() {
        // SAFETY: as promised by the caller; `drop_now` is what the reset callback runs too.
        unsafe { drop_now(ptr) };
    }
}

/// The memory-context reset callback: drops the value unless `free` already did.
#[pg_guard]
unsafe extern "C-unwind" fn drop_now(arg: *mut c_void) {
    // SAFETY: `arg` is the header registered with this callback in `attach`; Postgres calls the
    // callback once, before it frees the context's memory, on the backend's thread.
    unsafe {
        let header = arg as *mut Header;
        let value = std::mem::replace(&mut (*header).value, std::ptr::null_mut());
        if !value.is_null() {
            ((*header).drop_value)(value);
        }
    }
}
