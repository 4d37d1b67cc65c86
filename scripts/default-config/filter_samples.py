#!/usr/bin/python3
"""Check filters of a config dir against upstream's annotated sample logs.

Usage: filter_samples.py [--partial] CONFDIR LOGDIR FILTER [FILTER...]

--partial: the logs only add cases to another sample set, so a failregex
without a sample here is not counted as a failure.

Runs on the real fail2ban Python modules (Debian's /usr/bin/python3), so the
verdicts are fail2ban's own.  It follows the rules of the sample-log format
(`# failJSON:` applies to the next line, `# filterOptions:` switches option
sets, `# fileOptions:` and `# addFILE:`), but unlike a unit test it does not
stop at the first problem: every checked (line, option set) pair counts as
one pass or one fail, and each failregex that no sample exercised counts as
one more fail.  Prints one `NAME: N passed, N failed` line per filter and
exits 1 if anything failed.
"""

import datetime
import json
import os
import re
import sys
import time

# The samples' timestamps are written for this zone and this "now".
os.environ["TZ"] = "CET-01CEST-02,M3.5.0,M10.5.0"
time.tzset()

from fail2ban.client.filterreader import FilterReader  # noqa: E402
from fail2ban.server.failregex import Regex  # noqa: E402
from fail2ban.server.filter import Filter  # noqa: E402
from fail2ban.server.mytime import MyTime  # noqa: E402

NOW = 1124013600
NOW_ISO = datetime.datetime.utcfromtimestamp(NOW).isoformat()
DIRECTIVE = re.compile(r"^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$")
HOST_RE = Regex._resolveHostTag("<HOST>")
# A greedy catch-all before <HOST> that is not hard-anchored is a latent
# mis-attribution (the attacker can choose which address is captured).
WRONG_GREED = re.compile(
    r"\.[+\*](?!\?)[^\$\^]*" + re.escape(HOST_RE) + r".*(?:\.[+\*].*|[^\$])$"
)
VERBOSE = os.environ.get("CHECK_VERBOSE") == "1"


class Tally:
    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def ok(self):
        self.passed += 1

    def bad(self, msg):
        self.failed += 1
        if VERBOSE or self.failed <= 8:
            print("  FAIL %s: %s" % (self.name, msg))


def build(confdir, name, opts, tally):
    flt = Filter(None)
    flt.returnRawHost = True
    flt.checkAllRegex = True
    flt.checkFindTime = False
    flt.active = True
    reader = FilterReader(name, "jail", dict(opts), basedir=confdir)
    if not reader.read():
        raise SystemExit("%s: cannot read filter.d/%s.conf" % (confdir, name))
    reader.getOptions({})
    for tok in reader.convert():
        vals = tok[3] if tok[0] == "multi-set" else [tok[3]]
        for v in vals:
            key = tok[2]
            if key == "prefregex":
                flt.prefRegex = v
            elif key == "addfailregex":
                flt.addFailRegex(v)
            elif key == "addignoreregex":
                flt.addIgnoreRegex(v)
            elif key == "maxlines":
                flt.setMaxLines(v)
            elif key == "datepattern":
                flt.setDatePattern(v)
    for rx in flt.getFailRegex():
        if WRONG_GREED.search(rx):
            tally.bad("greedy catch-all before <HOST> in %r" % rx.replace(HOST_RE, "<HOST>"))
    return [flt]


def safe_build(confdir, name, opts, tally, key):
    try:
        return build(confdir, name, opts, tally)
    except Exception as e:
        tally.bad("%s: cannot build filter: %s" % (key or "default", e))
        return None


def local_epoch(text):
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"):
        try:
            t = datetime.datetime.strptime(text, fmt)
            return time.mktime(t.timetuple()) + t.microsecond / 1e6
        except ValueError:
            pass
    return None


def check_one(tally, where, line, faildata, flt, used, opts):
    """One sample line against one filter; `used` collects the regexes hit
    (shared by all option sets, as a regex counts as sampled once any set
    exercises it)."""
    regexes = flt.getFailRegex()
    if opts.get("logtype") != "journal":
        ret = flt.processLine(line)
    else:
        if opts.get("test.prefix-line"):
            line = opts["test.prefix-line"] + line
        ret = flt.processLine(("", NOW_ISO, line), NOW)
    found = []
    for r in ret or []:
        idx, fid, _t, fail = r
        if fid is None or fail.get("nofail"):
            used.add(regexes[idx])
            continue
        found.append(r)
    expect = faildata.get("match", False)
    if not found:
        if expect:
            return tally.bad("%s: not matched, expected match: %s" % (where, line))
        return tally.ok()
    if not expect:
        return tally.bad("%s: matched (regex %d), expected no match: %s" % (where, found[0][0], line))
    if len(found) > 1:
        return tally.bad("%s: %d regexes matched: %s" % (where, len(found), line))
    idx, fid, ftime, fail = found[0]
    used.add(regexes[idx])
    for k, v in faildata.items():
        if k in ("time", "match", "desc", "constraint"):
            continue
        got = fail.get(k)
        if got is None:
            if k == "host":
                got = fid
            elif k == "attempts":
                got = len(fail.get("matches", {}))
        if isinstance(got, (set, list, dict)):
            got, v = sorted(got), sorted(v)
        if got != v:
            return tally.bad("%s: %s=%r, expected %r: %s" % (where, k, got, v, line))
    if faildata.get("time") is not None:
        want = local_epoch(faildata["time"])
        if ftime != want:
            return tally.bad("%s: time %r, expected %r (%s): %s" % (where, ftime, want, faildata["time"], line))
    tally.ok()


def check_filter(confdir, logdir, name, partial=False):
    MyTime.setTime(NOW)
    tally = Tally(name)
    cache = {}
    used = set()
    current = None
    common = {}
    files = [name]
    i = 0
    while i < len(files):
        path = os.path.join(logdir, files[i])
        i += 1
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
        skip_block = False
        n = 0
        while n < len(lines):
            line = lines[n]
            n += 1
            faildata = {}
            m = DIRECTIVE.match(line)
            if m:
                data = json.loads(m.group(2))
                if m.group(1) == "fileOptions":
                    common = data
                    continue
                if m.group(1) == "addFILE":
                    files.append(data)
                    continue
                if m.group(1) == "filterOptions":
                    current = []
                    skip_block = False
                    for d in data if isinstance(data, list) else [data]:
                        opts = dict(common)
                        opts.update(d)
                        if opts.get("test.condition"):
                            skip_block = not eval(opts["test.condition"], {"name": name})
                        if skip_block:
                            continue
                        fopts = {k: v for k, v in opts.items() if not k.startswith("test.")}
                        key = opts.get("test.filter-name") or (str(fopts) if fopts else "")
                        if key not in cache:
                            cache[key] = safe_build(confdir, name, fopts, tally, key)
                        current.append((key, cache[key], opts))
                    continue
                faildata = data
                if n >= len(lines):
                    break
                line = lines[n]
                n += 1
            elif skip_block or line.startswith("#") or not line.strip():
                continue
            if skip_block:
                continue
            if not current:
                if "" not in cache:
                    cache[""] = safe_build(confdir, name, {}, tally, "")
                current = [("", cache[""], {})]
            for key, built, opts in current:
                if faildata.get("constraint") and not eval(
                    faildata["constraint"], {"name": name, "opts": opts}
                ):
                    continue
                where = "%s:%d%s" % (files[i - 1], n, (" " + key) if key else "")
                if built is None:
                    tally.bad("%s: filter could not be built" % where)
                    continue
                flt = built[0]
                try:
                    check_one(tally, where, line, faildata, flt, used, opts)
                except Exception as e:  # a crash on one line is that line's failure
                    tally.bad("%s: exception %r" % (where, e))
    for key, built in cache.items():
        if built is None or partial:
            continue
        for idx, rx in enumerate(built[0].getFailRegex()):
            if rx not in used:
                tally.bad("%s: failregex %d has no sample: %s" % (key or "default", idx, rx.replace(HOST_RE, "<HOST>")))
    print("%s: %d passed, %d failed" % (name, tally.passed, tally.failed))
    return tally


def main(argv):
    partial = "--partial" in argv
    argv = [a for a in argv if a != "--partial"]
    if len(argv) < 4:
        print(__doc__)
        return 2
    confdir, logdir = argv[1], argv[2]
    total_ok = total_bad = 0
    for name in argv[3:]:
        t = check_filter(confdir, logdir, name, partial)
        total_ok += t.passed
        total_bad += t.failed
    print("filters total: %d passed, %d failed" % (total_ok, total_bad))
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
