"""Backups, snapshots and restores, an app's move to another region, and a whole region's outage (issue 22):
droplet snapshots and backups as images (transferred to another region to be used there), MongoDB backups
and a restore to a backup or a point in time, Valkey's refusal, and the ``regions_down`` fault."""

from __future__ import annotations

import time

import requests

from tests.contract.test_apps import SPEC
from tests.contract.test_databases import MONGO, VALKEY
from tests.contract.test_vpcs_droplets import DROPLET, error_of

WEEKLY = {"plan": "weekly", "weekday": "TUE", "hour": 8}


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test_a_snapshot_is_an_image_usable_in_its_regions_until_transferred(sandbox, do):
    droplet = do.droplets.create({**DROPLET, "name": "api-1"})["droplet"]
    action = do.droplet_actions.post(droplet["id"], {"type": "snapshot", "name": "api-1-before"})["action"]
    assert action["type"] == "snapshot" and action["resource_id"] == droplet["id"]
    [snap] = do.droplets.list_snapshots(droplet["id"])["snapshots"]
    assert (snap["name"], snap["type"], snap["regions"]) == ("api-1-before", "snapshot", ["ams3"])
    assert snap["min_disk_size"] == droplet["disk"] and snap["size_gigabytes"] > 0
    assert do.droplets.get(droplet["id"])["droplet"]["snapshot_ids"] == [snap["id"]]

    image = do.images.get(str(snap["id"]))["image"]
    assert (image["type"], image["public"], image["slug"]) == ("snapshot", False, None)
    assert [i["id"] for i in do.images.list(private=True)["images"]] == [snap["id"]]
    assert snap["id"] in [i["id"] for i in do.images.list(per_page=200)["images"]]
    assert snap["id"] not in [i["id"] for i in do.images.list(type="distribution", per_page=200)["images"]]
    listed = do.snapshots.list(resource_type="droplet")["snapshots"]
    assert [(s["id"], s["resource_id"], s["resource_type"]) for s in listed] == [
        (str(snap["id"]), str(droplet["id"]), "droplet")
    ]
    assert do.snapshots.get(str(snap["id"]))["snapshot"]["name"] == "api-1-before"
    reader = sandbox.mint("image:read")  # DigitalOcean's scopes: image:* and snapshot:*
    assert sandbox.api("GET", "/v2/images", token=reader).status_code == 200
    denied = sandbox.api("GET", "/v2/snapshots", token=reader)
    assert denied.status_code == 403 and "snapshot:read" in denied.json()["message"]

    # Usable in its region; elsewhere only once transferred there.
    here = do.droplets.create({**DROPLET, "name": "api-2", "image": snap["id"]})["droplet"]
    assert here["image"]["id"] == snap["id"] and here["image"]["type"] == "snapshot"
    status, err = error_of(
        lambda: do.droplets.create({**DROPLET, "name": "api-3", "region": "fra1", "image": snap["id"]})
    )
    assert status == 422 and "fra1" in err["message"] and "transfer" in err["message"]
    moved = do.image_actions.post(snap["id"], {"type": "transfer", "region": "fra1"})["action"]
    assert (moved["type"], moved["resource_type"], moved["resource_id"]) == ("transfer", "image", snap["id"])
    assert do.image_actions.get(snap["id"], moved["id"])["action"]["status"] == "completed"
    assert [a["id"] for a in do.image_actions.list(snap["id"])["actions"]] == [moved["id"]]
    assert do.images.get(str(snap["id"]))["image"]["regions"] == ["ams3", "fra1"]
    there = do.droplets.create({**DROPLET, "name": "api-3", "region": "fra1", "image": snap["id"]})["droplet"]
    assert there["region"]["slug"] == "fra1" and there["image"]["id"] == snap["id"]
    status, err = error_of(lambda: do.image_actions.post(snap["id"], {"type": "transfer", "region": "fra1"}))
    assert status == 422 and "already" in err["message"]

    # The image outlives its droplet; deleting it removes it everywhere.
    do.droplets.destroy(droplet["id"])
    assert do.snapshots.get(str(snap["id"]))["snapshot"]["id"] == str(snap["id"])
    assert do.images.delete(snap["id"]) is None
    assert do.images.list(private=True)["images"] == []
    assert do.images.get(str(snap["id"]))["id"] == "not_found"
    assert do.snapshots.get(str(snap["id"]))["id"] == "not_found"


def test_backups_follow_the_policy_and_go_with_the_droplet(sandbox, do):
    body = {**DROPLET, "name": "api-1", "backups": True, "backup_policy": WEEKLY}
    droplet = do.droplets.create(body)["droplet"]
    assert "backups" in droplet["features"] and droplet["next_backup_window"]["start"].endswith("T08:00:00Z")
    policy = do.droplets.get_backup_policy(droplet["id"])["policy"]
    assert policy["backup_enabled"] is True
    assert policy["backup_policy"] == {**WEEKLY, "window_length_hours": 4, "retention_period_days": 28}
    assert do.droplets.list_backup_policies()["policies"][str(droplet["id"])] == policy
    plans = {p["name"]: p for p in do.droplets.list_supported_backup_policies()["supported_policies"]}
    assert (plans["daily"]["retention_period_days"], plans["weekly"]["retention_period_days"]) == (7, 28)

    taken = [sandbox.control("POST", f"droplets/{droplet['id']}/backup")["image"] for _ in range(5)]
    backups = do.droplets.list_backups(droplet["id"])["backups"]
    assert [b["id"] for b in backups] == [i["id"] for i in taken[1:]]  # a weekly policy keeps four
    assert all(b["type"] == "backup" for b in backups)
    assert do.droplets.get(droplet["id"])["droplet"]["backup_ids"] == [b["id"] for b in backups]
    assert do.snapshots.list()["snapshots"] == []  # backups are images, not snapshots
    assert do.images.get(str(taken[0]["id"]))["id"] == "not_found"

    # A droplet is restored from one of its own backups (keeping its id); rebuilt from any image of its region.
    restore = do.droplet_actions.post(droplet["id"], {"type": "restore", "image": backups[-1]["id"]})["action"]
    assert restore["type"] == "restore" and do.actions.get(restore["id"])["action"]["status"] == "completed"
    other = do.droplets.create({**DROPLET, "name": "api-2"})["droplet"]
    status, err = error_of(
        lambda: do.droplet_actions.post(other["id"], {"type": "restore", "image": backups[-1]["id"]})
    )
    assert status == 422 and "this droplet" in err["message"]
    status, err = error_of(lambda: do.droplet_actions.post(other["id"], {"type": "restore"}))
    assert status == 422 and "image" in err["message"]
    do.droplet_actions.post(other["id"], {"type": "rebuild", "image": backups[-1]["id"]})
    assert do.droplets.get(other["id"])["droplet"]["image"]["id"] == backups[-1]["id"]
    do.droplets.destroy(other["id"])

    do.droplet_actions.post(droplet["id"], {"type": "change_backup_policy", "backup_policy": {"plan": "daily"}})
    assert do.droplets.get_backup_policy(droplet["id"])["policy"]["backup_policy"]["retention_period_days"] == 7
    do.droplet_actions.post(droplet["id"], {"type": "disable_backups"})
    assert do.droplets.get_backup_policy(droplet["id"])["policy"] == {
        "droplet_id": droplet["id"],
        "backup_enabled": False,
    }
    refused = sandbox.api("POST", f"/v2/droplets/{droplet['id']}/actions", json={"type": "change_backup_policy"})
    assert refused.status_code == 422
    status, err = error_of(
        lambda: do.droplet_actions.post(droplet["id"], {"type": "enable_backups", "backup_policy": {"hour": 5}})
    )
    assert status == 422 and "hour" in err["message"]
    status, err = error_of(lambda: do.droplets.create({**DROPLET, "name": "api-2", "backup_policy": WEEKLY}))
    assert status == 422 and "backup_policy" in err["message"]

    do.droplets.destroy(droplet["id"])
    assert do.images.list(private=True)["images"] == []


def test_mongodb_is_restored_to_a_backup_or_a_point_in_time(sandbox, do):
    source = do.databases.create_cluster(MONGO)["database"]
    [first] = do.databases.list_backups(source["id"])["backups"]  # one at creation
    time.sleep(1.1)  # backups are listed to the second: the next one in another
    do.databases.add(source["id"], {"name": "oxy"})
    app_user = do.databases.add_user(source["id"], {"name": "app"})["user"]
    second = sandbox.control("POST", f"databases/{source['id']}/backup")
    assert do.databases.list_backups(source["id"])["backups"][-1] == second
    time.sleep(1.1)
    between = _iso(time.time())
    time.sleep(1.1)
    do.databases.add(source["id"], {"name": "late"})
    do.databases.delete_user(source["id"], "app")

    def restored(name: str, **restore) -> dict:
        body = {**MONGO, "name": name, "backup_restore": {"database_name": "db-oxy", **restore}}
        db = do.databases.create_cluster(body)["database"]
        assert db["status"] == "forking"
        return do.databases.get_cluster(db["id"])["database"]

    at_creation = restored("db-oxy-first", backup_created_at=first["created_at"])
    assert at_creation["db_names"] == ["admin"] and [u["name"] for u in at_creation["users"]] == ["doadmin"]
    at_point = restored("db-oxy-point", backup_created_at=between)
    assert at_point["status"] == "online" and at_point["db_names"] == ["admin", "oxy"]
    users = {u["name"]: u for u in at_point["users"]}
    assert users["app"]["password"] == app_user["password"]  # a fork keeps the users and their passwords
    assert at_point["connection"]["password"] == source["connection"]["password"]
    latest = restored("db-oxy-latest")  # no time: the latest backup
    assert latest["db_names"] == ["admin", "oxy"] and "app" in {u["name"] for u in latest["users"]}
    elsewhere = restored("db-oxy-fra1", backup_created_at=second["created_at"])
    assert elsewhere["db_names"] == ["admin", "oxy"]
    fra = do.databases.create_cluster(
        {**MONGO, "name": "db-oxy-fra", "region": "fra1", "backup_restore": {"database_name": "db-oxy"}}
    )["database"]
    assert fra["region"] == "fra1"

    for restore, words in (
        ({"database_name": "db-oxy", "backup_created_at": "2020-01-01T00:00:00Z"}, "before the oldest backup"),
        ({"database_name": "db-oxy", "backup_created_at": _iso(time.time() + 3600)}, "future"),
        ({"database_name": "db-gone"}, "db-gone"),
    ):
        status, err = error_of(
            lambda r=restore: do.databases.create_cluster({**MONGO, "name": "db-refused", "backup_restore": r})
        )
        assert status == 422 and words in err["message"] and "backup_restore" in err["message"]

    valkey = do.databases.create_cluster(VALKEY)["database"]
    status, err = error_of(lambda: do.databases.list_backups(valkey["id"]))
    assert (status, err["message"]) == (422, "Backups are not supported for Caching or Valkey clusters.")
    status, err = error_of(
        lambda: do.databases.create_cluster(
            {**VALKEY, "name": "db-valkey-copy", "backup_restore": {"database_name": VALKEY["name"]}}
        )
    )
    assert status == 422 and "Valkey" in err["message"]


def test_an_app_moves_to_another_region_and_a_vpc_app_to_a_vpc_there(do):
    app = do.apps.create({"spec": SPEC})["app"]
    moved = do.apps.update(app["id"], {"spec": {**SPEC, "region": "fra"}})["app"]
    assert moved["region"]["slug"] == "fra" and moved["spec"]["region"] == "fra"
    deployments = do.apps.list_deployments(app["id"])["deployments"]
    assert len(deployments) == 2 and deployments[0]["spec"]["region"] == "fra"  # redeployed there

    ams = do.vpcs.create({"name": "oxy-ams3", "region": "ams3"})["vpc"]
    fra = do.vpcs.create({"name": "oxy-fra1", "region": "fra1"})["vpc"]
    in_vpc = do.apps.create({"spec": {**SPEC, "name": "mention-vpc", "vpc": {"id": ams["id"]}}})["app"]
    status, err = error_of(
        lambda: do.apps.update(
            in_vpc["id"], {"spec": {**SPEC, "name": "mention-vpc", "region": "fra", "vpc": {"id": ams["id"]}}}
        )
    )
    assert status == 422 and "spec.vpc.id" in err["message"] and "fra1" in err["message"]
    spec = {**SPEC, "name": "mention-vpc", "region": "fra", "vpc": {"id": fra["id"]}}
    assert do.apps.update(in_vpc["id"], {"spec": spec})["app"]["vpc"]["id"] == fra["id"]


def test_a_region_outage_fails_its_resources_and_creates_until_cleared(sandbox, do):
    droplet = do.droplets.create({**DROPLET, "name": "api-1"})["droplet"]
    db = do.databases.create_cluster(MONGO)["database"]
    app = do.apps.create({"spec": SPEC})["app"]
    other = do.droplets.create({**DROPLET, "name": "api-fra", "region": "fra1"})["droplet"]
    other_app = do.apps.create({"spec": {**SPEC, "name": "other", "region": "fra"}})["app"]
    assert sandbox.faults(regions_down=["ams3"])["regions_down"] == ["ams3"]

    for path in (f"/v2/droplets/{droplet['id']}", f"/v2/databases/{db['id']}/users", f"/v2/apps/{app['id']}"):
        resp = sandbox.api("GET", path)
        assert resp.status_code == 503, path
        assert resp.json()["id"] == "service_unavailable" and "ams3" in resp.json()["message"]
    create = sandbox.api("POST", "/v2/droplets", json={**DROPLET, "name": "api-2"})
    assert create.status_code == 503 and create.json()["id"] == "service_unavailable"
    assert sandbox.api("POST", "/v2/databases", json={**MONGO, "name": "db-2"}).status_code == 503
    assert sandbox.api("POST", "/v2/vpcs", json={"name": "oxy-ams3", "region": "ams3"}).status_code == 503
    moved = sandbox.api("PUT", f"/v2/apps/{other_app['id']}", json={"spec": {**SPEC, "name": "other", "region": "ams"}})
    assert moved.status_code == 503
    # An app in the region that is down: edited there, refused; moved out of it, taken (and then served).
    kept = sandbox.api("PUT", f"/v2/apps/{app['id']}", json={"spec": {**SPEC, "name": app["spec"]["name"]}})
    assert kept.status_code == 503 and kept.json()["id"] == "service_unavailable"
    out = sandbox.api(
        "PUT", f"/v2/apps/{app['id']}", json={"spec": {**SPEC, "name": app["spec"]["name"], "region": "fra"}}
    )
    assert out.status_code == 200, out.text
    assert do.apps.get(app["id"])["app"]["spec"]["region"] == "fra"
    # The control plane is global: lists answer, with the region's resources in them.
    assert {d["id"] for d in do.droplets.list()["droplets"]} == {droplet["id"], other["id"]}
    assert do.droplets.get(other["id"])["droplet"]["region"]["slug"] == "fra1"
    assert do.droplets.create({**DROPLET, "name": "api-fra-2", "region": "fra1"})["droplet"]["status"] == "new"
    # The regions list says which one takes nothing new.
    available = {r["slug"]: r["available"] for r in do.regions.list()["regions"]}
    assert available["ams3"] is False and available["fra1"] is True

    sandbox.control("DELETE", "faults")
    assert {r["slug"]: r["available"] for r in do.regions.list()["regions"]}["ams3"] is True
    assert do.droplets.get(droplet["id"])["droplet"]["id"] == droplet["id"]
    assert do.databases.list_users(db["id"])["users"][0]["name"] == "doadmin"
    refused = requests.put(
        f"{sandbox.url}/_sandbox/faults", json={"regions_down": ["moon1"]}, verify=sandbox.ca, timeout=30
    )
    assert refused.status_code == 422 and "moon1" in refused.text
