//! The Python expression subset of `bantime.formula` and `bantime.factor`.
//!
//! fail2ban `eval()`s these with `ban.Time`, `ban.Count`, `banFactor` and
//! the `math` module in scope. This evaluator accepts numbers, those
//! names, `math.<fn>(...)`, `float()`, `int()`, `min()`, `max()`, `abs()`,
//! `round()`, the operators `** * / // % + - << >>`, comparisons, `not`,
//! `and`, `or`, parentheses and `a if cond else b`. Everything is computed
//! in `f64`; shifts act on the integer part. Anything else is a parse
//! error naming the offset, never a silent guess.

/// Values of the names an expression may use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vars {
    /// `ban.Time`
    pub time: f64,
    /// `ban.Count`
    pub count: f64,
    /// `banFactor`
    pub factor: f64,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// A name (`ban.Time`, `ban.Count`, `banFactor`, `math.e`, `math.pi`).
    Var(String),
    /// `-x`, `+x`, `not x`.
    Unary(&'static str, Box<Expr>),
    /// A binary operator.
    Bin(&'static str, Box<Expr>, Box<Expr>),
    /// `a if cond else b`.
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A function call.
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Op(&'static str),
}

const OPS: [&str; 22] = [
    "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "*", "/", "%", "+", "-", "<", ">", "(", ")",
    ",", "&", "|", "^", "~",
];

fn lex(s: &str) -> Result<Vec<(usize, Tok)>, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let st = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                i += 1;
                if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                    i += 1;
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let txt: String = s[st..i].chars().filter(|&c| c != '_').collect();
            let v = txt
                .parse::<f64>()
                .map_err(|_| format!("bad number {txt:?} at offset {st}"))?;
            out.push((st, Tok::Num(v)));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let st = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            out.push((st, Tok::Name(s[st..i].to_string())));
        } else {
            let op = OPS
                .iter()
                .find(|op| s[i..].starts_with(**op))
                .ok_or_else(|| format!("unexpected {:?} at offset {i}", c as char))?;
            out.push((i, Tok::Op(op)));
            i += op.len();
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |(o, _)| *o)
    }
    fn eat_op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Name(n)) if n == kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expr(&mut self) -> Result<Expr, String> {
        let a = self.or()?;
        if self.eat_kw("if") {
            let c = self.or()?;
            if !self.eat_kw("else") {
                return Err(format!("expected 'else' at offset {}", self.at()));
            }
            let b = self.expr()?;
            return Ok(Expr::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(a)
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut a = self.and()?;
        while self.eat_kw("or") {
            a = Expr::Bin("or", Box::new(a), Box::new(self.and()?));
        }
        Ok(a)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut a = self.not()?;
        while self.eat_kw("and") {
            a = Expr::Bin("and", Box::new(a), Box::new(self.not()?));
        }
        Ok(a)
    }
    fn not(&mut self) -> Result<Expr, String> {
        if self.eat_kw("not") {
            return Ok(Expr::Unary("not", Box::new(self.not()?)));
        }
        self.cmp()
    }
    fn binary(
        &mut self,
        ops: &[&'static str],
        next: fn(&mut Parser) -> Result<Expr, String>,
    ) -> Result<Expr, String> {
        let mut a = next(self)?;
        'outer: loop {
            for op in ops {
                if self.eat_op(op) {
                    a = Expr::Bin(op, Box::new(a), Box::new(next(self)?));
                    continue 'outer;
                }
            }
            return Ok(a);
        }
    }
    fn cmp(&mut self) -> Result<Expr, String> {
        self.binary(&["<=", ">=", "==", "!=", "<", ">"], Parser::shift)
    }
    fn shift(&mut self) -> Result<Expr, String> {
        self.binary(&["<<", ">>"], Parser::sum)
    }
    fn sum(&mut self) -> Result<Expr, String> {
        self.binary(&["+", "-"], Parser::term)
    }
    fn term(&mut self) -> Result<Expr, String> {
        self.binary(&["*", "//", "/", "%"], Parser::unary)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat_op("-") {
            return Ok(Expr::Unary("-", Box::new(self.unary()?)));
        }
        if self.eat_op("+") {
            return Ok(Expr::Unary("+", Box::new(self.unary()?)));
        }
        self.power()
    }
    fn power(&mut self) -> Result<Expr, String> {
        let a = self.primary()?;
        if self.eat_op("**") {
            return Ok(Expr::Bin("**", Box::new(a), Box::new(self.unary()?)));
        }
        Ok(a)
    }
    fn primary(&mut self) -> Result<Expr, String> {
        let at = self.at();
        match self.toks.get(self.pos).map(|(_, t)| t.clone()) {
            Some(Tok::Num(v)) => {
                self.pos += 1;
                Ok(Expr::Num(v))
            }
            Some(Tok::Name(n)) => {
                self.pos += 1;
                if self.eat_op("(") {
                    let mut args = Vec::new();
                    if !self.eat_op(")") {
                        loop {
                            args.push(self.expr()?);
                            if self.eat_op(")") {
                                break;
                            }
                            if !self.eat_op(",") {
                                return Err(format!("expected ',' or ')' at offset {}", self.at()));
                            }
                        }
                    }
                    Ok(Expr::Call(n, args))
                } else {
                    Ok(Expr::Var(n))
                }
            }
            Some(Tok::Op("(")) => {
                self.pos += 1;
                let e = self.expr()?;
                if !self.eat_op(")") {
                    return Err(format!("expected ')' at offset {}", self.at()));
                }
                Ok(e)
            }
            Some(t) => Err(format!("unexpected {t:?} at offset {at}")),
            None => Err(format!("unexpected end of expression at offset {at}")),
        }
    }
}

/// Parses an expression.
///
/// # Errors
/// A message naming the offset of the first unsupported or malformed part.
pub fn parse(s: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: lex(s)?,
        pos: 0,
        len: s.len(),
    };
    let e = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(format!(
            "unexpected {:?} at offset {}",
            p.toks[p.pos].1,
            p.at()
        ));
    }
    e.check()?;
    Ok(e)
}

const FUNCS: [&str; 17] = [
    "float",
    "int",
    "min",
    "max",
    "abs",
    "round",
    "math.exp",
    "math.log",
    "math.log2",
    "math.log10",
    "math.sqrt",
    "math.pow",
    "math.floor",
    "math.ceil",
    "math.fabs",
    "math.trunc",
    "pow",
];

impl Expr {
    fn check(&self) -> Result<(), String> {
        match self {
            Expr::Num(_) => Ok(()),
            Expr::Var(n) => match n.as_str() {
                "ban.Time" | "ban.Count" | "banFactor" | "math.e" | "math.pi" | "True"
                | "False" => Ok(()),
                _ => Err(format!("unknown name {n:?}")),
            },
            Expr::Unary(_, a) => a.check(),
            Expr::Bin(_, a, b) => a.check().and(b.check()),
            Expr::Cond(c, a, b) => c.check().and(a.check()).and(b.check()),
            Expr::Call(f, args) => {
                if !FUNCS.contains(&f.as_str()) {
                    return Err(format!("unknown function {f:?}"));
                }
                args.iter().try_for_each(Expr::check)
            }
        }
    }

    /// Evaluates with the given names.
    ///
    /// # Errors
    /// Division by zero, a bad argument count or a non-finite result.
    pub fn eval(&self, v: &Vars) -> Result<f64, String> {
        let b = |x: bool| if x { 1.0 } else { 0.0 };
        let r = match self {
            Expr::Num(n) => *n,
            Expr::Var(n) => match n.as_str() {
                "ban.Time" => v.time,
                "ban.Count" => v.count,
                "banFactor" => v.factor,
                "math.e" => std::f64::consts::E,
                "math.pi" => std::f64::consts::PI,
                "True" => 1.0,
                _ => 0.0,
            },
            Expr::Unary(op, a) => {
                let a = a.eval(v)?;
                match *op {
                    "-" => -a,
                    "not" => b(a == 0.0),
                    _ => a,
                }
            }
            Expr::Cond(c, a, e) => {
                if c.eval(v)? != 0.0 {
                    a.eval(v)?
                } else {
                    e.eval(v)?
                }
            }
            Expr::Bin(op, x, y) => {
                let x = x.eval(v)?;
                if *op == "and" {
                    return if x == 0.0 { Ok(x) } else { y.eval(v) };
                }
                if *op == "or" {
                    return if x != 0.0 { Ok(x) } else { y.eval(v) };
                }
                let y = y.eval(v)?;
                match *op {
                    "+" => x + y,
                    "-" => x - y,
                    "*" => x * y,
                    "/" | "//" | "%" if y == 0.0 => return Err("division by zero".into()),
                    "/" => x / y,
                    "//" => (x / y).floor(),
                    "%" => x - y * (x / y).floor(),
                    "**" => x.powf(y),
                    "<<" => x.trunc() * 2f64.powi(y.trunc().clamp(0.0, 1023.0) as i32),
                    ">>" => (x.trunc() / 2f64.powi(y.trunc().clamp(0.0, 1023.0) as i32)).floor(),
                    "<" => b(x < y),
                    "<=" => b(x <= y),
                    ">" => b(x > y),
                    ">=" => b(x >= y),
                    "==" => b(x == y),
                    "!=" => b(x != y),
                    other => return Err(format!("operator {other:?} is not supported")),
                }
            }
            Expr::Call(f, args) => {
                let a: Vec<f64> = args.iter().map(|e| e.eval(v)).collect::<Result<_, _>>()?;
                let one = || {
                    a.first()
                        .copied()
                        .ok_or_else(|| format!("{f}() needs an argument"))
                };
                match f.as_str() {
                    "float" => one()?,
                    "int" | "math.trunc" => one()?.trunc(),
                    "abs" | "math.fabs" => one()?.abs(),
                    "round" => crate::ticket::round_half_even(one()?),
                    "math.exp" => one()?.exp(),
                    "math.log" if a.len() == 2 => a[0].ln() / a[1].ln(),
                    "math.log" => one()?.ln(),
                    "math.log2" => one()?.log2(),
                    "math.log10" => one()?.log10(),
                    "math.sqrt" => one()?.sqrt(),
                    "math.floor" => one()?.floor(),
                    "math.ceil" => one()?.ceil(),
                    "math.pow" | "pow" if a.len() == 2 => a[0].powf(a[1]),
                    "min" if !a.is_empty() => a.iter().copied().fold(f64::INFINITY, f64::min),
                    "max" if !a.is_empty() => a.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    _ => return Err(format!("bad call of {f}() with {} argument(s)", a.len())),
                }
            }
        };
        if r.is_nan() {
            return Err("result is not a number".into());
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> f64 {
        parse(s)
            .unwrap()
            .eval(&Vars {
                time: 600.0,
                count: 3.0,
                factor: 1.0,
            })
            .unwrap()
    }

    /// Results of the same expressions in Python 3.
    #[test]
    fn python_semantics() {
        assert_eq!(ev(super::super::DEFAULT_FORMULA), 4800.0);
        assert_eq!(ev("-2**2"), -4.0);
        assert_eq!(ev("2**-1"), 0.5);
        assert_eq!(ev("7//2"), 3.0);
        assert_eq!(ev("-7//2"), -4.0);
        assert_eq!(ev("-7%3"), 2.0);
        assert_eq!(ev("1 if 0 else 2 if 1 else 3"), 2.0);
        assert_eq!(ev("max(1, ban.Count, 2)"), 3.0);
        assert_eq!(ev("1<<3+1"), 16.0);
    }

    #[test]
    fn rejects_what_it_cannot_evaluate() {
        assert!(parse("__import__('os')").is_err());
        assert!(parse("ban.Tim").is_err());
        assert!(parse("1 +").is_err());
        assert!(parse("'x'").is_err());
    }
}
