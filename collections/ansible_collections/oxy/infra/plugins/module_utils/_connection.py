# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection strings for one user of a managed database, built from the cluster's connection block.

Private to this collection. Pure functions: no API call, nothing logged; errors never carry the
password or the URI.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# What every MongoDB connection string of DigitalOcean carries, and this project relies on.
MONGODB_REQUIRED = (("tls", "true"), ("authSource", "admin"))
SCHEMES = {
    "mongodb": ("mongodb", "mongodb+srv"),
    "valkey": ("rediss",),
    "redis": ("rediss",),
    "pg": ("postgresql", "postgres"),
    "mysql": ("mysql",),
}


class ConnectionProblem(ValueError):
    """A connection block that cannot give a connection string; the message holds no secret."""


def _hostport(netloc):
    """The host[:port] part of a URI's netloc, without its user information."""
    return netloc.rpartition("@")[2]


def connection_uri(connection, engine, user, password, database=None):
    """The connection string of ``user`` with ``password`` on ``connection`` (a cluster's connection block).

    ``database`` becomes the path (MongoDB, PostgreSQL, MySQL); Valkey/Redis URIs have none. MongoDB
    strings always carry ``tls=true`` and ``authSource=admin`` and keep the cluster's other options
    (``replicaSet``). User and password are percent-encoded, so any character is safe.
    """
    if not connection or not connection.get("uri"):
        raise ConnectionProblem("the cluster's connection block has no uri")
    if not password:
        raise ConnectionProblem("no password for user %r" % user)
    parts = urlsplit(connection["uri"])
    allowed = SCHEMES.get(engine)
    if allowed is None:
        raise ConnectionProblem("engine %r has no connection string here" % engine)
    if parts.scheme not in allowed:
        raise ConnectionProblem(
            "the cluster's connection uri has scheme %r; a %s cluster's is one of %s"
            % (parts.scheme, engine, ", ".join(allowed))
        )
    netloc = "%s:%s@%s" % (quote(user, safe=""), quote(password, safe=""), _hostport(parts.netloc))
    query = parse_qsl(parts.query, keep_blank_values=True)
    path = parts.path
    if engine in ("valkey", "redis"):
        path = ""
    elif database:
        path = "/" + quote(database, safe="")
    if engine == "mongodb":
        present = dict(query)
        for key, value in MONGODB_REQUIRED:
            if key not in present:
                query.append((key, value))
            elif present[key] != value:
                query = [(k, value if k == key else v) for k, v in query]
    return urlunsplit((parts.scheme, netloc, path, urlencode(query), ""))


def describe_uri(uri):
    """What a connection string says, without its password: for checks and messages."""
    parts = urlsplit(uri)
    return dict(
        scheme=parts.scheme,
        user=parts.username,
        host=parts.hostname,
        port=parts.port,
        database=parts.path.lstrip("/") or None,
        options=dict(parse_qsl(parts.query)),
    )
