# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A DigitalOcean module of oxy.infra, run in the controller: see plugins/plugin_utils/_controller.py."""

from __future__ import annotations

from ansible_collections.oxy.infra.plugins.plugin_utils._controller import InControllerAction


class ActionModule(InControllerAction):
    pass
