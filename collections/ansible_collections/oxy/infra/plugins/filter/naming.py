# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Naming rules of the Oxy environment."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def app_database(app, node_env, suffixes):
    """The database an app uses: its legacy name, or ``{app}-{suffix}`` as the apps compute it.

    Mirrors the apps' own code: ``ENV_DB_MAP[NODE_ENV] || NODE_ENV`` gives the suffix.
    """
    if not isinstance(app, dict) or not app.get("app"):
        raise AnsibleFilterError("app_database: expects an app entry with an 'app' key, got %r" % (app,))
    if app.get("database"):
        return app["database"]
    return "%s-%s" % (app["app"], (suffixes or {}).get(node_env) or node_env)


class FilterModule:
    def filters(self):
        return {"app_database": app_database}
