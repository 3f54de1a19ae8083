"""oxy.infra.endpoint_check in process, against servers on 127.0.0.1: an HTTP server that redirects, an SMTP greeter,
and a closed port. The checks run side by side: each server answers only once every server has been reached (a
barrier), which a module checking one service after another would never get past."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oxy.infra.plugins.modules import endpoint_check


class Servers:
    """An HTTP redirect and an SMTP greeting on 127.0.0.1, each answering after the barrier."""

    def __init__(self, parties, greeting=b"220 mail.example ESMTP\r\n", location="https://api.example/"):
        self.barrier = threading.Barrier(parties, timeout=10)
        self.greeting = greeting
        self.location = location
        self.sockets = []
        self.http_port = self.serve(self.http)
        self.smtp_port = self.serve(self.smtp)

    def serve(self, handler):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        self.sockets.append(listener)

        def accept():
            with listener:
                try:
                    conn = listener.accept()[0]
                except OSError:
                    return
                with conn:
                    try:
                        self.barrier.wait()
                    except threading.BrokenBarrierError:
                        return
                    handler(conn)

        threading.Thread(target=accept, daemon=True).start()
        return listener.getsockname()[1]

    def http(self, conn):
        conn.recv(4096)
        conn.sendall(
            b"HTTP/1.1 308 Permanent Redirect\r\nLocation: " + self.location.encode() + b"\r\nContent-Length: 0\r\n"
            b"Connection: close\r\n\r\n"
        )

    def smtp(self, conn):
        conn.sendall(self.greeting)
        conn.settimeout(5)
        try:
            while conn.recv(4096):
                conn.sendall(b"221 bye\r\n")
        except OSError:
            pass

    def close(self):
        self.barrier.abort()
        for listener in self.sockets:
            listener.close()


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit):
        endpoint_check.main()
    return json.loads(capsys.readouterr().out)


def check_servers(capsys, servers, **more):
    """The module on the HTTP and SMTP servers of ``servers`` (and ``more`` options), the servers closed after."""
    try:
        return run(
            capsys,
            {
                "address": "127.0.0.1",
                "timeout": 5,
                "http_redirect": {"server_name": "api.example", "port": servers.http_port},
                "smtp": {"port": servers.smtp_port},
                **more,
            },
        )
    finally:
        servers.close()


def test_checks_run_side_by_side_and_report_in_order(capsys):
    out = check_servers(capsys, Servers(parties=2), refused=[{"port": closed_port(), "source": "127.0.0.1"}])
    assert out.get("failed") is not True, out
    assert [(check["name"].split(" on ")[0], check["ok"]) for check in out["checks"]] == [
        ("HTTP api.example", True),
        ("SMTP greeting", True),
        ("port %s refused from 127.0.0.1" % out["checks"][2]["name"].split()[1], True),
    ]
    assert out["checks"][0]["detail"] == "308 to https://api.example/"
    assert out["checks"][1]["detail"] == "220 mail.example ESMTP"
    assert out["checks"][2]["detail"] == "refused from 127.0.0.1 (ConnectionRefusedError)"


def test_every_failed_check_is_named(capsys):
    out = check_servers(capsys, Servers(parties=2, greeting=b"554 go away\r\n", location="http://api.example/"))
    assert out["failed"] is True
    assert out["msg"].startswith("2 of 2 checks of 127.0.0.1 failed: ")
    assert "expected a redirect to https://api.example" in out["msg"]
    assert "greeted with 554" in out["msg"]


def test_a_port_that_accepts_is_not_refused(capsys):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        out = run(capsys, {"address": "127.0.0.1", "refused": [{"port": port, "source": "127.0.0.1", "wait": 1}]})
    assert out["failed"] is True
    assert out["checks"] == [
        {
            "name": "port %s refused from 127.0.0.1" % port,
            "ok": False,
            "detail": "port %s accepted a connection from 127.0.0.1" % port,
        }
    ]
