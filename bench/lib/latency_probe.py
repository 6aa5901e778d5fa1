#!/usr/bin/env python3
"""Latency probes for bench/login_latency.sh, one keep-alive connection each, loopback only.

  latency_probe.py healthz PORT SECONDS OUT
      GET /healthz every 20 ms for SECONDS; appends "healthz <ms> <status>" lines to OUT.
  latency_probe.py login PORT SECONDS OUT PORTAL ACCOUNTS_PREFIX ACCOUNTS PASSWORD MAILDIR|-
      sequential logins over the JSON API, account i = PREFIX<i % ACCOUNTS>: the password step
      ("password <ms> <status>"), then, unless MAILDIR is "-", the code read from the newest mail
      the sink wrote for that account and the code step ("login_code <ms> <status>"); "nomail" lines
      count the codes that did not arrive within 5 s.
  latency_probe.py prepare PORT TOKENS PORTAL ACCOUNTS_PREFIX ACCOUNTS PASSWORD MAILDIR
      one password step per account, untimed; writes "token code" lines to TOKENS: sessions
      waiting for their code, for the next mode.
  latency_probe.py codes PORT SECONDS OUT TOKENS PORTAL
      the code step of each prepared session, spread evenly over SECONDS ("code <ms> <status>"):
      code steps measured apart from any password step, so a slow hash pool cannot thin them out.

Both stop after SECONDS or 100000 requests, whichever comes first. Every request sends
X-Forwarded-For 198.51.100.7 (the server trusts 127.0.0.1 as a proxy): the saturating load
comes from other addresses, so no throttle delay of it lands on the probe.
"""
import email
import email.policy
import http.client
import json
import os
import pathlib
import re
import sys
import time

MAX_REQUESTS = 100000
HEADERS = {"X-Forwarded-For": "198.51.100.7", "Host": "127.0.0.1"}


def connect(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30)


def timed(conn, method, path, body=None, headers=None):
    """(ms, status, body) of one request; reconnects once when the server closed the connection."""
    all_headers = dict(HEADERS)
    all_headers.update(headers or {})
    for attempt in (0, 1):
        try:
            start = time.perf_counter()
            conn.request(method, path, body=body, headers=all_headers)
            reply = conn.getresponse()
            data = reply.read()
            return (time.perf_counter() - start) * 1000, reply.status, data
        except (ConnectionError, http.client.HTTPException):
            conn.close()
            if attempt:
                raise
    raise AssertionError("unreachable")


def healthz(port, seconds, out):
    conn = connect(port)
    end = time.monotonic() + seconds
    with open(out, "a") as f:
        for _ in range(MAX_REQUESTS):
            if time.monotonic() >= end:
                break
            ms, status, _ = timed(conn, "GET", "/healthz")
            f.write(f"healthz {ms:.3f} {status}\n")
            time.sleep(0.02)


CODE_MARK = "■ログイン認証コード"


def code_in(path):
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    at = text.find(CODE_MARK)
    found = re.search(r"\d+", text[at + len(CODE_MARK):]) if at >= 0 else None
    return str(message["to"]), found.group(0) if found else ""


def wait_for_code(maildir, seen, address, deadline):
    """The code of the first mail to ADDRESS the sink wrote since SEEN (names already read). A
    file that does not parse yet may still be being written: it is read again next time."""
    while time.monotonic() < deadline:
        for name in sorted(os.listdir(maildir)):
            if name in seen or not name.endswith(".eml"):
                continue
            try:
                to, code = code_in(maildir / name)
            except (OSError, ValueError, TypeError, AttributeError):
                continue
            if not code:
                continue
            seen.add(name)
            if address in to:
                return code
        time.sleep(0.002)
    return ""


def login(port, seconds, out, portal, prefix, accounts, password, maildir):
    conn = connect(port)
    mails = None if maildir == "-" else pathlib.Path(maildir)
    seen = set(os.listdir(mails)) if mails else set()
    end = time.monotonic() + seconds
    with open(out, "a") as f:
        for i in range(MAX_REQUESTS):
            if time.monotonic() >= end:
                break
            account = f"{prefix}{i % accounts}"
            body = json.dumps({"selfcare_id": account, "password": password})
            ms, status, data = timed(conn, "POST", f"/api/v1/{portal}/login", body, {"Content-Type": "application/json"})
            f.write(f"password {ms:.3f} {status}\n")
            if mails is None or status != 200:
                continue
            token = json.loads(data).get("token", "")
            code = wait_for_code(mails, seen, f"{account}@example.jp", time.monotonic() + 5)
            if not code:
                f.write("nomail 0 0\n")
                continue
            ms, status, _ = timed(conn, "POST", f"/api/v1/{portal}/code", json.dumps({"code": code}),
                                  {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            f.write(f"login_code {ms:.3f} {status}\n")


def prepare(port, tokens, portal, prefix, accounts, password, maildir):
    conn = connect(port)
    mails = pathlib.Path(maildir)
    seen = set(os.listdir(mails))
    with open(tokens, "w") as f:
        for i in range(accounts):
            account = f"{prefix}{i}"
            body = json.dumps({"selfcare_id": account, "password": password})
            _, status, data = timed(conn, "POST", f"/api/v1/{portal}/login", body, {"Content-Type": "application/json"})
            if status != 200:
                sys.exit(f"latency_probe: password step of {account} answered {status}")
            code = wait_for_code(mails, seen, f"{account}@example.jp", time.monotonic() + 10)
            if not code:
                print(f"latency_probe: no code mail for {account} within 10 s", file=sys.stderr)
                continue
            f.write(f"{json.loads(data)['token']} {code}\n")


def codes(port, seconds, out, tokens, portal):
    sessions = [line.split() for line in open(tokens) if line.strip()]
    conn = connect(port)
    step = max(seconds / max(len(sessions), 1), 0.02)
    start = time.monotonic()
    with open(out, "a") as f:
        for i, (token, code) in enumerate(sessions):
            pause = start + i * step - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            ms, status, _ = timed(conn, "POST", f"/api/v1/{portal}/code", json.dumps({"code": code}),
                                  {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
            f.write(f"code {ms:.3f} {status}\n")


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "prepare":
        tokens, portal, prefix, accounts, password, maildir = sys.argv[3:9]
        prepare(port, tokens, portal, prefix, int(accounts), password, maildir)
        return
    seconds, out = float(sys.argv[3]), sys.argv[4]
    if not 0 < seconds <= 600:
        sys.exit("latency_probe: SECONDS is above 0 and at most 600")
    if mode == "healthz":
        healthz(port, seconds, out)
    elif mode == "codes":
        codes(port, seconds, out, sys.argv[5], sys.argv[6])
    elif mode == "login":
        portal, prefix, accounts, password, maildir = sys.argv[5:10]
        login(port, seconds, out, portal, prefix, int(accounts), password, maildir)
    else:
        sys.exit(f"latency_probe: unknown mode {mode}")


if __name__ == "__main__":
    main()
