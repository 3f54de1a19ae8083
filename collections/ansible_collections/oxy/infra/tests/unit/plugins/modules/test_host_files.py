"""oxy.infra.host_files in process, on files in a temporary directory owned by the user running the tests."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.oxy.infra.plugins.modules import host_files

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
SECRET = "relay.example.com user:s3cr3t-pa55word"


def result(capsys, check_mode=False, diff=True, **args):
    args = {**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}
    with patch_module_args(args), pytest.raises(SystemExit):
        host_files.main()
    return json.loads(capsys.readouterr().out)


def item(path, content=None, mode="0644", **extra):
    return {"path": str(path), "content": content, "mode": mode, "owner": USER, "group": GROUP, **extra}


def secret(path, content, mode="0600"):
    return {"path": str(path), "secret_content": content, "mode": mode, "owner": USER, "group": GROUP}


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_files_are_written_with_their_mode_then_nothing_changes(capsys, tmp_path):
    files = [item(tmp_path / "a.timer", "[Timer]\nOnCalendar=daily\n"), item(tmp_path / "run", "#!/bin/sh\n", "0700")]
    out = result(capsys, files=files)
    assert out["changed"] is True
    assert out["changed_paths"] == [str(tmp_path / "a.timer"), str(tmp_path / "run")]
    assert (tmp_path / "a.timer").read_text() == "[Timer]\nOnCalendar=daily\n"
    assert (mode_of(tmp_path / "a.timer"), mode_of(tmp_path / "run")) == (0o644, 0o700)
    assert out["diff"][0]["before"] == "" and out["diff"][0]["after"] == "[Timer]\nOnCalendar=daily\n"
    assert out["diff"][0]["after_header"] == f"{tmp_path / 'a.timer'} (mode 0644, owner {USER}:{GROUP})"
    again = result(capsys, files=files)
    assert again["changed"] is False and again["changed_paths"] == [] and again["diff"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.timer", "run"]  # no temporary file left


def test_a_changed_file_is_replaced_whole_and_a_changed_mode_is_set_in_place(capsys, tmp_path):
    target, other = tmp_path / "map", tmp_path / "units"
    result(capsys, files=[item(target, "old\n"), item(other, "same\n")])
    inode, other_inode = os.stat(target).st_ino, os.stat(other).st_ino
    out = result(capsys, files=[item(target, "new\n"), item(other, "same\n", "0600")])
    assert out["changed_paths"] == [str(target), str(other)]
    assert target.read_text() == "new\n" and os.stat(target).st_ino != inode  # renamed over the old file
    assert (out["diff"][0]["before"], out["diff"][0]["after"]) == ("old\n", "new\n")
    assert mode_of(other) == 0o600 and os.stat(other).st_ino == other_inode
    assert out["diff"][1]["before_header"] == f"{other} (mode 0644, owner {USER}:{GROUP})"


def test_check_mode_reports_without_writing(capsys, tmp_path):
    result(capsys, files=[item(tmp_path / "kept", "v1\n")])
    out = result(capsys, check_mode=True, files=[item(tmp_path / "kept", "v2\n"), item(tmp_path / "new", "x\n")])
    assert out["changed"] is True and out["changed_paths"] == [str(tmp_path / "kept"), str(tmp_path / "new")]
    assert (tmp_path / "kept").read_text() == "v1\n" and not (tmp_path / "new").exists()
    # A directory an earlier task of the plan would make: the file is one to write.
    ahead = result(capsys, check_mode=True, files=[item(tmp_path / "later" / "map", "x\n")])
    assert ahead["changed_paths"] == [str(tmp_path / "later" / "map")] and not (tmp_path / "later").exists()


def test_a_secret_is_written_but_never_printed(capsys, tmp_path):
    target = tmp_path / "relay_password"
    out = result(capsys, files=[secret(target, SECRET + "\n")])
    assert target.read_text() == SECRET + "\n" and mode_of(target) == 0o600
    assert out["changed_paths"] == [str(target)]
    assert SECRET not in json.dumps(out) and "s3cr3t" not in json.dumps(out)
    assert out["diff"][0]["after"] == "(secret content, not shown)\n"
    changed = result(capsys, files=[secret(target, "relay.example.com user:other\n")])
    assert changed["diff"][0]["before"] != changed["diff"][0]["after"] and "other" not in json.dumps(changed)
    assert result(capsys, files=[secret(target, "relay.example.com user:other\n")])["changed"] is False


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"path": "relative/file"}, "relative/file: a file's path must be absolute"),
        ({"mode": "rw-r--r--"}, "mode 'rw-r--r--' is not an octal string such as '0644'"),
        ({"mode": "-1"}, "mode '-1' is not an octal string such as '0644'"),
        ({"mode": "0640\n"}, "mode '0640\\n' is not an octal string such as '0644'"),
        ({"mode": "0800"}, "mode '0800' is not an octal string such as '0644'"),
        ({"mode": -1}, "mode -1 is not an octal string such as '0644'"),
        ({"owner": "no-such-user-here"}, "no user 'no-such-user-here' on this host"),
        ({"group": "no-such-group-here"}, "no group 'no-such-group-here' on this host"),
        ({"path": "/nonexistent-dir/file"}, "/nonexistent-dir/file: its directory /nonexistent-dir does not exist"),
    ],
)
def test_bad_input_fails_before_any_file_is_written(capsys, tmp_path, bad, message):
    good = item(tmp_path / "good", "fine\n")
    out = result(capsys, files=[good, {**item(tmp_path / "bad", "x\n"), **bad}])
    assert out["failed"] is True and message in out["msg"], out
    assert not (tmp_path / "good").exists()


def test_a_path_given_twice_or_without_content_fails(capsys, tmp_path):
    twice = result(capsys, files=[item(tmp_path / "f", "a\n"), secret(tmp_path / "f", "b\n")])
    assert twice["failed"] is True and "is given more than once" in twice["msg"]
    bare = result(capsys, files=[{"path": str(tmp_path / "f")}])
    assert bare["failed"] is True and "mode" in bare["msg"]
    no_content = result(capsys, files=[{"path": str(tmp_path / "f"), "mode": "0644"}])
    assert no_content["failed"] is True and "content, secret_content" in no_content["msg"], no_content["msg"]
    both = result(capsys, files=[{**item(tmp_path / "f", "a\n"), "secret_content": "b\n"}])
    assert both["failed"] is True and "mutually exclusive: content|secret_content" in both["msg"], both["msg"]
    (tmp_path / "dir").mkdir()
    directory = result(capsys, files=[item(tmp_path / "dir", "a\n")])
    assert directory["failed"] is True and "is there and is not a regular file" in directory["msg"]
    assert not (tmp_path / "f").exists()


def test_absent_removes_a_file_once_and_never_shows_what_it_held(capsys, tmp_path):
    target = tmp_path / "relay_password"
    target.write_text(SECRET + "\n")
    gone = [{"path": str(target), "state": "absent"}]
    planned = result(capsys, check_mode=True, files=gone)
    assert planned["changed"] is True and target.exists() and SECRET not in json.dumps(planned)
    out = result(capsys, files=gone)
    assert out["changed_paths"] == [str(target)] and not target.exists()
    assert out["diff"] == [
        {"before_header": f"{target} (removed)", "after_header": f"{target} (absent)", "before": "", "after": ""}
    ]
    assert result(capsys, files=gone)["changed"] is False
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")  # a dangling link is there too
    assert result(capsys, files=[{"path": str(tmp_path / "link"), "state": "absent"}])["changed"] is True
    assert not os.path.lexists(tmp_path / "link")


def test_a_diff_only_when_asked_and_never_of_a_large_file(capsys, tmp_path):
    quiet = result(capsys, diff=False, files=[item(tmp_path / "small", "x\n")])
    assert quiet["changed"] is True and "diff" not in quiet
    bundle = "-----BEGIN CERTIFICATE-----\n" * 5000  # a CA bundle, 140 kB
    out = result(capsys, files=[item(tmp_path / "ca.pem", bundle)])
    assert (
        out["diff"][0]["after"] == f"({len(bundle)} bytes, not shown)\n" and (tmp_path / "ca.pem").read_text() == bundle
    )


def test_a_number_for_mode_is_the_permissions_it_stands_for(capsys, tmp_path):
    result(capsys, files=[item(tmp_path / "f", "x\n", 0o640), item(tmp_path / "g", "y\n", "640")])
    assert (mode_of(tmp_path / "f"), mode_of(tmp_path / "g")) == (0o640, 0o640)


def directory(path, mode="0750"):
    return {"path": str(path), "state": "directory", "mode": mode, "owner": USER, "group": GROUP}


def test_directories_are_made_in_order_with_the_files_in_them(capsys, tmp_path):
    stack, api = tmp_path / "stack", tmp_path / "stack" / "api"
    items = [directory(stack), directory(api, "0700"), secret(api / "env", "KEY=value\n")]
    planned = result(capsys, check_mode=True, files=items)
    assert planned["changed_paths"] == [str(stack), str(api), str(api / "env")] and not stack.exists()
    out = result(capsys, files=items)
    assert out["changed_paths"] == [str(stack), str(api), str(api / "env")]
    assert (mode_of(stack), mode_of(api), mode_of(api / "env")) == (0o750, 0o700, 0o600)
    assert out["diff"][0]["after_header"] == f"{stack}/ (directory, mode 0750, owner {USER}:{GROUP})"
    assert result(capsys, files=items)["changed"] is False
    os.chmod(stack, 0o755)
    (stack / "kept").write_text("left alone\n")
    fixed = result(capsys, files=items)
    assert fixed["changed_paths"] == [str(stack)] and mode_of(stack) == 0o750 and (stack / "kept").exists()


def test_a_directory_is_made_with_the_missing_ones_above_it(capsys, tmp_path):
    deep = tmp_path / "data" / "caddy" / "pki"
    out = result(capsys, files=[directory(deep, "0700"), item(deep / "root.crt", "PEM\n")])
    assert out["changed_paths"] == [str(deep), str(deep / "root.crt")]
    assert [mode_of(tmp_path / p) for p in ("data", "data/caddy", "data/caddy/pki")] == [0o700, 0o700, 0o700]
    assert (
        out["diff"][0]["before_header"] == f"{deep}/ (absent, with {tmp_path / 'data'}, {tmp_path / 'data' / 'caddy'})"
    )
    os.chmod(tmp_path / "data", 0o755)  # a directory above, there already: left as it is
    assert result(capsys, files=[directory(deep, "0700")])["changed"] is False and mode_of(tmp_path / "data") == 0o755


def test_a_directory_over_a_file_or_with_content_is_refused(capsys, tmp_path):
    (tmp_path / "file").write_text("x\n")
    over = result(capsys, files=[directory(tmp_path / "new"), directory(tmp_path / "file")])
    assert over["failed"] is True and "is there and is not a directory" in over["msg"]
    under = result(capsys, files=[directory(tmp_path / "file" / "sub")])
    assert under["failed"] is True and f"{tmp_path / 'file'} is there and is not a directory" in under["msg"]
    after_file = result(capsys, files=[item(tmp_path / "new-file", "x\n"), directory(tmp_path / "new-file" / "sub")])
    assert after_file["failed"] is True and "new-file is there and is not a directory" in after_file["msg"]
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    link = result(capsys, files=[directory(tmp_path / "link")])
    assert link["failed"] is True and "is a symbolic link; give the directory it points to" in link["msg"]
    gone = result(
        capsys, files=[item(tmp_path / "new-file", "x\n"), {"path": str(tmp_path / "real"), "state": "absent"}]
    )
    assert gone["failed"] is True and "is a directory; only files are removed" in gone["msg"]
    assert not (tmp_path / "new-file").exists() and (tmp_path / "real").is_dir()
    content = result(capsys, files=[{**directory(tmp_path / "d"), "content": "x"}])
    assert content["failed"] is True and "a directory has no content" in content["msg"]
    orphan = result(capsys, files=[item(tmp_path / "missing" / "f", "x\n")])
    assert orphan["failed"] is True and "does not exist" in orphan["msg"]
    assert not (tmp_path / "new").exists() and not (tmp_path / "d").exists()
