#!/usr/bin/env python3
"""kvmpc-img's --image-opts, --target-image-opts and --object, and json:
pseudo-filenames (kvmpc-img arguments, qcow2 backing file names, -drive
file=), against Debian's qemu-img 7.2 on the same images: the same
output, the same error lines (after the program's name).

  test-img-opts.py KVMPC_IMG KVMPC

Skips (77) without qemu-img.  TAP output.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

KIMG, KVMPC = (os.path.abspath(a) for a in sys.argv[1:3])
results = []


def run(*cmd, stdin=None):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60, input=stdin)


def kimg(*args):
    return run(KIMG, *args)


def qimg(*args):
    return run("qemu-img", *args)


def err_line(p):
    """The error without the program's name ("kvmpc-img: ", "qemu-img: ")."""
    line = p.stderr.strip().splitlines()[0] if p.stderr.strip() else ""
    return line.split(": ", 1)[1] if ": " in line else line


def case(name):
    def wrap(fn):
        results.append((name, fn))
        return fn
    return wrap


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def check_eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def same_as_qemu(*args, status=None):
    """Run both tools; stdout, status and the error line must agree."""
    k, q = kimg(*args), qimg(*args)
    check_eq(k.stdout, q.stdout, "stdout of %s" % " ".join(args))
    check_eq(err_line(k), err_line(q), "error of %s" % " ".join(args))
    check_eq(k.returncode, q.returncode, "status of %s" % " ".join(args))
    if status is not None:
        check_eq(k.returncode, status, "status")
    return k


def opts(img, fmt="qcow2", **extra):
    o = "driver=%s,file.filename=%s" % (fmt, img)
    return o + "".join(",%s=%s" % (k.replace("_", "."), v)
                       for k, v in extra.items())


@case("info, check, map through --image-opts are qemu-img's")
def _():
    for o in (opts(QCOW2), opts(QCOW2, file_driver="file"),
              "file.filename=%s" % QCOW2,             # format probed
              opts(RAW, "raw", file_aio="threads", file_locking="off")):
        same_as_qemu("info", "--output=json", "--image-opts", o, status=0)
        if "qcow2" in o:
            same_as_qemu("check", "--image-opts", o, status=0)
        same_as_qemu("map", "--output=json", "--image-opts", o, status=0)


@case("convert and compare through --image-opts")
def _():
    out = os.path.join(TMP, "conv.raw")
    p = kimg("convert", "--image-opts", opts(QCOW2), "-O", "raw", out)
    check_eq(p.returncode, 0, "convert: " + p.stderr)
    check_eq(qimg("compare", QCOW2, out).returncode, 0, "qemu-img compare")
    same_as_qemu("compare", "--image-opts", opts(QCOW2), opts(out, "raw"),
                 status=0)
    # into an existing image given by options (-n), as qemu-img
    tgt = os.path.join(TMP, "tgt.raw")
    qimg("create", "-f", "raw", tgt, "4M")
    p = kimg("convert", "-n", "--target-image-opts", QCOW2,
             opts(tgt, "raw"))
    check_eq(p.returncode, 0, "convert -n: " + p.stderr)
    check_eq(qimg("compare", QCOW2, tgt).returncode, 0, "target content")
    same_as_qemu("convert", "--target-image-opts", QCOW2, opts(tgt, "raw"))
    same_as_qemu("convert", "-n", "-O", "raw", "--target-image-opts", QCOW2,
                 opts(tgt, "raw"))


@case("--image-opts errors are qemu-img's")
def _():
    same_as_qemu("info", "-f", "qcow2", "--image-opts", opts(QCOW2))
    same_as_qemu("info", "-U", "--image-opts",
                 opts(QCOW2) + ",force-share=off")
    same_as_qemu("info", "--image-opts", opts(QCOW2, foo="1"))
    same_as_qemu("info", "--image-opts", opts(QCOW2, file_foo="1"))
    same_as_qemu("info", "--image-opts", "driver=nope,file.filename=x")
    same_as_qemu("create", "--image-opts", "-f", "raw",
                 os.path.join(TMP, "never"), "1M")


@case("json: filenames on the command line")
def _():
    for j in ({"driver": "qcow2",
               "file": {"driver": "file", "filename": QCOW2}},
              {"driver": "qcow2", "file.filename": QCOW2},
              {"file": {"driver": "file", "filename": QCOW2}},
              {"driver": "qcow2", "file": {"filename": QCOW2},
               "backing": None}):
        same_as_qemu("info", "--output=json", "json:" + json.dumps(j),
                     status=0)
    # -f names the root's driver, as qemu-img's
    same_as_qemu("info", "--output=json", "-f", "qcow2",
                 'json:{"file.filename": "%s"}' % QCOW2, status=0)
    for bad in ('json:{"filename": "%s"}' % QCOW2, "json:[1]", "json:{}",
                'json:{"driver": "qcow2", "file.filename": "%s", "x": 1}'
                % QCOW2):
        same_as_qemu("info", bad, status=1)
    p = kimg("info", 'json:{"driver"')
    check(p.returncode == 1 and "Could not parse the JSON options: " in
          p.stderr, "bad JSON: " + p.stderr)


@case("a json: backing file name written by qemu-img")
def _():
    top = os.path.join(TMP, "top.qcow2")
    back = json.dumps({"driver": "qcow2", "file": {"driver": "file",
                                                   "filename": QCOW2}})
    p = qimg("create", "-f", "qcow2", "-b", "json:" + back, "-F", "qcow2",
             top)
    check_eq(p.returncode, 0, "qemu-img create: " + p.stderr)
    same_as_qemu("compare", top, QCOW2, status=0)
    chain = json.loads(kimg("info", "--output=json", "--backing-chain",
                            top).stdout)
    check_eq([c["filename"] for c in chain], [top, QCOW2], "the chain")
    check_eq(chain[0]["backing-filename"], "json:" + back, "backing name")
    same_as_qemu("check", top, status=0)
    # written by kvmpc-img too (rebase -u keeps the name as given)
    p = kimg("rebase", "-u", "-F", "qcow2", "-b", "json:" + back,
             "--image-opts", opts(top))
    check_eq(p.returncode, 0, "rebase: " + p.stderr)
    same_as_qemu("compare", top, QCOW2, status=0)
    # an image that is its own json: backing file: an error, not a hang
    loop = os.path.join(TMP, "loop.qcow2")
    qimg("create", "-f", "qcow2", "-u", "-F", "qcow2", "-b",
         'json:{"driver":"qcow2","file.filename":"%s"}' % loop, loop, "1M")
    p = kimg("info", "--backing-chain", loop)
    check(p.returncode == 1 and "backing file loop" in p.stderr,
          "loop: " + p.stderr)


@case("-drive file=json: in kvmpc")
def _():
    spec = json.dumps({"driver": "qcow2", "file": {"driver": "file",
                                                   "filename": QCOW2}})
    qmp = ('{"execute":"qmp_capabilities"}\n{"execute":"query-block"}\n'
           '{"execute":"quit"}\n')
    p = run(KVMPC, "-machine", "pc", "-accel", "qtest", "-display", "none",
            "-nodefaults", "-qmp", "stdio", "-drive",
            "if=none,id=d0,file=json:" + spec.replace(",", ",,"), stdin=qmp)
    replies = [json.loads(line) for line in p.stdout.splitlines()]
    blocks = [r["return"] for r in replies
              if isinstance(r.get("return"), list)]
    check(blocks, "no query-block reply: " + p.stderr)
    check_eq(blocks[0][0]["inserted"]["drv"], "qcow2", "format")
    check_eq(blocks[0][0]["inserted"]["file"], QCOW2, "file")


@case("--object: qemu-img's types and errors")
def _():
    p = kimg("info", "--object", "secret,id=s0,data=x", QCOW2)
    check_eq(p.returncode, 0, "secret: " + p.stderr)
    same_as_qemu("info", "--object", "iothread,id=io0", QCOW2)
    same_as_qemu("info", "--object", "rng-random,id=r0", QCOW2)
    same_as_qemu("info", "--object", "nope,id=x", QCOW2)
    same_as_qemu("info", "--object", "secret,data=x", QCOW2)
    same_as_qemu("bench", "--object", "secret,id=s0,data=x", QCOW2)
    p = kimg("info", "--object", "secret,id=s0", QCOW2)
    check(p.returncode == 1, "secret without data is refused")
    p = kimg("info", "--object", "help")
    check_eq(p.returncode, 0, "--object help")
    check("  secret\n" in p.stdout and "iothread" not in p.stdout,
          "--object help: " + p.stdout)


@case("--object tls-creds-psk for an NBD export given by --image-opts")
def _():
    if not shutil.which("qemu-nbd"):
        return "skip no qemu-nbd"
    psk = os.path.join(TMP, "psk")
    os.makedirs(psk)
    with open(os.path.join(psk, "keys.psk"), "w") as f:
        f.write("alice:9f86d081884c7d659a2feaa0c55ad015\n")
    sock = os.path.join(TMP, "nbd.sock")
    srv = subprocess.Popen(["qemu-nbd", "--object",
                            "tls-creds-psk,id=t0,endpoint=server,dir=" + psk,
                            "--tls-creds", "t0", "-k", sock, "-x", "ex",
                            "-f", "qcow2", "-r", "-t", QCOW2],
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        nbd = ("driver=nbd,server.type=unix,server.path=%s,export=ex,"
               "tls-creds=t0" % sock)
        creds = "tls-creds-psk,id=t0,endpoint=client,dir=%s,username=alice" \
            % psk
        p = kimg("compare", "--object", creds, "--image-opts",
                 "driver=raw,file.driver=nbd,file.server.type=unix,"
                 "file.server.path=%s,file.export=ex,file.tls-creds=t0"
                 % sock, opts(QCOW2))
        check_eq((p.returncode, p.stdout), (0, "Images are identical.\n"),
                 "compare over TLS: " + p.stderr)
        p = kimg("info", "--image-opts", nbd)
        check(p.returncode == 1 and
              "No TLS credentials with id 't0'" in p.stderr,
              "without --object: " + p.stderr)
    finally:
        srv.kill()
        srv.wait()


def main():
    global TMP, QCOW2, RAW
    if not shutil.which("qemu-img"):
        print("1..0 # SKIP qemu-img not installed")
        return 77
    print("1..%d" % len(results))
    failed = 0
    with tempfile.TemporaryDirectory() as TMP:
        QCOW2 = os.path.join(TMP, "a.qcow2")
        RAW = os.path.join(TMP, "a.raw")
        qimg("create", "-f", "qcow2", QCOW2, "4M")
        run("qemu-io", "-c", "write -P 7 0 64k", "-c",
            "write -z 1M 64k", "-c", "write -P 9 2M 128k", QCOW2)
        qimg("convert", "-O", "raw", QCOW2, RAW)
        for i, (name, fn) in enumerate(results, 1):
            try:
                skip = fn()
                print("ok %d %s%s" % (i, name,
                                      " # SKIP " + skip[5:] if skip else ""))
            except Exception as e:          # report and go on
                failed += 1
                print("not ok %d %s: %s" % (i, name, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
