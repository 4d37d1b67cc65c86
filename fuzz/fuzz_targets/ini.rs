//! The INI reader and `%(x)s` / `<tag>` interpolation on one file's text:
//! parse, then read every option of every section with `get` and `get_ex`
//! (fail2ban: `configparserinc.py`), then resolve the section's `<tag>`s
//! (`substituteRecursiveTags`). Any result is fine; a panic is a crash.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use ironban_config::include::ConfigParser;
use ironban_config::interpolate::{substitute_recursive_tags, Vars};
use ironban_config::omap::OMap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(ini) = ironban_config::ini::parse(Arc::new(PathBuf::from("fuzz.conf")), &text) else {
        return;
    };
    let cp = ConfigParser::from_file(&ini);
    let mut vars = Vars::new();
    vars.insert("__name__", "fuzz".to_string());
    let names: Vec<String> = cp.sections.keys().map(str::to_string).collect();
    for sect in names.iter().map(String::as_str).chain(["DEFAULT"]) {
        let opts: Vec<String> = match cp.sections.get(sect) {
            Some(s) => s.keys().map(str::to_string).collect(),
            None => cp.defaults.keys().map(str::to_string).collect(),
        };
        let mut resolved: OMap<Option<String>> = OMap::new();
        for opt in &opts {
            let v = cp.get(sect, opt, &vars).ok();
            let _ = cp.get_ex(sect, opt, &vars);
            let _ = cp.get_raw(sect, opt);
            resolved.insert(opt.as_str(), v);
        }
        let _ = substitute_recursive_tags(&resolved, &["ip".to_string()], |t| {
            Ok((t == "br").then(|| "\n".to_string()))
        });
    }
});
