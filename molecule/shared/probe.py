#!/usr/bin/env python3
"""Real clients against the API stack, from the test host.

    probe.py checks --domain api.oxy.so --ca ca.pem --https 18443 --http 18080 --smtp 12525 --submission 15587
    probe.py load --domain api.oxy.so --ca ca.pem --https 18443 --count 600 --seconds 120 --until-version v2 --out f
    probe.py mail --domain oxy.so --ca ca.pem --smtp 12525 --submission 15587 --user api --sender noreply@oxy.so \
        --other-sender ops@oxy.so --token T          (the user's password in OXY_PROBE_PASSWORD)
    probe.py dkim --domain oxy.so --message m.eml --keys keys.json    (keys: selector -> p= value)

Prints (or writes) JSON. The load loop is bounded in count and time and stops by itself.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import os
import smtplib
import socket
import ssl
import time


def https_get(args, path="/", context=None):
    """GET https://{domain}{path} through 127.0.0.1:{https}, with SNI and a verified certificate."""
    context = context or ssl.create_default_context(cafile=args.ca)
    conn = http.client.HTTPSConnection("127.0.0.1", args.https, timeout=10, context=context)
    sock = socket.create_connection(("127.0.0.1", args.https), timeout=10)
    conn.sock = context.wrap_socket(sock, server_hostname=args.domain)
    conn.request("GET", path, headers={"Host": args.domain})
    resp = conn.getresponse()
    body = resp.read()
    headers = {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    return resp.status, headers, body


def checks(args):
    out = {}
    status, headers, body = https_get(args)
    out["https_status"] = status
    out["https_body"] = json.loads(body)
    out["headers"] = headers
    conn = http.client.HTTPConnection("127.0.0.1", args.http, timeout=10)
    conn.request("GET", "/some/path", headers={"Host": args.domain})
    resp = conn.getresponse()
    out["redirect_status"] = resp.status
    out["redirect_location"] = resp.getheader("Location")
    conn.close()
    try:
        socket.create_connection(("127.0.0.1", args.api_port), timeout=2).close()
        out["api_port_reachable"] = True
    except OSError:
        out["api_port_reachable"] = False
    with smtplib.SMTP("127.0.0.1", args.smtp, timeout=20) as smtp:  # connecting reads the 220 greeting
        out["smtp_noop"] = smtp.noop()[0]
    with smtplib.SMTP("127.0.0.1", args.submission, timeout=20) as smtp:
        smtp.ehlo("probe.example")
        out["submission_offers_starttls"] = smtp.has_extn("starttls")
        context = ssl.create_default_context(cafile=args.ca)
        context.check_hostname = False  # the name is checked below, against the mail host
        smtp.starttls(context=context)
        cert = smtp.sock.getpeercert()
        out["starttls_version"] = smtp.sock.version()
        out["starttls_names"] = [v for kind, v in cert.get("subjectAltName", ()) if kind == "DNS"]
        smtp.ehlo("probe.example")
        out["after_starttls_ehlo"] = smtp.ehlo_resp.decode().splitlines()[0]
    print(json.dumps(out))


def summarize(results):
    """The load loop's outcome: how many requests failed, and how often the answers' version changed."""
    versions = [r["version"] for r in results if r["ok"]]
    failed = [r for r in results if not r["ok"]]
    return {
        "total": len(results),
        "failures": len(failed),
        "failure_samples": failed[:5],
        "first_version": versions[0] if versions else None,
        "last_version": versions[-1] if versions else None,
        "switches": sum(1 for a, b in itertools.pairwise(versions) if a != b),
    }


def load(args):
    context = ssl.create_default_context(cafile=args.ca)
    deadline = time.monotonic() + args.seconds
    results = []
    seen_target_at = None
    while time.monotonic() < deadline and len(results) < args.max:
        started = time.monotonic()
        try:
            status, _, body = https_get(args, context=context)
            version = json.loads(body).get("version") if status == 200 else None
            results.append({"ok": status == 200, "status": status, "version": version})
        except (OSError, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
            results.append({"ok": False, "status": None, "error": repr(exc)})
        if results[-1].get("version") == args.until_version and seen_target_at is None:
            seen_target_at = len(results)
        if len(results) >= args.count and seen_target_at and len(results) - seen_target_at >= 50:
            break
        time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    summary = summarize(results)
    with open(args.out, "w") as handle:
        json.dump(summary, handle)


def _message(sender, recipient, subject, token):
    return (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\nMessage-ID: <{token}@probe.example>\r\n"
        f"Date: Thu, 03 Dec 2026 12:00:00 +0000\r\n\r\n{subject}: {token}\r\n"
    )


def _tls(args):
    context = ssl.create_default_context(cafile=args.ca)
    context.check_hostname = False  # the mail host's name is checked by `checks`
    return context


def mail(args):
    """25 and 587 as strangers, a wrong password, another user's address and a real submission would use them."""
    password = os.environ["OXY_PROBE_PASSWORD"]
    out = {}
    with smtplib.SMTP("127.0.0.1", args.smtp, timeout=20) as smtp:  # through Docker's published port
        smtp.ehlo("probe.example")
        out["smtp_offers_auth"] = smtp.has_extn("auth")
        out["smtp_mail"] = smtp.mail("someone@example.net")[0]
        out["smtp_rcpt_mailbox"] = smtp.rcpt(f"postmaster@{args.domain}")[0]
        out["smtp_rcpt_unknown"] = smtp.rcpt(f"nobody-{args.token}@{args.domain}")
        out["smtp_rcpt_outside"] = smtp.rcpt("victim@example.com")
        out["smtp_data"] = smtp.data(_message("someone@example.net", f"abuse@{args.domain}", "inbound", args.token))[0]
        smtp.starttls(context=_tls(args))
        smtp.ehlo("probe.example")
        out["smtp_offers_auth_after_starttls"] = smtp.has_extn("auth")
        smtp.mail("someone@example.net")
        out["smtp_rcpt_outside_after_starttls"] = smtp.rcpt("victim@example.com")[0]
    plain = base64.b64encode(f"\0{args.user}\0{password}".encode()).decode()
    with smtplib.SMTP("127.0.0.1", args.submission, timeout=20) as smtp:
        smtp.ehlo("probe.example")
        out["submission_offers_auth_before_starttls"] = smtp.has_extn("auth")
        out["submission_auth_before_starttls"] = smtp.docmd("AUTH", f"PLAIN {plain}")[0]
        out["submission_mail_before_starttls"] = smtp.docmd("MAIL", f"FROM:<{args.sender}>")[0]
        smtp.starttls(context=_tls(args))
        smtp.ehlo("probe.example")
        out["submission_offers_auth"] = smtp.has_extn("auth")
        out["submission_mail_without_auth"] = smtp.mail(args.sender)
        smtp.rset()
        try:
            smtp.login(args.user, password + "-wrong")
            out["submission_wrong_password"] = 235
        except smtplib.SMTPAuthenticationError as exc:
            out["submission_wrong_password"] = exc.smtp_code
    with smtplib.SMTP("127.0.0.1", args.submission, timeout=20) as smtp:
        smtp.ehlo("probe.example")
        smtp.starttls(context=_tls(args))
        smtp.ehlo("probe.example")
        out["submission_login"] = smtp.login(args.user, password)[0]
        out["submission_mail_other_sender"] = smtp.mail(args.other_sender)
        smtp.rset()
        out["submission_mail"] = smtp.mail(args.sender)[0]
        out["submission_rcpt"] = smtp.rcpt(f"postmaster@{args.domain}")[0]
        out["submission_data"] = smtp.data(_message(args.sender, f"postmaster@{args.domain}", "submitted", args.token))
    print(json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}, default=bytes.decode))


def dkim_verify(args):
    """Verifies a message's DKIM signature against the public keys given (no DNS: the keys are the records)."""
    import dkim  # dkimpy, on the test host only

    with open(args.keys) as handle:
        keys = json.load(handle)
    with open(args.message, "rb") as handle:
        message = handle.read()
    suffix = f"._domainkey.{args.domain}."

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        selector = name[: -len(suffix)] if name.endswith(suffix) else None
        return f"v=DKIM1; k=rsa; p={keys[selector]}".encode() if selector in keys else None

    header = message.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    unfolded = header.replace(b"\n\t", b"\t").replace(b"\n ", b" ").split(b"\n")
    signatures = [line for line in unfolded if line.lower().startswith(b"dkim-signature:")]
    tags = {}
    if signatures:
        tags = {k.decode(): v.decode() for k, v in dkim.util.parse_tag_value(signatures[0].split(b":", 1)[1]).items()}
    verified = bool(signatures) and dkim.DKIM(message).verify(dnsfunc=dnsfunc)
    print(
        json.dumps(
            {"signed": bool(signatures), "verified": verified, "selector": tags.get("s"), "domain": tags.get("d")}
        )
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["checks", "load", "mail", "dkim"])
    parser.add_argument("--domain", required=True)
    parser.add_argument("--ca")
    parser.add_argument("--https", type=int)
    parser.add_argument("--http", type=int, default=0)
    parser.add_argument("--smtp", type=int, default=0)
    parser.add_argument("--submission", type=int, default=0)
    parser.add_argument("--api-port", type=int, default=3000)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--max", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--until-version", default="v2")
    parser.add_argument("--out", default="/dev/stdout")
    parser.add_argument("--user")
    parser.add_argument("--sender")
    parser.add_argument("--other-sender")
    parser.add_argument("--token")
    parser.add_argument("--message")
    parser.add_argument("--keys")
    args = parser.parse_args()
    {"checks": checks, "load": load, "mail": mail, "dkim": dkim_verify}[args.mode](args)


if __name__ == "__main__":
    main()
