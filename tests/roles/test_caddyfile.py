"""The api_stack role's Caddyfile, rendered by Ansible's own templating from the role's defaults and vars.

Production (a public CA, ACME) is what it always was; the sandbox's Caddy signs with a CA handed over
(``api_stack_tls_internal_ca_dir``, the sandbox's stand-in for a public CA) for 90 days, or, without one,
with Caddy's own CA as before. tests/machines/test_public_ca_machines.py runs the sandbox's form in Caddy.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[2] / "collections/ansible_collections/oxy/infra/roles/api_stack"


def role_task(file: str, name: str) -> dict:
    """The task of api_stack's ``tasks/{file}`` named ``name``, as the role writes it."""
    (task,) = [task for task in yaml.safe_load((ROLE / "tasks" / file).read_text()) if task.get("name") == name]
    return task


def render_caddyfile(**overrides) -> str:
    """``templates/Caddyfile.j2`` with the role's defaults, its vars and ``overrides`` (a play's vars)."""
    loader = DataLoader()
    variables: dict = {}
    for path in (ROLE / "defaults/main.yml", ROLE / "vars/main.yml"):
        variables.update(loader.load_from_file(str(path), trusted_as_template=True))
    variables.update({"ansible_managed": "Ansible managed", **overrides})
    templar = Templar(loader=loader, variables=variables)
    return templar.template(trust_as_template((ROLE / "templates/Caddyfile.j2").read_text()))


def _directives(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _block_after(lines: list[str], opening: str) -> list[str]:
    start = lines.index(opening)
    return lines[start + 1 : lines.index("}", start)]


def test_production_gets_public_certificates_as_before():
    text = render_caddyfile(api_stack_acme_email="ops@oxy.so")
    lines = _directives(text)
    assert lines[:3] == ["{", "email ops@oxy.so", "admin localhost:2019"]
    assert not [line for line in lines if line.startswith(("tls", "pki", "issuer", "lifetime"))]
    assert "api.oxy.so {" in lines
    # Both slots, steered by health checks that read the upstream file: the same Caddyfile for blue and green, so a
    # switch of API is no reload (tests/machines/test_caddy_reload.py switches under a flood of connections), and
    # nothing is read per request (tests/roles/test_caddy_upstream.py).
    assert "reverse_proxy oxy-api-blue:3000 oxy-api-green:3000 {" in lines
    assert not [line for line in lines if "{file." in line and not line.startswith("@serving expression")]
    # The checks' results, several a second, stay out of Caddy's log but for their errors.
    checker = "http.handlers.reverse_proxy.health_checker.active"
    assert _block_after(lines, "log default {") == [f"exclude {checker}"]
    assert _block_after(lines, "log api_switch {") == [f"include {checker}", "level ERROR"]
    # No passive checks: one failed request would take the only API the checks admit out of service.
    assert not [line for line in lines if line.startswith(("fail_duration", "max_fails", "unhealthy_"))]
    # A CA folder means nothing without the internal issuer: production never signs with it.
    assert render_caddyfile(api_stack_acme_email="ops@oxy.so", api_stack_tls_internal_ca_dir="/ca") == text


def test_the_internal_issuer_without_a_ca_is_caddys_own():
    lines = _directives(render_caddyfile(api_stack_tls_internal=True))
    assert lines.count("tls internal") == 2  # the API's name and the mail host's
    assert not [line for line in lines if line.startswith(("pki", "issuer", "lifetime"))]


def test_a_ca_handed_over_signs_certificates_of_ninety_days():
    lines = _directives(render_caddyfile(api_stack_tls_internal=True, api_stack_tls_internal_ca_dir="/sandbox/ca"))
    storage = "/data/caddy/pki/authorities/local"
    assert lines[lines.index("pki {") :][:12] == [
        "pki {",
        "ca local {",
        "root {",
        f"cert {storage}/root.crt",
        f"key {storage}/root.key",
        "}",
        "intermediate {",
        f"cert {storage}/intermediate.crt",
        f"key {storage}/intermediate.key",
        "}",
        "}",
        "}",
    ]
    assert "tls internal" not in lines
    assert lines.count("issuer internal {") == 2 and lines.count("lifetime 2160h") == 2
    # The controller's folder is never in the configuration: only the copies in Caddy's storage are.
    assert not [line for line in lines if "/sandbox/ca" in line]
