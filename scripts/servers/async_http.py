"""A keep-alive HTTP/1.1 client for asyncio, shared by bench/bench.py and scripts/flood."""
import asyncio


class Client:
    """A keep-alive HTTP/1.1 connection for asyncio (the standard library has none).

    `request` returns (status, body); `headers` holds the last response's headers, by
    lowercased name."""

    def __init__(self, port):
        self.port = port
        self.reader = self.writer = None
        self.headers = {}

    async def request(self, method, path, body=None, headers=()):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        data = body.encode() if isinstance(body, str) else (body or b"")
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(data)}"]
        head += [f"{name}: {value}" for name, value in headers]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        status = int((await self.reader.readline()).split()[1])
        length, chunked, close = 0, False, False
        self.headers = {}
        while True:
            line = (await self.reader.readline()).strip()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            self.headers[name] = value
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                close = True
        if chunked:
            payload = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                payload += await self.reader.readexactly(size)
                await self.reader.readline()
        else:
            payload = await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.reader = self.writer = None
        return status, payload

    def close(self):
        if self.writer is not None:
            self.writer.close()
