use super::*;
use crate::ticket::Ticket;

fn t(ip: &str, time: f64) -> Ticket {
    Ticket::new(FailId::parse(ip), time, vec![])
}

/// internals §E.3: end of ban = time + bantime; an expired ticket is not
/// added; a new ban bumps total and bancount.
#[test]
fn add_and_expire() {
    let mut bm = BanManager::new();
    bm.set_bantime(600);
    assert_eq!(bm.add_ban_ticket(t("192.0.2.1", 1000.0), 1000.0), Ok(()));
    assert_eq!(bm.get(&FailId::parse("192.0.2.1")).unwrap().bancount, 1);
    assert_eq!(bm.ban_total(), 1);
    assert_eq!(
        bm.add_ban_ticket(t("192.0.2.2", 0.0), 1000.0),
        Err(NotAdded::Expired)
    );
    assert_eq!(bm.next_unban_time(), 1600.0);
    assert!(bm.unban_list(1600.0, 100).is_empty()); // not yet: now > eob
    let gone = bm.unban_list(1600.5, 100);
    assert_eq!(gone.len(), 1);
    assert_eq!(bm.size(), 0);
}

/// Oracle: fail2ban 1.0.2 `BanManager` with bantime 600: a second ticket
/// for a banned IP 100 s later prolongs the ban to bantime 700 (btm +
/// diftm), `addBanTicket` returns False with reason prolong=1.
#[test]
fn already_banned_prolongs() {
    let mut bm = BanManager::new();
    bm.add_ban_ticket(t("192.0.2.1", 1000.0), 1000.0).unwrap();
    let r = bm.add_ban_ticket(t("192.0.2.1", 1100.0), 1100.0);
    assert_eq!(r, Err(NotAdded::AlreadyBanned { prolonged: true }));
    assert_eq!(
        bm.get(&FailId::parse("192.0.2.1")).unwrap().bantime,
        Some(700)
    );
    assert_eq!(bm.ban_total(), 1);
}

/// Deliberate difference (docs/action.md): every negative bantime is
/// permanent; fail2ban 1.x lets `-10` expire at once.
#[test]
fn negative_bantime_is_permanent() {
    let mut bm = BanManager::new();
    bm.set_bantime(-10);
    bm.add_ban_ticket(t("192.0.2.1", 1000.0), 5000.0).unwrap();
    assert!(bm.unban_list(1e12, 100).is_empty());
    assert_eq!(bm.size(), 1);
    let mut tk = t("192.0.2.9", 0.0);
    tk.bantime = Some(-1);
    bm.add_ban_ticket(tk, 1e9).unwrap();
    assert_eq!(bm.size(), 2);
}

#[test]
fn max_count_and_flush() {
    let mut bm = BanManager::new();
    bm.set_bantime(10);
    for i in 1..=5 {
        bm.add_ban_ticket(t(&format!("10.0.0.{i}"), 100.0), 100.0)
            .unwrap();
    }
    assert_eq!(bm.unban_list(200.0, 2).len(), 2);
    assert_eq!(bm.unban_list(200.0, 100).len(), 3);
    bm.add_ban_ticket(t("10.0.0.9", 300.0), 300.0).unwrap();
    assert_eq!(bm.flush_ban_list().len(), 1);
    assert_eq!(bm.size(), 0);
}
