//! Server integration tests: a real server on a temp socket, raw bytes on
//! the wire (as mini-redis's tests speak raw RESP), and real Python as the
//! oracle for what the writer produces.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ironban_config::Value;
use ironban_server::log::Logger;
use ironban_server::protocol::asyncserver::ListenOpts;
use ironban_server::protocol::frame::{self, END};
use ironban_server::protocol::pickle::{self, dumps, loads_reply};
use ironban_server::protocol::{Obj, PyException};
use ironban_server::Server;

struct TestServer {
    _dir: tempfile::TempDir,
    sock: PathBuf,
    pid: PathBuf,
    thread: Option<std::thread::JoinHandle<Result<(), ironban_server::Error>>>,
}

fn start(dir: tempfile::TempDir, force: bool) -> TestServer {
    let sock = dir.path().join("f2b.sock");
    let pid = dir.path().join("f2b.pid");
    let srv = Arc::new(Mutex::new(Server::new(Arc::new(Logger::off()))));
    let opts = ListenOpts {
        socket: sock.clone(),
        pidfile: Some(pid.clone()),
        force,
        systemd: false,
    };
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(ironban_server::run(opts, srv, std::future::pending()))
    });
    for _ in 0..500 {
        if pid.exists() || thread.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    TestServer {
        _dir: dir,
        sock,
        pid,
        thread: Some(thread),
    }
}

fn connect(sock: &Path) -> UnixStream {
    let s = UnixStream::connect(sock).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

fn read_reply(s: &mut UnixStream) -> Option<Obj> {
    read_replies(s, 1).pop()
}

/// Reads `n` reply frames (several may arrive in one read).
fn read_replies(s: &mut UnixStream, n: usize) -> Vec<Obj> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 65536];
    while out.len() < n {
        while let Some(at) = frame::find(&buf, END) {
            if let Ok(o) = loads_reply(&buf[..at]) {
                out.push(o);
            }
            buf.drain(..at + END.len());
        }
        if out.len() >= n {
            break;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
        }
    }
    out
}

fn send_raw(s: &mut UnixStream, payload: &[u8]) -> Option<Obj> {
    s.write_all(&frame::encode(payload)).ok()?;
    read_reply(s)
}

fn request(words: &[&str]) -> Vec<u8> {
    dumps(&Obj::List(words.iter().map(|w| Obj::from(*w)).collect()))
}

fn ping_ok(sock: &Path) -> bool {
    let mut s = connect(sock);
    send_raw(&mut s, &request(&["ping"])).map(|r| r.repr()) == Some("(0, 'pong')".into())
}

#[test]
fn malformed_frames_are_refused_and_the_server_keeps_serving() {
    let t = start(tempfile::tempdir().expect("tempdir"), false);
    let mut s = connect(&t.sock);
    // Empty message, random bytes: fail2ban's bare "ERROR: ..." string.
    for bad in [&b""[..], &b"\x13\x37garbage\xff"[..]] {
        match send_raw(&mut s, bad) {
            Some(Obj::Str(m)) => assert!(m.starts_with("ERROR: "), "{m}"),
            other => panic!("expected an ERROR string, got {other:?}"),
        }
    }
    // The same connection still works.
    assert_eq!(
        send_raw(&mut s, &request(&["ping"])).map(|r| r.repr()),
        Some("(0, 'pong')".to_string())
    );
    // A pickle that would run os.system when loaded by Python.
    let marker = t.sock.with_file_name("pwned");
    let cmd = format!("touch {}", marker.display());
    let mut evil = b"\x80\x02cposix\nsystem\nq\x00X".to_vec();
    evil.extend_from_slice(&(cmd.len() as u32).to_le_bytes());
    evil.extend_from_slice(cmd.as_bytes());
    evil.extend_from_slice(b"q\x01\x85q\x02Rq\x03.");
    match send_raw(&mut s, &evil) {
        Some(Obj::Str(m)) => assert!(m.contains("refused pickle opcode GLOBAL"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!marker.exists(), "the pickle must not run anything");
    // A client that vanishes mid-message does not disturb others.
    {
        let mut half = connect(&t.sock);
        let r = request(&["status"]);
        half.write_all(&r[..r.len() / 2]).expect("write");
    }
    assert!(ping_ok(&t.sock));
    stop(t);
}

#[test]
fn oversized_frame_gets_an_error_and_a_closed_connection() {
    let t = start(tempfile::tempdir().expect("tempdir"), false);
    let mut s = connect(&t.sock);
    let big = vec![b'x'; frame::MAX_FRAME + 4096];
    let writer = {
        let mut w = s.try_clone().expect("clone");
        std::thread::spawn(move || {
            let _ = w.write_all(&big);
        })
    };
    match read_reply(&mut s) {
        Some(Obj::Str(m)) => assert!(m.starts_with("ERROR: "), "{m}"),
        other => panic!("expected an ERROR string, got {other:?}"),
    }
    let _ = writer.join();
    assert!(ping_ok(&t.sock));
    stop(t);
}

#[test]
fn many_connections_at_once() {
    let t = start(tempfile::tempdir().expect("tempdir"), false);
    let sock = t.sock.clone();
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let sock = sock.clone();
            std::thread::spawn(move || ping_ok(&sock))
        })
        .collect();
    let ok = handles
        .into_iter()
        .map(|h| h.join().unwrap_or(false))
        .filter(|ok| *ok)
        .count();
    assert_eq!(ok, 200);
    stop(t);
}

#[test]
fn several_commands_on_one_connection_then_close() {
    let t = start(tempfile::tempdir().expect("tempdir"), false);
    let mut s = connect(&t.sock);
    let mut wire = Vec::new();
    for c in [
        &["add", "sshd", "polling"][..],
        &["start", "sshd"],
        &["status"],
    ] {
        wire.extend_from_slice(&frame::encode(&request(c)));
    }
    wire.extend_from_slice(&frame::encode(frame::CLOSE));
    s.write_all(&wire).expect("write");
    let got: Vec<String> = read_replies(&mut s, 3).iter().map(Obj::repr).collect();
    assert_eq!(
        got,
        [
            "(0, 'sshd')",
            "(0, None)",
            "(0, [('Number of jail', 1), ('Jail list', 'sshd')])"
        ]
    );
    // After CLOSE the server closes its side.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty());
    stop(t);
}

#[test]
fn existing_socket_needs_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("f2b.sock"), b"").expect("stale socket");
    let mut t = start(dir, false);
    let res = t.thread.take().expect("thread").join().expect("join");
    assert!(matches!(res, Err(ironban_server::Error::AlreadyRunning(_))));

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("f2b.sock"), b"").expect("stale socket");
    let t = start(dir, true);
    assert!(ping_ok(&t.sock));
    stop(t);
}

/// `stop`: answered, then the socket and pid file are gone.
fn stop(mut t: TestServer) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&t.sock)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "socket must be owner-only");
    assert!(t.pid.exists());
    let mut s = connect(&t.sock);
    assert_eq!(
        send_raw(&mut s, &request(&["stop"])).map(|r| r.repr()),
        Some("(0, None)".into())
    );
    let res = t.thread.take().expect("thread").join().expect("join");
    assert!(res.is_ok());
    assert!(!t.sock.exists());
    assert!(!t.pid.exists());
}

/// What real Python's `pickle.loads` makes of our replies.
#[test]
fn python_reads_every_reply_kind() {
    let replies = vec![
        pickle::ok(Obj::from("pong")),
        pickle::ok(Obj::ips(["192.0.2.1", "2001:db8::1"])),
        pickle::ok(Obj::from(Value::Dict(vec![(
            Value::str("a"),
            Value::Float(1.5),
        )]))),
        pickle::ok(Obj::Int(-1)),
        pickle::ok(Obj::Int(1 << 45)),
        pickle::ok(Obj::from("x".repeat(70_000))),
        pickle::err(PyException::exception("Invalid command")),
        pickle::err(PyException::value_error("not banned: ['192.0.2.9']")),
        pickle::err(PyException::index_error()),
        pickle::err(PyException::key_error("Invalid Action name: x")),
        pickle::err(PyException::type_error("bad")),
        pickle::err(PyException::runtime_error("Cannot change database")),
        pickle::err(PyException::unknown_jail("nojail")),
        pickle::err(PyException::duplicate_jail("sshd")),
        pickle::shutdown(),
        pickle::load_error("pickle data was truncated"),
    ];
    let script = "import pickle,sys\n\
        for l in sys.stdin:\n\
        \x20   print(repr(pickle.loads(bytes.fromhex(l.strip()))))";
    let input: String = replies
        .iter()
        .map(|r| {
            dumps(r)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                + "\n"
        })
        .collect();
    let mut child = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is the oracle");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python output");
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    let want: Vec<String> = replies.iter().map(Obj::repr).collect();
    assert_eq!(got, want);
}
