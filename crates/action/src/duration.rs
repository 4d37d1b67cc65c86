//! `timeout` values as fail2ban reads them (fail2ban: mytime.py
//! `str2seconds`): plain numbers, or sums of `<number><unit>` terms.
//!
//! A small local copy so this crate builds on its own; ironban-config's
//! duration reader is the full one and the two are to be reconciled.

/// Seconds of a duration string, or `None` if it is not one.
/// `10m`=600, `1h 30m`=5400, `1d12h`=129600, `-1`=-1, `1mo`=2629800.
pub fn str2seconds(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total = 0.0;
    let mut any = false;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut sign = 1.0;
        if b[i] == b'+' || b[i] == b'-' {
            if b[i] == b'-' {
                sign = -1.0;
            }
            i += 1;
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let num: f64 = s[start..i].parse().ok()?;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let mult = unit(&s[ustart..i].to_ascii_lowercase())?;
        total += sign * num * mult;
        any = true;
    }
    any.then_some(total)
}

fn unit(u: &str) -> Option<f64> {
    Some(match u {
        "" | "s" | "ss" | "se" | "sec" | "second" | "seconds" => 1.0,
        "m" | "mm" | "mi" | "min" | "minute" | "minutes" => 60.0,
        "h" | "hh" | "ho" | "hou" | "hour" | "hours" => 3600.0,
        "d" | "dd" | "da" | "day" | "days" => 86400.0,
        "w" | "ww" | "we" | "wee" | "week" | "weeks" => 604800.0,
        "mo" | "mon" | "month" | "months" => 2629800.0,
        "y" | "yy" | "ye" | "yea" | "year" | "years" => 31557600.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::str2seconds;

    /// Values from internals §D.5 ("Verified" list of `mytime.str2seconds`).
    #[test]
    fn fail2ban_examples() {
        for (s, v) in [
            ("10m", 600.0),
            ("1h", 3600.0),
            ("1d", 86400.0),
            ("1w", 604800.0),
            ("1mo", 2629800.0),
            ("1y", 31557600.0),
            ("1d12h", 129600.0),
            ("1h 30m", 5400.0),
            ("1year-6mo", 15778800.0),
            ("1hour+30min", 5400.0),
            ("-1", -1.0),
            ("600", 600.0),
        ] {
            assert_eq!(str2seconds(s), Some(v), "{s}");
        }
        assert_eq!(str2seconds("soon"), None);
    }
}
