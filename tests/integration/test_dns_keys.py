"""oxy.infra.domain, domain_record and ssh_key against the sandbox."""

from __future__ import annotations

from tests.contract.test_projects_domains import FINGERPRINT, PUBLIC_KEY


def test_domain_and_records(run_module, do):
    plan = run_module("domain", check=True, name="oxy.so")
    assert plan["changed"] is True and plan.writes == []
    assert run_module("domain", name="oxy.so").writes == [("POST", "/v2/domains")]
    assert run_module("domain", name="oxy.so")["changed"] is False

    api = dict(domain="oxy.so", type="A", name="api", data="198.51.100.20", ttl=300)
    plan = run_module("domain_record", check=True, **api)
    assert plan["changed"] is True and plan.writes == []
    created = run_module("domain_record", **api)
    assert created.writes == [("POST", "/v2/domains/{name}/records")]
    assert run_module("domain_record", **{**api, "name": "api.oxy.so."})["changed"] is False
    moved = run_module("domain_record", **{**api, "data": "198.51.100.21"})
    assert moved.writes == [("PATCH", "/v2/domains/{name}/records/{record_id}")]
    assert moved["diff"]["before"]["data"] == "198.51.100.20"
    assert do.domains.get_record("oxy.so", created["record"]["id"])["domain_record"]["data"] == "198.51.100.21"

    do.domains.patch_record("oxy.so", created["record"]["id"], {"type": "A", "ttl": 60})
    drift = run_module("domain_record", check=True, **{**api, "data": "198.51.100.21"})
    assert drift["changed"] is True and drift.writes == []
    assert (drift["diff"]["before"]["ttl"], drift["diff"]["after"]["ttl"]) == (60, 300)

    for host in ("mx1.oxy.so.", "mx2.oxy.so."):
        run_module("domain_record", domain="oxy.so", type="MX", data=host, priority=10, match="data")
    assert len(do.domains.list_records("oxy.so", type="MX")["domain_records"]) == 2
    again = run_module("domain_record", domain="oxy.so", type="MX", data="mx1.oxy.so.", priority=10, match="data")
    assert again["changed"] is False and again["record"]["data"] == "mx1.oxy.so." and again.writes == []
    ambiguous = run_module(
        "domain_record", domain="oxy.so", type="MX", data="mx3.oxy.so.", priority=10, expect_fail=True
    )
    assert "matches 2 resources" in ambiguous["msg"] and ambiguous.writes == []
    missing = run_module("domain_record", domain="oxy.so", type="MX", data="mx.oxy.so.", expect_fail=True)
    assert "priority required" in missing["msg"]

    gone = run_module("domain_record", domain="oxy.so", type="A", name="api", state="absent", allow_delete=True)
    assert gone.writes == [("DELETE", "/v2/domains/{name}/records/{record_id}")]
    assert (
        run_module("domain_record", domain="oxy.so", type="A", name="api", state="absent", allow_delete=True)["changed"]
        is False
    )
    assert run_module("domain", name="oxy.so", state="absent", allow_delete=True).writes == [
        ("DELETE", "/v2/domains/{name}")
    ]
    assert run_module("domain", name="oxy.so", state="absent", allow_delete=True)["changed"] is False


def test_ssh_keys(run_module, do):
    plan = run_module("ssh_key", check=True, name="ops", public_key=PUBLIC_KEY)
    assert plan["changed"] is True and plan["fingerprint"] == FINGERPRINT and plan.writes == []
    created = run_module("ssh_key", name="ops", public_key=PUBLIC_KEY)
    assert created.writes == [("POST", "/v2/account/keys")]
    assert created["ssh_key"]["fingerprint"] == FINGERPRINT
    assert run_module("ssh_key", name="ops", public_key=PUBLIC_KEY)["changed"] is False
    renamed = run_module("ssh_key", name="ops-deploy", public_key=PUBLIC_KEY)
    assert renamed.writes == [("PUT", "/v2/account/keys/{ident}")]
    bad = run_module("ssh_key", name="x", public_key="ssh-ed25519 not-base64!", expect_fail=True)
    assert "public_key" in bad["msg"] and bad.calls == []
    gone = run_module("ssh_key", name="ops-deploy", fingerprint=FINGERPRINT, state="absent", allow_delete=True)
    assert gone.writes == [("DELETE", "/v2/account/keys/{ident}")]
    assert do.ssh_keys.list()["ssh_keys"] == []
