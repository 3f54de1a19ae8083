"""Mail from a droplet as DigitalOcean has it: the sandbox's DNS server is the droplet's resolver, the relay
stand-in takes submissions on 587, and outbound port 25 is blocked until the account's block is lifted.

One droplet, seen from inside (SSH): it resolves oxy.so's records as the sandbox holds them (a DKIM key's
long TXT record too, and its own PTR), submits a message to smtp.relay.oxy-sandbox.test:587 with STARTTLS
and AUTH (the sandbox's CA verifies the relay's certificate), and cannot reach port 25 of an outside
address while ``smtp_outbound_blocked``; it can once the setting is lifted.
"""

from __future__ import annotations

import base64
import json
import os
import socket

import dns.message
import dns.query
import dns.rdatatype
import dns.reversename
import pytest
from oxy_sandbox import process

from tests.machines import test_machines
from tests.machines.test_machines import address, create, ssh, wait_active

# The machine tests' fixtures: a sandbox with machines on, the operators' key.
machines, key_pair = test_machines.machines, test_machines.key_pair


@pytest.fixture
def account(do, key_pair):
    """The operators' key and a VPC of its own range (machine tests of other files may run at the same time on
    this engine, with the machine tests' usual VPC)."""
    do.ssh_keys.create({"name": "ops", "public_key": key_pair.with_suffix(".pub").read_text()})
    return do.vpcs.create({"name": "mail-ams3", "region": "ams3", "ip_range": "10.157.0.0/20"})["vpc"]


# Runs in the droplet (python3 from Debian, nothing else): asks the droplet's own resolver the queries it is
# given (wire format, hex), sends a message through the relay on 587 when asked, and tries port 25.
PROBE = r"""
import json, smtplib, socket, ssl, sys
args = json.loads(sys.argv[1])
server = next(l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver"))
answers = []
for asked, query in args["queries"]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    sock.sendto(bytes.fromhex(query), (asked or server, 53))
    answers.append(sock.recv(4096).hex())
out = {"resolver": server, "answers": answers, "resolv_conf": open("/etc/resolv.conf").read()}
if args.get("submit"):
    with smtplib.SMTP(args["relay_host"], 587, timeout=15) as client:
        client.ehlo("mail.oxy.so")
        out["auth_before_tls"] = client.has_extn("auth")
        client.starttls(context=ssl.create_default_context())
        client.ehlo("mail.oxy.so")
        client.login("oxy-relay", args["password"])
        client.sendmail("api@oxy.so", ["someone@example.net"], "Subject: from a droplet\r\n\r\nhello\r\n")
try:
    with smtplib.SMTP(args["relay_address"], 25, timeout=4) as client:
        client.ehlo("mail.oxy.so")
        client.sendmail("postmaster@oxy.so", ["postmaster@example.net"], "Subject: direct\r\n\r\nport 25\r\n")
    out["port25"] = "open"
except (OSError, smtplib.SMTPException) as exc:
    out["port25"] = "blocked: " + type(exc).__name__
print(json.dumps(out))
"""


def probe(key_pair, public: str, info: dict, queries: list, submit: bool) -> dict:
    """``queries``: (name server or None for the droplet's own resolver, query)."""
    args = {
        "queries": [(server, q.to_wire().hex()) for server, q in queries],
        "submit": submit,
        "relay_host": info["relay_host"],
        "relay_address": info["relay_address"],
        "password": "sandbox-relay-password",
    }
    encoded = base64.b64encode(PROBE.encode()).decode()
    command = f"python3 -c \"import base64; exec(base64.b64decode('{encoded}'))\" '{json.dumps(args)}'"
    out = ssh(key_pair, public, command, timeout=40)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.slow
def test_a_droplet_resolves_through_the_sandbox_and_relays_on_587_not_25(machines, do, key_pair, account, sandbox):
    info = machines
    if not info.get("dns_address") or not info.get("relay_address"):
        pytest.skip("this sandbox runs no DNS server or mail relay (see its log)")
    if not info.get("firewalls_enforced"):
        pytest.skip("iptables is not usable here: the block of outbound port 25 cannot be enforced")
    assert info["smtp_outbound_blocked"] is True
    do.domains.create({"name": "oxy.so", "ip_address": "198.51.100.20"})
    dkim = "v=DKIM1; k=rsa; p=" + "A" * 392  # as long as a 2048-bit key's record
    do.domains.create_record("oxy.so", {"type": "TXT", "name": "oxy1._domainkey", "data": dkim, "ttl": 300})
    do.domains.create_record("oxy.so", {"type": "MX", "name": "@", "data": "mail.oxy.so", "priority": 10, "ttl": 300})

    droplet = wait_active(do, create(do, key_pair, account["id"], name="mail.oxy.so")["id"])
    public = address(droplet, "public")
    queries = [
        (None, dns.message.make_query("oxy.so", "A")),
        (None, dns.message.make_query("oxy1._domainkey.oxy.so", "TXT", use_edns=0, payload=1232)),
        (None, dns.message.make_query("oxy.so", "MX")),
        (None, dns.message.make_query("smtp.relay.oxy-sandbox.test", "A")),
        # Docker's resolver in the machine names the machines of its networks itself: PTR from the sandbox's.
        (info["dns_address"], dns.message.make_query(dns.reversename.from_address(public), "PTR")),
    ]
    seen = probe(key_pair, public, info, queries, submit=True)
    a, txt, mx, relay_a, ptr = (dns.message.from_wire(bytes.fromhex(h)) for h in seen["answers"])
    assert [rd.to_text() for rd in a.answer[0]] == ["198.51.100.20"]
    assert b"".join(txt.answer[0][0].strings).decode() == dkim  # split into strings of 255 bytes, whole again
    assert [rd.to_text().lower() for rd in mx.answer[0]] == ["10 mail.oxy.so."]
    assert [rd.to_text() for rd in relay_a.answer[0]] == [info["relay_address"]]
    assert ptr.answer and ptr.answer[0].rdtype == dns.rdatatype.PTR
    assert [rd.to_text() for rd in ptr.answer[0]] == ["mail.oxy.so."]  # an FQDN droplet name is its PTR

    # Docker's resolver in the machine asks the sandbox's; a Docker engine in the droplet (which skips loopback
    # name servers) gives its containers the sandbox's DNS server directly.
    names = [line.split()[1] for line in seen["resolv_conf"].splitlines() if line.startswith("nameserver")]
    assert names == ["127.0.0.11", info["dns_address"]]

    assert seen["auth_before_tls"] is False
    assert seen["port25"].startswith("blocked"), seen  # DigitalOcean's block of outbound 25
    [kept] = sandbox.mail_messages()
    assert kept["port"] == 587 and kept["tls"] is True and kept["auth_user"] == "oxy-relay"
    assert kept["client_address"] == public and kept["rcpt_tos"] == ["someone@example.net"]

    sandbox.configure(smtp_outbound_blocked=False)  # the account's block lifted
    seen = probe(key_pair, public, info, [], submit=False)
    assert seen["port25"] == "open", seen
    direct = sandbox.mail_messages()[-1]
    assert direct["port"] == 25 and direct["client_address"] == public and direct["auth_user"] is None


def answers(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_the_dns_server_and_relay_stop_with_the_sandbox_and_come_back_on_their_addresses(tmp_path):
    if not os.environ.get("OXY_SANDBOX_DROPLET_IMAGE"):
        pytest.skip("no droplet image (OXY_SANDBOX_DROPLET_IMAGE; scripts/test builds it)")
    running = process.start(tmp_path / "state", reset=True)
    try:
        before = running.control("GET", "machines")
        if not before.get("dns_address") or not before.get("relay_address"):
            pytest.skip(before.get("reason") or "this sandbox runs no DNS server or mail relay (see its log)")
        query = dns.message.make_query("smtp.relay.oxy-sandbox.test", "A")
        answer = dns.query.udp(query, before["dns_address"], timeout=5)
        assert [rd.to_text() for rd in answer.answer[0]] == [before["relay_address"]]
        assert answers(before["relay_address"], 587) and answers(before["dns_address"], 53)
        process.stop(running)
        assert not answers(before["relay_address"], 587) and not answers(before["relay_address"], 25)
        assert not answers(before["dns_address"], 53)
        running = process.start(tmp_path / "state")
        after = running.control("GET", "machines")
        assert (after["dns_address"], after["relay_address"]) == (before["dns_address"], before["relay_address"])
        assert answers(after["relay_address"], 587)
    finally:
        process.stop(running)
