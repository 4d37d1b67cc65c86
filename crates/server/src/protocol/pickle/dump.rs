//! The writer: protocol 5, byte for byte as CPython's C pickler writes it.
//!
//! Python memoizes by object identity. ironban has no identities, so it
//! memoizes strings by value: fail2ban's replies repeat a string only when it
//! is the same object (a constant such as `'Filter'`, a backend name), which
//! is what value equality reproduces. Containers are never shared.

use std::collections::HashMap;

use super::super::obj::{Obj, PyException};
use ironban_config::Value;

const FRAME_SIZE_MIN: usize = 4;
const FRAME_SIZE_TARGET: usize = 64 * 1024;
const BATCHSIZE: usize = 1000;

/// `pickle.dumps(obj, 5)`.
pub fn dumps(obj: &Obj) -> Vec<u8> {
    let mut p = Pickler::default();
    p.out.extend_from_slice(&[0x80, 5]);
    p.save(obj);
    p.frame.push(b'.');
    p.commit_frame(true);
    p.out
}

#[derive(Default)]
struct Pickler {
    out: Vec<u8>,
    frame: Vec<u8>,
    memo_len: u32,
    strings: HashMap<String, u32>,
    classes: HashMap<(String, String), u32>,
}

impl Pickler {
    fn commit_frame(&mut self, force: bool) {
        if self.frame.is_empty() || (!force && self.frame.len() < FRAME_SIZE_TARGET) {
            return;
        }
        if self.frame.len() >= FRAME_SIZE_MIN {
            self.out.push(0x95);
            self.out
                .extend_from_slice(&(self.frame.len() as u64).to_le_bytes());
        }
        self.out.append(&mut self.frame);
    }

    fn memoize(&mut self) -> u32 {
        self.frame.push(0x94);
        self.memo_len += 1;
        self.memo_len - 1
    }

    fn get(&mut self, idx: u32) {
        if idx < 256 {
            self.frame.extend_from_slice(&[b'h', idx as u8]);
        } else {
            self.frame.push(b'j');
            self.frame.extend_from_slice(&idx.to_le_bytes());
        }
    }

    fn save(&mut self, obj: &Obj) {
        self.save_inner(obj);
        // CPython's C pickler commits a full frame at each opcode boundary.
        self.commit_frame(false);
    }

    fn save_inner(&mut self, obj: &Obj) {
        match obj {
            Obj::None => self.frame.push(b'N'),
            Obj::Bool(true) => self.frame.push(0x88),
            Obj::Bool(false) => self.frame.push(0x89),
            Obj::Int(i) => self.save_int(*i),
            Obj::Float(f) => {
                self.frame.push(b'G');
                self.frame.extend_from_slice(&f.to_be_bytes());
            }
            Obj::Str(s) => self.save_str(s),
            Obj::Ip(s) => self.save_reduce("builtins", "str", &[Obj::Str(s.clone())]),
            Obj::Tuple(items) => self.save_tuple(items),
            Obj::List(items) => {
                self.frame.push(b']');
                self.memoize();
                match items.len() {
                    0 => {}
                    1 => {
                        self.save(&items[0]);
                        self.frame.push(b'a');
                    }
                    _ => {
                        for batch in items.chunks(BATCHSIZE) {
                            self.frame.push(b'(');
                            for it in batch {
                                self.save(it);
                            }
                            self.frame.push(b'e');
                        }
                    }
                }
            }
            Obj::Dict(items) => {
                self.frame.push(b'}');
                self.memoize();
                match items.len() {
                    0 => {}
                    1 => {
                        self.save(&items[0].0);
                        self.save(&items[0].1);
                        self.frame.push(b's');
                    }
                    _ => {
                        for batch in items.chunks(BATCHSIZE) {
                            self.frame.push(b'(');
                            for (k, v) in batch {
                                self.save(k);
                                self.save(v);
                            }
                            self.frame.push(b'u');
                        }
                    }
                }
            }
            Obj::Exception(e) => self.save_exception(e),
        }
    }

    fn save_int(&mut self, i: i64) {
        if (0..=0xff).contains(&i) {
            self.frame.extend_from_slice(&[b'K', i as u8]);
        } else if (0..=0xffff).contains(&i) {
            self.frame.push(b'M');
            self.frame.extend_from_slice(&(i as u16).to_le_bytes());
        } else if (-0x8000_0000..=0x7fff_ffff).contains(&i) {
            self.frame.push(b'J');
            self.frame.extend_from_slice(&(i as i32).to_le_bytes());
        } else {
            let bytes = encode_long(i);
            self.frame.extend_from_slice(&[0x8a, bytes.len() as u8]);
            self.frame.extend_from_slice(&bytes);
        }
    }

    fn save_str(&mut self, s: &str) {
        if let Some(&idx) = self.strings.get(s) {
            self.get(idx);
            return;
        }
        let b = s.as_bytes();
        if b.len() <= 0xff {
            self.frame.extend_from_slice(&[0x8c, b.len() as u8]);
            self.frame.extend_from_slice(b);
        } else {
            let header: Vec<u8> = if b.len() as u64 > 0xffff_ffff {
                let mut h = vec![0x8d];
                h.extend_from_slice(&(b.len() as u64).to_le_bytes());
                h
            } else {
                let mut h = vec![b'X'];
                h.extend_from_slice(&(b.len() as u32).to_le_bytes());
                h
            };
            if b.len() >= FRAME_SIZE_TARGET {
                // A big payload goes outside any frame, as CPython does.
                self.commit_frame(true);
                self.out.extend_from_slice(&header);
                self.out.extend_from_slice(b);
            } else {
                self.frame.extend_from_slice(&header);
                self.frame.extend_from_slice(b);
            }
        }
        let idx = self.memoize();
        self.strings.insert(s.to_string(), idx);
    }

    fn save_tuple(&mut self, items: &[Obj]) {
        if items.is_empty() {
            self.frame.push(b')');
            return;
        }
        if items.len() <= 3 {
            for it in items {
                self.save(it);
            }
            self.frame.push(0x84 + items.len() as u8);
        } else {
            self.frame.push(b'(');
            for it in items {
                self.save(it);
            }
            self.frame.push(b't');
        }
        self.memoize();
    }

    fn save_global(&mut self, module: &str, name: &str) {
        let key = (module.to_string(), name.to_string());
        if let Some(&idx) = self.classes.get(&key) {
            self.get(idx);
            return;
        }
        self.save(&Obj::Str(module.to_string()));
        self.save(&Obj::Str(name.to_string()));
        self.frame.push(0x93);
        let idx = self.memoize();
        self.classes.insert(key, idx);
    }

    fn save_reduce(&mut self, module: &str, name: &str, args: &[Obj]) {
        self.save_global(module, name);
        self.commit_frame(false);
        self.save(&Obj::Tuple(args.to_vec()));
        self.frame.push(b'R');
        self.memoize();
    }

    fn save_exception(&mut self, e: &PyException) {
        let args: Vec<Obj> = e.args.iter().cloned().map(Obj::from).collect();
        self.save_reduce(&e.module, &e.name, &args);
    }
}

/// Minimal little-endian two's complement, as `pickle.encode_long`.
fn encode_long(i: i64) -> Vec<u8> {
    let bytes = i.to_le_bytes();
    let mut n = 8;
    while n > 1 {
        let last = bytes[n - 1];
        let prev_sign = bytes[n - 2] & 0x80;
        if (last == 0 && prev_sign == 0) || (last == 0xff && prev_sign != 0) {
            n -= 1;
        } else {
            break;
        }
    }
    bytes[..n].to_vec()
}

/// A reply `(0, result)`.
pub fn ok(result: Obj) -> Obj {
    Obj::Tuple(vec![Obj::Int(0), result])
}

/// A reply `(1, exception)`.
pub fn err(e: PyException) -> Obj {
    Obj::Tuple(vec![Obj::Int(1), Obj::Exception(e)])
}

/// The reply a stopping server gives to everything: `['SHUTDOWN']`.
pub fn shutdown() -> Obj {
    Obj::List(vec![Obj::Str("SHUTDOWN".into())])
}

/// The bare string fail2ban sends when a request cannot be unpickled.
pub fn load_error(msg: &str) -> Obj {
    Obj::from(Value::Str(format!("ERROR: {msg}")))
}
