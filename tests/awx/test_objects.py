"""awx/oxy.yml, the AWX objects as code: read with awxkit's own loader (what `awx import` uses), every
object checked against the fields AWX's API takes, and every name it uses checked against the project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

awxkit_api = pytest.importorskip("awxkit.api.pages", reason="awxkit is not installed (requirements.txt pins it)")
from awxkit import yaml_file  # noqa: E402
from awxkit.api.pages.api import EXPORTABLE_RESOURCES  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "awx/oxy.yml"

# What POST /api/v2/<resource>/ takes (AWX's API, OPTIONS on each list endpoint), which is what
# `awx import` sends; anything else in the file would be dropped silently.
FIELDS = {
    "organizations": {"name", "description", "max_hosts", "custom_virtualenv", "default_environment"},
    "execution_environments": {"name", "description", "organization", "image", "managed", "credential", "pull"},
    "credential_types": {"name", "description", "kind", "inputs", "injectors"},
    "credentials": {"name", "description", "organization", "credential_type", "inputs", "user", "team"},
    "notification_templates": {
        "name",
        "description",
        "organization",
        "notification_type",
        "notification_configuration",
        "messages",
    },
    "projects": {
        "name",
        "description",
        "local_path",
        "scm_type",
        "scm_url",
        "scm_branch",
        "scm_refspec",
        "scm_clean",
        "scm_track_submodules",
        "scm_delete_on_update",
        "credential",
        "timeout",
        "organization",
        "scm_update_on_launch",
        "scm_update_cache_timeout",
        "allow_override",
        "default_environment",
        "signature_validation_credential",
    },
    "inventory": {
        "name",
        "description",
        "organization",
        "kind",
        "host_filter",
        "variables",
        "prevent_instance_group_fallback",
    },
    "inventory_sources": {
        "name",
        "description",
        "source",
        "source_path",
        "source_vars",
        "scm_branch",
        "credential",
        "enabled_var",
        "enabled_value",
        "host_filter",
        "overwrite",
        "overwrite_vars",
        "custom_virtualenv",
        "timeout",
        "verbosity",
        "limit",
        "execution_environment",
        "inventory",
        "update_on_launch",
        "update_cache_timeout",
        "source_project",
    },
    "job_templates": {
        "name",
        "description",
        "job_type",
        "inventory",
        "project",
        "playbook",
        "scm_branch",
        "forks",
        "limit",
        "verbosity",
        "extra_vars",
        "job_tags",
        "force_handlers",
        "skip_tags",
        "start_at_task",
        "timeout",
        "use_fact_cache",
        "execution_environment",
        "host_config_key",
        "ask_scm_branch_on_launch",
        "ask_diff_mode_on_launch",
        "ask_variables_on_launch",
        "ask_limit_on_launch",
        "ask_tags_on_launch",
        "ask_skip_tags_on_launch",
        "ask_job_type_on_launch",
        "ask_verbosity_on_launch",
        "ask_inventory_on_launch",
        "ask_credential_on_launch",
        "ask_execution_environment_on_launch",
        "ask_labels_on_launch",
        "ask_forks_on_launch",
        "ask_job_slice_count_on_launch",
        "ask_timeout_on_launch",
        "ask_instance_groups_on_launch",
        "survey_enabled",
        "become_enabled",
        "diff_mode",
        "allow_simultaneous",
        "custom_virtualenv",
        "job_slice_count",
        "webhook_service",
        "webhook_credential",
        "prevent_instance_group_fallback",
    },
    "workflow_job_templates": {
        "name",
        "description",
        "extra_vars",
        "organization",
        "survey_enabled",
        "allow_simultaneous",
        "ask_variables_on_launch",
        "inventory",
        "limit",
        "scm_branch",
        "ask_inventory_on_launch",
        "ask_scm_branch_on_launch",
        "ask_limit_on_launch",
        "webhook_service",
        "webhook_credential",
        "ask_labels_on_launch",
        "ask_skip_tags_on_launch",
        "ask_tags_on_launch",
        "skip_tags",
        "job_tags",
    },
    "schedules": {"name", "description", "rrule", "enabled", "unified_job_template", "extra_data", "inventory"},
    "workflow_nodes": {
        "extra_data",
        "inventory",
        "scm_branch",
        "job_type",
        "job_tags",
        "skip_tags",
        "limit",
        "diff_mode",
        "verbosity",
        "execution_environment",
        "forks",
        "job_slice_count",
        "timeout",
        "unified_job_template",
        "all_parents_must_converge",
        "identifier",
    },
}
PAGE = {
    "organizations": "Organization",
    "execution_environments": "ExecutionEnvironment",
    "credential_types": "CredentialType",
    "credentials": "Credential",
    "notification_templates": "NotificationTemplate",
    "projects": "Project",
    "inventory": "Inventory",
    "inventory_sources": "InventorySource",
    "job_templates": "JobTemplate",
    "workflow_job_templates": "WorkflowJobTemplate",
    "schedules": "Schedule",
    "workflow_nodes": "WorkflowJobTemplateNode",
}
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
MANAGED = [{"name": "Machine", "kind": "ssh", "type": "credential_type"}]  # AWX ships it
KEY_TYPES = {
    "organization",
    "execution_environment",
    "credential_type",
    "credential",
    "notification_template",
    "project",
    "inventory",
    "inventory_source",
    "job_template",
    "workflow_job_template",
    "workflow_job_template_node",
    "schedule",
}
VARIABLES = {"OXY_AWX_EE_IMAGE", "OXY_AWX_NOTIFY_URL"}


@pytest.fixture(scope="module")
def assets() -> dict:
    with AWX.open() as stream:
        return yaml.load(stream, Loader=yaml_file.Loader)  # awxkit's loader: a SafeLoader with !include


def every(assets):
    """(resource, asset) for every object, nested schedules and workflow nodes included."""
    for resource, items in assets.items():
        for asset in items:
            yield resource, asset
            yield from (("schedules", s) for s in asset.get("related", {}).get("schedules", []))
            yield from (("workflow_nodes", n) for n in asset.get("related", {}).get("workflow_nodes", []))


def project_text() -> str:
    paths = [ROOT / "site.yml", *ROOT.glob("playbooks/**/*.yml"), *ROOT.glob("inventory/**/*.yml")]
    paths += (ROOT / "collections/ansible_collections/oxy/infra/roles").glob("**/*.yml")
    return "\n".join(p.read_text() for p in paths)


def test_only_what_awx_import_reads(assets):
    assert set(assets) <= set(EXPORTABLE_RESOURCES)


def test_every_object_has_awxkits_natural_key_and_only_fields_awx_takes(assets):
    for resource, asset in every(assets):
        page = getattr(awxkit_api, PAGE[resource])
        key = asset["natural_key"]
        assert set(key) == {*page.NATURAL_KEY, "type"}, (resource, key)
        for field in page.NATURAL_KEY:
            assert key[field] == asset.get(field, key[field]), (resource, field)
        unknown = set(asset) - FIELDS[resource] - {"natural_key", "related"}
        assert not unknown, (resource, asset.get("name") or asset.get("identifier"), unknown)


def test_every_reference_is_an_object_of_the_file_or_of_awx(assets):
    defined = [asset["natural_key"] for _, asset in every(assets)] + MANAGED

    def references(value):
        if isinstance(value, dict):
            if value.get("type") in KEY_TYPES:
                yield value
            else:
                for inner in value.values():
                    yield from references(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from references(inner)

    for resource, asset in every(assets):
        body = {k: v for k, v in asset.items() if k != "natural_key"}
        related = body.pop("related", {})
        nested = {k: v for k, v in related.items() if k not in ("schedules", "workflow_nodes", "survey_spec")}
        for ref in [*references(body), *references(nested)]:
            assert ref in defined, (resource, ref)


def by_name(assets, resource):
    return {asset["name"]: asset for asset in assets[resource]}


def test_the_credential_type_injects_what_the_modules_read(assets):
    kind = by_name(assets, "credential_types")["DigitalOcean API"]
    fields = {f["id"]: f for f in kind["inputs"]["fields"]}
    assert fields["token"]["secret"] is True
    assert set(kind["injectors"]["env"]) == {"DIGITALOCEAN_TOKEN", "DIGITALOCEAN_API_URL", "DIGITALOCEAN_CA_BUNDLE"}
    assert "tower.filename.ca_bundle" in kind["injectors"]["env"]["DIGITALOCEAN_CA_BUNDLE"]
    assert set(kind["injectors"]["file"]) == {"template.ca_bundle"}
    client = (ROOT / "collections/ansible_collections/oxy/infra/plugins/module_utils/_api.py").read_text()
    for variable in kind["injectors"]["env"]:
        assert f'"{variable}"' in client, variable
    # Every template names only the type's fields (AWX refuses others).
    for template in [*kind["injectors"]["env"].values(), *kind["injectors"]["file"].values()]:
        names = set(re.findall(r"\b([a-z_]+)\b", re.sub(r"'[^']*'", "", template))) - {"default", "true", "if", "else"}
        assert names <= {*fields, "tower", "filename"}, template


def test_credentials_hold_no_secret(assets):
    for credential in assets["credentials"]:
        assert set(credential["inputs"]) <= {"api_url", "username"}, credential["name"]


def test_playbooks_and_inventories_named_exist(assets):
    for template in assets["job_templates"]:
        assert (ROOT / template["playbook"]).is_file(), template["name"]
    for source in assets["inventory_sources"]:
        assert (ROOT / source["source_path"] / "hosts.yml").is_file(), source["name"]
    assert {s["source_path"] for s in assets["inventory_sources"]} == {"inventory/production", "inventory/sandbox"}


def test_the_job_templates_run_as_the_issue_says(assets):
    templates = by_name(assets, "job_templates")
    shape = {
        name: (t["playbook"], t["job_type"], t.get("diff_mode"), t.get("job_tags", "")) for name, t in templates.items()
    }
    assert shape == {
        "Oxy plan": ("site.yml", "check", True, ""),
        "Oxy apply": ("site.yml", "run", True, ""),
        "Oxy verify": ("site.yml", "run", False, "verify"),
        "Oxy rotate credentials": ("site.yml", "run", True, ""),
        "Oxy drift report": ("playbooks/drift.yml", "check", True, ""),
        "Oxy teardown": ("playbooks/teardown.yml", "run", True, ""),
    }
    schedule = templates["Oxy drift report"]["related"]["schedules"][0]
    # AWX's form: DTSTART with a time zone, one space, one RRULE.
    assert re.fullmatch(r"DTSTART;TZID=[\w/]+:\d{8}T\d{6} RRULE:FREQ=DAILY;INTERVAL=1", schedule["rrule"])


def test_every_survey_variable_is_read_by_the_playbooks(assets):
    text = project_text()
    for template in assets["job_templates"]:
        survey = template["related"].get("survey_spec")
        assert bool(survey) == template.get("survey_enabled", False), template["name"]
        for question in (survey or {}).get("spec", []):
            assert question["type"] in SURVEY_TYPES
            assert re.search(rf"\b{question['variable']}\b", text), question["variable"]


def test_the_extra_vars_playbooks_require_come_from_a_survey(assets):
    templates = by_name(assets, "job_templates")
    teardown = templates["Oxy teardown"]["related"]["survey_spec"]["spec"]
    assert [(q["variable"], q["required"]) for q in teardown] == [
        ("oxy_teardown_confirm", True),
        ("oxy_teardown_orphans", False),
    ]
    assert "oxy_teardown_confirm" in (ROOT / "playbooks/teardown.yml").read_text()
    assert "oxy_teardown_orphans | default(false) | bool" in (ROOT / "playbooks/tasks/teardown_orphans.yml").read_text()
    rotate = templates["Oxy rotate credentials"]["related"]["survey_spec"]["spec"][0]
    oxy = yaml.safe_load((ROOT / "inventory/production/group_vars/all/oxy.yml").read_text())
    assert rotate["variable"] == "oxy_rotate_credentials" and rotate["type"] == "multiselect"
    assert set(rotate["choices"]) == {app["app"] for app in oxy["oxy_apps"]} | {"valkey", "all"}
    # The apply's confirmations offer exactly the definition's clusters, and may be left empty.
    confirm = templates["Oxy apply"]["related"]["survey_spec"]["spec"]
    assert [q["variable"] for q in confirm] == ["oxy_confirm_replace", "oxy_confirm_upgrade"]
    for question in confirm:
        assert question["choices"] == [oxy["oxy_mongodb"]["name"], oxy["oxy_valkey"]["name"]], question
        assert question["type"] == "multiselect" and not question["required"], question


def test_the_workflow_plans_waits_for_approval_applies_verifies_and_notifies_failures(assets):
    workflow = assets["workflow_job_templates"][0]
    nodes = {n["identifier"]: n for n in workflow["related"]["workflow_nodes"]}
    order, node = [], nodes["plan"]
    while node:
        order.append(node.get("unified_job_template", {}).get("name") or "approval")
        following = node["related"]["success_nodes"]
        node = nodes[following[0]["identifier"]] if following else None
    assert order == ["Oxy plan", "approval", "Oxy apply", "Oxy verify"]
    assert nodes["approve"]["related"]["create_approval_template"]["timeout"] > 0
    notify = workflow["related"]["notification_templates_error"]
    assert [n["name"] for n in notify] == ["Oxy failures"]
    assert (
        by_name(assets, "notification_templates")["Oxy failures"]["notification_configuration"]["url"]
        == "${OXY_AWX_NOTIFY_URL}"
    )


def test_the_variables_are_the_ones_the_import_command_substitutes():
    text = AWX.read_text()
    assert set(re.findall(r"\$\{(\w+)\}", text)) == VARIABLES
    readme = (ROOT / "awx/README.md").read_text()
    command = "envsubst '$OXY_AWX_EE_IMAGE $OXY_AWX_NOTIFY_URL' < awx/oxy.yml | awx -f yaml import"
    assert command in readme and command in text
