#!/usr/bin/env python3
"""Regenerate the bundled sample logs and the bad-input fixtures.

    python3 sample_logs/make_samples.py            # writes every file below
    python3 sample_logs/make_samples.py --truth    # also prints the per-line
                                                   # ground truth (file, line,
                                                   # kind, layer, restriction)

Outputs (byte-identical on every run; no wall clock, no system RNG):

    sample_logs/mail.log                mx1, classic syslog, Postfix 3.10
    sample_logs/mail-rfc3339.log        mx2, rsyslog RFC 3339, Postfix 3.7
    sample_logs/rotated/mail.log.2.gz   mx3, Dec 30-31 2025 (gzip -n)
    sample_logs/rotated/mail.log.1      mx3, Dec 31 2025 -> Jan  1 2026
    sample_logs/rotated/mail.log        mx3, Jan 01-02 2026 (zero-padded days)
    sample_logs/journal.json            mx4, journalctl -o json
    tests/data/bad_input/*.log|.txt     malformed inputs (see its README.md)

Every line shape was checked against the Postfix sources (3.5 / 3.7 / 3.10
tags of vdukhovni/postfix), postgrey 1.37, spf-engine (policyd-spf) and
postfix-policyd-spf-perl; see /work/shared/postfix-log-formats.md.
The scenarios are hand-written (see the SCENARIOS sections); only small
things such as ports, pids, queue ids and sub-second timings come from a
seeded random.Random.  Git does not keep mtimes: the script sets them on the
rotated files, tests must pass --year anyway.
"""

# ruff: noqa: UP031, D101, D102, D103, D205, D401, D402
# (printf-style formatting is kept on purpose: it mirrors the Postfix
#  format strings the lines are copied from; the scenario helpers are
#  internal to this script)

import datetime as dt
import heapq
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BAD = os.path.join(ROOT, "tests", "data", "bad_input")

TRUTH = []  # (file, line_no, kind, layer, restriction)

# ---------------------------------------------------------------------------
# helpers that reproduce Postfix formatting
# ---------------------------------------------------------------------------

MILLION = 1000000


def format_tv(sec, usec, sig_dig=2, max_dig=2):
    """Port of postfix/src/util/format_tv.c (delay=, delays=, postscreen)."""
    pow10 = [1, 10, 100, 1000, 10000, 100000, 1000000]
    ures = MILLION // pow10[max_dig]
    wid = pow10[sig_dig]
    if ures < MILLION:
        if sec > 0:
            n = 1
            while sec >= n and n <= wid // 10:
                n *= 10
            ures = (MILLION // wid) * n
        else:
            while usec >= wid * ures:
                ures *= 10
    if ures > 1:
        usec += ures // 2
        if usec >= MILLION:
            sec += 1
            usec -= MILLION
    out = str(sec)
    if usec >= ures:
        out += "."
        rem, n = usec, MILLION // 10
        while rem >= ures and n > 0:
            out += "0123456789"[rem // n]
            rem %= n
            n //= 10
    return out


def fdelta(seconds):
    seconds = max(0.0, seconds)
    us = round(seconds * MILLION)
    return format_tv(us // MILLION, us % MILLION)


def escape(raw):
    """postfix/src/util/escape.c for the bytes we use (CR, LF, TAB)."""
    out = []
    for ch in raw:
        if ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    return "".join(out)


CMD_ORDER = [
    "helo",
    "ehlo",
    "xclient",
    "xforward",
    "starttls",
    "auth",
    "mail",
    "rcpt",
    "data",
    "bdat",
    "rset",
    "noop",
    "vrfy",
    "etrn",
    "quit",
    "help",
    "unknown",
]
CMD_ORDER_35 = [c for c in CMD_ORDER if c != "help"]


def cmd_stats(counts, order=CMD_ORDER):
    """smtpd_format_cmd_stats() (Postfix >= 3.0)."""
    out, ok_all, tot_all = "", 0, 0
    for c in order:
        if c in counts and counts[c][1] > 0:
            ok, tot = counts[c]
            out += " %s=%d" % (c, ok)
            if ok != tot:
                out += "/%d" % tot
            ok_all += ok
            tot_all += tot
    out += " commands=%d" % ok_all
    if ok_all != tot_all or tot_all == 0:
        out += "/%d" % tot_all
    return out


TLS13 = (
    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) "
    "key-exchange X25519 server-signature RSA-PSS (2048 bits) "
    "server-digest SHA256"
)
TLS13_128 = (
    "TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) "
    "key-exchange X25519 server-signature RSA-PSS (2048 bits) "
    "server-digest SHA256"
)
TLS12 = "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)"


class Client:
    """A remote SMTP client (or server we talk to)."""

    def __init__(self, name, ip, helo=None):
        self.name = name  # verified name or "unknown"
        self.ip = ip
        self.helo = helo if helo is not None else name


# ---------------------------------------------------------------------------
# a simulated server: pid pools, queue ids, a job scheduler, the log buffer
# ---------------------------------------------------------------------------


class Pool:
    """Postfix-style process pool: reuse an idle process that has not been
    idle longer than max_idle, otherwise spawn a new one.
    """

    def __init__(self, srv, max_idle=100, max_use=100):
        self.srv = srv
        self.max_idle = max_idle
        self.max_use = max_use
        self.procs = []

    def get(self, start, end):
        best = None
        for p in self.procs:
            if p["dead"]:
                continue
            if any(not (end <= a or start >= b) for a, b in p["iv"]):
                continue
            before = [b for a, b in p["iv"] if b <= start]
            last = max(before) if before else p["born"]
            if (start - last).total_seconds() > self.max_idle:
                if not any(a >= start for a, b in p["iv"]):
                    p["dead"] = True
                continue
            if p["uses"] >= self.max_use:
                continue
            if best is None or last > best[1]:
                best = (p, last)
        if best is None:
            p = {"pid": self.srv.newpid(), "iv": [], "dead": False, "uses": 0, "born": start}
            self.procs.append(p)
        else:
            p = best[0]
        p["iv"].append((start, end))
        p["uses"] += 1
        return p["pid"]

    def extend(self, pid, start, end):
        for p in self.procs:
            if p["pid"] == pid:
                p["iv"] = [(a, end if a == start else b) for a, b in p["iv"]]


class Server:
    def __init__(self, host, fqdn, ip, seed, pid0, version="3.10"):
        self.host = host
        self.fqdn = fqdn
        self.ip = ip
        self.rng = random.Random(seed)
        self.pidc = pid0
        self.recs = []
        self.seq = 0
        self.jobs = []
        self.jobseq = 0
        self.pools = {}
        self.qids = set()
        self.version = version
        self.cmd_order = CMD_ORDER if version == "3.10" else CMD_ORDER_35
        self.fixed = {}  # prog -> pid for single daemons
        self.policy_conn = {}  # (kind, smtpd pid) -> [pid, born, last]
        self.cleanup_pids = {}
        self.era = {}

    # -- basic -------------------------------------------------------------
    def newpid(self):
        self.pidc += self.rng.randint(2, 47)
        return self.pidc

    def pool(self, prog, max_idle=100):
        if prog not in self.pools:
            self.pools[prog] = Pool(self, max_idle=max_idle)
        return self.pools[prog]

    def pid(self, prog, start, dur=0.5):
        return self.pool(prog).get(start, start + dt.timedelta(seconds=dur))

    def log(self, t, prog, pid, msg, tag=None):
        self.recs.append((t, self.seq, prog, pid, msg, tag))
        self.seq += 1

    def u(self, lo, hi):
        return self.rng.uniform(lo, hi)

    def port(self):
        return self.rng.randint(32768, 60999)

    def qid(self, t):
        while True:
            q = f"{t.microsecond:05X}{self.rng.randint(0x10000, 0xFFFFF):X}"
            if q not in self.qids:
                self.qids.add(q)
                return q

    # -- scheduler ---------------------------------------------------------
    def at(self, t, fn, *args):
        heapq.heappush(self.jobs, (t, self.jobseq, fn, args))
        self.jobseq += 1

    def run(self):
        while self.jobs:
            t, _, fn, args = heapq.heappop(self.jobs)
            fn(t, *args)

    def sorted(self):
        return sorted(self.recs, key=lambda r: (r[0], r[1]))

    # -- fixed daemons -----------------------------------------------------
    def fpid(self, name):
        return self.fixed[name]

    # -- postscreen --------------------------------------------------------
    def ps(self, t, msg, tag=None):
        self.log(
            t, self.era.get("ps_prog", "postfix/postscreen"), self.fpid("postscreen"), msg, tag
        )

    def dnsblog(self, t, ip, zone, a):
        pid = self.pid(self.era.get("dnsblog_prog", "postfix/dnsblog"), t, 0.2)
        self.log(
            t,
            self.era.get("dnsblog_prog", "postfix/dnsblog"),
            pid,
            f"addr {ip} listed by domain {zone} as {a}",
        )

    # -- queue manager / delivery -----------------------------------------
    def qmgr(self, t, msg, prog=None):
        prog = prog or self.era.get("qmgr_prog", "postfix/qmgr")
        self.log(t, prog, self.fixed.get(prog, self.fixed.get("qmgr")), msg)

    def cleanup(self, t, msg, tag=None, prog=None):
        """cleanup(8) line; one cleanup process handles a whole message."""
        prog = prog or self.era.get("cleanup_prog", "postfix/cleanup")
        qid = msg.split(":", 1)[0]
        key = (prog, qid)
        if key not in self.cleanup_pids:
            self.cleanup_pids[key] = self.pid(prog, t, 2.0)
        self.log(t, prog, self.cleanup_pids[key], msg, tag)

    def delivery_line(
        self,
        qid,
        rcpt,
        relay,
        arrival,
        active,
        handoff,
        conn_done,
        done,
        dsn,
        status,
        text,
        orig_to=None,
        conn_use=None,
    ):
        d_total = (done - arrival).total_seconds()
        a = (active - arrival).total_seconds()
        b = (handoff - active).total_seconds()
        if conn_done is None:
            c = 0.0
            d = (done - handoff).total_seconds()
        else:
            c = (conn_done - handoff).total_seconds()
            d = (done - conn_done).total_seconds()
        s = f"{qid}: to=<{rcpt}>"
        if orig_to:
            s += f", orig_to=<{orig_to}>"
        s += f", relay={relay}"
        if conn_use:
            s += ", conn_use=%d" % conn_use
        s += (
            f", delay={fdelta(d_total)}, delays={fdelta(a)}/{fdelta(b)}/"
            f"{fdelta(c)}/{fdelta(d)}, dsn={dsn}, status={status} ({text})"
        )
        return s

    def dovecot_session(self, t0, users, msgid, t_end):
        """One LMTP connection from postfix/lmtp; returns the per-recipient
        session ids dovecot reports in its 250 replies.
        """
        dpid = self.pool("dovecot-lmtp", max_idle=60).get(t0, t_end)
        self.log(t0, "dovecot", None, "lmtp(%d): Connect from local" % dpid)
        ids = []
        for i, user in enumerate(users):
            sess = "".join(
                self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                for _ in range(22)
            )
            ids.append(sess)
            self.log(
                t0 + dt.timedelta(seconds=0.02 + 0.004 * i),
                "dovecot",
                None,
                "lmtp(%s)<%d><%s>: msgid=<%s>: saved mail to INBOX" % (user, dpid, sess, msgid),
            )
        self.log(
            t_end,
            "dovecot",
            None,
            "lmtp(%d): Disconnect from local: Client has quit the connection (state=READY)" % dpid,
        )
        return ids

    def deliver(
        self, arrival, t_eod, qid, sender, rcpts, size, msgid, active_delay=None, orig=None
    ):
        """Qmgr + local delivery (lmtp to dovecot for example.com,
        virtual(8) for example.org) + removed.  rcpts: list of addresses.
        Returns the time of 'removed'.
        """
        active = t_eod + dt.timedelta(
            seconds=active_delay if active_delay is not None else self.u(0.005, 0.06)
        )
        self.qmgr(
            active,
            "%s: from=<%s>, size=%d, nrcpt=%d (queue active)" % (qid, sender, size, len(rcpts)),
        )
        t = active
        last = active
        lmtp = [r for r in rcpts if not r.endswith("@example.org")]
        virt = [r for r in rcpts if r.endswith("@example.org")]
        if lmtp:
            handoff = t + dt.timedelta(seconds=self.u(0.004, 0.03))
            conn = handoff + dt.timedelta(seconds=self.u(0.002, 0.02))
            done = conn + dt.timedelta(seconds=self.u(0.03, 0.4))
            lprog = self.era.get("lmtp_prog", "postfix/lmtp")
            lpid = self.pid(lprog, handoff, 0.5)
            ids = self.dovecot_session(
                conn + dt.timedelta(seconds=0.001), lmtp, msgid, done + dt.timedelta(seconds=0.002)
            )
            for r, sess in zip(lmtp, ids, strict=True):
                self.log(
                    done,
                    lprog,
                    lpid,
                    self.delivery_line(
                        qid,
                        r,
                        f"{self.fqdn}[private/dovecot-lmtp]",
                        arrival,
                        active,
                        handoff,
                        conn,
                        done,
                        "2.0.0",
                        "sent",
                        f"250 2.0.0 <{r}> {sess} Saved",
                        orig_to=(orig or {}).get(r),
                    ),
                )
            last = max(last, done)
        for r in virt:
            handoff = t + dt.timedelta(seconds=self.u(0.004, 0.03))
            done = handoff + dt.timedelta(seconds=self.u(0.005, 0.05))
            vpid = self.pid("postfix/virtual", handoff, 0.2)
            self.log(
                done,
                "postfix/virtual",
                vpid,
                self.delivery_line(
                    qid,
                    r,
                    "virtual",
                    arrival,
                    active,
                    handoff,
                    None,
                    done,
                    "2.0.0",
                    "sent",
                    "delivered to maildir",
                    orig_to=(orig or {}).get(r),
                ),
            )
            last = max(last, done)
        removed = last + dt.timedelta(seconds=self.u(0.001, 0.01))
        self.qmgr(removed, f"{qid}: removed")
        return removed


def mkid(srv, t, domain, style=0):
    r = srv.rng
    if style == 0:
        return "{}.{}@{}".format(
            t.strftime("%Y%m%d%H%M%S"),
            "".join(r.choice("0123456789abcdef") for _ in range(12)),
            domain,
        )
    if style == 1:
        return "CA{}@mail.{}".format(
            "".join(
                r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+")
                for _ in range(44)
            ),
            domain,
        )
    if style == 2:
        return (
            f"{r.getrandbits(32):08x}-{r.getrandbits(16):04x}-"
            f"{r.getrandbits(16):04x}-{r.getrandbits(16):04x}-"
            f"{r.getrandbits(48):012x}@{domain}"
        )
    return "%d.%d.JavaMail.app@%s" % (r.randint(10**8, 10**9), r.randint(10**9, 10**10), domain)


class Sess:
    """One smtpd(8) session (its pid is taken from the smtpd process pool)."""

    def __init__(self, S, t, cl, port, prog=None, portlog=False, service="smtpd"):
        self.S = S
        self.t = t
        self.t0 = t
        self.cl = cl
        self.port = port
        self.prog = prog or S.era.get("smtpd_prog", "postfix/smtpd")
        self.portlog = portlog
        self.service = service
        self.counts = {}
        self.proto = None
        self.helo = None
        self.sender = None
        self.recipient = None
        self.qid = None
        self.sasl = None
        self.rcpts = []
        self.arrival = None
        self.cleanup_prog = None
        self.pid = S.pool(self.prog).get(t, t + dt.timedelta(microseconds=1))

    @property
    def na(self):
        s = f"{self.cl.name}[{self.cl.ip}]"
        if self.portlog:
            s += ":%d" % self.port
        return s

    def step(self, lo=0.02, hi=0.25):
        self.t += dt.timedelta(seconds=self.S.u(lo, hi))
        return self.t

    def wait(self, sec):
        self.t += dt.timedelta(seconds=sec)
        return self.t

    def log(self, msg, tag=None, who="smtpd", prog=None):
        S = self.S
        self.t += dt.timedelta(microseconds=S.rng.randint(40, 2500))
        if who == "smtpd":
            S.log(self.t, self.prog, self.pid, msg, tag)
        elif who == "policy":
            S.log(self.t, prog, S.policy_pid(prog, self.pid, self.t), msg, tag)
        else:
            S.log(self.t, prog, None if who == "nopid" else who, msg, tag)

    def cmd(self, name, ok=True):
        c = self.counts.setdefault(name, [0, 0])
        c[1] += 1
        if ok:
            c[0] += 1

    # -- whatsup strings ---------------------------------------------------
    def trailer(self, to=True, milter=False):
        s = ""
        if self.sender is not None:
            s += f" from=<{self.sender}>"
        if to and self.recipient is not None:
            s += f" to=<{self.recipient}>"
        if self.proto:
            s += f" proto={self.proto}"
        if self.helo is not None:
            s += f" helo=<{self.helo}>"
        if self.sasl:
            if milter:
                s += f" sasl_username=<{self.sasl[1]}>"
            elif self.S.version == "3.10":
                s += " sasl_method={} sasl_username={}".format(*self.sasl)
        return s

    def reject_line(self, stage, reply, action="reject", to=True, milter=False):
        return "{}: {}: {} from {}: {};{}".format(
            self.qid or "NOQUEUE", action, stage, self.na, reply, self.trailer(to=to, milter=milter)
        )

    # -- protocol steps ----------------------------------------------------
    def connect(self, forged=None):
        if forged:
            self.log(
                f"warning: hostname {forged[0]} does not resolve to address {self.cl.ip}{forged[1]}"
            )
        self.log(f"connect from {self.na}")
        self.step(0.05, 0.4)

    def ehlo(self, helo=None):
        self.helo = helo if helo is not None else self.cl.helo
        self.proto = "ESMTP"
        self.cmd("ehlo")
        self.step(0.02, 0.2)

    def helo_cmd(self, helo=None):
        self.helo = helo if helo is not None else self.cl.helo
        self.proto = "SMTP"
        self.cmd("helo")
        self.step(0.02, 0.2)

    def starttls(self, proto=TLS13):
        self.cmd("starttls")
        self.step(0.03, 0.12)
        self.log(f"Anonymous TLS connection established from {self.na}: {proto}")
        self.step(0.02, 0.1)
        self.cmd("ehlo")
        self.step(0.02, 0.1)

    def tls_wrapper(self, proto=TLS13):
        self.log(f"Anonymous TLS connection established from {self.na}: {proto}")
        self.step(0.02, 0.1)

    def auth_fail(self, user, method="LOGIN", pace=(1.5, 3.5)):
        self.step(*pace)
        self.cmd("auth", False)
        self.log(
            f"warning: {self.na}: SASL {method} authentication failed: "
            f"(reason unavailable), sasl_username={user}"
        )
        self.step(0.1, 0.4)

    def auth_ok(self, user, method="PLAIN"):
        self.cmd("auth")
        self.sasl = (method, user)
        self.step(0.05, 0.2)

    def mail(self, sender, ok=True):
        self.sender = sender
        self.cmd("mail", ok)
        self.step(0.02, 0.2)

    def first_rcpt_ok(self):
        if self.qid is None:
            self.qid = self.S.qid(self.t)
            self.arrival = self.t
            extra = ""
            if self.sasl:
                extra = ", sasl_method={}, sasl_username={}".format(*self.sasl)
            self.log(f"{self.qid}: client={self.na}{extra}")

    def to(self, rcpt):
        """Start evaluating RCPT TO:<rcpt> (restrictions, policies)."""
        self.recipient = rcpt

    def warn(self, reply, tag, stage="RCPT"):
        self.log(self.reject_line(stage, reply, "reject_warning"), tag)

    def accept(self):
        self.cmd("rcpt")
        self.first_rcpt_ok()
        self.rcpts.append(self.recipient)
        self.step(0.01, 0.15)

    def reject(self, reply, tag, stage="RCPT", action="reject", milter=False, cmd="rcpt", to=True):
        self.cmd(cmd, False)
        self.log(self.reject_line(stage, reply, action, milter=milter, to=to), tag)
        self.step(0.01, 0.15)

    def data_accept(self, msgid, xfer=(0.1, 1.2)):
        """DATA .. end-of-data accepted; logs cleanup message-id.
        Returns the end-of-data time.
        """
        self.cmd("data")
        self.step(0.02, 0.1)
        x = self.S.u(*xfer)
        if msgid is not None:
            self.S.cleanup(
                self.t + sec(x * self.S.u(0.1, 0.6)),
                f"{self.qid}: message-id=<{msgid}>",
                prog=self.cleanup_prog,
            )
        self.wait(x)
        return self.t

    def data(self, ok=True):
        self.cmd("data", ok)

    def quit(self):
        self.cmd("quit")
        self.step(0.01, 0.08)

    def lost(self, stage, nbytes=None):
        prefix = ""
        if self.S.version == "3.10":
            prefix = "%s: " % (self.qid or "NOQUEUE")
        if nbytes is not None:
            self.log(
                "%slost connection after %s (%d bytes) from %s" % (prefix, stage, nbytes, self.na)
            )
        else:
            self.log(f"{prefix}lost connection after {stage} from {self.na}")

    def reset_txn(self):
        """After end of DATA / RSET: Postfix forgets the transaction."""
        self.qid = None
        self.sender = None
        self.recipient = None
        self.rcpts = []

    def end(self):
        self.log(f"disconnect from {self.na}{cmd_stats(self.counts, self.S.cmd_order)}")
        self.S.pool(self.prog).extend(self.pid, self.t0, self.t)
        return self.pid


def policy_pid(self, prog, smtpd_pid, t):
    """Smtpd keeps its policy connection (max_idle 300s, max_ttl 1000s);
    spawn(8) starts one policy process per connection.
    """
    key = (prog, smtpd_pid)
    c = self.policy_conn.get(key)
    if c is None or (t - c[2]).total_seconds() > 300 or (t - c[1]).total_seconds() > 1000:
        c = [self.newpid(), t, t]
        self.policy_conn[key] = c
    c[2] = t
    return c[0]


Server.policy_pid = policy_pid


# ---------------------------------------------------------------------------
# shared scenario building blocks (used by mx1, mx2, mx3)
# ---------------------------------------------------------------------------


def T(kind, layer, restriction):
    return (kind, layer, restriction)


def sec(x):
    return dt.timedelta(seconds=x)


class Env:
    """Era-dependent behaviour of one server (what main.cf says)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def ps_connect(S, t, cl, port, dst=None):
    S.ps(t, "CONNECT from [%s]:%d to [%s]:25" % (cl.ip, port, dst or S.ip))


def ps_word(S, old, new):
    return new if S.env.respectful else old


def ps_front(S, t, cl, port, mode="old", dnsbl=(), dst=None):
    """Postscreen in front of smtpd.  Returns the hand-off time.
    mode: old      cached result, PASS OLD at once
          recheck  DNSBL cache expired: greet wait, then PASS OLD
          dnswl    new client on list.dnswl.org: PASS NEW right away
          white    permanent allowlist (postscreen_access_list).
    """
    ps_connect(S, t, cl, port, dst)
    if mode == "old":
        t2 = t + sec(S.u(0.0005, 0.004))
        S.ps(t2, "PASS OLD [%s]:%d" % (cl.ip, port))
    elif mode == "white":
        t2 = t + sec(S.u(0.0005, 0.003))
        S.ps(t2, "%s [%s]:%d" % (ps_word(S, "WHITELISTED", "ALLOWLISTED"), cl.ip, port))
    elif mode == "recheck":
        tt = t + sec(S.u(0.02, 0.3))
        for zone, a in dnsbl:
            S.dnsblog(tt, cl.ip, zone, a)
            tt += sec(S.u(0.001, 0.02))
        t2 = t + sec(6 + S.u(0.0005, 0.004))
        S.ps(t2, "PASS OLD [%s]:%d" % (cl.ip, port))
    elif mode == "dnswl":
        tt = t + sec(S.u(0.02, 0.2))
        for zone, a in dnsbl:
            S.dnsblog(tt, cl.ip, zone, a)
            tt += sec(S.u(0.001, 0.02))
        t2 = tt + sec(S.u(0.001, 0.01))
        S.ps(t2, "PASS NEW [%s]:%d" % (cl.ip, port))
    else:
        raise ValueError(mode)
    return t2 + sec(S.u(0.001, 0.01))


def ps_deep(
    S,
    t,
    cl,
    port,
    sender,
    rcpt,
    helo,
    dnsbl=(),
    proto="ESMTP",
    reply="450 4.3.2 Service currently unavailable",
    pregreet=None,
    rank=None,
    events=(),
    result="pass",
    dst=None,
    veto=False,
    layer_restr=None,
):
    """A session that ends inside postscreen's dummy SMTP engine."""
    ps_connect(S, t, cl, port, dst)
    if veto:
        S.ps(
            t + sec(0.0003),
            "%s [%s]:%d" % (ps_word(S, "WHITELIST VETO", "ALLOWLIST VETO"), cl.ip, port),
        )
    tt = t + sec(S.u(0.02, 0.25))
    if pregreet:
        S.ps(
            t + sec(pregreet[0]),
            "PREGREET %d after %s from [%s]:%d: %s"
            % (len(pregreet[1]), fdelta(pregreet[0]), cl.ip, port, escape(pregreet[1])),
        )
    for zone, a in dnsbl:
        S.dnsblog(tt, cl.ip, zone, a)
        tt += sec(S.u(0.001, 0.03))
    t6 = t + sec(6 + S.u(0.0005, 0.003))
    if rank is not None:
        S.ps(t6, "DNSBL rank %d for [%s]:%d" % (rank, cl.ip, port))
    tt = t6 + sec(S.u(0.05, 0.3))
    for ev in events:
        S.ps(tt, ev % {"c": "[%s]:%d" % (cl.ip, port)})
        tt += sec(S.u(0.01, 0.2))
    if reply is not None:
        tt += sec(S.u(0.05, 0.4))
        S.ps(
            tt,
            "NOQUEUE: reject: RCPT from [%s]:%d: %s; from=<%s>, to=<%s>, "
            "proto=%s, helo=<%s>" % (cl.ip, port, reply, sender, rcpt, proto, helo),
            T("reject", "postscreen", layer_restr),
        )
    tt += sec(S.u(0.05, 0.5))
    if result == "pass":
        S.ps(tt, "PASS NEW [%s]:%d" % (cl.ip, port))
    S.ps(tt + sec(0.0002), "DISCONNECT [%s]:%d" % (cl.ip, port))
    return tt


def ps_drop(S, t, cl, port, lines, delay=0.0005, dst=None):
    """CONNECT, some verdict lines, DISCONNECT."""
    ps_connect(S, t, cl, port, dst)
    tt = t
    for off, msg, tag in lines:
        tt = t + sec(off)
        S.ps(tt, msg % {"c": "[%s]:%d" % (cl.ip, port), "ip": cl.ip, "p": port}, tag)
    S.ps(tt + sec(delay), "DISCONNECT [%s]:%d" % (cl.ip, port))


# SPF knowledge about the sender domains used in the samples
SPF_PERL = {
    # domain: (result, mechanism text, header explanation)
    "pass": (
        "pass",
        "Mechanism '%(mech)s' matched",
        "%(dom)s: %(ip)s is authorized to use '%(id)s' in '%(scope)s' "
        "identity (mechanism '%(mech)s' matched)",
    ),
    "none": (
        "none",
        "No applicable sender policy available",
        "%(dom)s: No applicable sender policy available",
    ),
    "softfail": (
        "softfail",
        "Mechanism '~all' matched",
        "%(dom)s: Sender is not authorized by default to use "
        "'%(id)s' in '%(scope)s' identity, however domain is not "
        "currently prepared for false failures (mechanism '~all' "
        "matched)",
    ),
}


def spf_perl(s, result, mech="ip4:198.51.100.0/24", tag=None):
    """postfix-policyd-spf-perl 2.010: log lines for one policy request.
    Returns the smtpd reply for fail/temperror, else None.
    """
    S = s.S
    q = s.qid or ""
    sender = s.sender
    ip = s.cl.ip
    helo = s.helo
    prog = "postfix/policy-spf"
    if sender == "":
        dom = helo
        hdr = (
            f"Received-SPF: pass ({helo}: {ip} is authorized to use '{helo}' in 'helo' "
            f"identity (mechanism 'a' matched)) receiver={S.fqdn}; identity=helo; "
            f"helo={helo}; client-ip={ip}"
        )
        s.log("handler sender_policy_framework: is decisive.", who="policy", prog=prog)
        s.log(f"{q}: Policy action=PREPEND {hdr}", who="policy", prog=prog)
        return None
    dom = sender.split("@", 1)[1]
    if result in ("pass", "none", "softfail"):
        r, text, hexp = SPF_PERL[result]
        d = {"dom": dom, "ip": ip, "id": sender, "scope": "mfrom", "mech": mech}
        s.log(f"{q}: SPF {r} ({text % d}): Envelope-from: {sender}", who="policy", prog=prog)
        s.log("handler sender_policy_framework: is decisive.", who="policy", prog=prog)
        hdr = (
            f"Received-SPF: {r} ({hexp % d}) receiver={S.fqdn}; identity=mailfrom; "
            f'envelope-from="{sender}"; helo={helo}; client-ip={ip}'
        )
        s.log(f"{q}: Policy action=PREPEND {hdr}", who="policy", prog=prog)
        return None
    if result == "fail":
        url = (
            "Please see http://www.openspf.net/Why?s=mfrom;"
            f"id={sender.replace('@', '%40')};ip={ip};r={S.fqdn}"
        )
        s.log(
            f"{q}: SPF fail (Mechanism '-all' matched): Envelope-from: {sender}",
            who="policy",
            prog=prog,
        )
        s.log("handler sender_policy_framework: is decisive.", who="policy", prog=prog)
        s.log(f"{q}: Policy action=550 {url}", who="policy", prog=prog)
        return f"550 5.7.1 <{s.recipient}>: Recipient address rejected: {url}"
    if result == "temperror":
        why = f"'SERVFAIL' error on DNS 'TXT' lookup of '{dom}'"
        s.log(f"{q}: SPF temperror ({why}): Envelope-from: {sender}", who="policy", prog=prog)
        s.log("handler sender_policy_framework: is decisive.", who="policy", prog=prog)
        s.log(
            f"{q}: Policy action=DEFER_IF_PERMIT SPF-Result={dom}: {why}", who="policy", prog=prog
        )
        return f"450 4.7.1 <{s.recipient}>: Recipient address rejected: SPF-Result={dom}: {why}"
    raise ValueError(result)


def spf_py(s, result, first=True):
    """spf-engine / pypolicyd-spf (debugLevel 1, Hide_Receiver yes,
    Mail_From_reject Softfail, PermError_reject True, TempError_Defer True).
    Returns the smtpd reply for reject/defer results.
    """
    prog = "policyd-spf"
    ip = s.cl.ip
    helo = s.helo
    sender = s.sender
    if result in ("pass", "none", "neutral") or sender == "":
        if not first:
            return None  # 'Header already pre-pended' is not logged
        if sender == "":
            hdr = (
                "Received-SPF: Pass (sender SPF authorized) identity=helo; "
                f"client-ip={ip}; helo={helo}; envelope-from=<>; "
                "receiver=<UNKNOWN> "
            )
        else:
            hdr = (
                f"Received-SPF: {result.capitalize()} (mailfrom) identity=mailfrom; "
                f"client-ip={ip}; helo={helo}; envelope-from={sender}; "
                "receiver=<UNKNOWN> "
            )
        s.log(f"prepend {hdr}", who="policy", prog=prog)
        return None
    url = f"http://www.openspf.net/Why?s=mfrom;id={sender};ip={ip};r=<UNKNOWN>"
    if result == "fail":
        act, text = (
            "550 5.7.23",
            f"Message rejected due to: SPF fail - not authorized. Please see {url}",
        )
    elif result == "softfail":
        act, text = (
            "550 5.7.23",
            f"Message rejected due to: domain owner discourages use of this host. Please see {url}",
        )
    elif result == "permerror":
        act, text = (
            "550 5.7.24",
            f"Message rejected due to: SPF Permanent Error: Too many DNS lookups. Please see {url}",
        )
    elif result == "temperror":
        act, text = (
            "defer_if_permit 4.7.24",
            f"Message deferred due to: SPF Temporary Error: DNS Timeout. Please see {url}",
        )
    else:
        raise ValueError(result)
    s.log(f"{act} {text}", who="policy", prog=prog)
    if act.startswith("defer_if_permit"):
        return f"450 4.7.24 <{s.recipient}>: Recipient address rejected: {text}"
    code, dsn = act.split()
    return f"{code} {dsn} <{s.recipient}>: Recipient address rejected: {text}"


def grey(s, action, reason, delay=None):
    """Postgrey 1.37 mylog_action()."""
    S = s.S
    parts = []
    pre = s.qid + ": " if s.qid else ""
    parts.append(f"action={action}")
    parts.append(f"reason={reason}")
    if delay is not None:
        parts.append("delay=%d" % delay)
    parts.append(f"client_name={s.cl.name}")
    parts.append(f"client_address={s.cl.ip}")
    if s.sender:
        parts.append(f"sender={s.sender}")
    parts.append(f"recipient={s.recipient}")
    s.log(pre + ", ".join(parts), who=S.fpid("postgrey"), prog="postgrey")


def grey_reply(s):
    dom = s.recipient.split("@", 1)[1]
    if s.S.env.grey_text == "default":
        return (
            f"450 4.2.0 <{s.recipient}>: Recipient address rejected: Greylisted, see "
            f"http://postgrey.schweikert.ch/help/{dom}.html"
        )
    return (
        f"451 4.7.1 <{s.recipient}>: Recipient address rejected: Greylisting in "
        "effect, please come back later"
    )


def spf_check(s, result="pass", mech="ip4:198.51.100.0/24", first=True):
    if s.S.env.spf == "none" or result is None:
        return None
    if s.S.env.spf == "perl":
        return spf_perl(s, result, mech)
    return spf_py(s, result, first)


def client_pre(s):
    """Client restrictions that depend on DNS state of the client, in the
    order of smtpd_client_restrictions.  Returns True when rejected.
    """
    S, cl = s.S, s.cl
    if getattr(cl, "noptr", False):
        reply = f"450 4.7.1 Client host rejected: cannot find your reverse hostname, [{cl.ip}]"
        if S.env.reverse == "warn":
            s.warn(reply, T("reject_warning", "client", "reject_unknown_reverse_client_hostname"))
        elif S.env.reverse == "reject":
            s.reject(reply, T("reject", "client", "reject_unknown_reverse_client_hostname"))
            return True
    if getattr(cl, "forged", None) and S.env.unknown_client == "reject":
        s.reject(
            f"450 4.7.25 Client host rejected: cannot find your hostname, [{cl.ip}]",
            T("reject", "client", "reject_unknown_client_hostname"),
        )
        return True
    return False


def client_post(s):
    """warn_if_reject reject_rbl_client bl.spamcop.net (trial)."""
    if getattr(s.cl, "spamcop", False):
        s.warn(
            f"554 5.7.1 Service unavailable; Client host [{s.cl.ip}] blocked using "
            f"bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?{s.cl.ip}",
            T("reject_warning", "rbl", "reject_rbl_client"),
        )


def epoch(t):
    return int((t - dt.datetime(1970, 1, 1)).total_seconds())


def inbound(
    S,
    t,
    cl,
    sender,
    rcpts,
    ps="old",
    dnsbl=(),
    tls=TLS13,
    size=None,
    spf="pass",
    mech="ip4:198.51.100.0/24",
    greyr="client AWL",
    grey_delay=None,
    helo=None,
    msgid=None,
    orig=None,
    prog=None,
    sess=None,
    xfer=(0.1, 1.2),
    rcpt_hook=None,
    data_hook=None,
    end="quit",
    dst=None,
):
    """A message that is accepted and delivered locally."""
    if sess is None:
        port = S.port()
        if ps:
            t = ps_front(S, t, cl, port, ps, dnsbl, dst=dst)
        s = Sess(S, t, cl, port, prog=prog)
        s.connect()
        s.ehlo(helo)
        if tls:
            s.starttls(tls)
    else:
        s = sess
    s.mail(sender)
    ok = []
    for i, r in enumerate(rcpts):
        s.to(r)
        if rcpt_hook and rcpt_hook(s, i, r):
            continue
        client_pre(s)
        client_post(s)
        spf_check(s, spf, mech, first=(len(ok) == 0))
        if greyr:
            gd = grey_delay(s) if callable(grey_delay) else grey_delay
            grey(s, "pass", greyr, gd if (gd is not None and i == 0) else None)
        s.accept()
        ok.append(r)
    if not ok:
        s.quit()
        s.end()
        return s
    s.step(0.02, 0.2)
    mid = msgid or mkid(S, s.t, sender.split("@")[-1] if sender else cl.name, S.rng.randint(0, 3))
    if data_hook:
        return data_hook(s, mid)
    t_eod = s.data_accept(mid, xfer)
    if size is None:
        size = S.rng.randint(3500, 90000)
    S.deliver(s.arrival, t_eod, s.qid, sender, ok, size, mid, orig=orig)
    s.reset_txn()
    s.step(0.01, 0.1)
    if end == "quit":
        s.quit()
        s.end()
    return s


def reject_sess(
    S,
    t,
    cl,
    sender,
    rcpt,
    reply,
    tag,
    ps="old",
    dnsbl=(),
    helo=None,
    proto="ESMTP",
    tls=None,
    end="quit",
    pre=True,
    forged=None,
    extra=None,
    spf=None,
    grey_=None,
    stage="RCPT",
    warns=(),
    dst=None,
):
    """A session whose only transaction is rejected at RCPT."""
    port = S.port()
    if ps:
        t = ps_front(S, t, cl, port, ps, dnsbl, dst=dst)
    s = Sess(S, t, cl, port)
    s.connect(forged=forged)
    if proto == "ESMTP":
        s.ehlo(helo)
    else:
        s.helo_cmd(helo)
    if tls:
        s.starttls(tls)
    if extra:
        extra(s)
    s.mail(sender)
    s.to(rcpt)
    rejected = False
    if pre:
        rejected = client_pre(s)
    if not rejected:
        for wr, wt in warns:
            s.warn(wr, wt)
        if spf:
            spf_check(s, spf)
        if grey_:
            grey(s, *grey_)
        s.reject(reply, tag)
    if end == "quit":
        s.quit()
    elif end == "lost":
        s.step(0.3, 2.0)
        s.lost("RCPT")
    elif end == "rset":
        s.cmd("rset")
        s.step(0.02, 0.2)
        s.quit()
    s.end()
    return s


# ---------------------------------------------------------------------------
# SCENARIOS mx1: ISPConfig-style hardened MX, Postfix 3.10, Nov 3-4 2026
# ---------------------------------------------------------------------------


def C(name, ip, helo=None, **kw):
    c = Client(name, ip, helo)
    c.__dict__.update(kw)
    return c


def D(day, hms):
    h, m, s = (int(x) for x in hms.split(":"))
    return dt.datetime(2026, 11, day, h, m, s)


ERA_A = Env(
    respectful=False,
    reverse="warn",
    unknown_client=None,
    relay="defer",
    spf="perl",
    grey_text="default",
)
ERA_B = Env(
    respectful=False,
    reverse="reject",
    unknown_client="reject",
    relay="reject",
    spf="python",
    grey_text="custom",
)

# legitimate peers
SHOP = C("mail-out.shop.example", "198.51.100.61")
PARTNER = C("mx.partner.example", "198.51.100.25")
PARTNER6 = C("mail6.partner.example", "2001:db8:4ca3::25")
BIGMAIL = C("smtp.bigmail.example", "198.51.100.80")
LISTS = C("out.lists.example.net", "198.51.100.140")
BILLING = C("mta.billing.example", "198.51.100.170")
SMALLBIZ = C("unknown", "203.0.113.150", "srv01.smallbiz.example", noptr=True)
SCHOOL = C("mail.school.example.org", "198.51.100.201")
SHOP2 = C("mail.shop2.example", "198.51.100.62")
FORUM = C("mail.forum.example.net", "198.51.100.150", spamcop=True)
CRM = C("mail.crm-tool.example", "198.51.100.133")
HOME = C("p4fd2a94d.dip0.isp.example", "198.51.100.77", "[198.51.100.77]")
MOBILE = C("ue-203-0-113-9.mobile.example", "203.0.113.9", "[203.0.113.9]")
DNSWL = C("mo-p00-ob.mailprovider.example", "198.51.100.36")


def mx1_jobs(S):
    A = S.at

    # ---- helpers bound to this server -----------------------------------
    def cron(t, cmd, user="root"):
        S.log(t, "CRON", S.newpid(), f"({user}) CMD ({cmd})")

    ISPC = (
        "/usr/local/ispconfig/server/server.sh 2>&1 | while read line; "
        'do echo `/bin/date` "$line" >> /var/log/ispconfig/cron.log; '
        "done"
    )

    def anvil(t, lines):
        pid = S.newpid()
        for i, m in enumerate(lines):
            S.log(t + sec(i * 0.0001), "postfix/anvil", pid, m)

    def imap(t, user, ip, sess_len=600):
        mpid = S.newpid()
        sid = "".join(
            S.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
            for _ in range(16)
        )
        S.log(
            t,
            "dovecot",
            None,
            "imap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=%s, "
            "mpid=%d, TLS, session=<%s>" % (user, ip, S.ip, mpid, sid),
        )
        S.log(
            t + sec(sess_len),
            "dovecot",
            None,
            "imap(%s)<%d><%s>: Logged out in=%d out=%d deleted=0 expunged=0 "
            "trashed=0 hdr_count=0 hdr_bytes=0 body_count=%d body_bytes=%d"
            % (
                user,
                mpid,
                sid,
                S.rng.randint(200, 2000),
                S.rng.randint(3000, 90000),
                S.rng.randint(0, 3),
                S.rng.randint(0, 60000),
            ),
        )

    def outbound(s, sender, rcpt, remote, rip, result="sent", t_retry=None, remote_text=None):
        """Authenticated client submits; postfix/smtp relays."""
        s.mail(sender)
        s.to(rcpt)
        s.accept()
        s.step(0.02, 0.2)
        mid = mkid(S, s.t, "example.com", 2)
        t_eod = s.data_accept(mid, (0.2, 2.5))
        qid, arrival = s.qid, s.arrival
        size = S.rng.randint(2000, 400000)
        active = t_eod + sec(S.u(0.005, 0.05))
        S.qmgr(active, "%s: from=<%s>, size=%d, nrcpt=1 (queue active)" % (qid, sender, size))
        handoff = active + sec(S.u(0.005, 0.03))
        conn = handoff + sec(S.u(0.2, 0.9))
        done = conn + sec(S.u(0.3, 1.5))
        spid = S.pid("postfix/smtp", handoff, (done - handoff).total_seconds())
        S.log(
            conn - sec(0.05),
            "postfix/smtp",
            spid,
            f"Trusted TLS connection established to {remote}[{rip}]:25: {TLS13}",
        )
        relay = f"{remote}[{rip}]:25"
        if result == "sent":
            rq = f"{S.rng.getrandbits(40):X}"
            S.log(
                done,
                "postfix/smtp",
                spid,
                S.delivery_line(
                    qid,
                    rcpt,
                    relay,
                    arrival,
                    active,
                    handoff,
                    conn,
                    done,
                    "2.0.0",
                    "sent",
                    f"250 2.0.0 Ok: queued as {rq}",
                ),
            )
            S.qmgr(done + sec(0.002), f"{qid}: removed")
        elif result == "bounced":
            S.log(
                done,
                "postfix/smtp",
                spid,
                S.delivery_line(
                    qid,
                    rcpt,
                    relay,
                    arrival,
                    active,
                    handoff,
                    conn,
                    done,
                    "5.1.1",
                    "bounced",
                    f"host {relay[:-3]} said: {remote_text} (in reply to RCPT TO command)",
                ),
            )
            nq = S.qid(done + sec(0.01))
            bpid = S.pid("postfix/bounce", done + sec(0.005), 0.1)
            S.cleanup(
                done + sec(0.008),
                "{}: message-id=<{}.{}@{}>".format(nq, (done).strftime("%Y%m%d%H%M%S"), nq, S.fqdn),
            )
            S.log(
                done + sec(0.012),
                "postfix/bounce",
                bpid,
                f"{qid}: sender non-delivery notification: {nq}",
            )
            S.qmgr(done + sec(0.013), f"{qid}: removed")
            S.deliver(
                done + sec(0.008),
                done + sec(0.014),
                nq,
                "",
                [sender],
                size + 2400,
                "{}.{}@{}".format(done.strftime("%Y%m%d%H%M%S"), nq, S.fqdn),
            )
        elif result == "deferred":
            S.log(
                done,
                "postfix/smtp",
                spid,
                S.delivery_line(
                    qid,
                    rcpt,
                    relay,
                    arrival,
                    active,
                    handoff,
                    conn,
                    done,
                    "4.2.0",
                    "deferred",
                    f"host {relay[:-3]} said: {remote_text} (in reply to RCPT TO command)",
                ),
            )

            def retry(t):
                act2 = t
                S.qmgr(act2, "%s: from=<%s>, size=%d, nrcpt=1 (queue active)" % (qid, sender, size))
                h2 = act2 + sec(S.u(0.005, 0.03))
                c2 = h2 + sec(S.u(0.2, 0.9))
                d2 = c2 + sec(S.u(0.3, 1.5))
                p2 = S.pid("postfix/smtp", h2, (d2 - h2).total_seconds())
                S.log(
                    c2 - sec(0.05),
                    "postfix/smtp",
                    p2,
                    f"Trusted TLS connection established to {relay}: {TLS13}",
                )
                S.log(
                    d2,
                    "postfix/smtp",
                    p2,
                    S.delivery_line(
                        qid,
                        rcpt,
                        relay,
                        arrival,
                        act2,
                        h2,
                        c2,
                        d2,
                        "2.0.0",
                        "sent",
                        f"250 2.0.0 Ok: queued as {S.rng.getrandbits(40):X}",
                    ),
                )
                S.qmgr(d2 + sec(0.002), f"{qid}: removed")

            A(t_retry, retry)
        s.reset_txn()
        s.step(0.05, 0.3)

    def submission(
        t, cl, user, steps, prog="postfix/submission/smtpd", portlog=True, wrapper=False
    ):
        port = S.port()
        s = Sess(S, t, cl, port, prog=prog, portlog=portlog, service="submission")
        s.connect()
        if wrapper:
            s.tls_wrapper()
            s.ehlo()
        else:
            s.ehlo()
            s.starttls()
        s.auth_ok(user)
        steps(s)
        s.quit()
        s.end()

    def greylisted_then(
        t,
        cl,
        sender,
        rcpt,
        retries,
        ps="old",
        final=None,
        spf="pass",
        mech="ip4:198.51.100.0/24",
        tls=TLS13,
        whitelisted_log=False,
    ):
        """First attempt greylisted; retries = [seconds after first, ...];
        the last retry passes (triplet found, delay=N).
        """
        first = {}

        def attempt(tt, n):
            port = S.port()
            mode = ps if n == 0 else "old"
            t1 = ps_front(S, tt, cl, port, mode)
            s = Sess(S, t1, cl, port)
            s.connect()
            s.ehlo()
            if tls:
                s.starttls(tls)
            s.mail(sender)
            s.to(rcpt)
            client_pre(s)
            client_post(s)
            spf_check(s, spf, mech)
            now = epoch(s.t)
            if n == 0:
                first["t"] = now
            waited = now - first["t"]
            if n == 0 or waited < 300:
                reason = "new" if n == 0 else "early-retry (%ds missing)" % (300 - waited)
                grey(s, "greylist", reason)
                s.reject(grey_reply(s), T("reject", "greylist", "check_policy_service"))
                s.quit()
                s.end()
                A(t + sec(retries[n]), attempt, n + 1)
                return
            if whitelisted_log:
                s.log(f"whitelisted: {cl.name}[{cl.ip}]", who=S.fpid("postgrey"), prog="postgrey")
            grey(s, "pass", "triplet found", waited)
            s.accept()
            s.step(0.02, 0.2)
            if final:
                final(s)
                return
            mid = mkid(S, s.t, sender.split("@")[-1], S.rng.randint(0, 3))
            t_eod = s.data_accept(mid)
            S.deliver(s.arrival, t_eod, s.qid, sender, [rcpt], S.rng.randint(4000, 60000), mid)
            s.reset_txn()
            s.step(0.01, 0.1)
            s.quit()
            s.end()

        A(t, attempt, 0)

    # ====================== Nov 3 (era A) ================================
    A(D(3, "00:00:01"), lambda t: cron(t, ISPC))
    A(
        D(3, "00:02:14"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.41"),
            S.port(),
            "info@ylmf.example",
            "alice@example.com",
            "User",
            dnsbl=[("zen.spamhaus.org", "127.0.0.4"), ("b.barracudacentral.org", "127.0.0.2")],
            pregreet=(0.21, "EHLO User\r\n"),
            rank=5,
            reply="550 5.7.1 Service unavailable; client [192.0.2.41] blocked "
            "using zen.spamhaus.org",
            result=None,
            layer_restr="postscreen_dnsbl_action",
        ),
    )
    A(
        D(3, "00:07:30"),
        lambda t: inbound(
            S, t, SHOP, "newsletter@news.shop.example", ["alice@example.com"], msgid=None
        ),
    )
    A(
        D(3, "00:15:03"),
        lambda t: ps_drop(
            S,
            t,
            C("unknown", "203.0.113.201"),
            S.port(),
            [(2.1, "HANGUP after 2.1 from %(c)s in tests before SMTP handshake", None)],
        ),
    )
    A(
        D(3, "00:22:48"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.77"),
            S.port(),
            "mailer@offers.example",
            "bob@example.com",
            "WIN-SRV01",
            events=[
                "COMMAND PIPELINING from %(c)s after EHLO: MAIL FROM:"
                "<mailer@offers.example>\\r\\nRCPT TO:<bob@example.com>\\r\\n"
            ],
            reply="550 5.5.1 Protocol error",
            result=None,
            layer_restr="postscreen_pipelining_action",
        ),
    )
    A(
        D(3, "00:31:10"),
        lambda t: reject_sess(
            S,
            t,
            C("201-93-87-2.dial-up.isp.example", "203.0.113.87"),
            "jesus.c@isp.example",
            "alice@example.com",
            "504 5.5.2 <lan-32204df3031>: Helo command rejected: need fully-qualified hostname",
            T("reject", "helo", "reject_non_fqdn_helo_hostname"),
            helo="lan-32204df3031",
        ),
    )
    A(
        D(3, "00:44:02"),
        lambda t: anvil(
            t,
            [
                "statistics: max connection rate 1/60s for (smtpd:203.0.113.87) at Nov  3 00:31:10",
                "statistics: max connection count 1 for (smtpd:203.0.113.87) at Nov  3 00:31:10",
                "statistics: max cache size 2 at Nov  3 00:07:30",
            ],
        ),
    )
    A(
        D(3, "01:05:40"),
        lambda t: inbound(
            S, t, PARTNER, "anna.berg@partner.example", ["bob@example.com", "office@example.com"]
        ),
    )
    # no PTR + Spamhaus PBL (postscreen only counts 127.0.0.[2..8])
    A(
        D(3, "01:20:11"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "192.0.2.88", "[192.0.2.88]", noptr=True),
            "alerts@secure-login.example",
            "alice@example.com",
            "554 5.7.1 Service unavailable; Client host [192.0.2.88] blocked "
            "using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.88",
            T("reject", "rbl", "reject_rbl_client"),
            end="lost",
        ),
    )
    A(
        D(3, "01:48:30"),
        lambda t: ps_drop(
            S,
            t,
            C("unknown", "203.0.113.66"),
            S.port(),
            [(6.08, "NON-SMTP COMMAND from %(c)s after CONNECT: GET / HTTP/1.1", None)],
        ),
    )
    A(
        D(3, "02:15:17"),
        lambda t: reject_sess(
            S,
            t,
            C("203-0-113-54.static.hosting.example", "203.0.113.54"),
            "support@account-verify.example",
            "dave@example.com",
            "501 5.5.2 <WIN_7K2L>: Helo command rejected: Invalid name",
            T("reject", "helo", "reject_invalid_helo_hostname"),
            helo="WIN_7K2L",
        ),
    )
    A(D(3, "02:40:55"), lambda t: inbound(S, t, PARTNER, "", ["dave@example.com"], size=6214))
    A(D(3, "03:00:01"), lambda t: cron(t, ISPC))

    def sasl_bot(t, cl, users, end="lost", ps="old", pace=(1.5, 3.5)):
        port = S.port()
        t = ps_front(S, t, cl, port, ps)
        s = Sess(S, t, cl, port)
        s.connect()
        s.ehlo()
        for u in users:
            s.auth_fail(u, pace=pace)
        if end == "lost":
            s.step(0.5, 3)
            s.lost("AUTH")
        else:
            s.quit()
        s.end()

    A(
        D(3, "03:12:40"),
        lambda t: sasl_bot(
            t,
            C("unknown", "192.0.2.150", "User"),
            ["admin@example.com", "info@example.com", "test@example.com"],
        ),
    )
    A(
        D(3, "03:30:00"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.99"),
            S.port(),
            "noreply@promo.example",
            "carol@example.org",
            "localhost",
            events=["BARE NEWLINE from %(c)s after EHLO localhost"],
            reply="550 5.5.1 Protocol error",
            result=None,
            layer_restr="postscreen_bare_newline_action",
        ),
    )
    A(
        D(3, "04:05:22"),
        lambda t: inbound(
            S,
            t,
            LISTS,
            "bounce-4471-carol=example.org@lists.example.net",
            ["info@example.org"],
            greyr="recipient whitelist",
            mech="a",
        ),
    )
    A(
        D(3, "04:30:10"),
        lambda t: ps_drop(
            S,
            t,
            C("unknown", "203.0.113.230"),
            S.port(),
            [(306.2, "COMMAND TIME LIMIT from %(c)s after CONNECT", None)],
        ),
    )
    A(
        D(3, "05:02:44"),
        lambda t: reject_sess(
            S,
            t,
            C("mta7.cheap-meds.example", "192.0.2.130"),
            "orders@cheap-meds.example",
            "bob@example.com",
            "450 4.7.1 <mail.nonexistent-host.example>: Helo command rejected: Host not found",
            T("reject", "helo", "reject_unknown_helo_hostname"),
            helo="mail.nonexistent-host.example",
        ),
    )
    A(
        D(3, "05:40:00"),
        lambda t: reject_sess(
            S,
            t,
            C("static-192-0-2-131.isp.example", "192.0.2.131"),
            "sales@spammy-domain.example",
            "office@example.com",
            "554 5.7.1 Service unavailable; Helo command [spammy-domain.example] "
            "blocked using dbl.spamhaus.org; "
            "https://www.spamhaus.org/query/domain/spammy-domain.example",
            T("reject", "rbl", "reject_rhsbl_helo"),
            helo="spammy-domain.example",
        ),
    )
    A(
        D(3, "06:51:12"),
        lambda t: inbound(
            S,
            t,
            BILLING,
            "invoices@billing.example",
            ["bob@example.com"],
            ps="recheck",
            spf="none",
            tls=TLS12,
        ),
    )
    A(
        D(3, "07:10:00"),
        lambda t: reject_sess(
            S,
            t,
            C("mail.hostingco.example", "198.51.100.99"),
            "sales@offers.invalid",
            "alice@example.com",
            "450 4.1.8 <sales@offers.invalid>: Sender address rejected: Domain not found",
            T("reject", "sender", "reject_unknown_sender_domain"),
        ),
    )
    A(
        D(3, "07:33:40"),
        lambda t: reject_sess(
            S,
            t,
            C("web01.hosting.example", "203.0.113.160"),
            "webmaster",
            "office@example.com",
            "504 5.5.2 <webmaster>: Sender address rejected: need fully-qualified address",
            T("reject", "sender", "reject_non_fqdn_sender"),
        ),
    )
    A(D(3, "07:58:20"), lambda t: imap(t, "alice@example.com", "198.51.100.77", 1520))
    greylisted_then(
        D(3, "08:05:00"),
        SCHOOL,
        "secretary@school.example.org",
        "anna@example.com",
        [187, 1061],
        ps="old",
    )
    # (the school's first contact with mx1 is postscreen's deep test)
    A(
        D(3, "07:57:51"),
        lambda t: ps_deep(
            S,
            t,
            SCHOOL,
            S.port(),
            "secretary@school.example.org",
            "anna@example.com",
            "mail.school.example.org",
        ),
    )
    A(
        D(3, "08:40:30"),
        lambda t: reject_sess(
            S,
            t,
            C("mailer.app.example", "198.51.100.210"),
            "noreply@nomail.example",
            "bob@example.com",
            "550 5.7.27 <noreply@nomail.example>: Sender address rejected: "
            "Domain nomail.example does not accept mail (nullMX)",
            T("reject", "sender", "reject_unknown_sender_domain"),
            tls=TLS13,
        ),
    )
    A(
        D(3, "09:02:15"),
        lambda t: inbound(
            S,
            t,
            BIGMAIL,
            "j.doe@bigmail.example",
            ["bob@example.com"],
            greyr="client whitelist",
            mech="include:_spf.bigmail.example",
        ),
    )
    A(
        D(3, "09:15:00"),
        lambda t: reject_sess(
            S,
            t,
            C("bulk3.massmail.example", "203.0.113.171"),
            "promo@spam-sender.example",
            "alice@example.com",
            "554 5.7.1 <promo@spam-sender.example>: Sender address rejected: Access denied",
            T("reject", "sender", "check_sender_access"),
        ),
    )
    A(
        D(3, "09:31:00"),
        lambda t: reject_sess(
            S,
            t,
            C("mail.abusive-isp.example", "198.51.100.66"),
            "hello@abusive-isp.example",
            "bob@example.com",
            "554 5.7.1 <mail.abusive-isp.example[198.51.100.66]>: Client host "
            "rejected: Access denied",
            T("reject", "client", "check_client_access"),
            pre=False,
        ),
    )
    A(
        D(3, "09:47:12"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "192.0.2.200", "[192.0.2.200]", noptr=True),
            "test@example.com",
            "relaytest@elsewhere.example",
            "454 4.7.1 <relaytest@elsewhere.example>: Relay access denied",
            T("reject", "recipient", "defer_unauth_destination"),
            end="lost",
        ),
    )
    # compromised web server: greylisted first, later pipelines DATA
    HOST99 = C("host99.colo.example", "203.0.113.99", "host99.colo.example")

    def data_pipelining(s):
        s.cmd("data", False)
        raw = (
            'From: "Pharmacy Online" <sales@pharm-online.example>\r\n'
            "To: <alice@example.com>\r\nSubject: Your order is ready\r\n"
            "Date: Tue, 3 Nov 2026 10:21:44 +0000\r\n"
        )
        s.log(f"improper command pipelining after DATA from {s.na}: {escape(raw[:100])}")
        s.recipient = "alice@example.com"
        s.log(
            s.reject_line(
                "DATA",
                "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining",
            ),
            T("reject", "data", "reject_unauth_pipelining"),
        )
        s.step(0.01, 0.05)
        s.cmd("unknown", False)
        s.log(
            f'warning: non-SMTP command from {s.na}: From: "Pharmacy Online" '
            "<sales@pharm-online.example>"
        )
        s.end()

    greylisted_then(
        D(3, "09:50:07"),
        HOST99,
        "sales@pharm-online.example",
        "alice@example.com",
        [1897],
        final=data_pipelining,
        spf="none",
        tls=None,
    )
    A(
        D(3, "10:05:30"),
        lambda t: inbound(S, t, PARTNER, "lars.holm@partner.example", ["alice@example.com"]),
    )
    A(
        D(3, "10:20:00"),
        lambda t: reject_sess(
            S,
            t,
            C("mail.shop3.example", "198.51.100.120"),
            "service@shop3.example",
            "bobby@example.com",
            "550 5.1.1 <bobby@example.com>: Recipient address rejected: User "
            "unknown in virtual mailbox table",
            T("reject", "recipient", "reject_unlisted_recipient"),
            tls=TLS13,
        ),
    )
    A(
        D(3, "10:44:00"),
        lambda t: reject_sess(
            S,
            t,
            C("mx.bulk-relay.example", "198.51.100.190"),
            "offers@cheapdeals.example",
            "bob@example.com",
            "554 5.7.1 Service unavailable; Sender address "
            "[offers@cheapdeals.example] blocked using dbl.spamhaus.org; "
            "https://www.spamhaus.org/query/domain/cheapdeals.example",
            T("reject", "rbl", "reject_rhsbl_sender"),
        ),
    )
    A(
        D(3, "11:02:30"),
        lambda t: inbound(
            S,
            t,
            PARTNER6,
            "anna.berg@partner.example",
            ["alice@example.com"],
            mech="ip6:2001:db8:4ca3::/48",
        ),
    )
    A(
        D(3, "11:20:00"),
        lambda t: reject_sess(
            S,
            t,
            C("static-192-0-2-140.isp.example", "192.0.2.140"),
            "ceo@example.com",
            "alice@example.com",
            "554 5.7.1 <mx1.example.com>: Helo command rejected: You are not me",
            T("reject", "helo", "check_helo_access"),
            helo="mx1.example.com",
        ),
    )
    A(
        D(3, "11:35:00"),
        lambda t: inbound(
            S,
            t,
            SMALLBIZ,
            "info@smallbiz.example",
            ["office@example.com"],
            tls=TLS12,
            mech="ip4:203.0.113.150",
        ),
    )

    def mismatch(s):
        s.mail("ceo@example.com")
        s.to("partner@partner.example")
        s.reject(
            "553 5.7.1 <ceo@example.com>: Sender address rejected: not "
            "owned by user dave@example.com",
            T("reject", "sender", "reject_authenticated_sender_login_mismatch"),
        )
        s.step(1.0, 4.0)
        s.sender = None
        s.recipient = None

    A(D(3, "12:00:03"), lambda t: submission(t, HOME, "dave@example.com", mismatch))
    A(
        D(3, "12:01:48"),
        lambda t: submission(
            t,
            HOME,
            "dave@example.com",
            lambda s: outbound(
                s,
                "dave@example.com",
                "partner@partner.example",
                "mx.partner.example",
                "198.51.100.25",
            ),
        ),
    )
    A(
        D(3, "12:30:00"),
        lambda t: reject_sess(
            S,
            t,
            C("vps-22.cloud.example", "203.0.113.122"),
            "payroll@example.com",
            "alice@example.com",
            "550 5.1.0 <payroll@example.com>: Sender address rejected: User "
            "unknown in virtual mailbox table",
            T("reject", "sender", "reject_unlisted_sender"),
        ),
    )
    A(
        D(3, "12:50:00"),
        lambda t: inbound(
            S,
            t,
            SHOP,
            "newsletter@news.shop.example",
            ["alice@example.com", "bob@example.com", "carol@example.org"],
        ),
    )
    A(
        D(3, "13:10:00"),
        lambda t: reject_sess(
            S,
            t,
            PARTNER,
            "lars.holm@partner.example",
            "noreply@example.com",
            "554 5.7.1 <noreply@example.com>: Recipient address rejected: This "
            "address does not accept mail",
            T("reject", "recipient", "check_recipient_access"),
            tls=TLS13,
        ),
    )
    A(
        D(3, "13:25:00"),
        lambda t: reject_sess(
            S,
            t,
            BIGMAIL,
            "k.miller@bigmail.example",
            "bob.old@example.com",
            "550 5.1.6 <bob.old@example.com>: Recipient address rejected: "
            "Employee left the company; please write to office@example.com",
            T("reject", "recipient", "check_recipient_access"),
            tls=TLS13,
        ),
    )

    # ---- 13:59-14:01 flood: process limits reached -----------------------
    for i, ip in enumerate(["192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24"]):
        A(
            D(3, "13:59:46") + sec(i * 2.3),
            lambda t, ip=ip: sasl_bot(
                t,
                C("unknown", ip, "User"),
                [
                    "postmaster@example.com",
                    "alice@example.com",
                    "office@example.com",
                    "admin@example.com",
                    "info@example.com",
                ],
                pace=(4.0, 6.0),
            ),
        )
    A(
        D(3, "13:59:52"),
        lambda t: inbound(
            S,
            t,
            SCHOOL,
            "secretary@school.example.org",
            ["anna@example.com"],
            xfer=(21.0, 23.0),
            size=8812331,
            greyr="triplet found",
        ),
    )
    BOT66 = C("unknown", "192.0.2.66")

    def flood(t):
        ports = [S.port() for _ in range(6)]
        for i in range(5):
            tt = t + sec(i * 0.19)
            ps_connect(S, tt, BOT66, ports[i])
            S.ps(
                tt + sec(0.08),
                "PREGREET 14 after 0.08 from [%s]:%d: EHLO ylmf-pc\\r\\n" % (BOT66.ip, ports[i]),
            )
        tt = t + sec(1.21)
        ps_connect(S, tt, BOT66, ports[5])
        S.ps(
            tt + sec(0.0001),
            "NOQUEUE: reject: CONNECT from [%s]:%d: too many connections" % (BOT66.ip, ports[5]),
            T("reject", "postscreen", "postscreen_client_connection_count_limit"),
        )
        S.ps(tt + sec(0.0002), "DISCONNECT [%s]:%d" % (BOT66.ip, ports[5]))
        p = S.port()
        tt = t + sec(1.52)
        ps_connect(S, tt, C("unknown", "192.0.2.67"), p)
        S.ps(
            tt + sec(0.0001),
            "reject: connect from [192.0.2.67]:%d: all screening ports busy" % p,
            T("reject", "postscreen", "postscreen_pre_queue_limit"),
        )
        S.ps(tt + sec(0.0002), "DISCONNECT [192.0.2.67]:%d" % p)
        p = S.port()
        tt = t + sec(2.04)
        ps_connect(S, tt, C("unknown", "203.0.113.180"), p)
        S.ps(
            tt + sec(0.0001),
            "NOQUEUE: reject: CONNECT from [203.0.113.180]:%d: all server ports busy" % p,
            T("reject", "postscreen", "postscreen_post_queue_limit"),
        )
        S.ps(tt + sec(0.0002), "DISCONNECT [203.0.113.180]:%d" % p)
        for i in range(5):
            tt = t + sec(3.1 + i * 0.4)
            el = (tt - (t + sec(i * 0.19))).total_seconds()
            S.ps(
                tt,
                "HANGUP after %s from [%s]:%d in tests before SMTP "
                "handshake" % (fdelta(el), BOT66.ip, ports[i]),
            )
            S.ps(tt + sec(0.0002), "DISCONNECT [%s]:%d" % (BOT66.ip, ports[i]))

    A(D(3, "14:00:00"), flood)
    A(
        D(3, "14:10:31"),
        lambda t: anvil(
            t,
            [
                "statistics: max connection rate 1/60s for (smtpd:192.0.2.21) at Nov  3 13:59:46",
                "statistics: max connection count 1 for (smtpd:192.0.2.21) at Nov  3 13:59:46",
                "statistics: max auth rate 5/60s for (smtpd:192.0.2.21) at Nov  3 14:00:10",
                "statistics: max cache size 5 at Nov  3 14:00:02",
            ],
        ),
    )

    # milter-greylist (example.org only): first attempt, retry accepted
    def shop2(t, n):
        port = S.port()
        t1 = ps_front(S, t, SHOP2, port, "old")
        s = Sess(S, t1, SHOP2, port)
        s.connect()
        s.ehlo()
        s.starttls()
        if n == 0:
            s.mail("orders@shop2.example")
            s.to("carol@example.org")
            spf_check(s, "pass")
            grey(s, "pass", "recipient whitelist")
            s.reject(
                "451 4.7.1 Greylisting in action, please come back later",
                T("reject", "greylist", "smtpd_milters"),
                action="milter-reject",
                milter=True,
            )
            s.quit()
            s.end()
            A(t + sec(1932), shop2, 1)
        else:
            inbound(
                S,
                None,
                SHOP2,
                "orders@shop2.example",
                ["carol@example.org"],
                sess=s,
                greyr="recipient whitelist",
            )

    A(D(3, "14:20:00"), shop2, 0)
    A(D(3, "15:00:01"), lambda t: cron(t, ISPC))
    A(
        D(3, "15:05:00"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "203.0.113.77", "mail.bulk-mailer.example"),
            "news@bulk-mailer.example",
            "alice@example.com",
            "554 5.7.1 Service unavailable; Unverified Client host "
            "[bulk-mailer.example] blocked using dbl.spamhaus.org; "
            "https://www.spamhaus.org/query/domain/bulk-mailer.example",
            T("reject", "rbl", "reject_rhsbl_reverse_client"),
            forged=("bulk-mailer.example", ""),
        ),
    )
    A(
        D(3, "15:30:00"),
        lambda t: reject_sess(
            S,
            t,
            C("spam-cannon.example", "198.51.100.233"),
            "deals@spam-cannon.example",
            "bob@example.com",
            "554 5.7.1 Service unavailable; Client host [spam-cannon.example] "
            "blocked using dbl.spamhaus.org; "
            "https://www.spamhaus.org/query/domain/spam-cannon.example",
            T("reject", "rbl", "reject_rhsbl_client"),
        ),
    )
    A(
        D(3, "15:45:00"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "192.0.2.160", "mail.example.com", noptr=True),
            "alice@example.com",
            "alice@example.com",
            "554 5.7.1 Service unavailable; Client host [192.0.2.160] blocked "
            "using b.barracudacentral.org; "
            "https://www.barracudanetworks.com/reputation/?pr=1&ip=192.0.2.160",
            T("reject", "rbl", "reject_rbl_client"),
            end="lost",
        ),
    )
    A(
        D(3, "16:00:00"),
        lambda t: inbound(
            S,
            t,
            PARTNER,
            "anna.berg@partner.example",
            ["bob@example.com"],
            ps="recheck",
            dnsbl=[("list.dnswl.org", "127.0.9.1")],
        ),
    )

    # reject_unverified_sender via check_sender_access (bank.example)
    def unverified(t):
        cl = C("mail.phish-host.example", "203.0.113.205")
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        s.mail("security@bank.example")
        s.to("alice@example.com")
        # the verify(8) probe runs while smtpd polls for its result
        pq = S.qid(s.t + sec(0.01))
        tp = s.t + sec(0.01)
        S.cleanup(tp + sec(0.003), f"{pq}: message-id=<{tp:%Y%m%d%H%M%S}.{pq}@{S.fqdn}>")
        act = tp + sec(0.02)
        S.qmgr(act, f"{pq}: from=<double-bounce@{S.fqdn}>, size=286, nrcpt=1 (queue active)")
        h = act + sec(0.012)
        c = h + sec(0.71)
        d = c + sec(0.44)
        remote = (
            "host mx.bank.example[198.51.100.50] said: 550 5.1.1 "
            "<security@bank.example>: Recipient address rejected: User "
            "unknown in virtual mailbox table (in reply to RCPT TO "
            "command)"
        )
        S.log(
            d,
            "postfix/smtp",
            S.pid("postfix/smtp", h, 1.2),
            S.delivery_line(
                pq,
                "security@bank.example",
                "mx.bank.example[198.51.100.50]:25",
                tp,
                act,
                h,
                c,
                d,
                "5.1.1",
                "undeliverable",
                remote,
            ),
        )
        S.qmgr(d + sec(0.001), f"{pq}: removed")
        s.wait(3.02)
        s.reject(
            "450 4.1.7 <security@bank.example>: Sender address rejected: "
            "unverified address: " + remote,
            T("reject", "sender", "reject_unverified_sender"),
        )
        s.quit()
        s.end()

    A(D(3, "16:20:00"), unverified)

    A(
        D(3, "17:00:12"),
        lambda t: submission(
            t,
            MOBILE,
            "alice@example.com",
            lambda s: outbound(
                s,
                "alice@example.com",
                "nosuchuser@partner.example",
                "mx.partner.example",
                "198.51.100.25",
                result="bounced",
                remote_text="550 5.1.1 <nosuchuser@partner.example>: "
                "Recipient address rejected: User unknown in "
                "virtual mailbox table",
            ),
            prog="postfix/smtps/smtpd",
            portlog=False,
            wrapper=True,
        ),
    )
    A(
        D(3, "17:30:00"),
        lambda t: reject_sess(
            S,
            t,
            C("scan-7.research.example", "198.51.100.7"),
            "probe@research.example",
            "admin@mx1.example.com",
            "550 5.1.1 <admin@mx1.example.com>: Recipient address rejected: User "
            "unknown in local recipient table",
            T("reject", "recipient", "reject_unlisted_recipient"),
        ),
    )
    PRIZE = C("mail.lucky-prize.example", "203.0.113.140")

    def rspamd_reject(s):
        mid = mkid(S, s.t, "lucky-prize.example", 0)
        s.cmd("data", False)
        s.step(0.02, 0.1)
        S.cleanup(s.t + sec(0.05), f"{s.qid}: message-id=<{mid}>")
        s.wait(0.9)
        S.cleanup(
            s.t,
            "{}: milter-reject: END-OF-MESSAGE from {}[{}]: 5.7.1 "
            "Spam message rejected; from=<{}> to=<{}> proto=ESMTP "
            "helo=<{}>".format(s.qid, s.cl.name, s.cl.ip, s.sender, "bob@example.com", s.helo),
            T("reject", "content", "smtpd_milters"),
        )
        s.reset_txn()
        s.step(0.02, 0.1)
        s.quit()
        s.end()

    greylisted_then(
        D(3, "17:48:09"),
        PRIZE,
        "winner@lucky-prize.example",
        "bob@example.com",
        [1923],
        final=rspamd_reject,
        spf="none",
    )

    def big_mail(t):
        cl = C("mail.bigfiles.example", "198.51.100.95")
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        s.starttls()
        s.sender = "share@bigfiles.example"
        s.reject(
            "552 5.3.4 Message size exceeds fixed limit",
            T("reject", "other", "message_size_limit"),
            stage="MAIL",
            cmd="mail",
        )
        s.quit()
        s.end()

    A(D(3, "18:00:00"), big_mail)

    def content_reject(s, kind):
        mid = mkid(S, s.t, s.sender.split("@")[1], 1)
        s.cmd("data", False)
        s.step(0.02, 0.1)
        S.cleanup(s.t + sec(0.03), f"{s.qid}: message-id=<{mid}>")
        s.wait(0.3)
        cl = f"{s.cl.name}[{s.cl.ip}]"
        tr = f"from=<{s.sender}> to=<{s.rcpts[0]}> proto=ESMTP helo=<{s.helo}>"
        if kind == "header":
            S.cleanup(
                s.t,
                f"{s.qid}: reject: header Subject: Cheap V1agra & C1alis "
                f"- 80% OFF today only from {cl}; {tr}: 5.7.1 message "
                "content rejected",
                T("reject", "content", "header_checks"),
            )
        else:
            S.cleanup(
                s.t,
                f"{s.qid}: reject: body Click here to claim your prize "
                f"from http://sho.rt.example/3xYz9Q before midnight from {cl}; {tr}: "
                "5.7.1 Shortened URLs are not accepted here",
                T("reject", "content", "body_checks"),
            )
        s.reset_txn()
        s.step(0.02, 0.1)
        s.quit()
        s.end()

    A(
        D(3, "18:45:00"),
        lambda t: inbound(
            S,
            t,
            C("smtp.promo-blast.example", "198.51.100.177"),
            "deals@promo-blast.example",
            ["dave@example.com"],
            data_hook=lambda s, mid: content_reject(s, "header"),
        ),
    )
    A(
        D(3, "19:10:00"),
        lambda t: inbound(
            S,
            t,
            C("out3.prize-mail.example", "203.0.113.141"),
            "notify@prize-mail.example",
            ["alice@example.com"],
            tls=None,
            spf="none",
            data_hook=lambda s, mid: content_reject(s, "body"),
        ),
    )

    def warn_header(s, mid):
        t_eod = s.data_accept(mid)
        S.cleanup(
            t_eod - sec(0.2),
            f"{s.qid}: warning: header X-Mailer: PHPMailer "
            f"5.2.1 from {s.cl.name}[{s.cl.ip}]; "
            f"from=<{s.sender}> to=<{s.rcpts[0]}> proto=ESMTP helo=<{s.helo}>: outdated "
            "PHPMailer",
        )
        S.deliver(s.arrival, t_eod, s.qid, s.sender, s.rcpts, S.rng.randint(3000, 9000), mid)
        s.reset_txn()
        s.step(0.01, 0.1)
        s.quit()
        s.end()

    A(
        D(3, "19:30:00"),
        lambda t: inbound(
            S,
            t,
            C("www.club-site.example", "198.51.100.111"),
            "no-reply@club-site.example",
            ["carol@example.org"],
            data_hook=warn_header,
            mech="a",
        ),
    )
    A(
        D(3, "20:00:00"),
        lambda t: reject_sess(
            S,
            t,
            C("mx.grey-sender.example", "203.0.113.45"),
            "mail@grey-sender.example",
            "bob@example.com",
            "554 5.7.1 Rejected: Client host [203.0.113.45] blocked using "
            "rbl.example.net (local list): spamtrap hits=14; first seen "
            "2026-11-02; see https://rbl.example.net/lookup?ip=203.0.113.45",
            T("reject", "rbl", "reject_rbl_client"),
        ),
    )
    A(
        D(3, "20:30:00"),
        lambda t: inbound(
            S, t, FORUM, "notifications@forum.example.net", ["dave@example.com"], mech="a"
        ),
    )
    A(D(3, "20:41:13"), lambda t: imap(t, "dave@example.com", "198.51.100.77", 305))

    def lookup_fail(t):
        cl = PARTNER
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        s.starttls()
        s.mail("lars.holm@partner.example")
        s.to("bob@example.com")
        S.log(
            s.t - sec(0.003),
            "postfix/proxymap",
            S.newpid(),
            "warning: connect to mysql server 127.0.0.1: Can't connect to "
            "server on '127.0.0.1' (111)",
        )
        s.log(
            "warning: proxy:mysql:/etc/postfix/mysql-virtual_mailboxes.cf "
            'lookup error for "bob@example.com"'
        )
        s.reject(
            "451 4.3.0 <bob@example.com>: Temporary lookup failure", T("reject", "other", None)
        )
        s.quit()
        s.end()

    A(D(3, "21:00:00"), lookup_fail)
    A(
        D(3, "21:30:00"),
        lambda t: inbound(
            S,
            t,
            BIGMAIL,
            "j.doe@bigmail.example",
            ["carol@example.org", "dave@example.com"],
            greyr="client whitelist",
            mech="include:_spf.bigmail.example",
        ),
    )

    def helo_pipelining(t):
        cl = C("dsl-203-0-113-44.isp.example", "203.0.113.44", "mypc")
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.helo_cmd("mypc")
        s.log(
            f"improper command pipelining after HELO from {s.na}: MAIL FROM:"
            "<lottery@win-big.example>\\r\\nRCPT TO:<bob@example.com>\\r\\n"
            "DATA\\r\\n"
        )
        s.mail("lottery@win-big.example")
        s.to("bob@example.com")
        s.reject(
            f"503 5.5.0 <{s.na}>: Client host rejected: Improper use of SMTP command pipelining",
            T("reject", "client", "reject_unauth_pipelining"),
        )
        s.cmd("data", False)
        s.step(0.01, 0.05)
        s.quit()
        s.end()

    A(D(3, "22:00:00"), helo_pipelining)
    A(
        D(3, "22:30:00"),
        lambda t: reject_sess(
            S,
            t,
            C("server4.hoster.example", "198.51.100.44"),
            "root@server4.hoster.example",
            "webmaster",
            "504 5.5.2 <webmaster>: Recipient address rejected: need fully-qualified address",
            T("reject", "recipient", "reject_non_fqdn_recipient"),
        ),
    )
    A(
        D(3, "23:00:00"),
        lambda t: inbound(S, t, SHOP, "newsletter@news.shop.example", ["bob@example.com"]),
    )
    A(
        D(3, "23:40:00"),
        lambda t: inbound(
            S,
            t,
            BIGMAIL,
            "k.miller@bigmail.example",
            ["bob@example.com"],
            ps="white",
            greyr="client whitelist",
            mech="include:_spf.bigmail.example",
        ),
    )
    A(
        D(3, "23:55:00"),
        lambda t: ps_drop(
            S, t, C("unknown", "203.0.113.66"), S.port(), [(0.0004, "BLACKLISTED %(c)s", None)]
        ),
    )

    # ====================== Nov 4 (era A until 08:15) ====================
    A(D(4, "00:00:01"), lambda t: cron(t, ISPC))
    A(
        D(4, "00:10:00"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.55"),
            S.port(),
            "info@hot-offers.example",
            "postmaster@example.com",
            "hot-offers.example",
            dst="203.0.113.11",
            veto=True,
            result=None,
        ),
    )
    A(
        D(4, "00:40:00"),
        lambda t: ps_drop(
            S,
            t,
            C("unknown", "203.0.113.212"),
            S.port(),
            [(8.31, "COMMAND COUNT LIMIT from %(c)s after RSET", None)],
        ),
    )
    A(
        D(4, "01:15:00"),
        lambda t: ps_drop(
            S,
            t,
            C("unknown", "192.0.2.234"),
            S.port(),
            [(6.14, "COMMAND LENGTH LIMIT from %(c)s after CONNECT", None)],
        ),
    )
    A(
        D(4, "01:50:00"),
        lambda t: inbound(
            S,
            t,
            LISTS,
            "bounce-4502-dave=example.com@lists.example.net",
            ["dave@example.com"],
            mech="a",
        ),
    )

    def spf_reject(
        t,
        cl=None,
        sender="service@payments.example",
        rcpt="alice@example.com",
        result="fail",
        tls=TLS13,
    ):
        cl = cl or C("vps210.cheap-vps.example", "192.0.2.210")
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        if tls:
            s.starttls(tls)
        s.mail(sender)
        s.to(rcpt)
        rej = spf_check(s, result)
        if result == "temperror":
            grey(s, "pass", "client AWL")
        s.reject(rej, T("reject", "spf", "check_policy_service"))
        s.quit()
        s.end()

    A(D(4, "02:30:00"), spf_reject)
    A(
        D(4, "03:05:00"),
        lambda t: spf_reject(
            t,
            C("smtp.flaky-dns.example", "198.51.100.180"),
            "news@flaky-dns.example",
            "bob@example.com",
            "temperror",
        ),
    )
    A(
        D(4, "03:40:00"),
        lambda t: inbound(S, t, SHOP, "newsletter@news.shop.example", ["dave@example.com"]),
    )
    A(
        D(4, "05:12:00"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "203.0.113.93", "[203.0.113.93]", noptr=True),
            "admin@example.org",
            "admin@example.org",
            "550 5.1.1 <admin@example.org>: Recipient address rejected: User "
            "unknown in virtual mailbox table",
            T("reject", "recipient", "reject_unlisted_recipient"),
            end="lost",
        ),
    )
    A(D(4, "06:00:01"), lambda t: cron(t, ISPC))
    A(
        D(4, "06:31:00"),
        lambda t: inbound(
            S,
            t,
            BILLING,
            "invoices@billing.example",
            ["office@example.com"],
            ps="recheck",
            spf="none",
            tls=TLS12,
        ),
    )
    A(
        D(4, "07:45:00"),
        lambda t: inbound(S, t, PARTNER, "anna.berg@partner.example", ["alice@example.com"]),
    )
    A(D(4, "07:52:10"), lambda t: imap(t, "alice@example.com", "198.51.100.77", 2210))

    # ---- 08:13-08:15 maintenance: postgrey restarted, postfix reloaded ----
    def pg_restart(t):
        S.log(t, "systemd", 1, "Stopping postgrey.service - Postfix Greylisting Service...")
        S.log(t + sec(0.1), "postgrey", S.fpid("postgrey"), "2026/11/04-08:13:40 Server closing!")
        S.log(t + sec(0.3), "systemd", 1, "postgrey.service: Deactivated successfully.")
        S.log(
            t + sec(0.31), "systemd", 1, "Stopped postgrey.service - Postfix Greylisting Service."
        )
        S.log(
            t + sec(0.32),
            "systemd",
            1,
            "Starting postgrey.service - Postfix Greylisting Service...",
        )
        S.fixed["postgrey"] = S.newpid() + 1
        p0 = S.fixed["postgrey"] - 1
        t2 = t + sec(1.5)
        S.log(t2, "postgrey", p0, "Process Backgrounded")
        pg = S.fpid("postgrey")
        S.log(
            t2 + sec(0.01),
            "postgrey",
            pg,
            "2026/11/04-08:13:41 postgrey (type Net::Server::Multiplex) starting! pid(%d)" % pg,
        )
        S.log(
            t2 + sec(0.02), "postgrey", pg, "Resolved [localhost]:10023 to [127.0.0.1]:10023, IPv4"
        )
        S.log(
            t2 + sec(0.03), "postgrey", pg, "Binding to TCP port 10023 on host 127.0.0.1 with IPv4"
        )
        S.log(t2 + sec(0.04), "postgrey", pg, 'Setting gid to "110 110"')
        S.log(t2 + sec(0.05), "postgrey", pg, 'Setting uid to "107"')
        S.log(
            t2 + sec(0.06), "systemd", 1, "Started postgrey.service - Postfix Greylisting Service."
        )
        S.env = Env(**dict(S.env.__dict__, grey_text="custom"))

    def pg_down(t):
        cl = SHOP
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        s.starttls()
        s.mail("newsletter@news.shop.example")
        s.to("anna@example.com")
        spf_check(s, "pass")
        s.step(0.001, 0.005)
        s.log("warning: connect to 127.0.0.1:10023: Connection refused")
        s.log("warning: problem talking to server 127.0.0.1:10023: Connection refused")
        s.wait(1.0)
        s.log("warning: connect to 127.0.0.1:10023: Connection refused")
        s.log("warning: problem talking to server 127.0.0.1:10023: Connection refused")
        s.reject("451 4.3.5 Server configuration error", T("reject", "other", None))
        s.quit()
        s.end()

    A(D(4, "08:13:40"), pg_restart)
    A(D(4, "08:13:39") + sec(0.62), pg_down)

    def reload(t):
        S.log(
            t,
            "systemd",
            1,
            "Reloading postfix@-.service - Postfix Mail Transport Agent (instance -)...",
        )
        S.log(
            t + sec(0.4), "postfix/postfix-script", S.newpid(), "refreshing the Postfix mail system"
        )
        S.log(
            t + sec(0.41),
            "postfix/master",
            S.fpid("master"),
            "reload -- version 3.10.5, configuration /etc/postfix",
        )
        S.log(
            t + sec(0.45),
            "systemd",
            1,
            "Reloaded postfix@-.service - Postfix Mail Transport Agent (instance -).",
        )
        S.fixed["postscreen"] = S.newpid()
        S.fixed["qmgr"] = S.newpid()
        S.pools.clear()
        S.policy_conn.clear()
        S.env = ERA_B

    A(D(4, "08:15:12"), reload)

    # ====================== Nov 4 (era B) ================================
    A(
        D(4, "08:20:00"),
        lambda t: inbound(S, t, SHOP, "newsletter@news.shop.example", ["anna@example.com"]),
    )
    A(
        D(4, "08:40:00"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "192.0.2.171", "ylmf-pc", noptr=True),
            "info@best-price.example",
            "bob@example.com",
            None,
            None,
            end="lost",
        ),
    )
    A(
        D(4, "09:00:00"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "203.0.113.37", "mail.trusted-bank.example", forged=True),
            "support@trusted-bank.example",
            "alice@example.com",
            None,
            None,
            forged=("mail.trusted-bank.example", ""),
        ),
    )
    A(
        D(4, "09:20:00"),
        lambda t: reject_sess(
            S,
            t,
            C("mail.relaytest.example", "198.51.100.222"),
            "probe@relaytest.example",
            "spam@victim.example",
            "554 5.7.1 <spam@victim.example>: Relay access denied",
            T("reject", "recipient", "reject_unauth_destination"),
        ),
    )
    A(
        D(4, "09:40:00"),
        lambda t: spf_reject(
            t,
            C("mail.invoice-scam.example", "203.0.113.88"),
            "billing@invoice-scam.example",
            "bob@example.com",
            "softfail",
        ),
    )
    A(
        D(4, "10:00:00"),
        lambda t: spf_reject(
            t,
            C("smtp.cheap-vps.example", "192.0.2.211"),
            "service@payments.example",
            "alice@example.com",
            "fail",
            tls=None,
        ),
    )
    A(
        D(4, "10:30:00"),
        lambda t: spf_reject(
            t,
            C("mta.mass-include.example", "198.51.100.240"),
            "news@mass-include.example",
            "dave@example.com",
            "permerror",
        ),
    )
    NEWS2 = C("mail.newsportal.example", "198.51.100.144")
    A(
        D(4, "11:00:00"),
        lambda t: spf_reject(
            t, NEWS2, "digest@newsportal.example", "alice@example.com", "temperror"
        ),
    )
    A(
        D(4, "11:14:27"),
        lambda t: inbound(S, t, NEWS2, "digest@newsportal.example", ["alice@example.com"]),
    )
    greylisted_then(
        D(4, "11:30:00"),
        CRM,
        "updates@crm-tool.example",
        "anna@example.com",
        [124, 977],
        whitelisted_log=True,
    )
    A(D(4, "12:00:01"), lambda t: cron(t, ISPC))
    A(
        D(4, "12:10:00"),
        lambda t: submission(
            t,
            MOBILE,
            "alice@example.com",
            lambda s: outbound(
                s,
                "alice@example.com",
                "contact@remote-grey.example",
                "mx.remote-grey.example",
                "198.51.100.160",
                result="deferred",
                t_retry=D(4, "12:16:43"),
                remote_text="450 4.2.0 "
                "<contact@remote-grey.example>: Recipient address "
                "rejected: Greylisted, see "
                "http://postgrey.schweikert.ch/help/"
                "remote-grey.example.html",
            ),
            prog="postfix/smtps/smtpd",
            portlog=False,
            wrapper=True,
        ),
    )
    A(
        D(4, "12:40:00"),
        lambda t: inbound(
            S,
            t,
            DNSWL,
            "member-news@mailprovider.example",
            ["dave@example.com"],
            ps="dnswl",
            dnsbl=[("list.dnswl.org", "127.0.5.2")],
            greyr="client whitelist",
            mech="include:spf.mailprovider.example",
        ),
    )
    A(
        D(4, "13:10:00"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.45"),
            S.port(),
            "admin@pills.example",
            "alice@example.com",
            "pills.example",
            dnsbl=[("zen.spamhaus.org", "127.0.0.3"), ("bl.spamcop.net", "127.0.0.2")],
            pregreet=(0.55, "HELO pills.example\r\n"),
            rank=4,
            proto="SMTP",
            reply="550 5.7.1 Service unavailable; client [192.0.2.45] blocked "
            "using zen.spamhaus.org",
            result=None,
            layer_restr="postscreen_dnsbl_action",
        ),
    )

    def typo_domain(s):
        s.mail("dave@example.com")
        s.to("friend@gmial.invalid")
        s.reject(
            "450 4.1.2 <friend@gmial.invalid>: Recipient address rejected: Domain not found",
            T("reject", "recipient", "reject_unknown_recipient_domain"),
        )
        s.step(0.5, 2.0)
        s.sender = None
        s.recipient = None

    A(D(4, "13:41:27"), lambda t: submission(t, HOME, "dave@example.com", typo_domain))
    A(
        D(4, "14:00:00"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "192.0.2.222", "[192.0.2.222]", noptr=True),
            "office@mailbox-cleaner.example",
            "office@example.com",
            "550 5.7.1 <unknown[192.0.2.222]>: Client host rejected: Mail from "
            "your network is not accepted; contact postmaster@example.com",
            T("reject", "client", "check_client_access"),
            pre=False,
        ),
    )

    # three reject shapes no standard restriction produces: replies of a
    # local policy milter (smtpd_milters); intended layer "other"
    def milter_connect(t):
        cl = C("unknown", "203.0.113.250", "mail.kp-trade.example", noptr=True)
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.proto = "SMTP"
        s.log(f"connect from {s.na}")
        s.step(0.01, 0.05)
        s.log(
            s.reject_line(
                "CONNECT",
                "554 5.7.1 Connection refused by local policy (geo: KP)",
                "milter-reject",
                milter=True,
            ),
            T("reject", "other", "unmatched"),
        )
        s.step(0.2, 0.6)
        s.quit()
        s.end()

    A(D(4, "14:30:00"), milter_connect)

    def milter_mail(t):
        cl = C("mx2.example-com.example", "198.51.100.205")
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        s.starttls()
        s.sender = "billing@example-com.example"
        s.reject(
            "550 5.7.1 Sender rejected by local policy milter (rule 17: "
            "lookalike of a hosted domain)",
            T("reject", "other", "unmatched"),
            stage="MAIL",
            action="milter-reject",
            milter=True,
            cmd="mail",
        )
        s.quit()
        s.end()

    A(D(4, "15:00:00"), milter_mail)

    def milter_rcpt(t):
        cl = PARTNER
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        s.starttls()
        s.mail("lars.holm@partner.example")
        s.to("anna@example.com")
        spf_check(s, "pass")
        grey(s, "pass", "client AWL")
        s.reject(
            "450 4.7.1 Mailbox locked by local policy (ticket #4471), try again later",
            T("reject", "other", "unmatched"),
            action="milter-reject",
            milter=True,
        )
        s.quit()
        s.end()

    A(D(4, "15:30:00"), milter_rcpt)

    def one_unknown(s, i, r):
        if r == "lukas@example.com":
            client_pre(s)
            s.reject(
                "550 5.1.1 <lukas@example.com>: Recipient address "
                "rejected: User unknown in virtual mailbox table",
                T("reject", "recipient", "reject_unlisted_recipient"),
            )
            return True
        return False

    A(
        D(4, "16:00:00"),
        lambda t: inbound(
            S,
            t,
            PARTNER,
            "lars.holm@partner.example",
            ["bob@example.com", "lukas@example.com"],
            rcpt_hook=one_unknown,
        ),
    )
    A(
        D(4, "17:02:10"),
        lambda t: anvil(
            t,
            [
                "statistics: max connection rate 2/60s for (smtpd:198.51.100.25) at "
                "Nov  4 16:00:00",
                "statistics: max connection count 1 for (smtpd:198.51.100.25) at Nov  4 16:00:00",
                "statistics: max cache size 3 at Nov  4 16:51:55",
            ],
        ),
    )
    A(
        D(4, "17:30:00"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "203.0.113.199"),
            S.port(),
            "info@fastloans.example",
            "bob@example.com",
            "fastloans.example",
            pregreet=(0.12, "EHLO fastloans.example\r\n"),
            reply="550 5.5.1 Protocol error",
            result=None,
            layer_restr="postscreen_greet_action",
        ),
    )
    A(
        D(4, "18:00:00"),
        lambda t: inbound(
            S,
            t,
            PARTNER6,
            "lars.holm@partner.example",
            ["bob@example.com"],
            mech="ip6:2001:db8:4ca3::/48",
        ),
    )
    A(
        D(4, "19:00:00"),
        lambda t: reject_sess(
            S,
            t,
            C("client-55.dsl.isp.example", "198.51.100.55"),
            "info@dsl.isp.example",
            "office@example.com",
            "501 5.5.2 <[300.1.2.3]>: Helo command rejected: invalid ip address",
            T("reject", "helo", "reject_invalid_helo_hostname"),
            helo="[300.1.2.3]",
        ),
    )
    A(
        D(4, "19:30:00"),
        lambda t: inbound(
            S, t, FORUM, "notifications@forum.example.net", ["alice@example.com"], mech="a"
        ),
    )
    A(
        D(4, "20:00:00"),
        lambda t: sasl_bot(
            t,
            C("vps-31.cloud.example", "203.0.113.31", "User"),
            ["sales@example.com", "info@example.org"],
            end="quit",
        ),
    )
    A(
        D(4, "21:00:00"),
        lambda t: inbound(
            S,
            t,
            BIGMAIL,
            "j.doe@bigmail.example",
            ["dave@example.com"],
            greyr="client whitelist",
            mech="include:_spf.bigmail.example",
        ),
    )
    A(D(4, "21:41:00"), lambda t: imap(t, "dave@example.com", "203.0.113.9", 95))
    A(
        D(4, "22:30:00"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.98"),
            S.port(),
            None,
            None,
            None,
            reply=None,
            result=None,
            events=["HANGUP after 6.4 from %(c)s in tests after SMTP handshake"],
        ),
    )
    A(
        D(4, "23:30:00"),
        lambda t: inbound(
            S, t, SHOP, "newsletter@news.shop.example", ["alice@example.com", "dave@example.com"]
        ),
    )
    A(D(4, "23:59:30"), lambda t: cron(t, ISPC))


def build_mx1():
    S = Server("mx1", "mx1.example.com", "203.0.113.10", seed=1103, pid0=31200, version="3.10")
    S.fixed.update({"master": 812, "qmgr": 1206, "postscreen": 1190, "postgrey": 870})
    S.env = ERA_A
    mx1_jobs(S)
    S.run()
    return S


# ---------------------------------------------------------------------------
# SCENARIOS mx2: Debian 12, Postfix 3.7.11 with three instances
# (postfix-in: postscreen + smtpd on :25, postfix: submission/smtps,
#  postfix-out: relay to the Internet, running in a UTC container),
# rsyslog RSYSLOG_FileFormat, Nov 5 2026 (CET, +01:00)
# ---------------------------------------------------------------------------

MX2_ENV = Env(
    respectful=True,
    reverse="reject",
    unknown_client=None,
    relay="defer",
    spf="python",
    grey_text="default",
)


def E(hms):
    h, m, s_ = (int(x) for x in hms.split(":"))
    return dt.datetime(2026, 11, 5, h, m, s_)


def mx2_jobs(S):
    def A(t, fn, *args):
        S.at(t + sec(S.u(0.0, 0.95)), fn, *args)

    IN = {
        "ps_prog": "postfix-in/postscreen",
        "dnsblog_prog": "postfix-in/dnsblog",
        "qmgr_prog": "postfix-in/qmgr",
        "cleanup_prog": "postfix-in/cleanup",
        "smtpd_prog": "postfix-in/smtpd",
        "lmtp_prog": "postfix-in/lmtp",
    }
    S.era = IN
    P1 = C("mail.supplier.example", "203.0.113.20")
    P2 = C("mx-out.bigmail.example", "198.51.100.81")
    P3 = C("smtp.university.example.org", "198.51.100.120")
    P4 = C("relay.agency.example", "203.0.113.77")
    NEWC = C("mail.startup.example", "203.0.113.133")
    EVA_HOME = C("cpe-203-0-113-58.cable.example", "203.0.113.58", "[203.0.113.58]")
    FRANK_MOB = C("m-198-51-100-93.mobile.example", "198.51.100.93", "[198.51.100.93]")

    def local_submit(s, sender, rcpt):
        """Default instance: submission/smtps to a local mailbox."""
        s.mail(sender)
        s.to(rcpt)
        s.accept()
        s.step(0.02, 0.2)
        mid = mkid(S, s.t, "example.net", 2)
        t_eod = s.data_accept(
            mid,
            (0.2, 1.5),
        )
        S.era = dict(
            IN, qmgr_prog="postfix/qmgr", cleanup_prog="postfix/cleanup", lmtp_prog="postfix/lmtp"
        )
        S.deliver(s.arrival, t_eod, s.qid, sender, [rcpt], S.rng.randint(2000, 60000), mid)
        S.era = IN
        s.reset_txn()
        s.step(0.05, 0.2)

    def relay_out(s, sender, rcpt, remote, rip):
        """Default instance -> postfix-out (127.0.0.1:10025) -> Internet."""
        s.mail(sender)
        s.to(rcpt)
        s.accept()
        s.step(0.02, 0.2)
        mid = mkid(S, s.t, "example.net", 1)
        t_eod = s.data_accept(mid, (0.3, 2.0))
        size = S.rng.randint(3000, 200000)
        q1, arr1 = s.qid, s.arrival
        act = t_eod + sec(S.u(0.005, 0.03))
        S.qmgr(
            act,
            "%s: from=<%s>, size=%d, nrcpt=1 (queue active)" % (q1, sender, size),
            prog="postfix/qmgr",
        )
        h = act + sec(S.u(0.003, 0.02))
        # postfix-out receives it
        out = Sess(
            S,
            h + sec(0.002),
            C("localhost", "127.0.0.1", "mx2.example.net"),
            0,
            prog="postfix-out/smtpd",
        )
        out.log("connect from localhost[127.0.0.1]")
        out.step(0.001, 0.004)
        out.ehlo()
        out.mail(sender)
        out.to(rcpt)
        out.accept()
        out.step(0.001, 0.004)
        out.cmd("data")
        S.cleanup(out.t + sec(0.002), f"{out.qid}: message-id=<{mid}>", prog="postfix-out/cleanup")
        out.wait(0.01 + size / 5e7)
        t2 = out.t
        c = h + sec(0.002)
        S.log(
            t2 + sec(0.001),
            "postfix/smtp",
            S.pid("postfix/smtp", h, 0.3),
            S.delivery_line(
                q1,
                rcpt,
                "127.0.0.1[127.0.0.1]:10025",
                arr1,
                act,
                h,
                c,
                t2 + sec(0.001),
                "2.0.0",
                "sent",
                f"250 2.0.0 Ok: queued as {out.qid}",
            ),
        )
        S.qmgr(t2 + sec(0.002), f"{q1}: removed", prog="postfix/qmgr")
        act2 = t2 + sec(S.u(0.003, 0.02))
        S.qmgr(
            act2,
            "%s: from=<%s>, size=%d, nrcpt=1 (queue active)" % (out.qid, sender, size + 612),
            prog="postfix-out/qmgr",
        )
        out.step(0.002, 0.01)
        out.quit()
        out.end()
        h2 = act2 + sec(S.u(0.003, 0.02))
        c2 = h2 + sec(S.u(0.2, 0.7))
        d2 = c2 + sec(S.u(0.3, 1.2))
        spid = S.pid("postfix-out/smtp", h2, (d2 - h2).total_seconds())
        S.log(
            c2 - sec(0.04),
            "postfix-out/smtp",
            spid,
            f"Trusted TLS connection established to {remote}[{rip}]:25: {TLS13}",
        )
        S.log(
            d2,
            "postfix-out/smtp",
            spid,
            S.delivery_line(
                out.qid,
                rcpt,
                f"{remote}[{rip}]:25",
                out.arrival,
                act2,
                h2,
                c2,
                d2,
                "2.0.0",
                "sent",
                f"250 2.0.0 Ok: queued as {S.rng.getrandbits(40):X}",
            ),
        )
        S.qmgr(d2 + sec(0.001), f"{out.qid}: removed", prog="postfix-out/qmgr")
        s.reset_txn()
        s.step(0.05, 0.2)

    def sub(t, cl, user, steps, prog="postfix/submission/smtpd", wrapper=False):
        s = Sess(S, t, cl, S.port(), prog=prog)
        s.cleanup_prog = "postfix/cleanup"
        s.connect()
        if wrapper:
            s.tls_wrapper()
            s.ehlo()
        else:
            s.ehlo()
            s.starttls()
        if user:
            s.auth_ok(user)
        steps(s)
        s.quit()
        s.end()

    # ---- 10:00 - 13:30 ---------------------------------------------------
    A(
        E("10:00:02"),
        lambda t: inbound(S, t, P1, "orders@supplier.example", ["sales@example.net"], mech="mx"),
    )
    A(
        E("10:03:41"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.201"),
            S.port(),
            "info@cheap-watches.example",
            "frank@example.net",
            "cheap-watches.example",
            dnsbl=[("zen.spamhaus.org", "127.0.0.2"), ("b.barracudacentral.org", "127.0.0.2")],
            pregreet=(0.31, "EHLO cheap-watches.example\r\n"),
            rank=5,
            reply="550 5.7.1 Service unavailable; client [192.0.2.201] blocked "
            "using zen.spamhaus.org",
            result=None,
            layer_restr="postscreen_dnsbl_action",
        ),
    )
    A(
        E("10:07:15"),
        lambda t: inbound(
            S,
            t,
            P2,
            "m.lee@bigmail.example",
            ["eva@example.net"],
            ps="white",
            greyr="client whitelist",
            mech="include:_spf.bigmail.example",
        ),
    )
    A(
        E("10:11:12"),
        lambda t: ps_drop(
            S, t, C("unknown", "203.0.113.250"), S.port(), [(0.0004, "DENYLISTED %(c)s", None)]
        ),
    )
    A(
        E("10:14:40"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "192.0.2.177", "ylmf-pc", noptr=True),
            "lisa@dating-site.example",
            "frank@example.net",
            None,
            None,
            end="lost",
        ),
    )
    A(
        E("10:20:05"),
        lambda t: sub(
            t,
            EVA_HOME,
            "eva@example.net",
            lambda s: relay_out(
                s,
                "eva@example.net",
                "partner@partner.example",
                "mx.partner.example",
                "198.51.100.25",
            ),
        ),
    )

    def mismatch(s):
        s.mail("ceo@example.net")
        s.to("bank@bank.example")
        s.reject(
            "553 5.7.1 <ceo@example.net>: Sender address rejected: not "
            "owned by user eva@example.net",
            T("reject", "sender", "reject_authenticated_sender_login_mismatch"),
        )
        s.step(0.5, 2.0)
        s.sender = None
        s.recipient = None

    A(E("10:26:51"), lambda t: sub(t, EVA_HOME, "eva@example.net", mismatch))
    A(
        E("10:31:09"),
        lambda t: reject_sess(
            S,
            t,
            C("mail.web-host.example", "198.51.100.41"),
            "noreply@web-host.example",
            "karl@example.net",
            "550 5.1.1 <karl@example.net>: Recipient address rejected: User "
            "unknown in virtual mailbox table",
            T("reject", "recipient", "reject_unlisted_recipient"),
        ),
    )
    A(
        E("10:35:27"),
        lambda t: ps_deep(
            S,
            t,
            NEWC,
            S.port(),
            "hello@startup.example",
            "sales@example.net",
            "mail.startup.example",
        ),
    )

    def grey_first(t, cl, sender, rcpt, later):
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        s.starttls()
        s.mail(sender)
        s.to(rcpt)
        spf_check(s, "pass")
        grey(s, "greylist", "new")
        t_first = s.t
        s.reject(grey_reply(s), T("reject", "greylist", "check_policy_service"))
        s.quit()
        s.end()

        def second(t2):
            port2 = S.port()
            t3 = ps_front(S, t2, cl, port2, "old")
            s2 = Sess(S, t3, cl, port2)
            s2.connect()
            s2.ehlo()
            s2.starttls()
            inbound(
                S,
                None,
                cl,
                sender,
                [rcpt],
                sess=s2,
                greyr="triplet found",
                grey_delay=lambda x: epoch(x.t) - epoch(t_first),
            )

        A(t + sec(later), second)

    A(
        E("10:41:33"),
        lambda t: grey_first(t, NEWC, "hello@startup.example", "sales@example.net", 906),
    )

    def spf_fail(t):
        cl = C("mx.cheap-vps.example", "192.0.2.66")
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        s.mail("service@payments.example")
        s.to("eva@example.net")
        rej = spf_check(s, "fail")
        s.reject(rej, T("reject", "spf", "check_policy_service"))
        s.quit()
        s.end()

    A(E("10:52:30"), spf_fail)

    def sasl_fail(t):
        cl = C("unknown", "192.0.2.190")
        s = Sess(S, t, cl, S.port(), prog="postfix/smtps/smtpd")
        s.connect()
        s.tls_wrapper(TLS12)
        s.ehlo("User")
        for u in ["eva@example.net", "admin@example.net", "test@example.net"]:
            s.auth_fail(u)
        s.step(0.5, 2.0)
        s.lost("AUTH")
        s.end()

    A(E("10:58:44"), sasl_fail)
    A(
        E("11:02:10"),
        lambda t: inbound(
            S,
            t,
            P3,
            "dean@university.example.org",
            ["frank@example.net", "eva@example.net"],
            mech="ip4:198.51.100.112/28",
        ),
    )
    A(
        E("11:05:31"),
        lambda t: reject_sess(
            S,
            t,
            C("smtp.grey-market.example", "203.0.113.91"),
            "sales@grey-market.example",
            "helpdesk@example.net",
            "554 5.7.1 Service unavailable; Client host [203.0.113.91] blocked "
            "using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.91",
            T("reject", "rbl", "reject_rbl_client"),
        ),
    )
    A(
        E("11:12:00"),
        lambda t: sub(
            t,
            FRANK_MOB,
            "frank@example.net",
            lambda s: local_submit(s, "frank@example.net", "helpdesk@example.net"),
            prog="postfix/smtps/smtpd",
            wrapper=True,
        ),
    )
    A(
        E("11:20:47"),
        lambda t: inbound(
            S,
            t,
            P4,
            "newsletter@agency.example",
            ["sales@example.net"],
            ps="recheck",
            dnsbl=[("list.dnswl.org", "127.0.3.0")],
            spf="none",
        ),
    )
    A(
        E("11:31:02"),
        lambda t: ps_drop(
            S,
            t,
            C("unknown", "198.51.100.250"),
            S.port(),
            [(2.6, "HANGUP after 2.6 from %(c)s in tests before SMTP handshake", None)],
        ),
    )
    A(
        E("11:44:20"),
        lambda t: reject_sess(
            S,
            t,
            C("mail.freight-quote.example", "203.0.113.140"),
            "quotes@freight-quote.example",
            "spam@elsewhere.example",
            "454 4.7.1 <spam@elsewhere.example>: Relay access denied",
            T("reject", "recipient", "defer_unauth_destination"),
        ),
    )
    A(
        E("12:01:18"),
        lambda t: inbound(S, t, P1, "orders@supplier.example", ["sales@example.net"], mech="mx"),
    )
    A(
        E("12:15:55"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.93"),
            S.port(),
            "x@y.example",
            "eva@example.net",
            "y.example",
            events=[
                "COMMAND PIPELINING from %(c)s after EHLO: MAIL FROM:"
                "<x@y.example>\\r\\nRCPT TO:<eva@example.net>\\r\\nDATA\\r\\n"
            ],
            reply="550 5.5.1 Protocol error",
            result=None,
            layer_restr="postscreen_pipelining_action",
        ),
    )
    A(
        E("12:32:07"),
        lambda t: inbound(
            S,
            t,
            P2,
            "m.lee@bigmail.example",
            ["frank@example.net"],
            greyr="client whitelist",
            mech="include:_spf.bigmail.example",
        ),
    )
    A(
        E("12:47:40"),
        lambda t: sub(
            t,
            EVA_HOME,
            "eva@example.net",
            lambda s: relay_out(
                s,
                "eva@example.net",
                "m.lee@bigmail.example",
                "mx-in.bigmail.example",
                "198.51.100.82",
            ),
        ),
    )
    A(
        E("13:02:12"),
        lambda t: reject_sess(
            S,
            t,
            C("unknown", "203.0.113.222", "[203.0.113.222]", noptr=True),
            "admin@example.net",
            "admin@example.net",
            None,
            None,
            end="lost",
        ),
    )

    def pickup(t):
        q = S.qid(t)
        S.log(t, "postfix/pickup", 1399, f"{q}: uid=0 from=<root>")
        S.cleanup(
            t + sec(0.004),
            f"{q}: message-id=<{t:%Y%m%d%H%M%S}.{q}@{S.fqdn}>",
            prog="postfix/cleanup",
        )
        S.era = dict(IN, qmgr_prog="postfix/qmgr", lmtp_prog="postfix/lmtp")
        S.deliver(
            t,
            t + sec(0.006),
            q,
            "root@mx2.example.net",
            ["helpdesk@example.net"],
            1187,
            "{}.{}@{}".format(t.strftime("%Y%m%d%H%M%S"), q, S.fqdn),
            orig={"helpdesk@example.net": "root"},
        )
        S.era = IN

    A(E("12:00:01"), pickup)
    A(
        E("11:37:10"),
        lambda t: reject_sess(
            S,
            t,
            C("host-203-0-113-61.isp.example", "203.0.113.61"),
            "info@offers.invalid",
            "sales@example.net",
            "450 4.1.8 <info@offers.invalid>: Sender address rejected: Domain not found",
            T("reject", "sender", "reject_unknown_sender_domain"),
            tls=TLS13,
        ),
    )
    A(
        E("11:51:45"),
        lambda t: reject_sess(
            S,
            t,
            C("static-198-51-100-214.isp.example", "198.51.100.214"),
            "office@print-shop.example",
            "frank@example.net",
            "504 5.5.2 <printserver>: Helo command rejected: need fully-qualified hostname",
            T("reject", "helo", "reject_non_fqdn_helo_hostname"),
            helo="printserver",
        ),
    )
    A(
        E("12:24:30"),
        lambda t: inbound(
            S,
            t,
            P4,
            "newsletter@agency.example",
            ["eva@example.net", "frank@example.net", "helpdesk@example.net"],
            spf="none",
        ),
    )
    A(
        E("12:40:02"),
        lambda t: S.log(
            t,
            "dovecot",
            None,
            "imap-login: Login: user=<frank@example.net>,"
            " method=PLAIN, rip=198.51.100.93, "
            "lip=192.0.2.10, mpid=%d, TLS, "
            "session=<Qv8Jm2s2GeHGYV1d>" % S.newpid(),
        ),
    )
    A(
        E("13:08:51"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.145"),
            S.port(),
            "promo@deals.example",
            "sales@example.net",
            "deals.example",
            dnsbl=[("bl.spamcop.net", "127.0.0.2")],
            events=["NON-SMTP COMMAND from %(c)s after EHLO: Subject: Exclusive offer"],
            reply=None,
            result=None,
        ),
    )
    A(
        E("13:15:00"),
        lambda t: S.log(
            t,
            "dovecot",
            None,
            "imap-login: Login: user=<eva@example.net>,"
            " method=PLAIN, rip=203.0.113.58, "
            "lip=192.0.2.10, mpid=%d, TLS, "
            "session=<k9Ql2Gs2nNjLyAE6>" % S.newpid(),
        ),
    )
    A(
        E("13:21:33"),
        lambda t: inbound(
            S,
            t,
            P3,
            "dean@university.example.org",
            ["helpdesk@example.net"],
            mech="ip4:198.51.100.112/28",
        ),
    )


def build_mx2():
    S = Server("mx2", "mx2.example.net", "192.0.2.10", seed=1105, pid0=2100, version="3.7")
    S.fixed.update(
        {
            "postfix-in/postscreen": 1402,
            "postscreen": 1402,
            "postfix-in/qmgr": 1408,
            "postfix/qmgr": 1391,
            "postfix-out/qmgr": 1523,
            "qmgr": 1408,
            "postgrey": 988,
        }
    )
    S.env = MX2_ENV
    mx2_jobs(S)
    S.run()
    return S


# ---------------------------------------------------------------------------
# SCENARIOS mx3: small Debian 11 box, Postfix 3.5.25 without postscreen,
# Dec 30 2025 06:25 -> Jan 2 2026 12:00, rotated daily at 06:25
# ---------------------------------------------------------------------------

MX3_ENV = Env(
    respectful=False,
    reverse="reject",
    unknown_client=None,
    relay="defer",
    spf="python",
    grey_text="default",
)
ROT1 = dt.datetime(2025, 12, 31, 6, 25, 3)  # mail.log.2 -> mail.log.1
ROT2 = dt.datetime(2026, 1, 1, 6, 25, 2)  # mail.log.1 -> mail.log
MX3_END = dt.datetime(2026, 1, 2, 12, 0, 0)


def mx3_jobs(S):
    def A(t, fn, *args):
        S.at(t, fn, *args)

    R = S.rng
    USERS = ["olga@example.org", "paul@example.org", "info@example.org", "kasse@example.org"]
    PEERS = [
        (C("mail.verein.example", "198.51.100.71"), "vorstand@verein.example", "pass"),
        (C("smtp.bank.example", "198.51.100.50"), "noreply@bank.example", "pass"),
        (C("mx.familie.example.net", "203.0.113.182"), "oma@familie.example.net", "none"),
        (C("out.shop.example", "198.51.100.61"), "service@shop.example", "pass"),
        (C("mail.stadtwerke.example", "192.0.2.120"), "rechnung@stadtwerke.example", "pass"),
    ]
    BOTS = [
        "192.0.2.%d" % i
        for i in (
            3,
            17,
            29,
            58,
            73,
            86,
            91,
            104,
            118,
            133,
            147,
            162,
            175,
            188,
            199,
            214,
            236,
            241,
            250,
        )
    ] + [
        "203.0.113.%d" % i
        for i in (
            6,
            14,
            27,
            39,
            48,
            52,
            63,
            71,
            82,
            95,
            108,
            117,
            129,
            136,
            154,
            163,
            177,
            193,
            207,
            219,
            226,
            238,
            245,
        )
    ]
    NAMES = ["ylmf-pc", "User", "WIN-3K9L2", "localhost", "[%s]"]
    SPAMFROM = [
        "info@cheap-pills.example",
        "win@lottery.example",
        "security@account-alert.example",
        "hr@job-offer.example",
        "noreply@crypto-gain.example",
        "sales@seo-rank.example",
    ]

    def bot():
        ip = BOTS[R.randrange(len(BOTS))]
        h = R.choice(NAMES)
        return C("unknown", ip, h % ip if "%" in h else h, noptr=True)

    def deliver(t):
        cl, sender, spf = PEERS[R.randrange(len(PEERS))]
        rc = [R.choice(USERS)]
        if R.random() < 0.2:
            rc.append(R.choice([u for u in USERS if u != rc[0]]))
        inbound(S, t, cl, sender, rc, ps=None, spf=spf, tls=None if R.random() < 0.15 else TLS13)

    def greylisted(t):
        cl = C("mail.newsender%d.example" % R.randint(2, 9), "198.51.100.%d" % R.randint(150, 199))
        sender = "contact@" + cl.name[5:]
        rcpt = R.choice(USERS)
        s = Sess(S, t, cl, S.port())
        s.connect()
        s.ehlo()
        s.starttls()
        s.mail(sender)
        s.to(rcpt)
        spf_check(s, "pass")
        grey(s, "greylist", "new")
        t_first = s.t
        s.reject(grey_reply(s), T("reject", "greylist", "check_policy_service"))
        s.quit()
        s.end()

        def again(t2):
            s2 = Sess(S, t2, cl, S.port())
            s2.connect()
            s2.ehlo()
            s2.starttls()
            inbound(
                S,
                None,
                cl,
                sender,
                [rcpt],
                sess=s2,
                greyr="triplet found",
                grey_delay=lambda x: epoch(x.t) - epoch(t_first),
            )

        A(t + sec(R.randint(330, 1800)), again)

    def rbl(t):
        cl = C("host-%d.dyn.example" % R.randint(10, 250), "203.0.113.%d" % R.randint(1, 254))
        reject_sess(
            S,
            t,
            cl,
            R.choice(SPAMFROM),
            R.choice(USERS),
            f"554 5.7.1 Service unavailable; Client host [{cl.ip}] blocked "
            f"using zen.spamhaus.org; https://www.spamhaus.org/query/ip/{cl.ip}",
            T("reject", "rbl", "reject_rbl_client"),
            ps=None,
            end=R.choice(["quit", "lost"]),
        )

    def reverse(t):
        reject_sess(
            S,
            t,
            bot(),
            R.choice(SPAMFROM),
            R.choice(USERS),
            None,
            None,
            ps=None,
            end=R.choice(["quit", "lost", "lost"]),
        )

    def relay(t):
        cl = C("vps%d.hosting.example" % R.randint(1, 99), "198.51.100.%d" % R.randint(200, 250))
        reject_sess(
            S,
            t,
            cl,
            "test@example.org",
            "check@relay-test.example",
            "454 4.7.1 <check@relay-test.example>: Relay access denied",
            T("reject", "recipient", "defer_unauth_destination"),
            ps=None,
        )

    def unknown_user(t):
        cl = C("mx%d.mailer.example" % R.randint(1, 9), "198.51.100.%d" % R.randint(2, 40))
        who = R.choice(["admin", "webmaster", "buchhaltung", "m.meier", "test"])
        reject_sess(
            S,
            t,
            cl,
            R.choice(SPAMFROM),
            f"{who}@example.org",
            f"550 5.1.1 <{who}@example.org>: Recipient address rejected: "
            "User unknown in virtual mailbox table",
            T("reject", "recipient", "reject_unlisted_recipient"),
            ps=None,
        )

    def spf_fail(t):
        cl = C("smtp%d.bulk.example" % R.randint(1, 9), "192.0.2.%d" % R.randint(200, 250))
        port = S.port()
        s = Sess(S, t, cl, port)
        s.connect()
        s.ehlo()
        s.mail("kundenservice@bank.example")
        s.to(R.choice(USERS))
        s.reject(spf_check(s, "fail"), T("reject", "spf", "check_policy_service"))
        s.quit()
        s.end()

    def empty(t):
        cl = bot()
        s = Sess(S, t, cl, S.port())
        s.connect()
        s.wait(R.uniform(0.5, 8))
        s.lost("CONNECT")
        s.end()

    def imap(t):
        u = R.choice(USERS[:2])
        mpid = S.newpid()
        sid = "".join(
            R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
            for _ in range(16)
        )
        S.log(
            t,
            "dovecot",
            None,
            "imap-login: Login: user=<%s>, method=PLAIN, "
            "rip=198.51.100.%d, lip=%s, mpid=%d, TLS, session=<%s>"
            % (u, R.randint(100, 130), S.ip, mpid, sid),
        )
        S.log(
            t + sec(R.randint(30, 900)),
            "dovecot",
            None,
            "imap(%s)<%d><%s>: Logged out in=%d out=%d deleted=0 "
            "expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=%d "
            "body_bytes=%d"
            % (
                u,
                mpid,
                sid,
                R.randint(100, 900),
                R.randint(900, 40000),
                R.randint(0, 2),
                R.randint(0, 30000),
            ),
        )

    KINDS = [
        (deliver, 8),
        (greylisted, 2),
        (rbl, 4),
        (reverse, 5),
        (relay, 1),
        (unknown_user, 2),
        (spf_fail, 1),
        (empty, 2),
        (imap, 2),
    ]
    start = dt.datetime(2025, 12, 30, 6, 25, 3)
    t = start
    pool = [k for k, w in KINDS for _ in range(w)]
    while True:
        t += sec(R.expovariate(1 / 4300.0))
        if t >= MX3_END - sec(1800):
            break
        A(t, R.choice(pool))

    # the year boundary: a greylisted attempt that straddles midnight
    NY = C("mail.neujahr.example", "198.51.100.98")

    def new_year(t):
        s = Sess(S, t, NY, S.port())
        s.connect()
        s.ehlo()
        s.starttls()
        s.mail("gruesse@neujahr.example")
        s.wait(1.2)
        s.to("olga@example.org")
        spf_check(s, "pass")
        grey(s, "greylist", "new")
        t_first = s.t
        s.reject(grey_reply(s), T("reject", "greylist", "check_policy_service"))
        s.quit()
        s.end()

        def again(t2):
            s2 = Sess(S, t2, NY, S.port())
            s2.connect()
            s2.ehlo()
            s2.starttls()
            inbound(
                S,
                None,
                NY,
                "gruesse@neujahr.example",
                ["olga@example.org"],
                sess=s2,
                greyr="triplet found",
                grey_delay=lambda x: epoch(x.t) - epoch(t_first),
            )

        A(t + sec(611), again)

    A(dt.datetime(2025, 12, 31, 23, 59, 58, 402113), new_year)
    # a session that is cut in two by the rotation on Jan  1 06:25:02
    A(
        dt.datetime(2026, 1, 1, 6, 25, 0, 851220),
        lambda t: inbound(
            S, t, PEERS[0][0], PEERS[0][1], ["info@example.org"], ps=None, xfer=(2.0, 2.5)
        ),
    )


def build_mx3():
    S = Server("mx3", "mx3.example.org", "203.0.113.30", seed=1231, pid0=4100, version="3.5")
    S.fixed.update({"qmgr": 811, "postgrey": 655})
    S.era = {}
    S.env = MX3_ENV
    mx3_jobs(S)
    S.run()
    return S


# ---------------------------------------------------------------------------
# SCENARIOS mx4: Debian 13 without rsyslog, Postfix 3.10 logging to the
# journal; exported with `journalctl -o json`.  Local time is CET, the
# journal's __REALTIME_TIMESTAMP is UTC.
# ---------------------------------------------------------------------------

MX4_ENV = Env(
    respectful=True,
    reverse="reject",
    unknown_client=None,
    relay="defer",
    spf="none",
    grey_text="default",
)


def mx4_jobs(S):
    def A(t, fn, *args):
        S.at(t + sec(S.u(0.0, 0.9)), fn, *args)

    def F(hms):
        h, m, s_ = (int(x) for x in hms.split(":"))
        return dt.datetime(2026, 11, 6, h, m, s_)

    BIG = C("mx-out.bigmail.example", "198.51.100.81")

    def plain(t):
        inbound(
            S,
            t,
            BIG,
            "m.lee@bigmail.example",
            ["ines@example.org"],
            greyr="client whitelist",
            spf=None,
        )

    A(F("10:00:04"), plain)
    A(
        F("10:02:41"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.141"),
            S.port(),
            "a@b.example",
            "ines@example.org",
            "b.example",
            pregreet=(0.09, "EHLO b.example\r\n"),
            reply="550 5.5.1 Protocol error",
            result=None,
            layer_restr="postscreen_greet_action",
        ),
    )
    A(
        F("10:04:10"),
        lambda t: reject_sess(
            S,
            t,
            C("dsl-203-0-113-19.isp.example", "203.0.113.19", "caf\udce9-pc"),
            "jos\udce9@isp.example",
            "ines@example.org",
            "501 5.5.2 <caf\udce9-pc>: Helo command rejected: Invalid name",
            T("reject", "helo", "reject_invalid_helo_hostname"),
        ),
    )
    A(
        F("10:06:55"),
        lambda t: reject_sess(
            S,
            t,
            C("mail.spam-host.example", "203.0.113.201"),
            "x@spam-host.example",
            "jan@example.org",
            "554 5.7.1 Service unavailable; Client host [203.0.113.201] blocked "
            "using zen.spamhaus.org; https://www.spamhaus.org/query/ip/"
            "203.0.113.201",
            T("reject", "rbl", "reject_rbl_client"),
        ),
    )

    def greyl(t):
        cl = C("mail.new-partner.example", "198.51.100.177")
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo()
        s.mail("hello@new-partner.example")
        s.to("jan@example.org")
        grey(s, "greylist", "new")
        s.reject(grey_reply(s), T("reject", "greylist", "check_policy_service"))
        s.quit()
        s.end()

    A(F("10:09:30"), greyl)

    def sasl(t):
        cl = C("unknown", "192.0.2.230")
        port = S.port()
        t1 = ps_front(S, t, cl, port, "old")
        s = Sess(S, t1, cl, port)
        s.connect()
        s.ehlo("User")
        s.auth_fail("ines@example.org")
        s.step(0.3, 1.0)
        s.lost("AUTH")
        s.end()

    A(F("10:11:02"), sasl)
    A(
        F("10:13:37"),
        lambda t: ps_deep(
            S,
            t,
            C("unknown", "192.0.2.248"),
            S.port(),
            "promo@cheap.example",
            "jan@example.org",
            "cheap.example",
            dnsbl=[("zen.spamhaus.org", "127.0.0.4"), ("b.barracudacentral.org", "127.0.0.2")],
            rank=5,
            reply="550 5.7.1 Service unavailable; client [192.0.2.248] blocked "
            "using zen.spamhaus.org",
            result=None,
            layer_restr="postscreen_dnsbl_action",
        ),
    )


def build_mx4():
    S = Server("mx4", "mx4.example.org", "198.51.100.44", seed=1106, pid0=5210, version="3.10")
    S.fixed.update({"postscreen": 1187, "qmgr": 1193, "postgrey": 1044})
    S.era = {}
    S.env = MX4_ENV
    mx4_jobs(S)
    S.run()
    return S


JOURNAL_EXE = {
    "postscreen": ("postscreen", "postscreen -l -n smtp -t inet -u -o stress= -s 2"),
    "dnsblog": ("dnsblog", "dnsblog -n dnsblog -t unix -u -o stress="),
    "smtpd": ("smtpd", "smtpd -n smtpd -t pass -u -o stress="),
    "cleanup": ("cleanup", "cleanup -z -t unix -u"),
    "qmgr": ("qmgr", "qmgr -l -t unix -u"),
    "lmtp": ("lmtp", "lmtp -t unix -u"),
    "virtual": ("virtual", "virtual -t unix"),
}


def render_journal(S):
    """Journalctl -o json: one JSON object per line, fields in the order
    systemd 257 prints them.
    """
    rng = random.Random(20261106)
    boot = f"{rng.getrandbits(128):032x}"
    machine = f"{rng.getrandbits(128):032x}"
    seqid = f"{rng.getrandbits(128):032x}"
    inv_pf = f"{rng.getrandbits(128):032x}"
    inv_pg = f"{rng.getrandbits(128):032x}"
    inv_dc = f"{rng.getrandbits(128):032x}"
    boot_time = dt.datetime(2026, 11, 2, 7, 12, 40, 118532)  # UTC
    seq = 0x3A41F
    out = []
    for t, _, prog, pid, msg, _ in S.sorted():
        seq += rng.randint(1, 4)
        utc = t - dt.timedelta(hours=1)
        real = int((utc - dt.datetime(1970, 1, 1)).total_seconds() * 1000000 + 0.5)
        mono = int((utc - boot_time).total_seconds() * 1000000)
        xor = f"{rng.getrandbits(64):016x}"
        cursor = f"s={seqid};i={seq:x};b={boot};m={mono:x};t={real:x};x={xor}"
        raw = msg.encode("utf-8", "surrogateescape")
        try:
            mval = raw.decode("utf-8")
        except UnicodeDecodeError:
            mval = list(raw)
        prio = "4" if msg.startswith("warning:") else "6"
        e = {
            "__CURSOR": cursor,
            "__REALTIME_TIMESTAMP": str(real),
            "__MONOTONIC_TIMESTAMP": str(mono),
            "__SEQNUM": str(seq),
            "__SEQNUM_ID": seqid,
            "_BOOT_ID": boot,
            "PRIORITY": prio,
            "_TRANSPORT": "syslog",
            "SYSLOG_FACILITY": "2",
            "SYSLOG_IDENTIFIER": prog,
        }
        if pid is not None:
            e["SYSLOG_PID"] = str(pid)
        e["SYSLOG_TIMESTAMP"] = "%s %2d %s " % (t.strftime("%b"), t.day, t.strftime("%H:%M:%S"))
        e["MESSAGE"] = mval
        if prog.startswith("postfix/"):
            comm, cmd = JOURNAL_EXE[prog.split("/", 1)[1]]
            e.update(
                {
                    "_PID": str(pid),
                    "_UID": "101",
                    "_GID": "104",
                    "_COMM": comm,
                    "_EXE": "/usr/lib/postfix/sbin/" + comm,
                    "_CMDLINE": cmd,
                    "_CAP_EFFECTIVE": "0",
                    "_SYSTEMD_CGROUP": "/system.slice/system-postfix.slice/postfix@-.service",
                    "_SYSTEMD_UNIT": "postfix@-.service",
                    "_SYSTEMD_SLICE": "system-postfix.slice",
                    "_SYSTEMD_INVOCATION_ID": inv_pf,
                }
            )
        elif prog == "postgrey":
            e.update(
                {
                    "_PID": str(pid),
                    "_UID": "107",
                    "_GID": "110",
                    "_COMM": "postgrey",
                    "_EXE": "/usr/bin/perl",
                    "_CMDLINE": "/usr/sbin/postgrey --pidfile=/run/"
                    "postgrey.pid --daemonize "
                    "--inet=127.0.0.1:10023",
                    "_CAP_EFFECTIVE": "0",
                    "_SYSTEMD_CGROUP": "/system.slice/postgrey.service",
                    "_SYSTEMD_UNIT": "postgrey.service",
                    "_SYSTEMD_SLICE": "system.slice",
                    "_SYSTEMD_INVOCATION_ID": inv_pg,
                }
            )
        else:  # dovecot (no pid in ident)
            e.update(
                {
                    "_PID": "812",
                    "_UID": "0",
                    "_GID": "0",
                    "_COMM": "log",
                    "_EXE": "/usr/lib/dovecot/log",
                    "_CMDLINE": "dovecot/log",
                    "_CAP_EFFECTIVE": "1ffffffffff",
                    "_SYSTEMD_CGROUP": "/system.slice/dovecot.service",
                    "_SYSTEMD_UNIT": "dovecot.service",
                    "_SYSTEMD_SLICE": "system.slice",
                    "_SYSTEMD_INVOCATION_ID": inv_dc,
                }
            )
        e.update(
            {
                "_MACHINE_ID": machine,
                "_HOSTNAME": S.host,
                "_RUNTIME_SCOPE": "system",
                "_SOURCE_REALTIME_TIMESTAMP": str(real - rng.randint(20, 400)),
            }
        )
        out.append(json.dumps(e, ensure_ascii=False, separators=(",", ":")))
    return out


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------


def ident(prog, pid):
    return f"{prog}[{pid}]" if pid is not None else prog


def classic_ts(t, zero_pad=False):
    day = ("%02d" if zero_pad else "%2d") % t.day
    return "{} {} {}".format(t.strftime("%b"), day, t.strftime("%H:%M:%S"))


def render_classic(recs, host, zero_pad=False):
    return [f"{classic_ts(t, zero_pad)} {host} {ident(p, pid)}: {m}" for t, _, p, pid, m, _ in recs]


def write_lines(path, lines, name, recs=None, final_newline=True):
    data = "\n".join(lines) + ("\n" if final_newline else "")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(data)
    if recs is not None:
        for i, r in enumerate(recs, 1):
            if r[5]:
                TRUTH.append((name, i, *tuple(r[5])))


def rfc3339(t, off="+01:00"):
    return "%s.%06d%s" % (t.strftime("%Y-%m-%dT%H:%M:%S"), t.microsecond, off)


def render_mx2(recs):
    """Rsyslog RSYSLOG_FileFormat (+01:00, microseconds).  Exceptions:
    postfix-out runs in a container that sends UTC timestamps with
    millisecond precision (printed with 'Z'); lines of the rsyslog outage
    11:05:00-11:06:59 were recovered with 'journalctl -o short-iso';
    one line was relayed raw with its RFC 5424 header (<22>1 ...).
    """
    out = []
    raw5424_done = False
    for t, _, p, pid, m, _ in recs:
        if p.startswith("postfix-out/"):
            u = t - dt.timedelta(hours=1)
            ts = "%s.%03dZ" % (u.strftime("%Y-%m-%dT%H:%M:%S"), u.microsecond // 1000)
            out.append("{} {} {}: {}".format(ts, "mx2", ident(p, pid), m))
        elif E("11:05:00") <= t < E("11:07:00"):
            out.append(
                "{}+0100 {} {}: {}".format(t.strftime("%Y-%m-%dT%H:%M:%S"), "mx2", ident(p, pid), m)
            )
        elif (
            not raw5424_done
            and t >= E("12:32:07")
            and p == "postfix-in/smtpd"
            and m.startswith("disconnect")
        ):
            raw5424_done = True
            out.append(f"<22>1 {rfc3339(t)} mx2 {p} {pid} - - {m}")
        else:
            out.append("{} {} {}: {}".format(rfc3339(t), "mx2", ident(p, pid), m))
    return out


# ---------------------------------------------------------------------------
# tests/data/bad_input fixtures
# ---------------------------------------------------------------------------

GOOD = [
    "Nov  3 10:00:01 mx1 postfix/postscreen[1190]: CONNECT from "
    "[198.51.100.25]:51432 to [203.0.113.10]:25",
    "Nov  3 10:00:01 mx1 postfix/postscreen[1190]: PASS OLD [198.51.100.25]:51432",
    "Nov  3 10:00:01 mx1 postfix/smtpd[4711]: connect from mx.partner.example[198.51.100.25]",
    "Nov  3 10:00:02 mx1 postfix/smtpd[4711]: 3C1F5A0B7E: client=mx.partner.example[198.51.100.25]",
    "Nov  3 10:00:02 mx1 postfix/cleanup[4720]: 3C1F5A0B7E: message-id="
    "<20261103100002.3C1F5A0B7E@partner.example>",
    "Nov  3 10:00:02 mx1 postfix/qmgr[1206]: 3C1F5A0B7E: from="
    "<lars.holm@partner.example>, size=5120, nrcpt=1 (queue active)",
    "Nov  3 10:00:02 mx1 postfix/lmtp[4725]: 3C1F5A0B7E: to=<bob@example.com>, "
    "relay=mx1.example.com[private/dovecot-lmtp], delay=0.41, "
    "delays=0.3/0.01/0.02/0.08, dsn=2.0.0, status=sent (250 2.0.0 "
    "<bob@example.com> fWkCIt0GeGm3EgAAq+m0hA Saved)",
    "Nov  3 10:00:02 mx1 postfix/qmgr[1206]: 3C1F5A0B7E: removed",
    "Nov  3 10:00:02 mx1 postfix/smtpd[4711]: disconnect from "
    "mx.partner.example[198.51.100.25] ehlo=1 mail=1 rcpt=1 data=1 quit=1 "
    "commands=5",
]


def write_bad_inputs():
    os.makedirs(BAD, exist_ok=True)

    # 1. 64 KiB of seeded random bytes
    junk = random.Random(64).randbytes(65536)
    with open(os.path.join(BAD, "binary_junk.log"), "wb") as f:
        f.write(junk)

    # 2. valid syslog lines, two of them with ISO-8859-1 bytes in the HELO
    #    name and the sender address
    L = [g.encode() for g in GOOD]
    L.append(
        b"Nov  3 10:00:03 mx1 postfix/postscreen[1190]: CONNECT from "
        b"[203.0.113.19]:41897 to [203.0.113.10]:25"
    )
    L.append(b"Nov  3 10:00:03 mx1 postfix/postscreen[1190]: PASS OLD [203.0.113.19]:41897")
    L.append(
        b"Nov  3 10:00:03 mx1 postfix/smtpd[4712]: connect from "
        b"dsl-203-0-113-19.isp.example[203.0.113.19]"
    )
    L.append(
        b"Nov  3 10:00:04 mx1 postfix/smtpd[4712]: NOQUEUE: reject: RCPT "
        b"from dsl-203-0-113-19.isp.example[203.0.113.19]: 501 5.5.2 "
        b"<caf\xe9-pc>: Helo command rejected: Invalid name; "
        b"from=<jos\xe9@isp.example> to=<bob@example.com> proto=ESMTP "
        b"helo=<caf\xe9-pc>"
    )
    L.append(
        b"Nov  3 10:00:05 mx1 postfix/smtpd[4712]: NOQUEUE: reject: RCPT "
        b"from dsl-203-0-113-19.isp.example[203.0.113.19]: 501 5.5.2 "
        b"<caf\xe9-pc>: Helo command rejected: Invalid name; "
        b"from=<m\xfcller@b\xfcro.example> to=<alice@example.com> "
        b"proto=ESMTP helo=<caf\xe9-pc>"
    )
    L.append(
        b"Nov  3 10:00:05 mx1 postfix/smtpd[4712]: disconnect from "
        b"dsl-203-0-113-19.isp.example[203.0.113.19] ehlo=1 mail=2 "
        b"rcpt=0/2 rset=1 quit=1 commands=5/7"
    )
    L.append(
        b"Nov  3 10:00:06 mx1 dovecot: imap-login: Login: "
        b"user=<bob@example.com>, method=PLAIN, rip=198.51.100.77, "
        b"lip=203.0.113.10, mpid=4733, TLS, session=<pL3kQ2s2hMDGYx1N>"
    )
    with open(os.path.join(BAD, "invalid_utf8.log"), "wb") as f:
        f.write(b"\n".join(L) + b"\n")

    # 3. NUL run (crash: unwritten blocks read back as zeros) glued to the
    #    next line, plus one line with an embedded NUL
    out = [g.encode() for g in GOOD[:4]]
    out.append(b"\0" * 4096 + GOOD[4].encode())
    out.append(GOOD[5].encode())
    out.append(
        b"Nov  3 10:00:02 mx1 postfix/smtpd[4711]: warning: "
        b"non-SMTP command from mx.partner.example[198.51.100.25]: "
        b"X-Junk: a\0b"
    )
    out += [g.encode() for g in GOOD[6:]]
    with open(os.path.join(BAD, "nul_bytes.log"), "wb") as f:
        f.write(b"\n".join(out) + b"\n")

    # 4. truncated: a line cut after the timestamp, and the last line cut
    #    in the middle without a trailing newline
    out = [
        *GOOD[:4],
        "Nov  3 10:00:02",
        *GOOD[4:8],
        "Nov  3 10:00:03 mx1 postfix/smtpd[4714]: NOQUEUE: reject: RCPT from "
        "unknown[192.0.2.7]: 450 4.7.1 Client host rejected: cannot find yo",
    ]
    with open(os.path.join(BAD, "truncated.log"), "wb") as f:
        f.write("\n".join(out).encode())

    # 5. not a log at all
    with open(os.path.join(BAD, "not_a_log.txt"), "w", encoding="utf-8", newline="") as f:
        f.write(
            "date,mailbox,messages,quota_mb\n"
            "2026-11-03,alice@example.com,1834,2048\n"
            "2026-11-03,bob@example.com,912,2048\n"
            "2026-11-03,carol@example.org,77,1024\n"
            "2026-11-03,dave@example.com,3301,4096\n"
            "\n"
            "Mailbox usage export from the control panel (not a log "
            "file).\n"
        )


def main():
    S2 = build_mx2()
    recs = S2.sorted()
    write_lines(os.path.join(HERE, "mail-rfc3339.log"), render_mx2(recs), "mail-rfc3339.log", recs)
    S3 = build_mx3()
    recs = [r for r in S3.sorted() if r[0] < MX3_END]
    parts = [
        [r for r in recs if r[0] < ROT1],
        [r for r in recs if ROT1 <= r[0] < ROT2],
        [r for r in recs if r[0] >= ROT2],
    ]
    rot = os.path.join(HERE, "rotated")
    os.makedirs(rot, exist_ok=True)
    write_lines(
        os.path.join(rot, "mail.log.2"),
        render_classic(parts[0], "mx3"),
        "rotated/mail.log.2.gz",
        parts[0],
    )
    subprocess.run(["gzip", "-n", "-f", os.path.join(rot, "mail.log.2")], check=True)
    write_lines(
        os.path.join(rot, "mail.log.1"),
        render_classic(parts[1], "mx3"),
        "rotated/mail.log.1",
        parts[1],
    )
    write_lines(
        os.path.join(rot, "mail.log"),
        render_classic(parts[2], "mx3", zero_pad=True),
        "rotated/mail.log",
        parts[2],
    )
    for name, stamp in (
        ("mail.log.2.gz", "2025-12-31 06:25:03"),
        ("mail.log.1", "2026-01-01 06:25:02"),
        ("mail.log", "2026-01-02 12:00:00"),
    ):
        subprocess.run(["touch", "-d", stamp, os.path.join(rot, name)], check=True)
    S4 = build_mx4()
    write_lines(os.path.join(HERE, "journal.json"), render_journal(S4), "journal.json", S4.sorted())
    write_bad_inputs()
    S1 = build_mx1()
    recs = S1.sorted()
    write_lines(os.path.join(HERE, "mail.log"), render_classic(recs, "mx1"), "mail.log", recs)
    if "--truth" in sys.argv:
        for row in TRUTH:
            print("\t".join("" if x is None else str(x) for x in row))


if __name__ == "__main__":
    main()
