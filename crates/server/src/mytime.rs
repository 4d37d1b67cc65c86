//! Time helpers the transmitter needs: `str2seconds` for `findtime`,
//! `bantime`, `dbpurgeage`, and `time2str` for `get banip --with-time`
//! (fail2ban: `server/mytime.py`).
//!
//! fail2ban evaluates the expression with Python's `eval`; ironban reads the
//! same grammar (numbers with unit words, summed) without evaluating code.

use ironban_config::Value;

use crate::protocol::PyException;

const UNITS: &[(&[&str], f64, bool)] = &[
    (&["days", "day", "da", "dd", "d"], 86400.0, true),
    (&["weeks", "week", "wee", "we", "ww", "w"], 604800.0, true),
    (&["months", "month", "mon", "mo"], 2629800.0, false),
    (
        &["years", "year", "yea", "ye", "yy", "y"],
        31557600.0,
        false,
    ),
    (&["seconds", "second", "sec", "se", "ss", "s"], 1.0, true),
    (&["minutes", "minute", "min", "mi", "mm", "m"], 60.0, true),
    (&["hours", "hour", "hou", "ho", "hh", "h"], 3600.0, true),
];

/// `MyTime.str2seconds`: `"10m"` → 600, `"1h 30m"` → 5400, `"-1"` → -1,
/// `"1mo"` → 2629800.0 (a float, as in fail2ban). Ints and floats pass.
///
/// # Errors
/// `ValueError` naming the value when it is not a duration.
pub fn str2seconds(v: &Value) -> Result<Value, PyException> {
    match v {
        Value::Int(_) | Value::Float(_) => return Ok(v.clone()),
        Value::Bool(b) => return Ok(Value::Int(i64::from(*b))),
        Value::Str(_) => {}
        other => {
            return Err(PyException::type_error(format!(
                "eval() arg 1 must be a string, bytes or code object, not {}",
                other.repr()
            )))
        }
    }
    let s = v.as_str().unwrap_or_default().trim();
    let bad = || PyException::value_error(format!("invalid time value {:?}", s));
    if let Ok(i) = s.parse::<i64>() {
        return Ok(Value::Int(i));
    }
    if let Ok(f) = s.parse::<f64>() {
        return Ok(Value::Float(f));
    }
    // Python evaluates the text: a bare word is an unknown name.
    let is_ident = s
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_alphanumeric() || c == '_');
    let lower = s.to_ascii_lowercase();
    if is_ident {
        return Err(PyException::new(
            "builtins",
            "NameError",
            format!("name '{s}' is not defined"),
        ));
    }
    let b = lower.as_bytes();
    let mut i = 0;
    let mut total_i: i64 = 0;
    let mut total_f: f64 = 0.0;
    let mut is_float = false;
    let mut any = false;
    while i < b.len() {
        while i < b.len() && (b[i] == b' ' || b[i] == b'+') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        if b[i] == b'-' {
            i += 1;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let num = &lower[start..i];
        if num.is_empty() || num == "-" {
            return Err(bad());
        }
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &lower[ustart..i];
        let (mult, int_unit) = if unit.is_empty() {
            (1.0, true)
        } else {
            UNITS
                .iter()
                .find(|(names, _, _)| names.contains(&unit))
                .map(|(_, m, int)| (*m, *int))
                .ok_or_else(bad)?
        };
        any = true;
        if num.contains('.') || !int_unit {
            is_float = true;
        }
        if !is_float {
            let n: i64 = num.parse().map_err(|_| bad())?;
            total_i = total_i.saturating_add(n.saturating_mul(mult as i64));
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        total_f += n * mult;
    }
    if !any {
        return Err(bad());
    }
    Ok(if is_float {
        Value::Float(total_f)
    } else {
        Value::Int(total_i)
    })
}

/// `int()` of a number value (floats truncate, as Python).
pub fn to_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// `MyTime.time2str`: local time as `%Y-%m-%d %H:%M:%S`; beyond what
/// Python's datetime holds (a permanent ban's end) it is the last second of
/// year 9999, as fail2ban prints it.
pub fn time2str(t: f64) -> String {
    const LAST: f64 = 253_402_300_799.0; // 9999-12-31 23:59:59 UTC
    if t >= LAST {
        return "9999-12-31 23:59:59".to_string();
    }
    let secs = t.floor() as libc::time_t;
    // SAFETY: localtime_r writes into the tm we own; a zeroed tm is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return String::from("?");
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// `MyTime.seconds2str`: a duration as fail2ban logs it (`1h`, `2d 7h 15m`,
/// `59m 50s`), at most three groups, rounded as fail2ban rounds.
pub fn seconds2str(sec: f64) -> String {
    let mut r = String::new();
    let join = |parts: Vec<(i64, &str)>| {
        parts
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, u)| format!("{n}{u}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    if sec >= 31_536_000.0 {
        let s = (sec / 86400.0).round() as i64;
        let (y, s) = (s / 365, s % 365);
        let (w, d) = if s >= 7 { (s / 7, s % 7) } else { (0, s) };
        return join(vec![(y, "y"), (w, "w"), (d, "d")]);
    }
    if sec >= 604_800.0 {
        let s = (sec / 3600.0).round() as i64;
        let (w, s) = (s / 168, s % 168);
        let (d, h) = if s >= 24 { (s / 24, s % 24) } else { (0, s) };
        return join(vec![(w, "w"), (d, "d"), (h, "h")]);
    }
    if sec >= 86_400.0 {
        let s = (sec / 60.0).round() as i64;
        let (d, s) = (s / 1440, s % 1440);
        let (h, m) = if s >= 60 { (s / 60, s % 60) } else { (0, s) };
        return join(vec![(d, "d"), (h, "h"), (m, "m")]);
    }
    if sec >= 3595.0 {
        let s = (sec / 10.0).round() as i64;
        let (h, s) = (s / 360, s % 360);
        let m = if s >= 6 { s / 6 } else { 0 };
        return join(vec![(h, "h"), (m, "m")]);
    }
    let s = sec as i64;
    if s >= 60 {
        r.push_str(&format!("{}m ", s / 60));
    }
    if s % 60 != 0 {
        r.push_str(&format!("{}s ", s % 60));
    } else if s == 0 {
        r.push_str("0 ");
    }
    r.trim_end().to_string()
}

/// Now, as a Unix time with fractions.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_fail2ban() {
        let s = |x: &str| str2seconds(&Value::str(x)).unwrap();
        assert_eq!(s("10m"), Value::Int(600));
        assert_eq!(s("1h 30m"), Value::Int(5400));
        assert_eq!(s("-1"), Value::Int(-1));
        assert_eq!(s("1d"), Value::Int(86400));
        assert_eq!(s("1mo"), Value::Float(2629800.0));
        assert_eq!(s("600"), Value::Int(600));
        assert!(str2seconds(&Value::str("abc")).is_err());
    }
}
