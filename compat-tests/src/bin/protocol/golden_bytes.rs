//! Parts (a), (b) and (f): the captured bytes as the oracle. Every captured
//! request and reply decodes to its captured repr; the captured requests
//! replayed against an ironban server get replies that real Python reads
//! as fail2ban's; that server's log is fail2ban's `server.log`.

use std::path::Path;

use ironban_compat_tests::Tally;
use ironban_config::Value;
use ironban_server::protocol::pickle;

use crate::capture::{norm_pid, norm_times, python_reprs, Case};
use crate::server::{replay, start_server};

/// Part (a): ironban's pickle reader on every captured request and reply.
pub(crate) fn decode(t: &mut Tally, cases: &[Case]) {
    for c in cases {
        let mut problems = Vec::new();
        for (b, want) in &c.requests {
            match pickle::loads(b) {
                Ok(v) if v.repr() == *want => {}
                Ok(v) => problems.push(format!("request decoded to {} not {want}", v.repr())),
                Err(e) => problems.push(format!("request not decoded: {e}")),
            }
        }
        for (b, want) in &c.replies {
            match pickle::loads_reply(b) {
                Ok(v) if v.repr() == *want => {}
                Ok(v) => problems.push(format!("reply decoded to {} not {want}", v.repr())),
                Err(e) => problems.push(format!("reply not decoded: {e}")),
            }
        }
        t.check(problems.is_empty(), || {
            format!("(a) {}: {}", c.name, problems.join("; "))
        });
    }
}

/// Part (b), then (f) on the log of the same run.
pub(crate) fn replay_captured(
    t: &mut Tally,
    dir: &Path,
    tmp: &Path,
    cases: &[Case],
    stream: &[Value],
) {
    let server = start_server(tmp, "b", stream);
    let mut ours: Vec<Vec<Vec<u8>>> = Vec::new();
    for c in cases {
        ours.push(replay(&server.sock, &c.c2s_raw, c.replies.len()));
    }
    server.wait();
    let flat: Vec<Vec<u8>> = ours.iter().flatten().cloned().collect();
    let mut reprs = python_reprs(&flat).into_iter();
    let mut exact = 0;
    let mut inexact = Vec::new();
    for (c, got) in cases.iter().zip(&ours) {
        let mut problems = Vec::new();
        if got.len() != c.replies.len() {
            problems.push(format!(
                "{} replies, expected {}",
                got.len(),
                c.replies.len()
            ));
        }
        let mut all_exact = got.len() == c.replies.len();
        for (g, (want_b, want)) in got.iter().zip(&c.replies) {
            let py = reprs.next().unwrap_or_default();
            if norm_times(&py) != norm_times(want) {
                problems.push(format!("python reads {py} not {want}"));
            }
            if g != want_b {
                all_exact = false;
            }
        }
        if all_exact {
            exact += 1;
        } else {
            inexact.push(c.name.as_str());
        }
        t.check(problems.is_empty(), || {
            format!("(b) {}: {}", c.name, problems.join("; "))
        });
    }
    server_log(t, dir, &tmp.join("b.log"));
    println!(
        "protocol: (b) {exact} of {} replies byte-identical to fail2ban's (not: {})",
        cases.len(),
        inexact.join(", ")
    );
}

/// Loggers whose lines come from parts not wired to the jails yet.
const UNWIRED_LOGGERS: &[&str] = &["fail2ban.observer", "fail2ban.database"];

/// Part (f): see the module doc.
fn server_log(t: &mut Tally, dir: &Path, ours: &Path) {
    let keep = |l: &&str| {
        !UNWIRED_LOGGERS
            .iter()
            .any(|u| l.starts_with(&format!("{u} ")))
    };
    let golden = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let want: Vec<&str> = golden.lines().filter(keep).collect();
    let text = std::fs::read_to_string(ours).unwrap_or_default();
    let norm: Vec<String> = text
        .lines()
        .map(|l| {
            // Drop "YYYY-mm-dd HH:MM:SS,mmm ".
            let l = if l.len() > 24 && l.as_bytes()[4] == b'-' {
                &l[24..]
            } else {
                l
            };
            norm_pid(l)
                .replace("/tmp/golden/proto", "@PROTODIR@")
                .replace("/tmp/golden/logs", "@LOGDIR@")
        })
        .collect();
    let got: Vec<&str> = norm.iter().map(String::as_str).filter(keep).collect();
    let first_diff = want.iter().zip(&got).position(|(a, b)| a != b);
    t.check(want == got, || {
        let at = first_diff.unwrap_or(want.len().min(got.len()));
        format!(
            "(f) server log differs at line {}: fail2ban {:?}, ironban {:?}",
            at + 1,
            want.get(at),
            got.get(at)
        )
    });
}
