# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DigitalOcean API client of oxy.infra: pydo behind one error path. Private to this collection.

The options every DigitalOcean module and the inventory plugin share to reach the API (documented by
the ``oxy.infra.digitalocean`` doc fragment), the pydo client with its retry policy, the one place
where an answer of the API becomes a :class:`DigitalOceanError`, pagination to the end, and creates
that are never blindly replayed. What a module does with resources (lookups by name, the delete
guard) is in ``_resources.py``; the module base is ``_digitalocean.py``.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from urllib.parse import parse_qs, urlparse

from ansible.module_utils.basic import env_fallback

try:
    import pydo
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy

    # A pydo client imports much when the first one is built (its HTTP transport: requests, urllib3; pydo's
    # inference and agents resources). One built here, without a request, imports it with this module: the
    # workers of a run that runs the modules in the controller inherit it from the strategy's process instead
    # of each importing it again (about 0.1 s of CPU a task, most of a no-change task's own cost).
    pydo.Client("-", endpoint="http://127.0.0.1")
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

    ``cache`` is the run's read cache when the module runs in the controller (handed in by
    ``plugins/plugin_utils/_controller.py``; the rule of what it may answer is written once, in
    ``plugins/plugin_utils/_read_cache.py``). A module process has none and reads every time. This
    class only says what kind of read each one is:

    - a read of the module's own resource, the state it compares with its definition (the default);
    - a lookup (``lookup=True``, or inside :meth:`lookups`): what another resource is called, which
      id a name has, what a catalog offers, or the first look of a wait;
    - a poll (inside :meth:`polls`): always sent, because the module is waiting for the answer to change.

    Every read that is sent refreshes the cache; every write, and every call that failed and may
    have written, empties it.
    """

    def __init__(self, client, retries=5, sleep=None, cache=None):
        self.client = client
        self.retries = retries
        self._sleep = sleep
        self.cache = cache
        self._reading = None  # None: the module's own state; "lookup" or "poll" inside those blocks

    def sleep(self, seconds):
        (self._sleep or time.sleep)(seconds)

    @contextlib.contextmanager
    def _reads(self, kind):
        saved, self._reading = self._reading, kind
        try:
            yield
        finally:
            self._reading = saved

    def lookups(self):
        """Reads that only find things: what they answer cannot decide a write."""
        return self._reads("lookup")

    @contextlib.contextmanager
    def polls(self):
        """Reads that go to the API every time (a wait's polls); the world changed, so the cache is emptied after."""
        with self._reads("poll"):
            try:
                yield
            finally:
                if self.cache is not None:
                    self.cache.invalidate()

    def call(self, operation, *args, **kwargs):
        """Call ``operation`` ("droplets.get") and return its answer; errors raise DigitalOceanError.

        With ``missing_ok=True`` a 404 answers None instead. ``idempotent=True`` marks a POST
        that may safely be repeated (assignments), so it is retried like a PUT. ``lookup=True``
        marks a read that only finds something (see the class).
        """
        lookup = kwargs.pop("lookup", False)
        if self._reading == "lookup" and not is_read(operation):
            raise RuntimeError("%s is a write, sent inside lookups (reads that cannot decide one)" % operation)
        if self.cache is None:
            return self._call(operation, args, kwargs)
        if not is_read(operation):
            try:
                return self._call(operation, args, kwargs)
            finally:
                self.cache.invalidate()
        kind = "lookup" if lookup else self._reading or "state"
        key = self.cache.key(operation, args, kwargs)
        if kind != "poll":
            hit = self.cache.answer(key, lookup=kind == "lookup")
            if hit is not None:
                return hit
        generation = self.cache.generation()
        body = self._call(operation, args, kwargs)
        if body is not None:
            self.cache.keep(key, body, generation)
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
