"""The pymongo client base: credentials out of every message, errors told apart, one failure path."""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest
from ansible.module_utils._internal import _traceback
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oxy.infra.plugins.module_utils import _mongodb
from ansible_collections.oxy.infra.plugins.module_utils._mongodb import (
    MongoDBError,
    MongoDBModule,
    Scrubber,
    build_client,
    database_of,
    describe_error,
    is_refusal,
    secrets_of,
    userinfo_of,
)
from pymongo.errors import (
    AutoReconnect,
    ConfigurationError,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

PASSWORD = "p@ss:w/rd%+x"
URI = "mongodb+srv://oxy-app:%s@db-oxy-0.example.net/oxy?tls=true&authSource=admin" % quote_plus(PASSWORD)
# Never contacted: the managers of the failure path tests make no call.
PLAIN_URI = "mongodb://oxy-app:%s@127.0.0.1:1/oxy?tls=true&authSource=admin" % quote_plus(PASSWORD)


# -- the connection string ------------------------------------------------------------------------------------
def test_userinfo_is_decoded_like_pymongo_does():
    assert userinfo_of(URI) == ("oxy-app", PASSWORD)
    assert userinfo_of("mongodb://h1:27017,h2:27017/oxy?replicaSet=rs0") == (None, None)
    assert userinfo_of("mongodb://only-user@h/") == ("only-user", None)
    assert userinfo_of("not a uri") == (None, None)


@pytest.mark.parametrize(
    ("uri", "database"),
    [
        (URI, "oxy"),
        ("mongodb://u:p@h1,h2/mention-production?replicaSet=rs0", "mention-production"),
        ("mongodb://u:p@h/?tls=true", None),
        ("mongodb://u:p@h", None),
        ("mongodb://u:p@h?tls=true", None),
    ],
)
def test_database_comes_from_the_path(uri, database):
    assert database_of(uri) == database


def test_every_spelling_of_the_password_is_a_secret():
    secrets = secrets_of(URI)
    assert PASSWORD in secrets and quote_plus(PASSWORD) in secrets and URI in secrets
    assert secrets == sorted(secrets, key=len, reverse=True)
    # an unescaped "/" in the password (pymongo refuses it) still counts as part of the password
    assert "pa/ss" in secrets_of("mongodb://u:pa/ss@h/db")


def test_scrubber_removes_credentials_from_text_and_structures():
    scrub = Scrubber(URI)
    message = "could not use %s: password %s (%s) and mongodb://other:pw@h2/x" % (URI, PASSWORD, quote_plus(PASSWORD))
    cleaned = scrub(message)
    assert PASSWORD not in cleaned and quote_plus(PASSWORD) not in cleaned and "other:pw" not in cleaned
    assert "mongodb://********@h2/x" in cleaned
    nested = scrub({"checks": [{"detail": "auth as oxy-app:%s" % PASSWORD}], "n": 3, "ok": True})
    assert nested == {"checks": [{"detail": "auth as oxy-app:********"}], "n": 3, "ok": True}
    assert Scrubber("mongodb://h/oxy")("host h answered") == "host h answered"


# -- errors told apart ------------------------------------------------------------------------------------
def failure(code, errmsg, name):
    return OperationFailure(errmsg, code, {"ok": 0, "errmsg": errmsg, "code": code, "codeName": name})


def test_authentication_failure():
    error = describe_error(failure(18, "Authentication failed.", "AuthenticationFailed"))
    assert (error.reason, error.code) == ("authentication", 18)
    assert "code 18 AuthenticationFailed: Authentication failed." in error.message


def test_refusal_is_code_13_only():
    assert is_refusal(failure(13, "not authorized on mention to execute command { find: 1 }", "Unauthorized"))
    assert not is_refusal(failure(18, "Authentication failed.", "AuthenticationFailed"))
    assert not is_refusal(AutoReconnect("h:1: connection closed"))


def test_tls_and_timeouts_are_told_apart():
    selection = "h:27017: %s (configured timeouts: connectTimeoutMS: 500.0ms), Timeout: 0.5s, Topology Description: <>"
    tls = describe_error(
        ServerSelectionTimeoutError(selection % "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
        timeout=0.5,
    )
    assert tls.reason == "tls" and tls.message.startswith("TLS failure: h:27017: [SSL: CERTIFICATE_VERIFY_FAILED]")
    assert "Topology Description" not in tls.message and "configured timeouts" not in tls.message
    timeout = describe_error(ServerSelectionTimeoutError(selection % "[Errno 111] Connection refused"), timeout=0.5)
    assert timeout.reason == "timeout"
    assert timeout.message.startswith("timed out after 0.5s: no usable MongoDB server answered: h:27017: [Errno 111]")
    assert describe_error(NetworkTimeout("h:27017: timed out")).reason == "timeout"
    assert describe_error(AutoReconnect("h:27017: connection closed")).reason == "network"
    assert describe_error(ConfigurationError("bad")).reason == "configuration"
    other = describe_error(failure(2, "bad filter", "BadValue"), operation="find")
    assert (other.reason, other.code, other.message) == ("operation", 2, "find failed: code 2 BadValue: bad filter")


def test_build_client_refuses_what_pymongo_would_ignore(tmp_path):
    params = dict(uri="mongodb://127.0.0.1:1/oxy?tls=ture", timeout=1.0, tls_ca_file=None)
    with pytest.raises(MongoDBError) as err:
        build_client(params)
    assert err.value.reason == "configuration" and "The value of tls must be 'true' or 'false'" in err.value.message
    with pytest.raises(MongoDBError) as err:
        build_client(dict(params, uri="mongodb://127.0.0.1:1/oxy?tls=true", tls_ca_file=str(tmp_path / "missing")))
    assert err.value.message.startswith("tls_ca_file cannot be read")
    client = build_client(dict(params, uri="mongodb://127.0.0.1:1/oxy"))  # lazy: no connection yet
    client.close()


# -- the one failure path ---------------------------------------------------------------------------------
def run(capsys, manager_class, **args):
    args = dict(dict(uri=PLAIN_URI), **args)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        MongoDBModule({}, supports_check_mode=True).run(manager_class)
    out = capsys.readouterr().out
    assert PASSWORD not in out and quote_plus(PASSWORD) not in out
    return exited.value.code, json.loads(out)


class Echo:
    """A manager that fails the way pymongo does when it echoes the connection string."""

    def __init__(self, mongo, client):
        self.results = dict(checks=[{"name": "first", "ok": True}])
        self.uri = mongo.params["uri"]

    def run(self):
        raise OperationFailure("cannot use %s" % self.uri, 2, {"errmsg": "cannot use %s" % self.uri, "code": 2})


def test_failures_lose_the_credentials_and_keep_partial_results(capsys, monkeypatch):
    # the traceback goes out with -vvv (ANSIBLE_DISPLAY_TRACEBACK): it must lose the credentials too
    monkeypatch.setattr(_traceback, "_is_traceback_enabled", lambda event: True)
    code, out = run(capsys, Echo)
    assert code == 1 and out["reason"] == "operation" and out["code"] == 2
    assert out["msg"] == "a command failed: code 2: cannot use ********"  # the whole connection string is a secret
    assert "OperationFailure" in out["exception"] and "********" in out["exception"]
    assert out["checks"] == [{"name": "first", "ok": True}]


class Leaky:
    def __init__(self, mongo, client):
        pass

    def run(self):
        return dict(changed=False, said="the password is %s" % PASSWORD)


def test_results_lose_the_password_too(capsys):
    code, out = run(capsys, Leaky)
    assert code == 0 and out["said"] == "the password is ********"


def test_invalid_connection_string_goes_through_the_same_path(capsys):
    code, out = run(capsys, Leaky, uri="mongodb://oxy-app:pa@ss@127.0.0.1:1/oxy")
    assert code == 1 and out["reason"] == "configuration"
    assert out["msg"].startswith("the connection string or its options are invalid: Username and password must be")


def test_non_positive_timeout_is_refused(capsys):
    code, out = run(capsys, Leaky, timeout=0)
    assert code == 1 and out["msg"] == "timeout must be a positive number of seconds"


def test_missing_pymongo_names_the_library(capsys, monkeypatch):
    monkeypatch.setattr(_mongodb, "HAS_PYMONGO", False)
    monkeypatch.setattr(_mongodb, "PYMONGO_IMPORT_ERROR", "ImportError: No module named 'pymongo'")
    code, out = run(capsys, Leaky)
    assert code == 1 and "Failed to import the required Python library (pymongo)" in out["msg"]
