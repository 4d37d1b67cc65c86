#!/usr/bin/python3
"""Render every bundled action's commands with real fail2ban, check them with sh -n.

Usage: action_render.py CONFDIR [--show]

Builds a throw-away copy of CONFDIR with a jail.local holding one enabled
jail per action variant (using the jail.conf shortcuts the way users do),
reads it with fail2ban's own client Configurator, and feeds each jail's
action settings from the resulting command stream into fail2ban's server
CommandAction, whose command execution is replaced by recording.  Then it
drives the real lifecycle -- ban of an IPv4 and an IPv6 address (which
starts the action on demand per family), unban, flush, stop -- and hands
every recorded command to `sh -n`.  Commands are never run.

Prints `ACTION: N passed, N failed` per variant (one count per command) and
exits 1 if any command failed the shell's syntax check or a variant could
not be rendered.  With --show the rendered commands are printed too.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from fail2ban.client.configurator import Configurator
from fail2ban.server.action import CommandAction

# (jail name, jail.local body).  Each jail's actions are what a user of
# fail2ban would write for that action.
VARIANTS = [
    ("iptables", "banaction = iptables\nport = ssh"),
    ("iptables-multiport", "banaction = iptables-multiport\nport = pop3,pop3s,imap,imaps"),
    ("iptables-multiport-drop", 'action = iptables-multiport[name=dovecot, port="pop3,pop3s,imap,imaps", protocol=tcp, blocktype=DROP]'),
    ("iptables-chains", 'banaction = iptables-multiport\nport = 80,443\nchain = INPUT,FORWARD\nprotocol = tcp,udp'),
    ("iptables-allports", "banaction = iptables-allports"),
    ("iptables-type-allports", "banaction = iptables[type=allports]"),
    ("iptables-ipset", "banaction = iptables-ipset\nport = ssh"),
    ("iptables-ipset-mp", "banaction = iptables-ipset[type=multiport]\nport = 22,2222"),
    ("nftables", "banaction = nftables\nport = ssh"),
    ("nftables-multiport", "banaction = nftables-multiport\nport = 110,143,1000:2000"),
    ("nftables-allports", "banaction = nftables-allports"),
    ("nftables-protoall", "banaction = nftables\nport = 53\nprotocol = all"),
    ("firewallcmd-rich-rules", "banaction = firewallcmd-rich-rules\nport = 22,80"),
    ("route", "banaction = route"),
    ("sendmail", "action = sendmail[dest=root, sender=fail2ban@example.com]"),
    ("sendmail-whois", "action = %(action_mw)s\nbanaction = dummy"),
    ("sendmail-whois-lines", "action = %(action_mwl)s\nbanaction = dummy"),
    ("dummy", "action = dummy[target=/tmp/ironban-render.dummy]"),
]

RECORDED = []


class Recorder(CommandAction):
    """fail2ban's CommandAction, but commands are recorded, not executed."""

    @staticmethod
    def executeCmd(realCmd, timeout=60, **kwargs):
        RECORDED.append(realCmd)
        return True


class FakeActions:
    """What CommandAction asks of a jail's action manager: a ban counter and
    the action info used for start/stop commands."""

    def __init__(self):
        self.banEpoch = 0
        self.actionInfo = {"ip": None, "family": "inet4", "time": time.time()}


class FakeJail:
    def __init__(self, name):
        self.name = name
        self.actions = FakeActions()

    def __str__(self):
        return self.name


def ainfo(ip, family):
    now = time.time()
    return {
        "ip": ip, "fid": ip, "family": family, "failures": 5, "time": now,
        "bantime": 600, "bancount": 1, "restored": 0,
        "matches": "line one\nline two", "ipmatches": "line one",
        "ipjailmatches": "line one", "ipfailures": 5, "ipjailfailures": 5,
    }


def stream_for(confdir):
    c = Configurator()
    c.setBaseDir(confdir)
    c.readAll()
    c.getOptions(None)
    c.convertToProtocol()
    return c.getConfigStream()


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    show = "--show" in argv
    src = argv[1]
    tmp = tempfile.mkdtemp(prefix="ironban-actions-")
    failed_total = passed_total = 0
    try:
        conf = os.path.join(tmp, "config")
        shutil.copytree(src, conf)
        for f in ("jail.local",):
            p = os.path.join(conf, f)
            if os.path.exists(p):
                os.unlink(p)
        log = os.path.join(tmp, "empty.log")
        open(log, "w").close()
        with open(os.path.join(conf, "jail.local"), "w") as fh:
            for name, body in VARIANTS:
                fh.write("[%s]\nenabled = true\nfilter = sshd\nbackend = polling\nlogpath = %s\n%s\n\n" % (name, log, body))
        stream = stream_for(conf)
        actions = {}
        order = []
        for cmd in stream:
            if len(cmd) < 3 or cmd[0] not in ("set", "multi-set"):
                continue
            jail = cmd[1]
            if cmd[2] == "addaction":
                key = (jail, cmd[3])
                actions[key] = Recorder(FakeJail(jail), cmd[3])
                order.append(key)
            elif cmd[2] == "action":
                act = actions[(jail, cmd[3])]
                pairs = cmd[4] if cmd[0] == "multi-set" else [cmd[4:6]]
                for k, v in pairs:
                    setattr(act, k, v)
        for name, _ in VARIANTS:
            keys = [k for k in order if k[0] == name]
            if not keys:
                print("%s: 0 passed, 1 failed (no action in the stream)" % name)
                failed_total += 1
                continue
            for key in keys:
                act = actions[key]
                label = name if key[1] == name else "%s/%s" % (name, key[1])
                del RECORDED[:]
                ok = bad = 0
                try:
                    act.start()
                    for ip, fam in (("192.0.2.7", "inet4"), ("2001:db8::7", "inet6")):
                        act.ban(ainfo(ip, fam))
                    for ip, fam in (("192.0.2.7", "inet4"), ("2001:db8::7", "inet6")):
                        act.unban(ainfo(ip, fam))
                    act.flush()
                    act.stop()
                except Exception as e:
                    print("  FAIL %s: exception %r" % (label, e))
                    bad += 1
                for c in RECORDED:
                    if not c.strip():
                        continue  # an operation the action leaves empty
                    r = subprocess.run(["sh", "-n", "-c", c], capture_output=True, text=True)
                    left = sorted(set(re.findall(r"<[a-z][\w\-/]*>", c)) - {"<fail2ban>"})
                    if show:
                        print("---- %s\n%s" % (label, c))
                    if r.returncode != 0:
                        bad += 1
                        print("  FAIL %s: sh -n: %s\n    %s" % (label, r.stderr.strip(), c.replace("\n", "\n    ")))
                    elif left and not all("@" in t for t in left):
                        bad += 1
                        print("  FAIL %s: unreplaced tags %s in: %s" % (label, left, c))
                    else:
                        ok += 1
                if not RECORDED:
                    bad += 1
                    print("  FAIL %s: no command rendered" % label)
                print("%s: %d passed, %d failed" % (label, ok, bad))
                passed_total += ok
                failed_total += bad
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("actions total: %d passed, %d failed" % (passed_total, failed_total))
    return 1 if failed_total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
