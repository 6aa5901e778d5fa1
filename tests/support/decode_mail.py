#!/usr/bin/env python3
"""Prints one stored mail (.eml, or a Postfix smtp-sink dump file) as JSON:
{from, to, from_address, to_address, subject, body, headers, raw_line_max}.
Headers are decoded (RFC 2047); body is the text part's payload decoded from its transfer
encoding and charset, line ends untouched, so it can be compared byte for byte;
raw_line_max is the longest line of the file as stored, line ends not counted."""
import email
import email.policy
import json
import sys


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: decode_mail.py FILE")
    raw = open(sys.argv[1], "rb").read()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain",))
    body = ""
    if part is not None:
        payload = part.get_payload(decode=True) or b""
        body = payload.decode(part.get_content_charset() or "us-ascii")
    headers = {}
    for name, value in message.items():
        headers.setdefault(name, str(value))  # the first one wins, like a reader's view

    def address(name: str) -> str:
        field = message[name]
        return field.addresses[0].addr_spec if field is not None and field.addresses else ""

    json.dump({
        "from": str(message["From"] or ""),
        "to": str(message["To"] or ""),
        "from_address": address("From"),
        "to_address": address("To"),
        "subject": str(message["Subject"] or ""),
        "body": body,
        "headers": headers,
        "raw_line_max": max((len(line) for line in raw.splitlines()), default=0),
    }, sys.stdout, ensure_ascii=True)
    print()


if __name__ == "__main__":
    main()
