use std::time::{Duration, Instant};

use super::*;
use crate::error::Error;

fn sh(s: &str) -> ShellCommand {
    ShellCommand {
        script: s.to_string(),
        vars: Vec::new(),
    }
}

#[test]
fn output_exit_codes_and_timeouts() {
    let t = Duration::from_secs(5);
    let out = run(&sh("echo hi; echo err >&2"), t).unwrap();
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("hi\n", "err\n")
    );
    let e = run(&sh("echo bad >&2; exit 3"), t).unwrap_err().to_string();
    assert!(e.contains("exit status 3") && e.contains("bad"), "{e}");
    let (code, out) = run_code(&sh("echo no >&2; exit 1"), t).unwrap();
    assert_eq!((code, out.stderr.as_str()), (Ok(1), "no\n"));
    let (code, _) = run_code(&sh("kill -9 $$"), t).unwrap();
    assert_eq!(code, Err("signal 9".to_string()));
    let start = Instant::now();
    let e = run(&sh("sleep 5"), Duration::from_millis(300)).unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(start.elapsed() < Duration::from_secs(2));
    let vars = ShellCommand {
        script: "echo \"$0-$1\"".into(),
        vars: vec![("a".into(), "x y".into()), ("b".into(), "z".into())],
    };
    assert_eq!(run(&vars, t).unwrap().stdout, "x y-z\n");
}

/// The timeout kills the whole group, not only the shell: a grandchild
/// that would write a file later never gets to.
#[test]
fn a_timeout_kills_the_process_group() {
    let dir = std::env::temp_dir().join(format!("ironban-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mark = dir.join("mark");
    let script = format!("(sleep 1; touch '{}') & sleep 5", mark.display());
    let e = run(&sh(&script), Duration::from_millis(200)).unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!mark.exists(), "the grandchild survived the timeout");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Output larger than a pipe buffer (64 KiB) on both streams at once is
/// read fully, without a deadlock.
#[test]
fn large_output_is_read_fully() {
    let script =
        "head -c 300000 /dev/zero | tr '\\0' a; head -c 200000 /dev/zero | tr '\\0' b >&2; \
                  head -c 100000 /dev/zero | tr '\\0' c";
    let out = run(&sh(script), Duration::from_secs(10)).unwrap();
    assert_eq!(out.stdout.len(), 400_000);
    assert!(out.stdout[..300_000].bytes().all(|b| b == b'a'));
    assert!(out.stdout[300_000..].bytes().all(|b| b == b'c'));
    assert_eq!(out.stderr.len(), 200_000);
    assert!(out.stderr.bytes().all(|b| b == b'b'));
}

#[test]
fn a_missing_program_is_the_shells_exit_127() {
    let e = run(&sh("/nonexistent/ironban-x"), Duration::from_secs(5)).unwrap_err();
    assert!(
        matches!(&e, Error::Command { status, .. } if status == "exit status 127"),
        "{e}"
    );
}

/// A child left in the background holding stdout: the command still
/// ends when the shell exits (after a short grace), not with the child.
#[test]
fn a_background_child_does_not_stall_the_jail() {
    let start = Instant::now();
    let out = run(&sh("sleep 3 & echo done"), Duration::from_secs(10)).unwrap();
    assert_eq!(out.stdout, "done\n");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

/// The common case costs no polling interval: a quick command returns
/// as soon as the shell is done.
#[test]
fn a_quick_command_returns_quickly() {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        run(&sh("true"), Duration::from_secs(5)).unwrap();
        best = best.min(start.elapsed());
    }
    assert!(best < Duration::from_millis(50), "{best:?}");
}

fn execution(cmd: &ShellCommand) -> Execution<'_> {
    Execution {
        jail: "j",
        action: "a",
        op: Op::Ban,
        conditional: "",
        cmd,
        timeout: Duration::from_secs(5),
    }
}

/// [`ShellExecutor`] keeps fail2ban's `_cmd_lock` (two commands from two
/// threads run one after the other); [`JailShell`] does not.
#[test]
fn shell_executor_serialises_and_jail_shell_does_not() {
    fn two_at_once(exec: impl Executor + Copy + Send + 'static) -> Duration {
        let start = Instant::now();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let mut exec = exec;
                std::thread::spawn(move || {
                    let cmd = sh("sleep 0.4");
                    assert!(exec.execute(&execution(&cmd)));
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        start.elapsed()
    }
    let locked = two_at_once(ShellExecutor);
    assert!(locked >= Duration::from_millis(800), "{locked:?}");
    let free = two_at_once(JailShell);
    assert!(free < Duration::from_millis(750), "{free:?}");
}

#[test]
fn executors_report_failure_and_skip_empty_commands() {
    for mut exec in [
        Box::new(ShellExecutor) as Box<dyn Executor>,
        Box::new(JailShell),
    ] {
        assert!(exec.execute(&execution(&sh("exit 0"))));
        assert!(!exec.execute(&execution(&sh("exit 2"))));
        assert!(exec.execute(&execution(&sh(""))));
    }
}
