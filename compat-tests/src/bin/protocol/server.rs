//! An ironban server run in-process like the golden one, and two ways of
//! talking to a server on the wire: replaying captured request bytes, and a
//! fake server that answers with captured reply bytes.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ironban_config::Value;
use ironban_server::log::Logger;
use ironban_server::protocol::asyncserver::ListenOpts;
use ironban_server::protocol::csocket::CSocket;
use ironban_server::protocol::frame::{self, END};
use ironban_server::Server;

/// An ironban server on its own thread and runtime, configured like the
/// golden one. Dropping it does not stop it; `stop` (the last case) does.
pub(crate) struct Running {
    pub(crate) sock: PathBuf,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub(crate) fn start_server(tmp: &Path, tag: &str, stream: &[Value]) -> Running {
    let sock = tmp.join(format!("{tag}.sock"));
    let _ = std::fs::remove_file(&sock);
    let log = Arc::new(Logger::off());
    // The golden stream's log target, moved to this run's own file.
    let log_file = tmp.join(format!("{tag}.log"));
    let _ = log.set_target(&log_file.display().to_string(), "auto");
    let stream: Vec<Value> = stream
        .iter()
        .map(|c| match c {
            Value::List(l) if l.len() == 3 && l[1].as_str() == Some("logtarget") => {
                Value::List(vec![
                    l[0].clone(),
                    l[1].clone(),
                    Value::Str(log_file.display().to_string()),
                ])
            }
            other => other.clone(),
        })
        .collect();
    let srv = Arc::new(Mutex::new(Server::new(log)));
    let opts = ListenOpts {
        socket: sock.clone(),
        pidfile: Some(tmp.join(format!("{tag}.pid"))),
        force: false,
        systemd: false,
    };
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        if let Err(e) = rt.block_on(ironban_server::run(opts, srv, std::future::pending())) {
            eprintln!("protocol: server failed: {e}");
        }
    });
    for _ in 0..500 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut c = CSocket::connect(&sock, None).expect("connect to the ironban server");
    let reply = c
        .send(&[Value::str("server-stream"), Value::List(stream)])
        .expect("server-stream");
    if reply.repr() != "(0, None)" {
        eprintln!("protocol: configuring the server answered {}", reply.repr());
    }
    c.close();
    Running {
        sock,
        thread: Some(thread),
    }
}

impl Running {
    /// Waits for the server to stop after the `stop` case; if it does not
    /// within 10 s, asks it to and waits once more.
    pub(crate) fn wait(mut self) {
        let Some(t) = self.thread.take() else { return };
        for i in 0..1000 {
            if t.is_finished() {
                let _ = t.join();
                return;
            }
            if i == 500 {
                eprintln!("protocol: server still running after the stop case; stopping it");
                if let Ok(mut c) = CSocket::connect(&self.sock, None) {
                    let _ = c.send(&[Value::str("stop")]);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Sends `raw` (requests and CLOSE, exactly as captured) on one connection
/// and returns every reply frame.
pub(crate) fn replay(sock: &Path, raw: &[u8], n_replies: usize) -> Vec<Vec<u8>> {
    let Ok(mut s) = UnixStream::connect(sock) else {
        return Vec::new();
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let _ = s.write_all(raw);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut chunk = [0u8; 65536];
    while out.len() < n_replies {
        match s.read(&mut chunk) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some(at) = frame::find(&buf, END) {
            out.push(buf[..at].to_vec());
            buf.drain(..at + END.len());
        }
    }
    out
}

/// A one-connection-per-case server that answers with the captured bytes.
pub(crate) fn replay_server(
    sock: PathBuf,
    cases: Vec<Vec<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    let _ = std::fs::remove_file(&sock);
    let l = UnixListener::bind(&sock).expect("bind replay socket");
    std::thread::spawn(move || {
        for replies in cases {
            let Ok((mut s, _)) = l.accept() else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            let mut next = replies.into_iter();
            loop {
                match frame::find(&buf, END) {
                    Some(at) => {
                        let msg: Vec<u8> = buf.drain(..at + END.len()).take(at).collect();
                        if msg == frame::CLOSE {
                            break;
                        }
                        match next.next() {
                            Some(r) => {
                                let _ = s.write_all(&frame::encode(&r));
                            }
                            None => break,
                        }
                    }
                    None => match s.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    },
                }
            }
        }
    })
}
