"""How the modules that delete without tags name what they delete, and which protected_names match it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible_collections.oxy.infra.plugins.module_utils._resources import DeleteRefused
from ansible_collections.oxy.infra.plugins.modules.database_db import DbManager
from ansible_collections.oxy.infra.plugins.modules.database_user import UserManager
from ansible_collections.oxy.infra.plugins.modules.domain_record import RecordManager
from ansible_collections.oxy.infra.plugins.modules.firewall import FirewallManager
from ansible_collections.oxy.infra.plugins.modules.ssh_key import SshKeyManager

FINGERPRINT = "43:d3:b5:b9:7d:40:00:39:4f:54:45:3d:a4:2f:4a:ab"


def manager(cls, **params):
    params = dict(dict(state="absent", allow_delete=True, protected_names=[], wait=True, wait_timeout=None), **params)
    return cls(SimpleNamespace(api=None, params=params, check_mode=False))


def refused(mgr, current):
    with pytest.raises(DeleteRefused) as err:
        mgr.guard_delete(current)
    return err.value.message


RECORD = dict(domain="Oxy.so.", type="A", data=None, match="name")
APEX_MX = dict(domain="Oxy.so.", type="MX", name="@", data=None, match="name")


@pytest.mark.parametrize("name", ["api", "API.oxy.so.", "api.oxy.so"])
def test_a_record_is_named_by_type_name_and_domain_whichever_way_it_is_given(name):
    record = manager(RecordManager, name=name, **RECORD)
    assert record.canonical_name(name) == "api.oxy.so"
    assert record.resource() == dict(kind="DNS record", name="A api.oxy.so")
    assert record.describe(None) == "DNS record A 'api' in domain 'oxy.so'"
    found = dict(id=5, type="A", name="api", data="203.0.113.7")
    assert record.describe(found) == "DNS record A 'api' in domain 'oxy.so' (id 5; data 203.0.113.7)"


def test_the_apex_is_the_domain_and_protected_by_its_name():
    apex = manager(RecordManager, protected_names=["oxy.so"], **APEX_MX)
    assert apex.canonical_name("@") == "oxy.so"
    assert "protected_names" in refused(apex, dict(id=1, type="MX", data="mx.oxy.so"))
    other = manager(RecordManager, protected_names=["www", "api.oxy.so"], **APEX_MX)
    other.guard_delete(dict(id=1, type="MX", data="mx.oxy.so"))  # not protected: no refusal


@pytest.mark.parametrize("cls", [DbManager, UserManager])
def test_databases_and_users_are_named_with_their_cluster(cls):
    thing = manager(cls, cluster="db-oxy", name="mention", protected_names=["db-other/mention"])
    assert thing.resource()["name"] == "db-oxy/mention"
    assert "'mention' in cluster 'db-oxy'" in thing.describe({"name": "mention"})
    thing.guard_delete({"name": "mention"})  # the same name in another cluster protects nothing here
    for protected in ("mention", "db-oxy/mention"):
        thing.params["protected_names"] = [protected]
        assert "protected_names" in refused(thing, {"name": "mention"})


def test_an_ssh_key_found_by_fingerprint_is_protected_by_its_account_name_and_fingerprint():
    key = dict(id=3, name="ops", fingerprint=FINGERPRINT)
    for protected in ("ops", FINGERPRINT):
        laptop = manager(SshKeyManager, name="laptop", protected_names=[protected])
        message = refused(laptop, key)
        assert f"SSH key 'laptop' (named 'ops' on the account; id 3; fingerprint {FINGERPRINT})" in message
    manager(SshKeyManager, name="laptop", protected_names=["laptop-old"]).guard_delete(key)


def test_a_firewall_names_what_it_applies_to_not_tags_of_its_own():
    firewall = manager(FirewallManager, name="edge")
    current = dict(id="fw-1", name="edge", droplet_ids=[9, 4], tags=["web"])
    named = firewall.describe(current)
    assert named == "cloud firewall 'edge' (id fw-1; applies to Droplets 4, 9; applies to tags web)"
    assert "allow_delete=true" in refused(manager(FirewallManager, name="edge", allow_delete=False), current)
