# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""oxy.infra.vpc, run in the controller without a module process (plugin_utils/_controller.py)."""

from __future__ import annotations

from ansible_collections.oxy.infra.plugins.plugin_utils._controller import action_for

ActionModule = action_for("vpc")
