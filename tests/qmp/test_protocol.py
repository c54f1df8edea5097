#!/usr/bin/env python3
"""QMP protocol: greeting, capabilities negotiation, id echo, request
checking and error replies, query-commands and query-qmp-schema, exec-oob
(out-of-band execution in the monitor I/O thread).

Expected texts are QEMU 7.2's (docs/interop/qmp-spec and the QEMU sources
for the error messages clients parse)."""
import json
import os
import subprocess
import tempfile
from qmplib import (BASE_ARGS, QMP, Kvmpc, check, check_eq, connect_unix,
                    run_tests, start_qmp_vm)


def test_greeting(binary):
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0], negotiate=False)
        check_eq(q.greeting, {"QMP": {
            "version": {"qemu": {"micro": 0, "minor": 2, "major": 7},
                        "package": "kvmpc-0.1.0"},
            "capabilities": ["oob"]}}, "greeting")
    finally:
        vm.close()


def test_negotiation(binary):
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0], negotiate=False)
        # Before qmp_capabilities every other command is refused.
        for name in ("query-status", "query-version", "no-such-command"):
            check_eq(q.cmd(name, id=1), {"error": {
                "class": "CommandNotFound",
                "desc": "Expecting capabilities negotiation with "
                        "'qmp_capabilities'"}, "id": 1}, name)
        # Unknown capability.
        err = q.cmd("qmp_capabilities", {"enable": ["bogus"]})["error"]
        check_eq(err["class"], "GenericError", "bad capability class")
        check_eq(q.cmd("qmp_capabilities", {"enable": ["oob"]}),
                 {"return": {}}, "negotiation with oob")
        check_eq(q.cmd("qmp_capabilities"), {"error": {
            "class": "CommandNotFound",
            "desc": "Capabilities negotiation is already complete, "
                    "command ignored"}}, "second qmp_capabilities")
        check("running" in q.ret("query-status"), "query-status after")
        # A new connection starts over with its own greeting.
        q.close()
        q2 = QMP(paths[0], negotiate=False)
        check_eq(q2.cmd("query-status")["error"]["class"],
                 "CommandNotFound", "new session negotiates again")
    finally:
        vm.close()


def test_id_echo(binary):
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])
        for ident in ("abc", 17, -1, 3.5, {"a": [1, {"b": None}]}, [1, "x"],
                      True, None, ""):
            rsp = q.cmd("query-name", id=ident) if ident is not None else \
                None
            if ident is None:
                q.send_raw(b'{"execute": "query-name", "id": null}\n')
                rsp = q.recv_reply()
                check("id" in rsp and rsp["id"] is None, "null id kept")
                continue
            check_eq(rsp.get("id"), ident, "id echo")
            check("return" in rsp, "reply with id %r" % (ident,))
        # Errors carry the id too.
        rsp = q.cmd("no-such-command", id="e1")
        check_eq(rsp, {"error": {"class": "CommandNotFound",
                                 "desc": "The command no-such-command has "
                                         "not been found"},
                       "id": "e1"}, "error with id")
    finally:
        vm.close()


def expect_error(q, raw, desc, cls="GenericError"):
    q.send_raw(raw + b"\n")
    rsp = q.recv_reply()
    check("error" in rsp, "no error for %r: %r" % (raw, rsp))
    check_eq(rsp["error"]["class"], cls, "class for %r" % raw)
    if desc is not None:
        check_eq(rsp["error"]["desc"], desc, "desc for %r" % raw)


def test_request_errors(binary):
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])
        expect_error(q, b'[1, 2]', "QMP input must be a JSON object")
        expect_error(q, b'"str"', "QMP input must be a JSON object")
        expect_error(q, b'{}', "QMP input lacks member 'execute'")
        expect_error(q, b'{"execute": 1}',
                     "QMP input member 'execute' must be a string")
        expect_error(q, b'{"execute": "query-status", "arguments": []}',
                     "QMP input member 'arguments' must be an object")
        expect_error(q, b'{"execute": "query-status", "foo": 1}',
                     "QMP input member 'foo' is unexpected")
        expect_error(q, b'{"execute": "nope"}',
                     "The command nope has not been found",
                     "CommandNotFound")
        expect_error(q, b'{"execute": "query-status", "arguments": '
                        b'{"verbose": true}}',
                     "Parameter 'verbose' is unexpected")
        expect_error(q, b'{"execute": "qom-list"}',
                     "Parameter 'path' is missing")
        expect_error(q, b'{"execute": "qom-list", "arguments": {"path": 5}}',
                     "Invalid parameter type for 'path', expected: string")
        expect_error(q, b'{"execute": "human-monitor-command", "arguments": '
                        b'{"command-line": "info status", '
                        b'"cpu-index": "zero"}}',
                     "Invalid parameter type for 'cpu-index', "
                     "expected: integer")
        expect_error(q, b'{"execute": "human-monitor-command", "arguments": '
                        b'{"command-line": "info status", '
                        b'"cpu-index": 99}}',
                     "Parameter 'cpu-index' expects a CPU number")
        expect_error(q, b'{"execute": "qmp_capabilities", "arguments": '
                        b'{"enable": "oob"}}', None)
        # exec-oob is only accepted once the oob capability is enabled.
        expect_error(q, b'{"exec-oob": "query-status"}', None)
        check("return" in q.cmd("query-status"), "still alive")
    finally:
        vm.close()


def test_query_commands_exact(binary):
    """Every listed command dispatches; the schema lists the same set."""
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])
        names = [c["name"] for c in q.ret("query-commands")]
        check_eq(len(names), len(set(names)), "duplicates in query-commands")
        for required in ("qmp_capabilities", "query-version",
                         "query-commands", "query-qmp-schema",
                         "query-status", "query-name", "query-uuid",
                         "query-kvm", "query-cpus-fast", "query-machines",
                         "query-target", "query-chardev", "query-pci",
                         "stop", "cont", "system_reset", "system_powerdown",
                         "quit", "human-monitor-command", "qom-list",
                         "qom-get", "device-list-properties"):
            check(required in names, "query-commands lacks " + required)
        for name in names:
            # A bogus argument: the command exists, so the marshaller
            # answers (GenericError), and nothing is executed.
            rsp = q.cmd(name, {"x-bogus-argument": 1})
            check("error" in rsp, "%s accepted a bogus argument" % name)
            check_eq(rsp["error"]["class"], "GenericError",
                     "%s is not dispatchable" % name)
        schema = q.ret("query-qmp-schema")
        cmds = {e["name"] for e in schema if e["meta-type"] == "command"}
        check_eq(sorted(cmds), sorted(names),
                 "schema commands vs query-commands")
    finally:
        vm.close()


def test_query_qmp_schema(binary):
    vm, paths = start_qmp_vm(binary)
    try:
        q = QMP(paths[0])
        schema = q.ret("query-qmp-schema")
        check(isinstance(schema, list) and schema, "schema is a list")
        by_name = {e["name"]: e for e in schema}
        metas = {"builtin", "enum", "array", "object", "alternate",
                 "command", "event"}
        for e in schema:
            check(e["meta-type"] in metas, "meta-type of %r" % e)
        for ev in ("STOP", "RESUME", "RESET", "SHUTDOWN", "POWERDOWN"):
            check(ev in by_name and by_name[ev]["meta-type"] == "event",
                  "schema lacks event " + ev)
        # Every type a command or event refers to is defined.
        for e in schema:
            refs = []
            if e["meta-type"] == "command":
                refs = [e["arg-type"], e["ret-type"]]
            elif e["meta-type"] == "event":
                refs = [e["arg-type"]]
            elif e["meta-type"] == "object":
                refs = [m["type"] for m in e["members"]]
            elif e["meta-type"] == "array":
                refs = [e["element-type"]]
            for r in refs:
                check(r in by_name, "%s refers to undefined %s"
                      % (e["name"], r))
        # qom-list takes a mandatory 'path' string.
        arg = by_name[by_name["qom-list"]["arg-type"]]
        members = {m["name"]: m for m in arg["members"]}
        check("path" in members and "default" not in members["path"],
              "qom-list path member")
        check_eq(by_name[members["path"]["type"]].get("json-type"), "string",
                 "qom-list path type")
    finally:
        vm.close()


def test_pretty(binary):
    """-mon ...,pretty=on: indented JSON, still one message per reply."""
    tmp = tempfile.mkdtemp(prefix="kvmpc-qmp-")
    path = os.path.join(tmp, "pretty.sock")
    vm = Kvmpc(binary, BASE_ARGS + [
        "-chardev", "socket,id=p,path=%s,server=on,wait=off" % path,
        "-mon", "chardev=p,mode=control,pretty=on"], tmpdir=tmp,
        wait_sockets=[path])
    try:
        s = connect_unix(path)
        data = b""
        while not data.endswith(b"}\r\n"):
            data += s.recv(4096)
        check(b"\r\n    " in data, "pretty greeting is indented")
        check_eq(json.loads(data)["QMP"]["capabilities"], ["oob"],
                 "pretty greeting")
    finally:
        vm.close()


OOB_PAUSE_ERROR = ("migrate-pause is currently only supported during "
                   "postcopy-active state")


def send_json(q, *reqs):
    """All of @reqs in one write: the monitor parses them in one go."""
    q.send_raw(b"".join(json.dumps(r).encode() + b"\n" for r in reqs))


def oob_client(path):
    q = QMP(path, negotiate=False)
    check_eq(q.cmd("qmp_capabilities", {"enable": ["oob"]}),
             {"return": {}}, "negotiation with oob")
    return q


def test_exec_oob(binary):
    """exec-oob rules and errors as QEMU 7.2; allow-oob in the schema."""
    vm, paths = start_qmp_vm(binary)
    try:
        q = oob_client(paths[0])
        send_json(q, {"exec-oob": "query-status", "id": 1})
        check_eq(q.recv_reply(), {"id": 1, "error": {
            "class": "GenericError",
            "desc": "The command query-status does not support OOB"}},
            "a command without allow-oob")
        expect_error(q, b'{"exec-oob": "nosuch"}',
                     "The command nosuch has not been found",
                     "CommandNotFound")
        expect_error(q, b'{"exec-oob": 5}',
                     "QMP input member 'exec-oob' must be a string")
        expect_error(q, b'{"exec-oob": "migrate-pause", '
                        b'"execute": "migrate-pause"}',
                     "QMP input member 'execute' clashes with 'exec-oob'")
        # runs (no id needed, as in QEMU 7.2): its own error, no postcopy
        send_json(q, {"exec-oob": "migrate-pause"})
        check_eq(q.recv_reply(), {"error": {"class": "GenericError",
                                            "desc": OOB_PAUSE_ERROR}},
                 "exec-oob migrate-pause")
        send_json(q, {"exec-oob": "migrate-recover", "id": "r",
                      "arguments": {"uri": "unix:/nonexistent/x"}})
        check_eq(q.recv_reply()["error"]["desc"],
                 "Migrate recover can only be run when postcopy is paused.",
                 "exec-oob migrate-recover")
        schema = q.ret("query-qmp-schema")
        oob = sorted(e["name"] for e in schema if e.get("allow-oob"))
        check_eq(oob, ["migrate-pause", "migrate-recover"], "allow-oob")
    finally:
        vm.close()


def test_oob_ordering(binary):
    """Pipelined in-band requests are answered in order, past the queue
    limit (8 with oob, 1 without), with exec-oob requests among them; a
    client that leaves with requests queued leaves nothing behind."""
    vm, paths = start_qmp_vm(binary)
    try:
        q = oob_client(paths[0])
        reqs = []
        for i in range(40):
            reqs.append({"execute": "query-status", "id": i})
            if i % 5 == 0:
                reqs.append({"exec-oob": "migrate-pause", "id": "o%d" % i})
        send_json(q, *reqs)
        inband, oob = [], []
        for _ in reqs:
            rsp = q.recv_reply()
            if isinstance(rsp["id"], int):
                check("return" in rsp, "in-band reply %r" % rsp)
                inband.append(rsp["id"])
            else:
                check_eq(rsp["error"]["desc"], OOB_PAUSE_ERROR, "oob reply")
                oob.append(rsp["id"])
        check_eq(inband, list(range(40)), "in-band replies in order")
        check_eq(len(oob), 8, "every exec-oob answered")
        q.sock.close()
        # without oob: one request at a time, still all in order
        q = QMP(paths[0])
        for i in range(20):     # separate writes: reading stops, resumes
            send_json(q, {"execute": "query-name", "id": i})
        got = [q.recv_reply()["id"] for _ in range(20)]
        check_eq(got, list(range(20)), "replies in order without oob")
        # leave with requests queued: the next client starts clean
        send_json(q, *[{"execute": "query-status", "id": i}
                       for i in range(200)])
        q.sock.close()
        q = QMP(paths[0], negotiate=False)
        check("QMP" in q.greeting, "a fresh greeting")
        check_eq(q.cmd("qmp_capabilities", id="c"),
                 {"return": {}, "id": "c"}, "the next client negotiates")
        check_eq(q.cmd("query-status", id="s")["id"], "s",
                 "its own reply, not a left-over")
        # quit from a monitor in the I/O thread: the thread stops first
        send_json(q, {"exec-oob": "migrate-pause", "id": "p"},
                  {"execute": "quit", "id": "q"})
        got = sorted(str(q.recv_reply()["id"]) for _ in range(2))
        check_eq(got, ["p", "q"], "replies before quit")
        check_eq(vm.wait(), 0, "exit status after quit")
    finally:
        vm.close()


def test_oob_stdio(binary):
    """A stdio monitor stays on the main thread; exec-oob runs there."""
    p = subprocess.Popen([binary] + BASE_ARGS + ["-qmp", "stdio"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        out, _ = p.communicate(
            b'{"execute": "qmp_capabilities", '
            b'"arguments": {"enable": ["oob"]}}\n'
            b'{"exec-oob": "migrate-pause", "id": 1}\n'
            b'{"execute": "quit"}\n', timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    lines = [json.loads(x) for x in out.splitlines() if x.strip()]
    check_eq(lines[0]["QMP"]["capabilities"], ["oob"], "stdio greeting")
    check_eq(lines[2], {"id": 1, "error": {"class": "GenericError",
                                           "desc": OOB_PAUSE_ERROR}},
             "exec-oob on stdio")


if __name__ == "__main__":
    run_tests([test_greeting, test_negotiation, test_id_echo,
               test_request_errors, test_query_commands_exact,
               test_query_qmp_schema, test_pretty, test_exec_oob,
               test_oob_ordering, test_oob_stdio])
