//! The ban database while another program holds its write lock (a backup,
//! `sqlite3` opened by an administrator, fail2ban's own tools). ironban sets a
//! 5 s busy timeout: a lock held for about a second delays a ban's write,
//! which then succeeds; a lock held past the timeout makes the write fail
//! with an error naming the file, without a panic, without a half-written
//! ban, and without losing any ban already stored. The oracle for "stored"
//! is real fail2ban (Debian's, on /usr/bin/python3) reading the file.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ironban_server::database::{BanRecord, Database, DbError};
use rusqlite::Connection;

fn ban(ip: &str) -> BanRecord {
    BanRecord {
        ip: ip.to_string(),
        timeofban: 2_000_000_000,
        bantime: 600,
        bancount: 1,
        data: "{}".to_string(),
    }
}

/// Another connection takes an exclusive lock on `path` (no reader or writer
/// gets in) and holds it until `hold` has passed or the returned sender is
/// used; returns once the lock is taken.
fn hold_lock(path: &Path, hold: Duration) -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
    let path = path.to_path_buf();
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let t = thread::spawn(move || {
        let conn = Connection::open(&path).expect("second connection");
        conn.execute_batch("BEGIN EXCLUSIVE")
            .expect("exclusive lock");
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(hold);
        conn.execute_batch("COMMIT").expect("release the lock");
    });
    locked_rx.recv().expect("the lock is taken");
    (release_tx, t)
}

/// The addresses real fail2ban finds in the ban history (`bans`) of `jail`
/// in the file at `path`.
fn fail2ban_reads(path: &Path, jail: &str) -> Vec<String> {
    let script = "import sys\n\
        from fail2ban.server.database import Fail2BanDb\n\
        class Jail: name = sys.argv[2]\n\
        db = Fail2BanDb(sys.argv[1])\n\
        print(' '.join(sorted(str(t.getIP()) for t in db.getBans(jail=Jail()))))\n\
        db.close()";
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .arg(jail)
        .output()
        .expect("run /usr/bin/python3 (Debian's fail2ban is the oracle: apt-get install fail2ban)");
    assert!(
        out.status.success(),
        "real fail2ban could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect()
}

fn stored(db: &Database) -> Vec<String> {
    let mut ips: Vec<String> = db
        .current_bans("sshd", 2_000_000_001, 600, None)
        .expect("read the bans")
        .into_iter()
        .map(|b| b.ip)
        .collect();
    ips.sort();
    ips
}

#[test]
fn a_write_waits_for_a_lock_held_about_a_second_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fail2ban.sqlite3");
    let db = Database::open(path.to_str().unwrap()).expect("open");
    db.add_jail("sshd").unwrap();
    db.add_ban("sshd", &ban("192.0.2.1")).unwrap();

    let (_release, holder) = hold_lock(&path, Duration::from_millis(1000));
    let start = Instant::now();
    let r = db.add_ban("sshd", &ban("192.0.2.2"));
    let waited = start.elapsed();
    holder.join().unwrap();

    assert!(r.is_ok(), "the write should wait out a 1 s lock: {r:?}");
    // It really met the lock (and waited for it), and did not wait for the
    // whole timeout.
    assert!(
        waited >= Duration::from_millis(800),
        "returned after {waited:?}: the lock was not in the way"
    );
    assert!(waited < Duration::from_secs(4), "waited {waited:?}");
    assert_eq!(stored(&db), ["192.0.2.1", "192.0.2.2"]);
    drop(db);
    assert_eq!(fail2ban_reads(&path, "sshd"), ["192.0.2.1", "192.0.2.2"]);
}

#[test]
fn a_lock_held_past_the_timeout_is_an_error_naming_the_file_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fail2ban.sqlite3");
    let db = Database::open(path.to_str().unwrap()).expect("open");
    db.add_jail("sshd").unwrap();
    db.add_ban("sshd", &ban("192.0.2.1")).unwrap();

    let (release, holder) = hold_lock(&path, Duration::from_secs(20));
    let start = Instant::now();
    let r = db.add_ban("sshd", &ban("192.0.2.2"));
    let waited = start.elapsed();
    release.send(()).unwrap();
    holder.join().unwrap();

    let e = match r {
        Err(e) => e,
        Ok(()) => panic!("a write under a lock held past the busy timeout succeeded"),
    };
    assert!(
        waited >= Duration::from_millis(4500),
        "gave up after {waited:?}, before the 5 s busy timeout"
    );
    assert!(
        matches!(&e, DbError::Sqlite { path: p, .. } if Path::new(p) == path),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("locked"),
        "the error should name the file and the lock: {msg}"
    );

    // The failed write left nothing half done (no history row without its
    // current-ban row), the ban stored before is still there, and the same
    // write succeeds once the lock is gone: nothing banned is lost.
    assert_eq!(stored(&db), ["192.0.2.1"]);
    assert_eq!(
        db.get_ban("192.0.2.2", Some("sshd"), false, None).unwrap(),
        None
    );
    db.add_ban("sshd", &ban("192.0.2.2"))
        .expect("the write succeeds after the lock is released");
    assert_eq!(stored(&db), ["192.0.2.1", "192.0.2.2"]);
    drop(db);
    assert_eq!(fail2ban_reads(&path, "sshd"), ["192.0.2.1", "192.0.2.2"]);
}

#[test]
fn opening_waits_for_a_short_lock_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fail2ban.sqlite3");
    {
        let db = Database::open(path.to_str().unwrap()).expect("create");
        db.add_jail("sshd").unwrap();
        db.add_ban("sshd", &ban("192.0.2.1")).unwrap();
    }
    let (_release, holder) = hold_lock(&path, Duration::from_millis(1000));
    let start = Instant::now();
    let db = Database::open(path.to_str().unwrap());
    let waited = start.elapsed();
    holder.join().unwrap();
    let db = db.expect("a start during a 1 s lock opens the database");
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
    // Opened as the existing database, not mistaken for a corrupt or empty one.
    assert!(db.notes.is_empty(), "{:?}", db.notes);
    assert_eq!(stored(&db), ["192.0.2.1"]);
}

#[test]
fn opening_under_a_lock_past_the_timeout_fails_and_does_not_repair() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fail2ban.sqlite3");
    {
        let db = Database::open(path.to_str().unwrap()).expect("create");
        db.add_jail("sshd").unwrap();
        db.add_ban("sshd", &ban("192.0.2.1")).unwrap();
    }
    let (release, holder) = hold_lock(&path, Duration::from_secs(20));
    let r = Database::open(path.to_str().unwrap());
    release.send(()).unwrap();
    holder.join().unwrap();
    let e = match r {
        Err(e) => e,
        Ok(_) => panic!("opened a database another program holds exclusively"),
    };
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("locked"),
        "{msg}"
    );
    // A busy file is not a corrupt one: it is not moved aside and rebuilt
    // (which would drop every ban written meanwhile by the lock's holder).
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "fail2ban.sqlite3" && n != "fail2ban.sqlite3-journal")
        .collect();
    assert!(files.is_empty(), "moved aside or copied: {files:?}");
    let db = Database::open(path.to_str().unwrap()).expect("opens once the lock is gone");
    assert_eq!(stored(&db), ["192.0.2.1"]);
}
