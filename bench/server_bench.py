#!/usr/bin/env python3
"""Server benchmark: real fail2ban-server vs `ironban server` (issue #5, Speed).

usage: server_bench.py IRONBAN_BINARY CONFIG_DIR [JAILS...] [--bans N] [--backends polling,auto]

For each backend and each jail count, both servers are started in turn on
the same generated confdir (a copy of CONFIG_DIR with a fail2ban.local and a
jail.local: jails j1..jN, filter sshd, one log file each, action dummy
writing to its own file, dbfile :memory:). Measured the same way for both:

  ready    time from spawn until every jail answers `status` on the socket
           (direct socket ping loop speaking fail2ban's pickle protocol,
           as fail2ban-client does, so no client start-up cost is counted)
  rss      VmRSS of the server process, 1 s after ready
  threads  Threads of the server process, 1 s after ready
  idle CPU CPU time (user+system, all threads) the server used in that
           idle second, in percent of one core
  ban      delay from writing maxretry failure lines for a new address to
           the dummy action's "+IP" line appearing in its target file
           (BANS samples spread over the jails, each written after a
           random 0-1 s pause; p50 and p99)
  stop     time from sending `stop` on the socket until the process exits

Everything runs on a unix socket in a temp dir; all loops are bounded and
every server is killed on exit.
"""
import os
import pickle
import random
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

END = b"<F2B_END_COMMAND>"
CLOSE = b"<F2B_CLOSE_COMMAND>"
FAIL2BAN = ["/usr/bin/python3", "/usr/bin/fail2ban-server"]
MAXRETRY = 3
CHILDREN = []


def cleanup(*_):
    for p in CHILDREN:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


def request(sock_path, cmd, timeout=5.0):
    """One fail2ban protocol round trip; returns the unpickled reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(pickle.dumps(list(cmd), pickle.HIGHEST_PROTOCOL) + END)
        buf = b""
        while not buf.endswith(END):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        s.sendall(CLOSE + END)  # what fail2ban-client sends on close
    finally:
        s.close()
    if not buf.endswith(END):
        raise ConnectionError("short reply")
    return pickle.loads(buf[: -len(END)])


def make_confdir(base, src_config, jails, backend):
    conf = os.path.join(base, "conf")
    shutil.copytree(src_config, conf)
    for f in ("jail.local", "fail2ban.local"):
        p = os.path.join(conf, f)
        if os.path.exists(p):
            os.remove(p)
    run = os.path.join(base, "run")
    os.makedirs(run)
    with open(os.path.join(conf, "fail2ban.local"), "w") as f:
        f.write(
            "[Definition]\nloglevel = INFO\n"
            f"logtarget = {run}/server.log\n"
            f"socket = {run}/f2b.sock\npidfile = {run}/f2b.pid\n"
            "dbfile = :memory:\n"
        )
    lines = [
        "[DEFAULT]",
        f"backend = {backend}",
        f"maxretry = {MAXRETRY}",
        "findtime = 600",
        "bantime = 600",
        "usedns = no",
        "ignoreip = 127.0.0.1/8",
        "",
    ]
    for j in range(1, jails + 1):
        log = os.path.join(run, f"j{j}.log")
        open(log, "w").close()
        lines += [
            f"[j{j}]",
            "enabled = true",
            "filter = sshd",
            f"logpath = {log}",
            f"action = dummy[target={run}/j{j}.ban]",
            "",
        ]
    with open(os.path.join(conf, "jail.local"), "w") as f:
        f.write("\n".join(lines))
    return conf, run


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return int(out["VmRSS"].split()[0]), int(out["Threads"])


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(sock, jails, proc, timeout=120.0):
    pending = [f"j{j}" for j in range(1, jails + 1)]
    deadline = time.monotonic() + timeout
    while pending:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready: {len(pending)} jails pending")
        try:
            code, _ = request(sock, ["status", pending[0]])
            if code == 0:
                pending.pop(0)
                continue
        except Exception:  # not listening yet, or an error reply (unknown jail)
            pass
        time.sleep(0.002)


def failure_lines(ip):
    stamp = time.strftime("%b %d %H:%M:%S")
    return "".join(
        f"{stamp} bench sshd[{1000 + i}]: Failed password for root from {ip} port 22 ssh2\n"
        for i in range(MAXRETRY)
    )


def ban_delays(run, jails, bans, tag, timeout=10.0):
    delays = []
    missed = 0
    # A pause of random length (the same sequence for both servers) before
    # each write, so writes land at a uniformly random phase of a polling
    # server's 1 s tick. Without it every write follows the previous ban,
    # which itself follows a tick, and a server whose jails tick in phase
    # is measured at ~1 s every time instead of its real 0-1 s spread.
    phase = random.Random(1000 * jails + bans)
    for i in range(bans):
        j = i % jails + 1
        ip = f"198.51.{100 + tag}.{i + 1}"
        target = os.path.join(run, f"j{j}.ban")
        want = f"+{ip}\n"
        data = failure_lines(ip)
        with open(os.path.join(run, f"j{j}.log"), "a") as f:
            t0 = time.perf_counter()
            f.write(data)
            f.flush()
        deadline = t0 + timeout
        seen = False
        while time.perf_counter() < deadline:
            try:
                with open(target) as f:
                    if want in f.read():
                        seen = True
                        break
            except FileNotFoundError:
                pass
            time.sleep(0.0002)
        if seen:
            delays.append(time.perf_counter() - t0)
        else:
            missed += 1
        # let the previous ban settle so samples don't queue behind each other
        time.sleep(0.05 + phase.random())
    return delays, missed


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def bench_one(name, argv_prefix, src_config, jails, backend, bans, tag):
    base = tempfile.mkdtemp(prefix=f"srvbench-{name}-")
    try:
        conf, run = make_confdir(base, src_config, jails, backend)
        sock = os.path.join(run, "f2b.sock")
        errlog = open(os.path.join(run, "stderr"), "w")
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv_prefix + ["-f", "-x", "-c", conf, "start"],
            stdout=errlog, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        CHILDREN.append(proc)
        res = {"impl": name, "jails": jails, "backend": backend}
        try:
            wait_ready(sock, jails, proc)
            res["ready"] = time.perf_counter() - t0
            c0 = cpu_seconds(proc.pid)
            time.sleep(1.0)
            res["idle_cpu"] = (cpu_seconds(proc.pid) - c0) * 100
            res["rss_kb"], res["threads"] = proc_status(proc.pid)
            delays, missed = ban_delays(run, jails, bans, tag)
            res["ban_p50"] = pct(delays, 50)
            res["ban_p99"] = pct(delays, 99)
            res["ban_n"] = len(delays)
            res["ban_missed"] = missed
            res["rss_after_kb"], res["threads_after"] = proc_status(proc.pid)
            # Popen.wait(timeout) polls at 1, 3, 7, ..., 63, 113 ms, which
            # quantised this column; a pidfd becomes readable at the exit.
            pidfd = os.pidfd_open(proc.pid)
            t1 = time.perf_counter()
            try:
                request(sock, ["stop"])
            except (OSError, ConnectionError, EOFError):
                pass  # the server may close before replying
            try:
                exited, _, _ = select.select([pidfd], [], [], 30)
                res["stop"] = time.perf_counter() - t1 if exited else float("nan")
            finally:
                os.close(pidfd)
            proc.wait(timeout=5)
        except Exception as e:  # report and go on with the next run
            res["error"] = f"{type(e).__name__}: {e}"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            errlog.close()
            if "error" in res:
                tail = open(os.path.join(run, "stderr")).read()[-800:]
                res["error"] += "\n    stderr: " + tail.replace("\n", "\n    ")
        return res
    finally:
        shutil.rmtree(base, ignore_errors=True)


def fmt(v, unit):
    if v is None or v != v:
        return "-"
    if unit == "s":
        return f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "%":
        return f"{v:.0f} %"
    if unit == "kb":
        return f"{v / 1024:.1f} MB"
    return str(v)


def ratio(a, b):
    if a is None or b is None or a != a or b != b or a == 0 or b == 0:
        return "-"
    return f"1/{a / b:.1f}" if a >= b else f"{b / a:.1f}x"


def main():
    args = sys.argv[1:]
    bans = 20
    backends = ["polling", "auto"]
    if "--bans" in args:
        i = args.index("--bans")
        bans = int(args[i + 1])
        del args[i : i + 2]
    if "--backends" in args:
        i = args.index("--backends")
        backends = args[i + 1].split(",")
        del args[i : i + 2]
    ironban, src_config = args[0], args[1]
    counts = [int(a) for a in args[2:]] or [1, 10, 50]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    impls = [("fail2ban", FAIL2BAN), ("ironban", [ironban, "server"])]
    rows = []
    try:
        tag = 0
        for backend in backends:
            for n in counts:
                pair = {}
                for name, argv in impls:
                    r = bench_one(name, argv, src_config, n, backend, bans, tag)
                    tag += 1
                    pair[name] = r
                    if "error" in r:
                        print(f"# {name} {backend} {n} jails: {r['error']}", flush=True)
                    else:
                        print(f"# {name} {backend} {n} jails: done", flush=True)
                rows.append(pair)
    finally:
        cleanup()

    cols = [
        ("ready", "s", "time to ready"),
        ("rss_kb", "kb", "RSS"),
        ("threads", "", "threads"),
        ("idle_cpu", "%", "idle CPU (1 s)"),
        ("stop", "s", "stop time"),
        ("ban_p50", "s", "line-to-ban p50"),
        ("ban_p99", "s", "line-to-ban p99"),
    ]
    print()
    print(f"{'backend':8} {'jails':>5}  {'metric':16} {'fail2ban':>12} {'ironban':>12} {'ironban/f2b':>12}")
    for pair in rows:
        f, i = pair["fail2ban"], pair["ironban"]
        for key, unit, label in cols:
            a, b = f.get(key), i.get(key)
            print(
                f"{f['backend']:8} {f['jails']:>5}  {label:16} {fmt(a, unit):>12} {fmt(b, unit):>12} "
                f"{ratio(a, b):>12}"
            )
        for r in (f, i):
            extra = f"bans seen {r.get('ban_n', 0)}/{bans}"
            if "rss_after_kb" in r:
                extra += f", after bans: {fmt(r['rss_after_kb'], 'kb')}, {r['threads_after']} threads"
            print(f"{'':8} {'':>5}  ({r['impl']}: {extra})")
        print()
    bad = any("error" in r for pair in rows for r in pair.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
