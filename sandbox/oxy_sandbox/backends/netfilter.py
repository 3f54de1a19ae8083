"""Cloud firewalls enforced on this machine, outside the droplets, as DigitalOcean does it.

Each sandbox owns two iptables chains (``OXYFW-<instance>-O`` for what leaves a droplet,
``-I`` for what reaches one) that FORWARD, OUTPUT and INPUT jump to first. They are rebuilt as a
whole, atomically (``iptables-restore --noflush``), whenever the rules they would hold change: a
firewall, a droplet's addresses or tags. They live in this machine's network namespace, not the
droplet's, so root inside a droplet cannot change them with iptables.

For every droplet that a firewall applies to (by id or by tag): replies to its own connections
pass; inbound traffic to its addresses passes only as an inbound rule allows (protocol, ports,
source addresses, droplets or tags); outbound traffic from it only as an outbound rule allows;
the rest is dropped. A droplet without a firewall is open, as on DigitalOcean. IPv6 sources are
ignored: the machines have IPv4 only.

While the sandbox's setting ``smtp_outbound_blocked`` holds (the default, as for new DigitalOcean
accounts), TCP to port 25 leaving any machine for an address outside its VPC is dropped first, whatever
its firewalls allow.
"""

from __future__ import annotations

import ipaddress
import logging
import subprocess
import threading

from oxy_sandbox.backends import liveness

log = logging.getLogger("oxy_sandbox.netfilter")


def _ports(rule: dict) -> list[str]:
    protocol = rule["protocol"]
    if protocol == "icmp":
        return ["-p", "icmp"]
    ports = str(rule.get("ports") or "0")
    if ports in ("0", "all"):
        return ["-p", protocol]
    return ["-p", protocol, "--dport", ports.replace("-", ":")]


def _addresses_of(targets: dict, droplets: list[dict]) -> list[str]:
    found = []
    for cidr in targets.get("addresses") or []:
        net = ipaddress.ip_network(cidr, strict=False)
        if net.version == 4:
            found.append(str(net))
    ids = set(targets.get("droplet_ids") or [])
    tags = set(targets.get("tags") or [])
    for droplet in droplets:
        if droplet["id"] in ids or tags & set(droplet.get("tags") or []):
            found += [f"{a}/32" for a in droplet["_addresses"].values() if a]
    return found


def smtp_block(droplets: list[dict], vpc_ranges: dict[str, str]) -> list[list[str]]:
    """DigitalOcean's block of outbound SMTP on new accounts: TCP to port 25 that leaves a machine for any
    address outside its VPC is dropped, whatever its firewalls allow (submission on 587 is not blocked)."""
    rules = []
    for droplet in sorted((d for d in droplets if d.get("_addresses")), key=lambda d: d["id"]):
        vpc = vpc_ranges.get(droplet.get("vpc_uuid") or "")
        for address in (a for a in droplet["_addresses"].values() if a):
            inside = ["!", "-d", vpc] if vpc else []
            rules.append(["-s", f"{address}/32", *inside, "-p", "tcp", "--dport", "25", "-j", "DROP"])
    return rules


def ruleset(firewalls: list[dict], droplets: list[dict]) -> tuple[list[list[str]], list[list[str]]]:
    """(inbound, outbound) rules, as iptables arguments after ``-A <chain>``, for these firewalls and machines.

    Allowed traffic RETURNs (Docker's own rules then decide as usual); what a firewall does not allow is
    dropped. Inbound rules match a droplet's addresses as destination, outbound ones as source, in two
    chains that every forwarded packet goes through in turn: one droplet's open outbound rules never
    decide for another droplet's inbound ones.
    """
    machines = [d for d in droplets if d.get("_addresses")]
    inbound: list[list[str]] = []
    outbound: list[list[str]] = []
    for droplet in sorted(machines, key=lambda d: d["id"]):
        tags = set(droplet.get("tags") or [])
        applied = [
            fw for fw in firewalls if droplet["id"] in (fw.get("droplet_ids") or []) or tags & set(fw.get("tags") or [])
        ]
        if not applied:
            continue
        for address in (a for a in droplet["_addresses"].values() if a):
            here = f"{address}/32"
            inbound.append(["-d", here, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"])
            outbound.append(["-s", here, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"])
            for fw in applied:
                for rule in fw.get("inbound_rules") or []:
                    for source in _addresses_of(rule.get("sources") or {}, machines):
                        inbound.append(["-d", here, "-s", source, *_ports(rule), "-j", "RETURN"])
                for rule in fw.get("outbound_rules") or []:
                    for destination in _addresses_of(rule.get("destinations") or {}, machines):
                        outbound.append(["-s", here, "-d", destination, *_ports(rule), "-j", "RETURN"])
            inbound.append(["-d", here, "-j", "DROP"])
            outbound.append(["-s", here, "-j", "DROP"])
    return inbound, outbound


class Enforcer:
    """Keeps this sandbox's iptables chains equal to what its firewalls say.

    ``reserved`` are this machine's own addresses on ``bridge`` (the operator's, the outside vantage
    point, the registry's): a packet that comes in from the bridge with one of them as its source is
    forged by a machine and dropped, so no droplet can pose as the operator.
    """

    # hook -> the chains it jumps to, in order ("O": outbound, by source; "I": inbound, by destination)
    HOOKS = {"FORWARD": ("O", "I"), "OUTPUT": ("I",), "INPUT": ("O",)}

    def __init__(self, instance: str, reserved: tuple[str, ...] = (), bridge: str | None = None):
        base = f"OXYFW-{instance}"[:26]
        self.chains = {"I": f"{base}-I", "O": f"{base}-O"}
        self.reserved = reserved
        self.bridge = bridge
        self._applied: tuple | None = None
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        try:
            return subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, check=False).returncode == 0
        except OSError:
            return False

    def sync(
        self, firewalls: list[dict], droplets: list[dict], smtp_blocked: bool = False, vpc_ranges: dict | None = None
    ) -> bool:
        """Rebuild the chains when their rules changed; True when they were rewritten.

        ``smtp_blocked``: outbound port 25 is dropped for every machine (``smtp_block``), before any firewall
        rule lets it out."""
        inbound, outbound = ruleset(firewalls, droplets)
        spoofed = [["-i", self.bridge, "-s", f"{a}/32", "-j", "DROP"] for a in self.reserved] if self.bridge else []
        blocked = smtp_block(droplets, vpc_ranges or {}) if smtp_blocked else []
        rules = (tuple(map(tuple, inbound)), tuple(map(tuple, spoofed + blocked + outbound)))
        with self._lock:
            if rules == self._applied:
                return False
            self._ensure_hooks()
            script = ["*filter", *(f":{chain} - [0:0]" for chain in self.chains.values())]
            for key, rows in (("I", rules[0]), ("O", rules[1])):
                script += [" ".join([f"-A {self.chains[key]}", *row]) for row in rows]
            script.append("COMMIT")
            proc = subprocess.run(
                ["iptables-restore", "--noflush"],
                input="\n".join(script) + "\n",
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                log.error("iptables-restore refused the firewall rules: %s", proc.stderr.strip())
                return False
            self._applied = rules
            return True

    def _ensure_hooks(self) -> None:
        for chain in self.chains.values():
            subprocess.run(["iptables", "-N", chain], capture_output=True, check=False)
        for hook, keys in self.HOOKS.items():
            jumps = [self.chains[k] for k in keys]
            present = [
                subprocess.run(["iptables", "-C", hook, "-j", c], capture_output=True, check=False).returncode == 0
                for c in jumps
            ]
            if all(present):
                continue
            self._unhook(hook)
            for chain in reversed(jumps):  # inserted at the top, so the first jump ends up first
                subprocess.run(["iptables", "-I", hook, "1", "-j", chain], capture_output=True, check=True)

    def _unhook(self, hook: str) -> None:
        for chain in self.chains.values():
            unhook = ["iptables", "-D", hook, "-j", chain]
            while subprocess.run(unhook, capture_output=True, check=False).returncode == 0:
                pass

    @classmethod
    def prune(cls, keep: set[str]) -> list[str]:
        """Remove the chains of sandboxes that have no machine left on this engine (one that stopped
        without a reset left its rules, which would judge the next droplet given the same address). Live
        sandboxes (``liveness``) keep theirs, whatever ``keep`` says."""
        keep = set(keep) | liveness.live()
        listing = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=False).stdout
        chains = sorted({line.split()[1] for line in listing.splitlines() if line.startswith("-N OXYFW-")})
        stale = [c for c in chains if c.removeprefix("OXYFW-").split("-")[0] not in keep]
        for chain in stale:
            for hook in cls.HOOKS:
                while subprocess.run(["iptables", "-D", hook, "-j", chain], capture_output=True).returncode == 0:
                    pass
            subprocess.run(["iptables", "-F", chain], capture_output=True, check=False)
            subprocess.run(["iptables", "-X", chain], capture_output=True, check=False)
        return stale

    def remove(self) -> None:
        """Take the chains out of this machine (the sandbox resets)."""
        with self._lock:
            for hook in self.HOOKS:
                self._unhook(hook)
            for chain in self.chains.values():
                subprocess.run(["iptables", "-F", chain], capture_output=True, check=False)
                subprocess.run(["iptables", "-X", chain], capture_output=True, check=False)
            self._applied = None
