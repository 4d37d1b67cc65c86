//! Database tests. The oracle is real fail2ban: Debian's package, run on
//! /usr/bin/python3, opens, upgrades and reads the same files (the test
//! suite's runner installs it; a missing fail2ban is a failure, not a skip).

use super::*;
use std::path::PathBuf;
use std::process::Command;

fn upstream_files() -> PathBuf {
    let shared = std::env::var("IRONBAN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let p = shared.join("upstream/fail2ban/fail2ban/tests/files");
    assert!(
        p.is_dir(),
        "upstream corpus missing at {} (set IRONBAN_SHARED)",
        p.display()
    );
    p
}

/// Runs a Python snippet with real fail2ban importable; `$DB` is its argv[1].
fn python(script: &str, db: &str) -> String {
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .arg(db)
        .output()
        .expect("run /usr/bin/python3 (Debian's fail2ban is the oracle: apt-get install fail2ban)");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every table's rows, sorted, as text: what "the same database" means here.
const DUMP: &str = r#"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for t in ['fail2banDb', 'jails', 'logs', 'bans', 'bips']:
    try:
        rows = sorted(repr(tuple(r)) for r in c.execute('SELECT * FROM ' + t))
    except sqlite3.OperationalError as e:
        rows = ['<%s>' % e]
    print(t, len(rows))
    for r in rows: print('  ', r)
"#;

const F2B_OPEN: &str = r#"
import sys
from fail2ban.server.database import Fail2BanDb
db = Fail2BanDb(sys.argv[1])
db.close()
"#;

fn dump(path: &str) -> String {
    python(DUMP, path)
}

fn schema(path: &str) -> String {
    python(
        "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nfor r in sorted(c.execute(\"select type,name,sql from sqlite_master\")): print(r)",
        path,
    )
}

#[test]
fn new_database_has_fail2bans_schema() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.sqlite3");
    let theirs = dir.path().join("theirs.sqlite3");
    let db = Database::open(ours.to_str().unwrap()).unwrap();
    assert_eq!(
        db.notes,
        vec!["New database created. Version '4'".to_string()]
    );
    drop(db);
    python(F2B_OPEN, theirs.to_str().unwrap());
    assert_eq!(
        schema(ours.to_str().unwrap()),
        schema(theirs.to_str().unwrap())
    );
    assert_eq!(dump(ours.to_str().unwrap()), dump(theirs.to_str().unwrap()));
}

#[test]
fn old_schemas_upgrade_exactly_as_fail2ban_does() {
    for fixture in ["database_v1.db", "database_v2.db"] {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("ours.db");
        let theirs = dir.path().join("theirs.db");
        std::fs::copy(upstream_files().join(fixture), &ours).unwrap();
        std::fs::copy(upstream_files().join(fixture), &theirs).unwrap();
        let db = Database::open(ours.to_str().unwrap()).unwrap();
        assert!(
            db.notes[0].starts_with("Database updated from '"),
            "{fixture}: {:?}",
            db.notes
        );
        drop(db);
        python(F2B_OPEN, theirs.to_str().unwrap());
        let (a, b) = (dump(ours.to_str().unwrap()), dump(theirs.to_str().unwrap()));
        assert_eq!(a, b, "{fixture}: tables differ after upgrade");
        assert!(
            a.contains("bips 1") || a.contains("bips 2"),
            "{fixture}: {a}"
        );
    }
}

#[test]
fn fail2ban_restores_the_bans_ironban_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f2b.sqlite3");
    let p = path.to_str().unwrap();
    let db = Database::open(p).unwrap();
    db.add_jail("sshd").unwrap();
    let now = 1_700_000_000;
    db.add_ban(
        "sshd",
        &BanRecord {
            ip: "192.0.2.1".into(),
            timeofban: now,
            bantime: 600,
            bancount: 1,
            data: r#"{"matches": ["line1", "line2"], "failures": 3}"#.into(),
        },
    )
    .unwrap();
    drop(db);
    let got = python(
        r#"
import sys
from fail2ban.server.database import Fail2BanDb
from fail2ban.server.mytime import MyTime
class J:
    name = 'sshd'
    def getMaxBanTime(self): return -1
db = Fail2BanDb(sys.argv[1])
for t in db.getCurrentBans(jail=J(), fromtime=1700000100, correctBanTime=False):
    print(t.getID(), t.getTime(), t.getBanTime(), t.getBanCount(), t.getMatches(), t.getAttempt())
"#,
        p,
    );
    assert_eq!(
        got.trim(),
        "192.0.2.1 1700000000 600 1 ['line1', 'line2'] 3"
    );
}

#[test]
fn ironban_restores_the_bans_fail2ban_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f2b.sqlite3");
    let p = path.to_str().unwrap();
    python(
        r#"
import sys
from fail2ban.server.database import Fail2BanDb
from fail2ban.server.ticket import BanTicket
class A:
    def getBanTime(self): return 600
class J:
    name = 'sshd'
    actions = A()
db = Fail2BanDb(sys.argv[1])
db.addJail(J())
t = BanTicket('192.0.2.7', 1700000000, ['a', 'b'])
t.setBanCount(2)
db.addBan(J(), t)
t = BanTicket('2001:db8::7', 1700000000, ['c'])
t.setBanTime(-1)
db.addBan(J(), t)
"#,
        p,
    );
    let db = Database::open(p).unwrap();
    assert!(db.notes.is_empty(), "{:?}", db.notes);
    let bans = db.current_bans("sshd", 1_700_000_100, 600, None).unwrap();
    let got: Vec<(String, i64, i64, i64)> = bans
        .iter()
        .map(|b| (b.ip.clone(), b.timeofban, b.bantime, b.bancount))
        .collect();
    assert_eq!(
        got,
        vec![
            ("192.0.2.7".to_string(), 1_700_000_000, 600, 2),
            ("2001:db8::7".to_string(), 1_700_000_000, -1, 0),
        ]
    );
    assert!(bans[0].data.contains("\"a\""));
    // Past its bantime only the permanent ban is restored.
    let later = db.current_bans("sshd", 1_700_000_600, 600, None).unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].ip, "2001:db8::7");
}

#[test]
fn every_negative_bantime_is_permanent_and_survives_purge() {
    // See: issue #4/#6 — the seed's `bantime = -10` promises a permanent ban.
    let db = Database::open(":memory:").unwrap();
    db.add_jail("dovecot").unwrap();
    for (ip, bantime) in [("192.0.2.10", -10), ("192.0.2.11", 60)] {
        db.add_ban(
            "dovecot",
            &BanRecord {
                ip: ip.into(),
                timeofban: 1000,
                bantime,
                bancount: 1,
                data: "{}".into(),
            },
        )
        .unwrap();
    }
    let far = 1000 + 10 * 365 * 86400;
    db.purge(far).unwrap();
    let bans = db.current_bans("dovecot", far, 600, None).unwrap();
    assert_eq!(bans.len(), 1);
    assert_eq!((bans[0].ip.as_str(), bans[0].bantime), ("192.0.2.10", -10));
}

#[test]
fn ban_history_for_increment() {
    let db = Database::open(":memory:").unwrap();
    for jail in ["sshd", "dovecot"] {
        db.add_jail(jail).unwrap();
        db.add_ban(
            jail,
            &BanRecord {
                ip: "192.0.2.5".into(),
                timeofban: if jail == "sshd" { 100 } else { 200 },
                bantime: 600,
                bancount: 2,
                data: "{}".into(),
            },
        )
        .unwrap();
    }
    let one = db.get_ban("192.0.2.5", Some("sshd"), false, None).unwrap();
    assert_eq!(
        one,
        Some(BanHistory {
            bancount: 2,
            timeofban: 100,
            bantime: 600
        })
    );
    let all = db.get_ban("192.0.2.5", Some("sshd"), true, None).unwrap();
    assert_eq!(
        all,
        Some(BanHistory {
            bancount: 4,
            timeofban: 200,
            bantime: 1200
        })
    );
    assert_eq!(
        db.get_ban("192.0.2.5", Some("sshd"), false, Some(150))
            .unwrap(),
        None
    );
    db.del_ban("sshd", &["192.0.2.5"]).unwrap();
    assert_eq!(
        db.get_ban("192.0.2.5", Some("sshd"), false, None).unwrap(),
        None
    );
}

#[test]
fn log_position_resumes_only_for_the_same_file() {
    let db = Database::open(":memory:").unwrap();
    db.add_jail("sshd").unwrap();
    assert_eq!(
        db.add_log("sshd", "/var/log/auth.log", 0, Some("aa"))
            .unwrap(),
        None
    );
    db.update_log("sshd", "/var/log/auth.log", 4096, Some("aa"))
        .unwrap();
    assert_eq!(
        db.add_log("sshd", "/var/log/auth.log", 0, Some("aa"))
            .unwrap(),
        Some(4096)
    );
    // Rotated: the first line changed, start from the beginning.
    assert_eq!(
        db.add_log("sshd", "/var/log/auth.log", 0, Some("bb"))
            .unwrap(),
        None
    );
}

#[test]
fn newer_schema_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.sqlite3");
    let p = path.to_str().unwrap();
    drop(Database::open(p).unwrap());
    let c = Connection::open(p).unwrap();
    c.execute("UPDATE fail2banDb SET version = 9", []).unwrap();
    drop(c);
    let before = std::fs::read(&path).unwrap();
    let err = Database::open(p).err().expect("must refuse");
    assert!(err.to_string().contains("schema version 9"), "{err}");
    assert!(err.to_string().contains(p), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn corrupt_file_is_moved_aside_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.sqlite3");
    let p = path.to_str().unwrap();
    let garbage = b"this is not a database at all, only garbage bytes ...........................";
    std::fs::write(&path, garbage).unwrap();
    let db = Database::open(p).unwrap();
    assert!(
        db.notes.iter().any(|n| n.contains("was corrupt")),
        "{:?}",
        db.notes
    );
    let backups: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("broken.sqlite3."))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(
        std::fs::read(dir.path().join(&backups[0])).unwrap().len(),
        garbage.len()
    );
    db.add_jail("sshd").unwrap();
}

#[test]
fn read_only_file_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.sqlite3");
    let p = path.to_str().unwrap();
    drop(Database::open(p).unwrap());
    // root ignores file modes, so make the directory's file unwritable another way:
    // open a path inside a non-existent directory.
    let missing = dir.path().join("no/such/dir/db.sqlite3");
    let err = Database::open(missing.to_str().unwrap())
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("no/such/dir/db.sqlite3"), "{err}");
}
