#!/usr/bin/env python3
"""A real SMTP server for ContactVerify's tests: aiosmtpd with STARTTLS, implicit TLS and AUTH.

Listeners (each optional, all on 127.0.0.1):
  --starttls-port P   STARTTLS required before anything else, then AUTH required
                      (require_starttls, auth_required).
  --smtps-port P      implicit TLS (SMTPS), AUTH required (auth_require_tls=False, since
                      aiosmtpd 1.4.6 counts only STARTTLS as TLS).
  --plain-port P      no TLS, no AUTH.

Every accepted message is written to --dir as NNNNNN.eml (a temp file renamed into place,
so a reader never sees half a message): these header lines, prepended as trace headers are,
then the message exactly as received (dot-stuffing removed):
  X-Listener: starttls | smtps | plain
  X-Peer: 127.0.0.1:54321        (the client's address and port: one per TCP connection)
  X-TLS: yes | no
  X-Auth-User: name | -
  X-Mail-From: <address>
  X-Rcpt-To: <address>            (one line per recipient)

Needs aiosmtpd (scripts/requirements.txt). Stop it with SIGTERM.
"""

import argparse
import asyncio
import itertools
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, directory, listener):
        self.directory = directory
        self.listener = listener

    async def handle_DATA(self, server, session, envelope):
        number = next(COUNTER)
        peer = session.peer
        peer_text = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        tls = "yes" if (self.listener == "smtps" or server._tls_protocol is not None) else "no"
        user = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else "-"
        head = [
            f"X-Listener: {self.listener}",
            f"X-Peer: {peer_text}",
            f"X-TLS: {tls}",
            f"X-Auth-User: {user}",
            f"X-Mail-From: <{envelope.mail_from}>",
        ] + [f"X-Rcpt-To: <{rcpt}>" for rcpt in envelope.rcpt_tos]
        # Prepended like trace headers (as smtp-sink does): one header block.
        data = ("\r\n".join(head) + "\r\n").encode() + envelope.original_content
        final = os.path.join(self.directory, f"{number:06d}.eml")
        temp = os.path.join(self.directory, f".{number:06d}.tmp")
        with open(temp, "wb") as file:
            file.write(data)
        os.rename(temp, final)
        return f"250 2.0.0 Ok: queued as CV{number:06d}"


COUNTER = itertools.count(1)


def authenticator_for(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        # handled=False: aiosmtpd itself answers a failure with 535.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticator


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--starttls-port", type=int)
    parser.add_argument("--smtps-port", type=int)
    parser.add_argument("--plain-port", type=int)
    parser.add_argument("--cert", help="PEM certificate (needed for TLS listeners)")
    parser.add_argument("--key", help="PEM private key")
    parser.add_argument("--user", default="cv")
    parser.add_argument("--password", default="cv-secret")
    parser.add_argument("--dir", required=True, help="folder for received messages")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    context = None
    if args.starttls_port or args.smtps_port:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    authenticator = authenticator_for(args.user, args.password)
    loop = asyncio.get_running_loop()
    servers = []
    if args.starttls_port:
        servers.append(await loop.create_server(
            lambda: SMTP(Handler(args.dir, "starttls"), hostname="localhost", tls_context=context,
                         require_starttls=True, auth_required=True, authenticator=authenticator),
            args.host, args.starttls_port))
    if args.smtps_port:
        servers.append(await loop.create_server(
            lambda: SMTP(Handler(args.dir, "smtps"), hostname="localhost", auth_required=True,
                         auth_require_tls=False, authenticator=authenticator),
            args.host, args.smtps_port, ssl=context))
    if args.plain_port:
        servers.append(await loop.create_server(
            lambda: SMTP(Handler(args.dir, "plain"), hostname="localhost"), args.host, args.plain_port))
    if not servers:
        parser.error("give at least one of --starttls-port, --smtps-port, --plain-port")

    stop = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
    print("aiosmtpd_server: listening", flush=True)
    await stop
    for server in servers:
        server.close()


if __name__ == "__main__":
    # A parent may spawn us with signals blocked (Foundation's Process from a pool thread).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    # aiosmtpd warns that AUTH without STARTTLS is unsafe; on the SMTPS listener it is not.
    import warnings

    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    asyncio.run(main())
    sys.exit(0)
