use super::*;

fn inc(opts: &[(&str, &str)]) -> BanTimeIncrement {
    let mut b = BanTimeIncrement::new();
    b.set("increment", "true").unwrap();
    for (k, v) in opts {
        b.set(k, v).unwrap();
    }
    b
}

fn calc(b: &BanTimeIncrement, cases: &[(f64, u32)]) -> Vec<f64> {
    cases.iter().map(|&(t, c)| b.calc(t, c, 0.0)).collect()
}

const CASES: [(f64, u32); 6] = [
    (600.0, 1),
    (600.0, 2),
    (600.0, 3),
    (600.0, 5),
    (600.0, 25),
    (100.0, 0),
];

/// Oracle values: Debian fail2ban 1.0.2 on /usr/bin/python3,
/// `Jail('t').setBanTimeExtra(k, v)` then `ObserverThread.calcBanTime(jail,
/// time, count)` for the listed (time, count) pairs.
#[test]
fn default_formula() {
    assert_eq!(
        calc(&inc(&[]), &CASES),
        vec![1200.0, 2400.0, 4800.0, 19200.0, 629145600.0, 100.0]
    );
    assert_eq!(
        calc(&inc(&[("factor", "2")]), &CASES),
        vec![2400.0, 4800.0, 9600.0, 38400.0, 1258291200.0, 200.0]
    );
}

#[test]
fn exp_formula_from_jail_conf() {
    let b = inc(&[(
        "formula",
        "ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)",
    )]);
    let want = [
        1630.9690970754273,
        4433.43365935839,
        12051.3221539126,
        89047.89546154597,
        43202939602431.53,
        100.0,
    ];
    for (got, want) in calc(&b, &CASES).iter().zip(want) {
        assert!((got - want).abs() <= want * 1e-12, "{got} vs {want}");
    }
}

#[test]
fn multipliers_and_maxtime() {
    let b = inc(&[("multipliers", "1 2 4 8 16 32 64")]);
    assert_eq!(
        calc(&b, &CASES),
        vec![1200.0, 2400.0, 4800.0, 19200.0, 38400.0, 100.0]
    );
    let b = inc(&[
        ("multipliers", "1 5 30 60 300 720 1440 2880"),
        ("factor", "1"),
        ("maxtime", "1d"),
    ]);
    assert_eq!(
        calc(&b, &[(60.0, 1), (60.0, 4), (60.0, 7), (60.0, 9)]),
        vec![300.0, 18000.0, 86400.0, 86400.0]
    );
    assert_eq!(
        calc(&inc(&[("maxtime", "5w")]), &[(600.0, 25)]),
        vec![3024000.0]
    );
    assert_eq!(
        calc(
            &inc(&[("factor", "3"), ("maxtime", "2h")]),
            &[(600.0, 1), (600.0, 2)]
        ),
        vec![3600.0, 7200.0]
    );
}

#[test]
fn rndtime_adds_up_to_rndtime() {
    let b = inc(&[("rndtime", "30min")]);
    assert_eq!(b.calc(600.0, 1, 0.5), 1200.0 + 900.0);
}

/// internals §E.4: bancount 1→2, 2→3, 3→5, 4→9, capped by maxretry.
#[test]
fn failure_retry_counts() {
    let got: Vec<u32> = (1..=4)
        .map(|c| BanTimeIncrement::failure_retry(c, 100))
        .collect();
    assert_eq!(got, vec![2, 3, 5, 9]);
    assert_eq!(BanTimeIncrement::failure_retry(10, 5), 5);
}

struct OneBan(BanRecord);
impl BanHistory for OneBan {
    fn get_ban(&self, _id: &FailId, _jail: &str, _all: bool) -> Option<BanRecord> {
        Some(self.0)
    }
}

#[test]
fn incr_ban_time_uses_history() {
    let b = inc(&[]);
    let hist = OneBan(BanRecord {
        bancount: 2,
        timeofban: 100.0,
        bantime: 600,
    });
    let mut t = Ticket::new(FailId::parse("192.0.2.1"), 200.0, vec![]);
    assert_eq!(b.incr_ban_time(&hist, "sshd", &mut t, 600, 0.0), 2400);
    assert_eq!(t.bancount, 3);
    assert_eq!(t.bantime, Some(2400));
    assert!(!t.restored);
    // No history, or a permanent ban: unchanged.
    let mut t = Ticket::new(FailId::parse("192.0.2.1"), 200.0, vec![]);
    assert_eq!(b.incr_ban_time(&NoHistory, "sshd", &mut t, 600, 0.0), 600);
    assert_eq!(b.incr_ban_time(&hist, "sshd", &mut t, -1, 0.0), -1);
}

#[test]
fn bad_settings_are_errors() {
    let mut b = BanTimeIncrement::new();
    assert!(b.set("formula", "ban.Time *").is_err());
    assert!(b.set("multipliers", "1 two").is_err());
    assert!(b.set("maxtime", "soon").is_err());
    assert!(b.set("nope", "1").is_err());
}
