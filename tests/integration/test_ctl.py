"""synwave-ctl against a running stack (synwave-probe on net_tap): the kernel opens connections,
synwave-ctl counts them per state like seed 000's netstat one-liner and lists them like ss -tan.
Then the kernel closes its ends and the stack's sockets sit in CLOSE_WAIT (seed 003's story).
The neighbour table (like ip neigh) and the engines' load come from the same running stack."""

import os
import re
import subprocess
import sys
import time

import harness

PORT = 8080

# The kernel's side: opens and closes connections to synwave on command.
#   connect       -> "connected LOCAL_PORT"
#   close PORT    -> "closed PORT"
HOLDER = r"""
import socket, sys
conns = {}
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "connect":
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
        port = s.getsockname()[1]
        conns[port] = s
        print("connected", port, flush=True)
    elif words[0] == "close":
        conns.pop(int(words[1])).close()
        print("closed", words[1], flush=True)
    elif words[0] == "quit":
        break
"""


def ctl_binary():
    path = os.environ.get("SYNWAVE_CTL_BIN")
    if not path:
        raise RuntimeError("SYNWAVE_CTL_BIN is not set (run through meson test)")
    return path


def ctl(*args, prefix=None):
    cmd = [ctl_binary()] + (["-f", prefix] if prefix is not None else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20)


class Holder:
    def __init__(self, probe):
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", probe.netns, sys.executable, "-c", HOLDER, harness.STACK_IP, str(PORT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)

    def command(self, line, pattern):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        out = self.process.stdout.readline().strip()
        match = re.match(pattern, out)
        if not match:
            raise AssertionError(f"kernel holder: {out!r} does not match {pattern!r}")
        return match

    def stop(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.flush()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def wait_output(probe, args, expected, timeout=5):
    """Runs synwave-ctl until its output equals expected; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = ctl(*args, prefix=probe.file_prefix)
        assert result.returncode == 0, result.stderr
        if result.stdout == expected:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"synwave-ctl {' '.join(args)}: {result.stdout!r}, expected {expected!r}")
        time.sleep(0.05)


def rows(conns_output):
    lines = conns_output.splitlines()
    assert lines[0] == "State      Recv-Q Send-Q Local Address:Port  Peer Address:Port Timer", lines
    return [line.split() for line in lines[1:]]


def test_states_and_connections_like_netstat_and_ss():
    holder = None
    with harness.Probe("ctl") as probe:
        try:
            probe.command(f"listen {PORT}", r"listening (\d+)")
            wait_output(probe, ["states"], "LISTEN 1\n")

            holder = Holder(probe)
            ports = [int(holder.command("connect", r"connected (\d+)").group(1)) for _ in range(3)]
            accepted = [probe.expect(r"accepted \d+ (\d+) ") for _ in range(3)]
            assert len(accepted) == 3

            # Seed 000's netstat one-liner, from the stack itself.
            wait_output(probe, ["states"], "ESTABLISHED 3\nLISTEN 1\n")

            # ss -tan: the listener and the three connections, with their addresses.
            result = ctl("conns", prefix=probe.file_prefix)
            assert result.returncode == 0, result.stderr
            table = rows(result.stdout)
            assert len(table) == 4, result.stdout
            listeners = [r for r in table if r[0] == "LISTEN"]
            assert listeners and listeners[0][3] == f"0.0.0.0:{PORT}" and listeners[0][4] == "0.0.0.0:*", result.stdout
            established = sorted((r for r in table if r[0] == "ESTAB"), key=lambda r: r[4])
            assert [r[3] for r in established] == [f"{harness.STACK_IP}:{PORT}"] * 3, result.stdout
            assert sorted(r[4] for r in established) == sorted(f"{harness.KERNEL_IP}:{p}" for p in ports), result.stdout
            assert all(r[1] == "0" and r[2] == "0" for r in established), result.stdout
            assert ctl("ss", prefix=probe.file_prefix).stdout.splitlines()[0] == result.stdout.splitlines()[0]

            # Transitions and counters.
            transitions = ctl("transitions", prefix=probe.file_prefix)
            assert transitions.returncode == 0, transitions.stderr
            assert "CLOSED->LISTEN 1\n" in transitions.stdout, transitions.stdout
            into_established = sum(int(line.split()[1]) for line in transitions.stdout.splitlines()
                                   if line.split()[0].endswith("->ESTABLISHED"))
            assert into_established == 3, transitions.stdout
            counters = ctl("counters", prefix=probe.file_prefix)
            assert counters.returncode == 0, counters.stderr
            values = dict(line.split() for line in counters.stdout.splitlines())
            assert values.get("tcp_passive_opens") == "3", counters.stdout
            assert all(v != "0" for v in values.values()), counters.stdout
            everything = ctl("counters", "--all", prefix=probe.file_prefix).stdout
            assert "drop_tcp_no_socket " in everything, everything

            # The kernel closes its ends; the probe reads end of stream and keeps its sockets.
            for port in ports:
                holder.command(f"close {port}", rf"closed {port}")
            for _ in range(3):
                probe.expect(r"eof \d+")
            wait_output(probe, ["states"], "CLOSE_WAIT 3\nLISTEN 1\n")
            table = rows(ctl("conns", prefix=probe.file_prefix).stdout)
            assert sorted(r[0] for r in table) == ["CLOSE-WAIT"] * 3 + ["LISTEN"], table

            # A connection the stack closes first ends in TIME_WAIT, with its 60 s timer shown.
            port = int(holder.command("connect", r"connected (\d+)").group(1))
            sock = probe.expect(r"accepted \d+ (\d+) ").group(1)
            probe.command(f"close {sock}", rf"closed {sock}")
            holder.command(f"close {port}", rf"closed {port}")
            wait_output(probe, ["states"], "CLOSE_WAIT 3\nLISTEN 1\nTIME_WAIT 1\n")
            conns = ctl("conns", prefix=probe.file_prefix).stdout
            assert re.search(rf"^TIME-WAIT +0 +0 +{re.escape(harness.STACK_IP)}:{PORT} +"
                             rf"{re.escape(harness.KERNEL_IP)}:{port} +timer:\((timewait),(59|60)sec,0\)$",
                             conns, re.M), conns

            raw = ctl("raw", "/synwave/tcp/states", prefix=probe.file_prefix)
            assert raw.returncode == 0, raw.stderr
            assert raw.stdout.startswith('{"/synwave/tcp/states":{') and '"TIME_WAIT":1' in raw.stdout, raw.stdout
        finally:
            if holder is not None:
                holder.stop()
    assert probe.exit_code == 0, probe.output


def test_paging_through_many_connections():
    """More connections than fit one telemetry answer: conns pages until it has them all."""
    count = 150
    with harness.Probe("ctlpage") as probe:
        probe.command(f"listen {PORT} 512", r"listening (\d+)")
        holder = Holder(probe)
        try:
            for _ in range(count):
                holder.command("connect", r"connected \d+")
            wait_output(probe, ["states"], f"ESTABLISHED {count}\nLISTEN 1\n", timeout=10)
            raw = ctl("raw", "/synwave/tcp/connections,0,200", prefix=probe.file_prefix)
            assert raw.returncode == 0, raw.stderr
            first = __import__("json").loads(raw.stdout)["/synwave/tcp/connections"]
            assert first["total"] == count + 1, first
            assert len(first) - 3 == first["next"] < count + 1, "one answer cannot hold them all"
            table = rows(ctl("conns", prefix=probe.file_prefix).stdout)
            assert len(table) == count + 1
            assert len({r[4] for r in table if r[0] == "ESTAB"}) == count
        finally:
            holder.stop()
    assert probe.exit_code == 0, probe.output


def test_connection_details_like_ss_i():
    """conns -i: after the stack sent data the kernel acknowledged, the connection's second line
    shows what ss -tino would: the negotiated options, an RTT sample and the window."""
    holder = None
    with harness.Probe("ctlinfo") as probe:
        try:
            probe.command(f"listen {PORT}", r"listening (\d+)")
            # The kernel's window shift follows its largest receive buffer: Linux's default
            # tcp_rmem (6 MiB) gives 7, as synwave's own; this host may have raised it.
            probe.ns(["sysctl", "-qw", "net.ipv4.tcp_rmem=4096 131072 6291456"])
            holder = Holder(probe)
            port = int(holder.command("connect", r"connected (\d+)").group(1))
            sock = probe.expect(r"accepted \d+ (\d+) ").group(1)
            for _ in range(20):
                probe.command(f"send {sock} " + "x" * 1400, rf"sent {sock} 1400")
            # The kernel acknowledges everything (it does not need to read): Send-Q drains.
            peer = f"{harness.KERNEL_IP}:{port}"

            def established_row():
                lines = ctl("conns", "-i", prefix=probe.file_prefix).stdout.splitlines()
                for i, line in enumerate(lines[1:-1], start=1):
                    fields = line.split()
                    if fields[0] == "ESTAB" and fields[4] == peer and fields[2] == "0":
                        return fields, lines[i + 1]
                return None

            row, info = probe.wait_for(established_row, what=f"an acknowledged ESTAB row to {peer}")
            assert info.startswith("\t "), repr(info)
            words = info.split()
            assert words[:2] == ["ts", "sack"], info
            assert words[2] in ("cubic", "reno"), info
            assert "wscale:7,7" in words, info
            cwnd = [int(w.split(":")[1]) for w in words if w.startswith("cwnd:")]
            assert cwnd and cwnd[0] >= 10, info
            assert re.search(r" rtt:\d+(\.\d+)?(e[-+]\d+)?/\d+(\.\d+)?(e[-+]\d+)? ", info), info
            assert re.search(r" rto:\d+ ", info) and re.search(r" mss:\d+ ", info), info

            # The same options with --info; without it, no second lines.
            assert any(line == info for line in ctl("ss", "--info", prefix=probe.file_prefix).stdout.splitlines())
            plain = ctl("conns", prefix=probe.file_prefix).stdout
            assert "\t" not in plain and len(plain.splitlines()) == 3, plain
            assert ctl("states", "-i", prefix=probe.file_prefix).returncode == 2
        finally:
            if holder is not None:
                holder.stop()
    assert probe.exit_code == 0, probe.output


def accept_connections(probe, count):
    """Listens on PORT and has the kernel open `count` connections; returns the Holder."""
    probe.command(f"listen {PORT}", r"listening (\d+)")
    holder = Holder(probe)
    for _ in range(count):
        holder.command("connect", r"connected \d+")
        probe.expect(r"accepted \d+ (\d+) ")
    return holder


def test_engines_table():
    """engines: the one engine's row (its two connections, opened passively) and the total row."""
    holder = None
    with harness.Probe("ctleng") as probe:
        try:
            holder = accept_connections(probe, 2)
            header = ["engine", "lcore", "busy%", "rx_packets", "steered_in", "steered_out", "connections", "opens"]

            def engines_table():
                result = ctl("engines", prefix=probe.file_prefix)
                assert result.returncode == 0, result.stderr
                table = [line.split() for line in result.stdout.splitlines()]
                assert len(table) == 3 and table[0] == header, result.stdout
                return table if table[1][6:8] == ["2", "2"] else None  # the listener is not counted

            table = probe.wait_for(engines_table, what="synwave-ctl engines to count 2 connections")
            engine, total = table[1], table[2]
            lcore = probe.telemetry("/synwave/engines")["engine0"]["lcore"]
            assert engine[:2] == ["0", str(lcore)], table
            assert int(engine[3]) > 0 and engine[4:6] == ["0", "0"], table  # no steering with one engine
            assert re.fullmatch(r"\d{1,3}\.\d", engine[2]) and 0 <= float(engine[2]) <= 100, table
            # One engine: the total is its row, busy% the mean of one.
            assert total[:2] == ["total", "-"] and total[2:] == engine[2:], table
        finally:
            if holder is not None:
                holder.stop()
    assert probe.exit_code == 0, probe.output


def test_neighbour_table_like_ip_neigh():
    """neigh: after the kernel talked to the stack, its address and MAC, held by the one engine."""
    holder = None
    with harness.Probe("ctlneigh") as probe:
        try:
            holder = accept_connections(probe, 1)
            neigh_line = re.compile(rf"^{re.escape(harness.KERNEL_IP)} dev port0 lladdr "
                                    rf"{re.escape(harness.KERNEL_MAC)} (REACHABLE|STALE) engines 0$")

            def kernel_neighbour():
                result = ctl("neigh", prefix=probe.file_prefix)
                assert result.returncode == 0, result.stderr
                lines = result.stdout.splitlines()
                return result.stdout if len(lines) == 1 and neigh_line.match(lines[0]) else None

            probe.wait_for(kernel_neighbour, what=f"synwave-ctl neigh to show {harness.KERNEL_IP}")
        finally:
            if holder is not None:
                holder.stop()
    assert probe.exit_code == 0, probe.output


def test_errors_are_clear():
    result = ctl("states", prefix="no-such-synwave")
    assert result.returncode == 1, result
    assert result.stderr == ("synwave-ctl: no synwave running with file prefix 'no-such-synwave' "
                             "(no /var/run/dpdk/no-such-synwave/dpdk_telemetry.v2)\n"), result.stderr
    for bad in (["frobnicate"], [], ["states", "extra"], ["raw"], ["--bogus", "states"], ["-f"],
                ["neigh", "extra"], ["engines", "0"], ["engines", "--all"], ["neigh", "-i"]):
        result = ctl(*bad)
        assert result.returncode == 2, (bad, result)
        assert result.stderr.startswith("synwave-ctl: "), (bad, result.stderr)
    result = ctl("--help")
    assert result.returncode == 0 and "Usage: synwave-ctl" in result.stdout, result
    assert "\n  neigh " in result.stdout and "\n  engines " in result.stdout, result.stdout


if __name__ == "__main__":
    sys.exit(harness.main([test_states_and_connections_like_netstat_and_ss,
                           test_paging_through_many_connections,
                           test_connection_details_like_ss_i,
                           test_engines_table,
                           test_neighbour_table_like_ip_neigh,
                           test_errors_are_clear]))
