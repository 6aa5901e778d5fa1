#!/usr/bin/env python3
"""A configurable SMTP relay for nidan's integration tests, on aiosmtpd.

Keeps every accepted mail as a .eml file (exactly the bytes received, after dot-unstuffing) and
prints one line per event on stdout, flushed, so a test can count connections and attempts:
    listening on PORT
    connect | AUTH <mech> ok|failed | MAIL <addr> | RCPT <addr> | DATA | stored <file> | reply <stage> <text>
Fault modes answer a stage with a fixed reply (--reply-mail/--reply-rcpt/--reply-data), refuse
some recipients for good and accept the rest (--reject-rcpt), or accept TCP and never greet
(--stall). Runs until SIGTERM or SIGINT.
"""
import argparse
import asyncio
import pathlib
import signal
import ssl
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def event(text: str) -> None:
    print(text, flush=True)


class Handler:
    def __init__(self, folder: pathlib.Path, args: argparse.Namespace):
        self.folder = folder
        self.args = args
        self.count = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        event(f"MAIL {address}")
        if self.args.reply_mail:
            event(f"reply MAIL {self.args.reply_mail}")
            if self.args.reply_mail.startswith("421"):
                # RFC 5321 3.8: a 421 announces that the server closes the connection.
                server.loop.call_soon(server.transport.close)
            return self.args.reply_mail
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        event(f"RCPT {address}")
        if self.args.reply_rcpt:
            event(f"reply RCPT {self.args.reply_rcpt}")
            return self.args.reply_rcpt
        if address in (self.args.reject_rcpt or []):
            reply = "550 5.1.1 no such user"
            event(f"reply RCPT {reply}")
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        event("DATA")
        if self.args.reply_data:
            event(f"reply DATA {self.args.reply_data}")
            return self.args.reply_data
        self.count += 1
        # Names sort in arrival order, also across restarts of the relay on the same folder.
        name = f"{time.time_ns():020d}-{self.count:04d}.eml"
        partial = self.folder / (name + ".part")
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / name)  # a reader never sees half a mail
        event(f"stored {name}")
        return "250 2.0.0 OK stored"


def make_authenticator(user_pass: str):
    user, _, password = user_pass.partition(":")

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        event(f"AUTH {mechanism} {'ok' if ok else 'failed'}")
        return AuthResult(success=ok, handled=False)

    return authenticate


def server_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class Stall(asyncio.Protocol):
    """Accepts the connection and then says nothing, as a hung relay does."""

    open_transports: set = set()

    def connection_made(self, transport):
        event("connect")
        self.transport = transport
        Stall.open_transports.add(transport)

    def connection_lost(self, exc):
        Stall.open_transports.discard(self.transport)


async def serve(args: argparse.Namespace) -> None:
    host, port = args.listen.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    implicit = server_context(*args.implicit_tls) if args.implicit_tls else None
    if args.stall:
        factory = Stall
    else:
        folder = pathlib.Path(args.dir)
        folder.mkdir(parents=True, exist_ok=True)
        handler = Handler(folder, args)
        options = dict(hostname="relay.test", ident="nidan test relay", decode_data=False,
                       data_size_limit=10 * 1024 * 1024, timeout=30)
        if args.starttls:
            options.update(tls_context=server_context(*args.starttls), require_starttls=True)
        if args.auth:
            # aiosmtpd only counts STARTTLS as encryption; with implicit TLS the whole
            # connection is encrypted, so AUTH is allowed from the start.
            options.update(authenticator=make_authenticator(args.auth), auth_required=True,
                           auth_require_tls=implicit is None)

        def factory():
            event("connect")
            return SMTP(handler, **options)

    server = await loop.create_server(factory, host, int(port), ssl=implicit)
    event(f"listening on {server.sockets[0].getsockname()[1]}")
    await stop
    server.close()
    # Open sessions end with the process (not awaited: since Python 3.12 wait_closed() would
    # wait for every client to leave).
    for transport in list(Stall.open_transports):
        transport.abort()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT; port 0 picks a free one")
    parser.add_argument("--dir", help="folder for the .eml files (required unless --stall)")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"), help="offer and require STARTTLS")
    parser.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"), help="TLS from the first byte")
    parser.add_argument("--auth", metavar="USER:PASS", help="require AUTH PLAIN/LOGIN with these credentials")
    parser.add_argument("--reply-mail", metavar="REPLY", help='answer MAIL with this, e.g. "421 4.3.2 closing"')
    parser.add_argument("--reply-rcpt", metavar="REPLY", help='answer RCPT with this, e.g. "550 5.1.1 no such user"')
    parser.add_argument("--reject-rcpt", action="append", metavar="ADDRESS",
                        help="answer RCPT TO this address with 550 5.1.1 (repeatable); others are accepted")
    parser.add_argument("--reply-data", metavar="REPLY", help='answer the message with this, e.g. "451 4.3.0 try later"')
    parser.add_argument("--stall", action="store_true", help="accept connections and never send the greeting")
    args = parser.parse_args()
    if not args.stall and not args.dir:
        parser.error("--dir is required")
    if args.starttls and args.implicit_tls:
        parser.error("--starttls and --implicit-tls exclude each other")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
