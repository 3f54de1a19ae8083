# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired-versus-current comparison and diff results. Private to this collection."""

from __future__ import annotations

import copy


def desired_from(params, keys):
    """Only the options the user set count as desired."""
    return dict((k, params[k]) for k in keys if params.get(k) is not None)


def project(current, keys):
    """The part of ``current`` that the module manages, by ``keys``."""
    return dict((k, copy.deepcopy(current.get(k))) for k in keys) if current else {}


class Change:
    """Before/after of one resource, accumulated once and reported as ``diff``."""

    def __init__(self, before):
        self.before = copy.deepcopy(before) if before else {}
        self.after = copy.deepcopy(before) if before else {}

    def set(self, key, value):
        self.after[key] = copy.deepcopy(value)

    def update(self, values):
        for key, value in values.items():
            self.set(key, value)

    @property
    def changed(self):
        return self.before != self.after

    def changed_keys(self):
        return sorted(k for k in set(self.before) | set(self.after) if self.before.get(k) != self.after.get(k))

    def diff(self):
        return dict(before=self.before, after=self.after)


def absent_diff(before):
    return dict(before=copy.deepcopy(before) if before else {}, after={})


def normalize_set(values):
    """A list compared as a set, in a stable order for display."""
    return sorted(set(values or []), key=str)
