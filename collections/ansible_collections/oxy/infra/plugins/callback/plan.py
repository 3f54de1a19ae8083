# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: plan
type: aggregate
short_description: One plan of the whole environment at the end of a run, the way Terraform prints one
version_added: 0.3.0
description:
  - Collects what the collection's resource modules return (their C(resource) kind and name, C(changed) and
    C(diff)) and, at the end of the run, prints each resource with C(create), C(update) (the fields that differ,
    before and after), C(delete) or no change, then the totals. In check mode it is the plan; in a real run it
    says what was applied.
  - A result may say what its change is beyond create, update and delete, with C(plan_action) (C(rename), renamed in
    place; C(upgrade), a version upgrade in place; C(replace), a new resource instead of the old one), C(plan_note)
    (what it means, such as what is lost) and C(plan_from) (the old name). Each is its own word and symbol, counted
    in the totals and the JSON C(totals); a result's C(plan_resources) (a list of C(kind), C(name), C(plan_action),
    C(plan_from), C(plan_note)) adds entries the same way, for a task that plans for several resources (for example
    M(oxy.infra.owned_resources)).
  - A result's C(orphans) (C(kind), C(name), C(id), C(why)) are listed on their own lines, C(! orphan ...), being
    what the environment owns that its definition no longer names. They are counted, written to the JSON (C(orphans),
    C(totals.orphan)) and make C(changes_pending) true, so C(scripts/plan) exits 2 and C(playbooks/drift.yml) fails.
  - Tasks of other modules that changed something (for example the droplet's Docker stack) are counted per host.
  - Secrets stay masked as the modules mask them; a task with C(no_log) shows its resource and action, never its
    fields.
  - Resources are identified by what the modules return, never by task names; a resource several tasks touch (a
    start and a wait, for example) is one entry.
  - With O(json_path), the same plan is also written as JSON after every resource (so a later task of the same run,
    such as C(playbooks/drift.yml)'s, can read it) and at the end, with C(final) true.
  - Enable it with C(callbacks_enabled = oxy.infra.plan) in C(ansible.cfg); it works beside any stdout callback.
requirements:
  - enabled in configuration (C(callbacks_enabled))
options:
  json_path:
    description: Also write the plan as JSON to this file (its directory is created).
    type: path
    env:
      - name: OXY_PLAN_JSON
    ini:
      - section: callback_oxy_plan
        key: json_path
  show_unchanged:
    description: List unchanged resources one by one, not only their count.
    type: bool
    default: false
    env:
      - name: OXY_PLAN_SHOW_UNCHANGED
    ini:
      - section: callback_oxy_plan
        key: show_unchanged
"""

import json
import os
import tempfile

from ansible import context
from ansible.plugins.callback import CallbackBase

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
REPLACE = "replace"
RENAME = "rename"
UPGRADE = "upgrade"
NO_CHANGE = "no change"
SYMBOLS = {CREATE: "+", UPDATE: "~", DELETE: "-", REPLACE: "-/+", RENAME: ">", UPGRADE: "^", NO_CHANGE: " "}
# What a module result may name as its change (plan_action), beyond what its diff shows.
PLAN_ACTIONS = (RENAME, UPGRADE, REPLACE)
ORPHAN_SYMBOL = "!"
HIDDEN = "(hidden: no_log)"


def _is_empty(value):
    """Nothing, or a state whose every field is nothing (trusted sources of a cluster still to be made)."""
    if isinstance(value, dict):
        return all(_is_empty(v) for v in value.values())
    return value in (None, [], "")


def field_changes(before, after, path=""):
    """The leaves that differ between ``before`` and ``after``, as ``(path, before, after)``.

    ``after`` is what the definition wants: a key it does not name is not managed (a server-side
    default such as an app's instance size), so it is no difference.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in sorted(after, key=str):
            sub = "%s.%s" % (path, key) if path else str(key)
            changes += field_changes(before.get(key), after.get(key), sub)
        return changes
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        changes = []
        for index, (old, new) in enumerate(zip(before, after)):
            changes += field_changes(old, new, "%s[%d]" % (path, index))
        return changes
    if before == after or (_is_empty(before) and _is_empty(after)):
        return []
    return [(path or "(value)", before, after)]


def _diffs(result):
    diff = result.get("diff")
    if isinstance(diff, dict):
        return [diff]
    if isinstance(diff, list):
        return [d for d in diff if isinstance(d, dict)]
    return []


def classify(result):
    """``(action, fields)`` of one module result; its ``plan_action`` (rename, upgrade, replace) names the action."""
    named = result.get("plan_action")
    if named in PLAN_ACTIONS:
        action, fields = _classify_diff(result) if result.get("changed") else (NO_CHANGE, [])
        return named, fields if action in (UPDATE, NO_CHANGE) else []
    if not result.get("changed"):
        return NO_CHANGE, []
    return _classify_diff(result)


def _classify_diff(result):
    befores, afters = [], []
    for diff in _diffs(result):
        befores.append(diff.get("before"))
        afters.append(diff.get("after"))
    before = next((b for b in befores if not _is_empty(b)), None)
    after = next((a for a in afters if not _is_empty(a)), None)
    if _is_empty(before) and not _is_empty(after):
        return CREATE, []
    if not _is_empty(before) and _is_empty(after):
        return DELETE, []
    fields = []
    for old, new in zip(befores, afters):
        if isinstance(old, dict) and isinstance(new, dict):
            fields += field_changes(old, new)
        elif old != new:
            fields.append(("(value)", old, new))
    return UPDATE, fields


# What one resource ends up as, when several tasks touched it (start, then wait; create, then configure).
_RANK = {NO_CHANGE: 0, UPDATE: 1, RENAME: 2, UPGRADE: 3, DELETE: 4, CREATE: 5, REPLACE: 6}


def merge(first, second):
    if {first, second} == {CREATE, DELETE}:
        return REPLACE
    return first if _RANK[first] >= _RANK[second] else second


def orphan_line(orphan):
    """``! orphan droplet oxy-api-backend (id 123): owned by project Oxy, not in the definition``"""
    return "%s orphan %s %s (id %s): %s" % (
        ORPHAN_SYMBOL,
        orphan.get("kind"),
        orphan.get("name"),
        orphan.get("id"),
        orphan.get("why"),
    )


def _short(value):
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "oxy.infra.plan"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.resources = {}
        self.order = []
        self.other = {}
        self.orphans = {}
        self.failed = False
        self.check_mode = bool(context.CLIARGS.get("check")) if context.CLIARGS else False

    # -- collecting ------------------------------------------------------------------------------
    def _record(self, result):
        res = result._result
        if res.get("results") is not None:  # a loop's summary: its items came one by one
            return
        if res.get("failed") or res.get("skipped"):
            return
        host = result._host.get_name()
        hidden = bool(res.get("_ansible_no_log"))
        noted = self._record_plan_resources(host, res, hidden)
        identity = res.get("resource")
        if not isinstance(identity, dict) or not identity.get("kind"):
            if res.get("changed"):
                self.other[host] = self.other.get(host, 0) + 1
            if res.get("changed") or noted:
                self._write(final=False)
            return
        self._enter(host, identity, res, hidden)
        self._write(final=False)

    def _record_plan_resources(self, host, res, hidden):
        """The result's ``orphans`` and ``plan_resources``; True when it had any."""
        orphans = res.get("orphans") if isinstance(res.get("orphans"), list) else []
        for orphan in orphans:
            if isinstance(orphan, dict) and orphan.get("kind"):
                key = (host, orphan["kind"], str(orphan.get("id") or orphan.get("name")))
                self.orphans[key] = dict(
                    host=host,
                    kind=orphan["kind"],
                    name=orphan.get("name"),
                    id=orphan.get("id"),
                    why=orphan.get("why"),
                )
        planned = res.get("plan_resources") if isinstance(res.get("plan_resources"), list) else []
        for entry in planned:
            if isinstance(entry, dict) and entry.get("kind") and entry.get("plan_action") in PLAN_ACTIONS:
                identity = dict(kind=entry["kind"], name=entry.get("name"))
                self._enter(host, identity, dict(entry, changed=True), hidden)
        return bool(orphans or planned)

    def _enter(self, host, identity, res, hidden):
        action, fields = classify(res)
        key = (host, identity["kind"], str(identity.get("name")))
        entry = self.resources.get(key)
        if entry is None:
            entry = dict(host=host, kind=identity["kind"], name=str(identity.get("name")), action=NO_CHANGE)
            entry.update(fields=[], hidden=False)
            self.resources[key] = entry
            self.order.append(key)
        entry["action"] = merge(entry["action"], action)
        entry["hidden"] = entry["hidden"] or hidden
        for extra in ("plan_note", "plan_from"):
            if res.get(extra) and res.get("plan_action") in PLAN_ACTIONS:
                entry[extra.replace("plan_", "")] = str(res[extra])
        if not hidden:
            known = set(f["field"] for f in entry["fields"])
            for path, before, after in fields:
                if path not in known:
                    entry["fields"].append(dict(field=path, before=before, after=after))

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_item_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self.failed = True

    def v2_runner_item_on_failed(self, result):
        self.failed = True

    def v2_runner_on_unreachable(self, result):
        self.failed = True

    # -- reporting -------------------------------------------------------------------------------
    def totals(self):
        counts = {CREATE: 0, UPDATE: 0, DELETE: 0, REPLACE: 0, RENAME: 0, UPGRADE: 0, NO_CHANGE: 0}
        for entry in self.resources.values():
            counts[entry["action"]] += 1
        return counts

    def report(self, final):
        counts = self.totals()
        return dict(
            mode="plan" if self.check_mode else "applied",
            final=final,
            failed=self.failed,
            changes_pending=bool(self.check_mode and (self.changed() or self.orphans)),
            totals=dict(
                create=counts[CREATE],
                update=counts[UPDATE],
                delete=counts[DELETE],
                replace=counts[REPLACE],
                rename=counts[RENAME],
                upgrade=counts[UPGRADE],
                orphan=len(self.orphans),
                unchanged=counts[NO_CHANGE],
            ),
            other_changes=dict(self.other),
            orphans=list(self.orphans.values()),
            resources=[
                dict(self.resources[key], fields=[] if self.resources[key]["hidden"] else self.resources[key]["fields"])
                for key in self.order
            ],
        )

    def changed(self):
        counts = self.totals()
        return bool(any(n for action, n in counts.items() if action != NO_CHANGE) or self.other)

    def _write(self, final):
        path = self.get_option("json_path")
        if not path:
            return
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".plan-")
        with os.fdopen(handle, "w") as out:
            json.dump(self.report(final), out, indent=2, sort_keys=True, default=str)
        os.replace(temporary, path)

    def v2_playbook_on_stats(self, stats):
        if not self.resources and not self.other and not self.orphans:
            self._write(final=True)
            return
        title = "Plan" if self.check_mode else "Applied"
        lines = ["", "%s: the environment, resource by resource" % title]
        unchanged = 0
        for key in self.order:
            entry = self.resources[key]
            if entry["action"] == NO_CHANGE:
                unchanged += 1
                if not self.get_option("show_unchanged"):
                    continue
            where = "" if entry["host"] in ("localhost", "127.0.0.1") else " (on %s)" % entry["host"]
            name = entry["name"]
            if entry.get("from") and entry["action"] in PLAN_ACTIONS and entry["from"] != name:
                name = "%s -> %s" % (entry["from"], name)
            symbol = SYMBOLS[entry["action"]]
            lines.append("  %-3s %-9s %s %s%s" % (symbol, entry["action"], entry["kind"], name, where))
            if entry.get("note") and entry["action"] in PLAN_ACTIONS:
                lines.append("        (%s)" % entry["note"])
            if entry["hidden"] and entry["action"] != NO_CHANGE:
                lines.append("        %s" % HIDDEN)
            elif entry["action"] in (UPDATE, REPLACE, RENAME, UPGRADE):
                for field in entry["fields"]:
                    lines.append(
                        "        %s: %s -> %s" % (field["field"], _short(field["before"]), _short(field["after"]))
                    )
        for host, count in sorted(self.other.items()):
            lines.append(
                "  ~   %d other change(s) on %s (tasks without a resource, such as the Docker stack)" % (count, host)
            )
        for orphan in self.orphans.values():
            where = "" if orphan["host"] in ("localhost", "127.0.0.1") else " (on %s)" % orphan["host"]
            lines.append("  %s%s" % (orphan_line(orphan), where))
        counts = self.totals()
        verb = "to" if self.check_mode else ""
        extra = "".join(
            ", %d %s %s" % (counts[action], verb, action) for action in (REPLACE, RENAME, UPGRADE) if counts[action]
        )
        if self.orphans:
            extra += ", %d orphan%s" % (len(self.orphans), "" if len(self.orphans) == 1 else "s")
        summary = "%s: %d %s create, %d %s update, %d %s delete%s, %d unchanged" % (
            title,
            counts[CREATE],
            verb,
            counts[UPDATE],
            verb,
            counts[DELETE],
            verb,
            extra,
            counts[NO_CHANGE],
        )
        lines.append(summary.replace("  ", " "))
        if self.failed:
            lines.append("The run failed: the %s is incomplete." % ("plan" if self.check_mode else "report"))
        self._display.display("\n".join(lines))
        self._write(final=True)
