#!/usr/bin/env python3
"""A strict stand-in for the chatbot robots ContactVerify sends test messages to
(docs: protocols.md c7 DingTalk, c8 Lark, c9 WeCom, c10 Standard Webhooks).

One HTTP/1.1 server impersonates each robot by path:

  POST /robot/send?access_token=T[&timestamp=MS&sign=S]   DingTalk custom robot (c7)
  POST /open-apis/bot/v2/hook/{id}                        Lark / Feishu custom bot (c8)
  POST /cgi-bin/webhook/send?key=K                        WeCom group robot (c9)
  POST /custom/{name}                                     a Standard Webhooks receiver (c10)
  POST /hang                                              reads the request, never answers
  POST /redirect                                          302 to /custom/ok

Every request is checked against the documented protocol: method, Content-Type, the JSON
body (msgtype/msg_type, text content, no unknown members) and the signature. DingTalk:
`timestamp` in milliseconds within an hour, `sign` = urlencode(base64(HMAC-SHA256(secret,
timestamp + "\\n" + secret))). Lark: `timestamp` in seconds (a string) within an hour,
`sign` = base64(HMAC-SHA256(key = timestamp + "\\n" + secret, message = "")). Custom:
`webhook-signature` = v1,base64(HMAC-SHA256(whsec key, id.timestamp.body)). Robots whose
token, key or id starts with `signed` require a signature; a wrong one gets the provider's
signature error. Protocol problems are recorded under "problems".

Tokens, keys and ids choose the answer (anything else succeeds):

  DingTalk  fast 130101 send too fast   keyword 310000 keywords not in content
            gone 300001 token is not exist
            success {"errcode":0,"errmsg":"ok"}; bad sign 310000 sign not match
  Lark      fast 11232 frequency limited   keyword 19024 Key Words Not Found
            legacy {"StatusCode":0,"StatusMessage":"success"}
            success {"code":0,"msg":"success","data":{}}; bad sign 19021
  WeCom     fast 45009 api freq out of limit   gone 93000 invalid webhook url
            success {"errcode":0,"errmsg":"ok"}
  custom    /custom/ok 200 {"ok":true}   /custom/fail 500   /custom/signed… 204 when signed right,
            401 otherwise

Every request is appended to the JSONL log (--log) before it is answered, in the record
format of provider_stub.py: {"provider", "method", "path", "query", "headers" (lower-case
names), "body", "fields", "problems", "status", "answer"}.

Usage: chatbot_stub.py --log FILE [--port N] [--dingtalk-secret S] [--lark-secret S]
[--custom-secret whsec_…]; prints the bound port on the first line of standard output.
Binds 127.0.0.1. Standard library only.
"""

import argparse
import base64
import hashlib
import hmac
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

HOUR_MS = 3600 * 1000


class Stub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args):
        super().__init__(("127.0.0.1", args.port), Handler)
        self.args = args
        self.lock = threading.Lock()
        self.hanging = threading.Event()

    def record(self, entry):
        with self.lock:
            with open(self.args.log, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    @property
    def stub(self):
        return self.server

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def dispatch(self, method):
        problems = []
        length = self.headers.get("Content-Length")
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
            "body": body, "fields": [], "problems": problems,
        }
        if method != "POST":
            problems.append("robots are POSTed")
        query = parse_qsl(url.query, keep_blank_values=True)
        entry["fields"] = [[name, value] for name, value in query]
        if url.path == "/robot/send":
            entry["provider"] = "dingtalk"
            answer = self.dingtalk(dict(query), body, problems)
        elif url.path.startswith("/open-apis/bot/v2/hook/"):
            entry["provider"] = "lark"
            answer = self.lark(url.path.rsplit("/", 1)[1], body, problems)
        elif url.path == "/cgi-bin/webhook/send":
            entry["provider"] = "wecom"
            answer = self.wecom(dict(query), body, problems)
        elif url.path.startswith("/custom/"):
            entry["provider"] = "custom"
            answer = self.custom(url.path[len("/custom/"):], body_bytes, problems)
        elif url.path == "/hang":
            entry["provider"] = "hang"
            entry["status"] = 0
            entry["answer"] = ""
            self.stub.record(entry)
            self.stub.hanging.wait()  # never set: the client gives up first
            return
        elif url.path == "/redirect":
            entry["provider"] = "redirect"
            answer = (302, "text/plain", "moved", [("Location", f"http://127.0.0.1:{self.stub.server_port}/custom/ok")])
        else:
            entry["provider"] = None
            problems.append("unknown path")
            answer = (404, "text/plain", "not found", [])
        status, content_type, text, headers = answer
        entry["status"] = status
        entry["answer"] = text
        self.stub.record(entry)
        payload = text.encode("utf-8")
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # Shared checks ---------------------------------------------------------------------------

    def json_body(self, body, problems):
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            problems.append(f"Content-Type is {content_type!r}, not application/json")
        try:
            value = json.loads(body)
        except ValueError:
            problems.append("body is not JSON")
            return {}
        if not isinstance(value, dict):
            problems.append("body is not a JSON object")
            return {}
        return value

    @staticmethod
    def check_members(value, required, optional, where, problems):
        for name in required:
            if name not in value:
                problems.append(f"{where}: {name} is missing")
        for name in value:
            if name not in required and name not in optional:
                problems.append(f"{where}: unknown member {name}")

    def text_message(self, value, problems, limit):
        """DingTalk's and WeCom's {"msgtype":"text","text":{"content":…}}."""
        self.check_members(value, ["msgtype", "text"], ["at"], "body", problems)
        if value.get("msgtype") != "text":
            problems.append("msgtype is not text")
        text = value.get("text")
        if not isinstance(text, dict):
            problems.append("text is not an object")
            return
        self.check_members(text, ["content"], ["mentioned_list", "mentioned_mobile_list"], "text", problems)
        content = text.get("content")
        if not isinstance(content, str) or not content:
            problems.append("text.content is not a non-empty string")
        elif len(content.encode("utf-8")) > limit:
            problems.append(f"text.content is longer than {limit} bytes")

    @staticmethod
    def json_answer(value, status=200):
        return (status, "application/json", json.dumps(value, ensure_ascii=False), [])

    # DingTalk ---------------------------------------------------------------------------------

    def dingtalk(self, query, body, problems):
        value = self.json_body(body, problems)
        self.text_message(value, problems, 20000)
        token = query.get("access_token", "")
        for name in query:
            if name not in ("access_token", "timestamp", "sign"):
                problems.append(f"unknown query parameter {name}")
        if not token:
            return self.json_answer({"errcode": 300001, "errmsg": "token is not exist"})
        if "timestamp" in query or "sign" in query or token.startswith("signed"):
            timestamp = query.get("timestamp", "")
            if not timestamp.isdigit() or len(timestamp) != 13:
                problems.append("timestamp is not epoch milliseconds")
            elif abs(int(timestamp) - int(time.time() * 1000)) > HOUR_MS:
                problems.append("timestamp is more than an hour away")
            secret = self.stub.args.dingtalk_secret
            expected = base64.b64encode(
                hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
            if query.get("sign") != expected:
                return self.json_answer({"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"})
        if problems:
            return self.json_answer({"errcode": 40035, "errmsg": "缺少参数 json"})
        if token.endswith("fast"):
            return self.json_answer({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
        if token.endswith("keyword"):
            return self.json_answer({"errcode": 310000, "errmsg": "keywords not in content, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"})
        if token.endswith("gone"):
            return self.json_answer({"errcode": 300001, "errmsg": "token is not exist"})
        return self.json_answer({"errcode": 0, "errmsg": "ok"})

    # Lark -------------------------------------------------------------------------------------

    def lark(self, hook, body, problems):
        value = self.json_body(body, problems)
        self.check_members(value, ["msg_type", "content"], ["timestamp", "sign"], "body", problems)
        if value.get("msg_type") != "text":
            problems.append("msg_type is not text")
        content = value.get("content")
        if not isinstance(content, dict) or not isinstance(content.get("text"), str) or not content.get("text"):
            problems.append("content.text is not a non-empty string")
        elif list(content) != ["text"]:
            problems.append("content has members besides text")
        if "timestamp" in value or "sign" in value or hook.startswith("signed"):
            timestamp = value.get("timestamp")
            if not isinstance(timestamp, str) or not timestamp.isdigit() or len(timestamp) != 10:
                problems.append("timestamp is not a string of epoch seconds")
                timestamp = str(timestamp)
            elif abs(int(timestamp) - int(time.time())) > 3600:
                problems.append("timestamp is more than an hour away")
            secret = self.stub.args.lark_secret
            expected = base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
            if value.get("sign") != expected:
                return self.json_answer({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"})
        if problems:
            return self.json_answer({"code": 9499, "msg": "Bad Request"}, status=400)
        if hook.endswith("fast"):
            return self.json_answer({"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"})
        if hook.endswith("keyword"):
            return self.json_answer({"code": 19024, "msg": "Key Words Not Found"})
        if hook.endswith("legacy"):
            return self.json_answer({"Extra": None, "StatusCode": 0, "StatusMessage": "success"})
        return self.json_answer({"code": 0, "data": {}, "msg": "success"})

    # WeCom ------------------------------------------------------------------------------------

    def wecom(self, query, body, problems):
        value = self.json_body(body, problems)
        self.text_message(value, problems, 2048)
        for name in query:
            if name != "key":
                problems.append(f"unknown query parameter {name}")
        key = query.get("key", "")
        if not key or key.endswith("gone"):
            return self.json_answer({"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1_abc], from ip: 127.0.0.1"})
        if problems:
            return self.json_answer({"errcode": 40008, "errmsg": "invalid message type, hint: [1700000000_2_abc]"})
        if key.endswith("fast"):
            return self.json_answer({"errcode": 45009, "errmsg": "api freq out of limit, hint: [1700000000_3_abc]"})
        return self.json_answer({"errcode": 0, "errmsg": "ok"})

    # Standard Webhooks ------------------------------------------------------------------------

    def custom(self, name, body_bytes, problems):
        value = self.json_body(body_bytes.decode("utf-8", "replace"), problems)
        self.check_members(value, ["type", "timestamp", "data"], [], "body", problems)
        message_id = self.headers.get("webhook-id", "")
        timestamp = self.headers.get("webhook-timestamp", "")
        if not message_id or not timestamp.isdigit():
            problems.append("webhook-id or webhook-timestamp missing")
        signature = self.headers.get("webhook-signature")
        if name.startswith("signed") or signature is not None:
            secret = self.stub.args.custom_secret
            key = base64.b64decode(secret[len("whsec_"):])
            expected = "v1," + base64.b64encode(
                hmac.new(key, f"{message_id}.{timestamp}.".encode() + body_bytes, hashlib.sha256).digest()).decode()
            if signature not in (expected,):
                return (401, "application/json", json.dumps({"error": "invalid signature"}), [])
            if problems:
                return (400, "application/json", json.dumps({"error": "; ".join(problems)}), [])
            return (204, "application/json", "", [])
        if problems:
            return (400, "application/json", json.dumps({"error": "; ".join(problems)}), [])
        if name == "fail":
            return (500, "application/json", json.dumps({"error": "receiver failed"}), [])
        return (200, "application/json", json.dumps({"ok": True}), [])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", required=True)
    parser.add_argument("--dingtalk-secret", default="SECtestsecret")
    parser.add_argument("--lark-secret", default="testsecret")
    parser.add_argument("--custom-secret", default="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    args = parser.parse_args()
    server = Stub(args)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
