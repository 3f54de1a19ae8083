"""The DigitalOcean modules run inside the controller (plugins/action, plugins/plugin_utils/_controller.py):
same results as a module process, Ansible's own validation, no_log, check mode, diff, module_defaults,
delegate_to another host. The run's read cache has its own tests: test_read_cache.py."""

from __future__ import annotations

import json
import textwrap

from tests.fixtures.playbooks import ROOT, ansible_playbook

MODULE_PROCESS = ("-e", "oxy_infra_in_controller=false")


def playbook(tmp_path, tasks: str, name: str = "play.yml", hosts: str = "localhost") -> str:
    path = tmp_path / name
    path.write_text(
        f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n" + textwrap.indent(textwrap.dedent(tasks), "    ")
    )
    return str(path)


def results(tmp_path, name: str) -> dict:
    return json.loads((tmp_path / name).read_text())


def gets(sandbox, since: int, path: str) -> int:
    return sum(1 for e in sandbox.log(since) if e["method"] == "GET" and e["path"].split("?")[0] == path)


def test_same_results_as_a_module_process(sandbox, tmp_path):
    """Each way creates in check mode, creates, then finds nothing to change: identical results, minus ids."""
    tasks = """
    - name: VPC, planned
      oxy.infra.vpc: {name: "{{ vpc }}", region: ams3, description: first}
      check_mode: true
      diff: true
      register: planned
    - name: VPC, created
      oxy.infra.vpc: {name: "{{ vpc }}", region: ams3, description: first}
      diff: true
      register: created
    - name: VPC, again
      oxy.infra.vpc: {name: "{{ vpc }}", region: ams3, description: first}
      register: again
    - name: Not a CIDR range, refused before any write
      oxy.infra.vpc: {name: "{{ vpc }}-x", region: ams3, ip_range: nonsense}
      register: refused
      ignore_errors: true
    - name: An option the module does not have
      oxy.infra.vpc: {name: "{{ vpc }}", colour: blue}
      register: unknown
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ {'planned': planned, 'created': created, 'again': again, 'refused': refused,
                      'unknown': unknown} | to_json }}"
        dest: "{{ out }}"
    """
    path = playbook(tmp_path, tasks)
    seen = {}
    for way, extra in (("controller", ()), ("module", MODULE_PROCESS)):
        mark = sandbox.summary()["last_seq"]
        run = ansible_playbook(
            sandbox, path, "-vvv", "-e", f"vpc=parity-{way}", "-e", f"out={tmp_path / way}.json", *extra
        )
        assert run.rc == 0, run.out
        if way == "controller":
            assert "oxy.infra.vpc: running in the controller" in run.out
        else:
            assert "oxy.infra.vpc: running a module process (oxy_infra_in_controller is false)" in run.out
        # Neither writes a module file: in the controller there is none, and the module process is pipelined
        # (ansible.cfg sets pipelining under [connection], which the local connection reads too).
        assert "AnsiballZ_vpc.py" not in run.out
        # The refused and unknown tasks wrote nothing: one create, nothing else.
        writes = [e for e in sandbox.log(mark) if e["method"] not in ("GET", "HEAD")]
        assert [(e["method"], e["path"]) for e in writes] == [("POST", "/v2/vpcs")]
        seen[way] = results(tmp_path, f"{way}.json")

    def comparable(result, way: str):
        """Without what differs between two VPCs: ids, times, ranges, and which one is the region's default."""
        if isinstance(result, dict):
            return {
                k: comparable(v, way)
                for k, v in result.items()
                if k not in ("id", "urn", "created_at", "ip_range", "default")
            }
        if isinstance(result, list):
            return [comparable(v, way) for v in result]
        return result.replace(f"parity-{way}", "NAME") if isinstance(result, str) else result

    for step in ("planned", "created", "again", "refused", "unknown"):
        assert comparable(seen["controller"][step], "controller") == comparable(seen["module"][step], "module"), step
    assert seen["controller"]["planned"]["changed"] and seen["controller"]["created"]["changed"]
    assert not seen["controller"]["again"]["changed"]
    assert seen["controller"]["created"]["diff"]["before"] == {}
    assert seen["controller"]["refused"]["msg"] == "ip_range: 'nonsense' is not a CIDR range"
    assert "Unsupported parameters for (oxy.infra.vpc) module: colour" in seen["controller"]["unknown"]["msg"]


def test_validation_no_log_and_module_defaults(sandbox, tmp_path):
    """Ansible's validation messages; the token reaches the module through module_defaults and never the output."""
    token = sandbox.mint("vpc:read", "vpc:create")
    tasks = """
    - name: A number that is not one
      oxy.infra.vpc: {name: v, region: ams3, retries: many}
      register: typed
      ignore_errors: true
    - name: The token from module_defaults, masked wherever it appears
      oxy.infra.vpc_info: {name: "{{ secret_token }}"}
      register: listed
    - ansible.builtin.copy: {content: "{{ {'typed': typed, 'listed': listed} | to_json }}", dest: "{{ out }}"}
    """
    path = tmp_path / "defaults.yml"
    path.write_text(
        textwrap.dedent(
            """\
            - hosts: localhost
              gather_facts: false
              module_defaults:
                group/oxy.infra.digitalocean:
                  token: "{{ secret_token }}"
            """
        )
        + "  tasks:\n"
        + textwrap.indent(textwrap.dedent(tasks), "    ")
    )
    run = ansible_playbook(
        sandbox,
        str(path),
        "-vvv",
        "-e",
        f"secret_token={token}",
        "-e",
        f"out={tmp_path / 'out.json'}",
        env={"DIGITALOCEAN_TOKEN": "not-the-token"},
    )
    assert run.rc == 0, run.out
    found = results(tmp_path, "out.json")
    assert "retries" in found["typed"]["msg"] and "int" in found["typed"]["msg"]
    assert found["listed"]["vpcs"] == []
    # The environment's token is not one the sandbox knows: the read worked with module_defaults' token.
    assert token not in run.out
    assert token not in json.dumps(found)
    # -vvv shows the module's arguments: the token masked, and masked where another option holds it.
    assert "token: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.out
    assert "name: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.out


def test_delegating_to_another_host_runs_a_module_process_there(sandbox, tmp_path):
    """delegate_to a host that is not the controller: the module is sent there (here: refused at once)."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    localhost: {ansible_connection: local}\n"
        "    elsewhere: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_connection: ssh}\n"
    )
    path = playbook(tmp_path, "- oxy.infra.vpc_info: {}\n  delegate_to: elsewhere\n")
    mark = sandbox.summary()["last_seq"]
    run = ansible_playbook(sandbox, path, "-vvv", inventory=str(inventory))
    assert run.rc != 0
    assert "running a module process (the task runs on another host (connection ssh))" in run.out
    assert "UNREACHABLE" in run.out
    assert sandbox.log(mark) == []


def test_retries_a_module_process_and_dates_go_past_the_cache(sandbox, tmp_path):
    """until: reads afresh each attempt; a module process's write empties the cache; YAML dates reach the module
    as a module process gets them (ISO strings), so a free-form spec holding one is idempotent."""
    tasks = """
    - oxy.infra.vpc_info: {}
    - oxy.infra.vpc_info: {}
      register: found
      until: found.attempts | default(1) >= 2
      retries: 2
      delay: 0
    - name: Created by a module process
      oxy.infra.vpc: {name: cache-b, region: ams3}
      vars: {oxy_infra_in_controller: false}
    - oxy.infra.vpc_info: {name: cache-b}
      register: seen
    - ansible.builtin.assert:
        that: seen.vpcs | length == 1
    - &dated
      oxy.infra.app:
        name: dated-app
        region: nyc
        spec:
          services: [{name: web, image: {registry_type: DOCR, repository: mention, tag: 1.0.0}}]
          envs: [{key: RELEASED, value: 2024-01-01, scope: RUN_TIME}]
      register: first
    - <<: *dated
      register: second
    - ansible.builtin.assert:
        that:
          - first is changed and second is not changed
          - second.app.spec.envs | selectattr('key', 'equalto', 'RELEASED') | map(attribute='value') | first
            == '2024-01-01'
    """
    mark = sandbox.summary()["last_seq"]
    run = ansible_playbook(sandbox, playbook(tmp_path, tasks))
    assert run.rc == 0, run.out
    vpc_reads = [e for e in sandbox.log(mark) if e["path"].split("?")[0] == "/v2/vpcs"]
    # One read, two attempts that read afresh, the module process's lookup and create, the read after it.
    assert [e["method"] for e in vpc_reads] == ["GET", "GET", "GET", "GET", "POST", "GET"], vpc_reads


def test_the_action_plugins_cover_every_digitalocean_module():
    import yaml

    collection = ROOT / "collections/ansible_collections/oxy/infra"
    group = set(yaml.safe_load((collection / "meta/runtime.yml").read_text())["action_groups"]["digitalocean"])
    actions = {p.stem for p in (collection / "plugins/action").glob("*.py")}
    assert actions == group
