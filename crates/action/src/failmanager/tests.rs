use super::*;
use crate::ticket::Ticket;

fn tick(ip: &str, t: f64) -> Ticket {
    Ticket::new(FailId::parse(ip), t, vec![format!("l{t}")])
}

/// Oracle: Debian's fail2ban 1.0.2 run on /usr/bin/python3:
/// `fm=FailManager(); fm.setMaxTime(600); fm.setMaxRetry(3)` then
/// `fm.addFailure(FailTicket('1.2.3.4', t, data={'matches':['l%d'%t]}))`
/// for t in 0,100,700,1300,1310 returned 1,2,3,3,4 (internals §D.5: rate
/// estimate, not a sliding window; 1300 gives round(1.5)=2 then +1).
#[test]
fn rescaling_matches_fail2ban() {
    let mut fm = FailManager::new();
    fm.set_max_time(600.0);
    fm.set_max_retry(3);
    let got: Vec<u32> = [0.0, 100.0, 700.0, 1300.0, 1310.0]
        .iter()
        .map(|&t| fm.add_failure(tick("1.2.3.4", t), 1, false))
        .collect();
    assert_eq!(got, vec![1, 2, 3, 3, 4]);
    assert_eq!(fm.fail_total(), 5);
    // maxmatches 5 keeps the last five lines.
    let t = fm.get(&FailId::parse("1.2.3.4")).unwrap();
    assert_eq!(t.matches.len(), 5);
    assert_eq!(t.attempt, 5);
}

#[test]
fn to_ban_only_at_maxretry() {
    let mut fm = FailManager::new();
    fm.set_max_retry(2);
    fm.add_failure(tick("10.0.0.1", 10.0), 1, false);
    assert!(fm.to_ban(None).is_none());
    fm.add_failure(tick("10.0.0.1", 20.0), 1, false);
    let t = fm.to_ban(None).expect("reached maxretry");
    assert_eq!(t.retry(), 2);
    assert_eq!(fm.size(), 0);
}

#[test]
fn cleanup_drops_old_ids() {
    let mut fm = FailManager::new();
    fm.add_failure(tick("10.0.0.1", 0.0), 1, false);
    fm.add_failure(tick("10.0.0.2", 500.0), 1, false);
    fm.cleanup(600.0); // limit 0: the failure at 0 is dropped (<=)
    assert_eq!(fm.size(), 1);
    assert!(fm.get(&FailId::parse("10.0.0.2")).is_some());
}

#[test]
fn observed_unknown_id_is_not_added() {
    let mut fm = FailManager::new();
    let r = fm.add_failure(tick("10.0.0.1", 0.0), 4, true);
    assert_eq!(r, 0);
    assert_eq!(fm.size(), 0);
}

#[test]
fn count_above_attempt_sets_retry() {
    // fail2ban: addFailure(ticket, len(matches)) for `banip`-like counts.
    let mut fm = FailManager::new();
    assert_eq!(fm.add_failure(tick("10.0.0.1", 0.0), 3, false), 3);
}
