"""Bulk transfers between synwave-bulk (on net_tap) and the Linux kernel (kernel_bulk.py in the
test namespace), every byte checked at its stream offset against the pattern both generate
(app/synwave-bulk/pattern.h), in the four directions:

  (a) kernel client sends, synwave server receives      (b) synwave server sends, kernel client receives
  (c) synwave client sends, kernel server receives      (d) kernel server sends, synwave client receives

on a clean link and through impairment. The kernel here has no netem, so impairment normally comes
from synwave's own seeded stage (config [impairment], applied to the frames synwave receives and
sends: direction = both). When `tc qdisc add ... netem` works, netem impairs the kernel's egress
(kernel -> synwave) and synwave's stage only its own transmissions (direction = tx); each test
prints which one it used.

  python3 test_bulk.py            the default set (about 2-3 minutes): clean 100 MB in (a)-(d),
                                  one impaired profile (2 % loss, 2 % reorder, 1 % duplicate)
                                  with 20 MB each way on one connection, and a server on two
                                  engines taking 16 connections (1 MB each way)
  python3 test_bulk.py --slow     the full matrix: (a)-(d) x {clean, delay 2 ms, 1 % loss,
                                  5 % loss + 5 % reorder + 1 % duplicate, 10 % loss}, 100 MB each
  python3 test_bulk.py --slow NAME...   only the named tests (see --list)

SYNWAVE_BULK_PCAP=DIR keeps a capture (headers only) of every test's link in DIR.
Run through meson: `meson test -C build integration_bulk`, `meson test -C build --suite slow`.
"""

import json
import os
import subprocess
import sys
import threading
import time

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = 5201
MB = 1000 * 1000
SEED = 42  # the impairment stage's seed: the same losses on every run

# name -> [impairment] keys (synwave's stage) for one direction of the link
PROFILES = {
    "clean": {},
    "delay2ms": {"delay_us": 2000},
    "loss1": {"loss_percent": 1},
    "mixed": {"loss_percent": 5, "reorder_percent": 5, "duplicate_percent": 1},
    "loss10": {"loss_percent": 10},
    "default_impaired": {"loss_percent": 2, "reorder_percent": 2, "duplicate_percent": 1},
}

_netem = None


def netem_available():
    """Whether this kernel has netem: tries it on the loopback of a scratch namespace (once)."""
    global _netem
    if _netem is None:
        ns = f"synwave-netem-probe-{os.getpid()}"
        harness.run(["ip", "netns", "add", ns], check=False)
        try:
            result = harness.run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                                  "delay", "1ms"], check=False)
            _netem = result.returncode == 0
            if not _netem:
                print(f"  netem unavailable ({(result.stderr or result.stdout).strip()}): "
                      "synwave's [impairment] stage impairs both directions", flush=True)
        finally:
            harness.run(["ip", "netns", "delete", ns], check=False)
    return _netem


def netem_args(profile):
    args = []
    delay_us = profile.get("delay_us", 0)
    if profile.get("reorder_percent"):
        delay_us = max(delay_us, 1000)  # netem reorders by letting some packets skip the delay
    if delay_us:
        args += ["delay", f"{delay_us}us"]
    if profile.get("loss_percent"):
        args += ["loss", f"{profile['loss_percent']}%"]
    if profile.get("duplicate_percent"):
        args += ["duplicate", f"{profile['duplicate_percent']}%"]
    if profile.get("reorder_percent"):
        args += ["reorder", f"{profile['reorder_percent']}%"]
    return args


class BulkStack(harness.Stack):
    """synwave-bulk on net_tap, with an [impairment] section when the profile has one."""
    binary_env = "SYNWAVE_BULK_BIN"
    ready_line = "synwave-bulk: ready"

    def __init__(self, name, profile, args, lcores="1"):
        super().__init__(name, args=args, lcores=lcores)
        self.profile = profile
        self.use_netem = bool(profile) and netem_available()
        if profile:
            lines = [f"{key} = {value}" for key, value in profile.items()]
            lines += [f"seed = {SEED}", f"direction = {'tx' if self.use_netem else 'both'}"]
            with open(self.config_path, "a") as f:
                f.write("[impairment]\n" + "\n".join(lines) + "\n")
        self.capture = None

    def start(self, timeout=30):
        super().start(timeout)
        if self.profile:
            if self.use_netem:
                self.ns(["tc", "qdisc", "add", "dev", self.iface, "root", "netem"] + netem_args(self.profile))
                print(f"  impairment: netem on the kernel's egress ({' '.join(netem_args(self.profile))}) "
                      f"+ synwave [impairment] direction=tx {self.profile}", flush=True)
            else:
                print(f"  impairment: synwave [impairment] direction=both {self.profile} seed {SEED}", flush=True)
        pcap_dir = os.environ.get("SYNWAVE_BULK_PCAP")
        if pcap_dir:
            os.makedirs(pcap_dir, exist_ok=True)
            path = os.path.join(pcap_dir, f"{self.netns}.pcap")
            self.capture = subprocess.Popen(["ip", "netns", "exec", self.netns, "tcpdump", "-nn", "-s", "96", "-i",
                                             self.iface, "-w", path, "tcp"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"  capture: {path}", flush=True)
        return self

    def stop(self, timeout=15):
        if self.capture is not None and self.capture.poll() is None:
            self.capture.terminate()
            self.capture.wait(timeout=5)
        return super().stop(timeout)


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def kernel_retransmits(stack):
    """RetransSegs of the kernel's TCP in the test namespace (per-namespace MIB), or None."""
    try:
        lines = [l.split() for l in stack.ns(["cat", "/proc/net/snmp"]).stdout.splitlines() if l.startswith("Tcp:")]
        return int(lines[1][lines[0].index("RetransSegs")])
    except (RuntimeError, ValueError, IndexError):
        return None


class CounterWatch:
    """Samples synwave's telemetry counters while it runs (synwave-bulk exits by itself, so the
    last sample is what we get): the impairment stage's counters show it really impaired."""

    def __init__(self, stack):
        self.stack, self.last, self._stop = stack, {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.3):
            if self.stack.process is None or self.stack.process.poll() is not None:
                return
            try:
                sample = self.stack.counters()
            except (OSError, ValueError, KeyError):
                continue
            if isinstance(sample, dict):
                self.last = sample

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        return {k: v for k, v in self.last.items() if k.startswith("impairment_")}


def kernel_peer(stack, *args):
    return subprocess.Popen(["ip", "netns", "exec", stack.netns, sys.executable, os.path.join(HERE, "kernel_bulk.py"),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def transfer(name, profile, synwave_role, synwave_sends, kernel_sends, timeout):
    """One connection between synwave-bulk and kernel_bulk.py; each side sends the given bytes and
    must receive exactly what the other sent, byte-exact. Returns (synwave JSON, kernel JSON)."""
    args = ["--listen", str(PORT)] if synwave_role == "server" else \
        ["--connect", f"{harness.KERNEL_IP}:{PORT}", "--delay", "1"]
    args += ["--send", str(synwave_sends), "--expect", str(kernel_sends), "--timeout", str(timeout)]
    kernel_args = ["--send", str(kernel_sends), "--expect", str(synwave_sends), "--timeout", str(timeout + 5)]
    stack = BulkStack(name, profile, args)
    peer = watch = None
    kernel_retrans = None
    started = time.monotonic()
    try:
        stack.start()
        watch = CounterWatch(stack)
        if synwave_role == "server":
            peer = kernel_peer(stack, "connect", f"{harness.STACK_IP}:{PORT}", *kernel_args)
        else:
            peer = kernel_peer(stack, "listen", str(PORT), *kernel_args)
            first = peer.stdout.readline().strip()
            assert first == "listening", f"kernel_bulk.py: {first}{peer.stdout.read() if peer.poll() else ''}"
        try:
            stack.process.wait(timeout=timeout + 15)
        except subprocess.TimeoutExpired:
            pass  # stop() below ends it; the asserts report it
        try:
            kernel_out, _ = peer.communicate(timeout=timeout + 20 - (time.monotonic() - started) + 5)
        except subprocess.TimeoutExpired:
            peer.kill()
            kernel_out, _ = peer.communicate()
        kernel_retrans = kernel_retransmits(stack)
    finally:
        if peer is not None and peer.poll() is None:
            peer.kill()
            peer.wait()
        impairment = watch.stop() if watch is not None else {}
        stack.stop()
    synwave_json = json_lines(stack.output)
    kernel_json = json_lines(kernel_out)
    context = f"\n--- synwave-bulk (exit {stack.exit_code}):\n{stack.output[-3000:]}\n--- kernel_bulk.py " \
              f"(exit {peer.returncode}):\n{kernel_out[-2000:]}"
    assert len(synwave_json) == 1 and len(kernel_json) == 1, f"expected one JSON line each{context}"
    s, k = synwave_json[0], kernel_json[0]
    print(f"  synwave {s['role']}: sent {s['sent']} received {s['received']} in {s['seconds']:.2f}s "
          f"({s['gbit_per_s']:.2f} Gbit/s), retransmits {s.get('retransmits')}; kernel {k['role']}: sent "
          f"{k['sent']} received {k['received']} in {k['seconds']:.2f}s, retransmits {kernel_retrans}", flush=True)
    if profile:
        print(f"  synwave impairment counters (last sample): {impairment or 'none'}", flush=True)
    for side in (s, k):
        assert side["error"] is None, f"{side['role']} error {side['error']}{context}"
        assert side["first_mismatch"] is None, f"{side['role']} mismatch at {side['first_mismatch']}{context}"
        assert side["verified"] is True, context
    assert s["sent"] == synwave_sends and k["received"] == synwave_sends, f"synwave -> kernel incomplete{context}"
    assert k["sent"] == kernel_sends and s["received"] == kernel_sends, f"kernel -> synwave incomplete{context}"
    assert stack.exit_code == 0, f"synwave-bulk exit {stack.exit_code}{context}"
    assert peer.returncode == 0, f"kernel_bulk.py exit {peer.returncode}{context}"
    assert "NOT returned" not in stack.output, context
    if profile and not stack.use_netem:
        # The stage's counters (impairment_rx_dropped, ...) must show that it acted: a pass without
        # them means the [impairment] section was accepted but nothing impaired the link.
        assert sum(impairment.values()) > 0, \
            f"impairment {profile} configured, but synwave's telemetry shows no impairment counters " \
            f"({impairment}): the [impairment] stage did not act{context}"
    return s, k


# --- the four directions, as test factories ------------------------------------------------------

def case(direction, profile_name, size, timeout):
    profile = PROFILES[profile_name]
    synwave_role, synwave_sends, kernel_sends = {
        "a": ("server", 0, size),   # kernel client -> synwave server
        "b": ("server", size, 0),   # synwave server -> kernel client
        "c": ("client", size, 0),   # synwave client -> kernel server
        "d": ("client", 0, size),   # kernel server -> synwave client
        "ab": ("server", size, size),  # both ways at once, kernel client
    }[direction]

    def test():
        transfer(f"bk{direction}{profile_name[:3]}", profile, synwave_role, synwave_sends, kernel_sends, timeout)

    what = {"a": "kernel_client_sends_to_synwave_server", "b": "synwave_server_sends_to_kernel_client",
            "c": "synwave_client_sends_to_kernel_server", "d": "kernel_server_sends_to_synwave_client",
            "ab": "kernel_client_and_synwave_server_both_send"}[direction]
    test.__name__ = f"test_{profile_name}_{what}_{size // MB}mb"
    return test


def test_server_on_two_engines_takes_connections_on_both():
    """synwave-bulk --listen with two engines (a two-queue TAP): the kernel's 16 connections spread
    over both queues by flow hash (all on one: odds 2^-15), each engine's instance accepts those that
    reach it, and the results come back in connection order with the engine that carried each."""
    connections, size, timeout = 16, MB, 60
    args = ["--listen", str(PORT), "--send", str(size), "--expect", str(size), "--connections", str(connections),
            "--timeout", str(timeout)]
    stack = BulkStack("bk2eng", {}, args, lcores="0-1")
    peer = None
    try:
        stack.start()
        peer = kernel_peer(stack, "connect", f"{harness.STACK_IP}:{PORT}", "--send", str(size), "--expect",
                           str(size), "--connections", str(connections), "--timeout", str(timeout + 5))
        kernel_out, _ = peer.communicate(timeout=timeout + 20)
        stack.process.wait(timeout=20)
    finally:
        if peer is not None and peer.poll() is None:
            peer.kill()
            peer.wait()
        stack.stop()
    synwave_json, kernel_json = json_lines(stack.output), json_lines(kernel_out)
    context = f"\n--- synwave-bulk (exit {stack.exit_code}):\n{stack.output[-4000:]}\n--- kernel_bulk.py:\n{kernel_out[-2000:]}"
    assert [s["connection"] for s in synwave_json] == list(range(1, connections + 1)), context
    for s in synwave_json:
        assert s["verified"] is True and s["error"] is None, context
        assert s["sent"] == size and s["received"] == size, context
    assert len(kernel_json) == connections and all(k["verified"] for k in kernel_json), context
    engines = sorted({s["engine"] for s in synwave_json})
    print(f"  connections per engine: {[sum(1 for s in synwave_json if s['engine'] == e) for e in engines]}", flush=True)
    assert engines == [0, 1], f"expected connections on both engines{context}"
    assert stack.exit_code == 0 and peer.returncode == 0, context
    assert "NOT returned" not in stack.output, context


DEFAULT = [case(d, "clean", 100 * MB, 60) for d in "abcd"] + [case("ab", "default_impaired", 20 * MB, 60),
                                                             test_server_on_two_engines_takes_connections_on_both]
SLOW = [case(d, p, 100 * MB, 900 if p == "loss10" else 300) for p in ("clean", "delay2ms", "loss1", "mixed", "loss10") for d in "abcd"]


if __name__ == "__main__":
    argv = sys.argv[1:]
    tests = DEFAULT
    if argv[:1] == ["--slow"]:
        tests, argv = SLOW, argv[1:]
    if argv[:1] == ["--list"]:
        print("\n".join(t.__name__ for t in DEFAULT + SLOW))
        sys.exit(0)
    if argv:
        by_name = {t.__name__: t for t in DEFAULT + SLOW}
        unknown = [n for n in argv if n not in by_name]
        if unknown:
            sys.exit(f"unknown test(s): {unknown}; see --list")
        tests = [by_name[n] for n in argv]
    sys.exit(harness.main(tests))
