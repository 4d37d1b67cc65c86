#!/usr/bin/env python3
"""A minimal SMTP sink for the e2e rig: accepts every message and writes it to a file.

Usage: smtpsink.py HOST PORT MAILDIR

Each message lands in MAILDIR/NNNN.eml (written to a temp name, then renamed,
so a reader never sees half a message) with the envelope as X-Envelope-* headers.
Speaks just enough SMTP for msmtp (HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT);
advertises no extensions, so the client sends plain DATA without TLS or AUTH.
Written because python3.11's smtpd is deprecated (gone in 3.12).
"""
import os
import socket
import sys
import threading

counter_lock = threading.Lock()
counter = [0]


def store(maildir, mail_from, rcpts, data):
    with counter_lock:
        counter[0] += 1
        n = counter[0]
    tmp = os.path.join(maildir, ".%04d.tmp" % n)
    with open(tmp, "wb") as f:
        f.write(b"X-Envelope-From: " + mail_from + b"\r\n")
        f.write(b"X-Envelope-To: " + b", ".join(rcpts) + b"\r\n")
        f.write(data)
    os.rename(tmp, os.path.join(maildir, "%04d.eml" % n))


def session(conn, maildir):
    f = conn.makefile("rwb")

    def reply(text):
        f.write(text.encode() + b"\r\n")
        f.flush()

    reply("220 e2e-sink ESMTP ready")
    mail_from, rcpts = b"", []
    while True:
        line = f.readline()
        if not line:
            return
        cmd = line.strip()
        verb = cmd[:4].upper()
        if verb in (b"HELO", b"EHLO"):
            reply("250 e2e-sink")
        elif verb == b"MAIL":
            mail_from, rcpts = cmd.split(b":", 1)[1].strip(), []
            reply("250 OK")
        elif verb == b"RCPT":
            rcpts.append(cmd.split(b":", 1)[1].strip())
            reply("250 OK")
        elif verb == b"DATA":
            reply("354 End data with <CR><LF>.<CR><LF>")
            body = []
            while True:
                dl = f.readline()
                if not dl or dl.rstrip(b"\r\n") == b".":
                    break
                if dl.startswith(b".."):
                    dl = dl[1:]
                body.append(dl)
            store(maildir, mail_from, rcpts, b"".join(body))
            reply("250 OK")
        elif verb == b"RSET":
            mail_from, rcpts = b"", []
            reply("250 OK")
        elif verb == b"NOOP":
            reply("250 OK")
        elif verb == b"QUIT":
            reply("221 Bye")
            return
        else:
            reply("502 Command not implemented")


def serve(conn, maildir):
    try:
        session(conn, maildir)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    host, port, maildir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(maildir, exist_ok=True)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(16)
    print("smtpsink listening on %s:%d -> %s" % (host, port, maildir), flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, maildir), daemon=True).start()


if __name__ == "__main__":
    main()
