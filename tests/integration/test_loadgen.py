"""synwave-loadgen on net_tap against a small kernel HTTP server in the namespace: CRR and RR
runs bounded by --count, checked through the --json summary; a CRR run with a SYN flood from
the same engine (--flood-rate: its timeline, phases and flood counts), and the flood's
refusals. `test_loadgen.py --server PORT` is that server (a ThreadingTCPServer answering every
request with a fixed 64-byte body)."""

import json
import os
import socket
import socketserver
import subprocess
import sys
import time

import harness

PORT = 8080
BODY = b"x" * 64


class Loadgen(harness.Stack):
    binary_env = "SYNWAVE_LOADGEN_BIN"
    ready_line = "synwave-loadgen: ready"

    def wait_exit(self, timeout=60):
        self.process.wait(timeout=timeout)
        self.stop()
        for line in reversed(self.output.splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise AssertionError(f"no JSON summary:\n{self.output}")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffered = b""
        while True:
            while b"\r\n\r\n" not in buffered:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                buffered += chunk
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            close = b"connection: close" in head.lower()
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (
                len(BODY), b"Connection: close\r\n" if close else b"", BODY))
            if close:
                return


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 512


def kernel_server(stack):
    process = subprocess.Popen(["ip", "netns", "exec", stack.netns, sys.executable, os.path.abspath(__file__),
                                "--server", str(PORT)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "listening"
    return process


def run_loadgen(name, *args, setup=None, lcores="1"):
    loadgen = Loadgen(name, lcores=lcores, args=["--target", f"{harness.KERNEL_IP}:{PORT}", "--delay", "2", "--json",
                                  "--timeout", "10", *args])
    loadgen.start()
    if setup:
        setup(loadgen)
    server = kernel_server(loadgen)
    try:
        summary = loadgen.wait_exit()
    finally:
        server.kill()
        server.wait()
        loadgen.stop()
    assert loadgen.exit_code == 0, loadgen.output
    assert "NOT returned" not in loadgen.output, loadgen.output
    return summary, loadgen.output


def test_crr_200_connections():
    summary, output = run_loadgen("lgcrr", "--mode", "crr", "--count", "200", "--concurrency", "4")
    assert summary["completed"] == 200, output
    assert summary["errors"] == 0, output
    assert summary["connections"] == 200, output
    assert summary["latency_ns"]["p50"] > 0, output
    assert summary["latency_ns"]["samples"] == 200, output


def test_rr_500_requests():
    summary, output = run_loadgen("lgrr", "--mode", "rr", "--count", "500", "--concurrency", "4")
    assert summary["completed"] == 500, output
    assert summary["errors"] == 0, output
    assert summary["connections"] == 4, output
    assert summary["latency_ns"]["p50"] > 0, output


def answer_spoofed_sources(stack):
    # The kernel answers the flood's spoofed sources (198.19.0.0/16) back through the stack's
    # port, with cookies once the listen queue (512) is full.
    stack.ns(["ip", "route", "add", "198.19.0.0/16", "via", harness.STACK_IP, "dev", stack.iface, "onlink"])
    stack.ns(["sysctl", "-qw", "net.ipv4.tcp_syncookies=1"])


def test_crr_with_a_syn_flood_from_the_same_engine():
    summary, output = run_loadgen("lgfl", "--mode", "crr", "--concurrency", "4", "--duration", "6",
                                  "--flood-rate", "2000", "--flood-start", "2", "--flood-seconds", "2",
                                  setup=answer_spoofed_sources)
    flood, timeline, phases = summary["flood"], summary["timeline"], summary["phases"]
    # Bounded: rate x seconds frames at most, all of them taken by the TAP at this rate.
    assert flood["count_limit"] == 4000 and flood["offered"] == 4000, flood
    assert flood["sent"] == 4000 and flood["dropped"] == 0 and not flood["unresolved"], flood
    assert 1.9 < flood["started_s"] < 2.3 and flood["elapsed_s"] < 2.1, flood
    assert sum(timeline["flood_sent"]) == 4000, timeline["flood_sent"]
    # 100 ms slices; the flood only in the middle third.
    assert timeline["slice_s"] == 0.1, timeline
    flooded = [i for i, n in enumerate(timeline["flood_sent"]) if n]
    assert 19 <= flooded[0] <= 22 and 38 <= flooded[-1] <= 42, flooded
    # The kernel answered the spoofed SYNs (SYN-ACKs, cookies or not, and retransmissions).
    assert flood["answers"] >= 3600 and sum(timeline["answers"]) == flood["answers"], flood
    # Every legitimate completion is in one slice and one phase; the load went on throughout.
    assert sum(timeline["completed"]) == summary["completed"], output
    assert sum(p["completed"] for p in phases.values()) == summary["completed"], phases
    for name in ("before", "during", "after"):
        assert phases[name]["completed"] > 0 and phases[name]["latency_ns"]["p50"] > 0, (name, phases)
    assert summary["errors"] == 0, output


def run_refused(name, args, expect_code):
    stack = Loadgen(name)
    result = subprocess.run([harness.synwave_binary("SYNWAVE_LOADGEN_BIN"), "--config", stack.config_path,
                             "--mode", "crr", "--duration", "4"] + args, capture_output=True, text=True, timeout=30)
    assert result.returncode == expect_code, (result.returncode, result.stdout, result.stderr)
    # Refused before the EAL: no port, so not even the TAP interface came to be.
    assert harness.run(["ip", "link", "show", stack.iface], check=False).returncode != 0
    return result.stderr


def test_flood_refusals():
    flood = ["--flood-rate", "100", "--flood-start", "1", "--flood-seconds", "1"]
    err = run_refused("lgref", ["--target", "10.0.0.1:80"] + flood, 1)
    assert "flood refused: 10.0.0.1 is outside the allowed destinations (198.18.0.0/15" in err, err
    assert "nothing was sent" in err, err
    target = ["--target", f"{harness.KERNEL_IP}:{PORT}"]
    for bad, why in ((["--flood-rate", "100", "--flood-start", "1"], "--flood-start and --flood-seconds are required"),
                     (["--flood-rate", "100", "--flood-start", "3", "--flood-seconds", "2"], "--duration must cover"),
                     (["--flood-rate", "max", "--flood-start", "1", "--flood-seconds", "1"], "max needs --flood-count"),
                     (["--flood-rate", "0", "--flood-start", "1", "--flood-seconds", "1"], "--flood-rate")):
        err = run_refused("lgbad", target + bad, 2)
        assert why in err, (bad, err)


def serve(port):
    with Server(("0.0.0.0", port), Handler) as server:
        print("listening", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--server":
        serve(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(harness.main([test_crr_200_connections, test_rr_500_requests, test_flood_refusals,
                           test_crr_with_a_syn_flood_from_the_same_engine]))
