# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the DigitalOcean modules inside the controller. Private to this collection.

Every DigitalOcean module talks to a remote API from the controller's own host, so starting a
Python process per task (AnsiballZ: build a zip, write it, start an interpreter, import
``ansible.module_utils.basic`` and pydo again) is pure overhead. Each module therefore has an
action plugin of the same name (``plugins/action/<module>.py``) built by :func:`action_for`:

- the strategy loads that action plugin in the parent process before it forks a worker for the
  task, so the module, its client base and pydo are imported once per run and every worker
  inherits them;
- the worker runs the module's own ``main()`` with :class:`ControllerModule` standing in for
  ``AnsibleModule``: the arguments are validated by Ansible's ``ArgumentSpecValidator`` with the
  module's own spec, ``no_log`` values are masked in the whole result with Ansible's
  ``remove_values``, check mode and diff come from the task, warnings are returned as a module
  returns them;
- the module runs as a module process, exactly as before, when the task does not run on the
  controller's host (``delegate_to`` another host, or a play whose connection is not local), with
  ``become`` or ``async``, when pydo cannot be imported by the controller's Python (the target's
  interpreter may still have it), or when the task sets ``oxy_infra_in_controller: false``.

Modules that run in the controller share one read cache per run (:class:`ReadCache`): a read
(``get``/``list`` operation) that another task of the same run already made with the same token
is answered from it; any write empties it, as does a wait that had to poll (the world changed);
waits poll past it; a task that retries (``until:``) reads afresh on every attempt. It lives in the
run's local temporary directory (removed when the run ends), encrypted with a key that only the run's
processes hold, so a killed run leaves nothing readable behind. ``oxy_infra_read_cache: false`` turns
it off for a task (its writes still empty it), and a module that runs as a module process empties it
after it ran. Writes by other means than these modules (``uri``, another collection, the console) are
not seen by it: read with the cache off after them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import shutil
import uuid

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ANSIBLE_VERSION
from ansible.utils.display import Display
from ansible_collections.oxy.infra.plugins.module_utils import _digitalocean

try:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:  # pragma: no cover - ansible-core depends on cryptography
    AESGCM = None

display = Display()

# Connections whose "remote" host is the controller itself.
LOCAL_CONNECTIONS = frozenset(["local", "ansible.builtin.local", "ansible.legacy.local"])
DISABLE_VARIABLE = "oxy_infra_in_controller"
CACHE_VARIABLE = "oxy_infra_read_cache"
# Made by the process that imports this module first: the strategy, before it forks the workers
# that run the tasks, so every task of the run holds the same key and nothing else does.
_RUN_KEY = os.urandom(32)
_LEGACY_CORE = tuple(int(p) for p in ANSIBLE_VERSION.split(".")[:2]) < (2, 19)


class ModuleExit(BaseException):
    """How :class:`ControllerModule` leaves a module's ``main()``: ``exit_json``/``fail_json`` raise it.

    A BaseException, like the ``SystemExit`` those raise in a module process, so that no
    ``except Exception`` in a module can swallow it.
    """

    def __init__(self, result):
        super().__init__(result.get("msg", ""))
        self.result = result


class ReadCache:
    """The run's answers to reads, for one API endpoint and token, encrypted with the run's key.

    Entries live in a directory named by the current generation; a write starts a new generation
    (a new random name), so an answer that was read before the write and stored after it lands in
    a generation nobody reads any more.
    """

    def __init__(self, directory, scope, reads=True):
        self.directory = directory
        self.scope = hashlib.sha256(scope.encode()).hexdigest()
        self.reads = reads  # False: nothing is answered or kept, but writes still empty the cache
        self._aead = AESGCM(_RUN_KEY)

    def key(self, operation, args, kwargs):
        material = [self.scope, operation, list(args), sorted(kwargs.items())]
        return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()

    def generation(self):
        try:
            with open(os.path.join(self.directory, "generation")) as current:
                return current.read().strip() or "initial"
        except FileNotFoundError:
            return "initial"

    def get(self, key):
        if not self.reads:
            return None
        try:
            with open(os.path.join(self.directory, self.generation(), key), "rb") as entry:
                sealed = entry.read()
            return json.loads(self._aead.decrypt(sealed[:12], sealed[12:], key.encode()))
        except Exception:  # noqa: BLE001 - a missing, partial or foreign entry is a miss
            return None

    def put(self, key, body, generation):
        if not self.reads:
            return
        folder = os.path.join(self.directory, generation)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, json.dumps(body).encode(), key.encode())
        _write_atomically(os.path.join(folder, key), sealed)

    def invalidate(self):
        """Start a new generation, and drop the entries of the one it replaces."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        replaced = self.generation()
        _write_atomically(os.path.join(self.directory, "generation"), uuid.uuid4().hex.encode())
        shutil.rmtree(os.path.join(self.directory, replaced), ignore_errors=True)


def _write_atomically(path, data):
    temporary = "%s.%s" % (path, uuid.uuid4().hex)
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _cache_directory():
    return os.path.join(C.DEFAULT_LOCAL_TMP, "oxy-infra-reads")


def read_cache_for(params, directory=None, reads=True):
    """The run's read cache for the endpoint and token of ``params``; None where there can be none."""
    if AESGCM is None:
        return None
    scope = "%s\n%s" % (params["api_url"].rstrip("/"), params["token"])
    return ReadCache(directory or _cache_directory(), scope, reads=reads)


def forget_reads(directory=None):
    """Empty the run's read cache (for every endpoint and token): something wrote without it."""
    if AESGCM is not None:
        ReadCache(directory or _cache_directory(), "").invalidate()


def as_a_module_receives(args):
    """The task's arguments as a module process would get them: through the controller-to-module JSON profile.

    YAML dates become ISO strings, tagged values plain ones, so a free-form option (an app spec) compares
    with what the API answers exactly as in a module process.
    """
    try:
        from ansible.module_utils.common.json import Direction, get_module_decoder, get_module_encoder
    except ImportError:  # ansible-core before 2.19
        from ansible.parsing.ajson import AnsibleJSONEncoder

        return json.loads(json.dumps(args, cls=AnsibleJSONEncoder))
    text = json.dumps(args, cls=get_module_encoder("legacy", Direction.CONTROLLER_TO_MODULE))
    return json.loads(text, cls=get_module_decoder("legacy", Direction.CONTROLLER_TO_MODULE))


class Invocation:
    """What the task gives a module: its arguments, check mode, diff mode, the read cache."""

    def __init__(self, name, args, check_mode=False, diff=False, cache=True):
        self.name = name
        self.args = dict(args)
        self.check_mode = check_mode
        self.diff = diff
        self.cache = cache


class ControllerModule:
    """The part of ``AnsibleModule`` the collection's DigitalOcean modules use, for a run in the controller."""

    def __init__(
        self,
        invocation,
        argument_spec,
        supports_check_mode=False,
        mutually_exclusive=None,
        required_together=None,
        required_one_of=None,
        required_if=None,
        required_by=None,
    ):
        self._name = invocation.name
        self._warnings = []
        self._deprecations = []
        self.check_mode = invocation.check_mode
        self._diff = invocation.diff  # AnsibleModule's diff-mode flag
        self._cache = invocation.cache
        self.supports_check_mode = supports_check_mode
        self.no_log_values = set()
        self.params = dict(invocation.args)
        validation = ArgumentSpecValidator(
            argument_spec,
            mutually_exclusive=mutually_exclusive,
            required_together=required_together,
            required_one_of=required_one_of,
            required_if=required_if,
            required_by=required_by,
        ).validate(self.params)
        self.params.update(validation.validated_parameters)
        self.no_log_values.update(validation._no_log_values)
        for alias in validation._warnings:
            self.warn("Both option %s and its alias %s are set." % (alias["option"], alias["alias"]))
        for deprecation in validation._deprecations:
            self._deprecations.append(deprecation)
        if validation.error_messages:
            msg = validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError):
                msg = "Unsupported parameters for (%s) module: %s" % (self._name, msg)
            self.fail_json(msg=msg)
        if self.check_mode and not supports_check_mode:
            self.exit_json(skipped=True, msg="remote module (%s) does not support check mode" % self._name)

    def read_cache(self, params):
        """The run's read cache (``DigitalOceanModule`` asks for it once it has the token).

        With the cache turned off for the task, reads go to the API but writes still empty it.
        """
        return read_cache_for(params, reads=self._cache)

    def warn(self, warning):
        self._warnings.append(warning)

    def deprecate(self, msg, version=None, date=None, collection_name=None):
        self._deprecations.append(dict(msg=msg, version=version, date=date, collection_name=collection_name))

    def exit_json(self, **kwargs):
        raise ModuleExit(self._formatted(kwargs))

    def fail_json(self, msg, exception=None, **kwargs):
        kwargs.update(failed=True, msg=str(msg))
        if exception is not None and _tracebacks_shown():
            kwargs["exception"] = exception if isinstance(exception, str) else repr(exception)
        raise ModuleExit(self._formatted(kwargs))

    def _formatted(self, result):
        """The result as a module process would print it: invocation, warnings, secrets masked, JSON types."""
        result.setdefault("invocation", {"module_args": self.params})
        if self._warnings:
            result["warnings"] = list(self._warnings)
        if self._deprecations:
            result["deprecations"] = list(self._deprecations)
        return json.loads(json.dumps(remove_values(result, self.no_log_values)))


def _tracebacks_shown():
    """Whether a module process would include the traceback of a failure (``DISPLAY_TRACEBACK``)."""
    if _LEGACY_CORE:
        return True
    shown = C.config.get_config_value("DISPLAY_TRACEBACK") or []
    return "always" in shown or "error" in shown


@contextlib.contextmanager
def _environment(values):
    """The task's ``environment:`` for the duration of a run (modules read fallbacks such as the token from it)."""
    saved = dict(os.environ)
    os.environ.update(dict((str(k), str(v)) for k, v in values.items()))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_module(module, invocation, environment=None):
    """Run ``module``'s ``main()`` (an imported module file) in this process; its result as a dict."""

    def stand_in(argument_spec, **kwargs):
        return ControllerModule(invocation, argument_spec, **kwargs)

    saved = _digitalocean.DigitalOceanModule.__dict__["ansible_module"]
    _digitalocean.DigitalOceanModule.ansible_module = staticmethod(stand_in)
    try:
        with _environment(environment or {}):
            module.main()
    except ModuleExit as done:
        return done.result
    finally:
        _digitalocean.DigitalOceanModule.ansible_module = saved
    raise RuntimeError("module %s returned without exit_json or fail_json" % invocation.name)


class InControllerAction(ActionBase):
    """The action plugin of one DigitalOcean module (``module``, set by :func:`action_for`)."""

    _supports_check_mode = True
    _supports_async = True
    module = None

    def in_controller(self, task_vars):
        """Why the module must run as a module process instead, or None when it can run here."""
        if not _digitalocean.HAS_PYDO:
            return "pydo cannot be imported by the controller's Python"
        if self._task.async_val:
            return "the task is async"
        if self._play_context.become:
            return "the task uses become"
        transport = self._connection.transport if self._connection else None
        load_name = getattr(self._connection, "_load_name", transport)
        if transport not in LOCAL_CONNECTIONS and load_name not in LOCAL_CONNECTIONS:
            return "the task runs on another host (connection %s)" % load_name
        if not self._enabled(task_vars, DISABLE_VARIABLE):
            return "%s is false" % DISABLE_VARIABLE
        return None

    def _enabled(self, task_vars, variable):
        return boolean(self._templar.template((task_vars or {}).get(variable, True)), strict=False)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        name = self._task.resolved_action or self._task.action
        reason = self.in_controller(task_vars)
        if reason:
            display.vvv("%s: running a module process (%s)" % (name, reason), host=self._play_context.remote_addr)
            wrap_async = self._task.async_val and not self._connection.has_native_async
            try:
                result.update(self._execute_module(module_name=name, task_vars=task_vars, wrap_async=wrap_async))
            finally:
                if not name.endswith("_info"):
                    forget_reads()  # it may have written, and the run's cache did not see it
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            return result
        display.vvv("%s: running in the controller" % name, host=self._play_context.remote_addr)
        environment = {}
        self._compute_environment_string(environment)
        invocation = Invocation(
            name,
            as_a_module_receives(self._task.args),
            check_mode=bool(self._task.check_mode),
            diff=bool(self._task.diff),
            # A task that retries (until:) waits for something to change: each attempt reads afresh.
            cache=self._enabled(task_vars, CACHE_VARIABLE) and not self._task.until,
        )
        result.update(run_module(self.module, invocation, environment))
        return result


def action_for(module_name):
    """The action plugin class of ``oxy.infra.<module_name>``; importing it imports the module (and pydo)."""
    module = importlib.import_module("ansible_collections.oxy.infra.plugins.modules.%s" % module_name)
    return type("ActionModule", (InControllerAction,), dict(module=module))
