#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""zchttpd's HTTP semantics on raw sockets (run by asan-test.sh on the host).

semantics-test.py PORT PID WWW         against a running server (--header-timeout 10)
semantics-test.py --emfile PORT PID    a server started with a small RLIMIT_NOFILE
                                       and --header-timeout 2

Prints "ok - ..." / "not ok - ..." lines; exit 1 on any failure.
"""
import os
import socket
import sys
import time

fails = 0


def check(name, cond, diag=""):
    global fails
    if cond:
        print(f"ok - {name}")
    else:
        fails += 1
        print(f"not ok - {name}: {diag}")


def exchange(port, data, wait=2.0, until_close=True):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(data)
    s.settimeout(wait)
    out = b""
    try:
        while True:
            d = s.recv(1 << 16)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    s.close()
    return out


def status(resp):
    line = resp.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0


def header(resp, name):
    for line in resp.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name.lower().encode():
            return v.strip().decode()
    return None


def body(resp):
    return resp.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in resp else b""


def get(port, path, extra=b"", version=b"1.1", host=b"Host: x\r\n"):
    return exchange(port, b"GET " + path + b" HTTP/" + version + b"\r\n" + host +
                    extra + b"Connection: close\r\n\r\n")


def semantics(port, pid, www):
    want = open(os.path.join(www, "f4097"), "rb").read()
    r = get(port, b"/f4097")
    etag, lm = header(r, "ETag"), header(r, "Last-Modified")
    check("validators present", status(r) == 200 and etag and lm, r[:200])

    # If-Range (RFC 9110 13.1.5): the range only if the validator is current
    r = get(port, b"/f4097", b"Range: bytes=100-\r\nIf-Range: " + etag.encode() + b"\r\n")
    check("If-Range with the current ETag: 206", status(r) == 206 and body(r) == want[100:],
          r[:200])
    r = get(port, b"/f4097", b'Range: bytes=100-\r\nIf-Range: "stale"\r\n')
    check("If-Range with another ETag: 200, the whole file",
          status(r) == 200 and body(r) == want, r[:200])
    r = get(port, b"/f4097", b"Range: bytes=100-\r\nIf-Range: " + lm.encode() + b"\r\n")
    check("If-Range with the Last-Modified date: 206", status(r) == 206, r[:200])
    r = get(port, b"/f4097",
            b"Range: bytes=100-\r\nIf-Range: Thu, 01 Jan 1970 00:00:01 GMT\r\n")
    check("If-Range with another date: 200", status(r) == 200 and body(r) == want, r[:200])

    # If-Match, If-Unmodified-Since (RFC 9110 13.1.1, 13.1.4): 412 when false
    r = get(port, b"/f4097", b'If-Match: "nope"\r\n')
    check("If-Match another ETag: 412", status(r) == 412 and not header(r, "Content-Range"),
          r[:200])
    r = get(port, b"/f4097", b"If-Match: " + etag.encode() + b"\r\n")
    check("If-Match the ETag: 200", status(r) == 200 and body(r) == want, r[:200])
    r = get(port, b"/f4097", b"If-Match: W/" + etag.encode() + b"\r\n")
    check("If-Match a weak ETag (strong comparison): 412", status(r) == 412, r[:200])
    r = get(port, b"/f4097", b'If-Match: "a", ' + etag.encode() + b"\r\n")
    check("If-Match a list with the ETag: 200", status(r) == 200, r[:200])
    r = get(port, b"/f4097", b"If-Match: *\r\n")
    check("If-Match *: 200", status(r) == 200, r[:200])
    r = get(port, b"/f4097", b"If-Unmodified-Since: Thu, 01 Jan 1970 00:00:01 GMT\r\n")
    check("If-Unmodified-Since before the mtime: 412", status(r) == 412, r[:200])
    r = get(port, b"/f4097", b"If-Unmodified-Since: " + lm.encode() + b"\r\n")
    check("If-Unmodified-Since the mtime: 200", status(r) == 200, r[:200])
    r = get(port, b"/f4097", b"If-Match: " + etag.encode() +
            b"\r\nIf-Unmodified-Since: Thu, 01 Jan 1970 00:00:01 GMT\r\n")
    check("If-Match true wins over If-Unmodified-Since: 200", status(r) == 200, r[:200])

    # Host (RFC 9112 3.2)
    r = get(port, b"/f1", host=b"")
    check("HTTP/1.1 without Host: 400", status(r) == 400, r[:200])
    r = get(port, b"/f1", host=b"Host: a\r\nHost: b\r\n")
    check("HTTP/1.1 with two Host fields: 400", status(r) == 400, r[:200])
    r = get(port, b"/f1", version=b"1.0", host=b"")
    check("HTTP/1.0 without Host: 200", status(r) == 200, r[:200])
    # a later HTTP/1 minor version is answered as 1.1 (RFC 9110 2.5)
    r = get(port, b"/f1", version=b"1.2")
    check("HTTP/1.2: 200", status(r) == 200 and r.startswith(b"HTTP/1.1 "), r[:200])
    r = get(port, b"/f1", version=b"2.0")
    check("HTTP/2.0 on this port: 505", status(r) == 505, r[:200])

    # a directory named without its slash: 301 to it with one, as nginx
    r = get(port, b"/dir?q=1")
    check("a directory without its slash: 301 Location /dir/?q=1",
          status(r) == 301 and header(r, "Location") == "/dir/?q=1", r[:300])
    r = get(port, b"/dir?" + b"q" * 900)
    check("a redirect whose Location would not fit: 414, a whole response",
          status(r) == 414 and header(r, "Content-Length") is not None, r[:200])
    r = get(port, b"/dir/")
    check("the directory with its slash: its index.html",
          status(r) == 200 and body(r) == b"index\n", r[:200])

    # every thread but the one in sigwait() blocks SIGHUP, SIGINT, SIGTERM
    need = (1 << 0) | (1 << 1) | (1 << 14)
    open_ = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        if int(tid) == pid:
            continue	# sigwait() unblocks the set while it waits
        for line in open(f"/proc/{pid}/task/{tid}/status"):
            if line.startswith("SigBlk:") and int(line.split()[1], 16) & need != need:
                open_.append(tid)
    check("SIGHUP, SIGINT, SIGTERM blocked in every other thread", not open_,
          f"threads {open_} leave them unblocked")


def emfile(port, pid):
    # empty lines before a request (RFC 9112 2.2) start no request: no 408
    r = exchange(port, b"GET /f1 HTTP/1.1\r\nHost: x\r\n\r\n\r\n", wait=5)
    check("a CRLF after a request: one response, no 408 later",
          r.count(b"HTTP/1.1 ") == 1 and b" 408 " not in r, r[-200:])

    first = socket.create_connection(("127.0.0.1", port))
    more = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    time.sleep(1)

    def cpu():
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    c0 = cpu()
    time.sleep(2)
    spent = cpu() - c0
    check("out of descriptors: the worker does not spin", spent < 0.5,
          f"{spent:.2f} s of CPU in 2 s")
    first.sendall(b"GET /f1 HTTP/1.1\r\nHost: x\r\n\r\n")
    first.settimeout(5)
    r = first.recv(4096)
    check("out of descriptors: the open connection gets 500, not 403",
          status(r) == 500, r[:200])
    for s in more:
        s.close()
    first.close()
    time.sleep(2.5)
    r = get(port, b"/f1")
    check("descriptors back: the next connection is served", status(r) == 200, r[:200])


if sys.argv[1] == "--emfile":
    emfile(int(sys.argv[2]), int(sys.argv[3]))
else:
    semantics(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
sys.exit(1 if fails else 0)
