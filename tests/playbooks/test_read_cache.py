"""The run's read cache never acts on a stale read (plugins/plugin_utils/_read_cache.py holds the rule).

Each test reproduces one way a read cache goes stale and shows what the run does instead: a change made by
another client between two tasks is seen (and undone only where the definition says so), under the linear
and free strategies, with serial and in a handler; a task retried with ``retries:`` alone recovers; a read
made with the cache off refreshes it; an async module process holds it until its time limit; waits poll
past it; lookups are shared and expire.
"""

from __future__ import annotations

import json
import textwrap
import threading
import time

import pytest
import yaml

from tests.fixtures.playbooks import ansible_playbook

API = "{{ lookup('env', 'DIGITALOCEAN_API_URL') }}"


def another_client(name: str, path: str, body) -> dict:
    """A task that writes through ansible.builtin.uri, as the console or a second run would: the cache never sees it."""
    return {
        "name": name,
        "ansible.builtin.uri": {
            "url": API + path,
            "method": "PUT",
            "headers": {"Authorization": "Bearer {{ lookup('env', 'DIGITALOCEAN_TOKEN') }}"},
            "ca_path": "{{ lookup('env', 'DIGITALOCEAN_CA_BUNDLE') or omit }}",
            "body_format": "json",
            "body": body,
            "status_code": [200, 204],
        },
        "changed_when": True,  # it wrote (and a handler may listen)
    }


def write(tmp_path, name: str, plays) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(plays) if isinstance(plays, str) else yaml.safe_dump(plays, sort_keys=False))
    return str(path)


def inventory(tmp_path, hosts=("localhost",)) -> str:
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts_yaml = {"all": {"hosts": {h: local for h in hosts}}}
    return write(tmp_path, "hosts.yml", hosts_yaml)


def calls(sandbox, since: int) -> list[tuple[str, str]]:
    return [(e["method"], e["path"].split("?")[0]) for e in sandbox.log(since)]


CLUSTER = {"engine": "valkey", "version": "8", "size": "db-s-1vcpu-1gb", "num_nodes": 1, "region": "ams3"}


def firewall_play(play_keywords: dict, in_a_handler: bool) -> list[dict]:
    """Trusted sources defined, settled, changed by another client, then the definition again."""
    defined = {"cluster": "{{ cluster }}", "ip_addresses": ["10.0.0.1"]}
    extra = another_client(
        "Another client trusts one more address, between two tasks of this run",
        "/v2/databases/{{ created.database.id }}/firewall",
        {"rules": [{"type": "ip_addr", "value": "10.0.0.1"}, {"type": "ip_addr", "value": "10.0.0.2"}]},
    )
    restore = [
        {"name": "The definition again", "oxy.infra.database_firewall": defined, "register": "restored"},
        {
            "name": "Keep what was seen",
            "ansible.builtin.copy": {
                "content": "{{ {'settled': settled, 'restored': restored} | to_json }}",
                "dest": "{{ out }}/{{ inventory_hostname }}.json",
            },
        },
    ]
    play = {
        "hosts": "all",
        "gather_facts": False,
        **play_keywords,
        "vars": {"cluster": "cache-{{ inventory_hostname }}"},
        "tasks": [
            {"oxy.infra.database_cluster": {"name": "{{ cluster }}", **CLUSTER}, "register": "created"},
            {"name": "The trusted sources as defined", "oxy.infra.database_firewall": defined},
            {"name": "Nothing to change", "oxy.infra.database_firewall": defined, "register": "settled"},
            extra,
        ],
    }
    if in_a_handler:
        extra["notify"] = "another client wrote"
        play["handlers"] = [dict(task, listen="another client wrote") for task in restore]
    else:
        play["tasks"] += restore
    return [play]


@pytest.mark.parametrize(
    ("hosts", "play_keywords", "in_a_handler"),
    [
        (("localhost",), {}, False),
        (("one", "two"), {"strategy": "free"}, False),
        (("one", "two"), {"serial": 1}, False),
        (("localhost",), {}, True),
    ],
    ids=["linear", "free", "serial", "handler"],
)
def test_a_change_by_another_client_between_two_tasks_is_seen(sandbox, tmp_path, hosts, play_keywords, in_a_handler):
    """The definition is the exact list of trusted sources: the run sees the extra one and removes it."""
    out = tmp_path / "out"
    out.mkdir()
    path = write(tmp_path, "firewall.yml", firewall_play(play_keywords, in_a_handler))
    run = ansible_playbook(sandbox, path, "-e", f"out={out}", inventory=inventory(tmp_path, hosts))
    assert run.rc == 0, run.out
    for host in hosts:
        seen = json.loads((out / f"{host}.json").read_text())
        assert not seen["settled"]["changed"]
        assert seen["restored"]["changed"], f"{host}: the run answered the restore with an earlier task's read"
        assert seen["restored"]["diff"]["before"]["rules"] == ["ip_addr:10.0.0.1", "ip_addr:10.0.0.2"]
        assert [r["value"] for r in seen["restored"]["rules"]] == ["10.0.0.1"]


def test_what_the_definition_leaves_alone_is_not_undone(sandbox, tmp_path):
    """An app's secrets are delivered onto its spec as it is now: a variable another client added stays."""
    image = {"registry_type": "DOCR", "repository": "mention", "tag": "1.0.0"}
    added = "{{ created.app.spec | combine({'envs': [{'key': 'FROM_CONSOLE', 'value': 'on', 'scope': 'RUN_TIME'}]}) }}"
    tasks = [
        {
            "name": "The app",
            "oxy.infra.app": {
                "name": "cache-spec",
                "region": "nyc",
                "spec": {"services": [{"name": "web", "image": image}]},
            },
            "register": "created",
        },
        {"name": "Deliver nothing yet", "oxy.infra.app": {"name": "cache-spec", "secret_envs": {"API_KEY": "k-1"}}},
        another_client("Another client adds a variable", "/v2/apps/{{ created.app.id }}", {"spec": added}),
        {
            "name": "Deliver a new secret, keeping the app's spec as it is now",
            "oxy.infra.app": {"name": "cache-spec", "secret_envs": {"API_KEY": "k-2"}},
            "register": "delivered",
        },
        {"oxy.infra.app_info": {"name": "cache-spec"}, "register": "after"},
        {
            "ansible.builtin.assert": {
                "that": [
                    "delivered is changed",
                    "'FROM_CONSOLE' in (after.apps[0].spec.envs | map(attribute='key'))",
                    "'API_KEY' in (after.apps[0].spec.envs | map(attribute='key'))",
                ]
            }
        },
    ]
    run = ansible_playbook(
        sandbox, write(tmp_path, "spec.yml", [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])
    )
    assert run.rc == 0, run.out


def test_retries_without_until_read_afresh(sandbox, tmp_path):
    """``retries:`` alone retries until the task succeeds: each attempt reads afresh, so it recovers."""
    play = """\
    - hosts: localhost
      gather_facts: false
      tasks:
        - name: Wait for an app someone else creates
          oxy.infra.app: {name: cache-late, wait: false}
          retries: 20
          delay: 1
    """
    mark = sandbox.summary()["last_seq"]

    def create_after_the_first_attempt():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if ("GET", "/v2/apps") in calls(sandbox, mark):
                spec = {"name": "cache-late", "region": "nyc", "services": [{"name": "web"}]}
                sandbox.client().apps.create({"spec": spec})
                return
            time.sleep(0.2)

    creator = threading.Thread(target=create_after_the_first_attempt)
    creator.start()
    run = ansible_playbook(sandbox, write(tmp_path, "late.yml", play))
    creator.join()
    assert run.rc == 0, run.out
    assert "FAILED - RETRYING" in run.out  # it did fail first, and recovered
    reads = [c for c in calls(sandbox, mark) if c == ("GET", "/v2/apps")]
    assert len(reads) >= 2


def test_a_read_with_the_cache_off_refreshes_it(sandbox, tmp_path):
    """A deployment seen DEPLOYING, then ACTIVE by a task that retries: a later lookup gets ACTIVE, not DEPLOYING."""
    sandbox.configure(app_delay=3)
    play = """\
    - hosts: localhost
      gather_facts: false
      tasks:
        - name: Start the app
          oxy.infra.app:
            name: cache-refresh
            region: nyc
            wait: false
            spec: {services: [{name: web, image: {registry_type: DOCR, repository: mention, tag: 1.0.0}}]}
          register: started
        - name: Until it is active (the cache answers nothing here, and what it reads refreshes it)
          oxy.infra.app: {name: cache-refresh, wait: false}
          register: polled
          until: polled.deployment.phase == 'ACTIVE'
          retries: 30
          delay: 1
        - name: A look that the cache may answer
          oxy.infra.app: {name: cache-refresh, wait: false}
          register: later
        - ansible.builtin.assert:
            that:
              - started.deployment.phase != 'ACTIVE'
              - later.deployment.phase == 'ACTIVE'
    """
    mark = sandbox.summary()["last_seq"]
    run = ansible_playbook(sandbox, write(tmp_path, "refresh.yml", play))
    assert run.rc == 0, run.out
    # The last look was answered by the cache (refreshed by the retried task): it sent no read of its own.
    log = calls(sandbox, mark)
    last_poll = max(i for i, (m, p) in enumerate(log) if m == "GET" and p.endswith("/deployments"))
    assert log[last_poll + 1 :] == [], log[last_poll:]


def test_an_async_module_process_holds_the_cache_until_its_time_limit(sandbox, tmp_path):
    """poll: 0 writes after the task returned: until its async limit, nothing is answered from the cache."""
    play = """\
    - hosts: localhost
      gather_facts: false
      tasks:
        - name: A VPC, created in the background
          oxy.infra.vpc: {name: cache-async, region: ams3}
          async: 60
          poll: 0
          register: job
        - name: A lookup of the VPCs while it may still be writing
          oxy.infra.database_cluster:
            {name: cache-async-db, engine: valkey, version: "8", size: db-s-1vcpu-1gb, num_nodes: 1, region: ams3,
             vpc: cache-async}
          check_mode: true
          register: before
        - name: The job is done
          ansible.builtin.async_status: {jid: "{{ job.ansible_job_id }}"}
          register: done
          until: done.finished
          retries: 60
          delay: 1
        - name: The same lookup
          oxy.infra.database_cluster:
            {name: cache-async-db, engine: valkey, version: "8", size: db-s-1vcpu-1gb, num_nodes: 1, region: ams3,
             vpc: cache-async}
          check_mode: true
          register: after
        - ansible.builtin.assert:
            that: after.diff.after.private_network_uuid is not search('not created yet')
    """
    mark = sandbox.summary()["last_seq"]
    run = ansible_playbook(sandbox, write(tmp_path, "async.yml", play))
    assert run.rc == 0, run.out
    lookups = [c for c in calls(sandbox, mark) if c == ("GET", "/v2/vpcs")]
    # The module process's own lookup before its create, then each of the two lookups: none answered from the cache.
    assert len(lookups) == 3, calls(sandbox, mark)


def test_waits_poll_past_the_cache(sandbox, tmp_path):
    """A deployment still running when one task looked is polled by the wait; the next look is what the wait saw."""
    sandbox.configure(app_delay=3)
    play = """\
    - hosts: localhost
      gather_facts: false
      tasks:
        - oxy.infra.app:
            name: cache-app
            region: nyc
            wait: false
            spec: {services: [{name: web, image: {registry_type: DOCR, repository: mention, tag: 1.0.0}}]}
          register: started
        - name: Wait for the deployment
          oxy.infra.app: {name: cache-app}
          register: waited
        - oxy.infra.app_info: {name: cache-app}
          register: after
        - ansible.builtin.assert:
            that:
              - waited.deployment.phase == 'ACTIVE'
              - after.apps[0].active_deployment.id == waited.deployment.id
              - started.deployment.phase != 'ACTIVE'
    """
    mark = sandbox.summary()["last_seq"]
    run = ansible_playbook(sandbox, write(tmp_path, "wait.yml", play))
    assert run.rc == 0, run.out
    log = calls(sandbox, mark)
    polls = [i for i, (method, p) in enumerate(log) if method == "GET" and "/deployments/" in p]
    assert len(polls) >= 2, log  # the wait polled past what it was first told


def test_lookups_are_shared_and_own_state_is_read_by_every_task(sandbox, tmp_path):
    """Lookups (a VPC's id) are answered once per run; each task reads the state it compares afresh; a loop
    reads once for all its items."""
    play = """\
    - hosts: localhost
      gather_facts: false
      tasks:
        - oxy.infra.vpc: {name: cache-a, region: ams3}
        - name: Two lookups of the VPC (a plan of two clusters in it)
          oxy.infra.database_cluster:
            {name: "{{ item }}", engine: valkey, version: "8", size: db-s-1vcpu-1gb, num_nodes: 1, region: ams3,
             vpc: cache-a}
          check_mode: true
          loop: [cache-b, cache-c]
        - name: The VPC's own state, compared with its definition, read again
          oxy.infra.vpc: {name: cache-a, region: ams3}
        - name: Three records (each create empties the cache, so each item reads the zone again)
          oxy.infra.domain_record: {domain: cache.example, type: A, name: "{{ item }}", data: 192.0.2.1}
          loop: [a, b, c]
        - name: The same three, nothing to change (one read of the zone for the whole loop)
          oxy.infra.domain_record: {domain: cache.example, type: A, name: "{{ item }}", data: 192.0.2.1}
          loop: [a, b, c]
    """
    sandbox.client().domains.create({"name": "cache.example"})
    mark = sandbox.summary()["last_seq"]
    run = ansible_playbook(sandbox, write(tmp_path, "shared.yml", play))
    assert run.rc == 0, run.out
    log = calls(sandbox, mark)
    vpc_reads = [c for c in log if c[1] == "/v2/vpcs"]
    # The create's own read and the create; one lookup for both clusters (after the write emptied the cache);
    # the last task's own read.
    assert vpc_reads == [("GET", "/v2/vpcs"), ("POST", "/v2/vpcs"), ("GET", "/v2/vpcs"), ("GET", "/v2/vpcs")], log
    zone_reads = [c for c in log if c == ("GET", "/v2/domains/cache.example/records")]
    # Three for the loop that creates, one for the loop that finds nothing to change.
    assert len(zone_reads) == 4, log


def test_the_cache_on_disk_holds_no_readable_secret(tmp_path):
    """Entries are sealed with the run's key: a password read from the API is not in any file."""
    from ansible_collections.oxy.infra.plugins.plugin_utils._read_cache import ReadCache, read_cache_for

    cache = read_cache_for({"api_url": "https://api.example", "token": "tok-123"}, directory=str(tmp_path))
    key = cache.key("databases.list_clusters", (), {})
    generation = cache.generation()
    cache.keep(key, {"databases": [{"connection": {"password": "hunter2-secret"}}]}, generation)
    assert cache.answer(key)["databases"][0]["connection"]["password"] == "hunter2-secret"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"hunter2" not in data and b"tok-123" not in data
            assert path.stat().st_mode & 0o077 == 0
    # Another token, or after a write, is a miss.
    other = ReadCache(str(tmp_path), "https://api.example\nother")
    assert other.answer(other.key("databases.list_clusters", (), {})) is None
    cache.invalidate()
    assert cache.answer(key) is None
    # A read made before a write and stored after it is never served.
    cache.keep(key, {"stale": True}, generation)
    assert cache.answer(key) is None
