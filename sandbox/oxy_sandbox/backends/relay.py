"""The mail relay stand-in: the SMTP relay a droplet hands its outbound mail to, as DigitalOcean blocks port 25.

A real SMTP server (aiosmtpd) on an address of the sandbox's public network, known as
``smtp.relay.oxy-sandbox.test`` (the sandbox's DNS server answers it, and the SPF record of
``relay.oxy-sandbox.test`` that an ``include:`` names):

- port 587, submission as relay providers run it: STARTTLS with a certificate from the sandbox's CA,
  AUTH (PLAIN, LOGIN) offered and accepted only after STARTTLS, for the user ``oxy-relay`` with the
  sandbox's setting ``relay_password``; nothing is accepted before STARTTLS, no MAIL without AUTH;
- port 25 of the same address: somebody else's mail server on the internet, accepting any mail
  without authentication (STARTTLS offered, not required), so a test can see whether a droplet reaches
  outside port 25 (the sandbox's netfilter drops it while ``smtp_outbound_blocked``).

Every message either port accepted is kept in the store (``mail_messages``): ``GET /_sandbox/mail/messages``.
"""

from __future__ import annotations

import hmac
import logging
import ssl
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .. import tls
from ..util import now_iso
from .base import Backend

log = logging.getLogger("oxy_sandbox.relay")

HOSTNAME = "smtp.relay.oxy-sandbox.test"
SPF_NAME = "relay.oxy-sandbox.test"
USER = "oxy-relay"
SUBMISSION_PORT = 587
MX_PORT = 25
KIND = "mail_messages"


class _Keeper:
    """aiosmtpd's handler: every accepted message goes into the store."""

    def __init__(self, store, port: int):
        self.store = store
        self.port = port

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        with self.store.lock:
            mid = self.store.next_id("mail_message", 1)
            self.store.create(
                KIND,
                mid,
                {
                    "id": mid,
                    "received_at": now_iso(),
                    "port": self.port,
                    "client_address": session.peer[0] if session.peer else None,
                    "helo": session.host_name,
                    "tls": session.ssl is not None,
                    "auth_user": session.auth_data if session.authenticated else None,
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "data": content.decode("utf-8", errors="replace"),
                },
            )
        return "250 2.0.0 OK: queued"


class Relay:
    """The relay stand-in on ``address`` (ports 587 and 25 unless told), its certificate from ``tls_dir``'s CA.

    ``password`` gives the current password of ``oxy-relay`` (the sandbox's setting, read at each AUTH).
    """

    def __init__(
        self,
        store,
        address: str,
        tls_dir: Path,
        password,
        submission_port: int = SUBMISSION_PORT,
        mx_port: int = MX_PORT,
    ):
        self.store = store
        self.address = address
        self.tls_dir = tls_dir
        self.password = password
        self.submission_port = submission_port
        self.mx_port = mx_port
        self.controllers: list[Controller] = []

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.pem"

    def _authenticate(self, server, session, envelope, mechanism: str, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode(errors="replace")
        given = auth_data.password
        ok = hmac.compare_digest(user.encode(), USER.encode()) and hmac.compare_digest(
            given, str(self.password()).encode()
        )
        if not ok:
            log.info("relay: AUTH %s refused for %r", mechanism, user)
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    def start(self) -> None:
        cert, key = tls.issue(self.tls_dir, f"relay-{self.address}", (HOSTNAME, self.address))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        submission = Controller(
            _Keeper(self.store, self.submission_port),
            hostname=self.address,
            port=self.submission_port,
            server_hostname=HOSTNAME,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
        )
        mx = Controller(
            _Keeper(self.store, self.mx_port),
            hostname=self.address,
            port=self.mx_port,
            server_hostname=HOSTNAME,
            tls_context=context,
            auth_exclude_mechanism=["LOGIN", "PLAIN"],
        )
        try:
            for controller in (submission, mx):
                controller.start()
                self.controllers.append(controller)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        for controller in self.controllers:
            try:
                controller.stop()
            except Exception:
                log.exception("relay: stopping a listener failed")
        self.controllers = []


class MailBackend(Backend):
    """What the control API shows of mail: the relay's kept messages and where the DNS server and the relay are."""

    def messages(self) -> list[dict]:
        """Every message the relay kept, oldest first (none when this sandbox runs no relay)."""
        return [_plain(m) for m in sorted(self.store.all(KIND), key=lambda m: m["id"])]

    def forget(self) -> None:
        with self.store.lock:
            for message in self.store.all(KIND):
                self.store.delete(KIND, message["id"])

    def describe(self) -> dict:
        relay = self.sb.relay
        return {
            "dns_address": self.sb.dns.address if self.sb.dns else None,
            "relay_address": relay.address if relay else None,
            "relay_host": HOSTNAME if relay else None,
            "relay_ca_file": str(relay.ca_file) if relay else None,
            "smtp_outbound_blocked": self.settings.smtp_outbound_blocked,
        }

    def secrets(self) -> list[str]:
        return [self.settings.relay_password]


def _plain(message) -> dict:
    return {k: (list(v) if k == "rcpt_tos" else v) for k, v in message.items() if not k.startswith("_")}
