#!/usr/bin/env python3
"""Migration over TLS between two kvmpc processes under -accel qtest
(docs/tls.md "Migration"):

- the parameters tls-creds, tls-hostname, tls-authz: "" when unset,
  set and cleared ("" and null) through QMP and HMP; exec: refused;
- x509 over tcp with verify-peer=on and tls-authz (the client's DN): RAM
  and device registers arrive, and a marker string written into guest
  RAM crosses a capturing proxy only in the plain migration, never in
  the TLS one;
- PSK over a unix socket (with tls-authz on the PSK user name);
- multifd with TLS (each channel its own session);
- refusals against one waiting destination: a source that does not
  trust the destination's CA, a tls-hostname the certificate does not
  name, a client identity tls-authz refuses, unknown credentials: the
  source reports "failed" and keeps running, the destination says why
  and goes on waiting; the same destination then takes a good source.

Certificates: test_nbd_tls.make_pki (certtool, once per run).

    test_migration_tls.py KVMPC [TEST...]
"""
import os
import shutil
import socket
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmplib import (check, check_eq, no_kvm, run_tests,  # noqa: E402
                    wait_for)
from test_migration import (VM, b64write, check_ram,  # noqa: E402
                            check_registers, fill_big, fill_ram, free_port,
                            set_caps, set_registers, wait_incoming_done,
                            wait_listening, wait_status)
import test_nbd_tls  # noqa: E402

MARKER = b"kvmpc-migration-tls-marker-7f3a9c"
CLIENT_DN = "CN=client"


def need_certtool():
    if not shutil.which("certtool"):
        print("SKIP: certtool not installed (Debian's gnutls-bin)")
        sys.exit(77)


def pki():
    need_certtool()
    return test_nbd_tls.make_pki()


def x509(id_, endpoint, who):
    return ["-object", test_nbd_tls.x509(id_, endpoint, pki()[who])]


def psk(id_, endpoint):
    return ["-object", "tls-creds-psk,id=%s,endpoint=%s,dir=%s%s" % (
        id_, endpoint, pki()["psk"],
        ",username=alice" if endpoint == "client" else "")]


def set_params(vm, **kw):
    vm.qmp.ret("migrate-set-parameters",
               {k.replace("_", "-"): v for k, v in kw.items()})


def dest(binary, creds_args, authz=None, extra=()):
    """A destination with -incoming defer whose tls-creds is "tls0"."""
    args = list(creds_args) + ["-incoming", "defer"] + list(extra)
    if authz:
        args += ["-object", "authz-simple,id=auth0,identity=" + authz]
    dst = VM(binary, args)
    set_params(dst, tls_creds="tls0", tls_authz="auth0" if authz else "")
    return dst


class Proxy:
    """tcp 127.0.0.1:PORT -> @target, keeping a copy of what the source
    sent."""

    def __init__(self, target):
        self.target = target
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.captured = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _pump(self, a, b, capture):
        try:
            while True:
                data = a.recv(1 << 20)
                if not data:
                    break
                if capture:
                    with self.lock:
                        self.captured += data
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(c, u, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False),
                             daemon=True).start()

    def close(self):
        self.lsock.close()


def migrate_ok(src, dst, uri):
    src.qmp.ret("migrate", {"uri": uri})
    info = wait_status(src.qmp)
    check_eq(info["status"], "completed", "migration to %s (%r)" % (uri, info))
    wait_incoming_done(dst)
    return info


def migrate_fails(src, uri, want):
    src.qmp.ret("migrate", {"uri": uri})
    info = wait_status(src.qmp)
    check_eq(info["status"], "failed", "migration to %s (%r)" % (uri, info))
    print("  refused: %s" % info.get("error-desc"))
    if want:
        check(want in info.get("error-desc", ""),
              "error-desc %r lacks %r" % (info, want))
    check_eq(src.qmp.ret("query-status")["status"], "running",
             "the source after a refused migration")


def marker_source(binary, creds_args=()):
    src = VM(binary, list(creds_args))
    expect = fill_ram(src, 7)
    b64write(src, 0x200000, MARKER * 4)
    set_registers(src, 0x2468ace)
    return src, expect


# ---- parameters ----------------------------------------------------------

@no_kvm
def test_parameters(binary):
    src = VM(binary, x509("tls0", "client", "client"))
    try:
        p = src.qmp.ret("query-migrate-parameters")
        for k in ("tls-creds", "tls-hostname", "tls-authz"):
            check_eq(p[k], "", "unset " + k)
        set_params(src, tls_creds="tls0", tls_hostname="host.example",
                   tls_authz="a0")
        p = src.qmp.ret("query-migrate-parameters")
        check_eq((p["tls-creds"], p["tls-hostname"], p["tls-authz"]),
                 ("tls0", "host.example", "a0"), "set")
        set_params(src, tls_hostname=None, tls_authz="")
        p = src.qmp.ret("query-migrate-parameters")
        check_eq((p["tls-hostname"], p["tls-authz"]), ("", ""), "cleared")
        info = src.hmp.command("info migrate_parameters")
        check("tls-creds: 'tls0'" in info and "tls-hostname: ''" in info
              and "tls-authz: ''" in info, info)
        src.hmp.command('migrate_set_parameter tls-creds ""')
        src.hmp.command("migrate_set_parameter tls-hostname other.example")
        info = src.hmp.command("info migrate_parameters")
        check("tls-creds: ''" in info and
              "tls-hostname: 'other.example'" in info, info)
        set_params(src, tls_creds="tls0")
        err = src.qmp.error("migrate", {"uri": "exec:cat >/dev/null"})
        check("tcp:, unix: or socket fd:" in err["desc"], err)
        # unknown credentials: QEMU 7.2 reports them when migrating
        set_params(src, tls_creds="nosuch")
        port = free_port()
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", port))
        lsock.listen(1)
        migrate_fails(src, "tcp:127.0.0.1:%d" % port,
                      "No TLS credentials with id 'nosuch'")
        lsock.close()
    finally:
        src.close()


# ---- good migrations -----------------------------------------------------

@no_kvm
def test_x509_tcp_encrypted(binary):
    """Plain, then TLS, through a capturing proxy: the marker shows in
    the first capture only; both destinations get the same guest."""
    port = free_port()
    uri = "tcp:127.0.0.1:%d" % port
    src, expect = marker_source(binary, x509("tls0", "client", "client"))
    dst = dst2 = proxy = None
    try:
        # plain: the proxy sees guest RAM
        dst = VM(binary, ["-incoming", uri])
        wait_listening(port)
        proxy = Proxy(("127.0.0.1", port))
        migrate_ok(src, dst, "tcp:127.0.0.1:%d" % proxy.port)
        check(MARKER in proxy.captured, "the plain stream carries the marker")
        dst.close()
        dst = None
        proxy.close()
        src.qmp.ret("cont")
        # TLS, verify-peer=on, tls-authz on the client's DN
        dst2 = dest(binary, x509("tls0", "server", "server"),
                    authz=CLIENT_DN)
        dst2.qmp.ret("migrate-incoming", {"uri": uri})
        wait_listening(port)
        proxy = Proxy(("127.0.0.1", port))
        set_params(src, tls_creds="tls0", tls_hostname="localhost")
        migrate_ok(src, dst2, "tcp:127.0.0.1:%d" % proxy.port)
        check(len(proxy.captured) > 64 * 1024, "the proxy saw the stream")
        check(MARKER not in proxy.captured,
              "the marker crossed the wire in clear under TLS")
        check_ram(dst2, expect)
        check_registers(dst2, 0x2468ace)
        check_eq(dst2.qmp.ret("query-status")["status"], "running",
                 "destination")
    finally:
        for vm in (src, dst, dst2):
            if vm:
                vm.close()
        if proxy:
            proxy.close()


@no_kvm
def test_psk_unix(binary):
    d = tempfile.mkdtemp(prefix="kvmpc-mig-tls-")
    sock = os.path.join(d, "mig.sock")
    src, expect = marker_source(binary, psk("tls0", "client"))
    dst = None
    try:
        dst = dest(binary, psk("tls0", "server"), authz="alice")
        dst.qmp.ret("migrate-incoming", {"uri": "unix:" + sock})
        wait_for(lambda: os.path.exists(sock))
        set_params(src, tls_creds="tls0")
        migrate_ok(src, dst, "unix:" + sock)
        check_ram(dst, expect)
        check_registers(dst, 0x2468ace)
    finally:
        src.close()
        if dst:
            dst.close()
        shutil.rmtree(d, ignore_errors=True)


@no_kvm
def test_anon(binary):
    """tls-creds-anon: encrypted, unauthenticated (QEMU's ANON-DH)."""
    port = free_port()
    uri = "tcp:127.0.0.1:%d" % port
    anon = ["-object", "tls-creds-anon,id=tls0,endpoint=%s"]
    src, expect = marker_source(binary, [anon[0], anon[1] % "client"])
    dst = None
    try:
        dst = dest(binary, [anon[0], anon[1] % "server"])
        dst.qmp.ret("migrate-incoming", {"uri": uri})
        wait_listening(port)
        set_params(src, tls_creds="tls0")
        migrate_ok(src, dst, uri)
        check_ram(dst, expect)
    finally:
        src.close()
        if dst:
            dst.close()


@no_kvm
def test_multifd(binary):
    port = free_port()
    uri = "tcp:127.0.0.1:%d" % port
    src, expect = marker_source(binary, x509("tls0", "client", "client"))
    dst = None
    try:
        dst = dest(binary, x509("tls0", "server", "server"))
        for vm in (src, dst):
            vm.qmp.ret("migrate-set-capabilities", {"capabilities": [
                {"capability": "multifd", "state": True}]})
            set_params(vm, multifd_channels=3)
        dst.qmp.ret("migrate-incoming", {"uri": uri})
        wait_listening(port)
        set_params(src, tls_creds="tls0")
        info = migrate_ok(src, dst, uri)
        check(info["ram"].get("multifd-bytes", 0) > 0,
              "RAM went over the multifd channels: %r" % info["ram"])
        check_ram(dst, expect)
    finally:
        src.close()
        if dst:
            dst.close()


@no_kvm
def test_postcopy_recover(binary):
    """Postcopy over TLS (PSK, unix): the destination asks for pages on
    the return path (inside the main session); the link is cut
    (migrate-pause) and a new TLS connection resumes it."""
    d = tempfile.mkdtemp(prefix="kvmpc-mig-tls-pc-")
    sock = os.path.join(d, "mig.sock")
    src = VM(binary, psk("tls0", "client"))
    dst = None
    try:
        expect = fill_big(src, 61, size=2 << 20)
        dst = dest(binary, psk("tls0", "server"))
        for vm in (src, dst):
            set_caps(vm, "postcopy-ram")
        set_params(src, tls_creds="tls0", max_bandwidth=2 << 20,
                   max_postcopy_bandwidth=2 << 20)
        dst.qmp.ret("migrate-incoming", {"uri": "unix:" + sock})
        wait_for(lambda: os.path.exists(sock))
        src.qmp.ret("migrate", {"uri": "unix:" + sock})
        src.qmp.ret("migrate-start-postcopy")
        wait_status(src.qmp, ("postcopy-active",))
        wait_status(dst.qmp, ("postcopy-active",))
        # a read of a page still on the source: a request on the return
        # path, the page on the stream
        check_ram(dst, {0x400000: expect[0x400000][:4096]})
        src.qmp.ret("migrate-pause")
        wait_status(src.qmp, ("postcopy-paused",))
        wait_status(dst.qmp, ("postcopy-paused",))
        rsock = os.path.join(d, "recover.sock")
        dst.qmp.ret("migrate-recover", {"uri": "unix:" + rsock})
        src.qmp.ret("migrate", {"uri": "unix:" + rsock, "resume": True})
        info = wait_status(src.qmp, timeout=60)
        check_eq(info["status"], "completed", "status (%r)" % info)
        check(info["ram"]["postcopy-requests"] > 0,
              "pages asked for on the return path: %r" % info["ram"])
        wait_status(dst.qmp, ("completed",))
        check_ram(dst, expect)
    finally:
        src.close()
        if dst:
            dst.close()
        shutil.rmtree(d, ignore_errors=True)


@no_kvm
def test_fd(binary):
    """fd: (a connected socket, as libvirt passes): x509 needs
    tls-hostname there; with it, the stream arrives."""
    src, expect = marker_source(binary, x509("tls0", "client", "client"))
    dsts = []
    try:
        set_params(src, tls_creds="tls0")
        for hostname in ("", "localhost"):
            a, b = socket.socketpair()
            dst = dest(binary, x509("tls0", "server", "server"))
            dsts.append(dst)
            req = b'{"execute": "getfd", "arguments": {"fdname": "in"}}\n'
            socket.send_fds(dst.qmp.sock, [req], [b.fileno()])
            check_eq(dst.qmp.recv_reply(), {"return": {}}, "getfd")
            dst.qmp.ret("migrate-incoming", {"uri": "fd:in"})
            req = b'{"execute": "getfd", "arguments": {"fdname": "mig"}}\n'
            socket.send_fds(src.qmp.sock, [req], [a.fileno()])
            check_eq(src.qmp.recv_reply(), {"return": {}}, "getfd")
            a.close()
            b.close()
            set_params(src, tls_hostname=hostname)
            if not hostname:
                migrate_fails(src, "fd:mig",
                              "No hostname for certificate validation")
                # nothing else can come on that fd: a broken stream (the
                # server's side of a TLS 1.3 handshake may have ended
                # before the client checked the name)
                check_eq(dst.proc.wait(10), 1, "the destination exits 1")
                check("load of migration failed: " in dst.proc.stderr(),
                      dst.proc.stderr()[-400:])
            else:
                migrate_ok(src, dst, "fd:mig")
                check_ram(dst, expect)
    finally:
        src.close()
        for dst in dsts:
            dst.close()


# ---- refusals --------------------------------------------------------------

@no_kvm
def test_refusals(binary):
    """One destination (x509, verify-peer=on, tls-authz) refuses several
    sources, then takes a good one."""
    port = free_port()
    uri = "tcp:127.0.0.1:%d" % port
    src, expect = marker_source(
        binary, x509("tls0", "client", "client") +
        x509("wrongca", "client", "other-client") +
        x509("srv", "server", "server"))
    dst = None
    try:
        dst = dest(binary, x509("tls0", "server", "server"),
                   authz="CN=somebody-else")
        dst.qmp.ret("migrate-incoming", {"uri": uri})
        wait_listening(port)
        # the source does not trust the destination's CA
        set_params(src, tls_creds="wrongca")
        migrate_fails(src, uri, "The certificate hasn't got a known issuer")
        # the certificate does not name this host
        set_params(src, tls_creds="tls0", tls_hostname="wrong.example")
        migrate_fails(src, uri,
                      "Certificate does not match the hostname wrong.example")
        # credentials for the wrong end
        set_params(src, tls_creds="srv", tls_hostname="")
        migrate_fails(src, uri, "Expected TLS credentials for a client "
                      "endpoint")
        # the destination's tls-authz refuses CN=client
        set_params(src, tls_creds="tls0")
        migrate_fails(src, uri, None)
        wait_for(lambda: "TLS x509 authz check for CN=client is denied" in
                 dst.proc.stderr(), what="the authz refusal on stderr")
        check_eq(dst.qmp.ret("query-status")["status"], "inmigrate",
                 "the destination after refusals")
        # let CN=client in: the same destination takes the stream
        dst.qmp.ret("object-del", {"id": "auth0"})
        dst.qmp.ret("object-add", {"qom-type": "authz-simple",
                                   "id": "auth0", "identity": CLIENT_DN})
        migrate_ok(src, dst, uri)
        check_ram(dst, expect)
    finally:
        src.close()
        if dst:
            dst.close()


@no_kvm
def test_plain_source_refused(binary):
    """A destination with tls-creds refuses a plain stream and goes on
    waiting; a source with TLS to a plain destination fails."""
    port = free_port()
    uri = "tcp:127.0.0.1:%d" % port
    src, _ = marker_source(binary, x509("tls0", "client", "client"))
    dst = None
    try:
        dst = dest(binary, x509("tls0", "server", "server"))
        dst.qmp.ret("migrate-incoming", {"uri": uri})
        wait_listening(port)
        migrate_fails(src, uri, None)
        wait_for(lambda: "TLS handshake failed" in dst.proc.stderr(),
                 what="the destination's handshake error")
        check_eq(dst.qmp.ret("query-status")["status"], "inmigrate",
                 "the destination after a plain source")
    finally:
        src.close()
        if dst:
            dst.close()


def main():
    if len(sys.argv) > 1:
        test_nbd_tls.need_gnutls(sys.argv[1])
    try:
        run_tests([test_parameters, test_x509_tcp_encrypted, test_psk_unix,
                   test_anon, test_multifd, test_postcopy_recover, test_fd,
                   test_refusals, test_plain_source_refused])
    finally:
        if test_nbd_tls.PKI:
            shutil.rmtree(test_nbd_tls.PKI["root"], ignore_errors=True)


if __name__ == "__main__":
    main()
