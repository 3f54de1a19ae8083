"""Ownership held against the definition (module_utils/_identity.py): renames, replacements, orphans."""

from __future__ import annotations

from ansible_collections.oxy.infra.plugins.module_utils._identity import all_named, owned, plan, unconfirmed

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


def test_a_renamed_firewall_is_renamed_in_place_not_orphaned():
    renamed = dict(DEFINITION, firewalls=["oxy-perimeter"])
    found = plan(renamed, CONVERGED)
    assert found["firewall_rename"] == dict(id="f1", old="oxy-api-backend", new="oxy-perimeter")
    assert found["orphans"] == [] and found["problems"] == []
    # With the droplet renamed too: the firewall attached to the old droplet is still the environment's.
    both = dict(renamed, droplet=dict(DEFINITION["droplet"], name="oxy-api-backend-2"))
    found = plan(both, CONVERGED)
    assert found["firewall_rename"]["id"] == "f1" and found["droplet_rename"]["id"] == "1"
    assert found["orphans"] == []


def test_a_firewall_of_the_definitions_name_is_no_rename():
    # The definition's firewall exists (a plan after the rename): the other attached one is an orphan.
    extra = dict(CONVERGED, firewalls=[*CONVERGED["firewalls"], dict(id="f2", name="console-made", droplet_ids=[1])])
    found = plan(DEFINITION, extra)
    assert found["firewall_rename"] is None and found["problems"] == []
    assert [(o["kind"], o["name"]) for o in found["orphans"]] == [("cloud firewall", "console-made")]
    # A firewall attached to a Droplet the environment does not own is never taken for its own.
    elsewhere = dict(CONVERGED, firewalls=[dict(id="f9", name="x", droplet_ids=[9])])
    assert plan(dict(DEFINITION, firewalls=["new"]), elsewhere)["firewall_rename"] is None
    # Without the firewalls read (a teardown's or an old caller's account), nothing is matched.
    unread = {k: v for k, v in CONVERGED.items() if k != "firewalls"}
    assert plan(dict(DEFINITION, firewalls=["new"]), unread)["firewall_rename"] is None
    assert plan(dict(DEFINITION, firewalls=["new"]), CONVERGED, renames=False)["firewall_rename"] is None


def test_several_attached_firewalls_make_a_firewall_rename_ambiguous():
    extra = dict(CONVERGED, firewalls=[*CONVERGED["firewalls"], dict(id="f2", name="console-made", droplet_ids=[1])])
    found = plan(dict(DEFINITION, firewalls=["oxy-perimeter"]), extra)
    assert found["firewall_rename"] is None
    (problem,) = found["problems"]
    assert problem.startswith("oxy_droplet_firewall.name: no cloud firewall is named 'oxy-perimeter' and 2 others")
    assert "oxy-api-backend (id f1), console-made (id f2)" in problem
    assert "rename the right one to 'oxy-perimeter' in the console" in problem


def app(ident, name, db=None):
    envs = [dict(key="NODE_ENV", value="production")] + ([dict(key="DB_NAME", value=db)] if db else [])
    return dict(id=ident, spec=dict(name=name, envs=envs))


APPS = dict(
    CONVERGED,
    apps=[app("a1", "oxy-api", "oxy-prod"), app("a2", "alia-production", "alia-production"), app("a9", "not-ours")],
    members=[*CONVERGED["members"], "do:app:a2"],
)
WITH_ALIA = dict(DEFINITION, apps=["oxy-api", "alia-production"])


def test_a_renamed_app_is_renamed_in_place_not_orphaned():
    assert plan(WITH_ALIA, APPS)["app_renames"] == []
    renamed = dict(DEFINITION, apps=["oxy-api", "alia-prod"], app_databases={"alia-prod": "alia-production"})
    found = plan(renamed, APPS)
    assert found["app_renames"] == [dict(id="a2", old="alia-production", new="alia-prod")]
    assert found["orphans"] == [] and found["problems"] == []
    # Without a database to compare (an app without DB_NAME, or none given), the rename stands.
    assert plan(dict(renamed, app_databases={}), APPS)["app_renames"][0]["id"] == "a2"


def test_an_app_rename_that_would_change_its_database_is_refused():
    renamed = dict(DEFINITION, apps=["oxy-api", "alia-prod"], app_databases={"alia-prod": "alia-prod"})
    found = plan(renamed, APPS)
    assert found["app_renames"] == []
    (problem,) = found["problems"]
    assert problem.startswith(
        "oxy_apps[1].name: renaming app 'alia-production' (id a2) to 'alia-prod' would move it from its MongoDB "
        "database 'alia-production' to 'alia-prod', a new empty one. Nothing was changed."
    )
    assert problem.endswith(
        "To keep its data, set oxy_apps[1].database: alia-production (the database keeps its name)."
    )


def test_an_app_missing_without_an_unnamed_one_is_a_create_and_vice_versa_an_orphan():
    new_app = dict(WITH_ALIA, apps=["oxy-api", "alia-production", "brand-new"])
    found = plan(new_app, APPS)
    assert found["app_renames"] == [] and found["problems"] == [] and found["orphans"] == []
    dropped = plan(dict(DEFINITION, apps=["oxy-api"]), APPS)
    assert dropped["app_renames"] == [] and [o["name"] for o in dropped["orphans"]] == ["alia-production"]
    # An app outside the project is never taken for a renamed one; without the apps read, nothing is matched.
    outside = dict(APPS, members=CONVERGED["members"])
    assert plan(dict(DEFINITION, apps=["oxy-api", "alia-prod"]), outside)["app_renames"] == []
    unread = {k: v for k, v in APPS.items() if k != "apps"}
    assert plan(dict(DEFINITION, apps=["oxy-api", "alia-prod"]), unread)["app_renames"] == []


def test_several_missing_or_unnamed_apps_make_an_app_rename_ambiguous():
    two_missing = plan(dict(DEFINITION, apps=["oxy-api", "alia-prod", "mention-prod"]), APPS)
    (problem,) = two_missing["problems"]
    assert problem.startswith(
        "oxy_apps[1].name, oxy_apps[2].name: apps 'alia-prod', 'mention-prod' are not in the account, and the "
        "environment owns 1 app the definition does not name (alia-production (id a2))"
    )
    assert "Rename each app to its new name in the console" in problem and "from project Oxy" in problem
    assert two_missing["app_renames"] == []
    two_unnamed = dict(APPS, apps=[*APPS["apps"], app("a3", "mention")], members=[*APPS["members"], "do:app:a3"])
    (problem,) = plan(dict(DEFINITION, apps=["oxy-api", "alia-prod"]), two_unnamed)["problems"]
    assert problem.startswith(
        "oxy_apps[1].name: app 'alia-prod' is not in the account, and the environment owns 2 apps"
    )
    assert "alia-production (id a2), mention (id a3)" in problem


def _decisions(found):
    return {k: found[k] for k in ("droplet_rename", "firewall_rename", "app_renames", "replacements", "problems")}


def test_with_every_name_in_the_account_the_members_cannot_change_a_decision():
    """all_named: a pre-flight need not read the project when every name of the definition is in the account."""
    stray = dict(
        CONVERGED,
        droplets=CONVERGED["droplets"] + [droplet(2, "stray", ["oxy", "api"])],
        clusters=CONVERGED["clusters"] + [cluster("c3", "db-old", "mongodb")],
        apps=CONVERGED["apps"] + [dict(id="a2", spec=dict(name="old-app"))],
        firewalls=CONVERGED["firewalls"] + [dict(id="f2", name="old-fw", droplet_ids=[1])],
        members=CONVERGED["members"] + ["do:droplet:2", "do:dbaas:c3", "do:app:a2"],
    )
    for case in (CONVERGED, stray):
        assert all_named(DEFINITION, case)
        without = dict(case, members=[])
        assert _decisions(plan(DEFINITION, without)) == _decisions(plan(DEFINITION, case))
        assert _decisions(plan(DEFINITION, case))["replacements"] == []


def test_a_name_the_account_lacks_needs_the_project_read():
    renamed = [
        dict(DEFINITION, droplet=dict(DEFINITION["droplet"], name="oxy-api-2")),
        dict(DEFINITION, firewalls=["oxy-api-2"]),
        dict(DEFINITION, apps=["oxy-api", "oxy-api-2"]),
        dict(DEFINITION, clusters=[dict(name="db-oxy-2", engine="mongodb", path="oxy_mongodb.name")]),
    ]
    for definition in renamed:
        assert not all_named(definition, CONVERGED), definition
    # Firewalls and apps count only when they were read, as in plan().
    unread = {k: v for k, v in CONVERGED.items() if k not in ("firewalls", "apps")}
    assert all_named(dict(DEFINITION, firewalls=["oxy-api-2"], apps=["oxy-api-2"]), unread)
    # A rename the members decide: the renamed droplet is found only through the project.
    definition = dict(DEFINITION, droplet=dict(DEFINITION["droplet"], name="oxy-api-2", tags=["new"]))
    assert plan(definition, CONVERGED)["droplet_rename"] == {"id": "1", "old": "oxy-api-backend", "new": "oxy-api-2"}
    assert plan(definition, dict(CONVERGED, members=[]))["droplet_rename"] is None


MONITORED = dict(
    CONVERGED,
    apps=[
        dict(id="a1", spec=dict(name="oxy-api", domains=[dict(domain="app.oxy.example")])),
        dict(id="a9", spec=dict(name="not-ours", domains=[dict(domain="theirs.example")])),
    ],
    checks=[
        dict(id="k1", name="api.oxy.so", target="https://api.oxy.so"),
        dict(id="k2", name="mail.oxy.so", target="mail.oxy.so"),
        dict(id="k3", name="app.oxy.example", target="https://app.oxy.example/health"),
        dict(id="k4", name="old.oxy.so", target="https://old.oxy.so:8443/"),
        dict(id="k9", name="theirs", target="https://theirs.example"),
        dict(id="k8", name="lookalike", target="https://notoxy.so"),
    ],
    policies=[
        dict(uuid="p1", description="droplets tagged oxy,api cpu", tags=["api", "oxy"], entities=[]),
        dict(uuid="p2", description="db-oxy cpu_alerts", tags=[], entities=["c1"]),
        dict(uuid="p3", description="db-old cpu_alerts", tags=[], entities=["c1"]),
        dict(uuid="p4", description="the droplet by id", tags=[], entities=["1"]),
        dict(uuid="p9", description="someone's", tags=["web"], entities=["9", "c9"]),
    ],
)
MONITORING = dict(
    DEFINITION,
    uptime_checks=["api.oxy.so", "mail.oxy.so", "app.oxy.example"],
    alert_policies=["droplets tagged oxy,api cpu", "db-oxy cpu_alerts", "the droplet by id"],
)


def test_monitoring_is_owned_through_what_it_watches():
    mine = [
        (r["kind"], r["name"], r["why"])
        for r in owned(MONITORING, MONITORED)
        if r["kind"] in ("uptime check", "alert policy")
    ]
    assert mine == [
        ("uptime check", "api.oxy.so", "watches api.oxy.so"),
        ("uptime check", "mail.oxy.so", "watches mail.oxy.so"),
        ("uptime check", "app.oxy.example", "watches app.oxy.example"),
        ("uptime check", "old.oxy.so", "watches old.oxy.so"),
        ("alert policy", "droplets tagged oxy,api cpu", "watches the Droplets tagged api, oxy"),
        ("alert policy", "db-oxy cpu_alerts", "watches db-oxy"),
        ("alert policy", "db-old cpu_alerts", "watches db-oxy"),
        ("alert policy", "the droplet by id", "watches oxy-api-backend"),
    ]


def test_monitoring_the_definition_does_not_name_is_an_orphan():
    orphans = [(r["kind"], r["name"], r["id"]) for r in plan(MONITORING, MONITORED)["orphans"]]
    assert orphans == [("uptime check", "old.oxy.so", "k4"), ("alert policy", "db-old cpu_alerts", "p3")]
    # A teardown, once the definition's own resources are gone: every owned check and policy is an orphan.
    gone = plan(dict(MONITORING, uptime_checks=[], alert_policies=[]), MONITORED, renames=False)["orphans"]
    assert sorted(r["id"] for r in gone if r["kind"] in ("uptime check", "alert policy")) == [
        "k1",
        "k2",
        "k3",
        "k4",
        "p1",
        "p2",
        "p3",
        "p4",
    ]
