//! `ironban regex` (not built yet).

use std::ffi::OsString;

pub fn main(_args: Vec<OsString>) -> i32 {
    eprintln!("ironban regex: not implemented yet");
    2
}
