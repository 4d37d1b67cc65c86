//! A real `ironban server` process for the tests of this directory:
//! `ironban server -f -x -s SOCK -p PID -c CONFDIR` on a tiny config with
//! no jails, in a temp dir that is world-searchable (so only the socket's
//! own mode keeps other users out).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub sock: PathBuf,
    /// Owns the temp dir (removed on drop); not every test reads it.
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server and waits until its socket accepts connections.
pub fn start() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    // World-searchable, so only the socket's own mode keeps others out.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    let sock = dir.path().join("s.sock");
    let pid = dir.path().join("s.pid");
    std::fs::write(
        conf.join("fail2ban.conf"),
        format!(
            "[Definition]\nloglevel = INFO\nlogtarget = {}\nsocket = {}\npidfile = {}\ndbfile = :memory:\n",
            dir.path().join("server.log").display(),
            sock.display(),
            pid.display()
        ),
    )
    .unwrap();
    std::fs::write(conf.join("jail.conf"), "[DEFAULT]\n").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ironban"))
        .args(["server", "-f", "-x", "-s"])
        .arg(&sock)
        .arg("-p")
        .arg(&pid)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .spawn()
        .expect("start ironban server");
    let srv = Server { child, sock, dir };
    for _ in 0..500 {
        if UnixStream::connect(&srv.sock).is_ok() {
            return srv;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("ironban server did not come up");
}
