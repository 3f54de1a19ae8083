"""Validate sandbox responses against DigitalOcean's OpenAPI spec.

``KNOWN_SPEC_QUIRKS`` names the places where the spec is known to be wrong (see the DO
API notes, section 6); a validation error is forgiven only when one of them explains it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

SPEC = Path(__file__).with_name("digitalocean-openapi.yaml")

KNOWN_SPEC_QUIRKS = {
    # The urn schema's pattern omits "app" although do:app: URNs are documented and used.
    "urn pattern omits do:app:": lambda text: "do:app:" in text and "does not match '^do:(dbaas|" in text,
}


@functools.lru_cache(maxsize=4)
def openapi(server_url: str) -> OpenAPI:
    with SPEC.open() as handle:
        spec = yaml.load(handle, Loader=yaml.CSafeLoader)
    spec["servers"] = [{"url": server_url}]
    # The bundle itself fails strict spec validation (a null default in the gen-ai section), so skip that check.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def _messages(exc: Exception) -> list[str]:
    cause = exc.__cause__
    errors = getattr(cause, "schema_errors", None) or []
    return [str(e).split("\n\n")[0] for e in errors] or [str(exc)]


def problems(api: OpenAPI, response) -> list[str]:
    """Spec violations of one ``requests.Response``, less the known spec quirks."""
    try:
        api.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
    except Exception as exc:  # noqa: BLE001 - openapi-core raises a family of errors; all are findings
        found = _messages(exc)
        where = f"{response.request.method} {response.request.path_url} -> {response.status_code}"
        return [f"{where}: {m}" for m in found if not any(q(m) for q in KNOWN_SPEC_QUIRKS.values())]
    return []


def quirks_hit(api: OpenAPI, response) -> list[str]:
    try:
        api.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
    except Exception as exc:  # noqa: BLE001 - as in problems(): every validation error is a finding
        return [name for m in _messages(exc) for name, q in KNOWN_SPEC_QUIRKS.items() if q(m)]
    return []
