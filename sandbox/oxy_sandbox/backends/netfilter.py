"""Cloud firewalls enforced on this machine, outside the droplets, as DigitalOcean does it.

Each sandbox owns one iptables chain (``OXYFW-<instance>``) that FORWARD, OUTPUT and INPUT jump
to first. It is rebuilt as a whole, atomically (``iptables-restore --noflush``), whenever the
rules it would hold change: a firewall, a droplet's addresses or tags. Root inside a droplet
cannot touch it (it lives in this machine's network namespace, not the droplet's).

For every droplet that a firewall applies to (by id or by tag): replies to its own connections
pass; inbound traffic to its addresses passes only as an inbound rule allows (protocol, ports,
source addresses, droplets or tags); outbound traffic from it only as an outbound rule allows;
the rest is dropped. A droplet without a firewall is open, as on DigitalOcean. IPv6 sources are
ignored: the machines have IPv4 only.
"""

from __future__ import annotations

import ipaddress
import logging
import subprocess
import threading

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


def ruleset(chain: str, firewalls: list[dict], droplets: list[dict]) -> list[list[str]]:
    """The chain's rules (iptables arguments after ``-A chain``) for these firewalls and machines."""
    machines = [d for d in droplets if d.get("_addresses")]
    rules: list[list[str]] = []
    for droplet in sorted(machines, key=lambda d: d["id"]):
        applied = [
            fw
            for fw in firewalls
            if droplet["id"] in (fw.get("droplet_ids") or [])
            or set(fw.get("tags") or []) & set(droplet.get("tags") or [])
        ]
        if not applied:
            continue
        for address in (a for a in droplet["_addresses"].values() if a):
            here = f"{address}/32"
            rules.append(["-d", here, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"])
            for fw in applied:
                for rule in fw.get("inbound_rules") or []:
                    for source in _addresses_of(rule.get("sources") or {}, machines):
                        rules.append(["-d", here, "-s", source, *_ports(rule), "-j", "ACCEPT"])
            rules.append(["-d", here, "-j", "DROP"])
            rules.append(["-s", here, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"])
            for fw in applied:
                for rule in fw.get("outbound_rules") or []:
                    for destination in _addresses_of(rule.get("destinations") or {}, machines):
                        rules.append(["-s", here, "-d", destination, *_ports(rule), "-j", "ACCEPT"])
            rules.append(["-s", here, "-j", "DROP"])
    return rules


class Enforcer:
    """Keeps this sandbox's iptables chain equal to what its firewalls say."""

    HOOKS = ("FORWARD", "OUTPUT", "INPUT")

    def __init__(self, instance: str):
        self.chain = f"OXYFW-{instance}"[:28]
        self._applied: list[list[str]] | None = None
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        try:
            return subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, check=False).returncode == 0
        except OSError:
            return False

    def sync(self, firewalls: list[dict], droplets: list[dict]) -> bool:
        """Rebuild the chain when its rules changed; True when it was rewritten."""
        rules = ruleset(self.chain, firewalls, droplets)
        with self._lock:
            if rules == self._applied:
                return False
            self._ensure_hooks()
            script = ["*filter", f":{self.chain} - [0:0]"]
            script += [" ".join([f"-A {self.chain}", *rules_row]) for rules_row in rules]
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
        subprocess.run(["iptables", "-N", self.chain], capture_output=True, check=False)
        for hook in self.HOOKS:
            present = subprocess.run(["iptables", "-C", hook, "-j", self.chain], capture_output=True, check=False)
            if present.returncode != 0:
                subprocess.run(["iptables", "-I", hook, "1", "-j", self.chain], capture_output=True, check=True)

    def remove(self) -> None:
        """Take the chain out of this machine (the sandbox stops or resets)."""
        with self._lock:
            for hook in self.HOOKS:
                while (
                    subprocess.run(
                        ["iptables", "-D", hook, "-j", self.chain], capture_output=True, check=False
                    ).returncode
                    == 0
                ):
                    pass
            subprocess.run(["iptables", "-F", self.chain], capture_output=True, check=False)
            subprocess.run(["iptables", "-X", self.chain], capture_output=True, check=False)
            self._applied = None
