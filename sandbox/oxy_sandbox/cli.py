"""``oxy-sandbox``: run the DigitalOcean API sandbox.

    oxy-sandbox serve --port 8443 --state-dir .sandbox           # https, CA in .sandbox/ca.pem
    oxy-sandbox serve --plain-http --port 8080 --state-dir .sandbox --reset

Clients trust the sandbox's CA with REQUESTS_CA_BUNDLE=<state-dir>/ca.pem (pydo and
anything built on requests) or SSL_CERT_FILE for others.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import docker
import uvicorn

from . import process
from .app import build, detach_backends
from .backends.machines import PUBLIC_RANGE
from .backends.registry import Registry
from .tls import ensure_certs, ensure_public_ca


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oxy-sandbox", description="A local DigitalOcean API v2 sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a sandbox in the background unless one serves this state dir already")
    up.add_argument("--state-dir", type=Path, default=Path(".sandbox"))
    up.add_argument("--reset", action="store_true")
    up.add_argument("--port", type=int, default=0)
    up.add_argument("--env", action="store_true", help="print shell exports for DIGITALOCEAN_* instead of JSON")
    down = sub.add_parser("down", help="stop the sandbox serving this state dir")
    down.add_argument("--state-dir", type=Path, default=Path(".sandbox"))
    push = sub.add_parser("push", help="push local images to the sandbox's container registry")
    push.add_argument("--state-dir", type=Path, default=Path(".sandbox"))
    push.add_argument("--registry-name", default="oxy", help="created on first push, as on DigitalOcean")
    push.add_argument("images", nargs="+", metavar="IMAGE=REPOSITORY:TAG", help="e.g. oxy-test/api:1a2b=api:v1")
    serve = sub.add_parser("serve", help="run the API in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    serve.add_argument("--state-dir", type=Path, default=Path(".sandbox"), help="state.db and TLS files live here")
    serve.add_argument("--reset", action="store_true", help="start from an empty account")
    serve.add_argument("--plain-http", action="store_true", help="serve http (clients must not insist on TLS)")
    serve.add_argument("--ready-file", type=Path, help="write {url, ca, pid} here once listening")
    for name, default in (
        ("droplet-delay", 2.0),
        ("action-delay", 1.0),
        ("firewall-delay", 1.0),
        ("database-delay", 5.0),
        ("app-delay", 4.0),
    ):
        serve.add_argument(f"--{name}", type=float, default=default, help=f"seconds (default {default})")
    serve.add_argument(
        "--machines",
        choices=["auto", "off"],
        default="auto",
        help="auto: droplets boot real machines when a Docker engine and the droplet image are here",
    )
    serve.add_argument(
        "--droplet-image",
        default=os.environ.get("OXY_SANDBOX_DROPLET_IMAGE"),
        help="the image droplets boot (tests/images/build makes it; default $OXY_SANDBOX_DROPLET_IMAGE)",
    )
    serve.add_argument(
        "--valkey-image",
        default=os.environ.get("OXY_SANDBOX_VALKEY_IMAGE"),
        help="the image Valkey clusters' servers run (tests/images/build makes it; default $OXY_SANDBOX_VALKEY_IMAGE)",
    )
    serve.add_argument("--public-range", default=PUBLIC_RANGE, help="the droplets' public network")
    serve.add_argument("--burst-limit", type=int, default=250, help="requests per minute per token (0: off)")
    serve.add_argument("--hourly-limit", type=int, default=5000, help="requests per hour per token")
    serve.add_argument("--log-level", default="warning")
    return parser


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready):
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            port = self.servers[0].sockets[0].getsockname()[1]
            self._on_ready(port)


def _up(args: argparse.Namespace) -> int:
    running = process.find(args.state_dir)
    if running and args.reset:
        process.stop(running)
        running = None
    if running is None:
        running = process.start(args.state_dir, reset=args.reset, port=args.port)
    if args.env:
        for key, value in running.env().items():
            print(f"export {key}={shlex.quote(value)}")
    else:
        print(json.dumps({"url": running.url, "ca": running.ca, "pid": running.pid}))
    return 0


def _down(args: argparse.Namespace) -> int:
    running = process.find(args.state_dir)
    if running:
        process.stop(running)
    return 0


def _push(args: argparse.Namespace) -> int:
    """Create the account's registry if it has none, then push each image into it."""
    running = process.find(args.state_dir)
    if running is None:
        print("push: no sandbox serves this state dir; run `oxy-sandbox up` first", file=sys.stderr)
        return 1
    info = running.control("GET", "machines")
    if not info.get("registry"):
        print(f"push: this sandbox runs no registry ({info.get('reason') or 'see its log'})", file=sys.stderr)
        return 1
    if running.api("GET", "/v2/registry")[0] == 404:
        body = {"name": args.registry_name, "subscription_tier_slug": "basic", "region": "ams3"}
        status, answer = running.api("POST", "/v2/registry", body)
        if status != 201:
            print(f"push: creating the registry failed: {answer}", file=sys.stderr)
            return 1
    name = running.api("GET", "/v2/registry")[1]["registry"]["name"]
    registry = Registry(args.state_dir.resolve() / "registry", args.state_dir.resolve() / "tls", info["registry"])
    client = docker.from_env(timeout=600)
    for spec in args.images:
        image, _, repository = spec.partition("=")
        print(registry.push(client, image, f"{name}/{repository}"))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "up":
        return _up(args)
    if args.command == "push":
        return _push(args)
    if args.command == "down":
        return _down(args)
    # The state holds every password the sandbox issued: this machine's root only.
    os.umask(0o077)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    args.state_dir.chmod(0o700)
    state = args.state_dir / "state.db"
    if args.reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{state}{suffix}").unlink(missing_ok=True)
    tls_dir = args.state_dir / "tls"
    ca, cert, key = ensure_certs(tls_dir, hosts=("localhost", "127.0.0.1", "::1", args.host))
    ensure_public_ca(tls_dir)  # what the droplets' Caddy signs with, trusted by the uptime probes
    app = build(
        str(state),
        backends=dict(
            machines=args.machines,
            droplet_image=args.droplet_image,
            valkey_image=args.valkey_image,
            public_range=args.public_range,
            tls_dir=tls_dir,
            registry_dir=args.state_dir / "registry",
        ),
        droplet_delay=args.droplet_delay,
        action_delay=args.action_delay,
        firewall_delay=args.firewall_delay,
        database_delay=args.database_delay,
        app_delay=args.app_delay,
        burst_limit=args.burst_limit,
        hourly_limit=args.hourly_limit,
    )
    app.state.ca_pem = ca.read_bytes()
    ssl_kwargs = {}
    if args.plain_http:
        ca = None
    else:
        ssl_kwargs = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    scheme = "http" if args.plain_http else "https"

    def ready(port: int) -> None:
        info = {"url": f"{scheme}://{args.host}:{port}", "ca": str(ca) if ca else None, "pid": os.getpid()}
        print(json.dumps(info), flush=True)
        if args.ready_file:
            tmp = args.ready_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(info))
            tmp.replace(args.ready_file)

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=1,
        **ssl_kwargs,
    )
    try:
        _Server(config, ready).run()
    finally:
        detach_backends(app.state.sandbox)
    return 0


if __name__ == "__main__":
    sys.exit(main())
