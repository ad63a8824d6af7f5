#!/usr/bin/env python3
"""A strict stand-in for the SMS providers ContactVerify talks to (docs: protocols.md c1, c3, c5, c6).

One HTTP/1.1 server impersonates four providers by path:

  GET  /cgi-bin/sendsms                          Kannel smsbox sendsms (c1)
  POST /2010-04-01/Accounts/{sid}/Messages.json  Twilio Programmable Messaging (c3)
  POST /sms/json                                 Vonage SMS API (c5)
  POST /  (or GET /?…)                           Alibaba Cloud SendSms, RPC + signature V1 (c6)

Every request is checked against the documented protocol: method, path, Content-Type,
credentials (Basic auth, api_key/api_secret, username/password), required and unknown
fields, value formats, and for Alibaba Cloud the V1 signature is recomputed (HMAC-SHA1 over
the canonicalized query with `secret&`), the nonce must be new and the timestamp within
15 minutes. A request that breaks the protocol gets the provider's own error shape where it
has one, and the reasons are recorded under "problems".

Recipients choose the answer ("magic numbers"); every other number succeeds:

  Twilio  (To)    +15005550001 21211 invalid number   +15005550002 21612 unroutable
                  +15005550003 21408 geo permission   +15005550004 21610 unsubscribed
                  +15005550009 21614 not SMS-capable  +15005550635 21635 landline
                  +15005550429 429/20429 (Retry-After: 3)  +15005550500 500/20500
                  +15005550503 503/20503 (Retry-After: 3)  +15005550200 200 with an HTML page (F18)
                  +15005550408 the first request waits --slow-seconds (default 3), then gets 201;
                               later ones get 201 at once (F17: a timeout after the request)
                  +15005550104 the first request gets half a 201 and then a TCP reset (SO_LINGER 0);
                               later ones get 201 (F19)
                  +12025550NNN the same answer as +15005550NNN: a fictional but valid US range, for
                               tests through the API, which refuses the 500 area code (a personal
                               number, not a mobile)
  Vonage  (to)    4470099000SS  one part with status SS (01 throttled, 06 invalid message…)
                  447009910000  two parts, both status 0
                  447009910001  two parts: status 0, then status 1
  Aliyun  (PhoneNumbers, mainland numbers without 86)
                  13800000001 isv.MOBILE_NUMBER_ILLEGAL   13800000002 isv.BUSINESS_LIMIT_CONTROL
                  13800000003 isp.SYSTEM_ERROR            13800000004 isv.DAY_LIMIT_CONTROL
                  13800000005 isv.BLACK_KEY_CONTROL_LIMIT 13800000500 HTTP 500 without a body
  Kannel  (to)    +8613800000503 503 Temporal failure  +8613800000500 500 Sending failed.
                  +8613800000403 403 Not routable       +8613800000003 202 3: Queued for later delivery

--fail-percent P answers that share of otherwise successful requests (any provider) with
the provider's 5xx instead (Twilio 500/20500, Kannel 500, Vonage and Alibaba Cloud a bare
500), chosen by a random generator seeded with --seed (default 1); such records carry
"injected": true. For load tests (scripts/ramp).

--hold-file PATH holds answers (F3: the provider has accepted a message, the sender has not
heard so yet): a request that arrives while PATH exists is checked, answered and logged as
usual, with "held": true, and its answer is then sent only once PATH is gone (checked every
20 ms). The record is in the log before the hold, so a test sees every held request; a
sender that died meanwhile just misses its answer. Without the file, answers go at once.

Every request is appended to the JSONL log (given with --log) before it is answered, so a
test that got its answer can read the record: {"provider", "method", "path", "query",
"headers" (lower-case names), "body", "fields" ([name, value] pairs as decoded), "problems",
"status", "answer"}.

Usage: provider_stub.py --log FILE [--port N] [credentials…]; prints the bound port on the
first line of standard output (0 picks a free one). Binds 127.0.0.1. Standard library only.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import socket
import struct
import signal
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote_to_bytes, urlsplit

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
FORM = "application/x-www-form-urlencoded"

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà\f^{}\\[~]|€"
)

TWILIO_ERRORS = {
    "+15005550001": (400, 21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (400, 21612, "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number"),
    "+15005550003": (400, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"),
    "+15005550004": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (400, 21614, "'To' number is not a valid mobile number"),
    "+15005550635": (400, 21635, "'To' number cannot be a landline"),
    "+15005550429": (429, 20429, "Too Many Requests"),
    "+15005550500": (500, 20500, "Internal Server Error"),
    "+15005550503": (503, 20503, "Service Unavailable"),
}

# Numbers whose first request misbehaves (F17, F19); later requests to them succeed.
TWILIO_SLOW_ONCE = "+15005550408"
TWILIO_RESET_ONCE = "+15005550104"
TWILIO_HTML_200 = "+15005550200"


def twilio_magic(to):
    """+12025550NNN stands for +15005550NNN (see the module documentation)."""
    return "+15005550" + to[len("+12025550"):] if to.startswith("+12025550") and len(to) == 12 else to

ALIYUN_ERRORS = {
    "13800000001": ("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"),
    "13800000002": ("isv.BUSINESS_LIMIT_CONTROL", "触发号码天级流控Permits:10"),
    "13800000003": ("isp.SYSTEM_ERROR", "系统错误"),
    "13800000004": ("isv.DAY_LIMIT_CONTROL", "触发日发送限额"),
    "13800000005": ("isv.BLACK_KEY_CONTROL_LIMIT", "黑名单管控"),
}

VONAGE_ERROR_TEXTS = {
    "1": "Throttled", "2": "Missing Parameters", "3": "Invalid Parameters", "4": "Bad Credentials", "5": "Internal Error",
    "6": "Invalid Message", "7": "Number Barred", "8": "Partner Account Barred", "9": "Partner Quota Violation",
    "10": "Too Many Existing Binds", "11": "Account Not Enabled For HTTP", "12": "Message Too Long", "14": "Invalid Signature",
    "15": "Invalid Sender Address", "22": "Invalid Network Code", "29": "Non-Whitelisted Destination",
}


def percent_encode(value):
    """Alibaba's percentEncode: RFC 3986 over UTF-8, unreserved A-Z a-z 0-9 - _ . ~ kept."""
    return quote(value, safe="-_.~")


def aliyun_signature(method, params, secret):
    canonical = "&".join(percent_encode(k) + "=" + percent_encode(v) for k, v in sorted(params.items()) if k != "Signature")
    string_to_sign = method + "&" + percent_encode("/") + "&" + percent_encode(canonical)
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode(), canonical, string_to_sign


def decode_form(raw, problems):
    """Decodes `a=b&c=d` strictly: %XX escapes and '+' as a space; values must be UTF-8."""
    fields = []
    if raw == "":
        return fields
    for pair in raw.split("&"):
        if "=" not in pair:
            problems.append(f"form pair without '=': {pair[:40]!r}")
            continue
        name, value = pair.split("=", 1)
        try:
            fields.append((unquote_to_bytes(name.replace("+", " ")).decode("utf-8"),
                           unquote_to_bytes(value.replace("+", " ")).decode("utf-8")))
        except UnicodeDecodeError:
            problems.append(f"field {name!r} is not UTF-8 once decoded")
    return fields


def single_fields(fields, problems):
    values = {}
    for name, value in fields:
        if name in values:
            problems.append(f"field {name!r} sent twice")
        values[name] = value
    return values


def check_fields(values, required, optional, problems):
    for name in required:
        if name not in values:
            problems.append(f"required field {name!r} missing")
        elif values[name] == "":
            problems.append(f"required field {name!r} empty")
    for name in values:
        if name not in required and name not in optional:
            problems.append(f"unknown field {name!r}")


def check_url(values, name, problems):
    if name in values and not re.match(r"^https?://[^\s/]+", values[name]):
        problems.append(f"{name} is not an absolute http(s) URL")


class Stub:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.log = open(args.log, "a", encoding="utf-8")
        self.nonces = set()
        self.counter = 0
        self.random = random.Random(args.seed)
        self.seen_once = set()

    def inject_failure(self):
        """Whether this request gets an injected 5xx (--fail-percent)."""
        if self.args.fail_percent <= 0:
            return False
        with self.lock:
            return self.random.random() * 100 < self.args.fail_percent

    def first_time(self, key):
        """True the first time `key` is seen."""
        with self.lock:
            if key in self.seen_once:
                return False
            self.seen_once.add(key)
            return True

    def holding(self):
        """Whether answers are held now: --hold-file is set and the file exists."""
        return self.args.hold_file is not None and os.path.exists(self.args.hold_file)

    def wait_for_release(self):
        """Returns once the hold file is gone."""
        while self.holding():
            time.sleep(0.02)

    def record(self, entry):
        with self.lock:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()

    def next_id(self):
        with self.lock:
            self.counter += 1
            return self.counter


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "provider-stub"
    sys_version = ""

    def log_message(self, format, *args):  # quiet: the JSONL log is the record
        pass

    @property
    def stub(self):
        return self.server.stub

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def dispatch(self, method):
        problems = []
        held = self.stub.holding()
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            problems.append("chunked request bodies are not expected")
        body_bytes = self.rfile.read(int(length)) if length else b""
        try:
            body = body_bytes.decode("utf-8")
        except UnicodeDecodeError:
            body = body_bytes.decode("latin-1")
            problems.append("body is not UTF-8")
        url = urlsplit(self.path)
        entry = {
            "method": method, "path": url.path, "query": url.query,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": body, "problems": problems,
        }
        if url.path == "/cgi-bin/sendsms":
            entry["provider"] = "kannel"
            answer = self.kannel(method, url.query, body, entry, problems)
        elif re.fullmatch(r"/2010-04-01/Accounts/[^/]+/Messages\.json", url.path):
            entry["provider"] = "twilio"
            answer = self.twilio(method, url.path, body, entry, problems)
        elif url.path == "/sms/json":
            entry["provider"] = "vonage"
            answer = self.vonage(method, body, entry, problems)
        elif url.path == "/":
            entry["provider"] = "aliyun"
            answer = self.aliyun(method, url.query, body, entry, problems)
        else:
            entry["provider"] = None
            problems.append("unknown path")
            answer = (404, "text/plain", "not found", [])
        action = None
        if len(answer) == 5:
            status, content_type, text, headers, action = answer
        else:
            status, content_type, text, headers = answer
        if 200 <= status < 300 and action is None and self.stub.inject_failure():
            entry["injected"] = True
            if entry["provider"] == "twilio":
                status, content_type, text, headers = self.twilio_error(500, 20500, "Internal Server Error")
            elif entry["provider"] == "kannel":
                status, content_type, text, headers = (500, "text/plain", "Sending failed.", [])
            else:
                status, content_type, text, headers = (500, "text/plain", "", [])
        entry["status"] = status
        entry["answer"] = text
        if action:
            entry["action"] = action
        if held:
            entry["held"] = True
        self.stub.record(entry)
        payload = text.encode("utf-8")
        if held:
            self.stub.wait_for_release()
            try:
                self.send_answer(status, content_type, headers, payload)
            except OSError:  # the sender is gone (killed while it waited): its answer is lost
                self.close_connection = True
            return
        if action == "slow":
            time.sleep(self.stub.args.slow_seconds)
        if action == "reset":
            self.send_half_and_reset(status, content_type, headers, payload)
            return
        self.send_answer(status, content_type, headers, payload)

    def send_answer(self, status, content_type, headers, payload):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def send_half_and_reset(self, status, content_type, headers, payload):
        """The status line, the headers and half the body, then a TCP reset (RST, not FIN)."""
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}", f"Content-Type: {content_type}"]
        lines += [f"{name}: {value}" for name, value in headers]
        lines.append(f"Content-Length: {len(payload)}")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload[: len(payload) // 2])
        self.wfile.flush()
        reset(self.connection)
        self.close_connection = True

    # Kannel ---------------------------------------------------------------------------------

    def kannel(self, method, query, body, entry, problems):
        if method != "GET":
            problems.append("Kannel sendsms is used with GET here")
        if body:
            problems.append("a GET sendsms has no body")
        fields = decode_form(query, problems)
        entry["fields"] = fields
        values = single_fields(fields, problems)
        check_fields(values, ["username", "password", "to", "text"],
                     ["from", "charset", "coding", "smsc", "validity", "dlr-mask", "dlr-url"], problems)
        if values.get("username") != self.stub.args.kannel_username or values.get("password") != self.stub.args.kannel_password:
            return (403, "text/plain", "Authorization failed for sendsms", [])
        to = values.get("to", "")
        if not to:
            return (400, "text/plain", "Missing receiver number, rejected", [])
        if not E164.match(to):
            problems.append("to is not E.164")
        if values.get("charset") != "UTF-8":
            problems.append("charset must be UTF-8")
        validity = values.get("validity")
        if validity is not None and not (validity.isdigit() and int(validity) >= 1):
            problems.append("validity must be a whole number of minutes, at least 1")
        coding = values.get("coding")
        if coding not in (None, "2"):
            problems.append("coding must be absent or 2")
        text = values.get("text", "")
        if coding is None and not set(text) <= GSM7:
            problems.append("text outside GSM 7-bit without coding=2")
        if coding == "2" and set(text) <= GSM7:
            problems.append("coding=2 for a GSM 7-bit text")
        if ("dlr-mask" in values) != ("dlr-url" in values):
            problems.append("dlr-mask and dlr-url go together")
        if "dlr-mask" in values and not re.fullmatch(r"[0-9]{1,2}", values["dlr-mask"]):
            return (400, "text/plain", "DLR-Mask field misformed, rejected", [])
        if "dlr-url" in values:
            check_url(values, "dlr-url", problems)
            if "status=%d" not in values["dlr-url"]:
                problems.append("dlr-url lacks status=%d")
        if problems:
            return (400, "text/plain", "Charset or body misformed, rejected", [])
        if to == "+8613800000503":
            return (503, "text/plain", "Temporal failure, try again later.", [])
        if to == "+8613800000500":
            return (500, "text/plain", "Sending failed.", [])
        if to == "+8613800000403":
            return (403, "text/plain", "Not routable. Do not try again.", [])
        if to == "+8613800000003":
            return (202, "text/plain", "3: Queued for later delivery", [])
        return (202, "text/plain", "0: Accepted for delivery", [])

    # Twilio ---------------------------------------------------------------------------------

    def twilio_error(self, status, code, message, headers=()):
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
        return (status, "application/json", json.dumps(body), list(headers))

    def twilio(self, method, path, body, entry, problems):
        args = self.stub.args
        if method != "POST":
            problems.append("Twilio Messages.json is POSTed")
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip() != FORM:
            problems.append(f"Content-Type is {content_type!r}, not {FORM}")
        fields = decode_form(body, problems)
        entry["fields"] = fields
        values = single_fields(fields, problems)
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{args.twilio_user}:{args.twilio_password}".encode()).decode()
        if auth != expected:
            return self.twilio_error(401, 20003, "Authenticate")
        sid = path.split("/")[3]
        if sid != args.twilio_account_sid:
            return self.twilio_error(404, 20404, f"The requested resource {path} was not found")
        check_fields(values, ["To", "Body"], ["From", "MessagingServiceSid", "StatusCallback"], problems)
        if ("From" in values) == ("MessagingServiceSid" in values):
            problems.append("exactly one of From and MessagingServiceSid is required")
            return self.twilio_error(400, 21603, "The 'From' phone number is required.")
        to = values.get("To", "")
        if not E164.match(to):
            return self.twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if len(values.get("Body", "")) > 1600:
            return self.twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        check_url(values, "StatusCallback", problems)
        if problems:
            return self.twilio_error(400, 21000, "; ".join(problems))
        magic = twilio_magic(to)
        if magic in TWILIO_ERRORS:
            status, code, message = TWILIO_ERRORS[magic]
            headers = [("Retry-After", "3")] if status in (429, 503) else []
            return self.twilio_error(status, code, message, headers)
        if magic == TWILIO_HTML_200:
            return (200, "text/html; charset=utf-8", "<html><head><title>Service</title></head><body>Maintenance</body></html>", [])
        message_sid = "SM" + uuid.uuid4().hex
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
        answer = {
            "account_sid": sid, "api_version": "2010-04-01", "body": values["Body"], "date_created": now, "date_sent": None,
            "date_updated": now, "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": values.get("From"), "messaging_service_sid": values.get("MessagingServiceSid"), "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": message_sid, "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}/Media.json"}, "to": to,
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
        }
        if magic in (TWILIO_SLOW_ONCE, TWILIO_RESET_ONCE) and self.stub.first_time(magic):
            return (201, "application/json", json.dumps(answer), [], "slow" if magic == TWILIO_SLOW_ONCE else "reset")
        return (201, "application/json", json.dumps(answer), [])

    # Vonage ---------------------------------------------------------------------------------

    def vonage(self, method, body, entry, problems):
        args = self.stub.args
        if method != "POST":
            problems.append("Vonage /sms/json is POSTed here")
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip() != FORM:
            problems.append(f"Content-Type is {content_type!r}, not {FORM}")
        fields = decode_form(body, problems)
        entry["fields"] = fields
        values = single_fields(fields, problems)

        def answer(parts):
            return (200, "application/json", json.dumps({"message-count": str(len(parts)), "messages": parts}), [])

        def failure(status):
            return answer([{"status": status, "error-text": VONAGE_ERROR_TEXTS.get(status, "Error")}])

        if values.get("api_key") != args.vonage_key or values.get("api_secret") != args.vonage_secret:
            return failure("4")
        check_fields(values, ["api_key", "api_secret", "from", "to", "text"], ["type", "callback", "client-ref", "status-report-req", "ttl"],
                     problems)
        to = values.get("to", "")
        if not re.fullmatch(r"[1-9][0-9]{6,14}", to):
            problems.append("to must be digits without '+'")
        text = values.get("text", "")
        kind = values.get("type", "text")
        if kind not in ("text", "unicode"):
            problems.append("type must be text or unicode")
        if kind == "text" and not set(text) <= GSM7:
            problems.append("text outside GSM 7-bit without type=unicode")
        check_url(values, "callback", problems)
        if len(values.get("client-ref", "")) > 100:
            problems.append("client-ref longer than 100 characters")
        if problems:
            return failure("3" if "to" in values and "text" in values else "2")

        def part(status="0"):
            entry = {"to": to, "status": status}
            if status == "0":
                entry.update({"message-id": uuid.uuid4().hex[:16].upper(), "remaining-balance": "3.14159265",
                              "message-price": "0.03330000", "network": "23410"})
                if "client-ref" in values:
                    entry["client-ref"] = values["client-ref"]
            else:
                entry["error-text"] = VONAGE_ERROR_TEXTS.get(status, "Error")
            return entry

        if to.startswith("4470099000"):
            return answer([part(str(int(to[-2:])))])
        if to == "447009910000":
            return answer([part(), part()])
        if to == "447009910001":
            return answer([part(), part("1")])
        return answer([part()])

    # Alibaba Cloud --------------------------------------------------------------------------

    def aliyun_error(self, status, code, message):
        body = {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message}
        if status != 200:
            body["HostId"] = "dysmsapi.aliyuncs.com"
            body["Recommend"] = "https://api.aliyun.com/troubleshoot?q=" + code
        return (status, "application/json;charset=utf-8", json.dumps(body, ensure_ascii=False), [])

    def aliyun(self, method, query, body, entry, problems):
        args = self.stub.args
        if method == "POST":
            content_type = self.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip() != FORM:
                problems.append(f"Content-Type is {content_type!r}, not {FORM}")
            if query:
                problems.append("a POST carries its parameters in the body")
            raw = body
        elif method == "GET":
            raw = query
        else:
            problems.append("RPC requests are GET or POST")
            raw = body
        fields = decode_form(raw, problems)
        entry["fields"] = fields
        params = single_fields(fields, problems)
        common = ["AccessKeyId", "Action", "Format", "RegionId", "SignatureMethod", "SignatureNonce", "SignatureVersion",
                  "Timestamp", "Version", "Signature"]
        check_fields(params, common + ["PhoneNumbers", "SignName", "TemplateCode"], ["TemplateParam", "OutId", "SmsUpExtendCode"],
                     problems)
        if params.get("AccessKeyId") != args.aliyun_key_id:
            return self.aliyun_error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return self.aliyun_error(400, "InvalidParameter", "SignatureMethod must be HMAC-SHA1 and SignatureVersion 1.0")
        expected, canonical, string_to_sign = aliyun_signature(method, params, args.aliyun_secret)
        if params.get("Signature") != expected:
            problems.append("signature does not match")
            return self.aliyun_error(400, "SignatureDoesNotMatch",
                                     "Specified signature is not matched with our calculation. server string to sign is:" + string_to_sign)
        if method == "POST" and raw != canonical + "&Signature=" + percent_encode(expected):
            problems.append("body is not the canonicalized query followed by &Signature=")
        nonce = params.get("SignatureNonce", "")
        with self.stub.lock:
            reused = nonce in self.stub.nonces
            self.stub.nonces.add(nonce)
        if reused:
            problems.append("SignatureNonce reused")
            return self.aliyun_error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
        stamp = params.get("Timestamp", "")
        try:
            when = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
            skew = abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds())
            if skew > 900:
                problems.append("Timestamp more than 15 minutes off")
                return self.aliyun_error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        except ValueError:
            problems.append("Timestamp is not yyyy-MM-ddTHH:mm:ssZ")
            return self.aliyun_error(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return self.aliyun_error(400, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        if params.get("Format") != "JSON":
            problems.append("Format must be JSON")
        if params.get("RegionId") != args.aliyun_region:
            problems.append("RegionId is not the configured region")
        if params.get("SignName") != args.aliyun_sign_name:
            return self.aliyun_error(200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        templates = {args.aliyun_template: "code", args.aliyun_link_template: "link"}
        variable = templates.get(params.get("TemplateCode"))
        if variable is None:
            return self.aliyun_error(200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            template_param = json.loads(params.get("TemplateParam", ""))
        except ValueError:
            return self.aliyun_error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if not isinstance(template_param, dict) or not all(isinstance(v, str) for v in template_param.values()):
            return self.aliyun_error(200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        if set(template_param) != {variable}:
            return self.aliyun_error(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模版缺少变量")
        value = template_param[variable]
        if variable == "code" and not re.fullmatch(r"[0-9]{4,10}", value):
            problems.append("code variable is not 4-10 digits")
        if variable == "code" and "://" in value:
            return self.aliyun_error(200, "isv.PARAM_NOT_SUPPORT_URL", "不支持url为变量")
        numbers = params.get("PhoneNumbers", "")
        if not re.fullmatch(r"[0-9]{5,15}(,[0-9]{5,15}){0,999}", numbers):
            return self.aliyun_error(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if problems:
            return self.aliyun_error(400, "InvalidParameter", "; ".join(problems))
        if numbers == "13800000500":
            return (500, "text/html", "", [])
        if numbers in ALIYUN_ERRORS:
            code, message = ALIYUN_ERRORS[numbers]
            return self.aliyun_error(200, code, message)
        biz_id = f"{self.stub.next_id():06d}{datetime.datetime.now().strftime('%H%M%S')}^0"
        return (200, "application/json;charset=utf-8",
                json.dumps({"Message": "OK", "RequestId": str(uuid.uuid4()).upper(), "Code": "OK", "BizId": biz_id}), [])


def reset(connection):
    """Closes `connection` with a TCP RST: SO_LINGER on with a zero timeout."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True, help="JSONL file every request is appended to")
    parser.add_argument("--kannel-username", default="kannel-user")
    parser.add_argument("--kannel-password", default="kannel-pass")
    parser.add_argument("--twilio-account-sid", default="AC00000000000000000000000000000001")
    parser.add_argument("--twilio-user", default="AC00000000000000000000000000000001")
    parser.add_argument("--twilio-password", default="twilio-token")
    parser.add_argument("--vonage-key", default="vonage-key")
    parser.add_argument("--vonage-secret", default="vonage-secret")
    parser.add_argument("--aliyun-key-id", default="LTAI-test-id")
    parser.add_argument("--aliyun-secret", default="aliyun-secret")
    parser.add_argument("--aliyun-region", default="cn-hangzhou")
    parser.add_argument("--aliyun-sign-name", default="阿里云短信测试")
    parser.add_argument("--aliyun-template", default="SMS_0001")
    parser.add_argument("--aliyun-link-template", default="SMS_0002")
    parser.add_argument("--fail-percent", type=float, default=0.0,
                        help="answer this share (0-100) of otherwise successful requests with a 5xx")
    parser.add_argument("--seed", type=int, default=1, help="seed of the --fail-percent choice")
    parser.add_argument("--slow-seconds", type=float, default=3.0, help="the wait of the slow magic number")
    parser.add_argument("--hold-file", help="while this file exists, requests are logged, then their answers wait for its removal")
    args = parser.parse_args()
    # A parent's blocked signals are inherited (the Swift test runner blocks some): let
    # SIGTERM and SIGINT stop the stub.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.stub = Stub(args)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
