"""A CA handed over to Caddy in place of another: what api_stack does about the certificates the old one signed.

Caddy keeps the certificates it issued in its storage and in its memory, and a reload (even ``--force``) goes on
serving them after its CA changed, until they are due for renewal: clients that trust the new CA alone are
refused for weeks. The role (tasks/caddy.yml) removes the local issuer's certificates and restarts Caddy when
the CA's files changed; this runs the same in the stack's Caddy image and shows both halves: the reload alone
keeps the old certificate, the role's way serves one of the new CA at once.

Needs a Docker engine and the Caddy image (scripts/test builds it and exports OXY_IMAGE_CADDY).
"""

from __future__ import annotations

import time

import pytest
from oxy_sandbox.tls import ensure_public_ca

from tests.fixtures.caddy import caddy_task, hand_over, running_caddy, serves
from tests.fixtures.polling import wait


@pytest.mark.slow
def test_a_new_ca_is_served_at_once_and_a_reload_alone_would_not(tmp_path):
    # The role's two steps, as it writes them: the local issuer's certificates removed, Caddy restarted.
    removal = caddy_task("The certificates the previous CA signed")
    assert removal["when"] == "_api_stack_caddy_ca | bool and __api_stack_caddy_ca_copied is changed"
    assert removal["ansible.builtin.file"]["state"] == "absent"
    certificates = removal["ansible.builtin.file"]["path"].replace("{{ _api_stack_caddy_data_host }}", "/data")
    assert certificates == "/data/caddy/certificates/local"
    assert caddy_task("Caddy")["community.docker.docker_container"]["restart"] == (
        "{{ __api_stack_caddy_ca_copied is changed }}"
    )

    old, new = ensure_public_ca(tmp_path / "old"), ensure_public_ca(tmp_path / "new")
    with running_caddy(tmp_path / "caddy", old, "/handed-over", "caddy-ca") as caddy:
        container, port = caddy.container, caddy.port
        assert serves(port, old / "root.crt")

        # The CA's files replaced, and a forced reload: the certificate the old CA signed is still served.
        hand_over(new, caddy.data)
        reload = ["caddy", "reload", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile", "--force"]
        done = container.exec_run(reload)
        assert done.exit_code == 0, done.output
        time.sleep(2)
        assert serves(port, old / "root.crt") and not serves(port, new / "root.crt")

        # The role's way: the old certificates removed, Caddy restarted; the new CA's certificate at once.
        done = container.exec_run(["rm", "-rf", certificates])
        assert done.exit_code == 0, done.output
        container.restart(timeout=5)
        wait(lambda: serves(port, new / "root.crt"), 30)
        assert not serves(port, old / "root.crt")
