#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_user
short_description: Manage users of a DigitalOcean managed database, with MongoDB user settings
version_added: 0.1.0
description:
  - Create, update or delete a user of a managed database cluster, identified by O(cluster) and O(name).
  - For MongoDB, O(mongo_user_settings) limits the user to some databases with one role; it is updated in place.
  - DigitalOcean shows a user's password whenever the token has the C(database:view_credentials) scope (every
    full-access token has it), on creation, on a password reset and on a plain read. The module returns
    RV(password) whenever the API shows it, also on a run that changes nothing. Register the result with
    C(no_log) and deliver the password where it is needed.
  - With a token that lacks C(database:view_credentials) the API shows no password; the module then returns
    none and warns, naming the missing scope.
  - The password never appears in the diff.
  - Valkey and Redis clusters have one user, C(default), the cluster's own; it can be read and have its
    password reset (O(rotate_password)), nothing else. Any other user of such a cluster is refused before any
    change.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.ATTRIBUTES
  - oxy.infra.digitalocean.DELETE
options:
  cluster:
    description: Name of the database cluster.
    type: str
    required: true
  name:
    description: Name of the user.
    type: str
    required: true
  mongo_user_settings:
    description: What a MongoDB user may do. Only for MongoDB clusters.
    type: dict
    suboptions:
      databases:
        description: The databases the role applies to; V(admin) means every database.
        type: list
        elements: str
        required: true
      role:
        description: The role on those databases.
        type: str
        choices: [readOnly, readWrite, dbAdmin]
        required: true
  rotate_password:
    description: Reset the user's password on this run (the result then carries the new one).
    type: bool
    default: false
  return_password:
    description:
      - Whether the result carries RV(password). V(false) keeps the password out of the result, so the task
        needs no C(no_log); M(oxy.infra.database_connection) reads it again where it is delivered.
    type: bool
    default: true
  state:
    description:
      - Whether the user should exist. Whatever connects as a deleted user loses access.
      - V(absent) needs O(allow_delete=true). A user is protected by listing in O(protected_names) its name,
        alone (V(mention), in any cluster) or with its cluster (V(db-oxy/mention)). The cluster's primary user
        (C(doadmin)) and the C(default) user of a Valkey or Redis cluster are refused even then.
    type: str
    choices: [present, absent]
    default: present
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The mention app's own MongoDB user, limited to its database
  oxy.infra.database_user:
    cluster: db-oxy
    name: mention
    mongo_user_settings:
      databases: [mention-production]
      role: readWrite
  register: mention_user
  no_log: true
"""

RETURN = r"""
user:
  description: The user without its password; empty when absent.
  returned: always
  type: dict
password:
  description:
    - The user's current password (the new one when this run created the user or reset its password). Secret.
    - Absent in check mode for a user still to be created, and when the token lacks the
      C(database:view_credentials) scope (the module then warns).
  returned: when the API shows it
  type: str
"""

from ansible_collections.oxy.infra.plugins.module_utils._diff import Change, normalize_set
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

USER_ENGINES = ("mongodb", "pg", "mysql", "kafka", "opensearch")
CACHING = ("valkey", "redis")
CACHING_USER = "default"
VIEW_CREDENTIALS = "database:view_credentials"


def state_of(user):
    if not user:
        return {}
    mongo = ((user.get("settings") or {}).get("mongo_user_settings")) or None
    if mongo:
        mongo = dict(databases=normalize_set(mongo.get("databases")), role=mongo.get("role"))
    return dict(name=user["name"], role=user.get("role"), mongo_user_settings=mongo)


class UserManager(ResourceManager):
    result_key = "user"
    kind = "database user"

    def canonical_name(self, name):
        """``cluster/name``: a user name alone is one of this task's cluster."""
        return name if "/" in name else "%s/%s" % (self.params["cluster"], name)

    def describe(self, current):
        role = " (role %s)" % current["role"] if current and current.get("role") else ""
        return "%s %r in cluster %r%s" % (self.kind, self.params["name"], self.params["cluster"], role)

    def resource(self):
        return dict(kind=self.kind, name=self.canonical_name(self.params["name"]))

    def run(self):
        p = self.params
        cluster = self.cluster(p["cluster"], USER_ENGINES + CACHING)
        if cluster and cluster["engine"] in CACHING:
            self.refuse_on_caching(cluster)
        if p["mongo_user_settings"] and cluster and cluster["engine"] != "mongodb":
            self.do.fail("mongo_user_settings: cluster %r runs %s, not mongodb" % (p["cluster"], cluster["engine"]))
        current = None
        if cluster:
            body = self.api.call("databases.get_user", cluster["id"], p["name"], missing_ok=True)
            current = body["user"] if body else None
        if cluster and cluster["engine"] in CACHING and current is None:
            self.do.fail("cluster %r shows no %r user" % (p["cluster"], CACHING_USER))
        if p["state"] == "absent":
            self.guard_delete(current)
        if current and current.get("role") == "primary" and (p["state"] == "absent" or p["mongo_user_settings"]):
            self.do.fail("user %r is the cluster's primary user; it cannot be changed or removed" % p["name"])
        if p["state"] == "absent":
            if current is None:
                return dict(changed=False, user={}, diff=dict(before={}, after={}))
            if not self.do.check_mode:
                self.api.call("databases.delete_user", cluster["id"], p["name"], missing_ok=True)
            return dict(changed=True, user={}, diff=dict(before=state_of(current), after={}))
        return self.present(cluster, current)

    def refuse_on_caching(self, cluster):
        """A Valkey/Redis cluster's only user is ``default``: read it or reset its password, nothing more."""
        p = self.params
        if p["name"] != CACHING_USER or p["state"] == "absent":
            self.do.fail(
                "cluster %r runs %s: its only user is %r, which can be read or have its password rotated; "
                "users cannot be added or removed" % (p["cluster"], cluster["engine"], CACHING_USER)
            )

    def present(self, cluster, current):
        p = self.params
        change = Change(state_of(current))
        change.set("name", p["name"])
        if p["mongo_user_settings"]:
            settings = p["mongo_user_settings"]
            change.set(
                "mongo_user_settings", dict(databases=normalize_set(settings["databases"]), role=settings["role"])
            )
        if current is None:
            change.set("role", "normal")
        rotate = bool(p["rotate_password"] and current)
        changed = change.changed or rotate
        result = dict(changed=changed, user=current or change.after, diff=change.diff())
        if self.do.check_mode or not changed:
            if current is not None:
                self.deliver(result, current, current.get("password"))
            return result
        settings = {"mongo_user_settings": change.after["mongo_user_settings"]} if p["mongo_user_settings"] else None
        if current is None:
            body = dict(name=p["name"])
            if settings:
                body["settings"] = settings
            created = self.api.create(
                lambda: self.api.call("databases.add_user", cluster["id"], body)["user"],
                lambda: (self.api.call("databases.get_user", cluster["id"], p["name"], missing_ok=True) or {}).get(
                    "user"
                ),
            )
            user, password = created, created.get("password")
        else:
            user = current
            if change.changed:
                user = self.api.call("databases.update_user", cluster["id"], p["name"], {"settings": settings or {}})[
                    "user"
                ]
            password = user.get("password") or current.get("password")
            if rotate:
                user = self.api.call("databases.reset_auth", cluster["id"], p["name"], {})["user"]
                password = user.get("password")  # never the old one
        self.deliver(result, user, password)
        return result

    def deliver(self, result, user, password):
        """The user without its password in RV(user), the password in RV(password) when the API showed it."""
        result["user"] = dict((k, v) for k, v in user.items() if k != "password")
        result.pop("password", None)
        if not self.params["return_password"]:
            return
        if password:
            result["password"] = password
            return
        self.do.module.warn(
            "the API did not show the password of database user %r: the token lacks the %s scope; "
            "use a token with %s to get it" % (self.params["name"], VIEW_CREDENTIALS, VIEW_CREDENTIALS)
        )


def main():
    do = DigitalOceanModule(
        dict(
            cluster=dict(type="str", required=True),
            name=dict(type="str", required=True),
            mongo_user_settings=dict(
                type="dict",
                options=dict(
                    databases=dict(type="list", elements="str", required=True),
                    role=dict(type="str", required=True, choices=["readOnly", "readWrite", "dbAdmin"]),
                ),
            ),
            rotate_password=dict(type="bool", default=False, no_log=False),
            return_password=dict(type="bool", default=True, no_log=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        guard_delete=True,
        supports_check_mode=True,
    )
    do.run(UserManager)


if __name__ == "__main__":
    main()
