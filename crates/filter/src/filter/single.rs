//! The single-line path (`maxlines` 1, most filters): the regexes run on
//! reused buffers and nothing is allocated for a line no failregex matches
//! (fail2ban: `Filter.findFailure` for a one-line buffer).

use std::sync::Arc;

use super::failure::Step;
use super::{Failure, Filter, LineInfo};
use crate::failregex::{Groups, TupleLine, UseDns};

impl Filter {
    /// `find_failure` for `maxlines` 1, without building the line tuple:
    /// the regexes run on a reused buffer, and strings are made only for a
    /// line a failregex matches. With one line the buffer the failregexes
    /// see never changes within a line (the prefregex's `content` if it has
    /// one, else the line without its date), which the general path reaches
    /// by rebuilding it.
    pub(super) fn find_failure_single(
        &mut self,
        line: &str,
        split: Option<(usize, usize)>,
        use_last_time: bool,
        date: Option<f64>,
        out: &mut Vec<Failure>,
    ) {
        self.info = LineInfo::default();
        self.line_buffer.clear();
        let mut buf = std::mem::take(&mut self.buf);
        let mut content = std::mem::take(&mut self.content_buf);
        buf.clear();
        match split {
            Some((s, e)) => {
                buf.push_str(&line[..s]);
                buf.push_str(&line[e..]);
            }
            None => buf.push_str(line),
        }
        buf.push('\n');
        self.single_lines(line, split, use_last_time, date, &buf, &mut content, out);
        self.buf = buf;
        self.content_buf = content;
    }

    /// The body of [`Filter::find_failure_single`], on its buffers.
    #[allow(clippy::too_many_arguments)]
    fn single_lines(
        &mut self,
        line: &str,
        split: Option<(usize, usize)>,
        use_last_time: bool,
        date: Option<f64>,
        buf: &str,
        content: &mut String,
        out: &mut Vec<Failure>,
    ) {
        let defcidr_raw = self.opts.usedns == UseDns::Raw || self.opts.return_raw_host;
        let ascii = buf.is_ascii();
        if !self.ignore.is_empty()
            && self.ignore.len() + 2 < self.fail.len()
            && self.ignore_line(buf, None, &[]).is_some()
        {
            return;
        }
        // The failregexes' buffer: the prefregex's `content` if it has
        // one, else `buf`. `sbase` is its offset in `buf` when it is a
        // slice of it (content followed by the line's `\n`, as it always
        // is for `…(?P<content>.+)$`), `None` for a copy.
        let mut sbuf = buf;
        let mut sbase = Some(0);
        let mut sascii = ascii;
        let mut pre_groups: Option<Groups> = None;
        // One shared copy of `buf`, made on the first match: every group
        // text is a span of it.
        let mut src: Option<Arc<str>> = None;
        if let Some(pref) = &self.pref {
            let caps = self.caps_pref.as_mut().expect("captures for prefregex");
            // `content` to the end of the line is known without reading it
            // when the buffer is one line (see `is_match_content_tail`;
            // no `\r` either, whatever newline convention PCRE2 has).
            let tail = pref.has_content_tail()
                && !self.opts.keep_pref_groups
                && memchr::memchr2(b'\n', b'\r', buf.as_bytes()) == Some(buf.len() - 1);
            let matched = if tail {
                pref.is_match_content_tail(buf, ascii, caps)
            } else {
                pref.is_match_in(buf, ascii, caps)
            };
            if !matched {
                return;
            }
            self.info.pref_matched = true;
            if self.opts.keep_pref_groups {
                let line = src.get_or_insert_with(|| Arc::from(buf));
                let mut g = pref.groups_from(line, 0, caps, 0);
                self.info.pref_groups = Some(g.clone());
                g.remove("content");
                pre_groups = Some(g);
            }
            let content_span = self.pref_content.and_then(|i| caps.get(i));
            let content_span = match content_span {
                Some((cs, _)) if tail => Some((cs, buf.len() - 1)),
                span => span,
            };
            if let Some((cs, ce)) = content_span {
                if cs < ce {
                    if buf.as_bytes().get(ce) == Some(&b'\n') {
                        sbuf = &buf[cs..=ce];
                        sbase = Some(cs);
                    } else {
                        content.clear();
                        content.push_str(&buf[cs..ce]);
                        content.push('\n');
                        sbuf = content.as_str();
                        sbase = None;
                    }
                    sascii = ascii || sbuf.is_ascii();
                }
            }
        }
        // Only the failregexes whose prefix fits the buffer's first byte.
        let n = self.fail_by_first.candidates(sbuf).len();
        for k in 0..n {
            let idx = self.fail_by_first.candidates(sbuf)[k];
            if !self.fail[idx].is_match_in(sbuf, sascii, &mut self.caps_fail[idx]) {
                continue;
            }
            let line_src = src.get_or_insert_with(|| Arc::from(buf));
            let groups = match sbase {
                Some(base) => self.fail[idx].groups_from(line_src, base, &self.caps_fail[idx], 2),
                None => {
                    let own: Arc<str> = Arc::from(sbuf);
                    self.fail[idx].groups_from(&own, 0, &self.caps_fail[idx], 2)
                }
            };
            // With one line, `ignore_line` reads no lines from `org`.
            let org: Vec<TupleLine> = if !self.opts.keep_matches {
                Vec::new()
            } else {
                vec![match split {
                    _ if use_last_time => {
                        (String::new(), self.last_time_text.clone(), line.to_string())
                    }
                    Some((s, e)) => (
                        line[..s].to_string(),
                        line[s..e].to_string(),
                        line[e..].to_string(),
                    ),
                    None => (String::new(), String::new(), line.to_string()),
                }]
            };
            if !self.ignore.is_empty() && self.ignore_line(sbuf, None, &org).is_some() {
                if !self.opts.check_all_regex {
                    break;
                }
                continue;
            }
            // The prefregex's groups go under the failregex's: from the
            // kept copy (`-v`) or straight from its captures.
            let (groups, pg) = match (&pre_groups, &self.pref, &self.caps_pref) {
                (Some(_), _, _) => (groups, pre_groups.take().unwrap_or_default()),
                (None, Some(pref), Some(caps)) => {
                    (pref.merged_under(line_src, caps, groups), Groups::new())
                }
                _ => (groups, Groups::new()),
            };
            let step = self.report_match(idx, groups, &pg, org, date, defcidr_raw, out);
            if self.opts.keep_pref_groups {
                pre_groups = Some(pg);
            }
            match step {
                Step::Stop => return,
                Step::Skip => continue,
                Step::Next => {}
            }
            if !self.opts.check_all_regex {
                break;
            }
        }
    }
}
