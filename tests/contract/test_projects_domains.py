"""Projects, domains and records, SSH keys and tags through pydo."""

from __future__ import annotations

from tests.contract.test_vpcs_droplets import DROPLET, error_of

# Made with ssh-keygen -t ed25519; ssh-keygen -l -E md5 printed this fingerprint.
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAFsPGlJTB05BrWJ8j6DOC/cnVGrBJn3+TopUQkRqjjY test"
FINGERPRINT = "43:d3:b5:b9:7d:40:00:39:4f:54:45:3d:a4:2f:4a:ab"


def test_default_project_exists_and_can_be_updated(do):
    default = do.projects.get_default()["project"]
    assert default["is_default"] is True
    body = {
        "name": default["name"],
        "description": "d",
        "purpose": "Service or API",
        "environment": "Production",
        "is_default": True,
    }
    assert do.projects.update_default(body)["project"]["environment"] == "Production"


def test_project_crud(do):
    project = do.projects.create({"name": "oxy", "purpose": "Service or API", "environment": "Production"})["project"]
    assert project["is_default"] is False
    assert do.projects.get(project["id"])["project"]["name"] == "oxy"
    assert do.projects.patch(project["id"], {"description": "Oxy production"})["project"]["description"] == (
        "Oxy production"
    )
    full = {"name": "oxy", "description": "x", "purpose": "p", "environment": "Staging", "is_default": False}
    assert do.projects.update(project["id"], full)["project"]["environment"] == "Staging"
    do.projects.delete(project["id"], headers={"Content-Type": "application/json"})
    assert do.projects.get(project["id"])["id"] == "not_found"


def test_resources_belong_to_one_project(do):
    droplet = do.droplets.create({"name": "d", **DROPLET})["droplet"]
    urn = f"do:droplet:{droplet['id']}"
    assert [r["urn"] for r in do.projects.list_resources_default()["resources"]] == [urn]
    project = do.projects.create({"name": "oxy", "purpose": "Service or API"})["project"]
    answer = do.projects.assign_resources(project["id"], {"resources": [urn, "do:droplet:1"]})["resources"]
    assert [(r["urn"], r["status"]) for r in answer] == [(urn, "assigned"), ("do:droplet:1", "not_found")]
    again = do.projects.assign_resources(project["id"], {"resources": [urn]})["resources"]
    assert again[0]["status"] == "already_assigned"
    assert do.projects.list_resources_default()["resources"] == []
    assert [r["urn"] for r in do.projects.list_resources(project["id"])["resources"]] == [urn]
    refused = do.projects.delete(project["id"], headers={"Content-Type": "application/json"})
    assert refused["id"] == "precondition_failed"


def test_app_and_database_urns_can_be_assigned(do):
    project = do.projects.create({"name": "oxy", "purpose": "Service or API"})["project"]
    app = do.apps.create({"spec": {"name": "alia-production", "region": "ams"}})["app"]
    db = do.databases.create_cluster(
        {"name": "db-oxy", "engine": "mongodb", "num_nodes": 1, "size": "db-s-1vcpu-1gb", "region": "ams3"}
    )["database"]
    urns = [f"do:app:{app['id']}", f"do:dbaas:{db['id']}"]
    answer = do.projects.assign_resources(project["id"], {"resources": urns})["resources"]
    assert [r["status"] for r in answer] == ["assigned", "assigned"]
    assert do.apps.get(app["id"])["app"]["project_id"] == project["id"]
    assert do.databases.get_cluster(db["id"])["database"]["project_id"] == project["id"]


def test_project_delete_needs_json_content_type(sandbox):
    pid = sandbox.api("POST", "/v2/projects", json={"name": "p", "purpose": "x"}).json()["project"]["id"]
    assert sandbox.api("DELETE", f"/v2/projects/{pid}").status_code == 415


def test_domains_and_records(do):
    domain = do.domains.create({"name": "oxy.so", "ip_address": "198.51.100.10"})["domain"]
    assert (domain["name"], domain["ttl"]) == ("oxy.so", 1800)
    types = sorted(r["type"] for r in do.domains.list_records("oxy.so")["domain_records"])
    assert types == ["A", "NS", "NS", "NS", "SOA"]
    record = do.domains.create_record("oxy.so", {"type": "A", "name": "api", "data": "198.51.100.20", "ttl": 300})[
        "domain_record"
    ]
    do.domains.create_record("oxy.so", {"type": "MX", "data": "mail.oxy.so.", "priority": 10})
    named = do.domains.list_records("oxy.so", name="api.oxy.so")["domain_records"]
    assert [r["id"] for r in named] == [record["id"]]
    assert len(do.domains.list_records("oxy.so", type="MX")["domain_records"]) == 1
    assert do.domains.patch_record("oxy.so", record["id"], {"type": "A", "ttl": 900})["domain_record"]["ttl"] == 900
    assert do.domains.update_record("oxy.so", record["id"], {"type": "A", "ttl": 1000})["domain_record"]["ttl"] == 1000
    assert "api IN A 198.51.100.20" in do.domains.get("oxy.so")["domain"]["zone_file"]
    do.domains.delete_record("oxy.so", record["id"])
    assert do.domains.get_record("oxy.so", record["id"])["id"] == "not_found"
    status, err = error_of(lambda: do.domains.create_record("oxy.so", {"type": "MX", "data": "mx.oxy.so."}))
    assert status == 422 and "priority" in err["message"]
    do.domains.delete("oxy.so")
    assert do.domains.list()["domains"] == []


def test_ssh_keys(do):
    key = do.ssh_keys.create({"name": "ops", "public_key": PUBLIC_KEY})["ssh_key"]
    assert key["fingerprint"] == FINGERPRINT
    assert do.ssh_keys.get(FINGERPRINT)["ssh_key"]["id"] == key["id"]
    assert do.ssh_keys.update(key["id"], {"name": "ops2"})["ssh_key"]["name"] == "ops2"
    status, err = error_of(lambda: do.ssh_keys.create({"name": "again", "public_key": PUBLIC_KEY}))
    assert status == 422 and "already in use" in err["message"]
    status, err = error_of(lambda: do.ssh_keys.create({"name": "bad", "public_key": "not a key"}))
    assert status == 422 and "public_key" in err["message"]
    droplet = do.droplets.create({"name": "keyed", **DROPLET, "ssh_keys": [FINGERPRINT]})["droplet"]
    assert droplet["id"]
    do.ssh_keys.delete(key["id"])
    assert do.ssh_keys.get(key["id"])["id"] == "not_found"


def test_tags(do):
    do.tags.create({"name": "api"})
    droplet = do.droplets.create({"name": "tagged", **DROPLET})["droplet"]
    do.tags.assign_resources("api", {"resources": [{"resource_id": str(droplet["id"]), "resource_type": "droplet"}]})
    tag = do.tags.get("api")["tag"]
    assert tag["resources"]["count"] == tag["resources"]["droplets"]["count"] == 1
    assert tag["resources"]["last_tagged_uri"] == f"https://api.digitalocean.com/v2/droplets/{droplet['id']}"
    assert do.droplets.list(tag_name="api")["droplets"][0]["id"] == droplet["id"]
    do.tags.unassign_resources("api", {"resources": [{"resource_id": str(droplet["id"]), "resource_type": "droplet"}]})
    assert do.tags.get("api")["tag"]["resources"]["count"] == 0
    do.tags.assign_resources("api", {"resources": [{"resource_id": str(droplet["id"]), "resource_type": "droplet"}]})
    do.tags.delete("api")
    assert do.droplets.get(droplet["id"])["droplet"]["tags"] == []
    refused = do.tags.create({"name": "bad tag!"})  # tags answer 400 as {error, messages, root_causes}
    assert refused["error"].startswith("name:") and refused["root_causes"] == [refused["error"]]


def test_unknown_tag_resources_are_404(do):
    do.tags.create({"name": "t"})
    answer = do.tags.assign_resources("t", {"resources": [{"resource_id": "1", "resource_type": "droplet"}]})
    assert answer["id"] == "not_found"


def test_the_urn_quirk_is_real_and_is_the_only_one_forgiven(sandbox, do):
    """do:app: URNs break the spec's urn pattern (API notes 2.7); the quirk list must name it, and only it."""
    from tests.contract import spec

    project = do.projects.create({"name": "oxy", "purpose": "Service or API"})["project"]
    app = do.apps.create({"spec": {"name": "allo-app", "region": "nyc"}})["app"]
    do.projects.assign_resources(project["id"], {"resources": [f"do:app:{app['id']}"]})
    api = spec.openapi(sandbox.url)
    hits = {name for resp in sandbox.seen for name in spec.quirks_hit(api, resp)}
    assert hits == {"urn pattern omits do:app:"}
    assert set(spec.KNOWN_SPEC_QUIRKS) == hits
