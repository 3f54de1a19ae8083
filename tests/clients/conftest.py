"""Other DigitalOcean clients, unmodified, against the sandbox; every answer still checked against the spec."""

from __future__ import annotations

import copy
import subprocess
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests


@pytest.fixture
def python_digitalocean(sandbox, monkeypatch, tmp_path):
    """python-digitalocean set up as its documentation says (end point and token from the environment,
    the CA through requests' ``REQUESTS_CA_BUNDLE``); what it receives goes to the spec check."""
    monkeypatch.setenv("DIGITALOCEAN_END_POINT", f"{sandbox.url}/v2/")
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", "sandbox-token")
    if sandbox.ca:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca)
    send = requests.Session.send

    def observed(session, prepared, **kwargs):
        response = send(session, prepared, **kwargs)
        if prepared.path_url.startswith("/v2/"):
            sandbox.seen.append(_as_in_the_spec(response))
        return response

    monkeypatch.setattr(requests.Session, "send", observed)
    import digitalocean

    return digitalocean


def _as_in_the_spec(response: requests.Response) -> requests.Response:
    """The response as if asked without the trailing slash the library adds (``droplets/``), which the API
    treats as the same path and the spec does not list."""
    parts = urlsplit(response.request.url)
    if not parts.path.endswith("/"):
        return response
    request = response.request.copy()
    request.url = urlunsplit(parts._replace(path=parts.path.rstrip("/")))
    seen = copy.copy(response)
    seen.request = request
    return seen


@pytest.fixture
def public_key(tmp_path) -> str:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ops@oxy", "-f", str(key)], check=True)
    return key.with_suffix(".pub").read_text().strip()
