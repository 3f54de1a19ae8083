#!/usr/bin/env python3
"""Real clients against the API stack, from the test host.

    probe.py checks --domain api.oxy.so --ca ca.pem --https 18443 --http 18080 --smtp 12525 --submission 15587
    probe.py load --domain api.oxy.so --ca ca.pem --https 18443 --count 600 --seconds 120 --until-version v2 --out f

Prints (or writes) JSON. The load loop is bounded in count and time and stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
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
    versions = [r.get("version") for r in results]
    summary = {
        "total": len(results),
        "failures": sum(not r["ok"] for r in results),
        "failure_samples": [r for r in results if not r["ok"]][:5],
        "first_version": versions[0] if versions else None,
        "last_version": versions[-1] if versions else None,
        "switches": sum(1 for a, b in itertools.pairwise(versions) if a != b),
    }
    with open(args.out, "w") as handle:
        json.dump(summary, handle)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["checks", "load"])
    parser.add_argument("--domain", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--https", type=int, required=True)
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
    args = parser.parse_args()
    checks(args) if args.mode == "checks" else load(args)


if __name__ == "__main__":
    main()
