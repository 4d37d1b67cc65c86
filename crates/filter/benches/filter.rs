//! Criterion micro-benchmarks of ironban-filter, through its public API
//! only (`Filter::new(FilterOptions)` and `Filter::process_line`, what
//! `ironban regex` and the server call), so the engine's internals can change
//! under them. The stock filters come from the repo's `config/filter.d`.
//!
//! `cargo bench -p ironban-filter --bench filter` (see bench/README.md).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ironban_filter::{Filter, FilterOptions};

/// A fixed "now" in 2026, so year inference does not depend on the clock.
const NOW: f64 = 1_795_000_000.0;

const SYSLOG_LINE: &str =
    "Nov 25 15:04:05 host CRON[7771]: (root) CMD (run-parts --report /etc/cron.hourly)";
const SSHD_FAILURE: &str = "Nov 25 15:04:05 host sshd[4242]: Failed password for invalid user admin from 192.0.2.17 port 50022 ssh2";
const SSHD_OTHER: &str = "Nov 25 15:04:05 host sshd[4242]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)";

/// The stock filter `name` as fail2ban streams it (no jail options).
fn stock(name: &str, args: &[(&str, &str)]) -> FilterOptions {
    let confdir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let args: Vec<(String, String)> = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let def = ironban_config::read_filter(&confdir, name, &args, &[])
        .unwrap_or_else(|e| panic!("config/filter.d/{name}: {e}"));
    FilterOptions {
        prefregex: def.prefregex,
        failregex: def.failregex,
        ignoreregex: def.ignoreregex,
        maxlines: def.maxlines.unwrap_or(1),
        datepattern: def.datepattern,
        now: Some(NOW),
        ..FilterOptions::default()
    }
}

fn filter(opts: FilterOptions) -> Filter {
    Filter::new(opts).expect("filter builds")
}

/// Failures of a line, not counting `<F-NOFAIL>` matches.
fn failures(f: &mut Filter, line: &str) -> usize {
    f.process_line(line)
        .iter()
        .filter(|x| !x.is_nofail())
        .count()
}

/// Date detection: a filter whose only failregex fails at its first
/// character, so the cost of a line is finding and cutting its date.
fn date_detection(c: &mut Criterion) {
    let mut g = c.benchmark_group("date");
    g.throughput(Throughput::Elements(1));
    let never = || FilterOptions {
        failregex: vec!["^\u{1}<HOST>".to_string()],
        now: Some(NOW),
        ..FilterOptions::default()
    };
    let mut f = filter(never());
    g.bench_function("syslog line, default templates", |b| {
        b.iter(|| black_box(f.process_line(black_box(SYSLOG_LINE))))
    });
    let mut f = filter(FilterOptions {
        datepattern: Some("{^LN-BEG}%b %d %H:%M:%S".to_string()),
        ..never()
    });
    g.bench_function("syslog line, datepattern", |b| {
        b.iter(|| black_box(f.process_line(black_box(SYSLOG_LINE))))
    });
    g.finish();
}

/// prefregex + failregex of the stock sshd filter on one line.
fn sshd_lines(c: &mut Criterion) {
    let mut g = c.benchmark_group("sshd");
    g.throughput(Throughput::Elements(1));
    let mut f = filter(stock("sshd", &[]));
    assert_eq!(failures(&mut f, SSHD_FAILURE), 1, "the failure line fails");
    assert_eq!(failures(&mut f, SSHD_OTHER), 0, "the other line does not");
    g.bench_function("failure line", |b| {
        b.iter(|| black_box(f.process_line(black_box(SSHD_FAILURE))))
    });
    g.bench_function("non-failure line", |b| {
        b.iter(|| black_box(f.process_line(black_box(SSHD_OTHER))))
    });
    let mut f = filter(stock("sshd", &[("mode", "aggressive")]));
    g.bench_function("non-failure line, mode=aggressive", |b| {
        b.iter(|| black_box(f.process_line(black_box(SSHD_OTHER))))
    });
    g.finish();
}

/// A small sample: 100 lines, one in five a failure, through a whole Filter.
fn sample(c: &mut Criterion) {
    let mut lines = Vec::new();
    for i in 0..100u32 {
        let (a, b) = (i / 250 % 250 + 1, i % 250 + 1);
        let pid = 1000 + i;
        lines.push(match i % 5 {
            0 => format!("Nov 25 15:{:02}:{:02} host sshd[{pid}]: Failed password for root from 203.0.{a}.{b} port 4{i:04} ssh2", i / 60, i % 60),
            1 => format!("Nov 25 15:{:02}:{:02} host sshd[{pid}]: Connection closed by 203.0.{a}.{b} port 4{i:04} [preauth]", i / 60, i % 60),
            2 => format!("Nov 25 15:{:02}:{:02} host sshd[{pid}]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)", i / 60, i % 60),
            3 => format!("Nov 25 15:{:02}:{:02} host sshd[{pid}]: Accepted publickey for deploy from 198.51.100.{b} port 5{i:04} ssh2: ED25519 SHA256:Zm9v", i / 60, i % 60),
            _ => format!("Nov 25 15:{:02}:{:02} host sshd[{pid}]: Received disconnect from 198.51.100.{b} port 5{i:04}:11: disconnected by user", i / 60, i % 60),
        });
    }
    let mut g = c.benchmark_group("sample");
    g.throughput(Throughput::Elements(lines.len() as u64));
    let mut f = filter(stock("sshd", &[]));
    let n: usize = lines.iter().map(|l| failures(&mut f, l)).sum();
    assert_eq!(n, 20, "one line in five is a failure");
    g.bench_function("sshd, 100 lines", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(f.process_line(black_box(l)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, date_detection, sshd_lines, sample);
criterion_main!(benches);
