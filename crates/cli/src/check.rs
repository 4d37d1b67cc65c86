//! `ironban check` (not built yet).

use std::ffi::OsString;

pub fn main(_args: Vec<OsString>) -> i32 {
    eprintln!("ironban check: not implemented yet");
    2
}
