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
NO_CHANGE = "no change"
SYMBOLS = {CREATE: "+", UPDATE: "~", DELETE: "-", REPLACE: "-/+", NO_CHANGE: " "}
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
    """``(action, fields)`` of one module result."""
    if not result.get("changed"):
        return NO_CHANGE, []
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
_RANK = {NO_CHANGE: 0, UPDATE: 1, DELETE: 2, CREATE: 3, REPLACE: 4}


def merge(first, second):
    if {first, second} == {CREATE, DELETE}:
        return REPLACE
    return first if _RANK[first] >= _RANK[second] else second


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
        identity = res.get("resource")
        if not isinstance(identity, dict) or not identity.get("kind"):
            if res.get("changed"):
                self.other[host] = self.other.get(host, 0) + 1
                self._write(final=False)
            return
        hidden = bool(res.get("_ansible_no_log"))
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
        if not hidden:
            known = set(f["field"] for f in entry["fields"])
            for path, before, after in fields:
                if path not in known:
                    entry["fields"].append(dict(field=path, before=before, after=after))
        self._write(final=False)

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
        counts = {CREATE: 0, UPDATE: 0, DELETE: 0, REPLACE: 0, NO_CHANGE: 0}
        for entry in self.resources.values():
            counts[entry["action"]] += 1
        return counts

    def report(self, final):
        counts = self.totals()
        return dict(
            mode="plan" if self.check_mode else "applied",
            final=final,
            failed=self.failed,
            changes_pending=bool(self.check_mode and self.changed()),
            totals=dict(
                create=counts[CREATE],
                update=counts[UPDATE],
                delete=counts[DELETE],
                replace=counts[REPLACE],
                unchanged=counts[NO_CHANGE],
            ),
            other_changes=dict(self.other),
            resources=[
                dict(self.resources[key], fields=[] if self.resources[key]["hidden"] else self.resources[key]["fields"])
                for key in self.order
            ],
        )

    def changed(self):
        counts = self.totals()
        return bool(counts[CREATE] or counts[UPDATE] or counts[DELETE] or counts[REPLACE] or self.other)

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
        if not self.resources and not self.other:
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
            lines.append(
                "  %-3s %-9s %s %s%s" % (SYMBOLS[entry["action"]], entry["action"], entry["kind"], entry["name"], where)
            )
            if entry["hidden"] and entry["action"] != NO_CHANGE:
                lines.append("        %s" % HIDDEN)
            elif entry["action"] in (UPDATE, REPLACE):
                for field in entry["fields"]:
                    lines.append(
                        "        %s: %s -> %s" % (field["field"], _short(field["before"]), _short(field["after"]))
                    )
        for host, count in sorted(self.other.items()):
            lines.append(
                "  ~   %d other change(s) on %s (tasks without a resource, such as the Docker stack)" % (count, host)
            )
        counts = self.totals()
        verb = "to" if self.check_mode else ""
        summary = "%s: %d %s create, %d %s update, %d %s delete%s, %d unchanged" % (
            title,
            counts[CREATE],
            verb,
            counts[UPDATE],
            verb,
            counts[DELETE],
            verb,
            (", %d %s replace" % (counts[REPLACE], verb)) if counts[REPLACE] else "",
            counts[NO_CHANGE],
        )
        lines.append(summary.replace("  ", " "))
        if self.failed:
            lines.append("The run failed: the %s is incomplete." % ("plan" if self.check_mode else "report"))
        self._display.display("\n".join(lines))
        self._write(final=True)
