# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one MongoDB (pymongo) client base of oxy.infra. Private to this collection.

Everything a MongoDB module shares lives here: the argument spec (documented by the
``oxy.infra.mongodb`` doc fragment), building the pymongo client from a connection string,
keeping that string's credentials out of every message, and the single place where a
pymongo error (authentication, TLS, timeout, a refused or failed command) becomes an error
of the module.
"""

from __future__ import annotations

import re
import traceback
import warnings
from urllib.parse import unquote, unquote_plus

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import pymongo
    from pymongo.errors import (
        ConfigurationError,
        ConnectionFailure,
        ExecutionTimeout,
        NetworkTimeout,
        OperationFailure,
        PyMongoError,
        ServerSelectionTimeoutError,
    )
    from pymongo.read_preferences import ReadPreference

    PRIMARY = ReadPreference.PRIMARY
    HAS_PYMONGO = True
    PYMONGO_IMPORT_ERROR = None
except ImportError:
    HAS_PYMONGO = False
    PYMONGO_IMPORT_ERROR = traceback.format_exc()
    PyMongoError = OperationFailure = ConnectionFailure = ConfigurationError = Exception
    ServerSelectionTimeoutError = NetworkTimeout = ExecutionTimeout = Exception
    PRIMARY = None

COLLECTION_VERSION = "0.1.0"
MASK = "********"

# MongoDB's error codes that the modules tell apart (src/mongo/base/error_codes.yml).
UNAUTHORIZED = 13
AUTHENTICATION_FAILED = 18

MONGODB_ARGUMENT_SPEC = dict(
    uri=dict(type="str", required=True, no_log=True),
    tls_ca_file=dict(type="path"),
    timeout=dict(type="float", default=10.0),
)

# Markers pymongo and the ssl module leave in the message of a failed TLS handshake.
_TLS_MARKERS = ("SSL handshake failed", "CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "[SSL", "SSLError")
_URI_USERINFO = re.compile(r"(mongodb(?:\+srv)?://)[^/?#\s]*@", re.IGNORECASE)
_CONFIGURED_TIMEOUTS = re.compile(r"\s*\(configured timeouts:[^)]*\)")


class MongoDBError(Exception):
    """A failure of a MongoDB module; ``MongoDBModule.run`` turns it into ``fail_json``.

    ``reason`` tells failures apart for playbooks and tests: ``authentication``, ``tls``,
    ``timeout``, ``network``, ``configuration``, ``operation`` or ``privileges`` (the user can do more
    or less than it should). ``results`` are the module's partial results, reported with it.
    """

    def __init__(self, message, reason="operation", code=None, results=None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.code = code
        self.results = dict(results or {})


def userinfo_of(uri):
    """``(user, password)`` of a connection string, percent-decoded; None where absent.

    Parsed by hand: pymongo's parser resolves ``mongodb+srv://`` names in DNS, and this must
    also work on a connection string that pymongo refuses.
    """
    _scheme, sep, rest = (uri or "").partition("://")
    if not sep:
        return None, None
    hosts = re.split(r"[/?]", rest, maxsplit=1)[0]
    if "@" not in hosts:
        return None, None
    user, colon, password = hosts.rpartition("@")[0].partition(":")
    return unquote_plus(user) or None, unquote_plus(password) if colon else None


def database_of(uri):
    """The database named in the path of a connection string (``/oxy?tls=true`` is ``oxy``), or None."""
    _scheme, sep, rest = (uri or "").partition("://")
    if not sep or "/" not in rest.split("?", 1)[0].rpartition("@")[2]:
        return None
    path = rest.rpartition("@")[2].split("/", 1)[1].split("?", 1)[0]
    return unquote_plus(path) or None


def secrets_of(uri):
    """Every spelling of the connection string's credentials that a message could carry, longest first."""
    found = set()
    if uri:
        found.add(uri)
        _scheme, sep, rest = uri.partition("://")
        if sep:
            # The user info ends at the last "@" before the path; a malformed string may hide a "/"
            # in an unescaped password, so the last "@" of the whole string counts too.
            for userinfo in (re.split(r"[/?]", rest, maxsplit=1)[0].rpartition("@")[0], rest.rpartition("@")[0]):
                if not userinfo:
                    continue
                found.add(userinfo)
                _user, colon, password = userinfo.partition(":")
                if colon and password:
                    found.update([password, unquote(password), unquote_plus(password)])
    return sorted((s for s in found if s), key=len, reverse=True)


class Scrubber:
    """Removes a connection string's credentials from text, and from lists and dicts of it."""

    def __init__(self, uri):
        self.secrets = secrets_of(uri)

    def text(self, value):
        for secret in self.secrets:  # the whole connection string first: it is never shown, not even masked
            value = value.replace(secret, MASK)
        return _URI_USERINFO.sub(r"\1%s@" % MASK, value)

    def __call__(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return dict((k, self(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return [self(v) for v in value]
        return value


def is_refusal(exc):
    """True when MongoDB refused a command for lack of privileges (code 13, Unauthorized)."""
    return isinstance(exc, OperationFailure) and exc.code == UNAUTHORIZED


def failure_text(exc):
    """What a failed command says, without pymongo's dump of the whole reply (``$clusterTime`` and all)."""
    if isinstance(exc, OperationFailure):
        details = exc.details or {}
        name = details.get("codeName")
        errmsg = details.get("errmsg") or str(exc).split(", full error:", 1)[0]
        return "code %s%s: %s" % (exc.code, " %s" % name if name else "", errmsg)
    return "%s: %s" % (exc.__class__.__name__, exc)


def _is_tls(exc):
    text = str(exc)
    return any(marker in text for marker in _TLS_MARKERS)


def _where(exc):
    """The per-server part of a server selection error: what each server answered, without the topology dump."""
    text = str(exc).split(", Timeout: ", 1)[0]
    return _CONFIGURED_TIMEOUTS.sub("", text)


def describe_error(exc, operation=None, timeout=None):
    """A pymongo exception as a ``MongoDBError`` that says what happened and what to check.

    The message still holds what pymongo said; ``MongoDBModule.run`` removes the credentials.
    """
    doing = " (%s)" % operation if operation else ""
    if isinstance(exc, MongoDBError):
        return exc
    if isinstance(exc, OperationFailure) and exc.code == AUTHENTICATION_FAILED:
        return MongoDBError(
            "authentication failed%s: MongoDB refused the user and password of the connection string (%s); check "
            "the user, its current password and authSource" % (doing, failure_text(exc)),
            reason="authentication",
            code=exc.code,
        )
    if isinstance(exc, ConnectionFailure) and _is_tls(exc):
        return MongoDBError(
            "TLS failure%s: %s; check tls_ca_file (the cluster's CA certificate) and that the server speaks TLS "
            "with a certificate for the host of the connection string" % (doing, _where(exc)),
            reason="tls",
        )
    if isinstance(exc, ServerSelectionTimeoutError):
        return MongoDBError(
            "timed out after %ss%s: no usable MongoDB server answered: %s; check that this host may reach the "
            "cluster (a trusted source) and the hosts and replicaSet of the connection string"
            % (timeout if timeout is not None else "?", doing, _where(exc)),
            reason="timeout",
        )
    if isinstance(exc, (NetworkTimeout, ExecutionTimeout)):
        return MongoDBError("timed out%s: %s" % (doing, _where(exc)), reason="timeout")
    if isinstance(exc, ConnectionFailure):
        return MongoDBError("lost the connection%s: %s" % (doing, _where(exc)), reason="network")
    if isinstance(exc, ConfigurationError):
        return MongoDBError("the connection string or its options are invalid: %s" % exc, reason="configuration")
    if isinstance(exc, OperationFailure):
        return MongoDBError("%s failed: %s" % (operation or "a command", failure_text(exc)), code=exc.code)
    return MongoDBError("%s failed: %s" % (operation or "MongoDB", failure_text(exc)))


def build_client(params):
    """A pymongo client for ``params`` (the shared argument spec); it connects on first use."""
    timeout_ms = max(1, int(params["timeout"] * 1000))
    kwargs = dict(
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms,
        appname="oxy.infra/%s" % COLLECTION_VERSION,
    )
    if params.get("tls_ca_file"):
        kwargs["tlsCAFile"] = params["tls_ca_file"]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = pymongo.MongoClient(params["uri"], **kwargs)
    except (TypeError, ValueError) as exc:  # pymongo's option validation raises these, not ConfigurationError
        raise MongoDBError(
            "the connection string or its options are invalid: %s" % exc, reason="configuration"
        ) from exc
    except OSError as exc:
        raise MongoDBError("tls_ca_file cannot be read: %s" % exc, reason="configuration") from exc
    # pymongo only warns about an option it does not understand and then ignores it: "tls=ture" would
    # connect without TLS. Refuse instead.
    ignored = [str(w.message) for w in caught if "uri_parser" in (w.filename or "")]
    if ignored:
        client.close()
        raise MongoDBError(
            "the connection string has options pymongo would ignore: %s" % "; ".join(ignored), reason="configuration"
        )
    return client


class MongoDBModule:
    """An AnsibleModule with the shared MongoDB options; ``run`` gives a manager its pymongo client."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(MONGODB_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        if not HAS_PYMONGO:
            self.module.fail_json(msg=missing_required_lib("pymongo"), exception=PYMONGO_IMPORT_ERROR)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.scrub = Scrubber(self.params["uri"])
        # Ansible masks the whole URI (no_log); the password alone must be masked too.
        _user, password = userinfo_of(self.params["uri"])
        if password:
            self.module.no_log_values.add(password)
        if self.params["timeout"] <= 0:
            self.module.fail_json(msg="timeout must be a positive number of seconds")

    def run(self, manager_class):
        """Run ``manager_class(self, client).run()``: the one place where failures become module errors.

        Authentication, TLS, timeouts, refused or failed commands and the manager's own
        ``MongoDBError`` all end here with the manager's partial ``results``; messages, results
        and tracebacks lose the connection string's credentials on the way out.
        """
        manager = None
        client = None
        try:
            client = build_client(self.params)
            manager = manager_class(self, client)
            result = manager.run()
        except (MongoDBError, PyMongoError) as exc:
            error = describe_error(exc, timeout=self.params["timeout"])
            partial = dict(getattr(manager, "results", None) or {}, **error.results)
            if error.code is not None:
                partial["code"] = error.code
            self.module.fail_json(
                msg=self.scrub(error.message),
                reason=error.reason,
                exception=self.scrub(traceback.format_exc()),
                **self.scrub(partial),
            )
        finally:
            if client is not None:
                client.close()
        self.module.exit_json(**self.scrub(result))
