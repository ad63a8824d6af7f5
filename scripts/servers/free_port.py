"""Loopback ports for the scripts' servers, chosen the way the Swift tests' FreePort chooses them.

A port from bind(0) lies in the kernel's ephemeral range, where every outgoing connection also
takes its local port, so between choosing it and a server binding it a client may take it
(EADDRINUSE). These ports come from outside that range, at random, checked free, and never
twice in one process. Run as a script, it prints one port.
"""
import random
import socket

_LOWEST = 20_000
_handed_out = set()


def _candidate_ranges():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            first, last = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        first, last = 32_768, 60_999
    ranges = [r for r in (range(_LOWEST, max(_LOWEST, first)), range(max(_LOWEST, last + 1), 65_536)) if len(r) >= 1_000]
    return ranges or [range(_LOWEST, 65_536)]


def _idle(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def free_port():
    """One loopback port outside the ephemeral range that was free a moment ago."""
    ranges = _candidate_ranges()
    for _ in range(1_000):
        port = random.choice(random.choice(ranges))
        if port in _handed_out:
            continue
        _handed_out.add(port)
        if _idle(port):
            return port
    raise RuntimeError("no free loopback port outside the ephemeral range")


if __name__ == "__main__":
    print(free_port())
