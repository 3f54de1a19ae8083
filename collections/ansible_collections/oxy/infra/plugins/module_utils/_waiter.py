# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting is data: predicates over a resource plus one waiter. Private to this collection."""

from __future__ import annotations

import contextlib
import time

# The options of every module that waits (doc fragment section WAIT).
WAIT_ARGUMENT_SPEC = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int"),
)


class WaitError(Exception):
    """A wait that ended without the resource being ready.

    ``results`` holds the module's partial results (what was created or started so far, the
    last state seen); ``DigitalOceanModule.run`` reports them with the failure, the one path
    from any failure to ``fail_json``.
    """

    def __init__(self, message, results=None):
        super().__init__(message)
        self.message = message
        self.results = dict(results or {})


class WaitFailed(WaitError):
    """The resource reached a state it will not recover from (an ERROR deployment, say)."""


class WaitTimeout(WaitError):
    """The resource was not ready within the timeout."""


def _partial(results, last):
    return dict(results(last) if callable(results) else results or {})


def _ready(ready, resource, results):
    try:
        return ready(resource)
    except WaitFailed as exc:
        exc.results = dict(_partial(results, resource), **exc.results)
        raise


class Waiter:
    """Poll ``fetch`` until ``ready(resource)`` holds, on a monotonic clock.

    The pause between polls is a tenth of the time waited so far, at least ``interval`` (2 s) and
    at most ``max_interval`` (10 s): a resource is seen ready within about a tenth of the time it
    took, and 2 s at most for a short one (a 15 s deployment, a 5 minute cluster within 10 s), and
    a long wait reads about six times a minute. Not every second: DigitalOcean allows a token 250
    requests a minute, and a whole bring-up sends about that many in its first minute.

    ``ready`` may raise WaitFailed to stop at once. A ``fetch`` that answers None (the
    resource is not visible yet just after a create) is polled again. ``results`` (a dict, or
    a function of the last resource seen) are the partial results a failed wait carries.

    ``first_look`` and ``polls`` are the API's read blocks (``DigitalOceanAPI.lookups`` and
    ``.polls``): the first look may be answered by the run's read cache, the polls never are.
    """

    def __init__(
        self,
        timeout,
        interval=2.0,
        max_interval=10.0,
        ratio=0.1,
        sleep=time.sleep,
        clock=time.monotonic,
        first_look=None,
        polls=None,
    ):
        self.timeout = timeout
        self.interval = interval
        self.max_interval = max_interval
        self.ratio = ratio
        self.sleep = sleep
        self.clock = clock
        self.first_look = first_look or contextlib.nullcontext
        self.polls = polls or contextlib.nullcontext

    def until(self, fetch, ready, describe, results=None, current=None):
        """``current``, when given, is the first look (the module just read it); otherwise ``fetch`` makes it."""
        started = self.clock()
        deadline = started + self.timeout
        resource = current
        if resource is None:
            with self.first_look():
                resource = fetch()
        if resource is not None and _ready(ready, resource, results):
            return resource
        with self.polls():
            while True:
                now = self.clock()
                remaining = deadline - now
                if remaining <= 0:
                    raise WaitTimeout(
                        "timed out after %ss waiting for %s" % (self.timeout, describe), _partial(results, resource)
                    )
                pause = min(max(self.interval, self.ratio * (now - started)), self.max_interval)
                self.sleep(min(pause, remaining))
                resource = fetch()
                if resource is not None and _ready(ready, resource, results):
                    return resource


class NoWaiter:
    """Check mode and ``wait: false``: look once (a lookup: it reports, it decides nothing), never sleep."""

    def __init__(self, first_look=None):
        self.first_look = first_look or contextlib.nullcontext

    def until(self, fetch, ready, describe, results=None, current=None):
        if current is not None:
            return current
        with self.first_look():
            return fetch()


def waiter_for(module_params, check_mode, default_timeout, api=None, sleep=time.sleep):
    """The waiter of a module run; ``api`` (a ``DigitalOceanAPI``) gives it its read blocks."""
    first_look, polls = (api.lookups, api.polls) if api is not None else (None, None)
    if check_mode or not module_params.get("wait", True):
        return NoWaiter(first_look)
    timeout = module_params.get("wait_timeout") or default_timeout
    return Waiter(timeout, sleep=sleep, first_look=first_look, polls=polls)


# -- predicates ----------------------------------------------------------------------------
def droplet_active(droplet):
    v4 = (droplet.get("networks") or {}).get("v4") or []
    return droplet.get("status") == "active" and any(n.get("ip_address") for n in v4)


def database_online(cluster):
    return cluster.get("status") == "online"


def firewall_settled(firewall):
    if firewall.get("status") == "failed":
        raise WaitFailed("firewall %s failed to apply" % firewall.get("name"))
    return firewall.get("status") == "succeeded"


def deployment_done(deployment):
    phase = deployment.get("phase")
    if phase in ("ERROR", "CANCELED"):
        steps = (deployment.get("progress") or {}).get("steps") or []
        reasons = [
            "%s: %s" % (s.get("name"), (s.get("reason") or {}).get("message") or s.get("status"))
            for s in steps
            if s.get("status") == "ERROR"
        ]
        raise WaitFailed(
            "deployment %s ended %s%s" % (deployment.get("id"), phase, (": " + "; ".join(reasons)) if reasons else "")
        )
    return phase in ("ACTIVE", "SUPERSEDED")
