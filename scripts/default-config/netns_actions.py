#!/usr/bin/python3
"""Run the bundled firewall actions for real, inside a throw-away network namespace.

Usage: netns_actions.py CONFDIR        (as root)

Each variant is read through fail2ban's own client Configurator and driven
by fail2ban's server CommandAction -- but every command is executed with
`ip netns exec <ns> sh -c ...` in a namespace this script creates and
deletes, so the host's firewall is never touched.  After banning 192.0.2.7
and 2001:db8::7 it looks at the kernel state (iptables -S, ipset list,
nft list, ip route) for the bans; after unbanning and stopping, for their
absence.  Each command's exit status and each state probe count as one pass
or fail; prints `VARIANT: N passed, N failed` and exits 1 on any failure.
A tool that is missing skips its variants, saying so.
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import action_render as ar  # noqa: E402
from fail2ban.server.action import CommandAction  # noqa: E402

NS = "ironban-defaults-%d" % os.getpid()
V4, V6 = "192.0.2.7", "2001:db8::7"

# (jail, jail.local body, tool, probes).  A probe is (when, command, text,
# present): after "ban"/"unban"/"stop", the command's output must (or must
# not) contain the text; "{j}" is the jail name.
VARIANTS = [
    ("ipt-one", "banaction = iptables\nport = ssh", "iptables", [
        ("ban", "iptables -w -S f2b-{j}", "-s 192.0.2.7/32 -j REJECT --reject-with icmp-port-unreachable", True),
        ("ban", "iptables -w -S INPUT", "-p tcp -m tcp --dport 22 -j f2b-{j}", True),
        ("ban", "ip6tables -w -S f2b-{j}", "-s 2001:db8::7/128 -j REJECT --reject-with icmp6-port-unreachable", True),
        ("unban", "iptables -w -S f2b-{j}", "192.0.2.7", False),
        ("stop", "iptables -w -S", "f2b-{j}", False),
        ("stop", "ip6tables -w -S", "f2b-{j}", False),
    ]),
    ("ipt-multi", 'action = iptables-multiport[name=ipt-multi, port="pop3,pop3s,imap,imaps", protocol=tcp, blocktype=DROP]', "iptables", [
        ("ban", "iptables -w -S f2b-{j}", "-s 192.0.2.7/32 -j DROP", True),
        ("ban", "iptables -w -S INPUT", "-p tcp -m multiport --dports 110,995,143,993 -j f2b-{j}", True),
        # As in fail2ban 1.0.2: a plain blocktype passed to the action does not
        # replace the [Init?family=inet6] one, so IPv6 still rejects.
        ("ban", "ip6tables -w -S f2b-{j}", "-s 2001:db8::7/128 -j REJECT --reject-with icmp6-port-unreachable", True),
        ("unban", "iptables -w -S f2b-{j}", "192.0.2.7", False),
        ("stop", "iptables -w -S", "f2b-{j}", False),
    ]),
    ("ipt-chains", "banaction = iptables-multiport\nport = 80,443\nchain = INPUT,FORWARD\nprotocol = tcp,udp", "iptables", [
        ("ban", "iptables -w -S FORWARD", "-p udp -m multiport --dports 80,443 -j f2b-{j}", True),
        ("ban", "iptables -w -S INPUT", "-p tcp -m multiport --dports 80,443 -j f2b-{j}", True),
        ("stop", "iptables -w -S", "f2b-{j}", False),
    ]),
    ("ipt-all", "banaction = iptables-allports", "iptables", [
        ("ban", "iptables -w -S INPUT", "-p tcp -j f2b-{j}", True),
        ("ban", "iptables -w -S f2b-{j}", "-s 192.0.2.7/32", True),
        ("stop", "iptables -w -S", "f2b-{j}", False),
    ]),
    ("ipt-ipset", "banaction = iptables-ipset[type=multiport]\nport = 22,2222", "ipset", [
        ("ban", "ipset list f2b-{j}", "192.0.2.7", True),
        ("ban", "ipset list f2b-{j}6", "2001:db8::7", True),
        ("ban", "iptables -w -S INPUT", "--match-set f2b-{j} src -j REJECT", True),
        ("unban", "ipset list f2b-{j}", "192.0.2.7", False),
        ("stop", "ipset list -n", "f2b-{j}", False),
        ("stop", "iptables -w -S", "f2b-{j}", False),
    ]),
    ("nft-one", "banaction = nftables\nport = ssh", "nft", [
        ("ban", "nft list set inet f2b-table addr-set-{j}", "192.0.2.7", True),
        ("ban", "nft list set inet f2b-table addr6-set-{j}", "2001:db8::7", True),
        ("ban", "nft list chain inet f2b-table f2b-chain", "tcp dport 22 ip saddr @addr-set-{j} reject", True),
        ("unban", "nft list set inet f2b-table addr-set-{j}", "192.0.2.7", False),
        ("stop", "nft list ruleset", "f2b-table", False),
    ]),
    ("nft-multi", "banaction = nftables-multiport\nport = pop3,imap,1000:2000", "nft", [
        ("ban", "nft list chain inet f2b-table f2b-chain", "@addr-set-{j} reject", True),
        ("ban", "nft list set inet f2b-table addr-set-{j}", "192.0.2.7", True),
        ("stop", "nft list ruleset", "f2b-table", False),
    ]),
    ("nft-all", "banaction = nftables-allports\nprotocol = tcp,udp", "nft", [
        ("ban", "nft list chain inet f2b-table f2b-chain", "meta l4proto {{ tcp, udp }} ip saddr @addr-set-{j} reject", True),
        ("stop", "nft list ruleset", "f2b-table", False),
    ]),
    ("route", "banaction = route", "ip", [
        ("ban", "ip route show type unreachable", "192.0.2.7", True),
        ("ban", "ip -6 route show type unreachable", "2001:db8::7", True),
        ("unban", "ip route show type unreachable", "192.0.2.7", False),
    ]),
]


class Executor(CommandAction):
    """fail2ban's CommandAction, executing inside the namespace."""

    log = []

    @staticmethod
    def executeCmd(realCmd, timeout=60, **kwargs):
        r = subprocess.run(["ip", "netns", "exec", NS, "sh", "-c", realCmd],
                           capture_output=True, text=True, timeout=timeout)
        Executor.log.append((realCmd, r.returncode, r.stderr.strip()))
        return r.returncode == 0


def in_ns(cmd):
    r = subprocess.run(["ip", "netns", "exec", NS, "sh", "-c", cmd], capture_output=True, text=True)
    return r.stdout + r.stderr


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    if os.geteuid() != 0:
        print("netns actions: 0 passed, 1 failed (needs root to create a network namespace)")
        return 1
    ar.VARIANTS[:] = [(j, body) for j, body, _t, _p in VARIANTS]
    ar.Recorder = Executor
    if subprocess.run(["ip", "netns", "add", NS]).returncode != 0:
        print("netns actions: 0 passed, 1 failed (cannot create a network namespace)")
        return 1
    total_ok = total_bad = 0
    try:
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
        import tempfile
        tmp = tempfile.mkdtemp(prefix="ironban-netns-")
        try:
            conf = os.path.join(tmp, "config")
            shutil.copytree(argv[1], conf)
            for f in ("jail.local",):
                if os.path.exists(os.path.join(conf, f)):
                    os.unlink(os.path.join(conf, f))
            log = os.path.join(tmp, "empty.log")
            open(log, "w").close()
            with open(os.path.join(conf, "jail.local"), "w") as fh:
                for j, body, _t, _p in VARIANTS:
                    fh.write("[%s]\nenabled = true\nfilter = sshd\nbackend = polling\nlogpath = %s\n%s\n\n" % (j, log, body))
            stream = ar.stream_for(conf)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        actions = {}
        for cmd in stream:
            if len(cmd) < 3 or cmd[0] not in ("set", "multi-set"):
                continue
            if cmd[2] == "addaction":
                actions[cmd[1]] = Executor(ar.FakeJail(cmd[1]), cmd[3])
            elif cmd[2] == "action":
                pairs = cmd[4] if cmd[0] == "multi-set" else [cmd[4:6]]
                for k, v in pairs:
                    setattr(actions[cmd[1]], k, v)
        for j, _body, tool, probes in VARIANTS:
            if not shutil.which(tool):
                print("%s: skipped (%s not installed)" % (j, tool))
                continue
            act = actions.get(j)
            ok = bad = 0
            if act is None:
                print("%s: 0 passed, 1 failed (not in the stream)" % j)
                total_bad += 1
                continue
            Executor.log = []

            def probe(when):
                nonlocal ok, bad
                for w, cmd, text, present in probes:
                    if w != when:
                        continue
                    out = in_ns(cmd.format(j=j))
                    if (text.format(j=j) in out) == present:
                        ok += 1
                    else:
                        bad += 1
                        print("  FAIL %s after %s: `%s` %s %r:\n    %s" % (
                            j, when, cmd.format(j=j), "lacks" if present else "still has",
                            text.format(j=j), out.strip().replace("\n", "\n    ")))
            try:
                act.start()
                for ip, fam in ((V4, "inet4"), (V6, "inet6")):
                    act.ban(ar.ainfo(ip, fam))
                probe("ban")
                act.unban(ar.ainfo(V4, "inet4"))
                probe("unban")
                act.flush()
                act.stop()
                probe("stop")
            except Exception as e:
                bad += 1
                print("  FAIL %s: exception %r" % (j, e))
            for c, rc, err in Executor.log:
                if rc == 0:
                    ok += 1
                else:
                    bad += 1
                    print("  FAIL %s: exit %d: %s\n    %s" % (j, rc, err, c.replace("\n", "\n    ")))
            print("%s: %d passed, %d failed" % (j, ok, bad))
            total_ok += ok
            total_bad += bad
    finally:
        subprocess.run(["ip", "netns", "del", NS])
    print("netns actions total: %d passed, %d failed" % (total_ok, total_bad))
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
