//! The date conversion cache of a [`DateDetector`]: consecutive syslog
//! lines mostly carry the same date text, so the previous strptime result
//! is kept and returned when nothing it depends on changed.

use std::sync::Arc;

use super::{DateDetector, DateMatch};
use crate::datetemplate::Kind;
use crate::pattern::Captures;
use crate::strptime::TimeContext;

/// The last date conversion: template, second of "now", zone, the text
/// spanned by the template's groups and their spans relative to it.
#[derive(Debug, Default)]
pub(super) struct DateCache {
    valid: bool,
    key: (usize, i64, Option<i32>),
    text: Vec<u8>,
    spans: Vec<Option<(usize, usize)>>,
    result: Option<f64>,
    /// The captures' generation the entry was made from.
    generation: u64,
}

impl DateDetector {
    /// The time of the last match of template `index` (fail2ban: `getTime`).
    ///
    /// Consecutive syslog lines mostly carry the same date text; when the
    /// template, the text its groups captured and the second of "now" (the
    /// only part of "now" strptime reads) are those of the previous call,
    /// the previous result is returned without converting again.
    pub fn get_time(&self, line: &str, m: &DateMatch, ctx: &TimeContext) -> Option<f64> {
        let ctx = TimeContext {
            default_tz: self.default_tz,
            ..*ctx
        };
        let t = &self.templates.get(m.index)?.template;
        // Made by the match_time that yielded `m`.
        let caps: &Captures = self.caps.get(m.index)?.as_deref()?;
        if !matches!(t.kind, Kind::Pattern(_)) {
            return t.get_date(line, caps, &ctx);
        }
        let Ok(mut cache) = self.date_cache.try_borrow_mut() else {
            return t.get_date(line, caps, &ctx);
        };
        let now_sec = ctx.now().floor() as i64;
        let key = (Arc::as_ptr(t) as usize, now_sec, ctx.default_tz);
        // Captures untouched since the entry was made (only memoised
        // matches since, see `Pattern::captures_at_memo`): same texts.
        if cache.valid && cache.key == key && cache.generation == caps.generation() {
            return cache.result;
        }
        let (mut lo, mut hi) = (usize::MAX, 0);
        for i in 0..caps.len() {
            if let Some((s, e)) = caps.get(i) {
                lo = lo.min(s);
                hi = hi.max(e);
            }
        }
        if lo > hi {
            return t.get_date(line, caps, &ctx);
        }
        let c = &mut *cache;
        let mut same = c.valid
            && c.key == key
            && c.spans.len() == caps.len()
            && line.as_bytes().get(lo..hi) == Some(&c.text[..]);
        if same {
            for i in 0..caps.len() {
                let rel = caps.get(i).map(|(s, e)| (s - lo, e - lo));
                if c.spans[i] != rel {
                    same = false;
                    break;
                }
            }
        }
        if same {
            return c.result;
        }
        let result = t.get_date(line, caps, &ctx);
        c.valid = true;
        c.key = key;
        c.text.clear();
        c.text.extend_from_slice(&line.as_bytes()[lo..hi]);
        c.spans.clear();
        c.spans
            .extend((0..caps.len()).map(|i| caps.get(i).map(|(s, e)| (s - lo, e - lo))));
        c.result = result;
        c.generation = caps.generation();
        result
    }
}
