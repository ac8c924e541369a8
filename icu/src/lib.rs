//! DuckDB's ICU extension, compiled into the binary (see `build.rs`): time zones, calendars
//! and ICU collations for every database mallard opens.

use libduckdb_sys::duckdb_database;
use std::ffi::{c_char, CStr};

extern "C" {
    /// Defined in `src/load.cpp`. Returns null on success, or a `malloc`ed message.
    fn mallard_icu_load(database: duckdb_database) -> *mut c_char;
}

/// Loads ICU into `database`; loading it twice is a no-op.
///
/// # Safety
/// `database` must be an open database handle from `duckdb_open`/`duckdb_open_ext` that is
/// not closed while this runs.
pub unsafe fn load(database: duckdb_database) -> Result<(), String> {
    // SAFETY: the caller guarantees an open database handle, which is what the shim reads.
    let message = unsafe { mallard_icu_load(database) };
    if message.is_null() {
        return Ok(());
    }
    // SAFETY: a non-null answer is a NUL-terminated string from strdup, read once here
    // and then released with free, as strdup requires.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned();
    // SAFETY: see above; the pointer is not used after this.
    unsafe { libc::free(message.cast()) };
    Err(text)
}
