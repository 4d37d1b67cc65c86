//! libsystemd's `sd_journal_*` functions, loaded with `dlopen(3)` the first
//! time a journal is opened.
//!
//! Linking libsystemd put it and its dependencies (libgcrypt, libgpg-error,
//! liblzma, libzstd, liblz4, libcap) into every ironban process, client and
//! `regex` runs included: ~0.8 MB of resident memory for a backend most
//! jails never use (docs/dependencies.md). Loaded on demand, a server
//! without a `backend = systemd` jail maps none of it, and a machine without
//! libsystemd gets an error naming the library instead of a binary that does
//! not start.
//!
//! Only the few functions the reader calls are bound; their signatures are
//! those of `sd-journal.h` (stable ABI of `libsystemd.so.0`).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

use super::JournalError;

/// The library's stable soname (what linking with `-lsystemd` records).
const SONAME: &str = "libsystemd.so.0";

/// `sd_journal *`: opaque.
pub type Journal = *mut c_void;

/// The bound functions.
#[allow(clippy::type_complexity)]
pub struct Sd {
    pub open: unsafe extern "C" fn(*mut Journal, c_int) -> c_int,
    pub open_files: unsafe extern "C" fn(*mut Journal, *const *const c_char, c_int) -> c_int,
    pub open_directory: unsafe extern "C" fn(*mut Journal, *const c_char, c_int) -> c_int,
    pub close: unsafe extern "C" fn(Journal),
    pub add_match: unsafe extern "C" fn(Journal, *const c_void, usize) -> c_int,
    pub add_disjunction: unsafe extern "C" fn(Journal) -> c_int,
    pub seek_realtime_usec: unsafe extern "C" fn(Journal, u64) -> c_int,
    pub seek_tail: unsafe extern "C" fn(Journal) -> c_int,
    pub seek_cursor: unsafe extern "C" fn(Journal, *const c_char) -> c_int,
    pub test_cursor: unsafe extern "C" fn(Journal, *const c_char) -> c_int,
    pub next: unsafe extern "C" fn(Journal) -> c_int,
    pub previous: unsafe extern "C" fn(Journal) -> c_int,
    pub restart_data: unsafe extern "C" fn(Journal),
    pub enumerate_data: unsafe extern "C" fn(Journal, *mut *const c_void, *mut usize) -> c_int,
    pub get_realtime_usec: unsafe extern "C" fn(Journal, *mut u64) -> c_int,
    /// The last argument is an `sd_id128_t *` (16 bytes), may be NULL.
    pub get_monotonic_usec: unsafe extern "C" fn(Journal, *mut u64, *mut [u8; 16]) -> c_int,
    pub get_cursor: unsafe extern "C" fn(Journal, *mut *mut c_char) -> c_int,
    pub wait: unsafe extern "C" fn(Journal, u64) -> c_int,
}

/// libsystemd, loaded once per process; the error says why it is missing.
pub fn get() -> Result<&'static Sd, JournalError> {
    static LIB: OnceLock<Result<Sd, String>> = OnceLock::new();
    LIB.get_or_init(|| load(SONAME))
        .as_ref()
        .map_err(|e| JournalError::Load(e.clone()))
}

/// Loads `soname` and binds every function; the error names the library
/// and what is missing.
// The transmute's target type is the `Sd` field it initialises.
#[allow(clippy::missing_transmute_annotations)]
pub(super) fn load(soname: &str) -> Result<Sd, String> {
    let name = CString::new(soname).map_err(|_| format!("bad library name {soname:?}"))?;
    // SAFETY: dlopen with a valid C string; the handle is never closed, so
    // the symbols below stay valid for the life of the process.
    let h = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if h.is_null() {
        return Err(format!("cannot load {soname}: {}", dl_error()));
    }
    macro_rules! sym {
        ($name:literal) => {{
            let s = concat!($name, "\0");
            // SAFETY: `s` is NUL-terminated; a non-null result is the address
            // of the function named, whose C signature the field's type is.
            let p = unsafe { libc::dlsym(h, s.as_ptr().cast()) };
            if p.is_null() {
                return Err(format!("{soname} has no {}: {}", $name, dl_error()));
            }
            // SAFETY: see above; fn pointers and data pointers have the same size here.
            unsafe { std::mem::transmute::<*mut c_void, _>(p) }
        }};
    }
    Ok(Sd {
        open: sym!("sd_journal_open"),
        open_files: sym!("sd_journal_open_files"),
        open_directory: sym!("sd_journal_open_directory"),
        close: sym!("sd_journal_close"),
        add_match: sym!("sd_journal_add_match"),
        add_disjunction: sym!("sd_journal_add_disjunction"),
        seek_realtime_usec: sym!("sd_journal_seek_realtime_usec"),
        seek_tail: sym!("sd_journal_seek_tail"),
        seek_cursor: sym!("sd_journal_seek_cursor"),
        test_cursor: sym!("sd_journal_test_cursor"),
        next: sym!("sd_journal_next"),
        previous: sym!("sd_journal_previous"),
        restart_data: sym!("sd_journal_restart_data"),
        enumerate_data: sym!("sd_journal_enumerate_data"),
        get_realtime_usec: sym!("sd_journal_get_realtime_usec"),
        get_monotonic_usec: sym!("sd_journal_get_monotonic_usec"),
        get_cursor: sym!("sd_journal_get_cursor"),
        wait: sym!("sd_journal_wait"),
    })
}

fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string owned by libc.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".to_string()
    } else {
        // SAFETY: non-null, NUL-terminated (above).
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

/// A libsystemd return value: negative is `-errno`.
pub fn check(r: c_int) -> std::io::Result<c_int> {
    if r < 0 {
        Err(std::io::Error::from_raw_os_error(-r))
    } else {
        Ok(r)
    }
}
