# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module base of every DigitalOcean module of oxy.infra. Private to this collection.

:class:`DigitalOceanModule` is an ``AnsibleModule`` with the shared options (the client's from
``_api.py``; waiting from ``_waiter.py``; the delete guard's from ``_resources.py``), the pydo client
and the one place where a failure becomes ``fail_json``.
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.oxy.infra.plugins.module_utils._api import (
    DIGITALOCEAN_ARGUMENT_SPEC,
    HAS_PYDO,
    PYDO_IMPORT_ERROR,
    DigitalOceanAPI,
    DigitalOceanError,
    build_client,
)
from ansible_collections.oxy.infra.plugins.module_utils._resources import (
    DELETE_ARGUMENT_SPEC,
    PROTECTED_TAG_ARGUMENT_SPEC,
    DeleteRefused,
)
from ansible_collections.oxy.infra.plugins.module_utils._waiter import WAIT_ARGUMENT_SPEC, WaitError


class DigitalOceanModule:
    """An AnsibleModule with the shared DigitalOcean options and the pydo client.

    ``ansible_module`` is the ``AnsibleModule`` class that parses the arguments and returns the result.
    The collection's action plugins run the same ``main()`` in the controller with a subclass of it
    that receives its parameters from the task and hands in the run's read cache as ``read_cache``
    (``plugins/plugin_utils/_controller.py``); a module process has no read cache.
    """

    ansible_module = AnsibleModule

    def __init__(self, argument_spec, wait=False, guard_delete=False, protected_tag=False, **kwargs):
        spec = dict(DIGITALOCEAN_ARGUMENT_SPEC)
        if wait:
            spec.update(WAIT_ARGUMENT_SPEC)
        if guard_delete:
            spec.update(DELETE_ARGUMENT_SPEC)
        if protected_tag:
            spec.update(PROTECTED_TAG_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.module = self.ansible_module(argument_spec=spec, **kwargs)
        if not HAS_PYDO:
            self.module.fail_json(msg=missing_required_lib("pydo"), exception=PYDO_IMPORT_ERROR)
        self.params = self.module.params
        if not (self.params["token"] or "").strip():
            self.module.fail_json(msg="token is empty: set the token option or DIGITALOCEAN_TOKEN")
        self.check_mode = self.module.check_mode
        cache = getattr(self.module, "read_cache", None)
        self.api = DigitalOceanAPI(
            build_client(self.params),
            retries=self.params["retries"],
            cache=cache(self.params) if cache else None,
        )

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def run(self, manager_class):
        """Run ``manager_class(self).run()``: the one place where failures become module errors.

        API errors, refused deletes, wait timeouts and failed waits all end here, with the
        partial results the failure carries (what was created or started, the last state seen).
        A run that cannot write (``ResourceManager.writes_nothing``) reads as lookups.
        """
        manager = manager_class(self)
        try:
            if manager.writes_nothing():
                with self.api.lookups():
                    result = manager.run()
            else:
                result = manager.run()
        except DeleteRefused as exc:
            self.module.fail_json(msg=exc.message, **dict(exc.results, **exc.details()))
        except DigitalOceanError as exc:
            details = dict(exc.results, **exc.details())
            self.module.fail_json(msg=exc.message, exception=traceback.format_exc(), **details)
        except WaitError as exc:
            self.module.fail_json(msg=exc.message, exception=traceback.format_exc(), **exc.results)
        identity = manager.resource()
        if identity:
            result.setdefault("resource", identity)
        self.module.exit_json(**result)
