"""The sandbox's DNS server, in this process on loopback: what droplets' resolvers answer.

The server reads the sandbox's store on every query (records changed through the API are answered at
once), is authoritative for the sandbox's domains and the public network's reverse zone (PTR as
DigitalOcean sets it), answers the sandbox's own services, and forwards the rest, never to itself.
"""

from __future__ import annotations

import base64

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oxy_sandbox.backends.machines import PUBLIC_RANGE
from oxy_sandbox.backends.nameserver import Answers, DnsServer, is_fqdn
from oxy_sandbox.core import Sandbox
from oxy_sandbox.models import DropletCreate
from oxy_sandbox.store import Store

RELAY = "198.51.100.239"
SERVICES = (
    {"registry.digitalocean.com": "198.51.100.253", "smtp.relay.oxy-sandbox.test": RELAY},
    {"relay.oxy-sandbox.test": f"v=spf1 ip4:{RELAY} -all"},
)


def served(sb: Sandbox, upstreams=None) -> DnsServer:
    server = DnsServer(Answers(sb, lambda: SERVICES, PUBLIC_RANGE), "127.0.0.1", port=0, upstreams=upstreams or [])
    server.start()
    return server


@pytest.fixture
def sb():
    sandbox = Sandbox(Store(None))
    sandbox.domains.create("oxy.so", "198.51.100.20")
    return sandbox


@pytest.fixture
def server(sb):
    running = served(sb)
    yield running
    running.stop()


def ask(server: DnsServer, name: str, kind: str, tcp: bool = False, edns: bool = True) -> dns.message.Message:
    query = dns.message.make_query(name, kind, use_edns=0 if edns else False, payload=1232)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, server.address, port=server.port, timeout=5)


def texts(answer: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in answer.answer for rd in rrset)


def test_records_of_the_sandbox_domains_are_answered_with_their_ttl(sb, server):
    sb.domains.create_record("oxy.so", {"type": "A", "name": "mail", "data": "198.51.100.21", "ttl": 300})
    sb.domains.create_record("oxy.so", {"type": "MX", "name": "@", "data": "mail.oxy.so", "priority": 10})
    sb.domains.create_record("oxy.so", {"type": "CNAME", "name": "www", "data": "@", "ttl": 600})
    sb.domains.create_record("oxy.so", {"type": "TXT", "name": "@", "data": "v=spf1 mx -all", "ttl": 120})

    answer = ask(server, "mail.oxy.so", "A")
    assert answer.rcode() == dns.rcode.NOERROR and answer.flags & dns.flags.AA
    assert texts(answer) == ["198.51.100.21"] and answer.answer[0].ttl == 300
    assert texts(ask(server, "oxy.so", "A")) == ["198.51.100.20"]
    mx = ask(server, "OXY.so.", "MX")  # names are case-insensitive
    assert [t.lower() for t in texts(mx)] == ["10 mail.oxy.so."] and mx.answer[0].ttl == 1800
    txt = ask(server, "oxy.so", "TXT")
    assert texts(txt) == ['"v=spf1 mx -all"'] and txt.answer[0].ttl == 120
    followed = ask(server, "www.oxy.so", "A")  # the CNAME and, followed, the A record it names
    assert [(r.name.to_text(), r.rdtype) for r in followed.answer] == [
        ("www.oxy.so.", dns.rdatatype.CNAME),
        ("oxy.so.", dns.rdatatype.A),
    ]
    assert texts(followed) == ["198.51.100.20", "oxy.so."]
    assert texts(ask(server, "www.oxy.so", "CNAME")) == ["oxy.so."]
    assert sorted(texts(ask(server, "oxy.so", "NS"))) == [f"ns{n}.digitalocean.com." for n in (1, 2, 3)]
    assert texts(ask(server, "oxy.so", "SOA"))[0].startswith("ns1.digitalocean.com. hostmaster.oxy.so. ")


def test_a_changed_record_is_answered_at_once(sb, server):
    record = sb.domains.create_record("oxy.so", {"type": "A", "name": "api", "data": "198.51.100.30", "ttl": 60})
    assert texts(ask(server, "api.oxy.so", "A")) == ["198.51.100.30"]
    sb.domains.change_record("oxy.so", record["id"], {"data": "198.51.100.31"})
    assert texts(ask(server, "api.oxy.so", "A")) == ["198.51.100.31"]
    sb.domains.delete_record("oxy.so", record["id"])
    assert ask(server, "api.oxy.so", "A").rcode() == dns.rcode.NXDOMAIN


def test_long_txt_records_are_split_into_strings_of_255_bytes(sb, server):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    value = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
    assert len(value) > 400
    sb.domains.create_record("oxy.so", {"type": "TXT", "name": "oxy2026._domainkey", "data": value})
    for answer in (
        ask(server, "oxy2026._domainkey.oxy.so", "TXT"),
        ask(server, "oxy2026._domainkey.oxy.so", "TXT", tcp=True),
    ):
        strings = answer.answer[0][0].strings
        assert [len(s) for s in strings] == [255, len(value) - 255]
        assert b"".join(strings).decode() == value  # what a DKIM verifier reads: the strings joined

    # A client without EDNS gets 512 bytes over UDP: the answer says it is truncated, TCP carries it whole.
    big = "x" * 900
    sb.domains.create_record("oxy.so", {"type": "TXT", "name": "big", "data": big})
    small = ask(server, "big.oxy.so", "TXT", edns=False)
    assert small.flags & dns.flags.TC and not small.answer
    assert b"".join(ask(server, "big.oxy.so", "TXT", tcp=True).answer[0][0].strings).decode() == big


def test_names_without_records_are_refused_authoritatively(sb, server):
    sb.domains.create_record("oxy.so", {"type": "TXT", "name": "sel._domainkey", "data": "v=DKIM1; p="})
    sb.domains.create_record("oxy.so", {"type": "A", "name": "mail", "data": "198.51.100.21"})
    missing = ask(server, "nothing.oxy.so", "A")
    assert missing.rcode() == dns.rcode.NXDOMAIN and missing.flags & dns.flags.AA
    assert missing.authority[0].rdtype == dns.rdatatype.SOA and not missing.answer
    other_type = ask(server, "mail.oxy.so", "TXT")  # the name exists with another type: NOERROR, no answer
    assert other_type.rcode() == dns.rcode.NOERROR and not other_type.answer and other_type.flags & dns.flags.AA
    between = ask(server, "_domainkey.oxy.so", "TXT")  # a name with names below it exists too
    assert between.rcode() == dns.rcode.NOERROR and not between.answer


def test_the_sandbox_services_are_answered(server):
    assert texts(ask(server, "registry.digitalocean.com", "A")) == ["198.51.100.253"]
    assert texts(ask(server, "smtp.relay.oxy-sandbox.test", "A")) == [RELAY]
    assert texts(ask(server, "relay.oxy-sandbox.test", "TXT")) == [f'"v=spf1 ip4:{RELAY} -all"']
    assert ask(server, "other.oxy-sandbox.test", "A").rcode() == dns.rcode.NXDOMAIN


def test_ptr_is_the_droplet_name_only_when_it_is_a_fqdn_of_the_accounts_dns(sb, server):
    body = {"region": "ams3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}
    named = sb.droplets.create(DropletCreate(name="mail.oxy.so", **body))[0][0]
    plain = sb.droplets.create(DropletCreate(name="oxy-api-backend", **body))[0][0]
    # An FQDN of a domain the account's DNS does not manage: DigitalOcean sets no PTR for it.
    elsewhere = sb.droplets.create(DropletCreate(name="mail.example.org", **body))[0][0]

    def ptr(droplet):
        address = droplet["_addresses"]["public"]
        return ask(server, dns.reversename.from_address(address).to_text(), "PTR")

    found = ptr(named)
    assert found.rcode() == dns.rcode.NOERROR and texts(found) == ["mail.oxy.so."]
    assert found.flags & dns.flags.AA
    none = ptr(plain)
    assert none.rcode() == dns.rcode.NXDOMAIN and not none.answer
    unmanaged = ptr(elsewhere)
    assert unmanaged.rcode() == dns.rcode.NXDOMAIN and not unmanaged.answer
    # An address of the public network no droplet holds: no PTR either (authoritative, not forwarded).
    assert ask(server, "1.100.51.198.in-addr.arpa", "PTR").rcode() == dns.rcode.NXDOMAIN
    assert is_fqdn("api.oxy.so") and is_fqdn("mail.oxy.so.")
    assert not is_fqdn("oxy-api-backend") and not is_fqdn("1.2.3.4") and not is_fqdn("bad_name.oxy.so")


def test_other_names_are_forwarded_never_to_itself():
    elsewhere = Sandbox(Store(None))
    elsewhere.domains.create("example.net", "192.0.2.80")
    upstream = served(elsewhere)
    sb = Sandbox(Store(None))
    own = served(sb)
    try:
        # This machine's resolver (here: another server) answers what the sandbox does not hold.
        own._upstreams = [(own.address, own.port), (upstream.address, upstream.port)]
        assert own.upstreams == [(upstream.address, upstream.port)]  # itself is never asked
        answer = ask(own, "example.net", "A")
        assert texts(answer) == ["192.0.2.80"]
        # With only itself as resolver there is no one to ask: SERVFAIL at once, no loop.
        own._upstreams = [(own.address, own.port)]
        assert ask(own, "example.net", "A").rcode() == dns.rcode.SERVFAIL
    finally:
        own.stop()
        upstream.stop()
