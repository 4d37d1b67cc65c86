#!/usr/bin/env python3
"""The e2e rig's client side: POP3/IMAP failures, good logins and connect probes.

Runs inside a network namespace (ip netns exec NS python3 attacker.py ...).
Talks raw sockets, as the page did with telnet. Every result is printed as a
human line plus one machine line starting with "RESULT " (key=value pairs)
that the shell scripts parse.

  attack --server IP --addr OWN --maillog F --plan imap,pop3*9 [--probe-port 110]
      Runs the plan's failed logins one by one. After each it waits until the
      maillog holds one more failure line naming OWN (the filesystem is shared
      across namespaces), and stamps when it appeared. If a connect is refused
      mid-plan that is an early block. After the plan it connects to
      --probe-port every 20 ms until refused or --block-timeout passes, and
      reports the seconds from the last failure line to the block.
  probe --server IP --ports 110,143 [--bind ADDR]   one connect per port
  login --server IP --bind ADDR --proto pop3|imap --user U --password P
  wait-open --server IP --ports 110,143 [--timeout S]
  wait-blocked --server IP --port 110 --since EPOCH [--timeout S]
      connects every 20 ms until refused/timed out; reports seconds since EPOCH
"""
import argparse
import socket
import sys
import time

FAIL_MARKERS = ("auth failed", "tried to use")


def connect(server, port, bind=None, timeout=3.0):
    """Returns (sock or None, seconds, outcome) where outcome names what happened."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if bind:
        s.bind((bind, 0))
    try:
        s.connect((server, port))
    except ConnectionRefusedError:
        s.close()
        return None, time.monotonic() - t0, "refused"
    except socket.timeout:
        s.close()
        return None, time.monotonic() - t0, "timeout"
    except OSError as e:
        s.close()
        return None, time.monotonic() - t0, "error:" + (e.strerror or str(e)).replace(" ", "_")
    return s, time.monotonic() - t0, "connected"


def readline(f):
    return f.readline().decode("utf-8", "replace").rstrip("\r\n")


def imap_until_tagged(f, tag):
    while True:
        line = readline(f)
        if not line or line.startswith(tag + " "):
            return line


def pop3_fail(s):
    f = s.makefile("rwb")
    readline(f)  # +OK Dovecot (Debian) ready.
    f.write(b"USER hahahaha\r\n"); f.flush()
    reply = readline(f)
    f.write(b"QUIT\r\n"); f.flush()
    readline(f)
    return reply


def imap_fail(s):
    f = s.makefile("rwb")
    readline(f)  # * OK [...] Dovecot (Debian) ready.
    f.write(b"a1 LOGIN bob wrongpassword\r\n"); f.flush()
    reply = imap_until_tagged(f, "a1")
    f.write(b"a2 LOGOUT\r\n"); f.flush()
    imap_until_tagged(f, "a2")
    return reply


def pop3_login(s, user, password):
    f = s.makefile("rwb")
    readline(f)
    f.write(b"USER %s\r\n" % user.encode()); f.flush()
    readline(f)
    f.write(b"PASS %s\r\n" % password.encode()); f.flush()
    reply = readline(f)
    f.write(b"QUIT\r\n"); f.flush()
    readline(f)
    return reply


def imap_login(s, user, password):
    f = s.makefile("rwb")
    readline(f)
    f.write(b"a1 LOGIN %s %s\r\n" % (user.encode(), password.encode())); f.flush()
    reply = imap_until_tagged(f, "a1")
    f.write(b"a2 LOGOUT\r\n"); f.flush()
    imap_until_tagged(f, "a2")
    return reply


def failure_lines(maillog, addr):
    needle = "rip=%s," % addr
    try:
        with open(maillog, encoding="utf-8", errors="replace") as fh:
            return sum(1 for l in fh if needle in l and any(m in l for m in FAIL_MARKERS))
    except FileNotFoundError:
        return 0


def wait_lines(maillog, addr, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        n = failure_lines(maillog, addr)
        if n >= want or time.monotonic() > deadline:
            return n, time.time()
        time.sleep(0.002)


def expand_plan(plan):
    steps = []
    for item in plan.split(","):
        kind, _, count = item.partition("*")
        if kind not in ("pop3", "imap"):
            raise SystemExit("unknown plan step %r (pop3 or imap)" % kind)
        steps += [kind] * int(count or 1)
    return steps


def cmd_attack(a):
    steps = expand_plan(a.plan)
    base = failure_lines(a.maillog, a.addr)
    ok, early, last_line_at = 0, 0, None
    for i, kind in enumerate(steps, 1):
        port = 110 if kind == "pop3" else 143
        s, dt, outcome = connect(a.server, port, a.bind)
        if s is None:
            print("attempt %d %s: connect %s after %.3fs" % (i, kind, outcome, dt), flush=True)
            early = i
            break
        try:
            reply = pop3_fail(s) if kind == "pop3" else imap_fail(s)
        finally:
            s.close()
        closed = time.time()
        n, seen = wait_lines(a.maillog, a.addr, base + ok + 1, a.line_timeout)
        got = n >= base + ok + 1
        ok += 1
        if got:
            last_line_at = seen
        print("attempt %d %s: connected %.3fs, reply %r, failure line %s (%d so far)"
              % (i, kind, dt, reply,
                 ("+%.3fs after close" % (seen - closed)) if got else "NOT SEEN",
                 n - base), flush=True)
    lines = failure_lines(a.maillog, a.addr) - base
    blocked_after, how = "none", "none"
    if not early and a.probe_port:
        start = last_line_at if last_line_at is not None else time.time()
        deadline = time.monotonic() + a.block_timeout
        while time.monotonic() < deadline:
            # Stamp the attempt's start: a DROP shows only after the 1 s
            # timeout, but the rule was already there when the SYN left.
            tried = time.time()
            s, dt, outcome = connect(a.server, a.probe_port, a.bind, timeout=1.0)
            if s is None:
                blocked_after, how = "%.3f" % (tried - start), outcome
                break
            s.close()
            time.sleep(0.02)
        print("probe %d after last failure line: %s %s" % (a.probe_port, how,
              ("%ss" % blocked_after) if how != "none" else "(still open after %ss)" % a.block_timeout),
              flush=True)
    print("RESULT attempts_ok=%d failure_lines=%d early_block=%d blocked_after=%s blocked_how=%s"
          % (ok, lines, early, blocked_after, how), flush=True)
    return 0


def cmd_probe(a):
    res = []
    for port in [int(p) for p in a.ports.split(",")]:
        s, dt, outcome = connect(a.server, port, a.bind, timeout=a.timeout)
        greeting = ""
        if s is not None:
            try:
                greeting = s.makefile("rb").readline().decode("utf-8", "replace").strip()
            except OSError:
                pass
            s.close()
        print("port %d: %s after %.3fs %s" % (port, outcome, dt, greeting), flush=True)
        res.append("%d=%s %d_secs=%.3f" % (port, outcome, port, dt))
    print("RESULT " + " ".join(res), flush=True)
    return 0


def cmd_login(a):
    port = 110 if a.proto == "pop3" else 143
    s, dt, outcome = connect(a.server, port, a.bind)
    if s is None:
        print("login %s: connect %s" % (a.proto, outcome))
        print("RESULT login=%s" % outcome)
        return 0
    try:
        reply = pop3_login(s, a.user, a.password) if a.proto == "pop3" else imap_login(s, a.user, a.password)
    finally:
        s.close()
    good = reply.startswith("+OK") or reply.startswith("a1 OK")
    print("login %s as %s: %r" % (a.proto, a.user, reply))
    print("RESULT login=%s" % ("ok" if good else "refused"))
    return 0


def cmd_wait_open(a):
    deadline = time.monotonic() + a.timeout
    t0 = time.monotonic()
    for port in [int(p) for p in a.ports.split(",")]:
        while True:
            s, _, _ = connect(a.server, port, a.bind, timeout=1.0)
            if s is not None:
                s.close()
                break
            if time.monotonic() > deadline:
                print("RESULT open=no port=%d" % port)
                return 0
            time.sleep(0.05)
    print("RESULT open=yes secs=%.3f" % (time.monotonic() - t0))
    return 0


def cmd_wait_blocked(a):
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        tried = time.time()
        s, dt, outcome = connect(a.server, a.port, a.bind, timeout=1.0)
        if s is None:
            after = tried - a.since
            print("port %d: %s %.3fs after the mark" % (a.port, outcome, after), flush=True)
            print("RESULT blocked=%s after=%.3f" % (outcome, after), flush=True)
            return 0
        s.close()
        time.sleep(0.02)
    print("port %d: still open after %.1fs" % (a.port, a.timeout), flush=True)
    print("RESULT blocked=no after=none", flush=True)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("attack", "probe", "login", "wait-open", "wait-blocked"):
        sp = sub.add_parser(name)
        sp.add_argument("--server", required=True)
        sp.add_argument("--bind")
    sp = sub.choices["attack"]
    sp.add_argument("--addr", required=True, help="own address as Dovecot logs it (rip=)")
    sp.add_argument("--maillog", required=True)
    sp.add_argument("--plan", default="imap,pop3*9")
    sp.add_argument("--probe-port", type=int, default=110)
    sp.add_argument("--block-timeout", type=float, default=30.0)
    sp.add_argument("--line-timeout", type=float, default=5.0)
    sub.choices["probe"].add_argument("--ports", default="110,143")
    sub.choices["probe"].add_argument("--timeout", type=float, default=3.0)
    sp = sub.choices["login"]
    sp.add_argument("--proto", choices=("pop3", "imap"), required=True)
    sp.add_argument("--user", required=True)
    sp.add_argument("--password", required=True)
    sub.choices["wait-open"].add_argument("--ports", default="110,143")
    sub.choices["wait-open"].add_argument("--timeout", type=float, default=20.0)
    sp = sub.choices["wait-blocked"]
    sp.add_argument("--port", type=int, default=110)
    sp.add_argument("--since", type=float, required=True)
    sp.add_argument("--timeout", type=float, default=30.0)
    a = p.parse_args()
    return {"attack": cmd_attack, "probe": cmd_probe, "login": cmd_login,
            "wait-open": cmd_wait_open, "wait-blocked": cmd_wait_blocked}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
