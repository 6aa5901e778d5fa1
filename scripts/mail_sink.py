#!/usr/bin/env python3
"""A local SMTP capture server for the demo and the tests: accepts every mail on loopback,
prints its headers and decoded text body, and keeps the raw message in a folder."""
import argparse
import asyncio
import email
import email.policy
import pathlib
import signal
import time

from aiosmtpd.controller import Controller


class CaptureHandler:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = f"{time.time_ns()}-{self.count}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        print(f"--- mail {name} from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}\n"
              f"Subject: {message['subject']}\n\n{text}\n---", flush=True)
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1:2525")
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    folder = pathlib.Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(CaptureHandler(folder), hostname=host, port=int(port),
                            decode_data=False, data_size_limit=10 * 1024 * 1024)
    controller.start()
    print(f"mail sink on {host}:{port}, keeping mails in {folder}", flush=True)
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    loop.run_until_complete(stop)
    controller.stop()


if __name__ == "__main__":
    main()
