//! Debug aid: `cargo run -p ironban-filter --example trace -- <golden filter> [mode] < lines`
//! prints the date split and the failures of each line, using the raw
//! regexes from `../shared/golden/failregex-expanded/<filter>.json`.

use std::io::BufRead;

use ironban_filter::{Filter, FilterOptions};

fn main() {
    std::env::set_var("TZ", "CET-01CEST-02,M3.5.0,M10.5.0");
    let args: Vec<String> = std::env::args().collect();
    let name = &args[1];
    let variant = args.get(2).cloned().unwrap_or_else(|| "(default)".into());
    let path = format!(
        "{}/../../../shared/golden/failregex-expanded/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = &j["variants"][&variant];
    let mut o = FilterOptions {
        now: Some(1124013600.0),
        return_raw_host: true,
        check_all_regex: true,
        ..FilterOptions::default()
    };
    for c in v["stream"].as_array().unwrap() {
        let c = c.as_array().unwrap();
        let vals: Vec<String> = if c[0] == "multi-set" {
            c[3].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        } else {
            vec![c[3]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| c[3].to_string())]
        };
        match c[2].as_str().unwrap() {
            "prefregex" => o.prefregex = Some(vals[0].clone()),
            "addfailregex" => o.failregex.extend(vals),
            "addignoreregex" => o.ignoreregex.extend(vals),
            "maxlines" => o.maxlines = vals[0].parse().unwrap(),
            "datepattern" => o.datepattern = Some(vals[0].clone()),
            _ => {}
        }
    }
    let mut f = Filter::new(o).unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let r = f.process_line(&line);
        println!("buffer: {:?}", f.line_buffer());
        println!("pref: {:?}", f.last_line_info());
        for x in r {
            println!(
                "  fail: idx={} id={:?} time={:?} groups={:?}",
                x.regex_index,
                x.id.map(|i| i.to_string()),
                x.time,
                x.data.groups
            );
        }
    }
}
