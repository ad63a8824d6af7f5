"""A schemathesis check: no response body carries a secret (security.md INV-S).

scripts/schemathesis loads this file through SCHEMATHESIS_HOOKS and names the check in
`--checks`. It needs CV_OUTBOX (the service's `<data>/outbox`), CV_BASE_URL and CV_ADMIN_KEY.
A response fails the check when its body holds:
  - a verification code or link token the service delivered (read from the file outbox),
    unless the request itself carried it (echoing what the caller sent leaks nothing);
  - a string shaped like an API key (`cvk_…`) that the request did not carry, except the
    `key` of `201` from `createAccountKey`, the one place a new key is shown;
  - a `code` member holding 4–10 digits, or a `token` member holding a token-like string;
  - the value of a write-only secret the request sent (`callbackSecret`, a webhook's `secret`).

A code is delivered after the response that created it, so `after_response` can only see
secrets already written. `after_run` therefore waits until the worker has tried every
verification the run saw once, then checks every body of the run again against the full
outbox. `--checks` must list `no_secret_in_response_body`.

It also loads the hooks that give sequences real data (scripts/schemathesis_sequences.py).
"""

import os
import re
import sys
import time

import requests
import schemathesis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schemathesis_sequences  # noqa: E402,F401 (registers its hooks)
from outbox_secrets import DIGIT_RUN  # noqa: E402
from schemathesis_sequences import OUTBOX, parse_json  # noqa: E402

API_KEY = re.compile(r"cvk_[A-Za-z0-9_-]{16,}")
# RFC 3339 timestamps hold 4-digit runs (the year) that are never codes.
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z")
TOKEN_LIKE = re.compile(r"^[A-Za-z0-9_-]{20,}$")
WRITE_ONLY_MEMBERS = {"callbackSecret", "secret"}
DRAIN_SECONDS = 60


def json_leaves(value, key=None):
    """(member name, string) for every string in a JSON value."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from json_leaves(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from json_leaves(item, key)
    elif isinstance(value, str):
        yield key, value


class Exchange:
    """What the check needs of one request and its response."""

    def __init__(self, label, response):
        request = response.request
        body = request.body or b""
        self.sent_body = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        self.sent = " ".join([request.url or "", *request.headers.values(), self.sent_body])
        self.label = label
        self.status = response.status_code
        self.body = response.content.decode("utf-8", "replace")
        # Verifications the service named in a 2xx body, for the end-of-run pass.
        self.verification_ids = set()
        parsed = parse_json(self.body) if 200 <= self.status < 300 else None
        if isinstance(parsed, dict) and str(parsed.get("id", "")).startswith("vf_"):
            self.verification_ids.add(parsed["id"])
        for name, value in json_leaves(parsed):
            if name == "verificationId" and value:
                self.verification_ids.add(value)
        account = re.search(r"/v1/accounts/([^/?]+)/", request.url or "")
        self.account = account.group(1) if account else None

    def problems(self, outbox):
        found = []
        body = TIMESTAMP.sub("", self.body)
        digit_runs = set(DIGIT_RUN.findall(body))
        for code, recipient in outbox.codes.items():
            if code in digit_runs and code not in self.sent:
                found.append(f"the code delivered to {recipient}")
        for token, recipient in outbox.tokens.items():
            if token in body and token not in self.sent:
                found.append(f"the link token delivered to {recipient}")
        shown_key = None
        parsed = parse_json(self.body)
        if self.label == "POST /v1/accounts/{accountId}/keys" and self.status == 201 and isinstance(parsed, dict):
            shown_key = parsed.get("key")
        for key in API_KEY.findall(body):
            if key not in self.sent and key != shown_key:
                found.append(f"an API key the request did not carry ({key[:8]}…)")
        for name, value in json_leaves(parsed):
            if name == "code" and DIGIT_RUN.fullmatch(value):
                found.append(f"a `code` member holding digits ({value})")
            if name == "token" and TOKEN_LIKE.match(value):
                found.append("a `token` member holding a token")
        sent = list(json_leaves(parse_json(self.sent_body)))
        # A secret that is also part of another value sent (a URL, a name) may come back with it.
        others = "\n".join(value for name, value in sent if name not in WRITE_ONLY_MEMBERS)
        for name, value in sent:
            if name in WRITE_ONLY_MEMBERS and len(value) >= 8 and value not in others and value in self.body:
                found.append(f"the write-only `{name}` the request sent")
        return found


@schemathesis.check
class no_secret_in_response_body:  # noqa: N801 (the check's name, as `--checks` spells it)
    """Fails on a response body that holds a delivered code or token, or another secret."""

    def __init__(self):
        self.outbox = OUTBOX
        self.exchanges = {}
        self.account_of = {}  # verification id -> the account it was seen in

    def after_response(self, ctx, response, case):
        exchange = Exchange(case.operation.label, response)
        # Replays during shrinking send the same request again: keep one record per body.
        self.exchanges[(exchange.sent, exchange.body)] = exchange
        for verification in exchange.verification_ids if exchange.account else ():
            self.account_of.setdefault(verification, exchange.account)
        problems = exchange.problems(self.outbox.refresh())
        if problems:
            raise AssertionError("The response body holds " + "; ".join(problems))

    def after_run(self, ctx):
        self.wait_for_first_attempts()
        self.outbox.refresh()
        leaks = []
        for exchange in self.exchanges.values():
            problems = exchange.problems(self.outbox)
            if problems:
                leaks.append(f"{exchange.label} -> {exchange.status}: " + "; ".join(problems))
        print(f"no_secret_in_response_body: {len(self.exchanges)} bodies checked against "
              f"{len(self.outbox.codes)} delivered codes and {len(self.outbox.tokens)} link tokens, "
              f"once the worker had tried the {len(self.account_of)} verifications the run saw")
        if leaks:
            raise AssertionError("Response bodies hold secrets:\n" + "\n".join(leaks[:20]))

    def wait_for_first_attempts(self):
        """Polls each verification the run saw until its message was tried once (or it ended)."""
        base, key = os.environ["CV_BASE_URL"], os.environ["CV_ADMIN_KEY"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        waiting = set(self.account_of)
        deadline = time.monotonic() + DRAIN_SECONDS
        while waiting and time.monotonic() < deadline:
            for verification in list(waiting):
                if self.tried(session, f"{base}/v1/accounts/{self.account_of[verification]}/verifications/{verification}"):
                    waiting.discard(verification)
            if waiting:
                time.sleep(0.2)  # the worker runs on its own; there is nothing to wait on
        if waiting:
            raise AssertionError(f"{len(waiting)} verifications were never tried by the worker "
                                 f"within {DRAIN_SECONDS} s: {sorted(waiting)[:5]}")

    @staticmethod
    def tried(session, url):
        reply = session.get(url, timeout=10)
        if reply.status_code != 200:
            return True  # deleted with its contact
        delivery = reply.json()["delivery"]
        return delivery["attempts"] > 0 or delivery["status"] not in ("queued", "sending")
