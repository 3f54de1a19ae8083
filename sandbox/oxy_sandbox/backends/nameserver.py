"""The sandbox's DNS server: what DigitalOcean's name servers and droplets' resolvers answer.

It listens on port 53 (UDP and TCP) of an address of the sandbox's public network, and droplets'
machines use it as their resolver (Docker's ``dns=``: Docker's own resolver in a machine answers the
names it knows, the Valkey servers' aliases, and asks this server the rest). It answers:

- every record of the sandbox's domains (A, AAAA, CNAME, MX, TXT, NS, SOA, CAA, SRV), read from the
  store on every query, so a record changed through the API is answered at once, with its TTL;
  authoritatively: a name of a domain with no record is NXDOMAIN (NOERROR and no answer when the
  name has records of other types, or names below it do), with the domain's SOA;
- the sandbox's own services: ``registry.digitalocean.com`` and the mail relay stand-in
  (``smtp.relay.oxy-sandbox.test``, with the SPF record ``relay.oxy-sandbox.test`` lists its address in);
- PTR for droplets' public IPv4 as DigitalOcean sets it (API-NOTES.md section 7): the droplet's name
  when it is a fully qualified domain name managed in the account's DNS (a domain of the account, or a
  name under one), else none (NXDOMAIN);
- anything else by asking this machine's resolvers (``/etc/resolv.conf``), never itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import socketserver
import struct
import threading
from collections.abc import Callable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT

log = logging.getLogger("oxy_sandbox.dns")

PORT = 53
SOA_MNAME = "ns1.digitalocean.com."
# Where the sandbox's services live: names it answers for itself, whatever the domains hold.
SERVICES_ZONE = "oxy-sandbox.test"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
_FORWARD_TIMEOUT = 3.0


def is_fqdn(name: str) -> bool:
    """DigitalOcean's rule for a droplet's PTR: its name is a fully qualified domain name (two labels or more,
    each a valid host label, the last not numeric)."""
    labels = name.rstrip(".").split(".")
    return len(labels) >= 2 and all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def _managed(name: str, domains: list[str]) -> bool:
    """Whether ``name`` is one of ``domains`` or a name under one (DigitalOcean sets a PTR only for those)."""
    name = name.lower().rstrip(".")
    return any(name == d or name.endswith("." + d) for d in domains)


def resolv_conf_servers(path: str = "/etc/resolv.conf") -> list[str]:
    found = []
    with contextlib.suppress(OSError), open(path) as resolv:
        for line in resolv:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                found.append(parts[1])
    return found


def _absolute(target: str, zone: str) -> str:
    """A record's host name as DigitalOcean stores it (``@``, ``www``, ``mail.example.com`` or with a final dot)
    made absolute."""
    target = (target or "").strip()
    if target in ("@", ""):
        return zone + "."
    if target.endswith("."):
        return target
    if "." in target:
        return target + "."
    return f"{target}.{zone}."


def _txt(data: str) -> TXT:
    """A TXT record's text as DNS carries it: character strings of at most 255 bytes (a DKIM key of 2048 bits is
    about 400 characters: two strings). Text written as quoted strings (``"a" "b"``) keeps its strings."""
    text = data or ""
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        with contextlib.suppress(dns.exception.DNSException):
            parsed = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, text)
            if all(len(s) <= 255 for s in parsed.strings):
                return parsed
            text = "".join(s.decode() for s in parsed.strings)
    raw = text.encode()
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)


def _rdata(record: dict, zone: str):
    kind, data = record["type"], record.get("data")
    rdtype = dns.rdatatype.from_text(kind)
    if kind == "TXT":
        return _txt(data)
    if kind in ("CNAME", "NS"):
        text = _absolute(data, zone)
    elif kind == "MX":
        text = f"{record.get('priority') or 0} {_absolute(data, zone)}"
    elif kind == "SRV":
        text = f"{record.get('priority') or 0} {record.get('weight') or 0} {record.get('port') or 0} "
        text += _absolute(data, zone)
    elif kind == "CAA":
        value = (data or "").replace("\\", "\\\\").replace('"', '\\"')
        text = f'{record.get("flags") or 0} {record.get("tag")} "{value}"'
    elif kind == "SOA":
        return _soa(zone, int(data or record.get("ttl") or 1800))
    else:
        text = data
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, text)


def _soa(zone: str, minimum: int, serial: int = 1):
    text = f"{SOA_MNAME} hostmaster.{zone}. {serial} 10800 3600 604800 {minimum}"
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SOA, text)


class Answers:
    """What the server answers, read from the sandbox on every query.

    ``sb``: the sandbox (its store: domains, records, droplets); ``services``: a callable giving
    ``{name: address}`` of the sandbox's own hosts and ``{name: text}`` of their TXT records;
    ``reverse_network``: the public network whose reverse zone this server holds.
    """

    def __init__(self, sb, services: Callable[[], tuple[dict[str, str], dict[str, str]]], reverse_network):
        self.sb = sb
        self.services = services
        self.reverse_network = ipaddress.ip_network(reverse_network)

    # -- which zone a name is in -----------------------------------------------------------
    def _domain_of(self, name: str) -> str | None:
        domains = [d["name"] for d in self.sb.store.all("domains")]
        found = [d for d in domains if name == d or name.endswith("." + d)]
        return max(found, key=len) if found else None

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        """The response to ``query``, or None when it is not ours (to forward)."""
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = question.rdtype
        hosts, texts = self.services()
        if name in hosts or name in texts or name == SERVICES_ZONE or name.endswith("." + SERVICES_ZONE):
            return self._services(query, name, rdtype, hosts, texts)
        if name.endswith(".in-addr.arpa"):
            return self._reverse(query, question.name, rdtype)
        domain = self._domain_of(name)
        if domain is None:
            return None
        return self._zone(query, name, rdtype, domain)

    def _response(self, query: dns.message.Message, rcode=dns.rcode.NOERROR) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA | dns.flags.RA  # it resolves other names too, for droplets
        response.set_rcode(rcode)
        return response

    def _zone(self, query, name: str, rdtype, domain: str) -> dns.message.Message:
        records = [r for r in self.sb.store.all("records") if r["_domain"] == domain]
        at_name = [r for r in records if (domain if r["name"] == "@" else f"{r['name']}.{domain}").lower() == name]
        below = any(
            (domain if r["name"] == "@" else f"{r['name']}.{domain}").lower().endswith("." + name) for r in records
        )
        soa = next((r for r in records if r["type"] == "SOA"), None)
        minimum = int((soa or {}).get("data") or 1800)
        serial = max((r["id"] for r in records), default=1) % 2**32
        response = self._response(query, dns.rcode.NOERROR if at_name or below else dns.rcode.NXDOMAIN)
        qname = query.question[0].name
        kind = dns.rdatatype.to_text(rdtype)
        cnames = [r for r in at_name if r["type"] == "CNAME"]
        if cnames and kind != "CNAME":
            matched = cnames[:1]
        else:
            matched = [r for r in at_name if kind == "ANY" or r["type"] == kind]
        for record in matched:
            rdata = _soa(domain, minimum, serial) if record["type"] == "SOA" else _rdata(record, domain)
            rrset = response.find_rrset(
                response.answer, qname, dns.rdataclass.IN, rdata.rdtype, create=True, force_unique=False
            )
            rrset.add(rdata, ttl=int(record.get("ttl") or 1800))
        if not matched:
            zone = dns.name.from_text(domain)
            rrset = dns.rrset.RRset(zone, dns.rdataclass.IN, dns.rdatatype.SOA)
            rrset.add(_soa(domain, minimum, serial), ttl=minimum)
            response.authority.append(rrset)
        return response

    def _services(self, query, name: str, rdtype, hosts: dict[str, str], texts: dict[str, str]):
        qname = query.question[0].name
        known = name in hosts or name in texts
        below = any(h.endswith("." + name) for h in (*hosts, *texts))
        response = self._response(query, dns.rcode.NOERROR if known or below else dns.rcode.NXDOMAIN)
        if rdtype in (dns.rdatatype.A, dns.rdatatype.ANY) and name in hosts:
            response.answer.append(dns.rrset.from_text(qname, 300, "IN", "A", hosts[name]))
        if rdtype in (dns.rdatatype.TXT, dns.rdatatype.ANY) and name in texts:
            rrset = dns.rrset.RRset(qname, dns.rdataclass.IN, dns.rdatatype.TXT)
            rrset.add(_txt(texts[name]), ttl=300)
            response.answer.append(rrset)
        return response

    def _reverse(self, query, qname: dns.name.Name, rdtype):
        try:
            address = ipaddress.ip_address(dns.reversename.to_address(qname))
        except (dns.exception.DNSException, ValueError):
            address = None
        names = []
        if address is not None:
            for droplet in self.sb.store.all("droplets"):
                public = (droplet.get("_addresses") or {}).get("public")
                publics = {public} | {
                    n["ip_address"] for n in (droplet.get("networks") or {}).get("v4", []) if n.get("type") == "public"
                }
                if str(address) in publics:
                    names.append(droplet["name"])
        if not names and (address is None or address not in self.reverse_network):
            return None  # somebody else's address: the internet's reverse DNS
        managed = [d["name"].lower().rstrip(".") for d in self.sb.store.all("domains")]
        fqdn = [n for n in names if is_fqdn(n) and _managed(n, managed)]
        response = self._response(query, dns.rcode.NOERROR if fqdn else dns.rcode.NXDOMAIN)
        if fqdn and rdtype in (dns.rdatatype.PTR, dns.rdatatype.ANY):
            response.answer.append(dns.rrset.from_text(qname, 300, "IN", "PTR", fqdn[0].rstrip(".").lower() + "."))
        return response


class DnsServer:
    """Answers (``Answers``) on ``address``:``port``, UDP and TCP, each in its own thread; forwards the rest to
    ``upstreams`` (``(address, port)``; default: this machine's resolvers, minus this server)."""

    def __init__(
        self, answers: Answers, address: str, port: int = PORT, upstreams: list[tuple[str, int]] | None = None
    ):
        self.answers = answers
        self.address = address
        self.port = port
        self._upstreams = upstreams
        self._servers: list[socketserver.BaseServer] = []

    @property
    def upstreams(self) -> list[tuple[str, int]]:
        given = self._upstreams
        if given is None:
            given = [(a, PORT) for a in resolv_conf_servers()]
        # Never itself (a resolver naming this server would send every unknown name round in circles).
        return [(a, p) for a, p in given if (a, p) != (self.address, self.port) and (a, p) != ("0.0.0.0", self.port)]

    def start(self) -> None:
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = server.reply(data, udp=True)
                if reply:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(10)
                with contextlib.suppress(OSError):
                    while True:
                        head = _read(self.request, 2)
                        if not head:
                            return
                        reply = server.reply(_read(self.request, struct.unpack("!H", head)[0]), udp=False)
                        if not reply:
                            return
                        self.request.sendall(struct.pack("!H", len(reply)) + reply)

        class UdpServer(socketserver.ThreadingUDPServer):
            daemon_threads = True
            allow_reuse_address = True

        class TcpServer(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        # With port 0 the UDP socket picks a free port, which TCP may not have free: another is picked then.
        wanted = self.port
        for attempt in range(20):
            udp = UdpServer((self.address, wanted), Udp)
            port = udp.server_address[1]
            try:
                tcp = TcpServer((self.address, port), Tcp)
            except OSError:
                udp.server_close()
                if wanted != 0 or attempt == 19:
                    raise
                continue
            self.port = port
            break
        for srv, name in ((udp, "dns-udp"), (tcp, "dns-tcp")):
            threading.Thread(target=srv.serve_forever, args=(0.1,), name=name, daemon=True).start()
            self._servers.append(srv)

    def stop(self) -> None:
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        self._servers = []

    def reply(self, data: bytes, udp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        if query.flags & dns.flags.QR:
            return None  # an answer sent to it: nothing to say
        if len(query.question) != 1:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        try:
            response = self.resolve(query)
        except Exception:
            log.exception("DNS: answering %s failed", query.question[0])
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
        limit = 65535
        if udp:
            limit = max(512, query.payload) if query.edns >= 0 else 512
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC | (response.flags & dns.flags.AA)
            truncated.set_rcode(response.rcode())
            return truncated.to_wire()

    def resolve(self, query: dns.message.Message) -> dns.message.Message:
        """Its own answer or the forwarded one; a CNAME it answers is followed (as a resolver does for the stub
        resolvers that ask it), up to 8 names."""
        response = self.answers.answer(query)
        if response is None:
            return self.forward(query)
        rdtype = query.question[0].rdtype
        for _hop in range(8):
            if rdtype in (dns.rdatatype.CNAME, dns.rdatatype.ANY) or not response.answer:
                break
            last = response.answer[-1]
            if last.rdtype != dns.rdatatype.CNAME:
                break
            follow = dns.message.make_query(last[0].target, rdtype)
            found = self.answers.answer(follow) or self.forward(follow)
            response.answer += [r for r in found.answer if r not in response.answer]
            if not found.answer:
                break
        return response

    def forward(self, query: dns.message.Message) -> dns.message.Message:
        """The answer of this machine's resolvers (what DigitalOcean's resolvers get from the internet)."""
        for address, port in self.upstreams:
            try:
                answer = dns.query.udp(query, address, port=port, timeout=_FORWARD_TIMEOUT, ignore_unexpected=True)
                if answer.flags & dns.flags.TC:
                    answer = dns.query.tcp(query, address, port=port, timeout=_FORWARD_TIMEOUT)
            except (OSError, dns.exception.DNSException):
                continue
            answer.id = query.id
            return answer
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.SERVFAIL)
        return response


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data
