"""Domains and their records."""

from __future__ import annotations

from ..errors import APIError, not_found, unprocessable
from ..store import Frozen, public
from .base import Backend

_REQUIRED = {
    "A": ("name", "data"),
    "AAAA": ("name", "data"),
    "CNAME": ("name", "data"),
    "MX": ("data", "priority"),
    "TXT": ("name", "data"),
    "NS": ("name", "data"),
    "CAA": ("name", "data", "flags", "tag"),
    "SRV": ("name", "data", "priority", "port", "weight"),
    "SOA": ("ttl",),
}
_NULLABLE = ("priority", "port", "weight", "flags", "tag")


def _fqdn(record: dict, domain: str) -> str:
    return domain if record["name"] == "@" else f"{record['name']}.{domain}"


class DomainsBackend(Backend):
    def _records(self, domain: str) -> list[Frozen]:
        return sorted((r for r in self.store.all("records") if r["_domain"] == domain), key=lambda r: r["id"])

    def _zone_file(self, domain: str) -> str:
        lines = [f"$ORIGIN {domain}.", "$TTL 1800"]
        for r in self._records(domain):
            lines.append(f"{r['name']} IN {r['type']} {r['data']}")
        return "\n".join(lines) + "\n"

    def view(self, domain: Frozen) -> dict:
        """A domain as the API lists it: with its zone file."""
        return {**public(domain), "zone_file": self._zone_file(domain["name"])}

    def _domain(self, name: str) -> Frozen:
        return self.must("domains", name.lower())

    def list(self) -> list[Frozen]:
        return sorted(self.store.all("domains"), key=lambda d: d["name"])

    def get(self, name: str) -> dict:
        return {k: v for k, v in self.view(self._domain(name)).items() if k != "id"}

    def create(self, name: str, ip_address: str | None) -> dict:
        name = name.lower()
        if self.store.get("domains", name) is not None:
            raise unprocessable(f"name: the domain {name} already exists")
        domain = self.store.create("domains", name, {"id": name, "name": name, "ttl": 1800})
        self._add_record(name, {"type": "SOA", "name": "@", "data": "1800", "ttl": 1800})
        for ns in ("ns1", "ns2", "ns3"):
            self._add_record(name, {"type": "NS", "name": "@", "data": f"{ns}.digitalocean.com", "ttl": 1800})
        if ip_address:
            self._add_record(name, {"type": "A", "name": "@", "data": ip_address, "ttl": 1800})
        self.sb.projects.assign(f"do:domain:{name}")
        out = self.view(domain)
        out["zone_file"] = None  # DigitalOcean answers a fresh domain before its zone file is rendered
        return {k: v for k, v in out.items() if k != "id"}

    def delete(self, name: str) -> None:
        domain = self._domain(name)
        for record in self._records(domain["name"]):
            self.store.delete("records", record["id"])
        self.store.delete("domains", domain["name"])
        self.sb.projects.forget(f"do:domain:{domain['name']}")

    # -- records ------------------------------------------------------------------------
    def _add_record(self, domain: str, fields: dict) -> Frozen:
        record = {
            "id": self.store.next_id("record", 100000001),
            "type": fields["type"],
            "name": fields.get("name") or "@",
            "data": fields.get("data"),
            "ttl": fields.get("ttl") or 1800,
            "_domain": domain,
        }
        for key in _NULLABLE:
            record[key] = fields.get(key)
        return self.store.create("records", record["id"], record)

    def records(self, name: str, fqdn: str | None = None, kind: str | None = None) -> list[Frozen]:
        domain = self._domain(name)["name"]
        rows = self._records(domain)
        if fqdn:
            rows = [r for r in rows if _fqdn(r, domain) == fqdn.lower().rstrip(".")]
        if kind:
            rows = [r for r in rows if r["type"] == kind.upper()]
        return rows

    def create_record(self, name: str, fields: dict) -> Frozen:
        """``fields``: the request's fields as sent (``model_dump(exclude_unset=True)``)."""
        domain = self._domain(name)["name"]
        if fields["type"] == "SOA":
            raise unprocessable("type: SOA records are managed by DigitalOcean")
        missing = [f for f in _REQUIRED[fields["type"]] if fields.get(f) is None]
        if missing:
            raise unprocessable(f"{missing[0]}: is required for {fields['type']} records")
        if fields.get("name", "").endswith("." + domain):
            fields["name"] = fields["name"][: -len(domain) - 1]
        elif fields.get("name") == domain:
            fields["name"] = "@"
        return self._add_record(domain, fields)

    def record(self, name: str, record_id: int) -> Frozen:
        domain = self._domain(name)["name"]
        record = self.store.get("records", record_id)
        if record is None or record["_domain"] != domain:
            raise not_found()
        return record

    def change_record(self, name: str, record_id: int, fields: dict) -> Frozen:
        record = self.record(name, record_id)
        if fields.get("type", record["type"]) != record["type"]:
            raise APIError(422, f"type: a {record['type']} record cannot become {fields['type']}")
        changes = {k: v for k, v in fields.items() if k != "type"}
        return self.store.patch("records", record["id"], **changes)

    def delete_record(self, name: str, record_id: int) -> None:
        self.store.delete("records", self.record(name, record_id)["id"])
