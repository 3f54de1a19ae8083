# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an environment owns, held against its definition: renames, replacements and orphans. Private to
this collection; pure functions (no API), used by the oxy.infra.owned_resources module.

Ownership: a resource assigned to the environment's project (``do:droplet:ID``, ``do:dbaas:UUID``,
``do:app:UUID``, ``do:domain:NAME``), a Droplet that carries every tag of the definition's Droplet, and a
cloud firewall attached to an owned Droplet. Held against the definition:

- a Droplet is renamed in place: when no Droplet has the definition's name and the environment owns
  exactly one other, that one is the definition's Droplet under its old name (several: ambiguous, refused);
- a cloud firewall is renamed in place the same way: when no firewall has the definition's name and exactly
  one other is attached to the environment's Droplet, that one is the definition's firewall (several: refused);
- an app is renamed in place too: when exactly one app of the definition is not in the account and the
  environment owns exactly one app the definition does not name, that one is it, renamed (several of either:
  ambiguous, refused). A rename that would move the app to another MongoDB database (its ``DB_NAME``) is
  refused: the new database is empty;
- a database cluster cannot be renamed: when no cluster has the definition's name and the environment
  owns one of the same engine that the definition does not name, the definition asks for a replacement
  (a new, empty cluster; the old one keeps the data), which an apply refuses unless it is confirmed;
- everything else the environment owns that the definition does not name is an orphan.

Monitoring is owned through what it watches: an uptime check whose target's host is an owned domain, a name
under one, or a domain of an owned app; an alert policy that watches an owned Droplet or cluster by id, or the
Droplets that carry every tag of the definition's Droplet. So a check of an app's domain the definition dropped,
or the policies of a cluster the definition replaced, are orphans too (only when the definition names its checks
and policies: ``uptime_checks``, ``alert_policies``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

DROPLET = "droplet"
CLUSTER = "database cluster"
APP = "app"
DOMAIN = "domain"
FIREWALL = "cloud firewall"
CHECK = "uptime check"
POLICY = "alert policy"


def _members(urns):
    """Project member URNs by kind: ``{"droplet": {"123"}, "dbaas": {...}, "app": {...}, "domain": {...}}``."""
    out = {}
    for urn in urns or []:
        parts = str(urn).split(":", 2)
        if len(parts) == 3 and parts[0] == "do":
            out.setdefault(parts[1], set()).add(parts[2])
    return out


def _host(target):
    """The host an uptime check's target names: ``https://api.oxy.so/health`` and ``mail.oxy.so`` (a ping's)."""
    target = str(target or "")
    host = urlsplit(target if "://" in target else "//" + target).hostname
    return (host or "").rstrip(".")


def _monitoring(definition, account, found):
    """The uptime checks and alert policies the environment owns, through what ``found`` (its resources) holds."""
    domains = set(r["name"].lower().rstrip(".") for r in found if r["kind"] == DOMAIN)
    app_ids = set(r["id"] for r in found if r["kind"] == APP)
    for app in account.get("apps") or []:
        if str(app["id"]) in app_ids:
            domains_of_app = ((app.get("spec") or {}).get("domains")) or []
            domains.update(str(d.get("domain") or "").lower().rstrip(".") for d in domains_of_app if d.get("domain"))
    out = []
    for check in account.get("checks") or []:
        host = _host(check.get("target"))
        if host and any(host == d or host.endswith("." + d) for d in domains):
            why = "watches %s" % host
            out.append(dict(kind=CHECK, name=check["name"], id=str(check["id"]), why=why))
    ids = dict((r["id"], r["name"]) for r in found if r["kind"] in (DROPLET, CLUSTER))
    tags = set((definition.get("droplet") or {}).get("tags") or [])
    for policy in account.get("policies") or []:
        watched = sorted(set(ids[str(e)] for e in policy.get("entities") or [] if str(e) in ids))
        if watched:
            why = "watches %s" % ", ".join(watched)
        elif tags and tags <= set(policy.get("tags") or []):
            why = "watches the Droplets tagged %s" % ", ".join(sorted(tags))
        else:
            continue
        out.append(dict(kind=POLICY, name=policy.get("description") or "", id=str(policy["uuid"]), why=why))
    return out


def owned(definition, account):
    """Every resource the environment owns, as ``dict(kind, name, id, why)``, in a stable order.

    ``definition``: ``project`` (its name), ``droplet`` (``name``, ``tags``). ``account``: ``members``
    (the project's resource URNs; empty when there is no project), ``droplets``, ``clusters``, ``apps``,
    ``firewalls``, and (optional) uptime ``checks`` and alert ``policies`` as the API lists them.
    """
    project = definition["project"]
    members = _members(account.get("members"))
    by_project = "owned by project %s" % project
    tags = sorted(set((definition.get("droplet") or {}).get("tags") or []))
    found = []
    droplet_ids = {}
    for droplet in account.get("droplets") or []:
        ident = str(droplet["id"])
        if ident in members.get("droplet", ()):
            why = by_project
        elif tags and set(tags) <= set(droplet.get("tags") or []):
            why = "carries the definition's Droplet tags (%s)" % ", ".join(tags)
        else:
            continue
        droplet_ids[ident] = droplet["name"]
        found.append(dict(kind=DROPLET, name=droplet["name"], id=ident, why=why, tags=droplet.get("tags") or []))
    for cluster in account.get("clusters") or []:
        if str(cluster["id"]) in members.get("dbaas", ()):
            facts = dict(engine=cluster.get("engine"), tags=cluster.get("tags") or [])
            found.append(dict(kind=CLUSTER, name=cluster["name"], id=str(cluster["id"]), why=by_project, **facts))
    for app in account.get("apps") or []:
        if str(app["id"]) in members.get("app", ()):
            name = (app.get("spec") or {}).get("name")
            found.append(dict(kind=APP, name=name, id=str(app["id"]), why=by_project))
    for domain in sorted(members.get("domain", ())):
        found.append(dict(kind=DOMAIN, name=domain, id=domain, why=by_project))
    for firewall in account.get("firewalls") or []:
        attached = [droplet_ids[str(i)] for i in firewall.get("droplet_ids") or [] if str(i) in droplet_ids]
        if attached:
            why = "attached to the environment's Droplet %s" % ", ".join(sorted(attached))
            found.append(dict(kind=FIREWALL, name=firewall["name"], id=str(firewall["id"]), why=why))
    return found + _monitoring(definition, account, found)


def all_named(definition, account):
    """Whether every resource of the definition is in ``account`` under its name.

    Then nothing can be a rename or a replacement, whatever the environment owns: :func:`plan` holds the
    definition against the owned resources only for a name the account lacks. So a step that looks for renames
    and replacements alone need not read the project's members (``account`` without ``members``). Firewalls and
    apps count only when ``account`` has them, as in :func:`plan`.
    """
    droplet = (definition.get("droplet") or {}).get("name")
    if droplet and droplet not in set(d.get("name") for d in account.get("droplets") or []):
        return False
    clusters = set(c.get("name") for c in account.get("clusters") or [])
    if any(c["name"] not in clusters for c in definition.get("clusters") or []):
        return False
    firewalls = definition.get("firewalls") or []
    if (
        len(firewalls) == 1
        and "firewalls" in account
        and firewalls[0] not in set(f.get("name") for f in account["firewalls"] or [])
    ):
        return False
    if "apps" in account:
        apps = set((a.get("spec") or {}).get("name") for a in account["apps"] or [])
        if any(name not in apps for name in definition.get("apps") or []):
            return False
    return True


def plan(definition, account, renames=True):
    """The definition held against what the environment owns.

    ``renames=False`` (a teardown, after the definition's resources are gone) matches no renames or
    replacements: everything owned that the definition does not name is an orphan.

    ``definition`` adds to :func:`owned`'s: ``clusters`` (``name``, ``engine``, ``path``: where the
    definition names it, such as ``oxy_mongodb.name``), ``apps``, ``domains``, ``firewalls``, ``uptime_checks``,
    ``alert_policies`` (names; a policy by its description).
    ``firewall_path`` is where the definition names its firewall (``oxy_droplet_firewall.name``);
    ``app_databases`` the MongoDB database of each app (by name; the apps are ``oxy_apps[i]`` in order).
    Returns ``dict(owned, droplet_rename, firewall_rename, app_renames, replacements, orphans, problems)``:
    ``droplet_rename`` and ``firewall_rename`` are ``dict(id, old, new)`` or None (a firewall rename only
    when ``account`` has ``firewalls``); ``replacements`` are ``dict(kind, name, path, engine, replaces, ids,
    note)``; ``app_renames`` are ``dict(id, old, new)`` (only when ``account`` has ``apps``); ``problems``
    are refusals that hold in a plan too (an ambiguous rename, an app rename to another database).
    """
    mine = owned(definition, account)
    droplet = definition.get("droplet") or {}
    clusters = definition.get("clusters") or []
    named = {
        DROPLET: {droplet.get("name")},
        CLUSTER: set(c["name"] for c in clusters),
        APP: set(definition.get("apps") or []),
        DOMAIN: set(str(d).lower().rstrip(".") for d in definition.get("domains") or []),
        FIREWALL: set(definition.get("firewalls") or []),
        CHECK: set(definition.get("uptime_checks") or []),
        POLICY: set(definition.get("alert_policies") or []),
    }
    problems = []
    settled = set()  # (kind, id) of owned resources accounted for by a rename or a replacement

    droplet_rename = None
    others = [r for r in mine if r["kind"] == DROPLET and r["name"] != droplet.get("name")]
    exists = any(d["name"] == droplet.get("name") for d in account.get("droplets") or [])
    if renames and droplet.get("name") and not exists and others:
        if len(others) == 1:
            old = others[0]
            droplet_rename = dict(id=old["id"], old=old["name"], new=droplet["name"])
            settled.add((DROPLET, old["id"]))
        else:
            problems.append(
                "%s: no Droplet is named %r and the environment owns %d others (%s): which one it was renamed "
                "from is ambiguous; rename the right one to %r in the console, or remove the others from project %s"
                % (
                    droplet.get("path") or "oxy_droplet.name",
                    droplet["name"],
                    len(others),
                    ", ".join("%s (id %s)" % (o["name"], o["id"]) for o in others),
                    droplet["name"],
                    definition["project"],
                )
            )

    firewall_rename = None
    wanted_firewalls = definition.get("firewalls") or []
    if renames and len(wanted_firewalls) == 1 and "firewalls" in account:
        wanted = wanted_firewalls[0]
        others = [r for r in mine if r["kind"] == FIREWALL and r["name"] != wanted]
        exists = any(f["name"] == wanted for f in account["firewalls"] or [])
        if not exists and len(others) == 1:
            firewall_rename = dict(id=others[0]["id"], old=others[0]["name"], new=wanted)
            settled.add((FIREWALL, others[0]["id"]))
        elif not exists and others:
            problems.append(
                "%s: no cloud firewall is named %r and %d others are attached to the environment's Droplet (%s): "
                "which one it was renamed from is ambiguous; rename the right one to %r in the console, or delete "
                "the others"
                % (
                    definition.get("firewall_path") or "oxy_droplet_firewall.name",
                    wanted,
                    len(others),
                    ", ".join("%s (id %s)" % (o["name"], o["id"]) for o in others),
                    wanted,
                )
            )

    app_renames = []
    if renames and "apps" in account:
        app_renames = _app_renames(definition, account, mine, problems)
        settled.update((APP, r["id"]) for r in app_renames)

    engines = dict((str(c["id"]), c.get("engine")) for c in account.get("clusters") or [])
    existing = set(c["name"] for c in account.get("clusters") or [])
    replacements = []
    for wanted in clusters:
        if not renames or wanted["name"] in existing:
            continue
        old = [
            r
            for r in mine
            if r["kind"] == CLUSTER
            and r["name"] not in named[CLUSTER]
            and engines.get(r["id"]) == wanted.get("engine")
            and (CLUSTER, r["id"]) not in settled
        ]
        if not old:
            continue
        settled.update((CLUSTER, r["id"]) for r in old)
        names = [r["name"] for r in old]
        replacements.append(
            dict(
                kind=CLUSTER,
                name=wanted["name"],
                path=wanted.get("path") or "name",
                engine=wanted.get("engine"),
                replaces=names,
                ids=[r["id"] for r in old],
                note="new empty cluster; %s keep%s the data" % (" and ".join(names), "s" if len(names) == 1 else ""),
            )
        )

    orphans = [
        dict(r, why="%s, not in the definition" % r["why"])
        for r in mine
        if (r["kind"], r["id"]) not in settled
        and (r["name"] if r["kind"] != DOMAIN else r["name"].lower()) not in named[r["kind"]]
    ]
    return dict(
        owned=mine,
        droplet_rename=droplet_rename,
        firewall_rename=firewall_rename,
        app_renames=app_renames,
        replacements=replacements,
        orphans=orphans,
        problems=problems,
    )


def _app_renames(definition, account, mine, problems):
    """The app renamed in the definition (a list of at most one); an ambiguous rename, or one that would move
    the app to another database, is added to ``problems``."""
    wanted = list(definition.get("apps") or [])
    existing = set((a.get("spec") or {}).get("name") for a in account.get("apps") or [])
    missing = [n for n in wanted if n not in existing]
    unnamed = [r for r in mine if r["kind"] == APP and r["name"] not in wanted]
    if not missing or not unnamed:
        return []
    path = dict((n, "oxy_apps[%d].name" % i) for i, n in enumerate(wanted))
    if len(missing) > 1 or len(unnamed) > 1:
        problems.append(
            "%s: %s not in the account, and the environment owns %d app%s the definition does not name (%s): "
            "which app was renamed to which is ambiguous, so nothing is renamed. Rename each app to its new name in "
            "the console (App Platform, the app's settings), or remove the old ones from project %s; then run again"
            % (
                ", ".join(path[n] for n in missing),
                ("app %s is" if len(missing) == 1 else "apps %s are") % ", ".join(repr(n) for n in missing),
                len(unnamed),
                "" if len(unnamed) == 1 else "s",
                ", ".join("%s (id %s)" % (r["name"], r["id"]) for r in unnamed),
                definition["project"],
            )
        )
        return []
    new, old = missing[0], unnamed[0]
    databases = definition.get("app_databases") or {}
    key = definition.get("database_env") or "DB_NAME"
    spec = next((a.get("spec") or {} for a in account.get("apps") or [] if str(a["id"]) == old["id"]), {})
    was = _env_value(spec, key)
    will = databases.get(new)
    if was and will and was != will:
        problems.append(
            "%s: renaming app %r (id %s) to %r would move it from its MongoDB database %r to %r, a new empty one. "
            "Nothing was changed. To keep its data, set %s: %s (the database keeps its name)."
            % (path[new], old["name"], old["id"], new, was, will, path[new][: -len(".name")] + ".database", was)
        )
        return []
    return [dict(id=old["id"], old=old["name"], new=new)]


def _env_value(spec, key):
    """The value of the environment variable ``key`` in an app spec (app-level, else a component's)."""
    lists = [spec.get("envs") or []]
    for kind in ("services", "workers", "jobs", "static_sites", "functions"):
        lists += [c.get("envs") or [] for c in spec.get(kind) or []]
    for envs in lists:
        for env in envs:
            if env.get("key") == key and env.get("value"):
                return env["value"]
    return None


def unconfirmed(replacements, confirmed):
    """The refusal of the replacements that ``confirmed`` (names of the replaced resources) does not name."""
    confirmed = set(confirmed or [])
    messages = []
    for rep in replacements:
        missing = [n for n in rep["replaces"] if n not in confirmed]
        if not missing:
            continue
        old = " and ".join(repr(n) for n in rep["replaces"])
        messages.append(
            "%s: %s %r is not in the account, and the environment owns the %s %s %s: a %s cannot be renamed, "
            "so this replaces it: a new empty cluster %r is created, and %s keeps the data (it stays, listed as "
            "an orphan, never deleted by this). Nothing was changed. If that is meant, confirm it with "
            "-e '{\"oxy_confirm_replace\": [%s]}'; otherwise set %s back to %s."
            % (
                rep["path"],
                rep["kind"],
                rep["name"],
                rep["engine"],
                rep["kind"] if len(rep["replaces"]) == 1 else rep["kind"] + "s",
                old,
                rep["kind"],
                rep["name"],
                old,
                ", ".join('"%s"' % n for n in rep["replaces"]),
                rep["path"],
                old,
            )
        )
    return messages
