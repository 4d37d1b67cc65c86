//! Rotation and line-assembly tests. Every failure written must be read
//! exactly once, whichever way the log is rotated.

use super::*;
use std::fs::OpenOptions;
use std::io::Write;

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn read_all(c: &mut FileContainer) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let r = c.read_new(100).unwrap();
        if r.lines.is_empty() {
            return out;
        }
        out.extend(r.lines.into_iter().map(|l| String::from_utf8(l).unwrap()));
    }
}

#[test]
fn md5_matches_fail2ban() {
    // fail2ban's database fixture database_v2.db stores this kind of value;
    // the empty-line digest is the well-known d41d8cd98f00b204e9800998ecf8427e.
    assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(b"abc\n"), "0bee89b07a248e27c83fc3d5951213c1");
}

#[test]
fn head_and_tail() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log");
    append(&p, "one\ntwo\n");
    assert_eq!(
        read_all(&mut FileContainer::open(&p, false).unwrap()),
        ["one", "two"]
    );
    let mut tail = FileContainer::open(&p, true).unwrap();
    assert!(read_all(&mut tail).is_empty());
    append(&p, "three\n");
    assert_eq!(read_all(&mut tail), ["three"]);
}

#[test]
fn incomplete_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log");
    append(&p, "whole\nhal");
    let mut c = FileContainer::open(&p, false).unwrap();
    assert_eq!(read_all(&mut c), ["whole"]);
    append(&p, "f\r\n");
    assert_eq!(read_all(&mut c), ["half"]);
}

#[test]
fn rename_and_create() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log");
    append(&p, "a1\na2\n");
    let mut c = FileContainer::open(&p, false).unwrap();
    assert_eq!(read_all(&mut c), ["a1", "a2"]);
    std::fs::rename(&p, dir.path().join("log.1")).unwrap();
    append(&p, "b1\nb2\nb3\n");
    assert_eq!(read_all(&mut c), ["b1", "b2", "b3"]);
    assert_eq!(c.rotations, 1);
}

#[test]
fn copytruncate_and_shrink() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log");
    append(&p, "a long first line\nanother\n");
    let mut c = FileContainer::open(&p, false).unwrap();
    assert_eq!(read_all(&mut c).len(), 2);
    std::fs::copy(&p, dir.path().join("log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    append(&p, "new\n");
    assert_eq!(read_all(&mut c), ["new"]);
    assert_eq!(c.rotations, 1);
}

#[test]
fn replaced_by_same_size_file_is_seen_by_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log");
    append(&p, "aaaa\n");
    let mut c = FileContainer::open(&p, false).unwrap();
    assert_eq!(read_all(&mut c), ["aaaa"]);
    // Same inode, same size, different content, then more: only the hash tells.
    let mut f = OpenOptions::new().write(true).open(&p).unwrap();
    f.write_all(b"bbbb\ncccc\n").unwrap();
    drop(f);
    c.hash_next = Instant::now(); // force the periodic re-check now
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(read_all(&mut c), ["bbbb", "cccc"]);
}

#[test]
fn delete_and_recreate_and_vanished() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log");
    append(&p, "x1\n");
    let mut c = FileContainer::open(&p, false).unwrap();
    assert_eq!(read_all(&mut c), ["x1"]);
    std::fs::remove_file(&p).unwrap();
    assert_eq!(c.read_new(10).unwrap_err().kind(), io::ErrorKind::NotFound);
    append(&p, "y1\n");
    assert_eq!(read_all(&mut c), ["y1"]);
}

#[test]
fn symlinked_log_follows_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.log");
    let link = dir.path().join("link.log");
    append(&target, "t1\n");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let mut c = FileContainer::open(&link, false).unwrap();
    assert_eq!(read_all(&mut c), ["t1"]);
    append(&target, "t2\n");
    assert_eq!(read_all(&mut c), ["t2"]);
}

#[test]
fn huge_and_binary_lines_never_break_reading() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log");
    let big = "A".repeat(3 * MAX_LINE);
    append(&p, &format!("before\n{big}\nbin\u{0}\u{1}ary\nafter\n"));
    let mut c = FileContainer::open(&p, false).unwrap();
    let mut lines = Vec::new();
    loop {
        let r = c.read_new(100).unwrap();
        if r.lines.is_empty() {
            break;
        }
        lines.extend(r.lines);
    }
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], b"before");
    assert_eq!(lines[1].len(), MAX_LINE);
    assert_eq!(lines[2], b"bin\0\x01ary");
    assert_eq!(lines[3], b"after");
    assert_eq!(c.truncated_lines, 1);
}

#[test]
fn ten_thousand_lines_across_rotations_each_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("log");
    append(&p, "");
    let mut c = FileContainer::open(&p, false).unwrap();
    let mut seen = Vec::new();
    for i in 0..10_000 {
        append(&p, &format!("failure {i}\n"));
        if i % 97 == 0 {
            seen.extend(read_all(&mut c));
        }
        if i % 1000 == 999 {
            seen.extend(read_all(&mut c));
            match (i / 1000) % 3 {
                0 => {
                    std::fs::rename(&p, dir.path().join(format!("log.{i}"))).unwrap();
                    append(&p, "");
                }
                1 => {
                    OpenOptions::new()
                        .write(true)
                        .truncate(true)
                        .open(&p)
                        .unwrap();
                }
                _ => {
                    std::fs::remove_file(&p).unwrap();
                    append(&p, "");
                }
            }
        }
    }
    seen.extend(read_all(&mut c));
    let expected: Vec<String> = (0..10_000).map(|i| format!("failure {i}")).collect();
    println!(
        "rotation test: {} lines written, {} read, {} rotations",
        expected.len(),
        seen.len(),
        c.rotations
    );
    assert_eq!(seen, expected);
}
