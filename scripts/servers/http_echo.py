#!/usr/bin/env python3
"""A tiny HTTP/1.1 server for ContactVerify's HTTP client tests; answers by path:

  /echo             200 with the request exactly as received (request line, headers, body),
                    as application/octet-stream
  /status/NNN       status NNN with body "status NNN"; ?retry-after=S adds Retry-After: S
                    and ?location=URL adds Location: URL
  /slow?seconds=S   waits S seconds (default 5), then 200 "slow"
  /big?bytes=N      200 with N bytes of "x" (default 1 MiB); ?chunked=1 sends it chunked
                    (no Content-Length)
  /drop             reads the request, then closes the connection without answering
  /reset            reads the request, sends the status line, the headers and half of a
                    200 body, then resets the connection (RST, SO_LINGER 0)
  /peer             200 with the client's port on this connection (the same port on every
                    request means one kept-alive connection)

Connections are kept alive (one thread each). Plain standard library; binds 127.0.0.1.
Usage: http_echo.py PORT
"""

import signal
import socket
import socketserver
import struct
import sys
import time
from urllib.parse import parse_qs, urlsplit


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.buffer = b""

    def read_request(self):
        while b"\r\n\r\n" not in self.buffer:
            data = self.request.recv(65536)
            if not data:
                return None
            self.buffer += data
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:  # not used by the client under test; keep the raw framing
            while not rest.endswith(b"0\r\n\r\n"):
                data = self.request.recv(65536)
                if not data:
                    return None
                rest += data
            body, self.buffer = rest, b""
        else:
            while len(rest) < length:
                data = self.request.recv(65536)
                if not data:
                    return None
                rest += data
            body, self.buffer = rest[:length], rest[length:]
        return head + b"\r\n\r\n" + body, head.split(b"\r\n")[0].decode("latin-1")

    def send(self, status, body=b"", headers=(), chunked=False):
        lines = [f"HTTP/1.1 {status} Status {status}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {len(body)}")
        out = ("\r\n".join(lines) + "\r\n\r\n").encode()
        if chunked:
            for start in range(0, len(body), 16384):
                piece = body[start:start + 16384]
                out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            out += b"0\r\n\r\n"
        else:
            out += body
        self.request.sendall(out)

    def handle(self):
        while True:
            try:
                request = self.read_request()
            except (ConnectionError, OSError):
                return
            if request is None:
                return
            raw, request_line = request
            parts = request_line.split(" ")
            method, target = parts[0], parts[1] if len(parts) > 1 else "/"
            url = urlsplit(target)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            path = url.path
            try:
                if path == "/echo":
                    self.send(200, raw, [("Content-Type", "application/octet-stream")])
                elif path.startswith("/status/"):
                    status = int(path.rsplit("/", 1)[1])
                    headers = []
                    if "retry-after" in query:
                        headers.append(("Retry-After", query["retry-after"]))
                    if "location" in query:
                        headers.append(("Location", query["location"]))
                    body = b"" if method == "HEAD" else f"status {status}".encode()
                    self.send(status, body, headers)
                elif path == "/slow":
                    time.sleep(float(query.get("seconds", "5")))
                    self.send(200, b"slow")
                elif path == "/big":
                    size = int(query.get("bytes", str(1024 * 1024)))
                    self.send(200, b"x" * size, [("Content-Type", "text/plain")], chunked=query.get("chunked") == "1")
                elif path == "/drop":
                    self.request.shutdown(socket.SHUT_RDWR)
                    return
                elif path == "/reset":
                    body = b"x" * 64
                    self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
                                         + body[: len(body) // 2])
                    self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.request.close()
                    return
                elif path == "/peer":
                    self.send(200, str(self.client_address[1]).encode())
                else:
                    self.send(404, b"not found")
            except (ConnectionError, OSError):
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    # A parent may spawn us with signals blocked (Foundation's Process from a pool thread).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    port = int(sys.argv[1])
    with Server(("127.0.0.1", port), Handler) as server:
        server.serve_forever()
