#!/usr/bin/python3
"""A local SMTP sink for the email delivery tests (Debian's python3-aiosmtpd).

Listens on 127.0.0.1:PORT and writes every accepted message into --dir as N.eml (the raw message as received)
beside N.json (the envelope: mail from, recipients), the .json renamed into place last so a reader never sees half
a message. Recipients whose local part starts with "reject" are refused with 550 (permanent), "tempfail" with 451
(try later). With --user/--password it offers AUTH PLAIN/LOGIN without TLS (loopback tests only) and requires it.
With --tls-cert/--tls-key it speaks TLS: STARTTLS, required before MAIL (--tls starttls, the default), or TLS from
the first byte (--tls implicit).
Prints "READY PORT" on stdout once it listens; exit code 3 when aiosmtpd is missing.
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult
except ImportError:
    print("MISSING-DEPENDENCY python3-aiosmtpd", file=sys.stderr, flush=True)
    sys.exit(3)


class Sink:
    def __init__(self, folder):
        self.folder = folder
        # A restarted sink goes on numbering after what it kept.
        self.count = sum(1 for f in os.listdir(folder) if f.endswith(".eml"))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 Mailbox unavailable"
        if local.startswith("tempfail"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.folder, f"{self.count:06d}")
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "authenticated": bool(session.authenticated),
        }
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.replace(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--tls", choices=["starttls", "implicit"], default="starttls")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == a.user and auth_data.password.decode() == a.password
        # handled=False: aiosmtpd answers the refusal (535) itself.
        return AuthResult(success=ok, handled=False)

    kwargs = {}
    if a.user:
        kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    listen_ssl = None
    if a.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(a.tls_cert, a.tls_key)
        if a.tls == "implicit":
            listen_ssl = context
        else:
            kwargs.update(tls_context=context, require_starttls=True)
    handler = Sink(a.dir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, hostname="sink.test", **kwargs), host="127.0.0.1", port=a.port, reuse_address=True,
                           ssl=listen_ssl))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    print(f"READY {a.port}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
