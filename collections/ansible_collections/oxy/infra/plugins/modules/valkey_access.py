#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: valkey_access
short_description: Prove that a Valkey URL authenticates and works, and that a wrong password is refused
version_added: 0.3.0
description:
  - Connects with a Valkey (or Redis) URL as the application will, C(rediss://) for TLS as DigitalOcean's managed
    Valkey serves it, and proves with the server's own answers that
  - "the URL authenticates (C(PING)); a key can be written with a time to live and read back (C(SET) with C(EX),
    C(GET), C(TTL)), and is deleted again;"
  - "the same user with a wrong password is refused (C(WRONGPASS))."
  - Fails, saying which, on an authentication failure, a TLS failure, a timeout, a command the server refuses, or a
    server that accepts the wrong password.
  - Never prints the URL or its password, also not inside the client's messages.
attributes:
  check_mode:
    description:
      - Runs the same in check mode. It writes nothing but its probe key, which it deletes before returning (and
        which expires by itself after O(ttl) seconds in any case), so a plan proves the same as a run.
    support: full
  diff_mode:
    description: Changes nothing that remains, so there is no diff.
    support: none
  idempotent:
    description: Leaves the server as it found it; always reports no change.
    support: full
options:
  url:
    description:
      - The Valkey URL, C(rediss://USER:PASSWORD@HOST:PORT) (or C(redis://) without TLS), for example the
        C(VALKEY_URL) delivered to an app. User and password percent-encoded.
    type: str
    required: true
  tls_ca_file:
    description:
      - CA certificate (PEM) that verifies the server's certificate, instead of the system's CAs. The server's name
        is always verified.
    type: path
  timeout:
    description: Seconds to connect (TCP, TLS, authentication) and for each answer.
    type: float
    default: 10.0
  ttl:
    description: Time to live, in seconds, of the probe key.
    type: int
    default: 60
  key_prefix:
    description: Prefix of the probe key; each run writes its own key (a random suffix).
    type: str
    default: "oxy-infra:access-probe:"
requirements:
  - redis (redis-py) >= 4.3
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The app's Valkey URL works, from a host that is a trusted source of the cluster
  oxy.infra.valkey_access:
    url: "{{ app_credentials_settings['mention-production'].VALKEY_URL }}"
"""

RETURN = r"""
host:
  description: The host the URL names.
  returned: always, once the URL was understood
  type: str
checks:
  description: What was proven, in order; also returned when the module fails, as far as it got.
  returned: always, once the URL was understood
  type: list
  elements: dict
  contains:
    name:
      description: What was checked.
      type: str
      sample: set and get a key with a time to live
    ok:
      description: Whether it went as it must.
      type: bool
    detail:
      description: What was seen.
      type: str
reason:
  description: >-
    Why the module failed - V(authentication), V(tls), V(timeout), V(network), V(configuration), V(operation) or
    V(wrong_password_accepted).
  returned: failure
  type: str
"""

import ssl
import traceback
import uuid
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import redis
    from redis import exceptions as redis_errors

    HAS_REDIS = True
    REDIS_IMPORT_ERROR = None
except ImportError:
    HAS_REDIS = False
    REDIS_IMPORT_ERROR = traceback.format_exc()


class ValkeyError(Exception):
    def __init__(self, message, reason):
        super().__init__(message)
        self.message = message
        self.reason = reason


def with_password(url, password):
    """``url`` with its password replaced (percent-encoded)."""
    parts = urlsplit(url)
    user = parts.username or "default"
    host = parts.netloc.rpartition("@")[2]
    netloc = "%s:%s@%s" % (quote(unquote(user), safe=""), quote(password, safe=""), host)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


class Probe:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        url = self.params["url"]
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValkeyError("url: not a valid URL", "configuration") from None
        if parts.scheme not in ("rediss", "redis"):
            raise ValkeyError("url: scheme %r; expected rediss:// (TLS) or redis://" % parts.scheme, "configuration")
        if not parts.hostname:
            raise ValkeyError("url: names no host", "configuration")
        self.password = unquote(parts.password or "")
        if not self.password:
            raise ValkeyError("url: carries no password", "configuration")
        self.secrets = [s for s in (url, self.password, parts.password) if s]
        module.no_log_values.update(self.secrets)
        self.host = parts.hostname
        self.port = port or 6379
        self.tls = parts.scheme == "rediss"
        self.checks = []

    def clean(self, text):
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def client(self, url):
        options = dict(socket_timeout=self.params["timeout"], socket_connect_timeout=self.params["timeout"])
        if self.tls:
            options.update(ssl_cert_reqs="required", ssl_check_hostname=True)
            if self.params["tls_ca_file"]:
                options["ssl_ca_certs"] = self.params["tls_ca_file"]
        return redis.Redis.from_url(url, **options)

    def failure(self, exc, doing):
        """The module's error for a client exception, with a reason people can act on."""
        where = "%s:%s" % (self.host, self.port)
        text = self.clean(str(exc) or exc.__class__.__name__)
        if isinstance(exc, redis_errors.AuthenticationError) or "WRONGPASS" in text or "NOAUTH" in text:
            return ValkeyError(
                "%s: the server refused the URL's user and password (%s)" % (where, text), "authentication"
            )
        if isinstance(exc, redis_errors.TimeoutError):
            return ValkeyError(
                "%s: no answer within %ss while trying to %s; is this host a trusted source of the cluster?"
                % (where, self.params["timeout"], doing),
                "timeout",
            )
        if isinstance(exc, ssl.SSLError) or "SSL" in text or "certificate" in text:
            return ValkeyError("%s: TLS failed (%s); check tls_ca_file and the server's name" % (where, text), "tls")
        if isinstance(exc, redis_errors.ConnectionError):
            return ValkeyError("%s: could not %s (%s)" % (where, doing, text), "network")
        return ValkeyError("%s: the server refused to %s (%s)" % (where, doing, text), "operation")

    def passed(self, name, detail):
        self.checks.append(dict(name=name, ok=True, detail=detail))

    def run(self):
        client = self.client(self.params["url"])
        try:
            try:
                client.ping()
            except redis_errors.RedisError as exc:
                raise self.failure(exc, "authenticate") from None
            self.passed("authenticate", "PING answered PONG%s" % (" over TLS" if self.tls else ""))
            key = "%s%s" % (self.params["key_prefix"], uuid.uuid4().hex)
            value = uuid.uuid4().hex
            try:
                client.set(key, value, ex=self.params["ttl"])
                got = client.get(key)
                ttl = client.ttl(key)
                client.delete(key)
            except redis_errors.RedisError as exc:
                raise self.failure(exc, "write and read a key") from None
            if got is None or got.decode() != value:
                raise ValkeyError("the probe key written was not read back", "operation")
            limit = self.params["ttl"]
            if not 0 < ttl <= limit:
                raise ValkeyError("the probe key's time to live is %s, not within 1..%s" % (ttl, limit), "operation")
            self.passed("set and get a key with a time to live", "read back, TTL %ss of %ss, deleted" % (ttl, limit))
        finally:
            client.close()
        self.refuses_wrong_password()

    def refuses_wrong_password(self):
        wrong = "wrong-" + uuid.uuid4().hex
        client = self.client(with_password(self.params["url"], wrong))
        try:
            client.ping()
        except redis_errors.AuthenticationError as exc:
            self.passed("refuse a wrong password", "refused: %s" % self.clean(str(exc)))
            return
        except redis_errors.ResponseError as exc:
            if "WRONGPASS" in str(exc) or "NOAUTH" in str(exc) or "invalid password" in str(exc):
                self.passed("refuse a wrong password", "refused: %s" % self.clean(str(exc)))
                return
            raise self.failure(exc, "try a wrong password") from None
        except redis_errors.RedisError as exc:
            raise self.failure(exc, "try a wrong password") from None
        finally:
            client.close()
        raise ValkeyError("the server accepted a wrong password for the URL's user", "wrong_password_accepted")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True, no_log=True),
            tls_ca_file=dict(type="path"),
            timeout=dict(type="float", default=10.0),
            ttl=dict(type="int", default=60),
            key_prefix=dict(type="str", default="oxy-infra:access-probe:", no_log=False),
        ),
        supports_check_mode=True,
    )
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMPORT_ERROR)
    if module.params["ttl"] < 1:
        module.fail_json(msg="ttl: %s; expected seconds, 1 or more" % module.params["ttl"], reason="configuration")
    try:
        probe = Probe(module)
    except ValkeyError as exc:
        module.fail_json(msg=exc.message, reason=exc.reason)
    try:
        probe.run()
    except ValkeyError as exc:
        module.fail_json(msg=exc.message, reason=exc.reason, host=probe.host, checks=probe.checks)
    module.exit_json(changed=False, host=probe.host, checks=probe.checks)


if __name__ == "__main__":
    main()
