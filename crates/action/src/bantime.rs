//! `bantime.increment`: longer bans for known offenders (fail2ban:
//! jail.py `setBanTimeExtra`, observer.py `calcBanTime`, `incrBanTime`,
//! `failureFound`; internals §E.4).
//!
//! The ban history comes through the [`BanHistory`] trait, so the server's
//! database plugs in without this crate knowing SQL. `formula` and `factor`
//! are Python expressions in fail2ban; [`expr`] evaluates the subset they
//! use (arithmetic, `<<`, comparisons, `a if c else b`, `math.*`,
//! `float()`, `int()`, `min()`, `max()`, `abs()`).

pub mod expr;

use crate::duration::str2seconds;
use crate::error::{Error, Result};
use crate::ticket::{FailId, Ticket};

/// fail2ban's default formula.
pub const DEFAULT_FORMULA: &str = "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor";

/// The last ban of an ID as the database keeps it (`bips` row, or the sums
/// across jails with `overalljails`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BanRecord {
    /// Bans so far.
    pub bancount: u32,
    /// Time of the last ban.
    pub timeofban: f64,
    /// Ban time of the last ban.
    pub bantime: i64,
}

/// Where previous bans are looked up (fail2ban: `Fail2BanDb.getBan`).
pub trait BanHistory {
    /// The last ban of `id` in `jail`, or across all jails.
    fn get_ban(&self, id: &FailId, jail: &str, overalljails: bool) -> Option<BanRecord>;
}

/// No database: nothing is known, so no ban is ever increased.
pub struct NoHistory;

impl BanHistory for NoHistory {
    fn get_ban(&self, _id: &FailId, _jail: &str, _overalljails: bool) -> Option<BanRecord> {
        None
    }
}

/// The jail's `bantime.*` settings.
#[derive(Debug, Clone)]
pub struct BanTimeIncrement {
    /// `bantime.increment`.
    pub increment: bool,
    /// `bantime.overalljails`.
    pub overalljails: bool,
    factor: f64,
    formula: Option<expr::Expr>,
    multipliers: Vec<f64>,
    /// `bantime.maxtime` in seconds.
    pub maxtime: Option<f64>,
    /// `bantime.rndtime` in seconds.
    pub rndtime: Option<f64>,
}

impl Default for BanTimeIncrement {
    fn default() -> Self {
        BanTimeIncrement {
            increment: false,
            overalljails: false,
            factor: 1.0,
            formula: None,
            multipliers: Vec::new(),
            maxtime: None,
            rndtime: None,
        }
    }
}

fn bad(option: &str, value: &str, reason: impl Into<String>) -> Error {
    Error::BanTime {
        option: option.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

impl BanTimeIncrement {
    /// Settings with increment off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one `bantime.<opt>` (fail2ban: `setBanTimeExtra`); an empty
    /// value resets the option.
    ///
    /// # Errors
    /// [`Error::BanTime`] for an unknown option, a bad duration, a bad
    /// multiplier or an expression that does not parse or evaluate.
    pub fn set(&mut self, opt: &str, value: &str) -> Result<()> {
        let v = value.trim();
        match opt {
            "increment" => self.increment = crate::action::truthy(Some(v)),
            "overalljails" => self.overalljails = crate::action::truthy(Some(v)),
            "factor" => {
                self.factor = if v.is_empty() {
                    1.0
                } else {
                    let e = expr::parse(v).map_err(|e| bad(opt, v, e))?;
                    e.eval(&expr::Vars::default()).map_err(|e| bad(opt, v, e))?
                }
            }
            "formula" => {
                self.formula = if v.is_empty() {
                    None
                } else {
                    Some(expr::parse(v).map_err(|e| bad(opt, v, e))?)
                };
                if let Some(f) = &self.formula {
                    f.eval(&expr::Vars {
                        time: 600.0,
                        count: 1.0,
                        factor: self.factor,
                    })
                    .map_err(|e| bad(opt, v, e))?;
                }
            }
            "multipliers" => {
                self.multipliers = v
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse::<i64>()
                            .map(|n| n as f64)
                            .map_err(|_| bad(opt, v, format!("{s:?} is not an integer")))
                    })
                    .collect::<Result<_>>()?;
            }
            "maxtime" | "rndtime" => {
                let secs = if v.is_empty() {
                    None
                } else {
                    Some(str2seconds(v).ok_or_else(|| bad(opt, v, "not a duration"))?)
                };
                if opt == "maxtime" {
                    self.maxtime = secs;
                } else {
                    self.rndtime = secs;
                }
            }
            _ => return Err(bad(opt, v, "unknown option")),
        }
        Ok(())
    }

    /// The increased ban time for a ban time and the previous ban count
    /// (fail2ban: `evformula`). `random` in `[0, 1)` scales `rndtime`.
    pub fn calc(&self, ban_time: f64, ban_count: u32, random: f64) -> f64 {
        let mut t = if !self.multipliers.is_empty() {
            let i = (ban_count as usize).min(self.multipliers.len() - 1);
            ban_time * self.factor * self.multipliers[i]
        } else {
            let vars = expr::Vars {
                time: ban_time,
                count: f64::from(ban_count),
                factor: self.factor,
            };
            let f = match &self.formula {
                Some(f) => f.eval(&vars),
                None => Ok(ban_time * 2f64.powi(ban_count.min(20) as i32) * self.factor),
            };
            match f {
                Ok(v) => ban_time.max(v),
                Err(e) => {
                    log::error!("bantime.formula: {e}");
                    ban_time
                }
            }
        };
        if let Some(m) = self.maxtime {
            t = t.min(m);
        }
        if let Some(r) = self.rndtime {
            t += random * r;
        }
        t
    }

    /// The ban time for a new ban of `ticket` (fail2ban: `incrBanTime`):
    /// if the ID was banned before, its bancount becomes the stored count
    /// plus 1 and, for a count > 0, the time grows by [`calc`](Self::calc).
    /// A ticket older than the last ban is marked restored. Permanent bans
    /// (negative) never increase.
    pub fn incr_ban_time(
        &self,
        history: &dyn BanHistory,
        jail: &str,
        ticket: &mut Ticket,
        ban_time: i64,
        random: f64,
    ) -> i64 {
        if ban_time <= 0 || !self.increment {
            return ban_time;
        }
        let Some(rec) = history.get_ban(&ticket.id, jail, self.overalljails) else {
            return ban_time;
        };
        if rec.bancount >= ticket.bancount {
            ticket.bancount = rec.bancount + 1;
        }
        let mut bt = ban_time;
        if rec.bancount > 0 {
            bt = self.calc(ban_time as f64, rec.bancount, random) as i64;
        }
        ticket.bantime = Some(bt);
        if ticket.time <= rec.timeofban {
            ticket.restored = true;
        }
        bt
    }

    /// How much one new failure of a known offender counts (fail2ban:
    /// `failureFound`): `min((1 << min(bancount, 20)) / 2 + 1, maxretry)`,
    /// i.e. bancount 1→2, 2→3, 3→5, 4→9.
    pub fn failure_retry(bancount: u32, max_retry: u32) -> u32 {
        let r = (1u64 << bancount.min(20)) / 2 + 1;
        r.min(u64::from(max_retry)) as u32
    }
}

#[cfg(test)]
mod tests;
