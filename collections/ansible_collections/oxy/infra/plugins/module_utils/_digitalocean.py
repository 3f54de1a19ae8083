# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one DigitalOcean client base of oxy.infra. Private to this collection.

Everything a DigitalOcean module shares lives here: the argument spec (documented by the
``oxy.infra.digitalocean`` doc fragment), building the pydo client with its retry policy,
the single place where an API error, a refused delete or a failed wait becomes an error of
the module, pagination to the end, lookups by name, creates that are never blindly
replayed and deletes that are never made without an explicit confirmation.
"""

from __future__ import annotations

import contextlib
import re
import time
import traceback
from urllib.parse import parse_qs, urlparse

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib
from ansible_collections.oxy.infra.plugins.module_utils._diff import absent_diff
from ansible_collections.oxy.infra.plugins.module_utils._waiter import WaitError, waiter_for

try:
    import pydo
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy

    HAS_PYDO = True
    PYDO_IMPORT_ERROR = None
except ImportError:
    HAS_PYDO = False
    PYDO_IMPORT_ERROR = traceback.format_exc()
    RetryPolicy = object

COLLECTION_VERSION = "0.1.0"
DEFAULT_API_URL = "https://api.digitalocean.com"

DIGITALOCEAN_ARGUMENT_SPEC = dict(
    token=dict(
        type="str",
        no_log=True,
        required=True,
        aliases=["oauth_token", "api_token"],
        fallback=(env_fallback, ["DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DO_API_TOKEN"]),
    ),
    api_url=dict(type="str", default=DEFAULT_API_URL, fallback=(env_fallback, ["DIGITALOCEAN_API_URL"])),
    ca_path=dict(type="path", fallback=(env_fallback, ["DIGITALOCEAN_CA_BUNDLE"])),
    validate_certs=dict(type="bool", default=True),
    request_timeout=dict(type="int", default=60),
    retries=dict(type="int", default=5),
)

WAIT_ARGUMENT_SPEC = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int"),
)

# Deleting is refused unless the task confirms it (doc fragment section DELETE).
DELETE_ARGUMENT_SPEC = dict(
    allow_delete=dict(type="bool", default=False),
    protected_names=dict(type="list", elements="str", default=[]),
)

# Resources that carry tags (Droplets, database clusters) are also protected by a tag (DELETE_TAGGED).
PROTECTED_TAG_ARGUMENT_SPEC = dict(
    protected_tag=dict(type="str", default="protected"),
)

# The status behind each error id DigitalOcean sends. pydo returns the error body instead of
# raising for some declared error statuses; the id still tells a refusal (4xx) from an ambiguous 5xx.
ERROR_STATUSES = dict(
    bad_request=400,
    unauthorized=401,
    forbidden=403,
    not_found=404,
    method_not_allowed=405,
    not_acceptable=406,
    conflict=409,
    gone=410,
    precondition_failed=412,
    payload_too_large=413,
    unsupported_media_type=415,
    unprocessable_entity=422,
    too_many_requests=429,
    server_error=500,
    internal_server_error=500,
    bad_gateway=502,
    service_unavailable=503,
    gateway_timeout=504,
)


class DigitalOceanError(Exception):
    """An API call that failed; ``DigitalOceanModule.run`` turns it into ``fail_json``."""

    def __init__(self, message, status=None, error_id=None, request_id=None, operation=None, results=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_id = error_id
        self.request_id = request_id
        self.operation = operation
        self.results = dict(results or {})  # the module's partial results, reported with the failure

    @property
    def ambiguous(self):
        """True when the request may have taken effect although it failed (5xx, lost connection)."""
        return self.status is None or self.status >= 500

    def details(self):
        return dict(status=self.status, error_id=self.error_id, request_id=self.request_id, operation=self.operation)


class DeleteRefused(DigitalOceanError):
    """``state: absent`` without ``allow_delete``, or on a protected resource. Nothing was written."""

    def details(self):
        return dict(refused=True)


class DigitalOceanRetryPolicy(RetryPolicy):
    """azure-core's retry policy, made safe for DigitalOcean.

    - POST is retried only on 429 (the request was refused, so nothing happened), unless the
      call says it is idempotent (``DigitalOceanAPI.call(..., idempotent=True)``: assigning
      tags or project resources). A 5xx or a lost connection on a create is ambiguous; the
      module looks the resource up instead of replaying it.
    - PATCH sets fields, so repeating it is harmless: it is retried like PUT.
    - A 429 without ``retry-after`` waits until ``ratelimit-reset`` when the window is spent.
    """

    def _is_method_retryable(self, settings, request, response=None):
        method = request.method.upper()
        if method == "POST" and method not in settings["methods"]:
            return response is not None and response.status_code == 429
        return method in settings["methods"] or method == "PATCH"

    def is_retry(self, settings, response):
        status = response.http_response.status_code
        if status < 400:
            return False
        if not self._is_method_retryable(settings, response.http_request, response=response.http_response):
            return False
        if response.http_response.headers.get("Retry-After"):
            return True
        return bool(settings["total"]) and status in self._retry_on_status_codes

    def get_retry_after(self, response):
        after = super().get_retry_after(response)
        if after is not None:
            return after
        headers = response.http_response.headers
        if response.http_response.status_code == 429 and headers.get("ratelimit-remaining") == "0":
            try:
                reset = float(headers.get("ratelimit-reset"))
            except (TypeError, ValueError):
                return None
            return min(max(0.0, reset - time.time()), self.backoff_max)
        return None


def build_client(params):
    """A pydo client for ``params`` (the shared argument spec)."""
    url = params["api_url"].rstrip("/")
    kwargs = dict(
        endpoint=url,
        retry_policy=DigitalOceanRetryPolicy(
            retry_total=params["retries"],
            retry_connect=params["retries"],
            retry_read=0,
            retry_status=params["retries"],
            retry_backoff_factor=0.5,
            retry_backoff_max=60,
        ),
        connection_timeout=params["request_timeout"],
        read_timeout=params["request_timeout"],
        user_agent="oxy.infra/%s" % COLLECTION_VERSION,
    )
    if params.get("ca_path"):
        kwargs["connection_verify"] = params["ca_path"]
    elif not params["validate_certs"]:
        kwargs["connection_verify"] = False
    if url.startswith("http://"):
        # pydo refuses to send a bearer token over plain http; a local sandbox may still serve it.
        kwargs["authentication_policy"] = HeadersPolicy({"Authorization": "Bearer %s" % params["token"]})
    return pydo.Client(params["token"], **kwargs)


def _error_from_body(body, operation, status=None):
    """The error of an answer pydo returned as a body; ``status`` is the HTTP status when it was seen."""
    status = status if status and status >= 400 else ERROR_STATUSES.get(body.get("id"))
    return DigitalOceanError(
        "%s failed (HTTP %s): %s" % (operation, status or "status unknown", body.get("message") or body.get("error")),
        status=status,
        error_id=body.get("id"),
        request_id=body.get("request_id"),
        operation=operation,
    )


def _is_error_body(body):
    return isinstance(body, dict) and (
        ("id" in body and "message" in body and len(body) <= 3) or ("root_causes" in body and "error" in body)
    )


IDEMPOTENT_METHODS = frozenset(["HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "POST"])


def is_read(operation):
    """Whether a pydo operation ("droplets.get", "apps.list_deployments") only reads."""
    method = operation.partition(".")[2]
    return method in ("get", "list") or method.startswith(("get_", "list_"))


class DigitalOceanAPI:
    """pydo behind one error path: every call goes through ``call`` or ``list``.

    ``reads`` is the run's read cache when the module runs in the controller
    (``plugins/plugin_utils/_controller.py``): a read another task of the same run already made
    is answered from it, any write (or a call that failed and may have written) empties it, and
    waits poll past it (``fresh``). A module process has none and reads every time.
    """

    def __init__(self, client, retries=5, sleep=None, reads=None):
        self.client = client
        self.retries = retries
        self._sleep = sleep
        self.reads = reads
        self._fresh = False

    def sleep(self, seconds):
        (self._sleep or time.sleep)(seconds)

    @contextlib.contextmanager
    def fresh(self):
        """Reads that go to the API (polls); what they saw changed the world, so the cache is emptied after."""
        saved, self._fresh = self._fresh, True
        try:
            yield
        finally:
            self._fresh = saved
            if self.reads is not None:
                self.reads.invalidate()

    def call(self, operation, *args, **kwargs):
        """Call ``operation`` ("droplets.get") and return its answer; errors raise DigitalOceanError.

        With ``missing_ok=True`` a 404 answers None instead. ``idempotent=True`` marks a POST
        that may safely be repeated (assignments), so it is retried like a PUT.
        """
        if self.reads is None:
            return self._call(operation, args, kwargs)
        if not is_read(operation):
            try:
                return self._call(operation, args, kwargs)
            finally:
                self.reads.invalidate()
        key = self.reads.key(operation, args, kwargs)
        if not self._fresh:
            hit = self.reads.get(key)
            if hit is not None:
                return hit
        generation = self.reads.generation()
        body = self._call(operation, args, kwargs)
        if body is not None:
            self.reads.put(key, body, generation)
        return body

    def _call(self, operation, args, kwargs):
        kwargs = dict(kwargs)
        missing_ok = kwargs.pop("missing_ok", False)
        if kwargs.pop("idempotent", False):
            kwargs["retry_on_methods"] = IDEMPOTENT_METHODS
        group, _dot, method = operation.partition(".")
        func = getattr(getattr(self.client, group), method)
        seen = []  # the status of the last response, for errors pydo returns as a body
        kwargs["raw_response_hook"] = lambda response: seen.append(response.http_response.status_code)
        try:
            body = func(*args, **kwargs)
        except HttpResponseError as exc:
            if exc.status_code == 404 and missing_ok:
                return None
            try:
                payload = exc.response.json()
            except Exception:  # noqa: BLE001 - a body that is not JSON still deserves the status
                payload = {}
            raise DigitalOceanError(
                "%s failed (HTTP %s): %s"
                % (operation, exc.status_code, payload.get("message") or payload.get("error") or exc.reason),
                status=exc.status_code,
                error_id=payload.get("id"),
                request_id=payload.get("request_id"),
                operation=operation,
            ) from exc
        except AzureError as exc:
            raise DigitalOceanError("%s failed: %s" % (operation, exc), operation=operation) from exc
        if _is_error_body(body):
            if body.get("id") == "not_found" and missing_ok:
                return None
            raise _error_from_body(body, operation, seen[-1] if seen else None)
        return body

    def list(self, operation, key, *args, **kwargs):
        """Every item of a paginated list, following ``links.pages.next`` to the end."""
        items = []
        page = 1
        while True:
            body = self.call(operation, *args, per_page=200, page=page, **kwargs)
            items.extend(body.get(key) or [])
            pages = (body.get("links") or {}).get("pages") or {}
            nxt = pages.get("next")
            if not nxt:
                return items
            following = _page_of(nxt)
            if following is None or following <= page:
                return items
            page = following

    def find_one(self, items, describe):
        """The single item of ``items``, None when empty; several fail naming their ids."""
        if len(items) > 1:
            ids = ", ".join(str(i.get("id") or i.get("uuid") or i.get("name")) for i in items)
            raise DigitalOceanError("%s matches %d resources (ids: %s); make it unique" % (describe, len(items), ids))
        return items[0] if items else None

    def create(self, create, lookup, attempts=None):
        """Create a resource without ever blindly replaying the create.

        ``create`` makes the call; ``lookup`` finds the resource by its identity. After an
        ambiguous failure (5xx, lost connection) the resource is looked up first and adopted
        when the failed call did create it.
        """
        last = None
        for attempt in range(attempts or max(3, self.retries + 1)):
            if attempt:
                self.sleep(min(2**attempt, 10))
                found = lookup()
                if found is not None:
                    return found
            try:
                return create()
            except DigitalOceanError as exc:
                if not exc.ambiguous:
                    raise
                last = exc
        found = lookup()
        if found is not None:
            return found
        raise last


def _page_of(url):
    values = parse_qs(urlparse(url).query).get("page")
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


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
    delete guard of ``delete``.
    """

    result_key = None
    delete_operation = None
    default_wait = None
    kind = "resource"

    def __init__(self, do):
        self.do = do
        self.api = do.api
        self.params = do.params
        if self.default_wait:
            self.waiter = waiter_for(self.params, do.check_mode, self.default_wait, fresh=self.api.fresh)

    def named(self, items, name, describe, name_of=None):
        """The one item called ``name``; None when there is none, an error when there are several."""
        name_of = name_of or (lambda item: item["name"])
        return self.api.find_one([i for i in items if name_of(i) == name], "%s %r" % (describe, name))

    def vpc(self, name):
        """The VPC called ``name``. Missing, it is an error, except in check mode (None)."""
        vpc = self.named(self.api.list("vpcs.list", "vpcs"), name, "VPC name")
        if vpc is None and not self.do.check_mode:
            self.do.fail("vpc: no VPC named %r" % name)
        return vpc

    def cluster(self, name, engines=None):
        """The database cluster called ``name``; with ``engines``, it must run one of them.

        Missing, it is an error, except in check mode (None: a plan where it is still to be created).
        """
        clusters = self.api.call("databases.list_clusters").get("databases") or []
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


class DigitalOceanModule:
    """An AnsibleModule with the shared DigitalOcean options and the pydo client.

    ``ansible_module`` is the class that parses the arguments and returns the result. A module
    process uses ``AnsibleModule``; the collection's action plugins run the same ``main()`` in the
    controller with their stand-in (``plugins/plugin_utils/_controller.py``) for that one run.
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
        self.api = DigitalOceanAPI(
            build_client(self.params),
            retries=self.params["retries"],
            reads=getattr(self.module, "read_cache", lambda params: None)(self.params),
        )

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def run(self, manager_class):
        """Run ``manager_class(self).run()``: the one place where failures become module errors.

        API errors, refused deletes, wait timeouts and failed waits all end here, with the
        partial results the failure carries (what was created or started, the last state seen).
        """
        manager = manager_class(self)
        try:
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
