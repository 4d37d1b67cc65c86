//! One failregex match turned into [`Failure`]s: prefregex groups merged
//! in, `mlfid` handled, failure ids found (fail2ban: the tail of the
//! `Filter.findFailure` loop body).

use std::sync::Arc;

use super::{FailData, Failure, Filter};
use crate::failregex::{GroupValue, Groups, TupleLine};
use crate::ipdns::{text_to_ip, Cidr, IpAddr};
use crate::text::Text;

/// The failure ids of a match: one, or what a host name resolved to.
enum Ids {
    One(Option<IpAddr>),
    Many(Vec<IpAddr>),
}

/// What the failregex loop does after [`Filter::report_match`].
pub(super) enum Step {
    /// Go on (and stop unless every regex is checked).
    Next,
    /// Try the next failregex.
    Skip,
    /// Return the failures found so far.
    Stop,
}

impl Filter {
    /// One failregex match turned into failures (the tail of fail2ban's
    /// `findFailure` loop body): merges prefregex groups, handles `mlfid`,
    /// finds the failure ids and pushes to `out`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn report_match(
        &mut self,
        idx: usize,
        groups: Groups,
        pre_groups: &Groups,
        matched_lines: Vec<TupleLine>,
        date: Option<f64>,
        defcidr_raw: bool,
        out: &mut Vec<Failure>,
    ) -> Step {
        let mut groups = groups;
        let matched_lines = if self.opts.keep_matches {
            matched_lines
        } else {
            Vec::new()
        };
        if !pre_groups.is_empty() {
            // A group the failregex did not fill keeps the prefregex's
            // value (dovecot's `<ADDR>` in prefregex; upstream sample
            // dovecot:143 requires it).
            groups = Groups::merged_over(pre_groups, groups);
        }
        let mlfid: Option<Text> = groups.get("mlfid").and_then(GroupValue::as_text).cloned();
        let (mut fail, cached) = match &mlfid {
            Some(id) => {
                let (f, cached) = self.merge_failure(id, groups, matched_lines);
                if f.truthy("nofail") && !self.opts.check_all_regex {
                    return Step::Stop;
                }
                (f, cached)
            }
            None => {
                let f = FailData {
                    groups,
                    matches: Some(matched_lines),
                    ..FailData::default()
                };
                (Arc::new(f), false)
            }
        };
        let ids = {
            // Read with borrowed group texts; the two changes to the
            // failure (`mlfpending`, `ip`) are applied after.
            let (ids, pending, own_ip) = {
                let f: &FailData = &fail;
                let fid = f.get("fid").as_text();
                let mut cidr = if defcidr_raw { Cidr::Raw } else { Cidr::Unspec };
                let mut raw = defcidr_raw;
                let ip: Option<&Text>;
                let plen = |f: &FailData, fam: Cidr| match f
                    .text("cidr")
                    .and_then(|c| c.parse::<u8>().ok())
                {
                    Some(p) if p > 0 => Cidr::Plen(p),
                    _ => fam,
                };
                if let Some(v) = f.get("ip4").as_text() {
                    ip = Some(v);
                    cidr = plen(f, Cidr::FamV4);
                    raw = true;
                } else if let Some(v) = f.get("ip6").as_text() {
                    ip = Some(v);
                    cidr = plen(f, Cidr::FamV6);
                    raw = true;
                } else if let Some(v) = f.get("dns").as_text() {
                    ip = Some(v);
                } else {
                    if fid.is_none() && mlfid.is_none() {
                        // fail2ban raises "No group found" here; it is logged and skipped.
                        return Step::Skip;
                    }
                    ip = fid;
                    raw = true;
                }
                match ip {
                    None => (Ids::One(None), true, None),
                    Some(ip) if raw => {
                        let defc = if defcidr_raw { Cidr::Raw } else { Cidr::Unspec };
                        match fid {
                            Some(fi) if fi != ip => (
                                Ids::One(Some(IpAddr::from_text(fi, defc))),
                                false,
                                Some(IpAddr::from_text(ip, cidr)),
                            ),
                            _ => (Ids::One(Some(IpAddr::from_text(ip, cidr))), false, None),
                        }
                    }
                    Some(ip) => {
                        let (ips, warn) = text_to_ip(ip, self.opts.usedns);
                        if let Some(w) = warn {
                            if !self.warnings.contains(&w) {
                                self.warnings.push(w);
                            }
                        }
                        (Ids::Many(ips), false, None)
                    }
                }
            };
            if pending || own_ip.is_some() {
                let apply = |f: &mut FailData| {
                    if pending {
                        f.mlfpending = true;
                    }
                    if own_ip.is_some() {
                        f.ip = own_ip;
                    }
                };
                match &mlfid {
                    // Through the cache's entry when shared with it,
                    // dropping this handle first so nothing is copied.
                    Some(id) if cached => {
                        drop(fail);
                        let Some(entry) = self.mlfid_cache.get_mut(id.as_str()) else {
                            return Step::Stop;
                        };
                        apply(Arc::make_mut(entry));
                        fail = entry.clone();
                    }
                    _ => apply(Arc::make_mut(&mut fail)),
                }
                if pending && !self.opts.check_all_regex && self.opts.ignore_pending {
                    return Step::Stop;
                }
            }
            ids
        };
        let mut push = |id| {
            out.push(Failure {
                regex_index: idx,
                id,
                time: date,
                data: fail.clone(),
            })
        };
        match ids {
            Ids::One(id) => push(id),
            Ids::Many(ips) => ips.into_iter().for_each(|ip| push(Some(ip))),
        }
        Step::Next
    }
}
