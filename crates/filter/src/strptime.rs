//! `%`-directives to regex groups, and matched groups to a timestamp.
//!
//! Takes a date pattern such as `%b %d %H:%M:%S` and yields the regex
//! fail2ban builds for it and the template's display name; takes the named
//! groups of a date match and yields the Unix time fail2ban computes,
//! including its year/day inference and fixed-offset zones.
//! (fail2ban: `server/strptime.py`, Python's `_strptime.TimeRE`.)

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone};

/// Clock and zone used to interpret dates (fail2ban: `MyTime` and the
/// process's local time zone).
#[derive(Debug, Clone, Copy)]
pub struct TimeContext {
    /// "Now" as a Unix time; `None` = the system clock.
    pub now: Option<f64>,
    /// `logtimezone`: offset in minutes applied when a date has no zone.
    pub default_tz: Option<i32>,
}

/// The wall clock as a Unix time, read cheaply: the line loop asks for
/// "now" once per line, and on Linux the coarse clock (a few ms of
/// resolution, no hardware read) is enough for what "now" decides here
/// (the second strptime infers a year or day from, the 60 s window for
/// lines without a date, template reordering).
pub fn clock_now() -> f64 {
    #[cfg(target_os = "linux")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-parameter.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl TimeContext {
    /// The current time.
    pub fn now(&self) -> f64 {
        self.now.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0)
        })
    }

    fn now_local(&self) -> NaiveDateTime {
        // Converting "now" through the local zone is costly; once per
        // second of "now" is enough.
        thread_local! {
            static LAST: std::cell::Cell<(i64, Option<NaiveDateTime>)> = const { std::cell::Cell::new((i64::MIN, None)) };
        }
        let t = self.now();
        let key = t.floor() as i64;
        if let (k, Some(v)) = LAST.with(|c| c.get()) {
            if k == key {
                return v + Duration::nanoseconds(((t - t.floor()) * 1e9) as i64);
            }
        }
        let v = self.now_local_uncached(t.floor());
        LAST.with(|c| c.set((key, Some(v))));
        v + Duration::nanoseconds(((t - t.floor()) * 1e9) as i64)
    }

    fn now_local_uncached(&self, t: f64) -> NaiveDateTime {
        let secs = t.floor() as i64;
        let nanos = ((t - t.floor()) * 1e9) as u32;
        match chrono::Local.timestamp_opt(secs, nanos) {
            LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => d.naive_local(),
            LocalResult::None => chrono::DateTime::from_timestamp(secs, 0)
                .unwrap_or_default()
                .naive_utc(),
        }
    }
}

/// Python `time.mktime` for a naive local time.
///
/// The zone offset is cached per local hour (zones change offset on hour
/// boundaries), which keeps the per-line cost low.
pub fn mktime(d: &NaiveDateTime) -> Option<f64> {
    thread_local! {
        static LAST: std::cell::Cell<(i64, i64)> = const { std::cell::Cell::new((i64::MIN, 0)) };
    }
    let naive = d.and_utc().timestamp();
    let hour = naive.div_euclid(3600);
    let (h, off) = LAST.with(|c| c.get());
    if h == hour {
        return Some((naive - off) as f64);
    }
    let t = mktime_uncached(d)?;
    let off = naive - t as i64;
    // Only cache hours whose start maps the same way (not a DST edge hour).
    let start = chrono::DateTime::from_timestamp(hour * 3600, 0)?.naive_utc();
    if mktime_uncached(&start).map(|s| hour * 3600 - s as i64) == Some(off) {
        LAST.with(|c| c.set((hour, off)));
    }
    Some(t)
}

fn mktime_uncached(d: &NaiveDateTime) -> Option<f64> {
    match chrono::Local.from_local_datetime(d) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.timestamp() as f64),
        // In a DST gap mktime moves forward by the gap; one hour is the gap
        // of every zone fail2ban's tests use.
        LocalResult::None => chrono::Local
            .from_local_datetime(&(*d + Duration::hours(1)))
            .earliest()
            .map(|t| t.timestamp() as f64),
    }
}

/// One `%` directive: its key, regex and display name.
struct Directive {
    key: &'static str,
    re: &'static str,
    name: &'static str,
}

macro_rules! d {
    ($k:expr, $re:expr, $n:expr) => {
        Directive {
            key: $k,
            re: $re,
            name: $n,
        }
    };
}

/// The `timeRE` table (fail2ban's overrides on Python's defaults, C locale).
/// `ExY` is built at run time from the current year.
const DIRECTIVES: &[Directive] = &[
    d!("ExZ", r"(?P<Z>[A-Z](?:[A-Z]{2,4})?)", "ExZone name"),
    d!(
        "Exz",
        r"(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\d(?::?\d{2})?|[A-Z](?:[A-Z]{2,4})?)",
        "ExZone offset"
    ),
    d!("Exd", r"(?P<d>[1-2]\d|0[1-9]|3[0-1])", "ExDay"),
    d!("Exm", r"(?P<m>0[1-9]|1[0-2])", "ExMonth"),
    d!("ExH", r"(?P<H>[0-1]\d|2[0-3])", "Ex24hour"),
    d!("Exk", r" ?(?P<H>[0-1]?\d|2[0-3])", "%Exk"),
    d!("Exl", r" ?(?P<I>1[0-2]|\d)", "%Exl"),
    d!("ExM", r"(?P<M>[0-5]\d)", "ExMinute"),
    d!("ExS", r"(?P<S>[0-5]\d|6[0-1])", "ExSecond"),
    d!("ExY", "", "ExYear"),
    d!("Exy", r"(?P<y>\d{2})", "ExYear2"),
    d!("d", r"(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])", "Day"),
    d!("f", r"(?P<f>[0-9]{1,6})", "Microseconds"),
    d!("H", r"(?P<H>[0-1]?\d|2[0-3])", "24hour"),
    d!("I", r"(?P<I>1[0-2]|0[1-9]|[1-9])", "12hour"),
    d!("G", r"(?P<G>\d\d\d\d)", "%G"),
    d!(
        "j",
        r"(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])",
        "Yearday"
    ),
    d!("m", r"(?P<m>0?[1-9]|1[0-2])", "Month"),
    d!("M", r"(?P<M>[0-5]?\d)", "Minute"),
    d!("S", r"(?P<S>[0-5]?\d|6[0-1])", "Second"),
    d!("U", r"(?P<U>5[0-3]|[0-4]\d|\d)", "Yearweek"),
    d!("w", r"(?P<w>[0-6])", "Weekday"),
    d!("u", r"(?P<u>[1-7])", "%u"),
    d!("V", r"(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)", "%V"),
    d!("y", r"(?P<y>\d\d)", "Year2"),
    d!("Y", r"(?P<Y>\d{4})", "Year"),
    d!(
        "z",
        r"(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)",
        "Zone offset"
    ),
    d!(
        "A",
        r"(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)",
        "DAYNAME"
    ),
    d!("a", r"(?P<a>mon|tue|wed|thu|fri|sat|sun)", "DAY"),
    d!(
        "B",
        r"(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)",
        "MONTH"
    ),
    d!(
        "b",
        r"(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
        "MON"
    ),
    d!("p", r"(?P<p>am|pm)", "AMPM"),
    d!("Z", r"(?P<Z>Z|[A-Z]{3,5})", "Zone name"),
    d!("%", "%", "%"),
    d!("W", r"(?P<W>5[0-3]|[0-4]\d|\d)", "Yearweek"),
    d!(
        "c",
        r"(?P<a>mon|tue|wed|thu|fri|sat|sun)\s+(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])\s+(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)\s+(?P<Y>\d\d\d\d)",
        "%c"
    ),
    d!(
        "x",
        r"(?P<m>1[0-2]|0[1-9]|[1-9])/(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])/(?P<y>\d\d)",
        "%x"
    ),
    d!(
        "X",
        r"(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)",
        "%X"
    ),
    d!("k", r" ?(?P<H>[0-2]?\d)", "%k"),
    d!("l", r" ?(?P<I>1?\d)", "%l"),
];

/// `%ExY`: the centuries-and-decades of years from 2000 (fail2ban's
/// alternate test year 2001) up to now + 3, e.g. `(?P<Y>20[012]\d)`.
fn exy_regex() -> String {
    let year = chrono::Local::now().year();
    let mut set: Vec<String> = Vec::new();
    let mut add = |y: i32| {
        let s = y.to_string()[..3].to_string();
        if !set.contains(&s) {
            set.push(s);
        }
    };
    add(year - 1);
    add(year + 3);
    let mut y = 2000;
    while y <= year {
        add(y);
        y += 3;
    }
    set.sort();
    format!("(?P<Y>{}\\d)", group_prefixes(&set))
}

/// fail2ban's `_getYearCentRE.grp`: a compact regex for a set of strings.
fn group_prefixes(set: &[String]) -> String {
    if set.len() > 1 {
        let mut common: Option<String> = None;
        for s in set {
            let p = &s[..s.len() - 1];
            match &common {
                None => common = Some(p.to_string()),
                Some(c) if c == p => {}
                _ => {
                    common = None;
                    break;
                }
            }
        }
        if common.as_deref().is_none_or(str::is_empty) {
            common = None;
            for s in set {
                let p = &s[..1];
                match &common {
                    None => common = Some(p.to_string()),
                    Some(c) if c == p => {}
                    _ => {
                        common = None;
                        break;
                    }
                }
            }
        }
        if let Some(c) = common.filter(|c| !c.is_empty()) {
            let rest: Vec<String> = set.iter().map(|s| s[c.len()..].to_string()).collect();
            return format!("{c}{}", group_prefixes(&rest));
        }
        if set[0].len() > 1 {
            return format!("(?:{})", set.join("|"));
        }
        return format!("[{}]", set.concat());
    }
    set.concat()
}

/// A `datepattern` converted: its regex and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The regex (directives replaced, everything else raw regex).
    pub regex: String,
    /// The name (directives replaced by names such as `MON`, `Day`).
    pub name: String,
}

/// Replaces `%`-directives; any other `%` is an error, as Python's `%`
/// formatting fails on it. (fail2ban: `DatePatternRegex.setRegex`.)
///
/// # Errors
/// The message for a stray `%`.
pub fn convert_pattern(pattern: &str) -> Result<Converted, String> {
    let mut regex = String::new();
    let mut name = String::new();
    let mut rest = pattern;
    while let Some(p) = rest.find('%') {
        regex.push_str(&rest[..p]);
        name.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        let Some(d) = DIRECTIVES.iter().find(|d| after.starts_with(d.key)) else {
            return Err(format!("unsupported format character at {:?}", &rest[p..]));
        };
        if d.key == "ExY" {
            regex.push_str(&exy_regex());
        } else {
            regex.push_str(d.re);
        }
        name.push_str(d.name);
        rest = &after[d.key.len()..];
    }
    regex.push_str(rest);
    name.push_str(rest);
    Ok(Converted { regex, name })
}

/// True if the pattern uses a directive matching letters (`%a %A %b %B %p %c`),
/// which makes fail2ban compile it case-insensitively.
pub fn has_alpha_directive(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    (1..b.len())
        .any(|i| b[i - 1] == b'%' && b"aAbBpc".contains(&b[i]) && (i < 2 || b[i - 2] != b'%'))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const FMONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Fixed offsets of zone abbreviations, in minutes (fail2ban: `TZ_ABBR_OFFS`).
pub fn tz_abbr_offset(abbr: &str) -> Option<i32> {
    const TABLE: &[(f64, &str)] = &[
        (-12.0, "Y"),
        (-11.0, "X NUT SST"),
        (-10.0, "W CKT HAST HST TAHT TKT"),
        (-9.0, "V AKST GAMT GIT HADT HNY"),
        (-8.0, "U AKDT CIST HAY HNP PST PT"),
        (-7.0, "T HAP HNR MST PDT"),
        (-6.0, "S CST EAST GALT HAR HNC MDT"),
        (-5.0, "R CDT COT EASST ECT EST ET HAC HNE PET"),
        (-4.0, "Q AST BOT CLT COST EDT FKT GYT HAE HNA PYT"),
        (
            -3.0,
            "P ADT ART BRT CLST FKST GFT HAA PMST PYST SRT UYT WGT",
        ),
        (-2.0, "O BRST FNT PMDT UYST WGST"),
        (-1.0, "N AZOT CVT EGT"),
        (0.0, "Z EGST GMT UTC WET WT"),
        (1.0, "A CET DFT WAT WEDT WEST"),
        (2.0, "B CAT CEDT CEST EET SAST WAST"),
        (3.0, "C EAT EEDT EEST IDT MSK"),
        (4.0, "D AMT AZT GET GST KUYT MSD MUT RET SAMT SCT"),
        (
            5.0,
            "E AMST AQTT AZST HMT MAWT MVT PKT TFT TJT TMT UZT YEKT",
        ),
        (6.0, "F ALMT BIOT BTT IOT KGT NOVT OMST YEKST"),
        (7.0, "G CXT DAVT HOVT ICT KRAT NOVST OMSST THA WIB"),
        (
            8.0,
            "H ACT AWST BDT BNT CAST HKT IRKT KRAST MYT PHT SGT ULAT WITA WST",
        ),
        (9.0, "I AWDT IRKST JST KST PWT TLT WDT WIT YAKT"),
        (10.0, "K AEST ChST PGT VLAT YAKST YAPT"),
        (11.0, "L AEDT LHDT MAGT NCT PONT SBT VLAST VUT"),
        (
            12.0,
            "M ANAST ANAT FJT GILT MAGST MHT NZST PETST PETT TVT WFT",
        ),
        (13.0, "FJST NZDT"),
        (11.5, "NFT"),
        (10.5, "ACDT LHST"),
        (9.5, "ACST"),
        (6.5, "CCT MMT"),
        (5.75, "NPT"),
        (5.5, "SLT"),
        (4.5, "AFT IRDT"),
        (3.5, "IRST"),
        (-2.5, "HAT NDT"),
        (-3.5, "HNT NST NT"),
        (-4.5, "HLV VET"),
        (-9.5, "MART MIT"),
    ];
    if abbr.is_empty() {
        return Some(0);
    }
    TABLE
        .iter()
        .find(|(_, names)| names.split(' ').any(|n| n == abbr))
        .map(|(h, _)| (h * 60.0) as i32)
}

/// Parses a zone such as `CET`, `+0100`, `CET+01:00`, `UTC` into minutes
/// (fail2ban: `validateTimeZone` / `zone2offset`).
pub fn zone_offset(tz: &str) -> Option<i32> {
    // `^([A-Z](?:[A-Z]{2,4})?)?([+-][01]\d(?::?\d{2})?)?$`
    let abbr_len = tz.bytes().take_while(u8::is_ascii_uppercase).count();
    let (abbr, off) = tz.split_at(abbr_len);
    if abbr_len == 2 || abbr_len > 5 {
        return None;
    }
    let base = tz_abbr_offset(abbr)?;
    if off.is_empty() {
        return Some(base);
    }
    let ob = off.as_bytes();
    let sign = match ob[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = &off[1..];
    let valid = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    let (h, m) = match digits.len() {
        2 if valid(digits) => (digits, "0"),
        4 if valid(digits) => (&digits[..2], &digits[2..]),
        5 if digits.as_bytes()[2] == b':' && valid(&digits[..2]) && valid(&digits[3..]) => {
            (&digits[..2], &digits[3..])
        }
        _ => return None,
    };
    if !matches!(ob[1], b'0' | b'1') {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if digits.len() == 2 {
        // Python: `int(tzo) * 60` with the sign inside `tzo`.
        return Some(base + sign * h * 60);
    }
    Some(base + sign * (h * 60 + m))
}

/// Named groups of a date match → Unix time (fail2ban: `reGroupDictStrptime`).
/// `None` when the values do not form a date (Python raises ValueError).
pub fn group_dict_strptime<'a>(
    get: &dyn Fn(&str) -> Option<&'a str>,
    ctx: &TimeContext,
) -> Option<f64> {
    let num = |k: &str| get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let mut year = None;
    if let Some(y) = num("y") {
        year = Some(if y <= 2000 { y + 2000 } else { y });
    }
    if let Some(y) = num("Y") {
        year = Some(y);
    }
    let mut month = num("m");
    if let Some(b) = get("B") {
        month = FMONTHS
            .iter()
            .position(|m| m.eq_ignore_ascii_case(b))
            .map(|i| i as i64 + 1);
    }
    if let Some(b) = get("b") {
        month = MONTHS
            .iter()
            .position(|m| m.eq_ignore_ascii_case(b))
            .map(|i| i as i64 + 1);
    }
    let mut day = num("d");
    let mut hour = num("H").unwrap_or(0);
    if let Some(i) = num("I") {
        hour = i;
        let ampm = get("p").unwrap_or_default().to_lowercase();
        if ampm.is_empty() || ampm == "am" {
            if hour == 12 {
                hour = 0;
            }
        } else if ampm == "pm" && hour != 12 {
            hour += 12;
        }
    }
    let minute = num("M").unwrap_or(0);
    let second = num("S").unwrap_or(0);
    let julian = num("j");
    let mut tzoffset: Option<i32> = None;
    for k in ["z", "Z"] {
        if let Some(z) = get(k) {
            tzoffset = Some(if z == "Z" || z == "UTC" || z == "GMT" {
                0
            } else {
                zone_offset(z)?
            });
        }
    }
    let now = ctx.now_local();
    let assume_year = year.is_none();
    let year = year.unwrap_or(now.year() as i64);
    if month.is_none() || day.is_none() {
        if let Some(j) = julian {
            let d = NaiveDate::from_ymd_opt(year as i32, 1, 1)? + Duration::days(j - 1);
            month = Some(d.month() as i64);
            day = Some(d.day() as i64);
        }
    }
    let mut assume_today = false;
    if month.is_none() && day.is_none() {
        month = Some(now.month() as i64);
        day = Some(now.day() as i64);
        assume_today = true;
    }
    let (month, day) = (month?, day?);
    let date = NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)?;
    let mut result = date.and_hms_opt(hour as u32, minute as u32, second as u32)?;
    if tzoffset.is_none() {
        tzoffset = ctx.default_tz;
    }
    if let Some(off) = tzoffset {
        result -= Duration::minutes(off as i64);
    }
    if assume_today && result > now {
        result -= Duration::days(1);
    }
    if assume_year && result > now + Duration::days(1) {
        result = result.with_year(year as i32 - 1)?;
    }
    match tzoffset {
        Some(_) => Some(result.and_utc().timestamp() as f64),
        None => mktime(&result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_prefix_group() {
        let v: Vec<String> = ["200", "201", "202"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(group_prefixes(&v), "20[012]");
    }

    #[test]
    fn convert_names_and_regex() {
        let c = convert_pattern("%b %d %H:%M:%S").unwrap();
        assert_eq!(c.name, "MON Day 24hour:Minute:Second");
        assert!(c.regex.starts_with("(?P<b>jan|"));
        assert!(convert_pattern("100% %d").is_err());
        assert_eq!(convert_pattern("%%").unwrap().regex, "%");
    }

    #[test]
    fn zones() {
        assert_eq!(zone_offset("CET"), Some(60));
        assert_eq!(zone_offset("+0130"), Some(90));
        assert_eq!(zone_offset("-05"), Some(-300));
        assert_eq!(zone_offset("CET+01:00"), Some(120));
        assert_eq!(zone_offset("UTC"), Some(0));
        assert_eq!(zone_offset("XYZW?"), None);
    }
}
