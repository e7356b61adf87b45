"""libsynwave-preload.so call by call: preload-tool (preload_tool.c, a plain C program that knows
nothing of synwave) runs under synwave-run against a kernel echo server in the namespace, and checks
every call an unmodified program makes on a TCP socket: descriptor numbers, fcntl and ioctl flags,
bytes through read/write/readv/writev/send/recv/sendmsg/recvmsg/sendfile, options, dup/dup2/dup3,
poll/select/epoll over a pipe and a synwave socket in one set, SO_RCVTIMEO, the end of a
connection. Then a 127.0.0.1 listener and client (handed to the kernel with their options), and a
program started when no daemon runs (socket() fails naming the prefix, or falls back to the kernel
with --fallback).

Programs (nginx, redis, curl, ...) through synwave-run are test_preload.py's.
"""

import os
import re
import subprocess
import sys
import time

import harness

ECHO_PORT = 7000

# A kernel echo server on KERNEL_IP: every connection gets its bytes back until EOF.
ECHO_SERVER = f"""
import socket, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('{harness.KERNEL_IP}', {ECHO_PORT}))
srv.listen(16)
srv.settimeout(60)
print('listening', flush=True)
def echo(c):
    c.settimeout(30)
    while True:
        data = c.recv(65536)
        if not data:
            break
        c.sendall(data)
    c.close()
while True:
    c, peer = srv.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
"""


def run_bin():
    return os.environ.get("SYNWAVE_RUN_BIN", "../../build/app/synwave-run/synwave-run")


def tool_bin():
    return os.environ.get("SYNWAVE_PRELOAD_TOOL_BIN", "../../build/tests/integration/preload-tool")


def preloaded(prefix, *args, extra=()):
    return subprocess.run([run_bin(), "--prefix", prefix, *extra, "--", tool_bin(), *args],
                          capture_output=True, text=True, timeout=60)


def checks(out):
    """{name: passed} from the tool's "ok NAME" / "FAIL NAME: why" lines."""
    result = {}
    for line in out.splitlines():
        match = re.match(r"^(ok|FAIL) ([\w-]+)", line)
        if match:
            result[match.group(2)] = match.group(1) == "ok"
    return result


def test_socket_calls_against_kernel_echo_server():
    with harness.Stack("plcalls") as stack:
        server = subprocess.Popen(["ip", "netns", "exec", stack.netns, sys.executable, "-c", ECHO_SERVER],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout.readline().strip() == "listening"
            done = preloaded(stack.file_prefix, "calls", harness.KERNEL_IP, str(ECHO_PORT))
        finally:
            server.kill()
            server.wait()
        result = checks(done.stdout)
        failed = [name for name, ok in result.items() if not ok]
        assert done.returncode == 0 and not failed, f"failed: {failed}\n{done.stdout}\n{done.stderr}"
        # Every group of calls ran (a tool that stopped early would pass the assertion above).
        for name in ("connect", "number-reserved", "recvmsg", "rcvtimeo", "tcp-info", "dup2-onto-kernel",
                     "poll-synwave-ready", "select-synwave-ready", "epoll-both", "sendfile-position",
                     "eof-after-peer-close", "closed-ebadf"):
            assert result.get(name), f"{name} missing:\n{done.stdout}"
        # The program is gone: the daemon let its application go.
        stack.wait_for(lambda: stack.telemetry("/synwave/apps").get("detached_total", 0) >= 1, what="application detached")


def test_loopback_goes_to_the_kernel():
    with harness.Stack("plloop") as stack:
        done = preloaded(stack.file_prefix, "loopback")
        result = checks(done.stdout)
        assert done.returncode == 0 and all(result.values()) and len(result) == 6, done.stdout + done.stderr
        # None of it reached the daemon's TCP.
        assert stack.telemetry("/synwave/counters", "0")["tcp_active_opens"] == 0


def test_no_daemon_fails_socket_naming_the_prefix():
    done = subprocess.run([run_bin(), "--prefix", "sw-no-such-daemon", "--", tool_bin(), "refused",
                           harness.KERNEL_IP, "9"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "socket failed errno 100" in done.stdout, done.stdout  # ENETDOWN
    assert "attach to 'sw-no-such-daemon'" in done.stderr and "/run/synwave/sw-no-such-daemon" in done.stderr, done.stderr


def test_no_daemon_with_fallback_uses_the_kernel():
    done = subprocess.run([run_bin(), "--prefix", "sw-no-such-daemon", "--fallback", "--", tool_bin(), "refused",
                           "127.0.0.1", "9"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "socket ok, connect -1 errno 111" in done.stdout, done.stdout  # the kernel's ECONNREFUSED
    assert "SYNWAVE_FALLBACK=kernel" in done.stderr, done.stderr


def test_synwave_run_usage_errors():
    done = subprocess.run([run_bin()], capture_output=True, text=True, timeout=10)
    assert done.returncode == 2 and "usage: synwave-run" in done.stderr, done.stderr
    done = subprocess.run([run_bin(), "--", "/nonexistent/program"], capture_output=True, text=True, timeout=10)
    assert done.returncode == 127 and "/nonexistent/program" in done.stderr, done.stderr


if __name__ == "__main__":
    sys.exit(harness.main([test_socket_calls_against_kernel_echo_server,
                           test_loopback_goes_to_the_kernel,
                           test_no_daemon_fails_socket_naming_the_prefix,
                           test_no_daemon_with_fallback_uses_the_kernel,
                           test_synwave_run_usage_errors]))
