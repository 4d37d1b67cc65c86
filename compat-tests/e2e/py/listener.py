#!/usr/bin/env python3
"""Stand-in service for page-filter.sh: listens on HOST at each PORT, greets, closes.

Usage: listener.py HOST PORT[,PORT...]
Scenario B needs no real Dovecot (its log lines are written by the rig), only
something the attacker's connects can reach until the firewall says no.
"""
import socket
import sys
import threading


def serve(port, srv):
    while True:
        conn, _ = srv.accept()
        try:
            conn.sendall(b"+OK e2e listener on %d\r\n" % port)
        except OSError:
            pass
        conn.close()


def main():
    host, ports = sys.argv[1], [int(p) for p in sys.argv[2].split(",")]
    threads = []
    for port in ports:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, port))
        srv.listen(16)
        t = threading.Thread(target=serve, args=(port, srv), daemon=True)
        t.start()
        threads.append(t)
    print("listening on %s:%s" % (host, sys.argv[2]), flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
