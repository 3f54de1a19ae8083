# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the DigitalOcean modules do with resources: find them, compare, and guard their deletion. Private
to this collection.

:class:`ResourceManager` is the base of every module's manager (read current, compute the change once,
apply it): lookups by name of the resources a module refers to (marked as lookups for the run's read
cache: they only find an id), and the one delete guard (``allow_delete``, ``protected_names``, the
protected tag) that every ``state: absent`` goes through.
"""

from __future__ import annotations

import re

from ansible_collections.oxy.infra.plugins.module_utils._api import DigitalOceanError
from ansible_collections.oxy.infra.plugins.module_utils._diff import absent_diff
from ansible_collections.oxy.infra.plugins.module_utils._waiter import waiter_for

# Deleting is refused unless the task confirms it (doc fragment section DELETE).
DELETE_ARGUMENT_SPEC = dict(
    allow_delete=dict(type="bool", default=False),
    protected_names=dict(type="list", elements="str", default=[]),
)

# Resources that carry tags (Droplets, database clusters) are also protected by a tag (DELETE_TAGGED).
PROTECTED_TAG_ARGUMENT_SPEC = dict(
    protected_tag=dict(type="str", default="protected"),
)


class DeleteRefused(DigitalOceanError):
    """``state: absent`` without ``allow_delete``, or on a protected resource. Nothing was written."""

    def details(self):
        return dict(refused=True)


def redact(cluster):
    """The cluster without its passwords (connection blocks, URIs and users)."""
    if not cluster:
        return cluster
    out = dict(cluster)
    for key in ("connection", "private_connection", "standby_connection", "standby_private_connection"):
        if out.get(key):
            conn = dict(out[key])
            if conn.get("password"):
                conn["password"] = "********"
            if conn.get("uri"):
                conn["uri"] = re.sub(r"(://[^:/@]+:)[^@]+@", r"\1********@", conn["uri"])
            out[key] = conn
    if out.get("users"):
        out["users"] = [dict((k, v) for k, v in u.items() if k != "password") for u in out["users"]]
    return out


def pending(kind, name):
    """How a plan (check mode) names a resource that an earlier task of the same run creates."""
    return "(%s %s, not created yet)" % (kind, name)


class ResourceManager:
    """Base of every module's manager: read current, compute the change once, apply it.

    Subclasses name ``result_key`` (the result's resource key), ``delete_operation`` and
    ``kind`` (how messages name the resource); those that wait set ``default_wait``
    (seconds) and get ``self.waiter``. A module built with ``guard_delete=True`` gets the
    delete guard of ``delete``. ``desired_options`` names the options that state what the
    resource should be: a run that sets none of them (``name`` alone: a wait) cannot write,
    so its reads are lookups for the run's read cache.
    """

    result_key = None
    delete_operation = None
    default_wait = None
    kind = "resource"
    desired_options = None  # None: any run may write

    def __init__(self, do):
        self.do = do
        self.api = do.api
        self.params = do.params
        if self.default_wait:
            self.waiter = waiter_for(self.params, do.check_mode, self.default_wait, self.api)

    def writes_nothing(self):
        """True when this run cannot write: ``state: present`` and none of ``desired_options`` set.

        Set means: neither None nor the option's default (``tags: []`` asks to remove every tag; it is set).
        """
        if self.desired_options is None or self.params.get("state", "present") != "present":
            return False
        spec = self.do.module.argument_spec
        return all(self.params.get(o) in (None, spec[o].get("default")) for o in self.desired_options)

    def named(self, items, name, describe, name_of=None):
        """The one item called ``name``; None when there is none, an error when there are several."""
        name_of = name_of or (lambda item: item["name"])
        return self.api.find_one([i for i in items if name_of(i) == name], "%s %r" % (describe, name))

    def vpc(self, name):
        """The VPC called ``name`` (a lookup). Missing, it is an error, except in check mode (None)."""
        vpc = self.named(self.api.list("vpcs.list", "vpcs", lookup=True), name, "VPC name")
        if vpc is None and not self.do.check_mode:
            self.do.fail("vpc: no VPC named %r" % name)
        return vpc

    def cluster(self, name, engines=None, lookup=True):
        """The database cluster called ``name``; with ``engines``, it must run one of them.

        A lookup (its id and engine), unless ``lookup=False``: a module that reads the cluster's own
        state (its connection blocks, their passwords) reads it afresh. Missing, it is an error, except
        in check mode (None: a plan where it is still to be created).
        """
        clusters = self.api.call("databases.list_clusters", lookup=lookup).get("databases") or []
        found = self.named(clusters, name, "database cluster name")
        if found is None:
            if self.do.check_mode:
                return None
            raise DigitalOceanError("cluster: no database cluster named %r" % name)
        if engines and found["engine"] not in engines:
            self.do.fail(
                "cluster: %r runs %s; this module manages %s clusters only"
                % (name, found["engine"], ", ".join(engines))
            )
        return found

    def resource(self):
        """The resource this run is about, as the oxy.infra.plan callback lists it: its kind and name.

        None for managers that only read (their ``kind`` stays the default).
        """
        if self.kind == ResourceManager.kind or not self.params.get("name"):
            return None
        return dict(kind=self.kind, name=self.canonical_name(self.params["name"]))

    def resource_id(self, current):
        """What ``delete_operation`` takes to name ``current``."""
        return current["id"]

    @staticmethod
    def canonical_name(name):
        """A name as the API stores it (domains override: lower case, no trailing dot)."""
        return name

    def describe(self, current):
        """``current`` as a refusal names it: kind, name, id and tags."""
        name = self.canonical_name(self.params.get("name"))
        if current is None:
            return "%s %r" % (self.kind, name)
        facts = []
        if str(self.resource_id(current)) != name:
            facts.append("id %s" % self.resource_id(current))
        if current.get("tags"):
            facts.append("tags %s" % ", ".join(sorted(current["tags"])))
        return "%s %r%s" % (self.kind, name, " (%s)" % "; ".join(facts) if facts else "")

    def guard_delete(self, current):
        """Refuse ``state: absent`` unless confirmed, and on protected resources even then.

        The confirmation is required even when there is nothing to delete: a mistyped name
        must fail, never pass as "already absent". Check mode refuses the same way, so a plan
        shows the refusal. Nothing has been written when this raises.
        """
        p = self.params
        if "allow_delete" not in p:
            return
        what = self.describe(current)
        if not p["allow_delete"]:
            if current is None:
                raise DeleteRefused(
                    "refusing state=absent for %s without allow_delete=true; none exists now, so nothing would "
                    "be deleted, but the confirmation is required anyway so that a mistyped name never passes" % what
                )
            raise DeleteRefused(
                "refusing to delete %s: this would delete it for good; set allow_delete=true to confirm" % what
            )
        if current is None:
            return
        if self.canonical_name(p["name"]) in [self.canonical_name(n) for n in p["protected_names"] or []]:
            raise DeleteRefused(
                "refusing to delete %s: its name is listed in protected_names; remove it from that list first" % what
            )
        tag = p.get("protected_tag")
        if tag and tag in (current.get("tags") or []):
            raise DeleteRefused(
                "refusing to delete %s: it carries the protected tag %r; remove the tag from it first" % (what, tag)
            )

    def delete(self, current, before, **kwargs):
        """``state: absent``: delete ``current`` if there is one; ``before`` is its managed state."""
        self.guard_delete(current)
        if current is None:
            return {"changed": False, self.result_key: {}, "diff": absent_diff(None)}
        if not self.do.check_mode:
            self.api.call(self.delete_operation, self.resource_id(current), missing_ok=True, **kwargs)
        return {"changed": True, self.result_key: {}, "diff": absent_diff(before)}
