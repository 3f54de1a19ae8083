"""python-digitalocean (a client nobody here wrote) driven unmodified through the resources oxy.infra uses.

It sends what the real API takes and pydo never sends: ``null`` for what it was not given
(``"tags": null``, ``"description": null``), empty lists, fields the API ignores
(``private_networking``), trailing slashes (``droplets/``) and PUTs of a record without its type.
"""

from __future__ import annotations

import pytest

TOKEN = "sandbox-token"

# Its firewall code calls jsonpickle the way jsonpickle 5 will change.
pytestmark = pytest.mark.filterwarnings("ignore:keys will default:DeprecationWarning")


def test_account_regions_sizes(python_digitalocean):
    manager = python_digitalocean.Manager(token=TOKEN)
    assert manager.get_account().status == "active"
    assert "ams3" in {r.slug for r in manager.get_all_regions()}
    assert "s-1vcpu-1gb" in {s.slug for s in manager.get_all_sizes()}


def test_ssh_keys(python_digitalocean, public_key):
    do = python_digitalocean
    key = do.SSHKey(token=TOKEN, name="ops", public_key=public_key)
    key.create()
    assert do.SSHKey(token=TOKEN).load_by_pub_key(public_key).id == key.id
    loaded = do.SSHKey.get_object(TOKEN, key.id)
    assert loaded.fingerprint and loaded.name == "ops"
    by_fingerprint = do.SSHKey(token=TOKEN, fingerprint=loaded.fingerprint)
    by_fingerprint.load()
    assert by_fingerprint.id == key.id
    key.name = "operators"
    key.edit()  # a PUT that also carries public_key, which the API ignores
    assert do.SSHKey.get_object(TOKEN, key.id).name == "operators"
    assert [k.id for k in do.Manager(token=TOKEN).get_all_sshkeys()] == [key.id]
    assert key.destroy() is True
    with pytest.raises(do.NotFoundError):
        do.SSHKey.get_object(TOKEN, key.id)


def test_droplet_lifecycle_and_actions(python_digitalocean, public_key):
    do = python_digitalocean
    droplet = do.Droplet(
        token=TOKEN,
        name="api-1",
        region="ams3",
        image="debian-12-x64",
        size_slug="s-1vcpu-1gb",
        ssh_keys=[public_key],  # a public key it does not know: the library uploads it first
        tags=["web"],
        private_networking=True,
    )
    droplet.create()
    [create] = droplet.get_actions()
    assert create.type == "create" and create.wait(update_every_seconds=0)
    droplet.load()
    assert droplet.status == "active" and droplet.ip_address and droplet.private_ip_address
    assert droplet.vpc_uuid and droplet.tags == ["web"]

    for act, check in [
        (droplet.power_off, lambda d: d.status == "off"),
        (droplet.power_on, lambda d: d.status == "active"),
        (droplet.reboot, lambda d: d.status == "active"),
        (droplet.power_cycle, lambda d: d.status == "active"),
        (droplet.reset_root_password, lambda d: d.status == "active"),
        (droplet.enable_ipv6, lambda d: d.ip_v6_address and "ipv6" in d.features),
        (droplet.enable_backups, lambda d: "backups" in d.features),
        (droplet.disable_backups, lambda d: "backups" not in d.features),
        (lambda **kw: droplet.rename("api-2", **kw), lambda d: d.name == "api-2"),
        (lambda **kw: droplet.take_snapshot("before", **kw), lambda d: len(d.snapshot_ids) == 1),
        (lambda **kw: droplet.rebuild("ubuntu-24-04-x64", **kw), lambda d: d.image["slug"] == "ubuntu-24-04-x64"),
        (droplet.shutdown, lambda d: d.status == "off"),
        (lambda **kw: droplet.resize("s-2vcpu-2gb", **kw), lambda d: d.size_slug == "s-2vcpu-2gb"),
    ]:
        action = act(return_dict=False)
        assert action.wait(update_every_seconds=0), action
        assert do.Action.get_object(TOKEN, action.id).status == "completed"
        assert check(droplet.load()), action.type

    actions = droplet.get_actions()
    assert len(actions) == 14 and all(a.status == "completed" for a in actions)
    assert droplet.destroy() is True
    with pytest.raises(do.NotFoundError):
        droplet.load()


def test_droplet_kernels_and_snapshot_names(python_digitalocean, sandbox):
    """``get_kernel_available`` reads ``droplets/<id>/kernels/`` (trailing slash); a snapshot keeps its name."""
    do = python_digitalocean
    droplet = do.Droplet(token=TOKEN, name="api-1", region="ams3", image="debian-12-x64", size_slug="s-1vcpu-1gb")
    droplet.create()
    droplet.load()
    assert droplet.get_kernel_available() == []
    assert droplet.take_snapshot("before", return_dict=False).wait(update_every_seconds=0)
    listed = sandbox.api("GET", f"/v2/droplets/{droplet.id}/snapshots").json()["snapshots"]
    assert [(s["id"], s["name"]) for s in listed] == [(droplet.load().snapshot_ids[0], "before")]


def test_droplets_created_together_with_nulls(python_digitalocean):
    """``create_multiple`` sends ``"tags": null`` and ``"vpc_uuid": null`` when not given them."""
    do = python_digitalocean
    made = do.Droplet.create_multiple(
        token=TOKEN, names=["worker-1", "worker-2"], region="ams3", image="debian-12-x64", size_slug="s-1vcpu-1gb"
    )
    assert [d.name for d in made] == ["worker-1", "worker-2"]
    manager = do.Manager(token=TOKEN)
    assert sorted(d.name for d in manager.get_all_droplets()) == ["worker-1", "worker-2"]
    tag = do.Tag(token=TOKEN, name="batch")
    tag.create()
    tag.add_droplets([str(made[0].id)])
    assert [d.name for d in manager.get_all_droplets(tag_name="batch")] == ["worker-1"]
    tag.remove_droplets([str(made[0].id)])
    assert manager.get_all_droplets(tag_name="batch") == []
    assert tag.delete() is True


def test_domains_and_records(python_digitalocean):
    do = python_digitalocean
    domain = do.Domain(token=TOKEN, name="oxy.so", ip_address="198.51.100.7")
    domain.create()
    record = domain.create_new_domain_record(type="A", name="api", data="198.51.100.8", ttl=300)["domain_record"]
    by_type = {r.type for r in domain.get_records()}
    assert {"A", "NS", "SOA"} <= by_type
    domain.update_domain_record(id=record["id"], domain="oxy.so", data="198.51.100.9")  # no type: kept
    loaded = do.Record.get_object(TOKEN, "oxy.so", record["id"])
    assert (loaded.type, loaded.data, loaded.ttl) == ("A", "198.51.100.9", 300)
    txt = do.Record("oxy.so", token=TOKEN, type="TXT", name="@", data="v=spf1 -all")
    txt.create()  # sends priority, port, weight, flags and tags as null
    txt.data = "v=spf1 mx -all"
    txt.save()  # a PUT of every field, nulls included
    assert do.Record.get_object(TOKEN, "oxy.so", txt.id).data == "v=spf1 mx -all"
    assert txt.destroy() is True
    assert domain.delete_domain_record(id=record["id"]) is True
    assert [d.name for d in do.Manager(token=TOKEN).get_all_domains()] == ["oxy.so"]
    assert domain.destroy() is True


def test_firewalls(python_digitalocean):
    do = python_digitalocean
    droplet = do.Droplet(token=TOKEN, name="fw-1", region="ams3", image="debian-12-x64", size_slug="s-1vcpu-1gb")
    droplet.create()
    do.Tag(token=TOKEN, name="web").create()
    firewall = do.Firewall(
        token=TOKEN,
        name="oxy-web",
        inbound_rules=[do.InboundRule(protocol="tcp", ports="443", sources=do.Sources(addresses=["0.0.0.0/0"]))],
        outbound_rules=[
            do.OutboundRule(protocol="tcp", ports="all", destinations=do.Destinations(addresses=["0.0.0.0/0"]))
        ],
        droplet_ids=[droplet.id],
        tags=[],
    )
    firewall.create()  # every target list is sent, empty ones included
    assert firewall.status in ("waiting", "succeeded") and firewall.droplet_ids == [droplet.id]
    firewall.add_tags(["web"])
    firewall.remove_droplets([droplet.id])
    loaded = do.Manager(token=TOKEN).get_firewall(firewall.id)
    assert (loaded.tags, loaded.droplet_ids) == (["web"], [])
    assert loaded.inbound_rules[0].sources.addresses == ["0.0.0.0/0"]
    firewall.remove_tags(["web"])
    firewall.add_droplets([droplet.id])
    assert [f.name for f in do.Manager(token=TOKEN).get_all_firewalls()] == ["oxy-web"]
    assert firewall.destroy() is True


def test_vpcs(python_digitalocean):
    do = python_digitalocean
    vpc = do.VPC(token=TOKEN, name="oxy-ams3", region="ams3")
    vpc.create()  # "description": null, "ip_range": null
    loaded = do.VPC.get_object(TOKEN, vpc.id)
    assert loaded.description == "" and loaded.ip_range and loaded.urn == f"do:vpc:{vpc.id}"
    assert loaded.default  # the region's first
    vpc.rename("oxy-ams3-b")
    assert do.Manager(token=TOKEN).get_vpc(vpc.id).name == "oxy-ams3-b"
    with pytest.raises(do.DataReadError, match="default VPC"):
        vpc.destroy()
    other = do.VPC(token=TOKEN, name="oxy-ams3-c", region="ams3", description="second", ip_range="10.20.0.0/24")
    other.create()
    assert [v.name for v in do.Manager(token=TOKEN).get_all_vpcs()] == ["oxy-ams3-b", "oxy-ams3-c"]
    assert other.destroy() is True


def test_what_the_sandbox_does_not_model_is_said(python_digitalocean):
    do = python_digitalocean
    with pytest.raises(do.DataReadError, match=r"does not implement /v2/volumes"):
        do.Manager(token=TOKEN).get_all_volumes()
    with pytest.raises(do.DataReadError, match=r"does not implement /v2/load_balancers"):
        do.Manager(token=TOKEN).get_all_load_balancers()
