//! Abuse of the command socket of a real `ironban server` process (started
//! with `ironban server -f -x -s SOCK -p PID -c CONFDIR` on a tiny config
//! with no jails). Checks, each printing its figure:
//!
//! * the socket is mode 0600 and owned by the server's user;
//! * another user (`nobody`, via `setpriv`) cannot connect;
//! * frames of 0 bytes, 100 MB, random bytes, a half frame left hanging,
//!   and pickles that GLOBAL/REDUCE `os.system` (every protocol, crafted by
//!   Python's own `pickle`) are refused: no file is created and the server
//!   answers `ping` afterwards, on the same connection where it kept it;
//! * 1000 clients connected at once all get `pong`.
//!
//! Real fail2ban unpickles requests with plain `pickle.loads`
//! (`asyncserver.py`), so there the socket mode is the only guard against
//! such a pickle; ironban must hold without relying on it.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::start;
use ironban_config::Value;
use ironban_server::protocol::frame::{self, END};
use ironban_server::protocol::obj::Obj;
use ironban_server::protocol::pickle::{dumps, loads_reply};

fn connect(sock: &Path) -> UnixStream {
    let s = UnixStream::connect(sock).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Reads one reply frame; `None` when the server closed the connection.
fn read_reply(s: &mut UnixStream) -> Option<Obj> {
    let mut msg = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        msg.extend_from_slice(&buf[..n]);
        if let Some(at) = frame::find(&msg, END) {
            msg.truncate(at);
            return loads_reply(&msg).ok();
        }
    }
}

fn ping_bytes() -> Vec<u8> {
    frame::encode(&dumps(&Obj::from(Value::List(vec![Value::str("ping")]))))
}

fn is_pong(o: &Option<Obj>) -> bool {
    o.as_ref().is_some_and(|o| o.repr() == "(0, 'pong')")
}

/// `ping` on `s`.
fn ping_on(s: &mut UnixStream) -> bool {
    s.write_all(&ping_bytes()).is_ok() && is_pong(&read_reply(s))
}

/// `ping` on a new connection.
fn ping(sock: &Path) -> bool {
    ping_on(&mut connect(sock))
}

fn vm_hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Python pickles, every protocol, whose loading would run
/// `os.system("touch MARKER")` (and a few cousins).
fn evil_pickles(marker: &Path) -> Vec<(String, Vec<u8>)> {
    let script = format!(
        r#"
import os, sys, pickle, subprocess, builtins
m = {marker:?}
class Sys:
    def __reduce__(self): return (os.system, ("touch " + m,))
class Popen:
    def __reduce__(self): return (subprocess.Popen, (["touch", m],))
class Eval:
    def __reduce__(self): return (builtins.eval, ("__import__('os').system('touch %s')" % m,))
out = []
for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
    for name, obj in (("os.system", Sys()), ("subprocess.Popen", Popen()), ("eval", Eval()),
                      ("list[os.system]", ["set", "j", "banip", Sys()])):
        out.append("%s/p%d %s" % (name, proto, pickle.dumps(obj, protocol=proto).hex()))
# Hand-written protocol-0 GLOBAL + REDUCE, as an attacker would type it.
out.append("GLOBAL-REDUCE/raw " + ("cos\nsystem\n(Vtouch " + m + "\ntR.").encode().hex())
out.append("INST/raw " + ("(Vtouch " + m + "\nios\nsystem\n.").encode().hex())
print("\n".join(out))
"#,
        marker = marker.display().to_string()
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3 is needed to craft the pickles");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, hex) = l.split_once(' ')?;
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()?;
            Some((name.to_string(), bytes))
        })
        .collect()
}

#[test]
fn socket_abuse() {
    let srv = start();
    let sock = srv.sock.clone();
    let pid = srv.child.id();
    let mut failed = Vec::new();
    let mut check = |name: &str, ok: bool, figure: String| {
        println!(
            "hostile_socket: {name}: {figure} -> {}",
            if ok { "ok" } else { "FAIL" }
        );
        if !ok {
            failed.push(name.to_string());
        }
    };

    // Mode and owner.
    let md = std::fs::metadata(&sock).unwrap();
    let mode = md.permissions().mode() & 0o7777;
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    check(
        "socket mode/owner",
        mode == 0o600 && md.uid() == euid,
        format!("mode {mode:o}, uid {} (server uid {euid})", md.uid()),
    );

    // Another user.
    if euid == 0 {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c"])
            .arg(format!(
                "import socket\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect({:?}); print('CONNECTED')\nexcept OSError as e: print('REFUSED', e.errno)",
                sock.display().to_string()
            ))
            .output()
            .expect("setpriv");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        // errno 13: EACCES from the socket's mode.
        check("user nobody connects", text == "REFUSED 13", text);
    } else {
        check(
            "user nobody connects",
            false,
            "not run: the test needs root to switch user".into(),
        );
    }

    // 0 bytes: connect and close; an empty frame.
    drop(connect(&sock));
    let mut s = connect(&sock);
    s.write_all(END).unwrap();
    let r = read_reply(&mut s);
    let same = ping_on(&mut s);
    check(
        "0-byte frame",
        !is_pong(&r) && r.is_some() && same,
        format!(
            "reply {:?}, same connection pings: {same}",
            r.map(|o| o.repr())
        ),
    );

    // Random bytes (xorshift; END cannot occur: '<' is masked out).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..1_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = (x >> 24) as u8;
            if b == b'<' {
                0
            } else {
                b
            }
        })
        .collect();
    let mut s = connect(&sock);
    s.write_all(&random).unwrap();
    s.write_all(END).unwrap();
    let r = read_reply(&mut s);
    let same = ping_on(&mut s);
    check(
        "1 MB random frame",
        r.is_some() && !is_pong(&r) && same,
        format!(
            "reply {:?}, same connection pings: {same}",
            r.map(|o| o.repr())
                .map(|s| s.chars().take(80).collect::<String>())
        ),
    );

    // A half frame left hanging while others are served.
    let mut hanging = connect(&sock);
    hanging.write_all(&ping_bytes()[..5]).unwrap();
    check(
        "half frame left open",
        ping(&sock),
        "others still served".into(),
    );

    // 100 MB without a terminator.
    let t0 = Instant::now();
    let mut s = connect(&sock);
    let chunk = vec![b'A'; 1 << 20];
    let mut sent = 0usize;
    for _ in 0..100 {
        match s.write_all(&chunk) {
            Ok(()) => sent += chunk.len(),
            Err(_) => break,
        }
    }
    let _ = s.write_all(END);
    let r = read_reply(&mut s);
    let hwm = vm_hwm_kb(pid);
    let alive = ping(&sock);
    check(
        "100 MB frame",
        alive && !is_pong(&r) && hwm < 512 * 1024,
        format!(
            "client wrote {} MB in {:?}, reply {:?}, server peak RSS {} MB",
            sent >> 20,
            t0.elapsed(),
            r.map(|o| o.repr())
                .map(|s| s.chars().take(60).collect::<String>()),
            hwm / 1024
        ),
    );
    drop(hanging);

    // Pickles that would run code.
    let marker = srv.dir.path().join("pwned");
    let evil = evil_pickles(&marker);
    let mut refused = 0;
    let mut pinged = 0;
    for (name, p) in &evil {
        let mut s = connect(&sock);
        s.write_all(&frame::encode(p)).unwrap();
        let r = read_reply(&mut s);
        let ok = r.as_ref().is_some_and(|o| {
            let t = o.repr();
            !t.starts_with("(0,") && t.contains("refused")
        });
        if ok {
            refused += 1;
        } else {
            println!("  {name}: {:?}", r.map(|o| o.repr()));
        }
        if ping_on(&mut s) {
            pinged += 1;
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    let pwned = marker.exists() || Path::new("/tmp/pwned").exists();
    check(
        "os.system pickles",
        refused == evil.len() && pinged == evil.len() && !pwned,
        format!(
            "{refused}/{} refused, server answered ping after {pinged}, marker file {}",
            evil.len(),
            if pwned { "CREATED" } else { "absent" }
        ),
    );

    // 1000 clients at once.
    let n = 1000;
    let t0 = Instant::now();
    let mut conns: Vec<UnixStream> = (0..n).map(|_| connect(&sock)).collect();
    let connected = t0.elapsed();
    let req = ping_bytes();
    for c in &mut conns {
        c.write_all(&req).unwrap();
    }
    let mut pongs = 0;
    for c in &mut conns {
        if is_pong(&read_reply(c)) {
            pongs += 1;
        }
    }
    let total = t0.elapsed();
    drop(conns);
    check(
        "1000 clients at once",
        pongs == n && total < Duration::from_secs(30),
        format!("{pongs}/{n} pong, all connected in {connected:?}, all answered in {total:?}"),
    );

    check(
        "still serving at the end",
        ping(&sock),
        format!("server peak RSS {} MB", vm_hwm_kb(pid) / 1024),
    );
    let _ = Command::new(env!("CARGO_BIN_EXE_ironban"))
        .args(["client", "-s"])
        .arg(&sock)
        .arg("stop")
        .output();
    println!("hostile_socket: {} failed: {failed:?}", failed.len());
    assert!(failed.is_empty(), "{failed:?}");
}
