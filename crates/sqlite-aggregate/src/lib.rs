//! A safe way to add one kind of SQLite aggregate function: one that folds BLOB values
//! into a Rust state and returns a BLOB.
//!
//! This is the only code that calls the SQLite C API directly, so it is the only code
//! with `unsafe` blocks. It is a crate of its own because the main crate forbids them.
//! sqlx gives the raw connection handle but has no API to add functions.
//!
//! The state of each group lives in a `Box` whose pointer SQLite keeps in the group's
//! aggregate context. Panics are caught at the boundary and reported to SQLite as an
//! error, since unwinding into C is undefined behaviour.

use std::{
    ffi::{CString, c_int, c_void},
    panic::{AssertUnwindSafe, catch_unwind},
    ptr::NonNull,
};

use libsqlite3_sys as ffi;
use sqlx_sqlite::LockedSqliteHandle;

/// The fold behind an aggregate function of one BLOB argument.
pub trait BlobFold: Default + 'static {
    /// Adds one value. NULL arguments are skipped before this is called. An error
    /// aborts the query with its message.
    ///
    /// # Errors
    /// A value the fold cannot read.
    fn step(&mut self, blob: &[u8]) -> Result<(), String>;

    /// Returns the result of a group. Groups without any non-NULL value get
    /// `Self::default().finish()`.
    fn finish(self) -> Vec<u8>;
}

/// A failure to register a function, with SQLite's result code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterError {
    pub name: String,
    pub code: i32,
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SQLite rejected the function {} (result code {})", self.name, self.code)
    }
}

impl std::error::Error for RegisterError {}

/// Adds the aggregate `name(blob)` folding with `F` to the locked connection `handle`.
///
/// # Errors
/// SQLite's result code when it refuses the function (for example a name too long).
pub fn register<F: BlobFold>(
    handle: &mut LockedSqliteHandle<'_>,
    name: &str,
) -> Result<(), RegisterError> {
    let db: NonNull<ffi::sqlite3> = handle.as_raw_handle();
    let rejected = |code| RegisterError { name: name.to_owned(), code };
    let c_name = CString::new(name).map_err(|_| rejected(ffi::SQLITE_MISUSE))?;
    // SAFETY: the lock gives exclusive use of an open connection, and SQLite copies the
    // valid C string `c_name`. The callbacks match the signatures SQLite expects and
    // use no application data.
    let code = unsafe {
        ffi::sqlite3_create_function_v2(
            db.as_ptr(),
            c_name.as_ptr(),
            1,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC | ffi::SQLITE_INNOCUOUS,
            std::ptr::null_mut(),
            None,
            Some(step::<F>),
            Some(finish::<F>),
            None,
        )
    };
    if code == ffi::SQLITE_OK { Ok(()) } else { Err(rejected(code)) }
}

/// Returns the slot in the group's aggregate context that contains the state's pointer.
/// With `allocate` false it returns `None` for a group whose step never ran.
///
/// SAFETY: `context` must be the context SQLite passed to the running callback.
unsafe fn state_slot<F>(context: *mut ffi::sqlite3_context, allocate: bool) -> Option<*mut *mut F> {
    let bytes = if allocate { size_of::<*mut F>() as c_int } else { 0 };
    // SAFETY: SQLite returns zeroed memory of `bytes` bytes, the same for every call
    // within one group, or null when out of memory or when `bytes` is 0 and no memory
    // was allocated yet.
    let slot = unsafe { ffi::sqlite3_aggregate_context(context, bytes) }.cast::<*mut F>();
    (!slot.is_null()).then_some(slot)
}

/// Reports `message` as the error of the running query.
///
/// SAFETY: `context` must be the context SQLite passed to the running callback.
unsafe fn report_error(context: *mut ffi::sqlite3_context, message: &str) {
    let length = c_int::try_from(message.len()).unwrap_or(c_int::MAX);
    // SAFETY: SQLite copies the message, whose length is given.
    unsafe { ffi::sqlite3_result_error(context, message.as_ptr().cast(), length) };
}

unsafe extern "C" fn step<F: BlobFold>(
    context: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    if argc != 1 {
        return;
    }
    // SAFETY: SQLite passes `argc` valid values. The blob pointer stays valid until the
    // next call on that value, and its length comes from the same value.
    let blob = unsafe {
        let value = *argv;
        if ffi::sqlite3_value_type(value) == ffi::SQLITE_NULL {
            return;
        }
        let data = ffi::sqlite3_value_blob(value).cast::<u8>();
        let length = usize::try_from(ffi::sqlite3_value_bytes(value)).unwrap_or(0);
        if data.is_null() || length == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(data, length)
        }
    };
    // SAFETY: called from within a step callback.
    let Some(slot) = (unsafe { state_slot::<F>(context, true) }) else {
        // SAFETY: as above.
        unsafe { ffi::sqlite3_result_error_nomem(context) };
        return;
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the slot is zeroed on the group's first step, and afterwards contains
        // the pointer of the Box this function leaked into it.
        let state = unsafe {
            if (*slot).is_null() {
                *slot = Box::into_raw(Box::<F>::default());
            }
            &mut **slot
        };
        state.step(blob)
    }));
    let message = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(message)) => message,
        Err(_) => "the aggregate panicked".to_owned(),
    };
    // SAFETY: called from within a step callback.
    unsafe { report_error(context, &message) };
}

unsafe extern "C" fn finish<F: BlobFold>(context: *mut ffi::sqlite3_context) {
    // SAFETY: called from within the final callback. A non-null slot contains null or
    // the Box that `step` leaked, and setting the slot to null here frees it only once.
    let state = unsafe {
        match state_slot::<F>(context, false) {
            Some(slot) if !(*slot).is_null() => {
                let state = Box::from_raw(*slot);
                *slot = std::ptr::null_mut();
                *state
            }
            _ => F::default(),
        }
    };
    let Ok(blob) = catch_unwind(AssertUnwindSafe(|| state.finish())) else {
        // SAFETY: called from within the final callback.
        unsafe { report_error(context, "the aggregate panicked") };
        return;
    };
    // SAFETY: SQLITE_TRANSIENT makes SQLite copy the bytes before `blob` drops.
    unsafe {
        ffi::sqlite3_result_blob64(
            context,
            blob.as_ptr().cast::<c_void>(),
            blob.len() as u64,
            ffi::SQLITE_TRANSIENT(),
        );
    }
}
