"""Real machines behind sandbox droplets: one container per droplet, on real networks.

- A droplet's machine is a container of the droplet image (systemd and sshd, Debian 12), named
  ``oxy-<sandbox>-droplet-<id>``, with its disk (``/var/lib/docker`` and the container's own layer) kept
  across power cycles and resizes, and removed with the droplet.
- Its public IPv4 is its address on the sandbox's "public" Docker network (shared by every sandbox
  on this machine, like the internet); its private IPv4 is its address on its VPC's Docker network,
  whose subnet is the VPC's ``ip_range``. The addresses the API reports are the ones that answer.
- First boot does what DigitalOcean's cloud-init does: the SSH keys named at creation go into
  root's authorized_keys, the hostname is the droplet's name, ``user_data`` runs once.
- A snapshot or backup of a droplet (an image) is its machine's disk: the container committed to a Docker
  image ``oxy-<sandbox>-image-<id>`` and its disk volume copied to ``oxy-<sandbox>-image-<id>-disk``; a
  droplet created from the image boots that Docker image with a copy of that volume. Deleting the image
  removes both.
- With the setting ``droplet_disk_gib``, a droplet's disk volume is a real filesystem of that size, so a
  droplet can fill it: an ext4 filesystem in a sparse image file ``<state dir>/disks/<disk name>.img``,
  loop-mounted by the sandbox on ``<state dir>/disks/<disk name>`` and handed to Docker as a local volume
  bound to that mount point. Snapshots copy its files (sparse files stay sparse) like any volume's; a
  destroyed droplet or a reset unmounts it, frees its loop device and deletes the file; a stopped sandbox
  leaves the disks of the machines that outlive it mounted (and frees any no machine uses), and a restarted
  one mounts again those that are not (a rebooted host); disks of sandboxes with no machine left (one
  killed before its reset) are freed when a sandbox starts, never those of a sandbox that runs
  (``liveness``). Without the setting a disk is an ordinary Docker volume, as large as this machine's disk.
- Every Docker call runs on a worker thread; the droplet's status follows: ``new`` until the
  container runs and SSH answers, then ``active``; actions complete when the machine did them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import ipaddress
import json
import logging
import os
import re
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker

from oxy_sandbox.backends import liveness

log = logging.getLogger("oxy_sandbox.machines")

PUBLIC_NETWORK = "oxy-sandbox-public"
# RFC 5737 documentation space; on this kind of machine 192.0.2.0/24 is the host's own network and the
# package registries resolve into 203.0.113.0/24, so the third one is the droplets' "internet".
PUBLIC_RANGE = "198.51.100.0/24"
PUBLIC_BRIDGE = "oxy-public"
LABEL = "oxy.sandbox"
# systemd in a container: the capabilities a droplet's own dockerd needs (--privileged is refused
# on some hosts, so they are listed; not DAC_READ_SEARCH, whose open_by_handle_at reads the host's
# files), cgroups from the host, /run and /tmp as tmpfs. A machine that runs Docker is not a strong
# boundary against its own root (SYS_ADMIN, the host's cgroup tree): the sandbox's droplets are for
# the project's own tests and playbooks, not for running untrusted code.
CAPABILITIES = [
    "SYS_ADMIN",
    "NET_ADMIN",
    "NET_RAW",
    "MKNOD",
    "SYS_PTRACE",
    "AUDIT_WRITE",
    "SETFCAP",
    "SYS_CHROOT",
    "IPC_LOCK",
    "SYS_NICE",
    "LINUX_IMMUTABLE",
]
SSH_TIMEOUT = 180.0
# Sandboxes that may serve side by side on one machine, each with its registry, DNS server and mail relay.
SERVICE_SLOTS = 5
# The mount point of a bounded droplet disk (``Machines.disk_name``): its sandbox's instance is the group.
DISK_MOUNT = re.compile(r"^oxy-([0-9a-f]{10})-droplet-\d+-disk$")


def _run(*command: str) -> subprocess.CompletedProcess:
    """Run a command of this machine's (mount, losetup, mkfs); raise with its stderr when it fails."""
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {proc.stderr.strip() or proc.returncode}")
    return proc


def _unescape(field: str) -> str:
    """A field of ``/proc/mounts`` with its octal escapes (``\\040`` for a space) decoded."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts() -> dict[str, str]:
    """This machine's mounts: mount point -> source device (``/proc/mounts``)."""
    found = {}
    with open("/proc/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) >= 2:
                found[_unescape(fields[1])] = _unescape(fields[0])
    return found


def _loop_devices(image: Path) -> list[str]:
    """The loop devices backed by ``image`` (``losetup -j``)."""
    proc = subprocess.run(["losetup", "-j", str(image)], capture_output=True, text=True, check=False)
    return [line.split(":", 1)[0] for line in proc.stdout.splitlines() if line.strip()]


def _backing_file(device: str) -> str | None:
    """The file behind the loop device ``device`` (None when it is not one, or is free)."""
    name = os.path.basename(device)
    with contextlib.suppress(OSError), open(f"/sys/block/{name}/loop/backing_file") as backing:
        return backing.read().strip()
    return None


def free_disk(mount: Path, image: Path | None) -> None:
    """Unmount a bounded disk, free its loop devices, delete its image file and mount point (what is there)."""
    source = _mounts().get(str(mount))
    if source is not None:
        image = image or (Path(found) if (found := _backing_file(source)) else None)
        if subprocess.run(["umount", str(mount)], capture_output=True, check=False).returncode != 0:
            # Still busy (a container being removed): detached now, the loop device follows its last user.
            subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)
    if image is not None:
        for device in _loop_devices(image):
            subprocess.run(["losetup", "-d", device], capture_output=True, check=False)
        image.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        mount.rmdir()


@dataclass(frozen=True)
class PublicNetwork:
    """The sandbox's stand-in for the internet: this machine is ``operator``, tests may use ``outside``."""

    subnet: ipaddress.IPv4Network

    @property
    def operator(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def outside(self) -> str:
        return str(self.subnet.broadcast_address - 1)

    def registry_candidates(self) -> list[str]:
        """Where a sandbox's registry may listen: one address each, below ``outside``."""
        top = self.subnet.broadcast_address
        return [str(top - n) for n in range(2, 2 + SERVICE_SLOTS)]

    def dns_candidates(self) -> list[str]:
        """Where a sandbox's DNS server may listen (slot ``i`` goes with registry candidate ``i``)."""
        top = self.subnet.broadcast_address
        return [str(top - n) for n in range(2 + SERVICE_SLOTS, 2 + 2 * SERVICE_SLOTS)]

    def relay_candidates(self) -> list[str]:
        """Where a sandbox's mail relay stand-in may listen (slot ``i`` as above)."""
        top = self.subnet.broadcast_address
        return [str(top - n) for n in range(2 + 2 * SERVICE_SLOTS, 2 + 3 * SERVICE_SLOTS)]

    def service_slots(self) -> list[dict[str, str]]:
        """One set of service addresses per sandbox on this machine: ``{registry, dns, relay}``."""
        return [
            {"registry": r, "dns": d, "relay": m}
            for r, d, m in zip(self.registry_candidates(), self.dns_candidates(), self.relay_candidates(), strict=True)
        ]

    def reserved(self) -> tuple[str, ...]:
        """This machine's own addresses on the network (no droplet may send from them)."""
        return (self.operator, self.outside, *(a for slot in self.service_slots() for a in slot.values()))

    def pool(self) -> list[str]:
        """Addresses droplets get: everything but the gateway and the top few (vantage points, services)."""
        hosts = list(self.subnet.hosts())
        return [str(h) for h in hosts[1 : -(2 + 3 * SERVICE_SLOTS)]]


def instance_id(state: str | None) -> str:
    """A label value that tells this sandbox's containers from another's on the same engine."""
    seed = state or f"memory-{time.time_ns()}"
    return hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()[:10]


def host_conflicts(subnet: ipaddress.IPv4Network, own_bridges: tuple[str, ...] = ()) -> list[str]:
    """Routes and name servers of this machine that ``subnet`` would shadow."""
    found = []
    try:
        routes = json.loads(subprocess.run(["ip", "-j", "route"], capture_output=True, text=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError, ValueError):
        routes = []
    for route in routes:
        dst = route.get("dst")
        if not dst or dst == "default" or route.get("dev") in own_bridges:
            continue
        with contextlib.suppress(ValueError):
            if ipaddress.ip_network(dst, strict=False).overlaps(subnet):
                found.append(f"route {dst} dev {route.get('dev')}")
    with contextlib.suppress(OSError), open("/etc/resolv.conf") as resolv:
        for line in resolv:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                with contextlib.suppress(ValueError):
                    if ipaddress.ip_address(parts[1]) in subnet:
                        found.append(f"name server {parts[1]}")
    return found


def _tar(files: dict[str, tuple[bytes, int]], dirs: dict[str, int]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, mode in dirs.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        for path, (data, mode) in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _bridge_addresses() -> set[str] | None:
    """This machine's IPv4 addresses on the public network's bridge (None when ``ip`` cannot tell)."""
    try:
        proc = subprocess.run(
            ["ip", "-j", "-4", "addr", "show", "dev", PUBLIC_BRIDGE], capture_output=True, text=True, check=False
        )
        return {a["local"] for link in json.loads(proc.stdout) for a in link.get("addr_info", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ssh_answers(address: str, timeout: float = 1.0) -> bool:
    """True when an SSH server greets on ``address``:22."""
    try:
        with socket.create_connection((address, 22), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False


class Machines:
    """The Docker side of droplets. Methods named ``*_async`` return at once; the rest block."""

    def __init__(
        self,
        client,
        image: str,
        instance: str,
        public: PublicNetwork,
        ca_pem: bytes | None = None,
        disk_dir: Path | None = None,
    ):
        self.docker = client
        self.image = image
        self.instance = instance
        self.public = public
        self.ca_pem = ca_pem
        # Where bounded droplet disks live (their image files and mount points); the size of new ones in GiB
        # (None: unbounded), read when a disk is made (the app points it at the setting droplet_disk_gib).
        self.disk_dir = Path(disk_dir) if disk_dir else Path(tempfile.gettempdir()) / f"oxy-sandbox-{instance}-disks"
        self.disk_gib: Callable[[], float | None] = lambda: None
        self.registry_address = public.operator
        self.dns_address: str | None = None  # the sandbox's DNS server, once it runs: droplets resolve with it
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="machines")
        self._locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._networks_guard = threading.Lock()
        self._alive: int | None = None  # the lock that says this sandbox runs (liveness), held once connected

    # -- set-up --------------------------------------------------------------------------
    @classmethod
    def connect(
        cls,
        image: str | None,
        instance: str,
        public_range: str,
        ca_pem: bytes | None = None,
        disk_dir: Path | None = None,
    ):
        """Machines on the local Docker engine, or (None, why) when there can be none; the bounded disks of
        sandboxes with no machine left are freed, this sandbox's own are mounted (again)."""
        if not image:
            return None, "no droplet image configured (--droplet-image or OXY_SANDBOX_DROPLET_IMAGE)"
        try:
            client = docker.from_env(timeout=120)
            client.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
            return None, f"no Docker engine ({exc.__class__.__name__}: {exc})"
        try:
            client.images.get(image)
        except Exception:  # noqa: BLE001
            return None, f"the droplet image {image} is not built (tests/images/build)"
        machines = cls(client, image, instance, PublicNetwork(ipaddress.ip_network(public_range)), ca_pem, disk_dir)
        problem = machines.ensure_public_network()
        if problem:
            return None, problem
        machines._alive = liveness.hold(instance)
        stale = machines.prune_disks(keep=machines.instances() | {instance})
        if stale:
            log.warning("freed droplet disks of sandboxes with no machine left: %s", ", ".join(stale))
        for problem in machines.mount_disks():
            log.warning("%s", problem)
        return machines, ""

    def ensure_public_network(self) -> str:
        """The shared public network, created once; '' when usable, else why not."""
        subnet = self.public.subnet
        try:
            net = self.docker.networks.get(PUBLIC_NETWORK)
            configured = (net.attrs.get("IPAM") or {}).get("Config") or [{}]
            if configured[0].get("Subnet") != str(subnet):
                return f"network {PUBLIC_NETWORK} exists with subnet {configured[0].get('Subnet')}, not {subnet}"
        except docker.errors.NotFound:
            conflicts = host_conflicts(subnet)
            if conflicts:
                return f"the public range {subnet} overlaps this machine's {', '.join(conflicts)}"
            ipam = docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=str(subnet), gateway=self.public.operator)]
            )
            self.docker.networks.create(
                PUBLIC_NETWORK,
                driver="bridge",
                ipam=ipam,
                labels={LABEL: "public"},
                options={"com.docker.network.bridge.name": PUBLIC_BRIDGE},
            )
        # The "outside" vantage point: an address of this machine that no firewall allows by default.
        subprocess.run(
            ["ip", "addr", "replace", f"{self.public.outside}/32", "dev", PUBLIC_BRIDGE],
            capture_output=True,
            check=False,
        )
        return ""

    def serving(self, address: str, ports: tuple[int, ...]) -> bool:
        """Whether something answers on one of ``ports`` of ``address`` (another sandbox's service: every sandbox
        here serves on this machine's own addresses of the bridge, so only those are asked) or a machine holds
        the address."""
        local = _bridge_addresses()
        if local is None or address in local:
            for port in ports:
                with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=0.5):
                    return True
        return address in self.used_public_addresses()

    def claim_address(self, address: str, ports: tuple[int, ...] = (443,)) -> bool:
        """Give this machine ``address`` on the public network, unless another sandbox serves there (one of
        ``ports`` answers) or a machine holds it."""
        if self.serving(address, ports):
            return False
        proc = subprocess.run(
            ["ip", "addr", "replace", f"{address}/32", "dev", PUBLIC_BRIDGE], capture_output=True, check=False
        )
        return proc.returncode == 0

    def used_public_addresses(self) -> set[str]:
        """Addresses machines hold on the shared public network, also those of stopped ones (a powered-off droplet
        keeps its address; Docker only frees it from the network while the container is stopped)."""
        used = set()
        try:
            containers = self.docker.api.containers(all=True)
        except docker.errors.DockerException:
            return used
        for summary in containers:
            network = ((summary.get("NetworkSettings") or {}).get("Networks") or {}).get(PUBLIC_NETWORK) or {}
            for address in ((network.get("IPAMConfig") or {}).get("IPv4Address"), network.get("IPAddress")):
                if address:
                    used.add(address)
        return used

    def used_subnets(self) -> list[ipaddress.IPv4Network]:
        """Subnets of every Docker network here: a new VPC's range must not overlap them."""
        found = []
        for net in self.docker.networks.list():
            for pool in (net.attrs.get("IPAM") or {}).get("Config") or []:
                with contextlib.suppress(KeyError, ValueError):
                    found.append(ipaddress.ip_network(pool["Subnet"]))
        return found

    def describe(self) -> dict:
        return {
            "enabled": True,
            "instance": self.instance,
            "image": self.image,
            "public_network": str(self.public.subnet),
            "operator_address": self.public.operator,
            "outside_address": self.public.outside,
        }

    # -- names -----------------------------------------------------------------------------
    def container_name(self, droplet_id: int) -> str:
        # Another sandbox on this engine numbers its droplets the same way: the instance tells them apart.
        return f"oxy-{self.instance}-droplet-{droplet_id}"

    def disk_name(self, droplet_id: int) -> str:
        return f"{self.container_name(droplet_id)}-disk"

    def disk_image(self, droplet_id: int) -> Path:
        """The image file of droplet ``droplet_id``'s disk when it is bounded (``droplet_disk_gib``)."""
        return self.disk_dir / f"{self.disk_name(droplet_id)}.img"

    def disk_mount(self, droplet_id: int) -> Path:
        """Where the sandbox mounts that image file (the disk volume is bound to it)."""
        return self.disk_dir / self.disk_name(droplet_id)

    def disk_bounded(self, droplet_id: int) -> bool:
        """Whether droplet ``droplet_id``'s disk is a filesystem of its own (made while droplet_disk_gib was set)."""
        return self.disk_image(droplet_id).exists()

    def image_name(self, image_id: int) -> str:
        return f"oxy-{self.instance}-image-{image_id}"

    def image_disk_name(self, image_id: int) -> str:
        return f"{self.image_name(image_id)}-disk"

    def vpc_network_name(self, vpc_id: str) -> str:
        return f"oxy-vpc-{vpc_id}"

    def _lock(self, droplet_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(droplet_id, threading.Lock())

    def submit(self, droplet_id: int, job, *args):
        """Run ``job(*args)`` on the worker pool, one job at a time per droplet."""

        def run():
            with self._lock(droplet_id):
                try:
                    return job(*args)
                except Exception:
                    log.exception("machine job %s for droplet %s failed", getattr(job, "__name__", job), droplet_id)
                    raise

        return self._pool.submit(run)

    # -- networks --------------------------------------------------------------------------
    def ensure_vpc_network(self, vpc: dict) -> str:
        with self._networks_guard:  # droplets created together (names: [...]) share their VPC's network
            return self._ensure_vpc_network(vpc)

    def _ensure_vpc_network(self, vpc: dict) -> str:
        name = self.vpc_network_name(vpc["id"])
        try:
            self.docker.networks.get(name)
            return name
        except docker.errors.NotFound:
            pass
        subnet = ipaddress.ip_network(vpc["ip_range"])
        conflicts = host_conflicts(subnet)
        if conflicts:
            raise RuntimeError(f"VPC {vpc['name']} ({subnet}) overlaps this machine's {', '.join(conflicts)}")
        ipam = docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=str(subnet), gateway=str(subnet.network_address + 1))]
        )
        self.docker.networks.create(
            name, driver="bridge", ipam=ipam, labels={LABEL: self.instance, "oxy.vpc": vpc["id"]}
        )
        return name

    def remove_vpc_network(self, vpc_id: str) -> None:
        with contextlib.suppress(Exception):
            self.docker.networks.get(self.vpc_network_name(vpc_id)).remove()

    # -- machines --------------------------------------------------------------------------
    def create(
        self,
        droplet: dict,
        vpc: dict,
        authorized_keys: list[str],
        user_data: str | None,
        image_id: int | None = None,
    ) -> None:
        """Create and boot the machine of ``droplet`` (from the disk of the image ``image_id``, when
        given); blocks until SSH answers (or raises)."""
        api = self.docker.api
        name = self.container_name(droplet["id"])
        addresses = droplet["_addresses"]
        with contextlib.suppress(docker.errors.NotFound):
            self.docker.containers.get(name).remove(force=True, v=True)
        vpc_net = self.ensure_vpc_network(vpc)
        disk = self.make_disk(droplet["id"])
        base = self.image
        if image_id is not None:
            base = self.image_name(image_id)
            self._copy_volume(self.image_disk_name(image_id), disk)
        host_config = api.create_host_config(
            cap_add=CAPABILITIES,
            security_opt=["seccomp=unconfined", "apparmor=unconfined"],
            cgroupns="host",
            binds={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
            tmpfs={"/run": "", "/run/lock": "", "/tmp": ""},
            mounts=[docker.types.Mount(target="/var/lib/docker", source=disk, type="volume")],
            extra_hosts={"registry.digitalocean.com": self.registry_address},
            # Docker's resolver in the machine forwards what it does not know itself (the Valkey servers'
            # aliases) to the sandbox's DNS server, as DigitalOcean's droplets ask its resolvers.
            dns=[self.dns_address] if self.dns_address else None,
            **self._limits(droplet["size"]),
        )
        networking = api.create_networking_config(
            {PUBLIC_NETWORK: api.create_endpoint_config(ipv4_address=addresses["public"])}
        )
        container = api.create_container(
            base,
            name=name,
            hostname=droplet["name"],
            labels={LABEL: self.instance, "oxy.droplet": str(droplet["id"])},
            host_config=host_config,
            networking_config=networking,
            stop_signal="SIGRTMIN+3",
            detach=True,
        )
        api.connect_container_to_network(container["Id"], vpc_net, ipv4_address=addresses["private"])
        keys = "".join(k.strip() + "\n" for k in authorized_keys).encode()
        files = {"/root/.ssh/authorized_keys": (keys, 0o600)}
        if user_data:
            files["/var/lib/cloud/instance/user-data.txt"] = (user_data.encode(), 0o600)
        if self.ca_pem:
            files["/usr/local/share/ca-certificates/oxy-sandbox.crt"] = (self.ca_pem, 0o644)
        dirs = {"/root/.ssh": 0o700, "/var/lib/cloud": 0o755, "/var/lib/cloud/instance": 0o700}
        api.put_archive(container["Id"], "/", _tar(files, dirs))
        api.start(container["Id"])
        self.name_resolver(container["Id"])
        self.wait_for_ssh(addresses["public"])

    def make_disk(self, droplet_id: int) -> str:
        """Droplet ``droplet_id``'s disk volume; returns its name. A disk it has already (a machine booted anew)
        is kept, as before, and a bounded one mounted; a new one is bounded when ``droplet_disk_gib`` is set,
        else an ordinary volume."""
        name = self.disk_name(droplet_id)
        labels = {LABEL: self.instance, "oxy.droplet": str(droplet_id)}
        image, mount = self.disk_image(droplet_id), self.disk_mount(droplet_id)
        bind = {"type": "none", "o": "bind", "device": str(mount)}
        if image.exists():
            self._mount_disk(image, mount)
            with contextlib.suppress(docker.errors.NotFound):
                self.docker.volumes.get(name)
                return name
            self.docker.volumes.create(name, driver="local", driver_opts=bind, labels=labels)
            return name
        with contextlib.suppress(docker.errors.NotFound):
            volume = self.docker.volumes.get(name)
            if not (volume.attrs.get("Options") or {}).get("device"):
                return name  # an ordinary disk
            volume.remove(force=True)  # bound to a disk whose image file went
        free_disk(mount, None)  # an empty mount point, or a disk whose image file went
        gib = self.disk_gib()
        if not gib:
            self.docker.volumes.create(name, labels=labels)
            return name
        self.disk_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            with open(image, "wb") as sparse:  # holes: the file takes the room its filesystem uses
                sparse.truncate(int(gib * 2**30))
            # No blocks reserved for root: the droplet's root can fill it all, and df's % is of all of it.
            _run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", str(image))
            self._mount_disk(image, mount)
            self.docker.volumes.create(
                name, driver="local", driver_opts=bind, labels={**labels, "oxy.disk_gib": f"{gib:g}"}
            )
        except Exception:
            free_disk(mount, image)
            raise
        return name

    @staticmethod
    def _mount_disk(image: Path, mount: Path) -> None:
        """Loop-mount the disk ``image`` on ``mount`` unless it is mounted there already."""
        if str(mount) in _mounts():
            return
        mount.mkdir(mode=0o700, parents=True, exist_ok=True)
        _run("mount", "-o", "loop", str(image), str(mount))

    def mount_disks(self) -> list[str]:
        """Mount this sandbox's bounded disks that are not (after a restart of this machine); what failed."""
        problems = []
        for image in sorted(self.disk_dir.glob("*.img")) if self.disk_dir.is_dir() else []:
            try:
                self._mount_disk(image, image.with_suffix(""))
            except RuntimeError as exc:
                problems.append(f"droplet disk {image} is not mounted: {exc}")
        return problems

    def prune_disks(self, keep: set[str]) -> list[str]:
        """Bounded disks (mounts named like ``Machines.disk_name``) of sandboxes with no machine left (one killed
        before its reset, whose machines went): their volumes removed, unmounted, their loop devices freed, their
        image files deleted. Live sandboxes (``liveness``) keep theirs, whatever ``keep`` says."""
        keep = set(keep) | liveness.live()
        freed = []
        for mount in _mounts():
            found = DISK_MOUNT.match(os.path.basename(mount))
            if found and found.group(1) not in keep:
                with contextlib.suppress(docker.errors.DockerException):
                    self.docker.volumes.get(os.path.basename(mount)).remove(force=True)
                free_disk(Path(mount), None)
                freed.append(mount)
        return freed

    def free_disks(self, keep: set[int] = frozenset()) -> None:
        """Free this sandbox's bounded disks but those of the droplets ``keep``."""
        for image in sorted(self.disk_dir.glob("*.img")) if self.disk_dir.is_dir() else []:
            mount = image.with_suffix("")
            found = DISK_MOUNT.match(mount.name)
            droplet_id = int(mount.name.rsplit("-", 2)[1]) if found else None
            if droplet_id not in keep:
                free_disk(mount, image)

    def name_resolver(self, container_id: str) -> None:
        """The sandbox's DNS server as the machine's second name server, after Docker's own (127.0.0.11, which
        asks it too): a Docker engine in the droplet skips a loopback name server, so its containers resolve
        with this one (as a droplet's containers ask DigitalOcean's resolvers)."""
        if not self.dns_address:
            return
        line = f"nameserver {self.dns_address}"
        script = f"grep -qx '{line}' /etc/resolv.conf || echo '{line}' >> /etc/resolv.conf"
        with contextlib.suppress(docker.errors.DockerException):
            self.docker.api.exec_start(self.docker.api.exec_create(container_id, ["sh", "-c", script])["Id"])

    def _limits(self, size: dict) -> dict:
        return {"mem_limit": f"{size['memory']}m", "cpu_period": 100_000, "cpu_quota": size["vcpus"] * 100_000}

    def wait_for_ssh(self, address: str, timeout: float = SSH_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ssh_answers(address):
                return
            time.sleep(0.3)
        raise TimeoutError(f"SSH did not answer on {address} within {timeout:.0f}s")

    def _container(self, droplet_id: int):
        try:
            return self.docker.containers.get(self.container_name(droplet_id))
        except docker.errors.NotFound:
            return None

    def power(self, droplet: dict, on: bool, restart: bool = False) -> None:
        container = self._container(droplet["id"])
        if container is None:
            raise RuntimeError(f"droplet {droplet['id']} has no machine")
        if container.status == "paused":  # its region was down when the sandbox stopped
            container.unpause()
        if (on or restart) and self.disk_bounded(droplet["id"]):  # its volume binds the mount point
            self._mount_disk(self.disk_image(droplet["id"]), self.disk_mount(droplet["id"]))
        if restart:
            container.restart(timeout=20)
        elif on:
            container.start()
        else:
            container.stop(timeout=20)
        if on or restart:
            self.name_resolver(container.id)
            self.wait_for_ssh(droplet["_addresses"]["public"])

    def resize(self, droplet: dict, size: dict) -> None:
        container = self._container(droplet["id"])
        if container is None:
            raise RuntimeError(f"droplet {droplet['id']} has no machine")
        limits = self._limits(size)
        self.docker.api.update_container(container.id, memswap_limit=-1, **limits)

    def _copy_volume(self, source: str, target: str) -> None:
        """Copy every file of the volume ``source`` into the volume ``target`` (owners, modes, links kept; a
        sparse file stays sparse: ``cp`` keeps holes it finds). Either may be a bounded disk."""
        self.docker.containers.run(
            self.image,
            entrypoint=["cp", "-a", "/from/.", "/to/"],
            volumes={source: {"bind": "/from", "mode": "ro"}, target: {"bind": "/to", "mode": "rw"}},
            network_mode="none",
            remove=True,
        )

    def capture(self, droplet_id: int, image_id: int) -> None:
        """The disk of droplet ``droplet_id``'s machine as the image ``image_id``: its container committed
        (paused meanwhile, as a live snapshot) and its disk volume copied."""
        container = self._container(droplet_id)
        if container is None:
            raise RuntimeError(f"droplet {droplet_id} has no machine")
        container.commit(repository=self.image_name(image_id), tag="latest", pause=True)
        disk = self.image_disk_name(image_id)
        self.docker.volumes.create(disk, labels={LABEL: self.instance, "oxy.image": str(image_id)})
        self._copy_volume(self.disk_name(droplet_id), disk)

    def forget_image(self, image_id: int) -> None:
        """Remove the image ``image_id``'s copies (its Docker image and its disk volume)."""
        with contextlib.suppress(docker.errors.NotFound):
            self.docker.images.remove(f"{self.image_name(image_id)}:latest", force=True)
        with contextlib.suppress(docker.errors.NotFound):
            self.docker.volumes.get(self.image_disk_name(image_id)).remove(force=True)

    def pause(self, droplet_id: int, pause: bool) -> None:
        """Freeze the machine (its region is down) or thaw it; its disk and state stay."""
        container = self._container(droplet_id)
        if container is None:
            return
        if pause and container.status == "running":
            container.pause()
        elif not pause and container.status == "paused":
            container.unpause()

    def destroy(self, droplet_id: int) -> None:
        container = self._container(droplet_id)
        if container is not None:
            container.remove(force=True, v=True)
        with contextlib.suppress(Exception):
            self.docker.volumes.get(self.disk_name(droplet_id)).remove(force=True)
        free_disk(self.disk_mount(droplet_id), self.disk_image(droplet_id))

    def state(self, droplet_id: int) -> str | None:
        container = self._container(droplet_id)
        return None if container is None else container.status

    def instances(self) -> set[str]:
        """The sandboxes that have machines or cluster servers on this engine, running or not."""
        return {c.labels.get(LABEL) for c in self.docker.containers.list(all=True, filters={"label": LABEL})}

    def prune_networks(self, keep: set[str]) -> list[str]:
        """VPC networks of sandboxes with no machine or cluster server left (one that stopped without a
        reset): their ranges would keep a new VPC of the same range from getting its network. Live sandboxes
        (``liveness``) keep theirs, whatever ``keep`` says."""
        keep = set(keep) | liveness.live()
        removed = []
        for network in self.docker.networks.list(filters={"label": LABEL}):
            owner = (network.attrs.get("Labels") or {}).get(LABEL)
            if owner in keep or owner == "public":
                continue
            with contextlib.suppress(docker.errors.DockerException):
                network.remove()
                removed.append(network.name)
        return removed

    def owned(self) -> dict[int, object]:
        """This sandbox's machines by droplet id."""
        found = {}
        for container in self.docker.containers.list(all=True, filters={"label": f"{LABEL}={self.instance}"}):
            with contextlib.suppress(KeyError, ValueError):
                found[int(container.labels["oxy.droplet"])] = container
        return found

    def remove_all(self) -> None:
        """Every machine, disk and VPC network of this sandbox (a reset)."""
        for droplet_id in list(self.owned()):
            self.destroy(droplet_id)
        for volume in self.docker.volumes.list(filters={"label": f"{LABEL}={self.instance}"}):
            with contextlib.suppress(Exception):
                volume.remove(force=True)
        # Images committed from this sandbox's machines carry its label (also once untagged while in use).
        for image in self.docker.images.list(all=True, filters={"label": f"{LABEL}={self.instance}"}):
            with contextlib.suppress(Exception):
                self.docker.images.remove(image.id, force=True)
        for network in self.docker.networks.list(filters={"label": f"{LABEL}={self.instance}"}):
            with contextlib.suppress(Exception):
                network.remove()
        self.free_disks()

    def close(self) -> None:
        """The sandbox stops: its machines run on with their disks; bounded disks no machine uses are freed."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self.free_disks(keep=set(self.owned()))
        liveness.release(self._alive)
        self._alive = None
