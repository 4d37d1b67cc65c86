use std::time::Duration;

use super::*;

/// An offline environment: fixed own IPs, a fixed DNS table, and a
/// scripted ignorecommand exit code.
struct Fake {
    own: Vec<IpAddr>,
    dns: HashMap<String, Vec<IpAddr>>,
    code: Result<i32>,
    ran: Vec<ShellCommand>,
    lookups: usize,
    self_lookups: usize,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            own: vec!["127.0.0.1".parse().unwrap(), "10.9.9.9".parse().unwrap()],
            dns: HashMap::new(),
            code: Ok(1),
            ran: vec![],
            lookups: 0,
            self_lookups: 0,
        }
    }
}

impl IgnoreEnv for Fake {
    fn self_ips(&mut self, _now: f64) -> Vec<IpAddr> {
        self.self_lookups += 1;
        self.own.clone()
    }
    fn resolve(&mut self, name: &str, _now: f64) -> Vec<IpAddr> {
        self.lookups += 1;
        self.dns.get(name).cloned().unwrap_or_default()
    }
    fn run_command(&mut self, cmd: &ShellCommand) -> Result<i32> {
        self.ran.push(cmd.clone());
        match &self.code {
            Ok(c) => Ok(*c),
            Err(_) => Err(Error::Timeout {
                cmd: cmd.script.clone(),
                timeout: Duration::from_secs(1),
            }),
        }
    }
}

fn id(s: &str) -> FailId {
    FailId::parse(s)
}

/// internals §D.3: ignoreself (default true) covers the host's own IPs.
#[test]
fn ignoreself_default_on() {
    let mut l = IgnoreList::new("j");
    let mut env = Fake::new();
    assert_eq!(
        l.is_ignored(&id("10.9.9.9"), None, 0.0, &mut env),
        Some(IgnoreSource::SelfRule)
    );
    l.set_ignore_self(false);
    assert_eq!(l.is_ignored(&id("10.9.9.9"), None, 0.0, &mut env), None);
}

/// Entries: IP, CIDR, netmask, [v6], DNS name; IPv4-mapped IPv6 compares
/// as IPv4.
#[test]
fn ip_cidr_netmask_dns() {
    let mut l = IgnoreList::new("j");
    l.set_ignore_self(false);
    for e in [
        "192.0.2.7",
        "198.51.100.0/24",
        "203.0.113.0/255.255.255.128",
        "[2001:db8::5]",
        "2001:db8:1::/48",
        "trusted.example",
    ] {
        l.add_ignore_ip(e).unwrap();
    }
    let mut env = Fake::new();
    env.dns.insert(
        "trusted.example".into(),
        vec!["192.0.2.99".parse().unwrap()],
    );
    let hit = |l: &mut IgnoreList, env: &mut Fake, s: &str| l.is_ignored(&id(s), None, 0.0, env);
    assert_eq!(hit(&mut l, &mut env, "192.0.2.7"), Some(IgnoreSource::Ip));
    assert_eq!(
        hit(&mut l, &mut env, "::ffff:192.0.2.7"),
        Some(IgnoreSource::Ip)
    );
    assert_eq!(
        hit(&mut l, &mut env, "198.51.100.200"),
        Some(IgnoreSource::Ip)
    );
    assert_eq!(
        hit(&mut l, &mut env, "203.0.113.127"),
        Some(IgnoreSource::Ip)
    );
    assert_eq!(hit(&mut l, &mut env, "203.0.113.128"), None);
    assert_eq!(hit(&mut l, &mut env, "2001:db8::5"), Some(IgnoreSource::Ip));
    assert_eq!(
        hit(&mut l, &mut env, "2001:db8:1:ffff::1"),
        Some(IgnoreSource::Ip)
    );
    assert_eq!(hit(&mut l, &mut env, "192.0.2.99"), Some(IgnoreSource::Dns));
    assert_eq!(hit(&mut l, &mut env, "192.0.2.100"), None);
    assert_eq!(
        l.ignore_ips(),
        vec![
            "198.51.100.0/24",
            "203.0.113.0/25",
            "2001:db8:1::/48",
            "trusted.example",
            "192.0.2.7",
            "2001:db8::5"
        ]
    );
}

#[test]
fn bad_entries_are_errors() {
    let mut l = IgnoreList::new("sshd");
    for bad in [
        "192.0.2.0/33",
        "not an ip",
        "1.2.3.4/255.0.255.0",
        "exa$mple",
    ] {
        let e = l.add_ignore_ip(bad).unwrap_err().to_string();
        assert!(e.contains("sshd") && e.contains(bad), "{e}");
    }
    assert!(l.ignore_ips().is_empty());
}

/// `file:` lists: whitespace/comma separated, `#`/`;` comments, reloaded
/// when the file changes (checked at most once per second).
#[test]
fn file_list_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ign.txt");
    std::fs::write(
        &p,
        "192.0.2.1, 192.0.2.2 # two\n; comment\n198.51.100.0/24\n",
    )
    .unwrap();
    let mut l = IgnoreList::new("j");
    l.set_ignore_self(false);
    l.add_ignore_ip(&format!("file://{}", p.display())).unwrap();
    let mut env = Fake::new();
    assert_eq!(
        l.is_ignored(&id("192.0.2.2"), None, 0.0, &mut env),
        Some(IgnoreSource::File)
    );
    assert_eq!(
        l.is_ignored(&id("198.51.100.3"), None, 0.0, &mut env),
        Some(IgnoreSource::File)
    );
    assert_eq!(l.is_ignored(&id("192.0.2.3"), None, 0.0, &mut env), None);
    std::fs::write(&p, "192.0.2.3 192.0.2.33\n").unwrap();
    assert_eq!(
        l.is_ignored(&id("192.0.2.3"), None, 10.0, &mut env),
        Some(IgnoreSource::File)
    );
    assert_eq!(l.is_ignored(&id("192.0.2.2"), None, 20.0, &mut env), None);
}

#[test]
fn file_prefix_forms() {
    assert_eq!(file_path("file:///etc/x"), Some(PathBuf::from("/etc/x")));
    assert_eq!(file_path("file:/etc/x"), Some(PathBuf::from("/etc/x")));
    assert_eq!(file_path("file:rel/x"), Some(PathBuf::from("rel/x")));
}

/// ignorecommand: exit 0 ignores, 1 does not, anything else is an error
/// and does not ignore. Tags are substituted; a user name with shell
/// metacharacters travels as `$f2bV_F_user`.
#[test]
fn ignorecommand_exit_codes_and_tags() {
    let mut l = IgnoreList::new("j");
    l.set_ignore_self(false);
    l.set_ignore_command(Some("/usr/local/bin/check <ip> <F-USER>"));
    let mut t = Ticket::new(id("192.0.2.5"), 0.0, vec![]);
    t.data.insert("user".into(), "$(reboot)".into());
    let mut env = Fake::new();
    env.code = Ok(0);
    assert_eq!(
        l.is_ignored(&id("192.0.2.5"), Some(&t), 0.0, &mut env),
        Some(IgnoreSource::Command)
    );
    let ran = env.ran.last().unwrap().clone();
    assert_eq!(
        ran.script,
        "f2bV_F_user=$0 \n/usr/local/bin/check 192.0.2.5 $f2bV_F_user"
    );
    assert_eq!(ran.args(), vec!["$(reboot)"]);
    env.code = Ok(1);
    assert_eq!(l.is_ignored(&id("192.0.2.5"), None, 0.0, &mut env), None);
    env.code = Ok(2);
    assert_eq!(l.is_ignored(&id("192.0.2.5"), None, 0.0, &mut env), None);
    env.code = Err(Error::Timeout {
        cmd: String::new(),
        timeout: Duration::from_secs(1),
    });
    assert_eq!(l.is_ignored(&id("192.0.2.5"), None, 0.0, &mut env), None);
}

#[test]
fn ignorecache_remembers_until_max_time() {
    let mut l = IgnoreList::new("j");
    l.set_ignore_self(false);
    l.set_ignore_command(Some("check <ip>"));
    l.set_ignore_cache(Some("key=\"<ip>\", max-count=10, max-time=5m"))
        .unwrap();
    let mut env = Fake::new();
    env.code = Ok(0);
    assert_eq!(
        l.is_ignored(&id("192.0.2.5"), None, 0.0, &mut env),
        Some(IgnoreSource::Command)
    );
    env.code = Ok(1);
    assert_eq!(
        l.is_ignored(&id("192.0.2.5"), None, 100.0, &mut env),
        Some(IgnoreSource::Cache)
    );
    assert_eq!(env.ran.len(), 1);
    assert_eq!(l.is_ignored(&id("192.0.2.5"), None, 301.0, &mut env), None);
    assert_eq!(env.ran.len(), 2);
    assert!(l.set_ignore_cache(Some("max-time=soon")).is_err());
}

/// A real command through /bin/sh: exit codes as fail2ban reads them.
#[test]
fn system_env_runs_command() {
    let mut env = SystemEnv::default();
    assert_eq!(env.run_command(&ShellCommand::plain("exit 0")).unwrap(), 0);
    assert_eq!(env.run_command(&ShellCommand::plain("exit 1")).unwrap(), 1);
    assert_eq!(env.run_command(&ShellCommand::plain("exit 7")).unwrap(), 7);
}

/// `prepare` asks for the own addresses only when ignoreself is on (the
/// lookup the first check would make).
#[test]
fn prepare_looks_up_own_addresses_only_with_ignoreself() {
    let mut env = Fake::new();
    let mut l = IgnoreList::new("j");
    l.prepare(0.0, &mut env);
    assert_eq!(env.self_lookups, 1);
    l.set_ignore_self(false);
    l.prepare(0.0, &mut env);
    assert_eq!(env.self_lookups, 1);
}
