"""The file naming the API Caddy serves, as api_stack's tasks write it, is what its Caddyfile's health checks
compare: for every slot and port the address written is one of Caddy's two upstreams, exactly as the checks name the
upstream they check, and the switch's endpoint answers healthy for the one the file names; and the live slot is read
back from the file, or from the slot alone that the file held before Caddy read it. (tests/machines/test_caddy_reload.py
switches a running Caddy under a flood of connections.)"""

from __future__ import annotations

import base64

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from tests.roles.test_caddyfile import ROLE, render_caddyfile, role_task


def _template(text: str, **variables) -> str:
    loader = DataLoader()
    for path in (ROLE / "defaults/main.yml", ROLE / "vars/main.yml"):
        variables = {**loader.load_from_file(str(path), trusted_as_template=True), **variables}
    return Templar(loader=loader, variables=variables).template(trust_as_template(text))


def _directives(port: int) -> list[str]:
    return [line.strip() for line in render_caddyfile(api_stack_api_port=port).splitlines() if line.strip()]


def _block(lines: list[str], opening: str) -> list[str]:
    """The directives of the block that ``opening`` starts, up to its closing brace (nested blocks included)."""
    start, depth = lines.index(opening), 0
    for end in range(start, len(lines)):
        depth += lines[end].endswith("{") - (lines[end] == "}")
        if depth == 0:
            return lines[start + 1 : end]
    raise AssertionError(f"{opening} is not closed")


def _written(serving: str, port: int) -> str:
    task = role_task("caddy.yml", "Switch to the healthy API")
    return _template(task["ansible.builtin.copy"]["content"], __api_stack_serving=serving, api_stack_api_port=port)


@pytest.mark.parametrize(("slot", "port"), [("blue", 3000), ("green", 3000), ("green", 8080)])
def test_what_the_switch_writes_names_one_of_caddys_upstreams_as_its_checks_do(slot, port):
    written = _written(slot, port)
    assert written == f"oxy-api-{slot}:{port}"  # no newline, nothing else: the endpoint compares it whole
    lines = _directives(port)
    proxy = next(line for line in lines if line.startswith("reverse_proxy "))
    # Both slots, in a fixed order, at the API's port: the checks name each as it is written here.
    assert proxy.split()[1:-1] == [f"oxy-api-blue:{port}", f"oxy-api-green:{port}"]
    options = _block(lines, proxy)
    assert "lb_policy first" in options
    header = _block(options, "health_headers {")
    assert header == ["X-Oxy-Upstream {http.reverse_proxy.active.target_upstream}"]
    # The checks go to the switch's endpoint, inside Caddy's container, which compares that header with the file.
    endpoint = next(line for line in options if line.startswith("health_upstream ")).split()[1]
    host, _, endpoint_port = endpoint.rpartition(":")
    site = _block(lines, f"http://:{endpoint_port} {{")
    assert host == "127.0.0.1" and "bind 127.0.0.1" in site
    assert '@serving expression `{header.X-Oxy-Upstream} == ph(req, "file./etc/caddy/upstream")`' in site
    assert site[-2:] == ["respond @serving 200", "respond 503"]


@pytest.mark.parametrize(
    ("content", "live"),
    [("oxy-api-green:3000", "green"), ("oxy-api-blue:8080\n", "blue"), ("blue\n", "blue"), ("", "")],
)
def test_the_live_slot_is_read_back_from_the_address_or_the_slot_alone(content, live):
    task = role_task("api.yml", "Name the live slot")
    slurped = {"content": base64.b64encode(content.encode()).decode()} if content else {}
    expression = task["ansible.builtin.set_fact"]["__api_stack_live"]
    assert _template(expression, __api_stack_upstream=slurped).strip() == live


@pytest.mark.parametrize(
    ("content", "written"),
    [("", True), ("blue\n", True), ("oxy-api-blue:3000", False), ("oxy-api-green:8080", False)],
)
def test_the_address_is_written_before_caddy_reads_it_only_where_it_is_missing(content, written):
    # A new host has no file; one whose Caddy named its slot in the Caddyfile has the slot alone (before Caddy read
    # the file); either gets the address before a Caddy that reads the file starts. A file with an address is left
    # to the switch, so that a new port never reaches the API still serving before the switch.
    facts = role_task("api.yml", "Name the live slot")["ansible.builtin.set_fact"]
    slurped = {"content": base64.b64encode(content.encode()).decode()} if content else {}
    variables = {name: _template(value, __api_stack_upstream=slurped).strip() for name, value in facts.items()}
    task = role_task(
        "caddy.yml", "The address of the API Caddy serves, for its first start or its first configuration that reads it"
    )
    assert _template(f"{{{{ {task['when']} }}}}", **variables) is written
