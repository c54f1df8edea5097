#!/usr/bin/env python3
"""NBD over TLS under -accel qtest, with real peers (docs/tls.md):

- the credentials objects: -object and object-add, QEMU 7.2's errors for
  a missing dir or file, a bad endpoint or verify-peer, /objects in
  qom-list, object-del;
- kvmpc's NBD server with tls-creds (x509, verify-peer=on, and PSK):
  Debian's qemu-img / qemu-io with TLS read the export (data equal to the
  image) and write it; a plain client, a client that does not trust the
  server's CA and a client whose certificate another CA signed are
  refused; a raw client gets NBD_REP_ERR_TLS_REQD before STARTTLS, and
  one that stops or sends garbage mid-handshake is dropped while QMP and
  other clients go on;
- kvmpc's NBD client (blockdev-add driver=nbd, tls-creds, tls-hostname)
  reads qemu-nbd --tls-creds exports over TCP and a unix socket; a wrong
  host name, a plain server and a missing tls-hostname are refused.

Certificates come from certtool (Debian's gnutls-bin), made once per run
in a temporary directory.

    test_nbd_tls.py KVMPC [TEST...]
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (check, check_eq, no_kvm, run_tests,  # noqa
                    start_qmp_vm, wait_for, Kvmpc, BASE_ARGS, QMP)

MiB = 1 << 20
TOOLS = ("qemu-img", "qemu-io", "qemu-nbd", "certtool")

NBD_OPTS_MAGIC = 0x49484156454F5054
NBD_REP_MAGIC = 0x3e889045565a9
NBD_OPT_EXPORT_NAME, NBD_OPT_LIST, NBD_OPT_STARTTLS = 1, 3, 5
NBD_OPT_GO, NBD_OPT_STRUCTURED_REPLY = 7, 8
NBD_REP_ACK = 1
NBD_REP_ERR_INVALID = 0x80000003
NBD_REP_ERR_TLS_REQD = 0x80000005

PKI = None      # the certificates, made once (make_pki)


def need_tools():
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        print("SKIP: %s not installed (Debian's qemu-utils, gnutls-bin)" %
              ", ".join(missing))
        sys.exit(77)


def need_gnutls(binary):
    """SKIP (exit 77) when kvmpc was built without GnuTLS: it refuses
    every credentials object then."""
    p = subprocess.run([binary, "-machine", "none", "-nodefaults",
                        "-display", "none", "-accel", "qtest", "-object",
                        "tls-creds-x509,id=t0,dir=/nonexistent"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    if b"built without GnuTLS" in p.stdout:
        print("SKIP: kvmpc was built without GnuTLS (Meson feature gnutls)")
        sys.exit(77)


def run(*args, ok=True):
    p = subprocess.run(list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    if ok:
        check(p.returncode == 0, "%s failed: %s" % (" ".join(args), out))
    else:
        check(p.returncode != 0, "%s succeeded: %s" % (" ".join(args), out))
    return out


def certtool(*args):
    run("certtool", *args)


def make_ca(d, name):
    os.makedirs(d)
    key, cert = os.path.join(d, "ca-key.pem"), os.path.join(d, "ca-cert.pem")
    tmpl = os.path.join(d, "ca.info")
    with open(tmpl, "w") as f:
        f.write("cn = %s\nca\ncert_signing_key\nexpiration_days = 2\n" % name)
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", key)
    certtool("--generate-self-signed", "--load-privkey", key,
             "--template", tmpl, "--outfile", cert)
    return key, cert


def make_endpoint(d, who, ca, info):
    """DIR with ca-cert.pem and WHO-cert.pem/WHO-key.pem signed by @ca."""
    os.makedirs(d)
    key = os.path.join(d, "%s-key.pem" % who)
    tmpl = os.path.join(d, "%s.info" % who)
    with open(tmpl, "w") as f:
        f.write(info + "encryption_key\nsigning_key\nexpiration_days = 2\n")
    certtool("--generate-privkey", "--key-type=ecdsa", "--outfile", key)
    certtool("--generate-certificate", "--load-privkey", key,
             "--load-ca-certificate", ca[1], "--load-ca-privkey", ca[0],
             "--template", tmpl, "--outfile",
             os.path.join(d, "%s-cert.pem" % who))
    shutil.copy(ca[1], os.path.join(d, "ca-cert.pem"))
    return d


def make_pki():
    """server/ client/ (one CA), other-client/ (another CA, which it
    trusts), rogue-client/ (our CA trusted, its certificate from the
    other CA), psk/ (keys.psk)."""
    global PKI
    if PKI:
        return PKI
    root = tempfile.mkdtemp(prefix="kvmpc-tls-pki-")
    ca = make_ca(os.path.join(root, "ca"), "kvmpc test CA")
    other = make_ca(os.path.join(root, "other-ca"), "another CA")
    server_info = ("cn = localhost\ndns_name = localhost\n"
                   "ip_address = 127.0.0.1\ntls_www_server\n")
    client_info = "cn = client\ntls_www_client\n"
    PKI = {
        "root": root,
        "server": make_endpoint(os.path.join(root, "server"), "server", ca,
                                server_info),
        "client": make_endpoint(os.path.join(root, "client"), "client", ca,
                                client_info),
        "other-client": make_endpoint(os.path.join(root, "other-client"),
                                      "client", other, client_info),
        "rogue-client": make_endpoint(os.path.join(root, "rogue-client"),
                                      "client", other, client_info),
        "psk": os.path.join(root, "psk"),
    }
    # RFC 7919's group: without dh-params.pem, qemu-nbd spends a second
    # or more generating parameters at start-up (kvmpc uses the group)
    certtool("--get-dh-params", "--outfile",
             os.path.join(PKI["server"], "dh-params.pem"))
    # the rogue client trusts both CAs (qemu-io checks its own
    # certificate against them), our server only ours
    with open(os.path.join(PKI["rogue-client"], "ca-cert.pem"), "a") as f:
        f.write(open(ca[1]).read())
    os.makedirs(PKI["psk"])
    with open(os.path.join(PKI["psk"], "keys.psk"), "w") as f:
        f.write("alice:9f86d081884c7d659a2feaa0c55ad015\n")
    return PKI


def x509(id_, endpoint, d, extra=""):
    return "tls-creds-x509,id=%s,endpoint=%s,dir=%s%s" % (id_, endpoint, d,
                                                         extra)


def nbd_opts(sock=None, port=None, export="", creds=None, hostname=None):
    if sock:
        o = "driver=nbd,server.type=unix,server.path=%s" % sock
    else:
        o = "driver=nbd,server.type=inet,server.host=127.0.0.1," \
            "server.port=%d" % port
    o += ",export=" + export
    if creds:
        o += ",tls-creds=" + creds
    if hostname:
        o += ",tls-hostname=" + hostname
    return o


def qemu_io(opts, objects, *cmds, ok=True, rw=False):
    args = ["qemu-io"]
    for o in objects:
        args += ["--object", o]
    args += ["--image-opts"] + ([] if rw else ["-r"])
    for c in cmds:
        args += ["-c", c]
    return run(*args, opts, ok=ok)


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Vm:
    """kvmpc under qtest with QMP and a raw image as node "disk"."""

    def __init__(self, binary, extra=()):
        self.tmp = tempfile.mkdtemp(prefix="kvmpc-nbd-tls-")
        self.img = os.path.join(self.tmp, "disk.raw")
        with open(self.img, "wb") as f:
            f.truncate(4 * MiB)
        run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 1M",
            "-c", "write -P 0xa5 3M 64k", self.img)
        self.vm, paths = start_qmp_vm(
            binary, extra=["-accel", "qtest", "-blockdev",
                           "driver=file,node-name=disk,filename=" + self.img]
            + list(extra), tmpdir=self.tmp)
        self.q = QMP(paths[0])
        self.sock = os.path.join(self.tmp, "nbd.sock")

    def serve(self, creds, writable=False):
        args = {"addr": {"type": "unix", "data": {"path": self.sock}}}
        if creds:
            args["tls-creds"] = creds
        self.q.ret("nbd-server-start", args)
        self.q.ret("block-export-add", {"type": "nbd", "id": "e0",
                                        "name": "disk", "node-name": "disk",
                                        "writable": writable})

    def close(self):
        self.q.close()
        self.vm.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def image_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# ---- the objects ----------------------------------------------------------

@no_kvm
def test_tls_objects(binary):
    need_tools()
    pki = make_pki()
    # start-up errors: one line, non-zero exit
    tmp = tempfile.mkdtemp(prefix="kvmpc-tls-obj-")
    try:
        for obj, want in [
                ("tls-creds-x509,id=t0,endpoint=server",
                 "Missing 'dir' property value"),
                ("tls-creds-x509,id=t0,endpoint=server,dir=" + tmp,
                 "Unable to access credentials %s/ca-cert.pem: No such file"
                 " or directory" % tmp)]:
            vm = Kvmpc(binary, BASE_ARGS + ["-accel", "qtest", "-object",
                                            obj], tmpdir=tmp)
            check(vm.wait() != 0, "kvmpc started with -object " + obj)
            check(want in vm.stderr(), "%r not in %r" % (want, vm.stderr()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    s = Vm(binary, ["-object", x509("srv", "server", pki["server"]),
                    "-object", "secret,id=sec0,data=x"])
    try:
        q = s.q
        for args, want in [
                ({"endpoint": "both", "dir": pki["server"]},
                 "Parameter 'endpoint' does not accept value 'both'"),
                ({"endpoint": "client", "dir": pki["client"],
                  "verify-peer": "maybe"},
                 "Parameter 'verify-peer' expects 'on' or 'off'"),
                # a server needs its certificate
                ({"endpoint": "server", "dir": pki["client"]},
                 "Unable to access credentials %s/server-cert.pem"
                 % pki["client"]),
                ({"endpoint": "client", "dir": pki["client"], "bogus": 1},
                 "Property 'tls-creds-x509.bogus' not found")]:
            args.update({"qom-type": "tls-creds-x509", "id": "bad"})
            err = q.error("object-add", args)["desc"]
            check(want in err, "%r not in %r" % (want, err))
        err = q.error("object-add", {"qom-type": "tls-creds-psk", "id": "bad",
                                     "endpoint": "client", "username": "bob",
                                     "dir": pki["psk"]})["desc"]
        check_eq(err, "Username bob not found in PSK file %s/keys.psk"
                 % pki["psk"], "PSK error")
        # an encrypted (PKCS #8) server key: passwordid names its secret
        enc = os.path.join(s.tmp, "enc")
        os.makedirs(enc)
        for f in ("ca-cert.pem", "server-cert.pem"):
            shutil.copy(os.path.join(pki["server"], f), enc)
        certtool("--to-p8", "--load-privkey",
                 os.path.join(pki["server"], "server-key.pem"),
                 "--password", "s3cret", "--outfile",
                 os.path.join(enc, "server-key.pem"))
        q.ret("object-add", {"qom-type": "secret", "id": "pw",
                             "data": "s3cret"})
        for pw, want in [(None, "Decryption has failed."),
                         ("nope", "No secret with id 'nope'")]:
            args = {"qom-type": "tls-creds-x509", "id": "bad",
                    "endpoint": "server", "dir": enc}
            if pw:
                args["passwordid"] = pw
            err = q.error("object-add", args)["desc"]
            check(want in err, "%r not in %r" % (want, err))
        q.ret("object-add", {"qom-type": "tls-creds-x509", "id": "encsrv",
                             "endpoint": "server", "dir": enc,
                             "passwordid": "pw"})
        q.ret("object-add", {"qom-type": "tls-creds-x509", "id": "cli",
                             "endpoint": "client", "dir": pki["client"],
                             "verify-peer": False})
        names = {p["name"]: p["type"] for p in
                 q.ret("qom-list", {"path": "/objects"})}
        check_eq(names.get("srv"), "child<tls-creds-x509>", "/objects/srv")
        check_eq(names.get("cli"), "child<tls-creds-x509>", "/objects/cli")
        check_eq(names.get("sec0"), "child<secret>", "/objects/sec0")
        check_eq(q.ret("qom-get", {"path": "/objects/cli",
                                   "property": "type"}),
                 "tls-creds-x509", "type of /objects/cli")
        # nbd-server-start's checks (QEMU 7.2's errors)
        addr = {"type": "unix", "data": {"path": s.sock}}
        for creds, want in [
                ("nope", "No TLS credentials with id 'nope'"),
                ("sec0", "Object with id 'sec0' is not TLS credentials"),
                ("cli", "Expected TLS credentials for a server endpoint")]:
            err = q.error("nbd-server-start", {"addr": addr,
                                               "tls-creds": creds})["desc"]
            check_eq(err, want, "nbd-server-start tls-creds=" + creds)
        # in use by a server, deleted: the server keeps its reference
        q.ret("nbd-server-start", {"addr": addr, "tls-creds": "srv"})
        q.ret("object-del", {"id": "srv"})
        q.ret("object-del", {"id": "cli"})
        names = [p["name"] for p in q.ret("qom-list", {"path": "/objects"})]
        check("srv" not in names and "cli" not in names, str(names))
        q.ret("block-export-add", {"type": "nbd", "id": "e0", "name": "disk",
                                   "node-name": "disk"})
        qemu_io(nbd_opts(sock=s.sock, export="disk", creds="c",
                         hostname="localhost"),
                [x509("c", "client", pki["client"])], "read -P 0x5a 0 64k")
        q.ret("nbd-server-stop")
    finally:
        s.close()


# ---- kvmpc serves ------------------------------------------------------

class RawClient:
    """The option phase by hand, to see what a forced-TLS server says."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        hello = self.recv(18)
        check(hello[:8] == b"NBDMAGIC", "greeting")
        self.s.sendall(struct.pack(">I", 3))    # fixed newstyle, no zeroes

    def recv(self, n):
        b = b""
        while len(b) < n:
            try:
                d = self.s.recv(n - len(b))
            except ConnectionResetError:
                break
            if not d:
                break
            b += d
        return b

    def option(self, opt, data=b""):
        self.s.sendall(struct.pack(">QII", NBD_OPTS_MAGIC, opt, len(data)) +
                       data)

    def reply(self):
        h = self.recv(20)
        check(len(h) == 20, "option reply: got %r" % h)
        magic, opt, rtype, n = struct.unpack(">QIII", h)
        check_eq(magic, NBD_REP_MAGIC, "reply magic")
        return opt, rtype, self.recv(n)

    def closed(self):
        """The server ends the connection (EOF, or a reset when our
        bytes were left unread) within the socket timeout."""
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def go_data(name):
    n = name.encode()
    return struct.pack(">I", len(n)) + n + struct.pack(">H", 0)


@no_kvm
def test_tls_server(binary):
    need_tools()
    pki = make_pki()
    s = Vm(binary, ["-object", x509("srv", "server", pki["server"])])
    good = [x509("c", "client", pki["client"])]
    opts = nbd_opts(sock=s.sock, export="disk", creds="c",
                    hostname="localhost")
    clients = []
    try:
        s.serve("srv", writable=True)
        # the export's bytes through TLS equal the image's
        out = os.path.join(s.tmp, "copy.raw")
        run("qemu-img", "convert", "--object", good[0], "--image-opts",
            opts, "-O", "raw", out)
        check(image_bytes(out) == image_bytes(s.img),
              "the export read through TLS differs from the image")
        qemu_io(opts, good, "write -P 0x3c 2M 128k", "read -P 0x3c 2M 128k",
                rw=True)
        check(image_bytes(s.img)[2 * MiB:2 * MiB + 128 * 1024] ==
              b"\x3c" * 128 * 1024, "the TLS write reached the image")

        # refused: a plain client, one that does not trust our CA, one
        # whose certificate our CA did not sign
        out = qemu_io(nbd_opts(sock=s.sock, export="disk"), [],
                      "read 0 4k", ok=False)
        check("Option 0x7 not permitted before TLS" in out, out)
        out = qemu_io(opts, [x509("c", "client", pki["other-client"])],
                      "read 0 4k", ok=False)
        check("The certificate hasn't got a known issuer" in out, out)
        out = qemu_io(opts, [x509("c", "client", pki["rogue-client"])],
                      "read 0 4k", ok=False)
        check("can't open" in out, out)
        # verify-peer=off on the client: no certificate of its own, which
        # the server asks for and refuses after the handshake
        nocert = os.path.join(s.tmp, "nocert")
        os.makedirs(nocert)
        shutil.copy(os.path.join(pki["client"], "ca-cert.pem"), nocert)
        qemu_io(opts, [x509("c", "client", nocert)], "read 0 4k", ok=False)

        # by hand: everything but ABORT needs TLS first; EXPORT_NAME ends
        c = RawClient(s.sock)
        clients.append(c)
        for opt, data in [(NBD_OPT_GO, go_data("disk")), (NBD_OPT_LIST, b""),
                          (NBD_OPT_STRUCTURED_REPLY, b""), (99, b"")]:
            c.option(opt, data)
            ropt, rtype, msg = c.reply()
            check_eq((ropt, rtype), (opt, NBD_REP_ERR_TLS_REQD),
                     "reply to option %d before TLS" % opt)
            check_eq(msg, b"Option 0x%x not permitted before TLS" % opt,
                     "message")
        c.option(NBD_OPT_STARTTLS, b"x")
        check_eq(c.reply()[1], NBD_REP_ERR_INVALID, "STARTTLS with data")
        c.option(NBD_OPT_EXPORT_NAME, b"disk")
        check(c.closed(), "EXPORT_NAME before TLS: dropped")

        # STARTTLS acknowledged, then: silence (the client waits for us,
        # mid-handshake), garbage, a half-closed socket, pipelined bytes
        stalled = RawClient(s.sock)
        clients.append(stalled)
        stalled.option(NBD_OPT_STARTTLS)
        check_eq(stalled.reply()[:2], (NBD_OPT_STARTTLS, NBD_REP_ACK), "ACK")
        garbage = RawClient(s.sock)
        clients.append(garbage)
        garbage.option(NBD_OPT_STARTTLS)
        garbage.reply()
        garbage.s.sendall(b"\x16\x03\x01\x00\x05hello" + b"\xff" * 64)
        check(garbage.closed(), "garbage instead of a ClientHello: dropped")
        gone = RawClient(s.sock)
        gone.option(NBD_OPT_STARTTLS)
        gone.reply()
        gone.s.sendall(b"\x16\x03\x01\x02")     # a record header, cut
        gone.close()
        piped = RawClient(s.sock)
        clients.append(piped)
        piped.s.sendall(struct.pack(">QII", NBD_OPTS_MAGIC, NBD_OPT_STARTTLS,
                                    0) +
                        struct.pack(">QII", NBD_OPTS_MAGIC, NBD_OPT_GO, 10) +
                        go_data("disk"))
        # the ACK, then the GO is read as a (broken) ClientHello: dropped
        got = piped.recv(1 << 16)       # until the server closes
        check(got[:20] == struct.pack(">QIII", NBD_REP_MAGIC,
                                      NBD_OPT_STARTTLS, NBD_REP_ACK, 0),
              "pipelined after STARTTLS: %r" % got)
        # the main loop never waited for any of them
        s.q.ret("query-block-exports")
        qemu_io(opts, good, "read -P 0x5a 0 64k")
        check(s.vm.alive(), "kvmpc still runs")
        s.q.ret("nbd-server-stop")
        check(stalled.closed(), "nbd-server-stop drops a client mid-handshake")
    finally:
        for c in clients:
            c.close()
        s.close()


@no_kvm
def test_tls_server_psk(binary):
    need_tools()
    pki = make_pki()
    s = Vm(binary, ["-object", "tls-creds-psk,id=srv,endpoint=server,dir=" +
                    pki["psk"]])
    try:
        s.serve("srv")
        psk = "tls-creds-psk,id=c,endpoint=client,username=alice,dir=" + \
            pki["psk"]
        qemu_io(nbd_opts(sock=s.sock, export="disk", creds="c"), [psk],
                "read -P 0x5a 0 1M", "read -P 0xa5 3M 64k")
        qemu_io(nbd_opts(sock=s.sock, export="disk"), [], "read 0 4k",
                ok=False)
        check(s.vm.alive(), "kvmpc still runs")
    finally:
        s.close()


@no_kvm
def test_tls_server_authz(binary):
    """tls-authz: authz-simple lets in the client whose certificate DN
    (or PSK user name) it names, and nobody else; authz-list's rules
    (exact, glob) and default policy."""
    need_tools()
    pki = make_pki()
    s = Vm(binary, ["-object", x509("srv", "server", pki["server"]),
                    "-object", "authz-simple,id=auth0,identity=CN=client"])
    good = [x509("c", "client", pki["client"])]
    opts = nbd_opts(sock=s.sock, export="disk", creds="c",
                    hostname="localhost")
    try:
        q = s.q
        err = q.error("object-add", {"qom-type": "authz-simple",
                                     "id": "auth1"})["desc"]
        check_eq(err, "Parameter 'identity' is missing", "no identity")
        # libvirt's form, the properties under "props"
        q.ret("object-add", {"qom-type": "authz-simple", "id": "auth1",
                             "props": {"identity": "CN=x"}})
        q.ret("object-del", {"id": "auth1"})
        q.ret("nbd-server-start", {"addr": {"type": "unix", "data": {
            "path": s.sock}}, "tls-creds": "srv", "tls-authz": "auth0"})
        q.ret("block-export-add", {"type": "nbd", "id": "e0", "name": "disk",
                                   "node-name": "disk"})
        qemu_io(opts, good, "read -P 0x5a 0 64k")
        # the object is looked up at each connection
        q.ret("object-del", {"id": "auth0"})
        q.ret("object-add", {"qom-type": "authz-simple", "id": "auth0",
                             "identity": "CN=somebody-else"})
        qemu_io(opts, good, "read 0 4k", ok=False)
        wait_for(lambda: "TLS x509 authz check for CN=client is denied" in
                 s.vm.stderr(), what="the refusal on stderr")
        q.ret("object-del", {"id": "auth0"})
        qemu_io(opts, good, "read 0 4k", ok=False)
        wait_for(lambda: "Cannot find QAuthZ object ID auth0" in
                 s.vm.stderr(), what="the missing object on stderr")
        # authz-list: the first matching rule decides, else the policy
        for args, want in [
                ({"policy": "x"}, "Parameter 'policy' does not accept "
                 "value 'x'"),
                ({"rules": [{"match": "a"}]},
                 "Parameter 'rules[0].policy' is missing"),
                ({"rules": [{"match": "a", "policy": "allow",
                             "format": "y"}]},
                 "Parameter 'format' does not accept value 'y'")]:
            err = q.error("object-add", dict(args, **{
                "qom-type": "authz-list", "id": "auth0"}))["desc"]
            check_eq(err, want, "authz-list %r" % args)
        q.ret("object-add", {"qom-type": "authz-list", "id": "auth0",
                             "policy": "deny", "rules": [
                                 {"match": "CN=cl*", "policy": "allow",
                                  "format": "glob"}]})
        qemu_io(opts, good, "read -P 0x5a 0 64k")
        q.ret("object-del", {"id": "auth0"})
        q.ret("object-add", {"qom-type": "authz-list", "id": "auth0",
                             "policy": "allow", "rules": [
                                 {"match": "CN=client", "policy": "deny"}]})
        qemu_io(opts, good, "read 0 4k", ok=False)
        check(s.vm.alive(), "kvmpc still runs")
    finally:
        s.close()


# ---- kvmpc is the client ---------------------------------------------------

class QemuNbd:
    def __init__(self, tmp, image, creds_obj=None, port=None, tag="n"):
        self.sock = os.path.join(tmp, "qemu-nbd-%s.sock" % tag)
        pidfile = os.path.join(tmp, "qemu-nbd-%s.pid" % tag)
        where = (["-b", "127.0.0.1", "-p", str(port)] if port
                 else ["-k", self.sock])
        tls = ["--object", creds_obj, "--tls-creds", "t0"] if creds_obj \
            else []
        run("qemu-nbd", "-t", "-e", "8", "--fork", "--pid-file", pidfile,
            *tls, *where, "-f", "raw", "-x", "exp", image)
        with open(pidfile) as f:
            self.pid = int(f.read())

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self):
        """Until it is gone (a zombie of init's counts)."""
        wait_for(lambda: not os.path.exists("/proc/%d" % self.pid) or
                 open("/proc/%d/stat" % self.pid).read().split()[2] == "Z",
                 what="qemu-nbd to die")


@no_kvm
def test_tls_anon(binary):
    """tls-creds-anon (anonymous DH, no dir): kvmpc's server read by
    qemu-io, kvmpc's client reading qemu-nbd's export, both anonymous;
    a plain client is still refused."""
    need_tools()
    s = Vm(binary, ["-object", "tls-creds-anon,id=srv,endpoint=server",
                    "-object", "tls-creds-anon,id=cli,endpoint=client"])
    anon = "tls-creds-anon,id=c,endpoint=client"
    nbd = None
    try:
        s.serve("srv")
        qemu_io(nbd_opts(sock=s.sock, export="disk", creds="c"), [anon],
                "read -P 0x5a 0 1M", "read -P 0xa5 3M 64k")
        qemu_io(nbd_opts(sock=s.sock, export="disk"), [], "read 0 4k",
                ok=False)
        nbd = QemuNbd(s.tmp, s.img, "tls-creds-anon,id=t0,endpoint=server",
                      tag="anon")
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "n0",
                                 "export": "exp", "tls-creds": "cli",
                                 "server": {"type": "unix",
                                            "path": nbd.sock}})
        # HMP qemu-io prints on kvmpc's stdout
        s.q.ret("human-monitor-command", {
            "command-line": 'qemu-io n0 "read -P 0x5a 0 64k"'})
        wait_for(lambda: "read 65536/65536" in s.vm.stdout(),
                 what="qemu-io's read through the anonymous session")
        check(s.vm.alive(), "kvmpc still runs")
    finally:
        if nbd:
            nbd.kill()
        s.close()


class BadTlsServer:
    """Greets, acknowledges STARTTLS, then sends @after (garbage, or
    nothing: it hangs up) instead of a TLS server's handshake."""

    def __init__(self, path, after):
        import threading
        self.path, self.after = path, after
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(4)
        self.ls.settimeout(10)
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        try:
            c, _ = self.ls.accept()
        except OSError:
            return
        with c:
            c.settimeout(10)
            c.sendall(b"NBDMAGIC" + struct.pack(">QH", NBD_OPTS_MAGIC, 3))
            c.recv(4)                                   # client flags
            hdr = c.recv(16)                            # STARTTLS
            opt = struct.unpack(">QII", hdr)[1] if len(hdr) == 16 else 0
            c.sendall(struct.pack(">QIII", NBD_REP_MAGIC, opt, NBD_REP_ACK, 0))
            if self.after:
                c.sendall(self.after)
                c.recv(4096)                            # its ClientHello
            c.shutdown(socket.SHUT_RDWR)

    def close(self):
        self.ls.close()
        self.t.join(10)


@no_kvm
def test_tls_client(binary):
    need_tools()
    pki = make_pki()
    s = Vm(binary, ["-object", x509("cli", "client", pki["client"]),
                    "-object", x509("srv", "server", pki["server"])])
    servers = []
    try:
        src = os.path.join(s.tmp, "src.raw")
        with open(src, "wb") as f:
            f.truncate(2 * MiB)
        run("qemu-io", "-f", "raw", "-c", "write -P 0x71 0 512k",
            "-c", "write -P 0x17 1M 64k", src)
        port = free_tcp_port()
        tls_obj = x509("t0", "server", pki["server"])
        tcp = QemuNbd(s.tmp, src, tls_obj, port=port, tag="tcp")
        servers.append(tcp)
        unix = QemuNbd(s.tmp, src, tls_obj, tag="unix")
        servers.append(unix)
        plain = QemuNbd(s.tmp, src, tag="plain")
        servers.append(plain)
        tcp_srv = {"type": "inet", "host": "127.0.0.1", "port": str(port)}
        unix_srv = {"type": "unix", "path": unix.sock}
        for args, want in [
                ({"server": tcp_srv, "tls-creds": "nope"},
                 "No TLS credentials with id 'nope'"),
                ({"server": tcp_srv, "tls-creds": "srv"},
                 "Expected TLS credentials for a client endpoint"),
                ({"server": tcp_srv, "tls-creds": "cli",
                  "tls-hostname": "wrong.example"},
                 "Certificate does not match the hostname wrong.example"),
                ({"server": unix_srv, "tls-creds": "cli"},
                 "No hostname for certificate validation"),
                ({"server": {"type": "unix", "path": plain.sock},
                  "tls-creds": "cli", "tls-hostname": "localhost"},
                 "Denied by server for option 5 (starttls): server "
                 "reported: TLS not configured"),
                ({"server": tcp_srv},
                 "server reported: Option 0x7 not permitted before TLS"),
                # "" is no host name (libvirt sends it without --tls)
                ({"server": tcp_srv, "tls-hostname": ""},
                 "server reported: Option 0x7 not permitted before TLS"),
                ({"server": tcp_srv, "tls-hostname": "localhost"},
                 "tls-hostname is set but tls-creds is not")]:
            args.update({"driver": "nbd", "node-name": "bad",
                         "export": "exp", "read-only": True})
            err = s.q.error("blockdev-add", args)["desc"]
            check(want in err, "%r not in %r" % (want, err))
        # a server that breaks the TLS handshake: the open fails cleanly
        for i, after in enumerate([b"\x16\x03\x03\x00\x02\x02\x28" +
                                   b"\xff" * 300, b""]):
            path = os.path.join(s.tmp, "bad%d.sock" % i)
            bad = BadTlsServer(path, after)
            err = s.q.error("blockdev-add", {
                "driver": "nbd", "node-name": "bad", "export": "exp",
                "server": {"type": "unix", "path": path},
                "tls-creds": "cli", "tls-hostname": "localhost"})["desc"]
            check("TLS handshake failed" in err, err)
            bad.close()
        # over TCP the certificate names 127.0.0.1; over unix, localhost
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "n0",
                                 "server": tcp_srv, "export": "exp",
                                 "tls-creds": "cli"})
        s.q.ret("blockdev-add", {"driver": "nbd", "node-name": "n1",
                                 "server": unix_srv, "export": "exp",
                                 "tls-creds": "cli",
                                 "tls-hostname": "localhost",
                                 "read-only": True, "reconnect-delay": 10})
        # kvmpc's own (TLS) export of the nodes shows what it read
        s.q.ret("nbd-server-start", {"addr": {"type": "unix", "data": {
            "path": s.sock}}, "tls-creds": "srv"})
        for node in ("n0", "n1"):
            s.q.ret("block-export-add", {"type": "nbd", "id": node,
                                         "name": node, "node-name": node,
                                         "writable": node == "n0"})
        mine = [x509("c", "client", pki["client"])]
        qemu_io(nbd_opts(sock=s.sock, export="n0", creds="c",
                         hostname="localhost"), mine,
                "read -P 0x71 0 512k", "read -P 0x17 1M 64k",
                "write -P 0x44 1536k 64k", rw=True)
        qemu_io(nbd_opts(sock=s.sock, export="n1", creds="c",
                         hostname="localhost"), mine,
                "read -P 0x71 0 512k", "read -P 0x44 1536k 64k")
        # what kvmpc wrote through TLS is in qemu-nbd's image
        check(image_bytes(src)[1536 * 1024:1600 * 1024] ==
              b"\x44" * 64 * 1024, "kvmpc's TLS write reached the image")
        # a new qemu-nbd on the same socket: n1 reconnects, with a new
        # TLS session, and reads go on
        unix.kill()
        unix.wait()
        unix = QemuNbd(s.tmp, src, tls_obj, tag="unix")
        servers.append(unix)
        qemu_io(nbd_opts(sock=s.sock, export="n1", creds="c",
                         hostname="localhost"), mine,
                "read -P 0x71 0 512k", "read -P 0x17 1M 64k")
        s.q.ret("nbd-server-stop")
        s.q.ret("blockdev-del", {"node-name": "n0"})
        s.q.ret("blockdev-del", {"node-name": "n1"})
        check(s.vm.alive(), "kvmpc still runs")
    finally:
        s.close()
        for x in servers:
            x.kill()


def main():
    if len(sys.argv) > 1:
        need_gnutls(sys.argv[1])
    try:
        run_tests([test_tls_objects, test_tls_server, test_tls_server_psk,
                   test_tls_server_authz, test_tls_anon, test_tls_client])
    finally:
        if PKI:
            shutil.rmtree(PKI["root"], ignore_errors=True)


if __name__ == "__main__":
    main()
