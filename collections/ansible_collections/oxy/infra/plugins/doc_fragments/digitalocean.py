# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  token:
    description:
      - DigitalOcean API token.
      - Read from E(DIGITALOCEAN_TOKEN), E(DIGITALOCEAN_ACCESS_TOKEN) or E(DO_API_TOKEN) when not set.
    type: str
    required: true
    aliases: [oauth_token, api_token]
  api_url:
    description:
      - Base URL of the DigitalOcean API.
      - Read from E(DIGITALOCEAN_API_URL) when not set, so the same play runs against the oxy.infra sandbox.
      - An C(http://) URL sends the token without TLS; use that only for a local sandbox.
    type: str
    default: https://api.digitalocean.com
  ca_path:
    description:
      - CA bundle that verifies the API's certificate (the sandbox's C(ca.pem)).
      - Read from E(DIGITALOCEAN_CA_BUNDLE) when not set.
    type: path
  validate_certs:
    description: Verify the API's TLS certificate. Ignored when O(ca_path) is set.
    type: bool
    default: true
  request_timeout:
    description: Connect and read timeout of one HTTP request, in seconds.
    type: int
    default: 60
  retries:
    description:
      - How often a request is retried after a 429 (honouring C(retry-after) and C(ratelimit-reset)) or,
        for idempotent methods, a 5xx, with exponential backoff.
      - Creates are never replayed blindly; after an ambiguous failure the module looks the resource up by name.
    type: int
    default: 5
requirements:
  - pydo >= 0.44
notes:
  - The module runs inside the controller, through the collection's action plugin of the same name, when the task
    runs on the controller's own host (a local connection, no C(become), no C(async)) and the controller's Python
    has pydo; otherwise, or with the variable C(oxy_infra_in_controller=false), it runs as a module process on the
    target as any module does. Validation, C(no_log) masking, check mode and diff are the same either way.
  - In the controller, the modules of one run share a read cache (per API URL and token). It answers only what
    cannot decide a write - lookups (which id a name has, a catalog, the first look of a wait), younger than a
    minute - and, within one task, a read to the later items of its loop. Every module reads the state it compares
    with its definition afresh, so a change made between two tasks (the console, a second run) is seen. Writes empty
    it; a task that retries (C(until) or C(retries)) or sets C(oxy_infra_read_cache=false) is answered nothing,
    and what it reads refreshes the cache. It is kept encrypted in the run's local temporary directory. The rule is
    written in the collection's C(plugins/plugin_utils/_read_cache.py).
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Can run in check mode and predict the change, reading the API but never writing to it.
    support: full
  diff_mode:
    description:
      - Returns C(diff) with the managed fields C(before) and C(after); secrets are masked.
      - The result also names the resource, C(resource) (C(kind) and C(name)), which the P(oxy.infra.plan#callback)
        callback reads to print one plan of the whole run.
    support: full
  idempotent:
    description: A second run with the same options changes nothing and makes no write call.
    support: full
"""

    READS = r"""
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
  idempotent:
    description: Reads only.
    support: full
"""

    INFO = r"""
options:
  name:
    description: Only the one with this name.
    type: str
  tag:
    description: Only those carrying this tag.
    type: str
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait until the resource is ready before returning.
      - With V(false) a play can start several long creations and wait for them later.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait when O(wait=true). Each module documents its default.
    type: int
"""

    DELETE = r"""
options:
  allow_delete:
    description:
      - Confirms that O(state=absent) really means to delete the resource. Without it O(state=absent) fails before
        any write, naming what would be deleted; in check mode too, so a plan shows the refusal.
      - The confirmation is required even when the resource is already absent, so that a mistyped name fails
        instead of passing silently as "nothing to delete".
      - Has no effect with O(state=present).
    type: bool
    default: false
  protected_names:
    description:
      - Names that are never deleted, even with O(allow_delete=true). O(state=absent) on one of them fails before
        any write.
      - This is how resources that carry no tags in DigitalOcean (apps, VPCs, domains, firewalls, projects, SSH keys,
        DNS records, databases, database users) are protected; it works for every module that deletes. The module's
        O(state) says which names match (a DNS record's host name, a database's C(cluster/name)).
    type: list
    elements: str
    default: []
"""

    DELETE_TAGGED = r"""
options:
  protected_tag:
    description:
      - A resource carrying this tag is never deleted, even with O(allow_delete=true); O(state=absent) fails
        before any write. Remove the tag deliberately first to delete it.
      - Set it to an empty string to protect by O(protected_names) only.
    type: str
    default: protected
"""
