#!/usr/bin/env python3
"""The benchmarks of docs/performance.md, each against a physical limit measured in the same run.

Run through scripts/bench, which builds the binaries this needs. Every server is real and
local (the release binary, Kannel with its fake SMSC, Postfix smtp-sink, PostgreSQL 15), on
free loopback ports, in a temporary folder that is deleted afterwards. Prints one table and
writes it as JSON. With --quick every figure is measured on tiny sizes (a smoke run: the
goals are printed but only a broken run fails); without it, a goal that is missed fails the
run. Correctness checks (P3: every SMS reached the fake SMSC exactly once, and the batch's
counts match) fail either mode.

Only the standard library is used.
"""

import argparse
import asyncio
import email
import email.utils
import http.client
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "servers"))
from async_http import Client  # noqa: E402
from free_port import free_port  # noqa: E402
LUA_DIR = ROOT / "bench" / "wrk"

# Sizes: (quick, full).
SIZES = {
    "p1_seconds": (2, 15),
    "p1_verifications": (60, 600),
    "p1_connections": (16, 32),
    "p2_seconds": (1, 4),
    "p2_tokens": (600, 40_000),
    "p2_connections": (64, 64),
    "p3_batch": (100, 10_000),
    "p7_small_batch": (10, 1_000),
    "p4_batch": (20, 1_000),
    "p4_rounds": (2, 3),
    "big_account": (300, 100_000),
    "p7_small_account": (20, 1_000),
    "gateway_connections": (16, 16),
    "gateway_seconds": (1, 5),
    "smtp_source_messages": (200, 5_000),
    "list_requests": (20, 200),
    "fsync_commits": (50, 300),
    "warmup_seconds": (1, 3),
}

KANNEL_USER, KANNEL_PASSWORD, KANNEL_ADMIN_PASSWORD = "cv", "cv-secret", "admin-secret"
# Phone numbers +86 138 0000 0000 upwards: valid Chinese mobiles, one per contact of the run.
FIRST_PHONE = 13_800_000_000


class BenchError(Exception):
    """The run cannot go on (a server did not start, a check failed)."""


# MARK: - Processes and ports


def accepts(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def cpu_ticks(pid, reaped_children=False):
    """User + system CPU time of process `pid` in clock ticks, from /proc (0 once it is gone);
    with `reaped_children`, also that of the children it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(field) for field in fields[11:15 if reaped_children else 13])


def wal_bytes(database_url):
    """How many bytes of WAL the PostgreSQL server at `database_url` has written since it
    began (0 without one)."""
    if not database_url:
        return 0
    return int(float(psql(database_url, "SELECT pg_current_wal_lsn() - '0/0'")))


def psql(database_url, sql):
    """Runs `sql` through psql against `database_url`; returns its unaligned output, stripped."""
    return subprocess.run(["psql", database_url, "-Atc", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def memory_folder(room=1 << 30):
    """/dev/shm when it is a memory file system (tmpfs) with `room` bytes free, else None."""
    try:
        mounted = any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in Path("/proc/mounts").read_text().splitlines())
        stats = os.statvfs("/dev/shm")
    except OSError:
        return None
    return "/dev/shm" if mounted and stats.f_bavail * stats.f_frsize >= room else None


def wait_until(condition, what, seconds=30.0, interval=0.02):
    """Polls `condition` (servers outside our control cannot be awaited directly)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise BenchError(f"timed out after {seconds:.0f} s waiting for {what}")


class Processes:
    """Every child process of the run; all are killed at the end."""

    def __init__(self, work):
        self.work = work
        self.children = []

    def start(self, name, argv, env=None, cwd=None):
        log = open(self.work / f"{name}.log", "wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd or self.work,
                                   start_new_session=True)
        process.bench_name = name
        self.children.append(process)
        return process

    def log_tail(self, name, lines=30):
        path = self.work / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, process):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self):
        for process in reversed(self.children):
            if process.poll() is None:
                process.kill()
                process.wait()


# MARK: - HTTP


def run_concurrently(port, jobs, concurrency):
    """Runs `jobs` (async functions of a Client) on `concurrency` connections; returns results in order."""

    async def main():
        results = [None] * len(jobs)
        queue = list(enumerate(jobs))
        queue.reverse()

        async def worker():
            client = Client(port)
            try:
                while queue:
                    index, job = queue.pop()
                    results[index] = await job(client)
            finally:
                client.close()

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(jobs)) or 1)))
        return results

    return asyncio.run(main())


def load(port, requests, connections, seconds):
    """Sends `requests` ((method, path, body, headers) each, used once and in order) on `connections`
    keep-alive connections for at most `seconds`, as a polite client would: a 503 is retried
    after its Retry-After. Returns {"statuses": {code: n}, "seconds": elapsed, "exhausted": bool}."""

    async def main():
        queue = list(reversed(requests))
        statuses = {}
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        last = [started]

        async def worker():
            client = Client(port)
            try:
                while queue and time.monotonic() < deadline:
                    method, path, body, headers = queue.pop()
                    status, _ = await client.request(method, path, body, headers)
                    if status == 503:
                        queue.append((method, path, body, headers))
                        statuses["503"] = statuses.get("503", 0) + 1
                        await asyncio.sleep(1)  # the service's Retry-After
                        continue
                    if time.monotonic() <= deadline:
                        statuses[str(status)] = statuses.get(str(status), 0) + 1
                        last[0] = time.monotonic()
            finally:
                client.close()

        await asyncio.gather(*(worker() for _ in range(connections)))
        return {"statuses": statuses, "seconds": last[0] - started, "exhausted": not queue}

    return asyncio.run(main())


# MARK: - The service


class Service:
    """The release binary, serving on a free port with its own data folder."""

    def __init__(self, bench, name, arguments=(), database_url=None):
        self.bench = bench
        self.name = name
        self.data = bench.work / name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        store = ["--data-dir", str(self.data)] + (["--database-url", database_url] if database_url else [])
        # On PostgreSQL `serve` wants the server secret named explicitly (instances share it).
        secret = ["--secret-key-file", str(self.data / "secret.key")] if database_url else []
        self.key = subprocess.run([bench.binary, "keys", "create", "--admin"] + store, check=True,
                                  capture_output=True, text=True).stdout.strip()
        self.process = bench.processes.start(name, [
            bench.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--public-url", self.base,
            "--resources-dir", str(ROOT), "--hashing-concurrency", str(bench.cores), "--batch-rate", "100000",
            "--log-level", "warning"] + store + secret + list(arguments))
        wait_until(self.ready, f"{name} to answer /readyz")
        self.next_index = 0

    def ready(self):
        if self.process.poll() is not None:
            raise BenchError(f"{self.name} exited:\n{self.bench.processes.log_tail(self.name)}")
        try:
            return self.call("GET", "/readyz")[0] == 200
        except OSError:
            return False

    def call(self, method, path, body=None):
        """One request with the admin key; returns (status, parsed JSON or None)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            try:
                return response.status, json.loads(data) if data else None
            except ValueError:
                return response.status, None
        finally:
            connection.close()

    def must(self, method, path, body=None, statuses=(200, 201, 202)):
        status, value = self.call(method, path, body)
        if status not in statuses:
            raise BenchError(f"{method} {path} -> {status} {value}")
        return value

    def auth(self):
        return (("Authorization", f"Bearer {self.key}"), ("Content-Type", "application/json"))

    def account(self, account):
        self.must("PUT", f"/v1/accounts/{account}",
                  {"displayName": account, "defaultRegion": "CN", "dailySmsLimit": 10_000_000})

    def contacts(self, account, count, concurrency=32):
        """Creates `count` contacts, each with a phone and an email of its own; returns [(id, phone, email)]."""
        start = self.bench.next_contact
        self.bench.next_contact += count
        headers = self.auth()

        def job(n):
            phone, email = f"+86{FIRST_PHONE + n}", f"c{n}@example.com"
            body = json.dumps({"name": f"C{n}", "phone": phone, "email": email})

            async def send(client):
                status, data = await client.request("POST", f"/v1/accounts/{account}/contacts", body, headers)
                if status != 201:
                    raise BenchError(f"creating a contact -> {status} {data[:200]!r}")
                return json.loads(data)["id"], phone, email
            return send

        return run_concurrently(self.port, [job(n) for n in range(start, start + count)], concurrency)

    def batch(self, account, contact_ids, channel, method="link"):
        """Creates a batch; returns its id."""
        return self.must("POST", f"/v1/accounts/{account}/verification-batches",
                         {"contactIds": contact_ids, "channel": channel, "method": method})["id"]

    def sent(self, channel):
        """How many messages of `channel` (`sms` or `email`) the service has counted as handed
        over (`messages_total`, outcome sent): cheap to read whatever the size of a batch."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", "/metrics")
            text = connection.getresponse().read().decode()
        finally:
            connection.close()
        return sum(float(value) for labels, value in re.findall(r"^messages_total\{([^}]*)\} (\S+)$", text, re.M)
                   if f'channel="{channel}"' in labels and 'outcome="sent"' in labels)

    def timed_batch(self, account, contacts, channel):
        """Creates a link batch of `contacts` by `channel` and waits until no item is queued;
        returns (seconds from the POST to then, the batch's id, its final state)."""
        sent_before = self.sent(channel)
        started = time.monotonic()
        batch = self.batch(account, [c[0] for c in contacts], channel)
        _, finished = self.wait_batch(account, batch, sent_until=(channel, sent_before + len(contacts)))
        return time.monotonic() - started, batch, finished

    def wait_batch(self, account, batch_id, seconds=600, sent_until=None):
        """Polls the batch until no item is queued; returns (elapsed since called, counts).

        With `sent_until` (a channel and a count), first waits until the service has counted
        that many messages of the channel sent (its metrics, every 20 ms), then polls the batch
        as always. A batch's counts read every item, so polling them every 20 ms loaded the
        service in proportion to the batch's size and slowed the batch it measured
        (docs/performance.md, "2026-12-06, night"; 4 % of the service's CPU during P4); the end
        is still the first poll that finds no item queued."""
        start = time.monotonic()
        deadline = start + seconds
        while sent_until is not None and self.sent(sent_until[0]) < sent_until[1]:
            if time.monotonic() >= deadline:
                raise BenchError(f"batch {batch_id}: fewer than {sent_until[1]} {sent_until[0]} sent after {seconds} s")
            time.sleep(0.02)
        while time.monotonic() < deadline:
            value = self.must("GET", f"/v1/accounts/{account}/verification-batches/{batch_id}")
            if value["counts"]["queued"] == 0:
                return time.monotonic() - start, value
            time.sleep(0.02)
        raise BenchError(f"batch {batch_id} still had queued items after {seconds} s")

    def batch_items(self, account, batch_id):
        items, cursor = [], None
        while True:
            query = "?limit=500" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            page = self.must("GET", f"/v1/accounts/{account}/verification-batches/{batch_id}/items{query}")
            items += page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                return items

    def sms_file_lines(self):
        path = self.data / "outbox" / "sms.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def wait_sms_lines(self, count, seconds=300):
        wait_until(lambda: len(self.sms_file_lines()) >= count, f"{count} SMS in {self.name}'s sms.jsonl", seconds, 0.2)
        return self.sms_file_lines()

    def cpu_seconds(self):
        """User + system CPU time the service used so far."""
        return cpu_ticks(self.process.pid) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self):
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


# MARK: - Samplers


class Sampler(threading.Thread):
    """Calls `sample` every `interval` seconds until stopped; keeps the results."""

    def __init__(self, sample, interval):
        super().__init__(daemon=True)
        self.sample, self.interval = sample, interval
        self.values = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            started = time.monotonic()
            value = self.sample()
            if value is not None:
                self.values.append(value)
            self.halt.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self):
        self.halt.set()
        self.join()
        return self.values


def healthz_probe(port):
    """A sampler of /healthz latency in milliseconds on one keep-alive connection."""
    state = {"connection": None}

    def sample():
        try:
            if state["connection"] is None:
                state["connection"] = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            started = time.perf_counter()
            state["connection"].request("GET", "/healthz")
            response = state["connection"].getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            return elapsed if response.status == 200 else None
        except (OSError, http.client.HTTPException):
            state["connection"] = None
            return None

    return Sampler(sample, 0.01)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


# MARK: - wrk


def wrk(bench, url, seconds, connections, script=None, lines=None, env=None):
    """Runs wrk on 2 threads; with a script of bench/wrk, returns its BENCH summary, else
    {"per_second", "non_2xx", "requests"} from wrk's own report."""
    argv = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "20s", "--latency"]
    environment = dict(os.environ, BENCH_LUA_DIR=str(LUA_DIR), BENCH_THREADS="2", **(env or {}))
    if script:
        argv += ["-s", str(LUA_DIR / script)]
        environment["BENCH_LINES"] = str(lines)
    argv.append(url)
    output = subprocess.run(argv, capture_output=True, text=True, env=environment, timeout=seconds + 120)
    if output.returncode != 0:
        raise BenchError(f"wrk failed: {output.stderr.strip()}\n{output.stdout}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output.stdout)
    if script:
        match = re.search(r"^BENCH (\{.*\})$", output.stdout, re.M)
        if not match:
            raise BenchError(f"wrk printed no BENCH line:\n{output.stdout}\n{output.stderr}")
        summary = json.loads(match.group(1))
    else:
        rate = re.search(r"Requests/sec:\s+([\d.]+)", output.stdout)
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output.stdout)
        requests = re.search(r"(\d+) requests in", output.stdout)
        summary = {"per_second": float(rate.group(1)), "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
                   "requests": int(requests.group(1))}
    summary["socket_errors"] = sum(int(n) for n in errors.groups()) if errors else 0
    return summary


# MARK: - The bench


class Bench:
    def __init__(self, options):
        self.quick = options.quick
        self.binary = str(options.binary)
        self.hello = str(options.hello)
        self.argon2 = str(options.argon2)
        self.kannel_preload = str(options.kannel_preload.resolve())
        self.cores = os.cpu_count() or 1
        self.work = Path(tempfile.mkdtemp(prefix="cv-bench-"))
        os.chmod(self.work, 0o755)
        self.processes = Processes(self.work)
        self.next_contact = 0
        self.rows = []
        self.problems = []
        self.details = {}
        self.rss = []

    def size(self, name):
        return SIZES[name][0 if self.quick else 1]

    def row(self, figure, meaning, measured, unit, limit=None, limit_unit=None, ratio=None, goal=None, passed=None,
            notes=""):
        self.rows.append({"figure": figure, "meaning": meaning, "measured": measured, "unit": unit, "limit": limit,
                          "limit_unit": limit_unit, "ratio": ratio, "goal": goal, "pass": passed, "notes": notes})
        shown = f"{measured:.4g} {unit}" + (f" vs {limit:.4g} {limit_unit}" if limit is not None else "")
        print(f"    {figure}: {shown}" + (f" ratio {ratio:.3f}" if ratio is not None else "") +
              (f" goal {goal}: {'pass' if passed else 'FAIL'}" if goal else ""), flush=True)

    def step(self, text):
        print(f"==> {text}", flush=True)

    # MARK: The disk

    def fsync_limit(self):
        """Single-row commits per second into a WAL database with synchronous=FULL, on the disk the services use."""
        self.step("fsync limit: single commits into SQLite (WAL, synchronous=FULL)")
        path = self.work / "fsync.sqlite"
        database = sqlite3.connect(path, isolation_level=None)
        database.execute("PRAGMA journal_mode=WAL")
        database.execute("PRAGMA synchronous=FULL")
        database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        for n in range(5):  # warm-up
            database.execute("INSERT INTO t (v) VALUES (?)", ("warm",))
        count = self.size("fsync_commits")
        started = time.perf_counter()
        for n in range(count):
            database.execute("INSERT INTO t (v) VALUES (?)", (str(n),))
        rate = count / (time.perf_counter() - started)
        database.close()
        self.fsync_rate = rate
        self.row("fsync", "durable single-row commits per second on this disk (SQLite WAL, synchronous=FULL)",
                 rate, "commits/s", notes="the ceiling without group commit")

    # MARK: P1, P5, P6 (first half)

    def p1(self):
        self.step("P1/P5/P6: code checks through the API vs raw argon2id")
        service = Service(self, "p1")
        service.account("p1")
        seconds, connections = self.size("p1_seconds"), self.size("p1_connections")
        count = self.size("p1_verifications")
        warm = max(10, count // 10)
        contacts = service.contacts("p1", count + warm)
        headers = service.auth()

        def start(contact_id):
            async def send(client):
                for _ in range(600):  # the hashing queue answers 503 when full: try again
                    status, data = await client.request(
                        "POST", f"/v1/accounts/p1/contacts/{contact_id}/verifications", '{"channel":"sms"}', headers)
                    if status == 202:
                        return json.loads(data)["id"]
                    if status != 503:
                        raise BenchError(f"starting a verification -> {status} {data[:200]!r}")
                    await asyncio.sleep(0.05)
                raise BenchError("the hashing queue stayed full")
            return send

        ids = run_concurrently(service.port, [start(c[0]) for c in contacts], 2 * self.cores)
        lines = service.wait_sms_lines(len(contacts))
        code_of = {}
        for line in lines:
            match = re.search(r"\b(\d{4,10})\b", line["text"])
            code_of[line["to"]] = match.group(1)
        checks = []
        for (contact, verification) in zip(contacts, ids):
            code = code_of[contact[1]]
            modulus = 10 ** len(code)
            wrong = [f"{(int(code) + k) % modulus:0{len(code)}d}" for k in (1, 2, 3, 4)]
            checks.append((verification, wrong + [code]))  # 5 checks, each one argon2id
        # Rounds across verifications, so that concurrent requests rarely share one.
        def requests(subset):
            return [("POST", f"/v1/accounts/p1/verifications/{verification}/check", json.dumps({"code": codes[round_]}),
                     headers) for round_ in range(5) for verification, codes in subset]
        load(service.port, requests(checks[:warm]), connections, self.size("warmup_seconds"))

        # The limit: raw argon2id with the parameters of a stored hash, on as many threads as the
        # hashing pool has; half before and half after the API run, so that drift in the
        # machine's load weighs on both sides alike.
        database = sqlite3.connect(f"file:{service.data / 'contact-verify.sqlite'}?mode=ro", uri=True)
        phc = database.execute("SELECT code_hash FROM verifications WHERE code_hash IS NOT NULL LIMIT 1").fetchone()[0]
        database.close()
        m, t, p = re.search(r"\$m=(\d+),t=(\d+),p=(\d+)\$", phc).groups()
        first_half = self.raw_argon2(m, t, p, seconds / 2)

        probe = healthz_probe(service.port)
        memory = Sampler(service.rss_mib, 0.05)
        probe.start()
        memory.start()
        cpu_before = service.cpu_seconds()
        summary = load(service.port, requests(checks[warm:]), connections, seconds)
        service_cpu = service.cpu_seconds() - cpu_before
        latencies = probe.stop()
        self.rss += memory.stop()
        statuses = summary["statuses"]
        hashed = statuses.get("200", 0) + statuses.get("422", 0)
        rate = hashed / summary["seconds"] if summary["seconds"] else 0.0
        self.details["p1_load"] = summary

        self.processes.stop(service.process)
        halves = [first_half, self.raw_argon2(m, t, p, seconds / 2)]
        raw_rate = sum(h["hashes"] for h in halves) / sum(h["seconds"] for h in halves)
        raw_cpu = statistics.mean(h["cpu_seconds_per_hash"] for h in halves)
        self.details["p1_argon2"] = halves
        # Per core-second of CPU time on both sides: on a machine shared with other work the
        # scheduler hands out cores unevenly from one second to the next, but a check's cost in
        # CPU time does not change. On an idle machine both sides fill every core, and this is
        # the same ratio as the wall-clock one in the notes.
        per_core = hashed / service_cpu if service_cpu else 0.0
        raw_per_core = 1 / raw_cpu
        ratio = per_core / raw_per_core
        notes = (f"{connections} connections, 4 wrong codes and the right one per verification (200 "
                 f"{statuses.get('200', 0)}, 422 {statuses.get('422', 0)}, 503 {statuses.get('503', 0)} retried "
                 f"after Retry-After); argon2id m={m} t={t} p={p} on {self.cores} threads; wall clock: "
                 f"{rate:.1f} checks/s vs {raw_rate:.1f} hashes/s")
        if summary["exhausted"]:
            self.problems.append(f"P1: ran out of prepared checks ({statuses}); prepare more verifications")
        self.row("P1", "code checks per core-second of the service's CPU time ÷ raw argon2id hashes per core-second",
                 per_core, "checks/core-s", raw_per_core, "hashes/core-s", ratio, "≥ 0.85", ratio >= 0.85, notes)
        p99 = percentile(latencies, 0.99)
        self.details["p5_samples"] = len(latencies)
        self.row("P5", "/healthz p99 latency while P1 saturates the argon2 pool", p99, "ms", goal="≤ 20 ms",
                 passed=p99 <= 20, notes=f"{len(latencies)} probes, median {percentile(latencies, 0.5):.2f} ms")

    def raw_argon2(self, m, t, p, seconds):
        # A session of its own, like the service: with the kernel's autogroup scheduling each
        # session gets a fair share of a busy machine, so both sides compete on equal terms.
        return json.loads(subprocess.run([self.argon2, m, t, p, str(self.cores), str(seconds)], check=True,
                                         capture_output=True, text=True, start_new_session=True).stdout)

    # MARK: P2

    def link_tokens(self, service, account, count):
        """`count` fresh link tokens: contacts, link batches by email, tokens read from the emails
        smtp-sink received (a delivery path quick enough not to dominate the setup)."""
        service.account(account)
        contacts = service.contacts(account, count)
        before = set(self.sink_dir.iterdir())
        for chunk in range(0, count, 10_000):
            batch = service.batch(account, [c[0] for c in contacts[chunk:chunk + 10_000]], "email")
            service.wait_batch(account, batch)
        addresses = {c[2] for c in contacts}
        tokens = {}
        for path in set(self.sink_dir.iterdir()) - before:
            message = email.message_from_bytes(path.read_bytes())
            if email.utils.parseaddr(message["To"])[1] not in addresses:
                continue
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    match = re.search(r"/verify/([A-Za-z0-9_-]+)", part.get_payload(decode=True).decode())
                    tokens[match.group(1)] = True
        if len(tokens) != count:
            raise BenchError(f"expected {count} distinct link tokens at the sink, found {len(tokens)}")
        return list(tokens)

    def confirm_rate(self, service, tokens, label, database_url=None):
        """Confirmations per second and wrk's summary, which also gets what a confirmation
        cost over the measured seconds: the service's CPU time and, on PostgreSQL
        (`database_url`), the cluster's CPU time and WAL. On a machine whose speed drifts,
        these move less than the rate does (`costs` in the row; bench/compare.py shows them)."""
        warm = max(64, len(tokens) // 15)
        (self.work / f"{label}-warm.txt").write_text("\n".join(tokens[:warm]) + "\n")
        (self.work / f"{label}.txt").write_text("\n".join(tokens[warm:]) + "\n")
        connections = self.size("p2_connections")
        wrk(self, service.base, self.size("warmup_seconds"), connections, "confirm.lua", self.work / f"{label}-warm.txt")
        before = (service.cpu_seconds(), self.postgres_cpu_seconds(), wal_bytes(database_url))
        summary = wrk(self, service.base, self.size("p2_seconds"), connections, "confirm.lua", self.work / f"{label}.txt")
        after = (service.cpu_seconds(), self.postgres_cpu_seconds(), wal_bytes(database_url))
        confirmed = summary["statuses"].get("200", 0)
        if confirmed:
            summary["service_cpu_ms"] = (after[0] - before[0]) * 1000 / confirmed
            if database_url:
                summary["postgres_cpu_ms"] = (after[1] - before[1]) * 1000 / confirmed
                summary["wal_bytes"] = (after[2] - before[2]) / confirmed
        self.details[f"{label}_wrk"] = summary
        if confirmed != summary["responses"]:
            self.problems.append(f"{label}: not every distinct token confirmed: {summary['statuses']}")
        return confirmed / summary["seconds"] if summary["seconds"] else 0.0, summary

    def postgres_cpu_seconds(self):
        """User + system CPU time of the bench's PostgreSQL cluster so far: the postmaster's
        own, its ended children's (counted into its own once reaped) and its living children's
        (the service's backends among them); 0 when none runs."""
        if not getattr(self, "pg_dir", None):
            return 0.0
        postmaster = int((self.pg_dir / "data" / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        ticks = cpu_ticks(postmaster, reaped_children=True) + sum(cpu_ticks(child) for child in children)
        return ticks / os.sysconf("SC_CLK_TCK")

    def start_hello(self, name):
        """Starts the Hummingbird hello-world; returns (process, its /hello URL)."""
        port = free_port()
        process = self.processes.start(name, [self.hello, str(port)])
        wait_until(lambda: accepts(port), f"bench-hello ({name})")
        return process, f"http://127.0.0.1:{port}/hello"

    def limit_rate(self, url, connections, seconds, detail, refusal):
        """A limit: wrk against `url` after a warm-up; every answer must be 2xx (else
        BenchError: `refusal` with the count). Keeps wrk's summary as details[detail]."""
        wrk(self, url, self.size("warmup_seconds"), connections)
        summary = wrk(self, url, seconds, connections)
        if summary["non_2xx"]:
            raise BenchError(f"{refusal}: {summary['non_2xx']} non-2xx responses")
        self.details[detail] = summary
        return summary["per_second"]

    def hello_rate(self, detail, when):
        """One measurement of P2's limit (`when`: "before" or "after" a store's confirmations).
        This machine's hello-world rate moves by a third within minutes (a fifth between two
        runs a minute apart), so each store's limit is the mean of one measurement right before
        its confirmations and one right after: a drift across the confirmations cancels."""
        self.step(f"P2 limit: Hummingbird hello-world JSON, {when} the confirmations")
        process, url = self.start_hello(detail.removesuffix("_wrk"))
        rate = self.limit_rate(url, self.size("p2_connections"), self.size("p2_seconds"), detail,
                               "the hello-world refused requests")
        self.processes.stop(process)
        return rate

    def p2(self):
        count = self.size("p2_tokens")
        connections = self.size("p2_connections")

        def report(label, rate, summary, store, hellos):
            hello = statistics.mean(hellos)
            ratio = rate / hello
            notes = (f"{store}; {connections} connections, distinct tokens; p99 {summary['p99_ms']:.1f} ms; "
                     f"hello-world {hellos[0]:,.0f}/s before, {hellos[1]:,.0f}/s after")
            # What one confirmation cost (confirm_rate): name in the JSON, wording in the notes.
            measured = [(name, summary[key], shown) for key, name, shown in (
                ("service_cpu_ms", "service CPU ms", "the service {:.3f} ms of CPU"),
                ("postgres_cpu_ms", "PostgreSQL CPU ms", "PostgreSQL {:.3f} ms"),
                ("wal_bytes", "WAL bytes", "{:,.0f} bytes of WAL")) if key in summary]
            costs = {name: value for name, value, _ in measured}
            if measured:
                notes += "; a confirmation cost " + ", ".join(shown.format(value) for _, value, shown in measured)
            if summary["exhausted"]:
                notes += "; ran out of tokens before the end (the rate is still exact)"
            self.row(label, "link confirmations per second ÷ hello-world JSON requests per second", rate, "confirms/s",
                     hello, "req/s", ratio, "≥ 0.15", ratio >= 0.15, notes)
            self.rows[-1]["costs"] = costs

        def measure(service, tokens, label, hello, database_url=None):
            """The confirmations between two measurements of the limit (details `{hello}_wrk`
            and `{hello}_after_wrk`); the service is stopped before the second."""
            before = self.hello_rate(f"{hello}_wrk", "before")
            rate, summary = self.confirm_rate(service, tokens, label, database_url)
            self.processes.stop(service.process)
            after = self.hello_rate(f"{hello}_after_wrk", "after")
            return rate, summary, (before, after)

        self.step("P2: link confirmations on SQLite (synchronous=FULL)")
        service = Service(self, "p2-sqlite", self.sink_arguments())
        tokens = self.link_tokens(service, "p2", count)
        rate, summary, hellos = measure(service, tokens, "p2-sqlite", "hello")
        report("P2 SQLite", rate, summary, "SQLite synchronous=FULL", hellos)

        self.step("P2: link confirmations on PostgreSQL (fsync=on)")
        pg_dir = self.work / "pg"
        url = subprocess.run([str(ROOT / "scripts/servers/postgres_cluster"), str(pg_dir), str(free_port()),
                              str(os.getpid()), "durable"], check=True, capture_output=True, text=True).stdout.strip()
        url += "?sslmode=disable"  # loopback
        self.pg_dir = pg_dir
        settings = psql(url, "SELECT current_setting('fsync') || ',' || current_setting('synchronous_commit')")
        if settings != "on,on":
            raise BenchError(f"PostgreSQL is not durable: fsync,synchronous_commit = {settings}")
        service = Service(self, "p2-postgres", ["--database-pool-size", "20"] + self.sink_arguments(),
                          database_url=url)
        tokens = self.link_tokens(service, "p2pg", count)
        self.settle_postgres(url)
        rate, summary, hellos = measure(service, tokens, "p2-postgres", "hello_postgres", url)
        self.stop_postgres()
        report("P2 PostgreSQL", rate, summary, "PostgreSQL fsync=on, synchronous_commit=on", hellos)

    def settle_postgres(self, url):
        """Analyses and vacuums what the set-up just wrote, as autovacuum would within its next
        minute: its first pass over tables that grew from nothing (ANALYZE sorts samples of
        every column) otherwise lands at random in the hello-world's or the confirmations'
        seconds, taking a core from either (a quarter of PostgreSQL's CPU time in one profile)."""
        self.step("P2: VACUUM ANALYZE of the set-up's rows")
        started = time.monotonic()
        psql(url, "VACUUM (ANALYZE)")
        self.details["postgres_settle_seconds"] = round(time.monotonic() - started, 2)

    def stop_postgres(self):
        if getattr(self, "pg_dir", None):
            binary = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
            subprocess.run(["runuser", "-u", "postgres", "--", str(binary), "-D", str(self.pg_dir / "data"), "-m",
                            "fast", "stop"], capture_output=True)
            self.pg_dir = None

    # MARK: P3, P4, P6 (second half), P7

    def start_kannel(self):
        directory = self.work / "kannel"
        directory.mkdir()
        ports = {name: free_port() for name in ("ADMIN_PORT", "BOX_PORT", "SENDSMS_PORT", "SMSC_PORT")}
        values = dict(ports, ADMIN_PASSWORD=KANNEL_ADMIN_PASSWORD, DIR=str(directory), USERNAME=KANNEL_USER,
                      PASSWORD=KANNEL_PASSWORD)
        text = (ROOT / "scripts/servers/kannel.conf.in").read_text()
        for name, value in values.items():
            text = text.replace(f"@{name}@", str(value))
        (directory / "kannel.conf").write_text(text)
        # Nagle off in Kannel's own sockets (bench/kannel_nodelay.c says why).
        env = dict(os.environ, LD_PRELOAD=self.kannel_preload)
        bearer = self.processes.start("bearerbox", ["/usr/sbin/bearerbox", "-p", str(directory / "bearerbox.pid"),
                                                    str(directory / "kannel.conf")], env=env, cwd=directory)
        wait_until(lambda: bearer.poll() is None and accepts(ports["ADMIN_PORT"]) and accepts(ports["SMSC_PORT"]),
                   "bearerbox's ports")
        self.processes.start("fakesmsc", ["/usr/lib/kannel/test/fakesmsc", "-H", "127.0.0.1", "-r",
                                          str(ports["SMSC_PORT"]), "-m", "0", "-v", "0", "-D", "receive",
                                          "100 200 text unused"], cwd=directory)
        self.processes.start("smsbox", ["/usr/sbin/smsbox", "-p", str(directory / "smsbox.pid"),
                                        str(directory / "kannel.conf")], env=env, cwd=directory)
        wait_until(lambda: accepts(ports["SENDSMS_PORT"]), "smsbox's sendsms port")

        def online():
            try:
                connection = http.client.HTTPConnection("127.0.0.1", ports["ADMIN_PORT"], timeout=2)
                connection.request("GET", f"/status.txt?password={KANNEL_ADMIN_PASSWORD}")
                status = connection.getresponse().read().decode(errors="replace")
                return any("fake" in line and "online" in line for line in status.splitlines())
            except OSError:
                return False
        wait_until(online, "the fake SMSC online")
        self.sendsms = f"http://127.0.0.1:{ports['SENDSMS_PORT']}/cgi-bin/sendsms"

    def kannel_rate_with_reports(self, url):
        """Kannel's sendsms accept rate for requests shaped like the service's: each asks for the
        final delivery reports (dlr-mask 19) at a URL that answers at once (the hello-world).
        Not the limit of P3 (the issue defines that as plain sendsms), shown beside it."""
        hello, hello_url = self.start_hello("hello-dlr")
        report = urllib.parse.quote(f"{hello_url}?status=%d", safe="")
        rate = self.limit_rate(f"{url}&charset=UTF-8&dlr-mask=19&dlr-url={report}", self.size("gateway_connections"),
                               self.size("gateway_seconds"), "kannel_dlr_wrk",
                               "Kannel refused sendsms requests with delivery reports")
        self.processes.stop(hello)
        return rate

    def fakesmsc_received(self):
        """(receiver, text) of every message the fake SMSC logged."""
        pattern = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>$")
        received = []
        for line in (self.work / "fakesmsc.log").read_text(errors="replace").splitlines():
            match = pattern.search(line)
            if match:
                received.append((match.group(2), match.group(4)))
        return received

    def start_sink(self):
        # smtp-sink writes every message to a file, which the checks read. On a disk with ext4
        # mounted without a journal (this machine's), creating a file skips every inode freed in
        # the last minutes (ext4's `recently_deleted`): the sink's CPU a message then followed how
        # many files the previous run had just removed, and P4 and its limit (both through the
        # sink) moved two- to threefold between runs (docs/performance.md, "2026-12-07, late").
        # A memory file system has no such history.
        self.sink_dir = Path(tempfile.mkdtemp(prefix="cv-bench-sink-", dir=memory_folder() or self.work))
        os.chmod(self.sink_dir, 0o755)
        shutil.chown(self.sink_dir, "nobody")
        self.details["sink_folder"] = str(self.sink_dir)
        self.sink_port = free_port()
        self.processes.start("smtp-sink", ["/usr/sbin/smtp-sink", "-u", "nobody", "-a", "-c", "-d",
                                           f"{self.sink_dir}/%Y%m%d%H%M%S.", f"127.0.0.1:{self.sink_port}", "256"])
        wait_until(lambda: accepts(self.sink_port), "smtp-sink")

    def sink_arguments(self):
        return ["--smtp-url", f"smtp://127.0.0.1:{self.sink_port}", "--smtp-tls", "none",
                "--smtp-connections", str(self.size("gateway_connections"))]

    def gateways(self):
        self.step("P3/P4/P6/P7: batches through Kannel + fakesmsc and smtp-sink")
        self.start_kannel()
        connections = self.size("gateway_connections")
        service = Service(self, "gateways", [
            "--sms-provider", "kannel", "--sms-url", self.sendsms, "--sms-username", KANNEL_USER,
            "--sms-password", KANNEL_PASSWORD, "--sms-from", "12345", "--sms-connections", str(connections)]
            + self.sink_arguments())
        big_count, small_count = self.size("big_account"), self.size("p7_small_account")
        p4_count, p4_rounds = self.size("p4_batch"), self.size("p4_rounds")
        self.step(f"creating {big_count} + {small_count} + {p4_rounds} × {p4_count} contacts")
        for account in ("big", "small", "mail"):
            service.account(account)
        started = time.monotonic()
        big = service.contacts("big", big_count)
        service.contacts("small", small_count)
        mail = service.contacts("mail", p4_count * p4_rounds)
        self.details["contacts_per_second"] = (big_count + small_count + p4_count * p4_rounds) / (time.monotonic() - started)

        # Warm-up: a few messages of each kind.
        warm = big[-20:]
        service.wait_batch("big", service.batch("big", [c[0] for c in warm[:10]], "sms"))
        service.wait_batch("big", service.batch("big", [c[0] for c in warm[10:]], "email"))

        # P3: the large SMS link batch, from the POST to the last message accepted by Kannel.
        p3_count = self.size("p3_batch")
        self.step(f"P3: a {p3_count}-contact SMS link batch")
        p3_contacts = big[:p3_count]
        memory = Sampler(service.rss_mib, 0.05)
        memory.start()
        p3_seconds, batch, finished = service.timed_batch("big", p3_contacts, "sms")
        self.rss += memory.stop()
        self.check_exactly_once(service, batch, finished, p3_contacts)

        # P7: a batch a tenth the size, on the same service.
        p7_count = self.size("p7_small_batch")
        p7_contacts = big[p3_count:p3_count + p7_count]
        p7_seconds, _, _ = service.timed_batch("big", p7_contacts, "sms")

        # The limit of P3: Kannel's own accept rate, to a number no contact has.
        url = (f"{self.sendsms}?username={KANNEL_USER}&password={KANNEL_PASSWORD}&to=%2B15550000000"
               "&text=bench+message")
        kannel = self.limit_rate(url, connections, self.size("gateway_seconds"), "kannel_wrk", "Kannel refused sendsms requests")
        p3_rate = p3_count / p3_seconds
        ratio = p3_rate / kannel
        self.row("P3", f"SMS of a {p3_count}-contact link batch per second (POST to last accepted) ÷ Kannel's sendsms "
                 "accept rate", p3_rate, "msg/s", kannel, "req/s", ratio, "≥ 0.5", ratio >= 0.5,
                 f"{connections} connections each; fakesmsc got each SMS exactly once; {p3_seconds:.2f} s")
        p3_row = self.rows[-1]

        # P4: link emails to smtp-sink, against smtp-source to the same sink. A batch of 1,000
        # lasts about a third of a second here, so one of each read whatever the shared machine
        # did in that moment: each side runs `p4_rounds` times, taking turns, and the medians count.
        self.step(f"P4: {p4_rounds} × {p4_count} link emails to smtp-sink, each followed by smtp-source")
        messages = self.size("smtp_source_messages")
        seconds, source_rates = [], []
        for n in range(p4_rounds):
            contacts = mail[n * p4_count:(n + 1) * p4_count]
            before = set(self.sink_dir.iterdir())
            elapsed, _, finished = service.timed_batch("mail", contacts, "email")
            seconds.append(elapsed)
            files = [path for path in self.sink_dir.iterdir() if path not in before]
            self.check_emails(files, contacts, finished)
            size = int(statistics.mean(path.stat().st_size for path in files))
            started = time.monotonic()
            subprocess.run(["/usr/sbin/smtp-source", "-s", str(connections), "-m", str(messages), "-l", str(size),
                            "-f", "bench@example.com", "-t", "sink@example.com", f"127.0.0.1:{self.sink_port}"],
                           check=True, capture_output=True, timeout=600)
            source_rates.append(messages / (time.monotonic() - started))
        p4_rate, source_rate = p4_count / statistics.median(seconds), statistics.median(source_rates)
        ratio = p4_rate / source_rate
        self.row("P4", f"link emails of a {p4_count}-contact batch per second ÷ smtp-source to the same sink "
                 f"(medians of {p4_rounds})", p4_rate, "msg/s", source_rate, "msg/s", ratio, "≥ 0.3", ratio >= 0.3,
                 f"{connections} SMTP connections each, {size}-byte messages; batches "
                 + ", ".join(f"{s:.2f} s" for s in seconds) + "; smtp-source "
                 + ", ".join(f"{r:.0f}/s" for r in source_rates))

        # P7: list pages with many contacts and with few.
        requests = self.size("list_requests")
        ratios = []
        page = min(100, small_count)  # the same page size on both accounts
        for query in (f"?limit={page}", f"?channel=phone&status=verified&limit={page}"):
            latency = {}
            for account in ("big", "small"):
                samples = []
                for _ in range(3):
                    service.must("GET", f"/v1/accounts/{account}/contacts{query}")
                for _ in range(requests):
                    started = time.perf_counter()
                    service.must("GET", f"/v1/accounts/{account}/contacts{query}")
                    samples.append((time.perf_counter() - started) * 1000)
                latency[account] = statistics.median(samples)
            ratios.append((latency["big"] / latency["small"], query, latency))
        self.details["p7_list"] = [{"query": q, "big_ms": l["big"], "small_ms": l["small"], "ratio": r} for r, q, l in ratios]
        self.processes.stop(service.process)
        # Last: Kannel keeps calling back (and retrying) the delivery reports of this step for a
        # while after it, which would load the machine under any figure measured later.
        with_reports = self.kannel_rate_with_reports(url)
        p3_row["notes"] += f"; Kannel accepts {with_reports:.0f} req/s when each asks for delivery reports, as the service's do"

        batch_ratio = p3_seconds / p7_seconds
        self.row("P7 batch", f"time of a {p3_count} batch ÷ time of a {p7_count} batch", batch_ratio, "×", ratio=batch_ratio,
                 goal="≤ 11", passed=batch_ratio <= 11, notes=f"{p3_seconds:.2f} s ÷ {p7_seconds:.2f} s")
        worst = max(ratios)
        self.row("P7 list", f"list-page latency with {big_count} contacts ÷ with {small_count}", worst[0], "×",
                 ratio=worst[0], goal="≤ 1.5", passed=worst[0] <= 1.5,
                 notes="; ".join(f"{q}: {l['big']:.2f} ms ÷ {l['small']:.2f} ms" for _, q, l in ratios))
        peak = max(self.rss) if self.rss else float("nan")
        self.row("P6", "peak resident memory of the service during P1 and P3", peak, "MiB", goal="≤ 200 MiB",
                 passed=peak <= 200, notes="VmRSS sampled every 50 ms")

    def check_exactly_once(self, service, batch, finished, contacts):
        """Every contact of the batch got exactly one SMS at the fake SMSC, and the batch says the same."""
        phones = {c[1] for c in contacts}
        count = len(contacts)

        def mine():
            return [(to, text) for to, text in self.fakesmsc_received() if to in phones]
        try:
            wait_until(lambda: len(mine()) >= count, f"{count} SMS at the fake SMSC", 300, 0.2)
        except BenchError as error:
            self.problems.append(f"P3: {error} (got {len(mine())})")
        received = mine()
        seen = {}
        for to, _ in received:
            seen[to] = seen.get(to, 0) + 1
        duplicates = sorted(to for to, n in seen.items() if n > 1)
        missing = sorted(phones - seen.keys())
        if duplicates or missing:
            self.problems.append(f"P3: the fake SMSC got {len(duplicates)} numbers more than once "
                                 f"({duplicates[:3]}) and missed {len(missing)} ({missing[:3]})")
        counts = finished["counts"]
        if counts["sent"] != len(received) or finished["total"] != count or counts["failed"] or counts["skipped"]:
            self.problems.append(f"P3: the batch's counts {counts} (total {finished['total']}) do not match the "
                                 f"{len(received)} SMS the fake SMSC got")
        items = service.batch_items("big", batch)
        outcomes = {}
        for item in items:
            outcomes[item["outcome"]] = outcomes.get(item["outcome"], 0) + 1
        if len(items) != count or {i["contactId"] for i in items} != {c[0] for c in contacts} or \
                outcomes.get("sent", 0) != len(received):
            self.problems.append(f"P3: the batch's items ({len(items)}, outcomes {outcomes}) do not match the "
                                 f"{len(received)} SMS the fake SMSC got")
        self.details["p3_check"] = {"received": len(received), "distinct": len(seen), "duplicates": len(duplicates),
                                    "missing": len(missing), "counts": counts, "item_outcomes": outcomes}

    def check_emails(self, files, contacts, finished):
        """Every contact got exactly one email at the sink."""
        wanted = {c[2] for c in contacts}
        seen = {}
        for path in files:
            address = email.utils.parseaddr(email.message_from_bytes(path.read_bytes())["To"])[1]
            seen[address] = seen.get(address, 0) + 1
        if set(seen) != wanted or any(n != 1 for n in seen.values()) or finished["counts"]["sent"] != len(wanted):
            self.problems.append(f"P4: smtp-sink got {len(files)} messages for {len(seen)} addresses; expected one each "
                                 f"for {len(wanted)}; batch counts {finished['counts']}")

    # MARK: Output

    def machine(self):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), platform.processor())
        memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        return {"cpu": cpu, "cores": self.cores, "memory_gib": round(memory / 1024 / 1024, 1),
                "kernel": platform.release(), "load_at_start": os.getloadavg()[0]}

    def table(self):
        header = ["figure", "measured", "limit (same run)", "ratio", "goal", "result"]
        rows = []
        for r in self.rows:
            rows.append([r["figure"], f"{r['measured']:,.1f} {r['unit']}" if r["unit"] != "×" else f"{r['measured']:.2f}",
                         f"{r['limit']:,.1f} {r['limit_unit']}" if r["limit"] is not None else "–",
                         f"{r['ratio']:.3f}" if r["ratio"] is not None and r["unit"] != "×" else "–",
                         r["goal"] or "–", "–" if r["pass"] is None else ("pass" if r["pass"] else "FAIL")])
        widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
        lines = ["| " + " | ".join(str(x).ljust(w) for x, w in zip(row, widths)) + " |" for row in [header] + rows]
        lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of every figure")
    parser.add_argument("--binary", type=Path, required=True)
    parser.add_argument("--hello", type=Path, required=True)
    parser.add_argument("--argon2", type=Path, required=True)
    parser.add_argument("--kannel-preload", type=Path, required=True, help="bench/kannel_nodelay.c, built")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, databases) and the sink's messages")
    parser.add_argument("--only", choices=["p1", "p2", "gateways"], action="append",
                        help="run only these parts (P1/P5; P2; P3/P4/P6/P7), e.g. to compare two builds")
    options = parser.parse_args()
    bench = Bench(options)
    print(f"bench: {'quick smoke run' if bench.quick else 'full run'} in {bench.work}", flush=True)
    started = time.monotonic()
    failure = None
    try:
        bench.fsync_limit()
        bench.start_sink()
        for part in ("p1", "p2", "gateways"):
            if not options.only or part in options.only:
                getattr(bench, part)()
    except (BenchError, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        failure = error
        detail = getattr(error, "stderr", None)
        print(f"bench: {error}" + (f"\n{detail}" if detail else ""), file=sys.stderr)
        for process in bench.processes.children:
            if process.poll() is not None and process.returncode not in (0, -9, -15):
                print(f"--- {process.bench_name} exited {process.returncode}:\n"
                      f"{bench.processes.log_tail(process.bench_name)}", file=sys.stderr)
    finally:
        bench.processes.stop_all()
        bench.stop_postgres()
        if not options.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
            if getattr(bench, "sink_dir", None):
                shutil.rmtree(bench.sink_dir, ignore_errors=True)
    result = {"mode": "quick" if bench.quick else "full", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "seconds": round(time.monotonic() - started, 1), "machine": bench.machine(),
              "durability": "SQLite synchronous=FULL (WAL); PostgreSQL fsync=on, synchronous_commit=on",
              "figures": bench.rows, "problems": bench.problems, "details": bench.details,
              "error": str(failure) if failure else None}
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(f"Durability: {result['durability']}. Machine: {result['machine']['cpu']}, {bench.cores} cores.")
    print(bench.table())
    print(f"(JSON: {options.output}; {result['seconds']} s)")
    for problem in bench.problems:
        print(f"bench: check failed: {problem}", file=sys.stderr)
    if failure or bench.problems:
        return 1
    missed = [r["figure"] for r in bench.rows if r["pass"] is False]
    if missed and not bench.quick:
        print(f"bench: goals missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    if missed:
        print(f"bench: quick run, goals not judged on tiny sizes (missed here: {', '.join(missed)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
