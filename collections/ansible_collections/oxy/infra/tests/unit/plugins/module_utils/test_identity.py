"""Ownership held against the definition (module_utils/_identity.py): renames, replacements, orphans."""

from __future__ import annotations

from ansible_collections.oxy.infra.plugins.module_utils._identity import owned, plan, unconfirmed

DEFINITION = dict(
    project="Oxy",
    droplet=dict(name="oxy-api-backend", tags=["oxy", "api"], path="oxy_droplet.name"),
    clusters=[
        dict(name="db-oxy", engine="mongodb", path="oxy_mongodb.name"),
        dict(name="db-valkey", engine="valkey", path="oxy_valkey.name"),
    ],
    apps=["oxy-api"],
    domains=["oxy.so"],
    firewalls=["oxy-api-backend"],
)


def account(droplets=(), clusters=(), apps=(), firewalls=(), members=()):
    return dict(
        droplets=list(droplets), clusters=list(clusters), apps=list(apps), firewalls=list(firewalls), members=members
    )


def droplet(ident, name, tags=()):
    return dict(id=ident, name=name, tags=list(tags))


def cluster(ident, name, engine):
    return dict(id=ident, name=name, engine=engine, tags=[])


CONVERGED = account(
    droplets=[droplet(1, "oxy-api-backend", ["oxy", "api"]), droplet(9, "someone-else")],
    clusters=[cluster("c1", "db-oxy", "mongodb"), cluster("c2", "db-valkey", "valkey"), cluster("c9", "other", "pg")],
    apps=[dict(id="a1", spec=dict(name="oxy-api")), dict(id="a9", spec=dict(name="not-ours"))],
    firewalls=[dict(id="f1", name="oxy-api-backend", droplet_ids=[1]), dict(id="f9", name="x", droplet_ids=[9])],
    members=["do:droplet:1", "do:dbaas:c1", "do:dbaas:c2", "do:app:a1", "do:domain:oxy.so"],
)


def test_a_converged_environment_owns_its_resources_and_has_no_orphans():
    found = plan(DEFINITION, CONVERGED)
    kinds = sorted((r["kind"], r["name"]) for r in found["owned"])
    assert kinds == [
        ("app", "oxy-api"),
        ("cloud firewall", "oxy-api-backend"),
        ("database cluster", "db-oxy"),
        ("database cluster", "db-valkey"),
        ("domain", "oxy.so"),
        ("droplet", "oxy-api-backend"),
    ]
    assert found["orphans"] == [] and found["replacements"] == [] and found["droplet_rename"] is None
    assert found["problems"] == []


def test_a_droplet_is_owned_by_its_tags_even_outside_the_project():
    mine = owned(DEFINITION, account(droplets=[droplet(5, "old-name", ["api", "oxy", "extra"])]))
    assert mine == [
        dict(
            kind="droplet",
            name="old-name",
            id="5",
            why="carries the definition's Droplet tags (api, oxy)",
            tags=["api", "oxy", "extra"],
        )
    ]


def test_a_renamed_droplet_is_renamed_in_place_not_orphaned():
    renamed = dict(DEFINITION, droplet=dict(DEFINITION["droplet"], name="oxy-api-backend-2"))
    found = plan(renamed, CONVERGED)
    assert found["droplet_rename"] == dict(id="1", old="oxy-api-backend", new="oxy-api-backend-2")
    assert found["orphans"] == []


def test_several_owned_droplets_make_a_rename_ambiguous():
    renamed = dict(DEFINITION, droplet=dict(DEFINITION["droplet"], name="new"))
    two = dict(CONVERGED, droplets=[*CONVERGED["droplets"], droplet(2, "spare", ["oxy", "api"])])
    found = plan(renamed, two)
    assert found["droplet_rename"] is None
    assert "oxy_droplet.name" in found["problems"][0] and "oxy-api-backend (id 1), spare (id 2)" in found["problems"][0]


def test_a_renamed_cluster_is_a_replacement_refused_unless_confirmed():
    renamed = dict(DEFINITION, clusters=[dict(DEFINITION["clusters"][0], name="db-oxy-2"), DEFINITION["clusters"][1]])
    found = plan(renamed, CONVERGED)
    assert found["replacements"] == [
        dict(
            kind="database cluster",
            name="db-oxy-2",
            path="oxy_mongodb.name",
            engine="mongodb",
            replaces=["db-oxy"],
            ids=["c1"],
            note="new empty cluster; db-oxy keeps the data",
        )
    ]
    assert found["orphans"] == []  # shown as the replacement, not twice
    (refusal,) = unconfirmed(found["replacements"], [])
    assert refusal.startswith("oxy_mongodb.name: database cluster 'db-oxy-2' is not in the account")
    assert "db-oxy' keeps the data" in refusal and '"oxy_confirm_replace": ["db-oxy"]' in refusal
    assert unconfirmed(found["replacements"], ["db-oxy"]) == []
    assert unconfirmed(found["replacements"], ["db-oxy-2"])  # the confirmation names what is replaced


def test_once_the_new_cluster_exists_the_old_one_is_an_orphan():
    renamed = dict(DEFINITION, clusters=[dict(DEFINITION["clusters"][0], name="db-oxy-2"), DEFINITION["clusters"][1]])
    after = dict(
        CONVERGED,
        clusters=[*CONVERGED["clusters"], cluster("c3", "db-oxy-2", "mongodb")],
        members=[*CONVERGED["members"], "do:dbaas:c3"],
    )
    found = plan(renamed, after)
    assert found["replacements"] == []
    assert [(o["kind"], o["name"], o["id"]) for o in found["orphans"]] == [("database cluster", "db-oxy", "c1")]
    assert found["orphans"][0]["why"] == "owned by project Oxy, not in the definition"


def test_a_cluster_of_another_engine_is_no_replacement():
    renamed = dict(DEFINITION, clusters=[dict(DEFINITION["clusters"][0], name="db-oxy-2"), DEFINITION["clusters"][1]])
    valkey_only = dict(CONVERGED, clusters=[c for c in CONVERGED["clusters"] if c["engine"] != "mongodb"])
    assert plan(renamed, valkey_only)["replacements"] == []


def test_what_the_definition_dropped_is_an_orphan_with_why():
    dropped = dict(DEFINITION, apps=[], domains=["OXY.so."], firewalls=[])
    orphans = {(o["kind"], o["name"]): o["why"] for o in plan(dropped, CONVERGED)["orphans"]}
    assert orphans == {
        ("app", "oxy-api"): "owned by project Oxy, not in the definition",
        ("cloud firewall", "oxy-api-backend"): (
            "attached to the environment's Droplet oxy-api-backend, not in the definition"
        ),
    }


def test_a_teardown_matches_no_renames_everything_unnamed_is_an_orphan():
    renamed = dict(DEFINITION, droplet=dict(DEFINITION["droplet"], name="gone"))
    renamed["clusters"] = [dict(DEFINITION["clusters"][0], name="gone-too"), DEFINITION["clusters"][1]]
    found = plan(renamed, CONVERGED, renames=False)
    assert found["droplet_rename"] is None and found["replacements"] == []
    assert sorted(o["name"] for o in found["orphans"]) == ["db-oxy", "oxy-api-backend"]


def test_no_project_owns_nothing_by_membership():
    found = plan(DEFINITION, dict(CONVERGED, members=[]))
    assert [(r["kind"], r["name"]) for r in found["owned"]] == [
        ("droplet", "oxy-api-backend"),
        ("cloud firewall", "oxy-api-backend"),
    ]
