"""Real servers behind sandbox Valkey (and Caching) clusters: one redis-server container per cluster.

- A cluster's server is a container of the valkey image (Debian 12's redis-server 7.0, which speaks
  Valkey's protocol), named ``oxy-<sandbox>-db-<cluster id>``, with no capabilities at all.
- It joins the cluster VPC's Docker network at its private address, aliased as the cluster's private
  host, and the sandbox's public network at an address of the droplets' pool, aliased as its public
  host: Docker's DNS resolves the private host only inside the VPC, the public one for every droplet.
- It speaks TLS only, on the cluster's port, with a certificate from the sandbox's CA for both host
  names and both addresses; its ``default`` user's password is the cluster's; its ``maxmemory-policy``
  is the cluster's eviction policy.
- Changes to a running server (a password reset, the eviction policy) go through ``oxy-valkey-set``
  in it, which also rewrites its configuration file, so a restarted server keeps them.
- Every Docker call runs on a worker thread, one job at a time per cluster.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import ssl
import tarfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import docker

from .. import tls
from .machines import LABEL, PUBLIC_NETWORK, Machines

log = logging.getLogger("oxy_sandbox.caching")

CONF_DIR = "/etc/redis/oxy"
SOCKET = "/var/lib/redis/redis.sock"
START_TIMEOUT = 60.0


def _tar(files: dict[str, bytes], owner: tuple[int, int], mode: int = 0o600) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            info.uid, info.gid = owner
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _untar_one(chunks) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        member = tar.next()
        return tar.extractfile(member).read() if member else b""


def config_file(port: int, settings: dict[str, str]) -> bytes:
    """The server's ``redis.conf``: TLS only on ``port``; ``settings`` (requirepass, maxmemory-policy ...)."""
    lines = [
        "port 0",  # no plaintext port, as DigitalOcean's managed Valkey
        f"tls-port {port}",
        "bind 0.0.0.0",
        "protected-mode no",
        f"tls-cert-file {CONF_DIR}/server.pem",
        f"tls-key-file {CONF_DIR}/server-key.pem",
        f"tls-ca-cert-file {CONF_DIR}/ca.pem",
        "tls-auth-clients no",
        # The sandbox's own way in (oxy-valkey-set, through docker exec); only the container reaches it.
        f"unixsocket {SOCKET}",
        "unixsocketperm 700",
        "dir /var/lib/redis",
        'logfile ""',
        *(f'{name} "{value}"' for name, value in settings.items()),
    ]
    return ("\n".join(lines) + "\n").encode()


def server_answers(address: str, port: int, ca_file: str, timeout: float = 1.0) -> bool:
    """True when a server behind a certificate from the sandbox's CA answers on ``address``:``port``."""
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = False  # the certificate names the address too; the CA is what matters here
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw, context.wrap_socket(raw) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class CacheServers:
    """The Docker side of Valkey/Redis clusters. ``submit`` runs a job on the worker pool; the rest block."""

    def __init__(self, machines: Machines, image: str, tls_dir: Path):
        self.machines = machines
        self.docker = machines.docker
        self.image = image
        self.tls_dir = Path(tls_dir)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="caching")
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @classmethod
    def connect(cls, machines: Machines | None, image: str | None, tls_dir: Path | None):
        """Servers for clusters on ``machines``' engine and networks, or (None, why) when there can be none."""
        if machines is None:
            return None, "no machines (a Docker engine and the droplet image)"
        if not image:
            return None, "no valkey image configured (--valkey-image or OXY_SANDBOX_VALKEY_IMAGE)"
        if tls_dir is None or not (Path(tls_dir) / "ca.pem").exists():
            return None, "no sandbox CA to sign the servers' certificates"
        try:
            machines.docker.images.get(image)
        except Exception:  # noqa: BLE001
            return None, f"the valkey image {image} is not built (tests/images/build)"
        return cls(machines, image, tls_dir), ""

    @property
    def ca_file(self) -> str:
        return str(self.tls_dir / "ca.pem")

    def describe(self) -> dict:
        return {"image": self.image}

    # -- names and jobs -------------------------------------------------------------------
    def container_name(self, cluster_id: str) -> str:
        return f"oxy-{self.machines.instance}-db-{cluster_id}"

    def _cert_stem(self, cluster_id: str) -> str:
        return f"db-{cluster_id}"

    def _lock(self, cluster_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(cluster_id, threading.Lock())

    def submit(self, cluster_id: str, job, *args) -> Future:
        """Run ``job(*args)`` on the worker pool, one job at a time per cluster."""

        def run():
            with self._lock(cluster_id):
                try:
                    return job(*args)
                except Exception:
                    log.exception("server job %s for cluster %s failed", getattr(job, "__name__", job), cluster_id)
                    raise

        return self._pool.submit(run)

    # -- servers ----------------------------------------------------------------------------
    def create(
        self, cluster_id: str, vpc: dict, addresses: dict, hosts: tuple[str, str], port: int, settings: dict
    ) -> None:
        """Create and start the server of a cluster; blocks until it answers (or raises)."""
        api = self.docker.api
        name = self.container_name(cluster_id)
        public_host, private_host = hosts
        with contextlib.suppress(docker.errors.NotFound):
            self.docker.containers.get(name).remove(force=True, v=True)
        vpc_net = self.machines.ensure_vpc_network(vpc)
        cert, key = tls.issue(
            self.tls_dir,
            self._cert_stem(cluster_id),
            (public_host, private_host, addresses["public"], addresses["private"]),
        )
        host_config = api.create_host_config(cap_drop=["ALL"], security_opt=["no-new-privileges"])
        networking = api.create_networking_config(
            {PUBLIC_NETWORK: api.create_endpoint_config(ipv4_address=addresses["public"], aliases=[public_host])}
        )
        container = api.create_container(
            self.image,
            name=name,
            hostname=public_host.split(".")[0],
            labels={LABEL: self.machines.instance, "oxy.database": cluster_id},
            host_config=host_config,
            networking_config=networking,
            detach=True,
        )
        api.connect_container_to_network(
            container["Id"], vpc_net, ipv4_address=addresses["private"], aliases=[private_host]
        )
        stream, _ = api.get_archive(container["Id"], "/etc/redis/oxy-owner")
        uid, gid = (int(n) for n in _untar_one(stream).decode().strip().split(":"))
        files = {
            f"{CONF_DIR}/redis.conf": config_file(port, settings),
            f"{CONF_DIR}/server.pem": cert.read_bytes(),
            f"{CONF_DIR}/server-key.pem": key.read_bytes(),
            f"{CONF_DIR}/ca.pem": (self.tls_dir / "ca.pem").read_bytes(),
        }
        api.put_archive(container["Id"], "/", _tar(files, (uid, gid)))
        api.start(container["Id"])
        self.wait_until_answering(addresses["public"], port)

    def wait_until_answering(self, address: str, port: int, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server_answers(address, port, self.ca_file):
                return
            time.sleep(0.2)
        raise TimeoutError(f"the server on {address}:{port} did not answer within {timeout:.0f}s")

    def _container(self, cluster_id: str):
        try:
            return self.docker.containers.get(self.container_name(cluster_id))
        except docker.errors.NotFound:
            return None

    def start(self, cluster_id: str, address: str, port: int) -> None:
        container = self._container(cluster_id)
        if container is None:
            raise RuntimeError(f"cluster {cluster_id} has no server")
        container.start()
        self.wait_until_answering(address, port)

    def apply(self, cluster_id: str, settings: dict[str, str]) -> None:
        """Set ``settings`` (CONFIG SET parameters) on the running server, and in its configuration file."""
        container = self._container(cluster_id)
        if container is None:
            raise RuntimeError(f"cluster {cluster_id} has no server")
        lines = "".join(f"{name} {value}\n" for name, value in settings.items())
        code, output = container.exec_run(["oxy-valkey-set"], environment={"OXY_CONFIG": lines})
        if code != 0:
            raise RuntimeError(f"the server of cluster {cluster_id} refused its settings: {output.decode().strip()}")

    def destroy(self, cluster_id: str) -> None:
        container = self._container(cluster_id)
        if container is not None:
            container.remove(force=True, v=True)
        stem = self._cert_stem(cluster_id)
        for path in (self.tls_dir / f"{stem}.pem", self.tls_dir / f"{stem}-key.pem"):
            path.unlink(missing_ok=True)

    def state(self, cluster_id: str) -> str | None:
        container = self._container(cluster_id)
        return None if container is None else container.status

    def owned(self) -> dict[str, object]:
        """This sandbox's servers by cluster id."""
        found = {}
        filters = {"label": [f"{LABEL}={self.machines.instance}", "oxy.database"]}
        for container in self.docker.containers.list(all=True, filters=filters):
            found[container.labels["oxy.database"]] = container
        return found

    def remove_all(self) -> None:
        """Every server of this sandbox (a reset)."""
        for cluster_id in list(self.owned()):
            self.destroy(cluster_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
