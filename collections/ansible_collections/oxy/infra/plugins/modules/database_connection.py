#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: database_connection
short_description: The connection string of one user of a DigitalOcean managed database, for delivery to an app
version_added: 0.3.0
description:
  - Reads the cluster O(cluster) and builds the connection string the user O(user) connects with, from the
    cluster's C(private_connection) (O(network=private), for clients in the cluster's VPC) or its public
    C(connection) (O(network=public)).
  - The user's password comes from the users the cluster shows (its C(users)), read with it, so a loop over a
    cluster's users costs one read of the cluster, not one per user. A user the cluster does not list is read
    on its own.
  - "MongoDB: C(mongodb+srv://USER:PASSWORD@HOST/DATABASE?tls=true&authSource=admin&replicaSet=CLUSTER), the
    cluster's options kept and C(tls=true), C(authSource=admin) always present. Valkey and Redis:
    C(rediss://default:PASSWORD@HOST:PORT). PostgreSQL and MySQL: the cluster's URI with the user and O(database)."
  - The password is the one the API shows now, so a password reset by anyone is picked up by the next run.
    Showing it needs the token scope C(database:view_credentials) (every full-access token has it); without it
    the module fails and names the scope.
  - RV(uri) is a secret. Register the result with C(no_log) and hand RV(uri) to what needs it. Error messages never
    contain the password or the URI, so a task can show them (see the example).
  - Only reads; changes nothing.
extends_documentation_fragment:
  - oxy.infra.digitalocean
  - oxy.infra.digitalocean.READS
options:
  cluster:
    description: Name of the database cluster.
    type: str
    required: true
  user:
    description:
      - Name of the user. Defaults to the cluster's own user (C(doadmin); C(default) for Valkey and Redis).
    type: str
  database:
    description:
      - The database the string names (its path), for MongoDB, PostgreSQL and MySQL; the cluster's default when
        omitted. Valkey and Redis strings name none, and this option is refused for them.
    type: str
  network:
    description:
      - V(private) for clients in the cluster's VPC (droplets, App Platform apps in the VPC), V(public) for the
        others, such as an app in another region.
    type: str
    choices: [private, public]
    default: private
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The mention app's MongoDB connection string (it runs in the VPC)
  oxy.infra.database_connection:
    cluster: db-oxy
    user: mention
    database: mention-production
  register: mention_mongodb
  no_log: true  # the result holds the password
  failed_when: false

- name: Stop when it could not be read (the message never holds a secret)
  ansible.builtin.fail:
    msg: "{{ mention_mongodb.msg }}"
  when: mention_mongodb.uri is not defined
"""

RETURN = r"""
uri:
  description: The connection string, with the password. Secret.
  returned: success
  type: str
host:
  description: The host the string names.
  returned: success
  type: str
  sample: private-db-oxy-1a2b3c4d.mongo.ondigitalocean.com
port:
  description: The port.
  returned: success
  type: int
user:
  description: The user the string authenticates as.
  returned: success
  type: str
database:
  description: The database the string names; empty for Valkey and Redis.
  returned: success
  type: str
engine:
  description: The cluster's engine.
  returned: success
  type: str
network:
  description: Which connection block the string comes from.
  returned: success
  type: str
"""

from ansible_collections.oxy.infra.plugins.module_utils._connection import ConnectionProblem, connection_uri
from ansible_collections.oxy.infra.plugins.module_utils._digitalocean import DigitalOceanModule
from ansible_collections.oxy.infra.plugins.module_utils._resources import ResourceManager

VIEW_CREDENTIALS = "database:view_credentials"
CACHING = ("valkey", "redis")
ENGINES = ("mongodb", "valkey", "redis", "pg", "mysql")


class ConnectionReader(ResourceManager):
    result_key = "connection"

    def user_of(self, cluster, name):
        """The user ``name`` as the cluster read with it shows it (DigitalOcean lists a cluster's users, with
        their passwords, in the cluster); read on its own when the cluster does not list it. None: no such user.
        """
        for listed in cluster.get("users") or []:
            if listed.get("name") == name:
                return listed
        found = self.api.call("databases.get_user", cluster["id"], name, missing_ok=True)
        return found["user"] if found else None

    def run(self):
        p = self.params
        cluster = self.cluster(p["cluster"], ENGINES, lookup=False)  # its connection blocks, read afresh
        if cluster is None:  # check mode, the cluster still to be created
            return dict(changed=False, skipped=True, msg="cluster %r does not exist yet" % p["cluster"])
        engine = cluster["engine"]
        if p["database"] and engine in CACHING:
            self.do.fail("database: %s clusters have no databases; leave the option out" % engine)
        block = cluster.get("private_connection" if p["network"] == "private" else "connection")
        if not block or not block.get("uri"):
            self.do.fail("cluster %r shows no %s connection" % (p["cluster"], p["network"]))
        user = p["user"] or block.get("user")
        if user == block.get("user"):
            password = block.get("password")
        else:
            found = self.user_of(cluster, user)
            if not found and self.do.check_mode:  # a plan, the user still to be created
                return dict(changed=False, skipped=True, msg="user %r does not exist yet" % user)
            if not found:
                self.do.fail("user: cluster %r has no user %r" % (p["cluster"], user))
            password = found.get("password")
        if not password:
            self.do.fail(
                "the API did not show the password of user %r of cluster %r: the token lacks the %s scope"
                % (user, p["cluster"], VIEW_CREDENTIALS)
            )
        database = p["database"] or ("" if engine in CACHING else block.get("database") or "")
        try:
            uri = connection_uri(block, engine, user, password, database)
        except ConnectionProblem as exc:
            self.do.fail("cluster %r: %s" % (p["cluster"], exc))
        return dict(
            changed=False,
            uri=uri,
            host=block.get("host"),
            port=block.get("port"),
            user=user,
            database=database,
            engine=engine,
            network=p["network"],
        )


def main():
    do = DigitalOceanModule(
        dict(
            cluster=dict(type="str", required=True),
            user=dict(type="str"),
            database=dict(type="str"),
            network=dict(type="str", default="private", choices=["private", "public"]),
        ),
        supports_check_mode=True,
    )
    do.run(ConnectionReader)


if __name__ == "__main__":
    main()
