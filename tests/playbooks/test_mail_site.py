"""Mail's DNS as the definition says (oxy_mail), on site.yml's DigitalOcean side against the sandbox without
machines: planned on an empty account (the DKIM record with a placeholder: its key is made on the droplet),
converged with the SPF, DMARC and DKIM records' exact values, unchanged by a second run (with one read of the
zone's records), a DKIM rotation publishing both selectors and a retirement deleting the old one, an edited
DMARC record named by drift and put back, all of them deleted by teardown; no mail secret in any output.
Without machines the droplet's plays are skipped, so the droplet's public keys are given as the documented
stand-in, oxy_mail_dkim_public_keys (with machines the droplet makes them: tests/machines)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fixtures.playbooks import ROOT, ansible_playbook
from tests.playbooks.test_plan import SKIP, actions, apply, changed, plan

DEFINITION = yaml.safe_load((ROOT / "inventory/production/group_vars/all/oxy.yml").read_text())
MAIL = DEFINITION["oxy_mail"]
ACCOUNT = yaml.safe_load((ROOT / "inventory/sandbox/group_vars/all/account.yml").read_text())
SECRETS = [ACCOUNT["oxy_mail_relay_password"], *ACCOUNT["oxy_mail_sender_passwords"].values()]
SELECTOR = MAIL["dkim"]["selector"]
SPF = "v=spf1 mx include:relay.oxy-sandbox.test -all"
DMARC = "v=DMARC1; p=quarantine; rua=mailto:dmarc@oxy.so"
RECORDS_ROUTE = "/v2/domains/{name}/records"


def public_key() -> str:
    """What the droplet reports for a key (api_stack_dkim_public_keys): the base64 of its DER SubjectPublicKeyInfo."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def keys(**by_selector: str) -> tuple[str, str]:
    return "-e", json.dumps({"oxy_mail_dkim_public_keys": by_selector})


def dkim(selector: str, retired: list[str]) -> tuple[str, str]:
    mail = copy.deepcopy(MAIL)
    mail["dkim"] = {"selector": selector, "retired": retired}
    return "-e", json.dumps({"oxy_mail": mail})


def txt_records(do) -> dict[str, str]:
    """The zone's TXT records by name; a name held twice is an error here."""
    found: dict[str, str] = {}
    for record in do.domains.list_records("oxy.so")["domain_records"]:
        if record["type"] == "TXT":
            assert record["name"] not in found, record
            found[record["name"]] = record["data"]
    return found


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, "a mail password was shown"


def record_reads(sandbox, mark: int) -> int:
    routes = sandbox.summary(since=mark)["routes"]
    return sum(r["count"] for r in routes if r["method"] == "GET" and r["route"] == RECORDS_ROUTE)


@pytest.mark.slow
def test_mail_records_planned_published_rotated_retired_and_drift_named(sandbox, do, tmp_path):
    # The plan of an empty account: SPF with the relay, DMARC, and the DKIM record whose key the droplet makes.
    code, out, report = plan(sandbox, tmp_path, "-vvv")
    assert code == 2, out[-4000:]
    assert sandbox.summary()["writes"] == 0
    planned = actions(report)
    for host in ("oxy.so", "_dmarc.oxy.so", f"{SELECTOR}._domainkey.oxy.so"):
        name = f"DNS record TXT {host}"
        assert planned[name] == "create", sorted(planned)
    assert f"(public key of selector {SELECTOR}, made on the droplet)" in out
    assert SPF in out and DMARC in out
    assert_no_secret(out, json.dumps(report))

    # Converged: each record holds exactly what the definition and the droplet's key make.
    first = public_key()
    run = apply(sandbox, "-vvv", *keys(**{SELECTOR: first}))
    assert_no_secret(run.out)
    assert txt_records(do) == {
        "@": SPF,
        "_dmarc": DMARC,
        f"{SELECTOR}._domainkey": f"v=DKIM1; k=rsa; p={first}",
    }
    # The DKIM record is one string past 255 characters (DigitalOcean's DNS splits it into strings on the wire).
    assert len(txt_records(do)[f"{SELECTOR}._domainkey"]) > 255

    # A second run changes nothing, and reads the zone's records once (one task publishes them all).
    mark = sandbox.summary()["last_seq"]
    run = apply(sandbox, *keys(**{SELECTOR: first}))
    assert run.hosts["localhost"]["changed"] == 0, run.out
    assert sandbox.summary(since=mark)["writes"] == 0, sandbox.summary(since=mark)
    assert record_reads(sandbox, mark) == 1, sandbox.summary(since=mark)["routes"]

    # A run that left the droplet's tasks out (no key reported) leaves the DKIM record as it is.
    mark = sandbox.summary()["last_seq"]
    run = apply(sandbox)
    assert run.hosts["localhost"]["changed"] == 0, run.out
    assert sandbox.summary(since=mark)["writes"] == 0

    # Rotation: a new selector; the droplet keeps the old key until it is retired, so both are published.
    second = public_key()
    apply(sandbox, *dkim("oxy2027", []), *keys(**{SELECTOR: first, "oxy2027": second}))
    records = txt_records(do)
    assert records[f"{SELECTOR}._domainkey"] == f"v=DKIM1; k=rsa; p={first}"
    assert records["oxy2027._domainkey"] == f"v=DKIM1; k=rsa; p={second}"

    # Retirement: the old selector's key is gone from the droplet, and its record is deleted (once).
    code, out, report = plan(sandbox, tmp_path, *dkim("oxy2027", [SELECTOR]), *keys(oxy2027=second))
    assert actions(report)[f"DNS record TXT {SELECTOR}._domainkey.oxy.so"] == "delete", out[-4000:]
    mark = sandbox.summary()["last_seq"]
    apply(sandbox, *dkim("oxy2027", [SELECTOR]), *keys(oxy2027=second))
    assert txt_records(do) == {"@": SPF, "_dmarc": DMARC, "oxy2027._domainkey": f"v=DKIM1; k=rsa; p={second}"}
    deletes = [e for e in sandbox.log(since=mark) if e["method"] == "DELETE"]
    assert len(deletes) == 1 and "/v2/domains/oxy.so/records/" in deletes[0]["path"], deletes
    run = apply(sandbox, *dkim("oxy2027", [SELECTOR]), *keys(oxy2027=second))
    assert run.hosts["localhost"]["changed"] == 0, run.out

    # A DMARC record edited out of band: drift names it, and the next run puts it back.
    dmarc = next(r for r in do.domains.list_records("oxy.so")["domain_records"] if r["name"] == "_dmarc")
    do.domains.patch_record("oxy.so", dmarc["id"], {"type": "TXT", "data": "v=DMARC1; p=none"})
    drift = str(Path("playbooks/drift.yml"))
    code, out, report = plan(sandbox, tmp_path, *dkim("oxy2027", [SELECTOR]), *keys(oxy2027=second), playbook=drift)
    assert code == 1 and "The environment drifted from its definition" in out, out[-4000:]
    assert changed(report) == {"DNS record TXT _dmarc.oxy.so": ["data"]}, changed(report)
    assert "DNS record TXT _dmarc.oxy.so: data" in out
    apply(sandbox, *dkim("oxy2027", [SELECTOR]), *keys(oxy2027=second))
    assert txt_records(do)["_dmarc"] == DMARC

    # Teardown deletes mail's records with the droplet's other records (the zone stays, with its own).
    confirm = json.dumps({"oxy_teardown_confirm": DEFINITION["oxy_project"]["name"]})
    run = ansible_playbook(sandbox, "playbooks/teardown.yml", "-e", confirm, *dkim("oxy2027", [SELECTOR]))
    assert run.rc == 0, run.out[-4000:]
    assert txt_records(do) == {}
    assert_no_secret(run.out)

    # Nothing the runs wrote holds a mail password (the plan's JSON, the run's files beside it).
    for path in [*(ROOT / ".plan").glob("**/*"), *tmp_path.glob("**/*")]:
        if path.is_file():
            assert_no_secret(path.read_text(errors="replace"))


def test_a_relay_without_its_password_is_refused_before_any_write(sandbox):
    run = ansible_playbook(sandbox, "site.yml", *SKIP, "-e", '{"oxy_mail_relay_password": ""}')
    assert run.rc != 0
    assert "oxy_mail_relay_password: oxy_mail.relay smtp.relay.oxy-sandbox.test has no password" in run.out
    assert sandbox.summary()["writes"] == 0
