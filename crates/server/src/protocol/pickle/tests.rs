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
