use super::*;
use crate::protocol::PyException;

#[test]
fn reads_ping_with_float() {
    // ["ping", 0.1] as Python 3 pickles it (spec A.3).
    let b = [
        0x80, 0x05, 0x95, 0x15, 0, 0, 0, 0, 0, 0, 0, 0x5d, 0x94, 0x28, 0x8c, 0x04, b'p', b'i',
        b'n', b'g', 0x94, 0x47, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 0x65, 0x2e,
    ];
    assert_eq!(
        loads(&b).unwrap(),
        Value::List(vec![Value::str("ping"), Value::Float(0.1)])
    );
}

#[test]
fn refuses_code() {
    // pickle.dumps of os.system('true') via __reduce__ (protocol 2 style).
    let evil = b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.";
    assert!(matches!(loads(evil), Err(PickleError::Forbidden { .. })));
    // Even in reply mode an unknown class is refused, not imported.
    assert!(matches!(
        loads_reply(evil),
        Err(PickleError::UnknownClass(_))
    ));
    let stack = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x93\x94.";
    assert!(matches!(loads(stack), Err(PickleError::Forbidden { .. })));
}

#[test]
fn memo_shares_mutable_lists() {
    // l = []; [l, l] then l.append(1): BINGET must see the appended item.
    // ] MEMOIZE ( h0 h0 ... built by hand:
    // EMPTY_LIST m0, MARK, EMPTY_LIST m1, BINGET 1, APPENDS, then append 1 to
    // memo 1 via BINGET 1, K1, APPEND, POP.
    let b = b"\x80\x05]\x94(]\x94h\x01eh\x01K\x01a0.";
    assert_eq!(
        loads(b).unwrap(),
        Value::List(vec![
            Value::List(vec![Value::Int(1)]),
            Value::List(vec![Value::Int(1)])
        ])
    );
}

#[test]
fn truncated_and_garbage_are_errors() {
    assert_eq!(loads(b""), Err(PickleError::Truncated));
    assert!(loads(b"\x80\x05]\x94(").is_err());
    assert!(loads(b"\xff\xfe").is_err());
    assert!(loads(b"e.").is_err());
}

#[test]
fn self_referencing_list_is_bounded() {
    // l = [l]: EMPTY_LIST MEMOIZE BINGET 0 APPEND STOP
    let b = b"\x80\x05]\x94h\x00a.";
    assert_eq!(loads(b), Err(PickleError::TooLarge));
}

#[test]
fn writes_like_cpython() {
    // (0, 'pong') as captured from fail2ban (golden protocol/ping.resp.hex).
    let want = [
        0x80, 0x05, 0x95, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0x4b, 0x00, 0x8c, 0x04, b'p', b'o', b'n',
        b'g', 0x94, 0x86, 0x94, 0x2e,
    ];
    assert_eq!(dumps(&dump::ok(Obj::from("pong"))), want);
    let big = Obj::Int(1 << 40);
    assert_eq!(loads_reply(&dumps(&big)).unwrap(), big);
    let neg = Obj::Int(-5);
    assert_eq!(loads_reply(&dumps(&neg)).unwrap(), neg);
}

#[test]
fn round_trips_exceptions() {
    let e = dump::err(PyException::unknown_jail("nojail"));
    let back = loads_reply(&dumps(&e)).unwrap();
    assert_eq!(back, e);
    assert_eq!(back.repr(), "(1, UnknownJailException('nojail'))");
}

#[test]
fn random_and_mutated_input_never_panics() {
    // A small xorshift generator: deterministic, no dependency.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seed = dumps(&Obj::List(vec![
        Obj::from("set"),
        Obj::from("sshd"),
        Obj::Dict(vec![(
            Obj::from("k"),
            Obj::Tuple(vec![Obj::Int(1), Obj::Float(0.5)]),
        )]),
        Obj::ips(["192.0.2.1"]),
        Obj::Exception(PyException::unknown_jail("x")),
    ]));
    for i in 0..20_000 {
        let mut b = seed.clone();
        let n = (next() % 6) as usize;
        for _ in 0..=n {
            let at = (next() as usize) % b.len();
            match next() % 3 {
                0 => b[at] = next() as u8,
                1 => {
                    b.remove(at);
                }
                _ => b.insert(at, next() as u8),
            }
            if b.is_empty() {
                b.push(0x80);
            }
        }
        if i % 4 == 0 {
            b = (0..(next() % 64)).map(|_| next() as u8).collect();
        }
        let _ = loads(&b);
        let _ = loads_reply(&b);
    }
}
