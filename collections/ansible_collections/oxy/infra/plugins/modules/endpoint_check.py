#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: endpoint_check
short_description: Check a host's public services the way their clients see them
version_added: 0.2.0
description:
  - Connects to O(address) from where the module runs and checks each service that is configured, as a client
    would; DNS is not consulted, so a host can be checked before its names point at it.
  - HTTPS with the certificate verified for the service's name, an answer and optionally fields of its JSON body;
    plain HTTP answering with a redirect to HTTPS; an SMTP greeting; STARTTLS on the submission port with a
    certificate valid for the mail host; a port that must refuse connections from a given source address.
  - The checks run side by side, so the module takes as long as its slowest check (usually a refused port's wait).
  - Fails with every check that failed and why, never with a traceback.
attributes:
  check_mode:
    description: Only connects and reads; runs the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
  idempotent:
    description: Changes nothing.
    support: full
options:
  address:
    description: The address to connect to (for example the droplet's public IPv4).
    type: str
    required: true
  timeout:
    description: Seconds for each connection and each answer.
    type: int
    default: 10
  https:
    description: Check HTTPS.
    type: dict
    suboptions:
      server_name:
        description: The name sent as SNI and C(Host), and that the certificate must be valid for.
        type: str
        required: true
      port:
        description: The HTTPS port.
        type: int
        default: 443
      path:
        description: The path to request.
        type: str
        default: /
      ca_pem:
        description: PEM certificates to trust instead of the system's (a private CA such as Caddy's internal one).
        type: str
      status:
        description: The status the answer must have.
        type: int
        default: 200
      json:
        description: Fields the answer's JSON body must have, with these values.
        type: dict
  http_redirect:
    description: Check that plain HTTP redirects to HTTPS.
    type: dict
    suboptions:
      server_name:
        description: The name sent as C(Host).
        type: str
        required: true
      port:
        description: The HTTP port.
        type: int
        default: 80
  smtp:
    description: Check that an SMTP server greets.
    type: dict
    suboptions:
      port:
        description: The SMTP port.
        type: int
        default: 25
  submission:
    description: Check mail submission with STARTTLS.
    type: dict
    suboptions:
      port:
        description: The submission port.
        type: int
        default: 587
      server_name:
        description: The mail host's name, which the certificate must be valid for.
        type: str
        required: true
      ca_pem:
        description: PEM certificates to trust instead of the system's.
        type: str
  refused:
    description: Ports that must not accept a connection from a source address (for example SSH from outside the
      allowed addresses).
    type: list
    elements: dict
    default: []
    suboptions:
      port:
        description: The port.
        type: int
        required: true
      source:
        description: The local address to connect from; it must be an address of the host the module runs on.
        type: str
        required: true
      wait:
        description:
          - Seconds to wait for an answer before a port that answers nothing (a firewall that drops) counts as
            refused; at most O(timeout). An open port answers within a round trip, and TCP sends an unanswered
            connection attempt again after one second, so two seconds also see a port whose first answer was lost.
        type: float
        default: 2
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The API droplet serves HTTPS and mail, and refuses SSH from outside
  oxy.infra.endpoint_check:
    address: "{{ droplet_ip }}"
    https: {server_name: api.oxy.so, json: {version: "2026.11.1"}}
    http_redirect: {server_name: api.oxy.so}
    smtp: {}
    submission: {server_name: mail.oxy.so}
    refused:
      - {port: 22, source: 198.51.100.254}
"""

RETURN = r"""
checks:
  description: One entry per check, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: What was checked.
      type: str
    ok:
      description: Whether it passed.
      type: bool
    detail:
      description: What was seen.
      type: str
"""

import concurrent.futures
import http.client
import json
import smtplib
import socket
import ssl

from ansible.module_utils.basic import AnsibleModule


def _context(ca_pem):
    context = ssl.create_default_context()
    if ca_pem:
        context = ssl.create_default_context(cadata=ca_pem)
    return context


def _https(address, spec, timeout):
    context = _context(spec.get("ca_pem"))
    sock = socket.create_connection((address, spec["port"]), timeout=timeout)
    conn = http.client.HTTPSConnection(address, spec["port"], timeout=timeout, context=context)
    conn.sock = context.wrap_socket(sock, server_hostname=spec["server_name"])
    try:
        conn.request("GET", spec["path"], headers={"Host": spec["server_name"], "User-Agent": "oxy.infra"})
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != spec["status"]:
        return False, "answered %s, expected %s" % (resp.status, spec["status"])
    if spec.get("json"):
        try:
            data = json.loads(body)
        except ValueError:
            return False, "answered %s with a body that is not JSON" % resp.status
        wrong = dict((k, data.get(k)) for k, v in spec["json"].items() if data.get(k) != v)
        if wrong:
            return False, "JSON fields differ: %s (expected %s)" % (json.dumps(wrong), json.dumps(spec["json"]))
    return True, "answered %s over %s" % (resp.status, conn.sock.version() if conn.sock else "TLS")


def _redirect(address, spec, timeout):
    conn = http.client.HTTPConnection(address, spec["port"], timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Host": spec["server_name"]})
        resp = conn.getresponse()
        location = resp.getheader("Location") or ""
    finally:
        conn.close()
    if resp.status in (301, 302, 307, 308) and location.startswith("https://%s" % spec["server_name"]):
        return True, "%s to %s" % (resp.status, location)
    return False, "answered %s (Location: %r), expected a redirect to https://%s" % (
        resp.status,
        location,
        spec["server_name"],
    )


def _smtp(address, spec, timeout):
    with smtplib.SMTP(timeout=timeout) as smtp:
        code, banner = smtp.connect(address, spec["port"])
        if code != 220:
            return False, "greeted with %s %s" % (code, banner.decode(errors="replace"))
        return True, "220 %s" % banner.decode(errors="replace")


def _submission(address, spec, timeout):
    with smtplib.SMTP(timeout=timeout) as smtp:
        smtp.connect(address, spec["port"])
        smtp.ehlo("oxy-infra-check")
        if not smtp.has_extn("starttls"):
            return False, "does not offer STARTTLS"
        context = _context(spec.get("ca_pem"))
        smtp._host = spec["server_name"]  # smtplib verifies the certificate against this name
        smtp.starttls(context=context)
        version = smtp.sock.version()
        smtp.ehlo("oxy-infra-check")
        return True, "STARTTLS (%s), certificate valid for %s" % (version, spec["server_name"])


def _refused(address, spec, timeout):
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(min(timeout, spec["wait"]))
    try:
        sock.bind((spec["source"], 0))
    except OSError as exc:
        sock.close()
        return False, "cannot connect from %s (not an address of this host?): %s" % (spec["source"], exc)
    try:
        sock.connect((address, spec["port"]))
    except OSError as exc:
        return True, "refused from %s (%s)" % (spec["source"], exc.__class__.__name__)
    finally:
        sock.close()
    return False, "port %s accepted a connection from %s" % (spec["port"], spec["source"])


CHECKS = (
    ("https", _https, "HTTPS %(server_name)s on %(port)s"),
    ("http_redirect", _redirect, "HTTP %(server_name)s on %(port)s redirects"),
    ("smtp", _smtp, "SMTP greeting on %(port)s"),
    ("submission", _submission, "STARTTLS on %(port)s for %(server_name)s"),
)


def _run(address, func, spec, timeout):
    try:
        return func(address, spec, timeout)
    except (OSError, ssl.SSLError, smtplib.SMTPException, http.client.HTTPException) as exc:
        return False, "%s: %s" % (exc.__class__.__name__, exc)


def run_checks(params):
    """Every check configured, side by side; the results in the order of CHECKS, then the refused ports."""
    plan = [(func, label, params[key]) for key, func, label in CHECKS if params.get(key) is not None]
    plan += [(_refused, "port %(port)s refused from %(source)s", spec) for spec in params["refused"]]
    if not plan:
        return []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(plan)) as pool:
        futures = [pool.submit(_run, params["address"], func, spec, params["timeout"]) for func, _label, spec in plan]
        outcomes = [future.result() for future in futures]
    return [dict(name=label % spec, ok=ok, detail=detail) for (_func, label, spec), (ok, detail) in zip(plan, outcomes)]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type="str", required=True),
            timeout=dict(type="int", default=10),
            https=dict(
                type="dict",
                options=dict(
                    server_name=dict(type="str", required=True),
                    port=dict(type="int", default=443),
                    path=dict(type="str", default="/"),
                    ca_pem=dict(type="str"),
                    status=dict(type="int", default=200),
                    json=dict(type="dict"),
                ),
            ),
            http_redirect=dict(
                type="dict",
                options=dict(server_name=dict(type="str", required=True), port=dict(type="int", default=80)),
            ),
            smtp=dict(type="dict", options=dict(port=dict(type="int", default=25))),
            submission=dict(
                type="dict",
                options=dict(
                    port=dict(type="int", default=587),
                    server_name=dict(type="str", required=True),
                    ca_pem=dict(type="str"),
                ),
            ),
            refused=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    port=dict(type="int", required=True),
                    source=dict(type="str", required=True),
                    wait=dict(type="float", default=2),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    checks = run_checks(module.params)
    failed = [c for c in checks if not c["ok"]]
    if failed:
        reasons = "; ".join("%s: %s" % (c["name"], c["detail"]) for c in failed)
        module.fail_json(
            msg="%d of %d checks of %s failed: %s" % (len(failed), len(checks), module.params["address"], reasons),
            checks=checks,
        )
    module.exit_json(changed=False, checks=checks)


if __name__ == "__main__":
    main()
