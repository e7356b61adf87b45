"""TCP between synwave (synwave-probe on net_tap) and the Linux kernel in a namespace: both
directions of the handshake, data, close from either side with the states each side shows, and
refusals. The kernel's states come from `ss -tan` inside the namespace; synwave's from the probe."""

import os
import re
import subprocess
import sys
import threading
import time

import harness

HERE = os.path.dirname(os.path.abspath(__file__))


class KernelPeer:
    """kernel_peer.py running inside the test namespace."""

    def __init__(self, probe, *args):
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", probe.netns, sys.executable, os.path.join(HERE, "kernel_peer.py"), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            with self.cond:
                self.lines.append(line.strip())
                self.cond.notify_all()

    def expect(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, line in enumerate(self.lines):
                    if re.match(pattern, line):
                        del self.lines[: i + 1]
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"kernel peer: no line matching {pattern!r}: {self.lines}")
                self.cond.wait(remaining)

    def send(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stop(self):
        if self.process.poll() is None:
            try:
                self.send("quit")
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def wait_kernel_state(probe, port, expected, timeout=5):
    probe.wait_for(lambda: probe.kernel_states(port) == expected, timeout,
                   f"kernel states for port {port} to be {expected}")


def wait_synwave_state(probe, sock, expected, timeout=5):
    probe.wait_for(lambda: probe.state(sock) == expected, timeout, f"synwave socket {sock} to be {expected}")


def capture(probe, count, port):
    """Starts tcpdump in the namespace for `count` packets on `port`; returns the Popen."""
    return subprocess.Popen(["ip", "netns", "exec", probe.netns, "tcpdump", "-nn", "-l", "-i", probe.iface, "-c",
                             str(count), "tcp", "port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def test_kernel_client_to_synwave_listener_then_kernel_closes_first():
    with harness.Probe("tcpsrv") as probe:
        listener = probe.command("listen 8080", r"listening (\d+)").group(1)
        probe.command("echo on", r"echo on")
        dump = capture(probe, 3, 8080)
        time.sleep(0.3)  # tcpdump attaches
        peer = KernelPeer(probe, "client", harness.STACK_IP, "8080")
        try:
            peer.expect("connected")
            sock = probe.expect(rf"accepted {listener} (\d+) {harness.KERNEL_IP}:\d+").group(1)
            # What went over the wire: SYN, SYN-ACK with Linux's options, ACK.
            out, _ = dump.communicate(timeout=10)
            lines = out.strip().splitlines()
            assert len(lines) == 3, out
            syn_seq = int(re.search(r"Flags \[S\], seq (\d+)", lines[0]).group(1))
            synack = lines[1]
            assert "Flags [S.]" in synack, synack
            assert f"ack {syn_seq + 1}," in synack, synack
            assert re.search(r"options \[mss 1460,sackOK,TS val \d+ ecr \d+,nop,wscale 7\]", synack), synack
            assert "win 65160" in synack, synack
            assert "Flags [.]" in lines[2], lines[2]

            peer.send("send ping")
            probe.expect(rf"recv {sock} ping")
            peer.expect("recv ping")
            assert probe.kernel_states(8080) == ["ESTAB"]
            assert probe.state(sock) == "ESTABLISHED"

            # The kernel closes first: it sits in FIN-WAIT-2, synwave in CLOSE_WAIT until close().
            peer.send("shutdown")
            probe.expect(rf"eof {sock}")
            wait_kernel_state(probe, 8080, ["FIN-WAIT-2"])
            assert probe.state(sock) == "CLOSE_WAIT"
            time.sleep(0.5)
            assert probe.state(sock) == "CLOSE_WAIT", "synwave never closes on the application's behalf"
            probe.command(f"close {sock}", rf"closed {sock}")
            wait_kernel_state(probe, 8080, ["TIME-WAIT"])
            peer.expect("eof")
        finally:
            peer.stop()
            if dump.poll() is None:
                dump.kill()


def test_synwave_client_to_kernel_listener_then_synwave_closes_first():
    with harness.Probe("tcpcli") as probe:
        peer = KernelPeer(probe, "server", "7000")
        try:
            peer.expect("listening")
            sock = probe.command(f"connect {harness.KERNEL_IP} 7000", r"connecting (\d+)").group(1)
            probe.expect(rf"connected {sock} \d+")
            peer.expect("accepted")
            probe.command(f"send {sock} hello", rf"sent {sock} 5")
            peer.expect("recv hello")
            probe.expect(rf"recv {sock} hello")

            # synwave closes its sending side first: FIN_WAIT_2 here, CLOSE-WAIT in the kernel.
            probe.command(f"shutdown {sock} wr", rf"shutdown {sock}")
            peer.expect("eof")
            wait_synwave_state(probe, sock, "FIN_WAIT_2")
            wait_kernel_state(probe, 7000, ["CLOSE-WAIT"])
            # The kernel closes: its FIN takes synwave to TIME_WAIT; the kernel's socket is gone.
            peer.send("close")
            peer.expect("closed")
            probe.expect(rf"eof {sock}")
            wait_synwave_state(probe, sock, "TIME_WAIT")
            wait_kernel_state(probe, 7000, [])
        finally:
            peer.stop()


def test_kernel_connect_to_closed_synwave_port_is_refused():
    with harness.Probe("tcprst") as probe:
        peer = KernelPeer(probe, "client", harness.STACK_IP, "9")
        try:
            peer.expect("error ECONNREFUSED")
        finally:
            peer.stop()


def test_synwave_connect_to_kernel_port_without_listener_is_refused():
    with harness.Probe("tcpref") as probe:
        sock = probe.command(f"connect {harness.KERNEL_IP} 7999", r"connecting (\d+)").group(1)
        probe.expect(rf"error {sock} ECONNREFUSED")


if __name__ == "__main__":
    sys.exit(harness.main([test_kernel_client_to_synwave_listener_then_kernel_closes_first,
                           test_synwave_client_to_kernel_listener_then_synwave_closes_first,
                           test_kernel_connect_to_closed_synwave_port_is_refused,
                           test_synwave_connect_to_kernel_port_without_listener_is_refused]))
