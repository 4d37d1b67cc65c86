//! The opcode loop: what each pickle opcode (protocols 0–5) does to the
//! reader's stack, memo and arena, and which opcodes are refused.

use super::super::super::obj::Obj;
use super::super::PickleError;
use super::{Node, Reader, Slot};

impl Reader<'_> {
    pub(crate) fn run(mut self) -> Result<Obj, PickleError> {
        loop {
            self.op_at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if proto > 5 {
                        return Err(self.err(format!("unsupported pickle protocol {proto}")));
                    }
                }
                0x95 => {
                    // FRAME: only a length hint for buffered readers.
                    let n = self.u64()?;
                    self.len_from(n)?;
                }
                b'.' => {
                    let id = self.pop()?;
                    let mut count = self.reduced;
                    return self.build(id, 0, &mut count);
                }
                b'(' => self.stack.push(Slot::Mark),
                b'0' => {
                    match self.stack.pop() {
                        Some(_) => {}
                        None => return Err(self.err("stack underflow")),
                    };
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let id = self.top()?;
                    self.stack.push(Slot::Node(id));
                }
                b'N' => self.push_leaf(Obj::None)?,
                0x88 => self.push_leaf(Obj::Bool(true))?,
                0x89 => self.push_leaf(Obj::Bool(false))?,
                b'I' => {
                    let l = self.line()?;
                    let v = match l {
                        "01" => Obj::Bool(true),
                        "00" => Obj::Bool(false),
                        _ => Obj::Int(l.trim().parse().map_err(|_| self.err("bad INT"))?),
                    };
                    self.push_leaf(v)?;
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push_leaf(Obj::Int(v.into()))?;
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push_leaf(Obj::Int(v.into()))?;
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push_leaf(Obj::Int(v.into()))?;
                }
                b'L' => {
                    let l = self.line()?;
                    let v = l.trim_end_matches('L').trim();
                    let v: i64 = v.parse().map_err(|_| self.err("integer out of range"))?;
                    self.push_leaf(Obj::Int(v))?;
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        self.u8()? as u64
                    } else {
                        self.u32()? as u64
                    };
                    let n = self.len_from(n)?;
                    let bytes = self.take(n)?;
                    let v = decode_long(bytes).ok_or_else(|| self.err("integer out of range"))?;
                    self.push_leaf(Obj::Int(v))?;
                }
                b'F' => {
                    let l = self.line()?;
                    let v: f64 = l.trim().parse().map_err(|_| self.err("bad FLOAT"))?;
                    self.push_leaf(Obj::Float(v))?;
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push_leaf(Obj::Float(f64::from_be_bytes(a)))?;
                }
                b'S' => {
                    let l = self.line()?;
                    let s = l
                        .strip_prefix(['\'', '"'])
                        .and_then(|s| s.strip_suffix(['\'', '"']))
                        .ok_or_else(|| self.err("bad STRING"))?
                        .to_string();
                    self.push_leaf(Obj::Str(s))?;
                }
                b'T' | b'U' => {
                    let n = if op == b'T' {
                        self.u32()? as u64
                    } else {
                        self.u8()? as u64
                    };
                    let n = self.len_from(n)?;
                    // Python 2 str: Python 3 decodes it as ASCII by default.
                    let s = self.take(n)?.iter().map(|&b| b as char).collect();
                    self.push_leaf(Obj::Str(s))?;
                }
                b'V' => {
                    let l = self.line()?;
                    let s = raw_unicode_escape(l).ok_or_else(|| self.err("bad UNICODE"))?;
                    self.push_leaf(Obj::Str(s))?;
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => self.u32()? as u64,
                        0x8c => self.u8()? as u64,
                        _ => self.u64()?,
                    };
                    let n = self.len_from(n)?;
                    let b = self.take(n)?;
                    let s = self.utf8(b)?;
                    self.push_leaf(Obj::Str(s))?;
                }
                b'B' | b'C' | 0x8e | 0x96 => {
                    return Err(self.err("bytes are not part of fail2ban's protocol"));
                }
                b']' => self.push(Node::List(Vec::new()))?,
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Node::List(items))?;
                }
                b'a' => {
                    let item = self.pop()?;
                    let list = self.top()?;
                    self.extend_list(list, vec![item])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let list = self.top()?;
                    self.extend_list(list, items)?;
                }
                b')' => self.push(Node::Tuple(Vec::new()))?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(Node::Tuple(items))?;
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push(Node::Tuple(items))?;
                }
                b'}' => self.push(Node::Dict(Vec::new()))?,
                b'd' => {
                    let items = self.pop_mark()?;
                    let id = self.new_node(Node::Dict(Vec::new()))?;
                    self.set_items(id, items)?;
                    self.stack.push(Slot::Node(id));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let d = self.top()?;
                    self.set_items(d, vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let d = self.top()?;
                    self.set_items(d, items)?;
                }
                // Sets become lists: Value has no set, and fail2ban never
                // relies on set semantics in a request.
                0x8f => self.push(Node::List(Vec::new()))?,
                0x90 => {
                    let items = self.pop_mark()?;
                    let set = self.top()?;
                    self.extend_list(set, items)?;
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Node::List(items))?;
                }
                b'p' => {
                    let l = self.line()?;
                    let k = l.trim().parse().map_err(|_| self.err("bad PUT"))?;
                    self.memo_put(k)?;
                }
                b'q' => {
                    let k = self.u8()? as u64;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.u32()? as u64;
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    self.memo_put(k)?;
                }
                b'g' => {
                    let l = self.line()?;
                    let k = l.trim().parse().map_err(|_| self.err("bad GET"))?;
                    self.memo_get(k)?;
                }
                b'h' => {
                    let k = self.u8()? as u64;
                    self.memo_get(k)?;
                }
                b'j' => {
                    let k = self.u32()? as u64;
                    self.memo_get(k)?;
                }
                b'c' => {
                    if !self.reply {
                        return Err(self.forbidden("GLOBAL"));
                    }
                    let module = self.line()?.to_string();
                    let name = self.line()?.to_string();
                    self.class(module, name)?;
                }
                0x93 => {
                    if !self.reply {
                        return Err(self.forbidden("STACK_GLOBAL"));
                    }
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Node::Leaf(Obj::Str(m)), Node::Leaf(Obj::Str(n))) =
                        (&self.nodes[module], &self.nodes[name])
                    else {
                        return Err(self.err("STACK_GLOBAL needs two strings"));
                    };
                    let (m, n) = (m.clone(), n.clone());
                    self.class(m, n)?;
                }
                b'R' => self.reduce()?,
                b'b' => {
                    // BUILD after an exception's REDUCE carries its __dict__;
                    // the state is dropped, the exception kept.
                    if !self.reply {
                        return Err(self.forbidden("BUILD"));
                    }
                    let _state = self.pop()?;
                    let target = self.top()?;
                    if !matches!(&self.nodes[target], Node::Leaf(Obj::Exception(_))) {
                        return Err(self.forbidden("BUILD"));
                    }
                }
                b'i' => return Err(self.forbidden("INST")),
                b'o' => return Err(self.forbidden("OBJ")),
                0x81 => return Err(self.forbidden("NEWOBJ")),
                0x92 => return Err(self.forbidden("NEWOBJ_EX")),
                0x82..=0x84 => return Err(self.forbidden("EXT")),
                b'P' => return Err(self.forbidden("PERSID")),
                b'Q' => return Err(self.forbidden("BINPERSID")),
                0x97 => return Err(self.forbidden("NEXT_BUFFER")),
                0x98 => return Err(self.forbidden("READONLY_BUFFER")),
                _ => {
                    return Err(PickleError::BadOpcode {
                        op,
                        offset: self.op_at,
                    })
                }
            }
        }
    }
}

/// Little-endian two's complement (LONG1/LONG4), if it fits in an i64.
fn decode_long(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() {
        return Some(0);
    }
    if bytes.len() > 8 {
        // Allow sign-extension bytes beyond the 8th.
        let (low, high) = bytes.split_at(8);
        let neg = low[7] & 0x80 != 0;
        let fill = if neg { 0xff } else { 0 };
        if high.iter().any(|&b| b != fill) {
            return None;
        }
        return decode_long(low);
    }
    let neg = bytes[bytes.len() - 1] & 0x80 != 0;
    let mut a = if neg { [0xffu8; 8] } else { [0u8; 8] };
    a[..bytes.len()].copy_from_slice(bytes);
    Some(i64::from_le_bytes(a))
}

/// Python's `raw-unicode-escape` decoding of a protocol-0 `UNICODE` line.
fn raw_unicode_escape(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('u') | Some('U')) {
            let n = if chars.next() == Some('u') { 4 } else { 8 };
            let hex: String = chars.by_ref().take(n).collect();
            out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
        } else {
            out.push(c);
        }
    }
    Some(out)
}
