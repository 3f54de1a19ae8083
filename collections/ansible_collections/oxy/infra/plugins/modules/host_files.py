#!/usr/bin/python
# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_files
short_description: Put several small text files and their directories on a host, or remove files, in one module run
version_added: 0.6.0
description:
  - "M(ansible.builtin.copy) and M(ansible.builtin.template) cost two module runs and a file transfer per file (a
    C(stat) to compare, then the copy), and a loop of them one task per item. A role that writes a handful of
    configuration files, units and maps spends seconds on them over SSH. This module compares and writes them all
    in one run, with the content given inline (render templates on the controller with
    P(ansible.builtin.template#lookup), read files with P(ansible.builtin.file#lookup) and O(files[].content) as
    given)."
  - A file whose content, mode, owner or group differ is written to a temporary file in its directory with its mode
    and owner, flushed to disk and renamed over the old one, so a reader sees the old file or the new one, never a
    part, and a secret is never readable by others on the way. Only mode or owner differing are set in place.
  - "A directory (O(files[].state=directory)) is made when missing, with the directories above it that are missing
    too (each with its mode and owner, as M(ansible.builtin.file) does); one there gets its mode and owner set in
    place (what is in it is left alone)."
  - Every file is checked before any is written (its directory exists, its owner and group are known, its mode is
    octal), so bad input fails without a change on the host. In check mode, a file whose directory is missing is
    reported as one to write (an earlier task of the same plan makes the directory).
  - A file whose content is secret has it in O(files[].secret_content), which Ansible never prints; its diff says
    that the content changed, not what it is. A file removed is shown by its path alone, whatever it held. Content
    larger than 100 KiB is not shown in a diff either, only its size.
attributes:
  check_mode:
    description: Reports what it would write or remove, writing nothing.
    support: full
  diff_mode:
    description: The content, mode and owner of each file changed, before and after (a secret's content left out).
    support: full
  idempotent:
    description: Files as given already change nothing.
    support: full
options:
  files:
    description:
      - Files to put, directories to make (O(files[].state=directory)) and files to remove
        (O(files[].state=absent)), made in the order given.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file's absolute path. Its directory must exist, or be an earlier item.
        type: path
        required: true
      state:
        description:
          - V(present) puts the file; V(directory) makes a directory; V(absent) removes a file when it is there.
        type: str
        choices: [present, directory, absent]
        default: present
      content:
        description:
          - The file's whole content (text, written as UTF-8). With O(files[].state=present), this or
            O(files[].secret_content) is required.
        type: str
      secret_content:
        description:
          - The file's whole content when it is secret (a password, a key). It is never printed, and the file's diff
            says that it changed, not what it is.
        type: str
      mode:
        description:
          - Its permissions, an octal string such as V('0644') (a number, such as YAML's unquoted C(0644), is taken
            as the permissions it stands for). Required unless O(files[].state=absent).
        type: raw
      owner:
        description: Its owner, a user name.
        type: str
        default: root
      group:
        description: Its group, a group name.
        type: str
        default: root
notes:
  - A path may be given once.
author:
  - Oxy infrastructure team (@oxyhq)
"""

EXAMPLES = r"""
- name: The export script and its units
  oxy.infra.host_files:
    files:
      - path: /usr/local/sbin/export
        content: "{{ lookup('ansible.builtin.template', 'export.py.j2') }}"
        mode: "0700"
      - path: /etc/systemd/system/export.timer
        content: "{{ lookup('ansible.builtin.template', 'export.timer.j2') }}"
        mode: "0644"
  register: __units

- name: The relay's credentials (never printed) and no old CA
  oxy.infra.host_files:
    files:
      - path: /opt/oxy/smtp/relay_password
        secret_content: "{{ relay_line }}"
        mode: "0600"
      - path: /opt/oxy/smtp/relay_ca.pem
        state: absent
"""

RETURN = r"""
changed_paths:
  description: The files written, set, or removed (or that would be, in check mode), in the order given.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/export.timer]
"""

import grp
import os
import pwd
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

FILE_OPTIONS = {
    "path": {"type": "path", "required": True},
    "state": {"type": "str", "choices": ["present", "directory", "absent"], "default": "present"},
    "content": {"type": "str"},
    "secret_content": {"type": "str", "no_log": True},
    "mode": {"type": "raw"},
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
}
REQUIRED_IF = [
    ("state", "present", ("mode",)),
    ("state", "directory", ("mode",)),
    ("state", "present", ("content", "secret_content"), True),
]
HIDDEN = "(secret content, not shown)\n"
MAX_DIFF = 102400  # bytes of content a diff shows
MODE = re.compile(r"0?[0-7]{3,4}")


def check(module: AnsibleModule, files: list[dict]) -> list[dict]:
    """Every file, as it must be (uid, gid, mode as numbers), or the module fails naming what is wrong."""
    seen, made, written, wanted = set(), set(), set(), []
    for spec in files:
        if not os.path.isabs(spec["path"]):
            module.fail_json(msg=f"{spec['path']}: a file's path must be absolute")
        spec["path"] = path = os.path.normpath(spec["path"])
        if path in seen:
            module.fail_json(msg=f"{path} is given more than once")
        seen.add(path)
        if spec["state"] == "absent":
            if os.path.isdir(path) and not os.path.islink(path):
                module.fail_json(msg=f"{path} is a directory; only files are removed")
            wanted.append(spec)
            continue
        if isinstance(spec["mode"], int) and not isinstance(spec["mode"], bool) and 0 <= spec["mode"] <= 0o7777:
            mode = spec["mode"]  # YAML read 0644 as the number it stands for
        elif isinstance(spec["mode"], str) and MODE.fullmatch(spec["mode"]):
            mode = int(spec["mode"], 8)
        else:
            module.fail_json(msg=f"{path}: mode {spec['mode']!r} is not an octal string such as '0644'")
        try:
            uid = pwd.getpwnam(spec["owner"]).pw_uid
        except KeyError:
            module.fail_json(msg=f"{path}: no user {spec['owner']!r} on this host")
        try:
            gid = grp.getgrnam(spec["group"]).gr_gid
        except KeyError:
            module.fail_json(msg=f"{path}: no group {spec['group']!r} on this host")
        if spec["state"] == "directory":
            if spec["content"] is not None or spec["secret_content"] is not None:
                module.fail_json(msg=f"{path}: a directory has no content")
            if os.path.islink(path):
                module.fail_json(msg=f"{path} is a symbolic link; give the directory it points to")
            missing, above = [], path
            while not os.path.lexists(above) and above not in made and above not in written:  # or an earlier item
                missing.insert(0, above)
                above = os.path.dirname(above)
            if above in written or (above not in made and not os.path.isdir(above)):
                module.fail_json(msg=f"{path}: {above} is there and is not a directory")
            made.update(missing)
            wanted.append({**spec, "uid": uid, "gid": gid, "mode_bits": mode, "missing": missing})
            continue
        directory = os.path.dirname(path)
        # In check mode, an earlier task of the plan would have made it.
        if not os.path.isdir(directory) and directory not in made and not module.check_mode:
            module.fail_json(msg=f"{path}: its directory {directory} does not exist")
        if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
            module.fail_json(msg=f"{path} is there and is not a regular file")
        written.add(path)
        wanted.append(
            {
                **spec,
                "uid": uid,
                "gid": gid,
                "mode_bits": mode,
                "data": (spec["content"] if spec["secret_content"] is None else spec["secret_content"]).encode("utf-8"),
            }
        )
    return wanted


def describe(st: os.stat_result | None) -> str:
    if st is None:
        return ""
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return f"mode {stat.S_IMODE(st.st_mode):04o}, owner {owner}:{group}"


def read(path: str) -> tuple[os.stat_result | None, bytes | None]:
    try:
        with open(path, "rb") as current:
            return os.fstat(current.fileno()), current.read()
    except FileNotFoundError:
        return None, None


def text(data: bytes | None) -> str:
    if data is None:
        return ""
    if len(data) > MAX_DIFF:
        return f"({len(data)} bytes, not shown)\n"
    return data.decode("utf-8", errors="replace")


def write(spec: dict) -> None:
    """The new file beside the old one, with its mode and owner before any byte, flushed, then renamed over it."""
    directory = os.path.dirname(spec["path"])
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(spec['path'])}.")
    try:
        os.fchown(fd, spec["uid"], spec["gid"])
        os.fchmod(fd, spec["mode_bits"])
        with os.fdopen(fd, "wb") as new:
            new.write(spec["data"])
            new.flush()
            os.fsync(new.fileno())
        os.replace(temporary, spec["path"])
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
    sync_directory(directory)


def sync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def settle(module: AnsibleModule, spec: dict, st: os.stat_result) -> bool:
    """Set the owner and mode of what is at the path, when they differ (unless in check mode); whether they did."""
    if (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (spec["uid"], spec["gid"], spec["mode_bits"]):
        return False
    if not module.check_mode:
        os.chown(spec["path"], spec["uid"], spec["gid"])
        os.chmod(spec["path"], spec["mode_bits"])
    return True


def converge(module: AnsibleModule, spec: dict) -> dict | None:
    """Make one item as given (unless in check mode); its diff when it was not, None when it was."""
    path = spec["path"]
    if spec["state"] == "absent":
        if not os.path.lexists(path):  # a dangling symbolic link is there, and removed
            return None
        if not module.check_mode:
            os.unlink(path)
            sync_directory(os.path.dirname(path))
        # By its path alone: what a removed file held may be a secret.
        return {"before_header": f"{path} (removed)", "after_header": f"{path} (absent)", "before": "", "after": ""}
    wanted = f"mode {spec['mode_bits']:04o}, owner {spec['owner']}:{spec['group']}"
    if spec["state"] == "directory":
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is None:
            if not module.check_mode:
                for each in spec["missing"]:  # from the top
                    os.mkdir(each, 0o700)  # root's alone until it has its owner and mode
                    os.chown(each, spec["uid"], spec["gid"])
                    os.chmod(each, spec["mode_bits"])
                    sync_directory(os.path.dirname(each))
        elif not settle(module, spec, st):
            return None
        above = f", with {', '.join(spec['missing'][:-1])}" if len(spec["missing"]) > 1 else ""
        return {
            "before_header": f"{path}/ ({'directory, ' + describe(st) if st else 'absent' + above})",
            "after_header": f"{path}/ (directory, {wanted})",
            "before": "",
            "after": "",
        }
    st, data = read(path)
    secret = spec["secret_content"] is not None
    shown = (lambda d: HIDDEN if d is not None else "") if secret else text
    if st is None or data != spec["data"]:
        if not module.check_mode:
            write(spec)
        before, after = shown(data), shown(spec["data"])
        if secret and st is not None:
            before, after = "(secret content, before)\n", "(secret content, after)\n"
    elif settle(module, spec, st):
        before = after = ""
    else:
        return None
    return {
        "before_header": f"{path} ({describe(st) or 'absent'})",
        "after_header": f"{path} ({wanted})",
        "before": before,
        "after": after,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": FILE_OPTIONS,
                "required_if": REQUIRED_IF,
                "mutually_exclusive": [("content", "secret_content")],
            },
        },
        supports_check_mode=True,
    )
    wanted = check(module, module.params["files"])
    changed_paths, diffs = [], []
    for spec in wanted:
        try:
            diff = converge(module, spec)
        except OSError as error:
            module.fail_json(
                msg=f"{spec['path']}: {error.strerror or error}",
                changed=bool(changed_paths),
                changed_paths=changed_paths,
            )
        if diff is not None:
            changed_paths.append(spec["path"])
            diffs.append(diff)
    module.exit_json(
        changed=bool(changed_paths), changed_paths=changed_paths, **({"diff": diffs} if module._diff else {})
    )


if __name__ == "__main__":
    main()
