#!/usr/bin/env python3
"""Generate realistic sshd or dovecot syslog lines for the benchmark.

usage: gen_logs.py sshd|dovecot COUNT > file.log

Deterministic (fixed seed). Mixes failures, successes and noise in roughly
the proportions of a busy internet-facing host: about a third of the lines
are failures, the rest is what fail2ban has to read and reject.
"""
import random
import sys

USERS = ["root", "admin", "test", "oracle", "ubuntu", "git", "postgres", "user", "alice", "bob", "deploy", "pi"]


def ip(r):
    return "%d.%d.%d.%d" % (r.choice([45, 61, 92, 103, 141, 185, 193, 203, 218]), r.randrange(256), r.randrange(256), r.randrange(1, 255))


def ts(i):
    # one line every ~0.25 s starting Mar 1 00:00:00
    s = i // 4
    day, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return "Mar %2d %02d:%02d:%02d" % (1 + day % 28, h, m, s)


def sshd(r, i):
    pid = r.randrange(1000, 65000)
    a = ip(r)
    u = r.choice(USERS)
    port = r.randrange(1024, 65535)
    k = r.random()
    head = "%s web01 sshd[%d]: " % (ts(i), pid)
    if k < 0.18:
        return head + "Failed password for invalid user %s from %s port %d ssh2" % (u, a, port)
    if k < 0.30:
        return head + "Failed password for %s from %s port %d ssh2" % (u, a, port)
    if k < 0.40:
        return head + "Invalid user %s from %s port %d" % (u, a, port)
    if k < 0.50:
        return head + "Connection closed by authenticating user %s %s port %d [preauth]" % (u, a, port)
    if k < 0.58:
        return head + "Received disconnect from %s port %d:11: Bye Bye [preauth]" % (a, port)
    if k < 0.66:
        return head + "Disconnected from invalid user %s %s port %d [preauth]" % (u, a, port)
    if k < 0.72:
        return head + "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s" % (a, u)
    if k < 0.78:
        return head + "Accepted publickey for %s from %s port %d ssh2: RSA SHA256:%032x" % (u, a, port, r.getrandbits(128))
    if k < 0.86:
        return head + "pam_unix(sshd:session): session opened for user %s(uid=1000) by (uid=0)" % u
    if k < 0.92:
        return head + "Connection from %s port %d on 10.0.0.5 port 22 rdomain \"\"" % (a, port)
    if k < 0.96:
        return "%s web01 CRON[%d]: pam_unix(cron:session): session closed for user root" % (ts(i), pid)
    return head + "error: maximum authentication attempts exceeded for %s from %s port %d ssh2 [preauth]" % (u, a, port)


def dovecot(r, i):
    pid = r.randrange(1000, 65000)
    a = ip(r)
    u = r.choice(USERS) + "@example.com"
    k = r.random()
    head = "%s mail dovecot: " % ts(i)
    if k < 0.20:
        return head + "imap-login: Aborted login (auth failed, 1 attempts in 2 secs): user=<%s>, method=PLAIN, rip=%s, lip=10.0.0.2, TLS, session=<%012x>" % (u, a, r.getrandbits(48))
    if k < 0.30:
        return head + "pop3-login: Disconnected (auth failed, 1 attempts in 4 secs): user=<%s>, method=LOGIN, rip=%s, lip=10.0.0.2, session=<%012x>" % (u, a, r.getrandbits(48))
    if k < 0.38:
        return head + "auth-worker(%d): pam(%s,%s,<%012x>): pam_authenticate() failed: Authentication failure (password mismatch?)" % (pid, u, a, r.getrandbits(48))
    if k < 0.70:
        return head + "imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=10.0.0.2, mpid=%d, TLS, session=<%012x>" % (u, a, pid, r.getrandbits(48))
    if k < 0.90:
        return head + "imap(%s)<%d><%012x>: Logged out in=%d out=%d deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0" % (u, pid, r.getrandbits(48), r.randrange(9999), r.randrange(99999))
    return head + "imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=%s, lip=10.0.0.2, TLS handshaking: Connection closed, session=<%012x>" % (a, r.getrandbits(48))


def main():
    kind, count = sys.argv[1], int(sys.argv[2])
    gen = {"sshd": sshd, "dovecot": dovecot}[kind]
    r = random.Random(20260101)
    out = sys.stdout
    for i in range(count):
        out.write(gen(r, i))
        out.write("\n")


if __name__ == "__main__":
    main()
