//! The reading half: an arena of nodes (lists, tuples and dicts shared
//! through the memo) and the stack and memo that fill it; [`opcodes`] is the
//! loop that decodes each opcode onto them.

use std::collections::HashMap;

use ironban_config::Value;

use super::super::obj::{Obj, PyException};
use super::{PickleError, KNOWN_EXCEPTIONS, MAX_DEPTH, MAX_NODES};

mod opcodes;

#[derive(Debug, Clone)]
enum Node {
    Leaf(Obj),
    List(Vec<usize>),
    Tuple(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    Class(String, String),
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Mark,
    Node(usize),
}

pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    op_at: usize,
    reply: bool,
    nodes: Vec<Node>,
    stack: Vec<Slot>,
    memo: HashMap<u64, usize>,
    dict_keys: HashMap<usize, HashMap<String, usize>>,
    /// Nodes already expanded for REDUCE arguments (counts against MAX_NODES).
    reduced: usize,
}

/// Nodes `o` stands for (text at one per 8 bytes), counted up to `cap`.
fn obj_weight(o: &Obj, cap: usize) -> usize {
    fn value_weight(v: &Value, cap: usize) -> usize {
        match v {
            Value::Str(t) => 1 + t.len() / 8,
            Value::List(xs) | Value::Tuple(xs) => xs
                .iter()
                .try_fold(1usize, |n, x| {
                    let n = n + value_weight(x, cap);
                    (n <= cap).then_some(n)
                })
                .unwrap_or(cap + 1),
            Value::Dict(kv) => kv
                .iter()
                .try_fold(1usize, |n, (k, x)| {
                    let n = n + value_weight(k, cap) + value_weight(x, cap);
                    (n <= cap).then_some(n)
                })
                .unwrap_or(cap + 1),
            _ => 1,
        }
    }
    match o {
        Obj::Str(t) | Obj::Ip(t) => 1 + t.len() / 8,
        Obj::List(xs) | Obj::Tuple(xs) => xs
            .iter()
            .try_fold(1usize, |n, x| {
                let n = n + obj_weight(x, cap);
                (n <= cap).then_some(n)
            })
            .unwrap_or(cap + 1),
        Obj::Dict(kv) => kv
            .iter()
            .try_fold(1usize, |n, (k, x)| {
                let n = n + obj_weight(k, cap) + obj_weight(x, cap);
                (n <= cap).then_some(n)
            })
            .unwrap_or(cap + 1),
        Obj::Exception(e) => e
            .args
            .iter()
            .try_fold(1usize, |n, x| {
                let n = n + value_weight(x, cap);
                (n <= cap).then_some(n)
            })
            .unwrap_or(cap + 1),
        _ => 1,
    }
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], reply: bool) -> Reader<'a> {
        Reader {
            data,
            pos: 0,
            op_at: 0,
            reply,
            nodes: Vec::new(),
            stack: Vec::new(),
            memo: HashMap::new(),
            dict_keys: HashMap::new(),
            reduced: 0,
        }
    }

    fn err(&self, msg: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            offset: self.op_at,
            msg: msg.into(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self.pos.checked_add(n).ok_or(PickleError::Truncated)?;
        if end > self.data.len() {
            return Err(PickleError::Truncated);
        }
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, PickleError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, PickleError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn len_from(&self, n: u64) -> Result<usize, PickleError> {
        let n = usize::try_from(n).map_err(|_| PickleError::TooLarge)?;
        if n > self.data.len() - self.pos.min(self.data.len()) {
            return Err(PickleError::Truncated);
        }
        Ok(n)
    }

    fn line(&mut self) -> Result<&'a str, PickleError> {
        let rest = &self.data[self.pos..];
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated)?;
        self.pos += nl + 1;
        std::str::from_utf8(&rest[..nl]).map_err(|_| self.err("line is not UTF-8"))
    }

    fn utf8(&self, b: &[u8]) -> Result<String, PickleError> {
        String::from_utf8(b.to_vec()).map_err(|_| self.err("string is not valid UTF-8"))
    }

    fn new_node(&mut self, n: Node) -> Result<usize, PickleError> {
        if self.nodes.len() >= MAX_NODES {
            return Err(PickleError::TooLarge);
        }
        self.nodes.push(n);
        Ok(self.nodes.len() - 1)
    }

    fn push(&mut self, n: Node) -> Result<(), PickleError> {
        let id = self.new_node(n)?;
        self.stack.push(Slot::Node(id));
        Ok(())
    }

    fn push_leaf(&mut self, o: Obj) -> Result<(), PickleError> {
        self.push(Node::Leaf(o))
    }

    fn pop(&mut self) -> Result<usize, PickleError> {
        match self.stack.pop() {
            Some(Slot::Node(id)) => Ok(id),
            Some(Slot::Mark) => Err(self.err("unexpected MARK on the stack")),
            None => Err(self.err("stack underflow")),
        }
    }

    fn top(&self) -> Result<usize, PickleError> {
        match self.stack.last() {
            Some(Slot::Node(id)) => Ok(*id),
            _ => Err(self.err("stack underflow")),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<usize>, PickleError> {
        let at = self
            .stack
            .iter()
            .rposition(|s| matches!(s, Slot::Mark))
            .ok_or_else(|| self.err("no MARK on the stack"))?;
        let items = self
            .stack
            .drain(at + 1..)
            .map(|s| match s {
                Slot::Node(id) => id,
                Slot::Mark => unreachable!("the last mark was found above"),
            })
            .collect();
        self.stack.pop();
        Ok(items)
    }

    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let id = self.top()?;
        self.memo.insert(key, id);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        let id = *self
            .memo
            .get(&key)
            .ok_or_else(|| self.err(format!("memo key {key} not found")))?;
        self.stack.push(Slot::Node(id));
        Ok(())
    }

    fn extend_list(&mut self, list: usize, items: Vec<usize>) -> Result<(), PickleError> {
        match &mut self.nodes[list] {
            Node::List(v) => {
                v.extend(items);
                Ok(())
            }
            _ => Err(self.err("APPEND to something that is not a list")),
        }
    }

    fn set_items(&mut self, dict: usize, items: Vec<usize>) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.err("odd number of items for SETITEMS"));
        }
        if !matches!(self.nodes[dict], Node::Dict(_)) {
            return Err(self.err("SETITEM on something that is not a dict"));
        }
        for pair in items.chunks(2) {
            let (k, v) = (pair[0], pair[1]);
            // Keys compare by their repr: equal plain values, equal keys.
            let key = self.build(k, 0, &mut 0)?.repr();
            let index = self.dict_keys.entry(dict).or_default();
            let found = index.get(&key).copied();
            if found.is_none() {
                let len = match &self.nodes[dict] {
                    Node::Dict(d) => d.len(),
                    _ => 0,
                };
                index.insert(key, len);
            }
            if let Node::Dict(d) = &mut self.nodes[dict] {
                // A dict keeps the first position of a key and the last value.
                match found {
                    Some(i) => d[i].1 = v,
                    None => d.push((k, v)),
                }
            }
        }
        Ok(())
    }

    fn forbidden(&self, name: &'static str) -> PickleError {
        PickleError::Forbidden {
            name,
            offset: self.op_at,
        }
    }

    fn class(&mut self, module: String, name: String) -> Result<(), PickleError> {
        if !self.reply {
            return Err(self.forbidden("GLOBAL"));
        }
        let known = (module == "builtins" && name == "str")
            || KNOWN_EXCEPTIONS
                .iter()
                .any(|(m, n)| *m == module && *n == name);
        if !known {
            return Err(PickleError::UnknownClass(format!("{module}.{name}")));
        }
        self.push(Node::Class(module, name))
    }

    fn reduce(&mut self) -> Result<(), PickleError> {
        if !self.reply {
            return Err(self.forbidden("REDUCE"));
        }
        let args = self.pop()?;
        let callable = self.pop()?;
        let (module, name) = match &self.nodes[callable] {
            Node::Class(m, n) => (m.clone(), n.clone()),
            _ => return Err(self.err("REDUCE of something that is not a known class")),
        };
        // One budget for every REDUCE and the final value together.
        let mut count = self.reduced;
        let built = self.build(args, 0, &mut count)?;
        self.reduced = count;
        let args = match built {
            Obj::Tuple(a) => a,
            _ => return Err(self.err("REDUCE arguments are not a tuple")),
        };
        let obj = if module == "builtins" && name == "str" {
            match args.as_slice() {
                [Obj::Str(s)] => Obj::Ip(s.clone()),
                _ => return Err(self.err("str() needs one string")),
            }
        } else {
            Obj::Exception(PyException {
                module,
                name,
                args: args.iter().map(Obj::to_value).collect(),
            })
        };
        self.push_leaf(obj)
    }

    /// Builds the value of node `id`; `count` bounds the total expansion
    /// (nodes, plus text at one per 8 bytes) so a memo that references one
    /// big list or string many times cannot explode.
    fn build(&self, id: usize, depth: usize, count: &mut usize) -> Result<Obj, PickleError> {
        if depth > MAX_DEPTH {
            return Err(PickleError::TooLarge);
        }
        *count += 1;
        if *count > MAX_NODES {
            return Err(PickleError::TooLarge);
        }
        Ok(match &self.nodes[id] {
            Node::Leaf(o) => {
                // A memo can reference one long string, or an exception
                // built from a big tuple, millions of times: a leaf counts
                // as what it holds (text at one per 8 bytes).
                *count += obj_weight(o, MAX_NODES) - 1;
                if *count > MAX_NODES {
                    return Err(PickleError::TooLarge);
                }
                o.clone()
            }
            Node::List(items) => Obj::List(
                items
                    .iter()
                    .map(|i| self.build(*i, depth + 1, count))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Tuple(items) => Obj::Tuple(
                items
                    .iter()
                    .map(|i| self.build(*i, depth + 1, count))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Dict(items) => Obj::Dict(
                items
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            self.build(*k, depth + 1, count)?,
                            self.build(*v, depth + 1, count)?,
                        ))
                    })
                    .collect::<Result<_, PickleError>>()?,
            ),
            Node::Class(m, n) => {
                return Err(self.err(format!("class {m}.{n} used as a value")));
            }
        })
    }
}
