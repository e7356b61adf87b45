"""Runs a synwave daemon on net_tap with the Linux kernel as its peer, for integration tests.

Each Stack gets names of its own (TAP interface, network namespace, EAL file prefix), so tests run
in parallel. The daemon creates the TAP in the root namespace; the harness moves it into a fresh
namespace, gives the kernel end its own MAC and 198.18.0.1/24, and synwave owns 198.18.0.2.
Everything is torn down in stop(), which runs on success, failure, Ctrl-C and SIGTERM (the
timeout signal of meson test) alike.
"""

import atexit
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

KERNEL_IP = "198.18.0.1"
STACK_IP = "198.18.0.2"
PREFIX_LEN = 24
KERNEL_MAC = "02:00:c6:12:00:01"  # locally administered; distinct from the stack's MAC

_live_stacks = []


def _sigterm(signum, frame):
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _sigterm)


@atexit.register
def _stop_all():
    for stack in list(_live_stacks):
        stack.stop()


def run(cmd, check=True, **kwargs):
    """Runs a command, returning its CompletedProcess; raises with its output on failure."""
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result


def synwave_binary(env="SYNWAVE_BIN"):
    path = os.environ.get(env)
    if not path:
        raise RuntimeError(f"{env} is not set (run through meson test)")
    return path


class Stack:
    # Which program runs, and the output line that says it is up: subclasses (or the keyword
    # arguments) choose another synwave application, e.g. synwave-httpd.
    binary_env = "SYNWAVE_BIN"
    ready_line = "synwave: ready"

    def __init__(self, name, engine_lines="", arp_lines="", sysctl_lines="", args=(), binary_env=None,
                 ready_line=None, shim_lines="", lcores="1", mbufs_per_engine=4095, port_lines=""):
        if binary_env is not None:
            self.binary_env = binary_env
        if ready_line is not None:
            self.ready_line = ready_line
        self.args = list(args)
        unique = f"{os.getpid() % 100000}"
        self.iface = f"sw{name[:6]}{unique}"[:15]
        self.netns = f"synwave-{name}-{unique}"
        self.file_prefix = f"sw-{name}-{unique}"
        self.workdir = tempfile.mkdtemp(prefix=f"synwave-{name}-")
        self.config_path = os.path.join(self.workdir, "synwave.conf")
        self.log_path = os.path.join(self.workdir, "synwave.log")
        self.process = None
        self.exit_code = None
        self.output = ""
        with open(self.config_path, "w") as f:
            f.write(
                f"[eal]\nlcores = {lcores}\nhugepages = off\nmemory_mb = 256\nfile_prefix = {self.file_prefix}\n"
                f"[port.0]\ndevice = net_tap0\ndevargs = iface={self.iface}\n"
                f"ipv4 = {STACK_IP}/{PREFIX_LEN}\ngateway = {KERNEL_IP}\n{port_lines}\n"
                f"[engine]\nidle_sleep_us = 50\nmbufs_per_engine = {mbufs_per_engine}\n{engine_lines}\n"
                f"[arp]\n{arp_lines}\n[sysctl]\n{sysctl_lines}\n")
            if shim_lines:  # the daemon's [shim] section (the attach socket's mode, allowed uids, ...)
                f.write(f"[shim]\n{shim_lines}\n")

    # --- life cycle -------------------------------------------------------------------------

    def _make_namespace(self):
        _live_stacks.append(self)
        run(["ip", "netns", "delete", self.netns], check=False)
        run(["ip", "netns", "add", self.netns])
        # No IPv6 on the kernel side: its router solicitations would make drop counts vary.
        self.ns(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        self.ns(["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"])

    def _hand_tap_to_namespace(self):
        """The TAP exists once the port has started; give the kernel end to the namespace."""
        run(["ip", "link", "set", "dev", self.iface, "netns", self.netns])
        self.ns(["sysctl", "-qw", f"net.ipv6.conf.{self.iface}.disable_ipv6=1"])
        self.ns(["ip", "link", "set", "dev", self.iface, "address", KERNEL_MAC])
        self.ns(["ip", "addr", "add", f"{KERNEL_IP}/{PREFIX_LEN}", "dev", self.iface])
        self.ns(["ip", "link", "set", "dev", self.iface, "up"])
        self.ns(["ip", "link", "set", "dev", "lo", "up"])

    def start(self, timeout=30):
        self._make_namespace()
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([synwave_binary(self.binary_env), "--config", self.config_path] + self.args,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while self.ready_line not in self._read_log():
            if self.process.poll() is not None:
                raise RuntimeError(f"synwave exited with {self.process.returncode}:\n{self._read_log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"synwave not ready after {timeout}s:\n{self._read_log()}")
            time.sleep(0.05)
        self._hand_tap_to_namespace()
        return self

    def stop(self, timeout=15):
        """Stops the daemon (SIGTERM, then SIGKILL) and removes the namespace. Idempotent."""
        if self in _live_stacks:
            _live_stacks.remove(self)
        if self.process is not None and self.exit_code is None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.exit_code = self.process.returncode
            self._log.close()
            self.output = self._read_log()
        run(["ip", "netns", "delete", self.netns], check=False)
        return self.exit_code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _read_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    # --- talking to it ----------------------------------------------------------------------

    def ns(self, cmd, check=True, **kwargs):
        """Runs a command inside the test namespace (the kernel side)."""
        return run(["ip", "netns", "exec", self.netns] + cmd, check=check, **kwargs)

    def telemetry(self, command, params=None):
        """Sends one telemetry command to the daemon and returns the decoded answer."""
        path = f"/var/run/dpdk/{self.file_prefix}/dpdk_telemetry.v2"
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
            sock.settimeout(5)
            sock.connect(path)
            json.loads(sock.recv(16384).decode())  # the greeting
            request = command if params is None else f"{command},{params}"
            sock.send(request.encode())
            answer = json.loads(sock.recv(1 << 20).decode())
        return answer[command]

    def counters(self):
        return self.telemetry("/synwave/counters")

    def mempool_in_use(self):
        pools = self.telemetry("/synwave/mempools")
        return sum(pool["in_use"] for pool in pools.values())

    def stack_mac(self):
        return self.telemetry("/synwave/info")["port0"]["mac"]

    def wait_for(self, predicate, timeout=5, what="condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def ipv4_bytes(text):
    return socket.inet_aton(text)


def neighbour_entry(stack, ip):
    """The kernel's neighbour entry for ip in the test namespace: (mac, state) or None."""
    out = stack.ns(["ip", "neigh", "show", ip, "dev", stack.iface]).stdout
    match = re.search(r"lladdr (\S+) .*?(\S+)\s*$", out.strip())
    return (match.group(1), match.group(2)) if match else None


def main(tests):
    """Runs the given test functions in order; prints one line each and a summary; exit code."""
    if os.geteuid() != 0:
        print("integration tests need root (TAP devices and network namespaces)")
        return 77  # meson's "skipped"
    passed = failed = 0
    for test in tests:
        started = time.monotonic()
        try:
            test()
            passed += 1
            print(f"PASS {test.__name__} ({time.monotonic() - started:.2f}s)", flush=True)
        except Exception as error:  # report every failure, then go on with the next test
            failed += 1
            print(f"FAIL {test.__name__}: {type(error).__name__}: {error}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit("harness.py is a module")


class Probe(Stack):
    """synwave-probe on net_tap: a Stack whose socket API the test drives with line commands."""

    def __init__(self, name, **kwargs):
        super().__init__(name, **kwargs)
        self._events = []
        self._cond = None

    def start(self, timeout=30):
        import threading
        self._make_namespace()
        binary = os.environ.get("SYNWAVE_PROBE_BIN")
        if not binary:
            raise RuntimeError("SYNWAVE_PROBE_BIN is not set (run through meson test)")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary, "--config", self.config_path], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1)
        self._cond = threading.Condition()

        def reader():
            for line in self.process.stdout:
                with self._cond:
                    self._events.append(line.rstrip("\n"))
                    self._cond.notify_all()
            with self._cond:
                self._events.append("<exit>")
                self._cond.notify_all()

        threading.Thread(target=reader, daemon=True).start()
        self.expect(r"ready ", timeout)
        self._hand_tap_to_namespace()
        return self

    def stop(self, timeout=15):
        if self.process is not None and self.exit_code is None and self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(timeout=timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        code = super().stop(timeout)
        self.output = "\n".join(self._events)
        return code

    def send(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, pattern, timeout=10):
        """Waits for the next event matching pattern (events before it are skipped); returns the match."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, event in enumerate(self._events):
                    match = re.match(pattern, event)
                    if match:
                        del self._events[: i + 1]
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._events and self._events[-1] == "<exit>"):
                    raise AssertionError(f"no event matching {pattern!r}; events: {self._events}")
                self._cond.wait(remaining)

    def command(self, line, pattern, timeout=10):
        self.send(line)
        return self.expect(pattern, timeout)

    def state(self, sock):
        return self.command(f"state {sock}", rf"state {sock} (\S+)").group(1)

    def kernel_states(self, port):
        """Kernel-side TCP states (ss -tan in the namespace) of connections involving port
        (listening sockets left out)."""
        out = self.ns(["ss", "-tanH"]).stdout
        states = []
        for line in out.splitlines():
            fields = line.split()
            if fields and fields[0] == "LISTEN":
                continue
            if len(fields) >= 5 and (fields[3].endswith(f":{port}") or fields[4].endswith(f":{port}")):
                states.append(fields[0])
        return states
