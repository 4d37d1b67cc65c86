//! `ironban server` (not built yet).

use std::ffi::OsString;

pub fn main(_args: Vec<OsString>) -> i32 {
    eprintln!("ironban server: not implemented yet");
    2
}
