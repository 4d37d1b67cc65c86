#!/usr/bin/env python3
"""Builds the starting corpus of each fuzz target in CORPUS/<target>/.

Inputs are read at run time from the shared upstream tree and golden files
(they are not copied into the project) plus fuzz/seeds/<target>/ (our own
small hand-written cases). Usage: seed.py CORPUS UPSTREAM GOLDEN
"""
import glob, json, os, pickle, sys

corpus, upstream, golden = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
n = {}

def put(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    i = n.get(target, 0)
    n[target] = i + 1
    with open(os.path.join(d, "seed-%05d" % i), "wb") as f:
        f.write(data[:64 * 1024])

def read(p):
    with open(p, "rb") as f:
        return f.read()

cfg = os.path.join(upstream, "config")
confs = sorted(glob.glob(os.path.join(cfg, "filter.d", "*.conf")))
actions = sorted(glob.glob(os.path.join(cfg, "action.d", "*.conf")))
for p in confs + actions + [os.path.join(cfg, "jail.conf")]:
    put("ini", read(p))
common = read(os.path.join(cfg, "filter.d", "common.conf"))
jail = b"[DEFAULT]\nbanaction = a\n[j]\nenabled = true\nfilter = f[mode=aggressive]\naction = a[name=x, port=\"22,80\"]\nlogpath = /dev/null\nbackend = polling\n"
for p in confs[:60]:
    put("config_dir", jail + b"\0" + read(p) + b"\0" + b"[Definition]\nfailregex = %(known/failregex)s\n ^x <HOST>$\n\0" + read(actions[len(n) % len(actions)]))
for p in actions:
    put("config_dir", jail + b"\0" + common + b"\0\0" + read(p))

logs = sorted(p for p in glob.glob(os.path.join(upstream, "fail2ban", "tests", "files", "logs", "**"), recursive=True) if os.path.isfile(p))
for p in logs:
    lines = [l for l in read(p).split(b"\n") if l and not l.startswith(b"#")]
    put("datedetector", b"\n" + b"\n".join(lines[:12]))
for dp in ["%%Y-%%m-%%d %%H:%%M:%%S", "^%%b %%d %%H:%%M:%%S", "{^LN-BEG}EPOCH", "{^LN-BEG}TAI64N",
           "%%d/%%b/%%Y:%%H:%%M:%%S %%z", "(?<=\\[)%%ExY-%%Exm-%%Exd %%ExH:%%ExM:%%ExS", "{DATE}"]:
    put("datedetector", dp.replace("%%", "%") + "\n2005-01-23 21:59:59 x\nJan 23 21:59:59 host sshd\n1106513999.5 x\n@4000000041f4104f00000000 x")

for p in sorted(glob.glob(os.path.join(golden, "failregex-expanded", "*.json"))):
    try:
        doc = json.load(open(p))
    except Exception:
        continue
    if not isinstance(doc, dict) or not isinstance(doc.get("variants"), dict):
        continue
    for var in list(doc["variants"].values())[:2]:
        for cmd in var.get("stream", []):
            if len(cmd) >= 4 and cmd[2] in ("addfailregex", "prefregex", "addignoreregex"):
                rx = cmd[3] if isinstance(cmd[3], str) else (cmd[3][0] if cmd[3] and isinstance(cmd[3][0], str) else "")
                put("translate", rx + "\nJan 23 21:59:59 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2")

for p in confs:
    text = read(p).decode("utf-8", "replace")
    name = os.path.basename(p)[:-5]
    logf = os.path.join(upstream, "fail2ban", "tests", "files", "logs", name)
    sample = []
    if os.path.exists(logf):
        sample = [l for l in read(logf).decode("utf-8", "replace").split("\n") if l and not l.startswith("#")][:8]
    for line in text.split("\n"):
        s = line.strip()
        if "<HOST>" in s or "<ADDR>" in s or "<F-" in s:
            s = s.split("=", 1)[1].strip() if s.startswith("failregex") else s
            s = s.replace("%(__prefix_line)s", "^.*?")
            put("failregex", s + "\n\n" + "\n".join(sample))

for p in sorted(glob.glob(os.path.join(golden, "protocol", "*.req.hex"))):
    data = bytes.fromhex(read(p).decode().strip())
    put("pickle", data.split(b"<F2B_END_COMMAND>")[0])
for proto in range(0, pickle.HIGHEST_PROTOCOL + 1):
    for obj in (["status"], ["set", "sshd", "banip", "192.0.2.1", "2001:db8::1"],
                ["set", "j", "addfailregex", "^x <HOST>$"], [("a", 1, 2.5, None, True, b"b")],
                {"k": ["v", {"x": frozenset([1])}], 2: set([3])}):
        put("pickle", pickle.dumps(obj, protocol=proto))
        put("pickle", pickle.dumps((0, obj), protocol=proto))
    put("pickle", pickle.dumps((1, ValueError("bad")), protocol=proto))

for p in actions:
    text = read(p).decode("utf-8", "replace")
    props = []
    cmds = []
    for line in text.split("\n"):
        if "=" in line and not line.startswith((" ", "\t", "#", "[")):
            k, v = line.split("=", 1)
            props.append(k.strip() + "=" + v.strip())
            if k.strip().startswith("action"):
                cmds.append(v.strip())
    dyn = ["@ip=192.0.2.1", "@name=sshd", "@F-USER=r$(touch /tmp/x)`id`;rm", "@matches=a\nb", "@ipjailmatches=x'y\"z"]
    for c in cmds[:3]:
        put("tags", "\n".join(props[:30] + dyn + [c.replace("\n", " ")]))

for t in os.listdir(os.path.join(here, "seeds")) if os.path.isdir(os.path.join(here, "seeds")) else []:
    for p in glob.glob(os.path.join(here, "seeds", t, "*")):
        put(t, read(p))
print(" ".join("%s=%d" % kv for kv in sorted(n.items())))
