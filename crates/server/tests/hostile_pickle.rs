//! Pickle bombs against the request reader: small pickles that expand
//! exponentially through the memo, deep nesting, and length fields that
//! promise gigabytes. Each must be refused (or read) quickly, without the
//! memory it promises. Python's own `pickle` crafts the shared-reference
//! bombs, so they are what a real attacker's `pickle.dumps` sends.

use std::process::Command;
use std::time::{Duration, Instant};

use ironban_server::protocol::pickle::{loads, loads_reply};

fn python_pickle(expr: &str) -> Vec<u8> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import pickle, sys\nsys.setrecursionlimit(100000)\n{expr}\nsys.stdout.write(pickle.dumps(obj, protocol=int(sys.argv[1])).hex())"
        ))
        .arg("4")
        .output()
        .expect("python3 is needed to craft the pickles");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hex = String::from_utf8(out.stdout).unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn pickle_bombs_are_refused_quickly() {
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "memo 2^40 (a = [a, a] x40)",
            python_pickle("a = []\nfor i in range(40): a = [a, a]\nobj = ['set', 'j', 'banip', a]"),
        ),
        (
            "memo 10^9 strings",
            python_pickle("s = 'x' * 1000\na = [s] * 1000\nb = [a] * 1000\nobj = [b] * 1000"),
        ),
        (
            "nesting 2,000 (Python-made)",
            python_pickle("obj = []\nfor i in range(2000): obj = [obj]"),
        ),
        ("nesting 500,000", {
            // EMPTY_LIST x n, then APPEND x (n-1): lists nested n deep.
            let mut v = vec![0x80, 4];
            v.extend(std::iter::repeat_n(b']', 500_000));
            v.extend(std::iter::repeat_n(b'a', 499_999));
            v.push(b'.');
            v
        }),
        (
            "dict memo 2^30",
            python_pickle("d = {}\nfor i in range(30): d = {'a': d, 'b': d}\nobj = d"),
        ),
    ];
    // fuzz/pickle timeout-bab249… (reply mode): an exception built from a
    // big tuple, then referenced many times; each reference cloned the
    // whole exception while counting as one node (4 GB from 1 KB).
    cases.push((
        "reply memo: exception x 100,000",
        python_pickle("a = ['x' * 100] * 1000\ne = ValueError(*a)\nobj = (1, [e] * 100000)"),
    ));
    // Hand-made: length fields that promise far more than is sent.
    let mut binunicode8 = vec![0x80, 4, 0x8d];
    binunicode8.extend_from_slice(&u64::MAX.to_le_bytes());
    binunicode8.extend_from_slice(b"abc.");
    cases.push(("BINUNICODE8 2^64-1 bytes promised", binunicode8));
    let mut binbytes8 = vec![0x80, 4, 0x8e];
    binbytes8.extend_from_slice(&(1u64 << 62).to_le_bytes());
    binbytes8.extend_from_slice(b"abc.");
    cases.push(("BINBYTES8 2^62 bytes promised", binbytes8));
    let mut long4 = vec![0x80, 2, 0x8b];
    long4.extend_from_slice(&i32::MAX.to_le_bytes());
    long4.extend_from_slice(b"\x01.");
    cases.push(("LONG4 2^31 bytes promised", long4));
    let mut frame = vec![0x80, 4, 0x95];
    frame.extend_from_slice(&u64::MAX.to_le_bytes());
    frame.extend_from_slice(b"N.");
    cases.push(("FRAME 2^64-1 bytes promised", frame));
    let mut binput = vec![0x80, 4, b']'];
    for i in 0..100_000u32 {
        binput.push(b'r'); // LONG_BINPUT: 100,000 memo slots, far apart
        binput.extend_from_slice(&(i.wrapping_mul(40_000)).to_le_bytes());
    }
    binput.push(b'.');
    cases.push(("LONG_BINPUT sparse memo indexes", binput));
    cases.push(("MARK x 1,000,000", {
        let mut v = vec![0x80, 4];
        v.extend(std::iter::repeat_n(b'(', 1_000_000));
        v.push(b'.');
        v
    }));

    let before = vm_hwm_kb();
    let mut worst = Duration::ZERO;
    for (name, p) in &cases {
        let t0 = Instant::now();
        let r = loads(p);
        let r2 = loads_reply(p);
        let dt = t0.elapsed();
        worst = worst.max(dt);
        println!(
            "hostile_pickle: {name} ({} bytes): {} in {dt:?}",
            p.len(),
            match &r {
                Ok(_) => "read".to_string(),
                Err(e) => format!("refused: {e}"),
            }
        );
        // Debug build: the 4,000,000-node expansion limit takes seconds
        // here, a tenth of that in release.
        assert!(dt < Duration::from_secs(30), "{name} took {dt:?}");
        // The exponential ones can never be built within the limits.
        if name.starts_with("reply memo") {
            assert!(r2.is_err(), "{name} must be refused");
        }
        if name.starts_with("memo")
            || name.starts_with("dict memo")
            || name.starts_with("nesting")
            || name.contains("promised")
        {
            assert!(r.is_err() && r2.is_err(), "{name} must be refused");
        }
    }
    let grew = vm_hwm_kb().saturating_sub(before);
    println!(
        "hostile_pickle: {} bombs, slowest {worst:?}, peak RSS grew by {} MB",
        cases.len(),
        grew / 1024
    );
    assert!(grew < 1024 * 1024, "peak RSS grew by {grew} kB");
}
