#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mongodb_access
short_description: Prove that a MongoDB user can use its own database and nothing more
version_added: 0.2.0
description:
  - Connects with a connection string as the application will and proves the user's least privilege, with the
    MongoDB server's own answers.
  - "Allowed, in its own O(database): writes a probe document into O(probe_collection), reads it back and deletes
    it; the collection is dropped again when this run created it and it is empty."
  - "Refused, each with MongoDB's C(Unauthorized) (code 13): reading each of O(other_databases) (C(find) and
    C(listCollections)), listing all databases, and reading C(admin) (C(find) and C(listCollections))."
  - "Listing databases follows MongoDB's documented rules for a user without the cluster-wide C(listDatabases)
    action (MongoDB 4.0.6 and later): C(listDatabases) with C(authorizedDatabases: false) asks for every database
    and must be refused; plain C(listDatabases) is then answered with only the databases the user holds
    privileges on, so it must name no database but O(database) (a C(readWrite) user on its own database sees
    just that one, or none while it is empty). A user that sees any other database can do more than it should."
  - Fails, saying which, when the user cannot do what it must or can do more than it should; also, with a message
    that says what to check, on an authentication failure (code 18), a TLS failure or a timeout.
  - Never prints the connection string or its password, also not inside pymongo's messages.
extends_documentation_fragment:
  - oxy.infra.mongodb
attributes:
  check_mode:
    description:
      - Runs the same in check mode. It writes nothing but its probe document, which it removes before returning
        (and the probe collection when it created it), so a plan proves the same as a run.
    support: full
  diff_mode:
    description: Changes nothing that remains, so there is no diff.
    support: none
  idempotent:
    description: Leaves the databases as it found them; always reports no change.
    support: full
options:
  database:
    description:
      - The user's own database, where it must be able to write and read.
      - Defaults to the database in the path of O(uri) (C(/oxy) in C(mongodb+srv://user:...@host/oxy?tls=true)).
    type: str
  other_databases:
    description:
      - Databases the user must not be able to read, such as the other apps' databases.
      - O(database) itself is ignored here; C(admin) is always checked.
    type: list
    elements: str
    default: []
  probe_collection:
    description:
      - Collection of O(database) that receives the probe document. Each run writes its own document (a random
        C(_id)), so runs from several hosts at once do not disturb each other.
    type: str
    default: oxy_infra_access_probe
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: Each app's MongoDB user reaches its own database only
  oxy.infra.mongodb_access:
    uri: "{{ item.mongodb_uri }}"
    tls_ca_file: /etc/oxy/db-oxy-ca.crt
    other_databases: "{{ oxy_app_databases | difference([item.database]) }}"
  loop: "{{ oxy_app_credentials }}"
  loop_control:
    label: "{{ item.name }}"

- name: One user, its database named explicitly
  oxy.infra.mongodb_access:
    uri: "{{ lookup('ansible.builtin.env', 'MONGODB_URI') }}"
    database: mention-production
    other_databases: [oxy, allo]
    timeout: 5
"""

RETURN = r"""
database:
  description: The database that was probed as the user's own.
  returned: success, and on failure once the connection string was accepted
  type: str
  sample: oxy
topology:
  description:
    - How pymongo saw the deployment (C(ReplicaSetWithPrimary), C(Single), C(Sharded), ...).
    - V(Unknown) when the module failed before it could connect.
  returned: success, and on failure once the connection string was accepted
  type: str
  sample: ReplicaSetWithPrimary
checks:
  description: One entry per check, in order; also returned when the module fails, as far as it got.
  returned: success, and on failure once the connection string was accepted
  type: list
  elements: dict
  contains:
    name:
      description: What was checked.
      type: str
      sample: read database mention
    expected:
      description: V(allowed) or V(refused).
      type: str
    outcome:
      description: >-
        V(allowed) (MongoDB carried it out), V(refused) (MongoDB answered C(Unauthorized), code 13), V(error) (any
        other answer, so nothing is proven) or V(skipped) (an earlier step failed).
      type: str
    ok:
      description: Whether the outcome is the expected one.
      type: bool
    detail:
      description: What was seen; MongoDB's error message for a refusal.
      type: str
    databases:
      description: For the database listing, the databases that plain C(listDatabases) named.
      type: list
      elements: str
      returned: for the database listing, when MongoDB answered it
code:
  description: MongoDB's error code of the failure, such as V(18) for a failed authentication.
  returned: failure, when MongoDB answered with an error
  type: int
  sample: 18
reason:
  description: >-
    Why the module failed - V(authentication), V(tls), V(timeout), V(network), V(configuration), V(operation) or
    V(privileges) (the user can do less or more than it should).
  returned: failure
  type: str
"""

import contextlib
import uuid

from ansible_collections.oxy.infra.plugins.module_utils._mongodb import (
    AUTHENTICATION_FAILED,
    PRIMARY,
    MongoDBError,
    MongoDBModule,
    OperationFailure,
    PyMongoError,
    database_of,
    failure_text,
    is_refusal,
)

# The outcome of a check: what MongoDB did with its commands.
ALLOWED = "allowed"
REFUSED = "refused"
ERROR = "error"
SKIPPED = "skipped"
PROBE_MARK = "oxy.infra.mongodb_access"
SYSTEM_DATABASES = ("admin", "config", "local")


def _refusal(exc):
    """MongoDB's refusal without the command document it quotes ('not authorized on x to execute command')."""
    return failure_text(exc).split(" {", 1)[0]


class AccessProbe:
    """Runs the checks in order and keeps them in ``results``, which also go out with a failure."""

    def __init__(self, mongo, client):
        self.client = client
        self.params = mongo.params
        self.database = self.params["database"] or database_of(self.params["uri"])
        if not self.database:
            raise MongoDBError(
                "database is not set and the connection string names no database in its path", reason="configuration"
            )
        if self.database in SYSTEM_DATABASES:
            raise MongoDBError(
                "database is %s: give the user's own application database (admin is always checked as one the user "
                "must not read)" % self.database,
                reason="configuration",
            )
        self.checks = []
        self.results = dict(database=self.database, topology="Unknown", checks=self.checks)

    def check(self, name, expected, outcome, detail, **extra):
        entry = dict(name=name, expected=expected, outcome=outcome, ok=outcome == expected, detail=detail)
        entry.update(extra)
        self.checks.append(entry)
        return entry

    @staticmethod
    def attempt(call):
        """``(ALLOWED, answer)``, ``(REFUSED, error)`` or ``(ERROR, error)`` for one command.

        Only MongoDB's answers decide a check. Authentication, TLS, timeouts and lost connections
        leave nothing to decide: they propagate to the module's one failure path.
        """
        try:
            return ALLOWED, call()
        except OperationFailure as exc:
            if is_refusal(exc):
                return REFUSED, exc
            if exc.code == AUTHENTICATION_FAILED:
                raise
            return ERROR, exc

    def run(self):
        self.own_database()
        self.results["topology"] = self.client.topology_description.topology_type_name
        others = []
        for name in self.params["other_databases"]:
            if name not in others and name not in (self.database, "admin"):
                others.append(name)
        for name in others:
            self.refused_read(name, "read other database %s" % name)
        self.refused_listing()
        self.refused_read("admin", "read admin database")
        failed = [c for c in self.checks if not c["ok"]]
        if failed:
            raise MongoDBError(self.verdict(failed), reason="privileges")
        return dict(changed=False, **self.results)

    # -- allowed: the own database ----------------------------------------------------------------------
    def own_database(self):
        # The probe is read back from the primary whatever readPreference the connection string sets.
        db = self.client.get_database(self.database, read_preference=PRIMARY)
        collection = db[self.params["probe_collection"]]
        where = "%s.%s" % (self.database, collection.name)
        probe_id = "%s-%s" % (PROBE_MARK, uuid.uuid4().hex)
        existed, inserted = True, False
        try:
            listed, names = self.attempt(
                lambda: db.list_collection_names(filter={"name": collection.name}, authorizedCollections=True)
            )
            existed = listed != ALLOWED or collection.name in names
            outcome, answer = self.attempt(lambda: collection.insert_one({"_id": probe_id, "probe": PROBE_MARK}))
            inserted = outcome == ALLOWED
            self.check(
                "write database %s" % self.database,
                ALLOWED,
                outcome,
                "inserted a probe document into %s" % where if inserted else failure_text(answer),
            )
            if not inserted:
                self.check("read database %s" % self.database, ALLOWED, SKIPPED, "nothing to read: the write failed")
                self.check("clean up database %s" % self.database, ALLOWED, SKIPPED, "nothing was written")
                return
            outcome, answer = self.attempt(lambda: collection.find_one({"_id": probe_id}))
            detail = "read the probe document back" if outcome == ALLOWED else failure_text(answer)
            if outcome == ALLOWED and (answer or {}).get("probe") != PROBE_MARK:
                outcome, detail = ERROR, "the probe document was not found after it was written"
            self.check("read database %s" % self.database, ALLOWED, outcome, detail)
        except BaseException:
            if inserted:
                self.remove_quietly(collection, probe_id)
            raise
        self.clean_up(collection, probe_id, created=not existed)

    def clean_up(self, collection, probe_id, created):
        name = "clean up database %s" % self.database
        outcome, answer = self.attempt(lambda: collection.delete_one({"_id": probe_id}).deleted_count)
        if outcome != ALLOWED:
            self.check(name, ALLOWED, outcome, "the probe document %s stays: %s" % (probe_id, failure_text(answer)))
            return
        if answer != 1:
            self.check(name, ALLOWED, ERROR, "the probe document %s was gone before it was deleted" % probe_id)
            return
        detail = "deleted the probe document"
        if created:
            # Another run may be using the collection at the same time: only an empty one is dropped.
            outcome, answer = self.attempt(lambda: self.drop_if_empty(collection))
            if outcome != ALLOWED:
                detail = "%s; dropping %s failed: %s" % (detail, collection.name, failure_text(answer))
                self.check(name, ALLOWED, outcome, detail)
                return
            if answer:
                detail += " and dropped %s, which this run created" % collection.name
            else:
                detail += "; %s, which this run created, holds other documents now and stays" % collection.name
        self.check(name, ALLOWED, ALLOWED, detail)

    @staticmethod
    def drop_if_empty(collection):
        if collection.find_one({}, {"_id": 1}) is not None:
            return False
        collection.drop()
        return True

    @staticmethod
    def remove_quietly(collection, probe_id):
        """Best effort while failing: the failure that is on its way matters more than this one."""
        with contextlib.suppress(PyMongoError):
            collection.delete_one({"_id": probe_id})

    # -- refused: everything else ----------------------------------------------------------------------
    def refused_read(self, name, label):
        db = self.client[name]
        found, found_answer = self.attempt(db[self.params["probe_collection"]].find_one)
        listed, listed_answer = self.attempt(db.list_collection_names)
        if ALLOWED in (found, listed):
            allowed = []
            if found == ALLOWED:
                allowed.append("find succeeded")
            if listed == ALLOWED:
                shown = ", ".join(sorted(listed_answer)[:10]) or "none"
                allowed.append("listCollections succeeded (collections: %s)" % shown)
            return self.check(label, REFUSED, ALLOWED, "; ".join(allowed))
        if found == listed == REFUSED:
            return self.check(label, REFUSED, REFUSED, "find and listCollections refused: %s" % _refusal(found_answer))
        errors = [failure_text(a) for o, a in ((found, found_answer), (listed, listed_answer)) if o == ERROR]
        return self.check(label, REFUSED, ERROR, "not refused as Unauthorized: %s" % "; ".join(errors))

    def refused_listing(self):
        label = "list all databases"
        admin = self.client.admin

        def names(**options):
            return sorted(d["name"] for d in admin.command("listDatabases", nameOnly=True, **options)["databases"])

        every, every_answer = self.attempt(lambda: names(authorizedDatabases=False))
        own, own_answer = self.attempt(names)
        extra = dict(databases=own_answer) if own == ALLOWED else {}
        if every == ALLOWED:
            return self.check(
                label,
                REFUSED,
                ALLOWED,
                "listDatabases with authorizedDatabases false named every database (%s): the user holds the "
                "cluster-wide listDatabases action" % (", ".join(every_answer) or "none"),
                **extra,
            )
        others = sorted(set(own_answer) - set([self.database])) if own == ALLOWED else []
        if others:
            return self.check(
                label,
                REFUSED,
                ALLOWED,
                "listDatabases names databases besides %s, so the user holds privileges on them: %s"
                % (self.database, ", ".join(others)),
                **extra,
            )
        if every == REFUSED and own in (ALLOWED, REFUSED):
            if own != ALLOWED:
                sees = "is refused too"
            elif own_answer:
                sees = "names only %s" % ", ".join(own_answer)
            else:
                sees = "names no database (%s holds no collection)" % self.database
            return self.check(
                label,
                REFUSED,
                REFUSED,
                "listing every database refused (%s); plain listDatabases %s" % (_refusal(every_answer), sees),
                **extra,
            )
        errors = [failure_text(a) for o, a in ((every, every_answer), (own, own_answer)) if o == ERROR]
        return self.check(label, REFUSED, ERROR, "not refused as Unauthorized: %s" % "; ".join(errors), **extra)

    def verdict(self, failed):
        more = [c for c in failed if c["expected"] == REFUSED and c["outcome"] == ALLOWED]
        less = [c for c in failed if c["expected"] == ALLOWED]
        unsure = [c for c in failed if c["expected"] == REFUSED and c["outcome"] != ALLOWED]
        parts = []
        for title, checks in (
            ("the user can do more than it should", more),
            ("the user cannot do what it must", less),
            ("could not prove a refusal", unsure),
        ):
            if checks:
                parts.append("%s: %s" % (title, "; ".join("%s (%s)" % (c["name"], c["detail"]) for c in checks)))
        return "%d of %d checks of database %s failed - %s" % (
            len(failed),
            len(self.checks),
            self.database,
            " | ".join(parts),
        )


def main():
    mongo = MongoDBModule(
        argument_spec=dict(
            database=dict(type="str"),
            other_databases=dict(type="list", elements="str", default=[]),
            probe_collection=dict(type="str", default="oxy_infra_access_probe"),
        ),
        supports_check_mode=True,
    )
    mongo.run(AccessProbe)


if __name__ == "__main__":
    main()
