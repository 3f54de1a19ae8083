#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: converge_stamp
short_description: Tell in one round trip whether a host is still as its last converge left it; record it after one
version_added: 0.4.0
description:
  - A converge of a host's configuration by roles over SSH reads every piece of state again on every run, one task
    at a time, even when nothing changed. This module lets a play skip that work safely.
  - "O(state=present), at the end of a complete converge, records a stamp on the host: a digest of each section of
    the converge's inputs (O(inputs), computed by the play from every variable of the roles and the roles' own
    code), public data the play needs again when it skips (O(data)), how long the converge stays valid
    (O(expires_at)), what the roles manage (O(paths), O(docker), O(units), O(packages), O(groups)) and a digest of
    each of those items as they are now."
  - "O(state=read) reads the stamp and the same items again: RV(current) is true only when the stamp exists, has not
    expired, every section given in O(inputs) has the recorded digest, and no item differs from what was recorded
    (a file's content, mode or owner; a file added to or removed from a directory; a container recreated, stopped,
    removed, added under the label or changed in its configuration; a network, volume or image replaced or gone; a
    unit stopped or disabled; a package's version or status; a group's members). RV(reasons) says what differs."
  - The items are read where they are kept (the filesystem, Docker's API on its socket, C(systemctl), C(dpkg-query),
    the group database) by one module run, never by a task each.
  - What it records and returns holds no secret, only digests of the inputs and of the items, and O(data) as given.
attributes:
  check_mode:
    description: O(state=read) reads the same in check mode; O(state=present) reports what it would record.
    support: full
  diff_mode:
    description: O(state=present) shows the sections and items whose digest it changes, before and after.
    support: full
  idempotent:
    description: Recording the same inputs, data, expiry and items again changes nothing.
    support: full
options:
  state:
    description:
      - V(read) compares the host with its stamp; V(present) records the stamp of the host as it is now.
    type: str
    choices: [read, present]
    default: read
  path:
    description: Where the stamp is kept (JSON, root's alone, C(0600)).
    type: path
    default: /var/lib/oxy-infra/converge-stamp.json
  inputs:
    description:
      - Section name to the digest of that section's inputs. V(read) compares the sections given (and only those)
        with the recorded ones; V(present) records them.
    type: dict
    default: {}
  data:
    description: Public data the play wants back when it skips (V(present) records it; V(read) returns it).
    type: dict
    default: {}
  expires_at:
    description:
      - Unix time from which the converge must run again even when nothing else changed (for example shortly before
        a stored registry login expires). V(0), no such time.
    type: int
    default: 0
  paths:
    description:
      - Files and directories the converge manages. A directory stands for everything under it (not following
        symbolic links). C(~) is the connecting user's home.
    type: list
    elements: path
    default: []
  docker:
    description: What the converge manages in Docker.
    type: dict
    default: {}
    suboptions:
      host:
        description: The Docker engine's address; only a local socket, C(unix://PATH).
        type: str
        default: unix:///var/run/docker.sock
      label:
        description: Every container with this label (by name), whatever its name.
        type: str
      networks:
        description: Networks, by name.
        type: list
        elements: str
        default: []
      volumes:
        description: Volumes, by name.
        type: list
        elements: str
        default: []
      images:
        description: Images, by reference (C(name:tag)).
        type: list
        elements: str
        default: []
  units:
    description: systemd units whose activity and enablement the converge sets.
    type: list
    elements: str
    default: []
  packages:
    description: Debian packages the converge installs or removes (their version and status).
    type: list
    elements: str
    default: []
  groups:
    description: Groups whose members the converge sets.
    type: list
    elements: str
    default: []
notes:
  - O(state=read) takes what to read from the stamp, not from its options; a changed list of items comes with changed
    inputs (the roles' code is part of them), which makes the stamp not current by itself.
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Read the droplet's converge stamp
  oxy.infra.converge_stamp:
    inputs:
      machine: "{{ __machine_inputs }}"
  register: __stamp

- name: Record the converge
  oxy.infra.converge_stamp:
    state: present
    inputs:
      machine: "{{ __machine_inputs }}"
      stack: "{{ api_stack_managed.inputs }}"
    data:
      dkim_public_keys: "{{ api_stack_dkim_public_keys }}"
    paths: [/etc/docker/daemon.json, /opt/oxy]
    docker:
      label: oxy.stack
      networks: [oxy]
    units: [docker.service]
    packages: [docker-ce]
"""

RETURN = r"""
current:
  description: Whether the host is as the stamp recorded, for the sections given, and the stamp has not expired.
  returned: state is read
  type: bool
found:
  description: Whether a stamp was there.
  returned: state is read
  type: bool
inputs:
  description: The recorded digest of each section.
  returned: state is read
  type: dict
data:
  description: The recorded data.
  returned: state is read
  type: dict
reasons:
  description: Why the host is not current, one line per section, expiry or item that differs (at most 20).
  returned: state is read
  type: list
  elements: str
items:
  description: How many items were compared or recorded.
  returned: always
  type: int
"""

import grp
import hashlib
import http.client
import json
import os
import socket
import stat
import tempfile
import time
import urllib.parse

from ansible.module_utils.basic import AnsibleModule

FORMAT = 1
MAX_REASONS = 20


def digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def file_digest(path):
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            sha.update(block)
    return sha.hexdigest()


def entry(path, info):
    """One filesystem entry: kind, mode, owner and, for a file, its content's digest."""
    owner = f"{oct(stat.S_IMODE(info.st_mode))} {info.st_uid}:{info.st_gid}"
    if stat.S_ISLNK(info.st_mode):
        return f"link {owner} {os.readlink(path)}"
    if stat.S_ISDIR(info.st_mode):
        return f"dir {owner}"
    if stat.S_ISREG(info.st_mode):
        return f"file {owner} {file_digest(path)}"
    return f"other {owner}"


def path_items(path):
    """path -> its entry, and every entry under a directory, keyed by their own paths (O(paths) expands ~)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {path: "absent"}
    out = {path: entry(path, info)}
    if stat.S_ISDIR(info.st_mode):
        for top, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(dirs + files):
                inner = os.path.join(top, name)
                try:
                    out[inner] = entry(inner, os.lstat(inner))
                except FileNotFoundError:
                    continue
    return out


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._socket_path)
        self.sock = sock


class Docker:
    """Docker's engine API on its local socket, read only."""

    def __init__(self, host):
        parsed = urllib.parse.urlsplit(host)
        if parsed.scheme != "unix":
            raise ValueError(f"docker.host must be a local socket (unix://PATH), not {host}")
        self.path = parsed.path
        self.connection = None

    def get(self, path, query=None):
        """The JSON at path, or None when Docker says there is none (404)."""
        if self.connection is None:
            self.connection = _UnixConnection(self.path, timeout=30)
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        self.connection.request("GET", url)
        response = self.connection.getresponse()
        body = response.read()
        if response.status == 404:
            return None
        if response.status != 200:
            raise RuntimeError(f"Docker answered {response.status} to GET {path}: {body[:200]!r}")
        return json.loads(body)


def docker_items(spec):
    """Every container under the label, and the networks, volumes and images named."""
    if not spec:
        return {}
    out = {}
    try:
        docker = Docker(spec.get("host") or "unix:///var/run/docker.sock")
        if not os.path.exists(docker.path):
            return {"docker": "absent"}
        if spec.get("label"):
            listed = docker.get("/containers/json", {"all": "1", "filters": json.dumps({"label": [spec["label"]]})})
            for summary in listed or []:
                detail = docker.get(f"/containers/{summary['Id']}/json")
                if detail is None:
                    continue
                name = detail["Name"].lstrip("/")
                out[f"container {name}"] = " ".join(
                    [
                        detail["Id"],
                        detail["Image"],
                        detail["State"]["Status"],
                        digest([detail.get("Config"), detail.get("HostConfig")]),
                    ]
                )
            out[f"containers labelled {spec['label']}"] = str(len(listed or []))
        for name in spec.get("networks") or []:
            found = docker.get(f"/networks/{urllib.parse.quote(name, safe='')}")
            out[f"network {name}"] = (
                "absent" if found is None else f"{found['Id']} {found.get('Driver')} {found.get('Internal')}"
            )
        for name in spec.get("volumes") or []:
            found = docker.get(f"/volumes/{urllib.parse.quote(name, safe='')}")
            out[f"volume {name}"] = "absent" if found is None else f"{found.get('Driver')} {found.get('Mountpoint')}"
        for name in spec.get("images") or []:
            found = docker.get(f"/images/{urllib.parse.quote(name, safe='')}/json")
            out[f"image {name}"] = "absent" if found is None else found["Id"]
    except (OSError, http.client.HTTPException) as exc:
        # Docker down or not installed: the converge starts or installs it.
        return {"docker": f"unreachable ({exc.__class__.__name__})"}
    return out


def unit_items(module, units):
    if not units:
        return {}
    systemctl = module.get_bin_path("systemctl")
    if systemctl is None:
        return {f"unit {unit}": "no systemctl" for unit in units}
    rc, out, err = module.run_command(
        [systemctl, "show", "--property=Id,ActiveState,UnitFileState", "--", *units], environ_update={"LC_ALL": "C"}
    )
    if rc != 0:
        return {f"unit {unit}": f"unreadable ({err.strip()[:80]})" for unit in units}
    # One block per unit, in the order asked, separated by empty lines.
    blocks = out.strip().split("\n\n")
    items = {}
    for unit, block in zip(units, blocks + [""] * (len(units) - len(blocks))):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        items[f"unit {unit}"] = f"{fields.get('ActiveState', '?')} {fields.get('UnitFileState', '') or '-'}"
    return items


def package_items(module, packages):
    if not packages:
        return {}
    dpkg_query = module.get_bin_path("dpkg-query")
    if dpkg_query is None:
        return {f"package {name}": "no dpkg" for name in packages}
    # rc 1 when some are unknown: those are absent.
    _rc, out, _err = module.run_command(
        [dpkg_query, "-W", "-f=${Package} ${db:Status-Abbrev} ${Version}\n", "--", *packages],
        environ_update={"LC_ALL": "C"},
    )
    found = {}
    for line in out.splitlines():
        if " " in line:
            name, rest = line.split(" ", 1)
            found[name.split(":")[0]] = rest.strip()
    return {f"package {name}": found.get(name) or "absent" for name in packages}


def group_items(groups):
    out = {}
    for name in groups:
        try:
            out[f"group {name}"] = ",".join(sorted(grp.getgrnam(name).gr_mem))
        except KeyError:
            out[f"group {name}"] = "absent"
    return out


def observe(module, spec):
    """Every item of the spec as it is now: item -> digest."""
    items = {}
    for path in spec.get("paths") or []:
        items.update({f"path {key}": value for key, value in path_items(path).items()})
    items.update(docker_items(spec.get("docker") or {}))
    items.update(unit_items(module, spec.get("units") or []))
    items.update(package_items(module, spec.get("packages") or []))
    items.update(group_items(spec.get("groups") or []))
    return {key: hashlib.sha256(value.encode()).hexdigest()[:32] for key, value in items.items()}


def load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            stamp = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) and stamp.get("format") == FORMAT else {}


def compare(stamp, observed):
    recorded = stamp.get("items") or {}
    reasons = []
    for key in sorted(set(recorded) | set(observed)):
        if key not in observed:
            reasons.append(f"{key}: no longer read")
        elif key not in recorded:
            reasons.append(f"{key}: new")
        elif recorded[key] != observed[key]:
            reasons.append(f"{key}: changed")
    return reasons


def read(module):
    params = module.params
    stamp = load(params["path"])
    result = {"found": stamp is not None, "current": False, "inputs": {}, "data": {}, "reasons": [], "items": 0}
    if not stamp:
        never = "no stamp: the host was never converged to the end"
        result["reasons"] = [never if stamp is None else "unreadable stamp"]
        return result
    result["inputs"] = stamp.get("inputs") or {}
    result["data"] = stamp.get("data") or {}
    reasons = []
    for section, wanted in sorted(params["inputs"].items()):
        if result["inputs"].get(section) != wanted:
            reasons.append(f"inputs of {section} changed")
    expires_at = int(stamp.get("expires_at") or 0)
    if expires_at and expires_at <= time.time():
        reasons.append(f"expired at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(expires_at))}")
    observed = observe(module, stamp.get("spec") or {})
    result["items"] = len(observed)
    reasons += compare(stamp, observed)
    more = [f"and {len(reasons) - MAX_REASONS} more"] if len(reasons) > MAX_REASONS else []
    result["reasons"] = reasons[:MAX_REASONS] + more
    result["current"] = not reasons
    return result


def write(module):
    params = module.params
    spec = {
        "paths": sorted(set(params["paths"])),
        "docker": params["docker"] or {},
        "units": list(dict.fromkeys(params["units"])),
        "packages": list(dict.fromkeys(params["packages"])),
        "groups": list(dict.fromkeys(params["groups"])),
    }
    try:
        if spec["docker"]:
            Docker(spec["docker"].get("host") or "unix:///var/run/docker.sock")
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    new = {
        "format": FORMAT,
        "inputs": params["inputs"],
        "data": params["data"],
        "expires_at": params["expires_at"],
        "spec": spec,
        "items": observe(module, spec),
    }
    old = load(params["path"]) or {}
    changed = old != new
    result = {"changed": changed, "items": len(new["items"])}
    if module._diff:
        keys = ("inputs", "expires_at", "items")
        result["diff"] = {
            "before": {key: old.get(key) for key in keys} if old else {},
            "after": {key: new[key] for key in keys},
        }
    if changed and not module.check_mode:
        folder = os.path.dirname(params["path"]) or "."
        os.makedirs(folder, mode=0o700, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".converge-stamp.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(new, out, sort_keys=True, indent=1)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, params["path"])
        except OSError as exc:
            if os.path.exists(temporary):
                os.unlink(temporary)
            module.fail_json(msg=f"could not record the stamp at {params['path']}: {exc}")
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["read", "present"], "default": "read"},
            "path": {"type": "path", "default": "/var/lib/oxy-infra/converge-stamp.json"},
            "inputs": {"type": "dict", "default": {}},
            "data": {"type": "dict", "default": {}},
            "expires_at": {"type": "int", "default": 0},
            "paths": {"type": "list", "elements": "path", "default": []},
            "docker": {
                "type": "dict",
                "default": {},
                "options": {
                    "host": {"type": "str", "default": "unix:///var/run/docker.sock"},
                    "label": {"type": "str"},
                    "networks": {"type": "list", "elements": "str", "default": []},
                    "volumes": {"type": "list", "elements": "str", "default": []},
                    "images": {"type": "list", "elements": "str", "default": []},
                },
            },
            "units": {"type": "list", "elements": "str", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "groups": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    bad = [key for key, value in module.params["inputs"].items() if not isinstance(value, str) or not value]
    if bad:
        module.fail_json(msg=f"inputs maps each section to a digest (a non-empty string): not {', '.join(sorted(bad))}")
    if module.params["state"] == "read":
        module.exit_json(changed=False, **read(module))
    module.exit_json(**write(module))


if __name__ == "__main__":
    main()
