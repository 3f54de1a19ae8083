"""oxy.infra.mongodb_access in process, real pymongo on the wire against MockupDB servers on 127.0.0.1.

``FakeMongo`` answers like a mongod with access control: the handshake as a replica set member or a
standalone, SCRAM-SHA-256 authentication that really checks the password (code 18 when it is wrong),
and commands allowed or refused (code 13, ``Unauthorized``, with mongod's message) per database.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import select
import socket
import ssl
import threading
import time
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oxy.infra.plugins.modules import mongodb_access
from mockupdb import MockupDB

COLLECTION = Path(__file__).resolve().parents[4]
USER = "oxy-app"
PASSWORD = "Pa55:w/rd@%3Cret+x"  # every character that must be percent-encoded in a connection string
ITERATIONS = 4096


def uri(port, password=PASSWORD, database="oxy", options=""):
    return "mongodb://%s:%s@127.0.0.1:%d/%s%s" % (quote_plus(USER), quote_plus(password), port, database, options)


def _hmac(key, message):
    return hmac.new(key, message, hashlib.sha256).digest()


class FakeMongo:
    """A MockupDB answering like mongod with access control for one user.

    ``databases`` are the user's own (readWrite); ``readable`` are more databases it may read (a user with
    more privileges than it should have); ``list_all`` grants the cluster-wide listDatabases action.
    """

    def __init__(self, replica_set="rs0", databases=("oxy",), readable=(), list_all=False, password=PASSWORD):
        self.replica_set = replica_set
        self.writable = set(databases)
        self.readable = set(databases) | set(readable)
        self.list_all = list_all
        self.salt = os.urandom(16)
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, ITERATIONS)
        self.stored_key = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
        self.server_key = _hmac(salted, b"Server Key")
        self.other_databases = {"admin", "config", "local", "mention", "allo"}
        self.data = {}  # (database, collection) -> {_id: document}
        self.conversations = {}  # client port -> (first_bare, server_first)
        self.authenticated = set()  # client ports
        self.log = []  # (database, command, answer) of every command after the handshake
        self.server = MockupDB(request_timeout=5)
        self.server._address = ("127.0.0.1", None)  # never "localhost": tests talk to 127.0.0.1 only
        self.port = self.server.run()
        self.address = "127.0.0.1:%d" % self.port
        self.server.autoresponds(self.handle)

    def stop(self):
        # MockupDB's accept loop notices a stop within a second; the test need not wait for it.
        threading.Thread(target=self.server.stop, daemon=True).start()

    @property
    def existing(self):
        """Databases that exist: a database exists while it holds a collection."""
        return self.other_databases | {database for database, _collection in self.data}

    # -- the wire ------------------------------------------------------------------------------------------
    def handle(self, request):
        doc = request.doc
        name = request.command_name
        db = doc.get("$db") or (request.namespace or "admin").split(".")[0]
        lowered = name.lower()
        if lowered in ("ismaster", "hello"):
            return request.replies(self.hello(doc))
        if lowered == "saslstart":
            return self.sasl_start(request, doc)
        if lowered == "saslcontinue":
            return self.sasl_continue(request, doc)
        if lowered == "endsessions":
            return request.replies({})
        if request.client_port not in self.authenticated:
            return self.refuse(request, db, name, "Command %s requires authentication" % name)
        handler = getattr(self, "cmd_" + lowered, None)
        if handler is None:
            return request.command_err(59, "no such command: '%s'" % name, codeName="CommandNotFound")
        return handler(request, db, doc)

    def hello(self, doc):
        reply = {
            "ismaster": True,
            "isWritablePrimary": True,
            "helloOk": True,
            "minWireVersion": 0,
            "maxWireVersion": 25,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48000000,
            "maxWriteBatchSize": 100000,
            "logicalSessionTimeoutMinutes": 30,
            "localTime": datetime.datetime.now(datetime.timezone.utc),
            "connectionId": 1,
        }
        if self.replica_set:
            reply.update(
                setName=self.replica_set, setVersion=1, hosts=[self.address], primary=self.address, me=self.address
            )
        if "saslSupportedMechs" in doc:
            reply["saslSupportedMechs"] = ["SCRAM-SHA-256"]
        return reply

    def sasl_start(self, request, doc):
        assert doc["mechanism"] == "SCRAM-SHA-256"
        first_bare = bytes(doc["payload"])[3:]  # after the GS2 header "n,,"
        fields = dict(item.split(b"=", 1) for item in first_bare.split(b","))
        known = fields[b"n"].decode().replace("=2C", ",").replace("=3D", "=") == USER
        salt = self.salt if known else os.urandom(16)  # mongod does not tell an unknown user apart
        nonce = fields[b"r"] + base64.b64encode(os.urandom(18))
        server_first = b"r=%s,s=%s,i=%d" % (nonce, base64.b64encode(salt), ITERATIONS)
        self.conversations[request.client_port] = (first_bare, server_first, known)
        return request.replies({"conversationId": 1, "done": False, "payload": server_first})

    def sasl_continue(self, request, doc):
        first_bare, server_first, known = self.conversations.pop(request.client_port)
        client_final = bytes(doc["payload"])
        without_proof, _sep, proof = client_final.rpartition(b",p=")
        auth_message = b",".join((first_bare, server_first, without_proof))
        signature = _hmac(self.stored_key, auth_message)
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        if not known or hashlib.sha256(client_key).digest() != self.stored_key:
            return request.command_err(18, "Authentication failed.", codeName="AuthenticationFailed")
        self.authenticated.add(request.client_port)
        server_signature = base64.b64encode(_hmac(self.server_key, auth_message))
        return request.replies({"conversationId": 1, "done": True, "payload": b"v=" + server_signature})

    def refuse(self, request, db, name, errmsg=None):
        self.log.append((db, name, "refused"))
        errmsg = errmsg or (
            'not authorized on %s to execute command { %s: "%s", lsid: { id: UUID("6f0e4c4a-6c1b-4d7e-9d1f-'
            '1e0f2a3b4c5d") }, $db: "%s" }' % (db, name, request.doc[name], db)
        )
        return request.command_err(13, errmsg, codeName="Unauthorized")

    def allow(self, request, db, name, reply):
        self.log.append((db, name, "allowed"))
        return request.replies(reply)

    # -- commands ------------------------------------------------------------------------------------------
    def cmd_insert(self, request, db, doc):
        if db not in self.writable:
            return self.refuse(request, db, "insert")
        documents = self.data.setdefault((db, doc["insert"]), {})
        for document in doc["documents"]:
            documents[document["_id"]] = document
        return self.allow(request, db, "insert", {"n": len(doc["documents"])})

    def cmd_find(self, request, db, doc):
        if db not in self.readable:
            return self.refuse(request, db, "find")
        wanted = (doc.get("filter") or {}).get("_id")
        found = [d for i, d in self.data.get((db, doc["find"]), {}).items() if wanted is None or i == wanted]
        cursor = {"id": 0, "ns": "%s.%s" % (db, doc["find"]), "firstBatch": found[: doc.get("limit") or None]}
        return self.allow(request, db, "find", {"cursor": cursor})

    def cmd_delete(self, request, db, doc):
        if db not in self.writable:
            return self.refuse(request, db, "delete")
        documents = self.data.get((db, doc["delete"]), {})
        deleted = 0
        for statement in doc["deletes"]:
            wanted = statement["q"].get("_id")
            if wanted in documents:
                del documents[wanted]
                deleted += 1
        return self.allow(request, db, "delete", {"n": deleted})

    def cmd_drop(self, request, db, doc):
        if db not in self.writable:
            return self.refuse(request, db, "drop")
        self.data.pop((db, doc["drop"]), None)
        return self.allow(request, db, "drop", {"ns": "%s.%s" % (db, doc["drop"]), "nIndexesWas": 1})

    def cmd_listcollections(self, request, db, doc):
        names = sorted(c for d, c in self.data if d == db)
        if db not in self.readable:
            if not (doc.get("authorizedCollections") and doc.get("nameOnly")):
                return self.refuse(request, db, "listCollections")
            names = []  # mongod answers with the collections the user holds privileges on: none here
        wanted = (doc.get("filter") or {}).get("name")
        batch = [{"name": n, "type": "collection"} for n in names if wanted is None or n == wanted]
        cursor = {"id": 0, "ns": "%s.$cmd.listCollections" % db, "firstBatch": batch}
        return self.allow(request, db, "listCollections", {"cursor": cursor})

    def cmd_listdatabases(self, request, db, doc):
        assert db == "admin"
        authorized = doc.get("authorizedDatabases")
        if authorized is False and not self.list_all:
            return self.refuse(request, db, "listDatabases")
        every = self.list_all and authorized is not True
        names = self.existing if every else self.existing & self.readable
        return self.allow(request, db, "listDatabases", {"databases": [{"name": n} for n in sorted(names)]})


@pytest.fixture
def mongo():
    servers = []

    def start(**kwargs):
        servers.append(FakeMongo(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def run(capsys, check_mode=False, **args):
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        mongodb_access.main()
    out = capsys.readouterr().out
    assert PASSWORD not in out and quote_plus(PASSWORD) not in out, "the password leaked"
    return exited.value.code, json.loads(out), out


def by_name(result):
    return {c["name"]: c for c in result["checks"]}


# -- a least-privilege user ----------------------------------------------------------------------------------
@pytest.mark.parametrize("replica_set", ["rs0", None], ids=["replica-set", "standalone"])
def test_least_privilege_user_passes_every_check(mongo, capsys, replica_set):
    server = mongo(replica_set=replica_set)
    options = "?authSource=admin&replicaSet=rs0" if replica_set else "?authSource=admin"
    code, out, _raw = run(capsys, uri=uri(server.port, options=options), other_databases=["mention", "allo"])
    assert code == 0, out
    assert out["changed"] is False and out["database"] == "oxy"
    assert out["topology"] == ("ReplicaSetWithPrimary" if replica_set else "Single")
    checks = by_name(out)
    assert list(checks) == [
        "write database oxy",
        "read database oxy",
        "clean up database oxy",
        "read other database mention",
        "read other database allo",
        "list all databases",
        "read admin database",
    ]
    assert all(c["ok"] for c in out["checks"])
    assert checks["read other database mention"]["outcome"] == "refused"
    assert "not authorized on mention to execute command" in checks["read other database mention"]["detail"]
    assert checks["list all databases"]["databases"] == []  # its own database is empty again
    assert "dropped oxy_infra_access_probe" in checks["clean up database oxy"]["detail"]
    assert server.data == {}  # the probe and its collection are gone
    assert ("oxy", "insert", "allowed") in server.log and ("admin", "listDatabases", "refused") in server.log


def test_probe_leaves_an_existing_collection_in_place(mongo, capsys):
    server = mongo()
    server.data[("oxy", "oxy_infra_access_probe")] = {"keep": {"_id": "keep"}}
    code, out, _raw = run(capsys, uri=uri(server.port, database="", options="?replicaSet=rs0"), database="oxy")
    assert code == 0, out
    assert by_name(out)["clean up database oxy"]["detail"] == "deleted the probe document"
    assert server.data == {("oxy", "oxy_infra_access_probe"): {"keep": {"_id": "keep"}}}
    assert by_name(out)["list all databases"]["databases"] == ["oxy"]


def test_check_mode_proves_the_same(mongo, capsys):
    server = mongo()
    code, out, _raw = run(capsys, check_mode=True, uri=uri(server.port, options="?replicaSet=rs0"))
    assert code == 0 and all(c["ok"] for c in out["checks"])
    assert ("oxy", "insert", "allowed") in server.log and server.data == {}


# -- more than it should -------------------------------------------------------------------------------------
def test_readable_other_database_fails_naming_it(mongo, capsys):
    server = mongo(readable=["mention"])
    code, out, _raw = run(capsys, uri=uri(server.port), other_databases=["mention", "allo"])
    assert code == 1 and out["reason"] == "privileges"
    assert "the user can do more than it should: read other database mention (find succeeded" in out["msg"]
    assert "allo" not in out["msg"].split("more than it should")[1].split("read other database mention")[0]
    checks = by_name(out)
    assert checks["read other database mention"]["outcome"] == "allowed"
    assert checks["read other database allo"]["ok"] is True
    # plain listDatabases names mention too: the user holds privileges there
    assert checks["list all databases"]["ok"] is False
    assert "besides oxy, so the user holds privileges on them: mention" in checks["list all databases"]["detail"]
    assert server.data == {}  # cleaned up before failing


def test_cluster_wide_listing_fails(mongo, capsys):
    server = mongo(list_all=True)
    code, out, _raw = run(capsys, uri=uri(server.port), other_databases=["mention"])
    assert code == 1 and out["reason"] == "privileges"
    assert "list all databases (listDatabases with authorizedDatabases false named every database" in out["msg"]
    assert "read other database mention" not in out["msg"]


def test_readable_admin_fails(mongo, capsys):
    server = mongo(readable=["admin"])
    code, out, _raw = run(capsys, uri=uri(server.port))
    assert code == 1
    assert by_name(out)["read admin database"]["outcome"] == "allowed"
    assert "more than it should: " in out["msg"] and "read admin database" in out["msg"]


def test_own_database_refused_fails_saying_so(mongo, capsys):
    server = mongo(databases=["mention"])
    code, out, _raw = run(capsys, uri=uri(server.port), other_databases=["mention"])
    assert code == 1 and out["reason"] == "privileges"
    assert "the user cannot do what it must: write database oxy (code 13 Unauthorized" in out["msg"]
    assert by_name(out)["read database oxy"]["outcome"] == "skipped"


# -- failures before any check -------------------------------------------------------------------------------
def test_wrong_password_is_an_authentication_failure(mongo, capsys):
    server = mongo(password="the-current-one")
    code, out, raw = run(capsys, uri=uri(server.port))
    assert code == 1 and out["reason"] == "authentication" and out["code"] == 18
    assert out["msg"].startswith("authentication failed: MongoDB refused the user and password")
    assert "code 18 AuthenticationFailed: Authentication failed." in out["msg"]
    assert out["checks"] == []
    assert "Pa55" not in raw and "3Cret" not in raw
    assert not [entry for entry in server.log if entry[2] == "allowed"]


def test_closed_port_times_out_quickly(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    started = time.monotonic()
    code, out, _raw = run(capsys, uri=uri(port), timeout=0.3)
    assert time.monotonic() - started < 5
    assert code == 1 and out["reason"] == "timeout"
    assert out["msg"].startswith("timed out after 0.3s: no usable MongoDB server answered: 127.0.0.1:%d" % port)
    assert "trusted source" in out["msg"]
    assert "Topology Description" not in out["msg"] and "********" not in out["msg"]


def test_database_comes_from_the_uri_or_the_option(capsys):
    code, out, _raw = run(capsys, uri="mongodb://%s:%s@127.0.0.1:1/?tls=true" % (USER, quote_plus(PASSWORD)))
    assert code == 1 and out["reason"] == "configuration"
    assert out["msg"] == "database is not set and the connection string names no database in its path"
    code, out, _raw = run(capsys, uri=uri(1, database="admin"))  # doadmin's connection string, say
    assert code == 1 and out["msg"].startswith("database is admin: give the user's own application database")


# -- TLS -----------------------------------------------------------------------------------------------------


class TLSFront:
    """Terminates TLS on 127.0.0.1 in front of a FakeMongo, the way a TLS-only mongod listens."""

    def __init__(self, backend_port, certfile):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certfile)
        self.backend_port = backend_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.handshakes = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                raw, _addr = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(raw,), daemon=True).start()

    def serve(self, raw):
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.handshakes.append(exc)
            raw.close()
            return
        self.handshakes.append("ok")
        backend = socket.create_connection(("127.0.0.1", self.backend_port))
        try:
            while True:
                ready = [client] if client.pending() else select.select([client, backend], [], [], 5)[0]
                if not ready:
                    continue
                for sock, other in ((client, backend), (backend, client)):
                    if sock in ready:
                        data = sock.recv(65536)
                        if not data:
                            return
                        other.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            backend.close()

    def close(self):
        self.listener.close()


@pytest.fixture
def tls_front(mongo, pki):
    fronts = []

    def start(**kwargs):
        fronts.append(TLSFront(mongo(replica_set=None, **kwargs).port, str(pki / "server.pem")))
        return fronts[-1]

    yield start
    for front in fronts:
        front.close()


def test_tls_with_the_clusters_ca_passes(tls_front, pki, capsys):
    front = tls_front()
    code, out, _raw = run(capsys, uri=uri(front.port, options="?tls=true"), tls_ca_file=str(pki / "ca.pem"))
    assert code == 0, out
    assert "ok" in front.handshakes


def test_tls_with_another_ca_is_a_tls_failure(tls_front, pki, capsys):
    front = tls_front()
    code, out, _raw = run(
        capsys, uri=uri(front.port, options="?tls=true"), tls_ca_file=str(pki / "other-ca.pem"), timeout=0.5
    )
    assert code == 1 and out["reason"] == "tls", out
    assert out["msg"].startswith("TLS failure: 127.0.0.1:%d: [SSL: CERTIFICATE_VERIFY_FAILED]" % front.port)
    assert "certificate verify failed" in out["msg"] and "check tls_ca_file" in out["msg"]
    assert "ok" not in front.handshakes


# -- the collection ------------------------------------------------------------------------------------------
def test_mongodb_action_group_lists_every_module_on_the_pymongo_base():
    runtime = yaml.safe_load((COLLECTION / "meta/runtime.yml").read_text())
    on_pymongo = {
        p.stem for p in (COLLECTION / "plugins/modules").glob("*.py") if "module_utils._mongodb import" in p.read_text()
    }
    assert set(runtime["action_groups"]["mongodb"]) == on_pymongo == {"mongodb_access"}


# -- a real server -------------------------------------------------------------------------------------------
REAL_URI = os.environ.get("OXY_TEST_MONGODB_URI")


@pytest.mark.skipif(not REAL_URI, reason="OXY_TEST_MONGODB_URI is not set: no real MongoDB server to prove against")
def test_real_server(capsys):
    """A least-privilege user of a real deployment passes; OXY_TEST_MONGODB_OTHER_DATABASES (comma-separated) and
    OXY_TEST_MONGODB_CA_FILE add the databases it must not read and the CA that verifies the server."""
    args = dict(uri=REAL_URI, timeout=20)
    others = os.environ.get("OXY_TEST_MONGODB_OTHER_DATABASES")
    if others:
        args["other_databases"] = [name.strip() for name in others.split(",") if name.strip()]
    if os.environ.get("OXY_TEST_MONGODB_CA_FILE"):
        args["tls_ca_file"] = os.environ["OXY_TEST_MONGODB_CA_FILE"]
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        mongodb_access.main()
    raw = capsys.readouterr().out
    out = json.loads(raw)
    assert REAL_URI not in raw
    from ansible_collections.oxy.infra.plugins.module_utils._mongodb import userinfo_of

    password = userinfo_of(REAL_URI)[1]
    assert not password or password not in raw
    assert exited.value.code == 0, out["msg"]
    assert all(c["ok"] for c in out["checks"])
