"""synwave-loadgen on net_tap against a small kernel HTTP server in the namespace: CRR and RR
runs bounded by --count, checked through the --json summary. `test_loadgen.py --server PORT`
is that server (a ThreadingTCPServer answering every request with a fixed 64-byte body)."""

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


def run_loadgen(name, *args):
    loadgen = Loadgen(name, args=["--target", f"{harness.KERNEL_IP}:{PORT}", "--delay", "2", "--json",
                                  "--timeout", "10", *args])
    loadgen.start()
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


def serve(port):
    with Server(("0.0.0.0", port), Handler) as server:
        print("listening", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--server":
        serve(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(harness.main([test_crr_200_connections, test_rr_500_requests]))
