//! `ironban client`, also `fail2ban-client`.
//!
//! Only `-d`/`--dp` (dump the configuration stream) exists so far; the socket
//! client comes with the server (issue #5).

use std::ffi::OsString;
use std::path::PathBuf;

pub fn main(args: Vec<OsString>) -> i32 {
    let mut confdir = PathBuf::from("/etc/fail2ban");
    let mut mode = None;
    let mut it = args.into_iter().skip(1);
    while let Some(a) = it.next() {
        match a.to_string_lossy().as_ref() {
            "-c" | "--conf" => match it.next() {
                Some(d) => confdir = PathBuf::from(d),
                None => {
                    eprintln!("ERROR: option -c requires an argument");
                    return 255;
                }
            },
            "-d" => mode = Some(false),
            "--dp" | "--dump-pretty" => mode = Some(true),
            other => {
                eprintln!("ironban client: '{other}' is not supported yet");
                return 255;
            }
        }
    }
    match mode {
        Some(pretty) => crate::dump::run(&confdir, pretty),
        None => {
            eprintln!("ironban client: only -d is supported yet");
            255
        }
    }
}
