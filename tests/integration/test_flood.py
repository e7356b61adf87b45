"""synwave-flood on net_tap with the kernel in the namespace as the target.

A bounded SYN flood at a kernel listener: the kernel's own counters (Tcp InSegs, TcpExt
SyncookiesSent / TCPReqQFullDoCookies, no checksum errors) and a capture in the namespace show
every SYN arrived, from spoofed sources inside the prefix, with Linux's SYN options; ACK, RST,
FIN and mix floods counted by the kernel; refusals (a destination outside 198.18.0.0/15, or
outside a narrower [flood] allowed_destinations; --count or --duration missing) exit before the
EAL starts, so not one packet leaves.
"""

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time

import harness

PORT = 8080
SOURCES = "198.19.0.0/16"  # synwave-flood's default source prefix


class Flood(harness.Stack):
    binary_env = "SYNWAVE_FLOOD_BIN"
    ready_line = "synwave-flood: ready"

    def wait_exit(self, timeout=60):
        """Waits for the flood to end by itself and returns its JSON summary; the namespace stays."""
        self.process.wait(timeout=timeout)
        for line in reversed(self._read_log().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise AssertionError(f"no JSON summary:\n{self._read_log()}")


def kernel_counters(stack):
    """Tcp and TcpExt counters of the namespace's kernel, by name ("Tcp.InSegs", "TcpExt.SyncookiesSent")."""
    counters = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        lines = stack.ns(["cat", path]).stdout.splitlines()
        for names, values in zip(lines[0::2], lines[1::2]):
            group, names = names.split(":", 1)
            for name, value in zip(names.split(), values.split(":", 1)[1].split()):
                counters[f"{group}.{name}"] = int(value)
    return counters


def delta(before, after, name):
    return after[name] - before[name]


def start_capture(stack, path, bpf):
    # On "any": the TAP disappears when the flood exits, and a capture on it would lose what it
    # had not read yet. Short snaplen, so the 16 MiB ring holds tens of thousands of frames.
    process = subprocess.Popen(["ip", "netns", "exec", stack.netns, "tcpdump", "-i", "any", "-nn", "-U",
                                "--immediate-mode", "-s", "128", "-B", "16384", "-w", path, bpf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    # tcpdump says "listening on ..." once the capture is open.
    lines = []
    while not lines or "listening" not in lines[-1]:
        lines.append(process.stderr.readline())
        assert lines[-1], "".join(lines)
    return process


def stop_capture(process):
    # Even in immediate mode, give the ring a moment (a TPACKET_V3 block not yet handed over when
    # tcpdump stops is lost).
    time.sleep(1.2)
    process.terminate()
    _, err = process.communicate(timeout=10)
    match = re.search(r"(\d+) packets dropped by kernel", err)
    assert match is None or match.group(1) == "0", f"tcpdump dropped packets: {err}"


def read_capture(stack, path):
    out = harness.run(["tcpdump", "-nn", "-v", "-r", path]).stdout
    # One packet: "IP (tos ..., length 60)\n    SRC.SPORT > DST.DPORT: Flags [S], ... options [...], length 0"
    return [line.strip() for line in out.splitlines() if " > " in line]


def flood(name, kind, count, *args, setup=None):
    """Runs one flood at the namespace's kernel (a listener on PORT); returns (summary, output,
    counter deltas, captured packet lines)."""
    stack = Flood(name, args=["--target", f"{harness.KERNEL_IP}:{PORT}", "--kind", kind, "--count", str(count),
                              "--duration", "5", "--delay", "2", "--json", *args])
    capture = listener = None
    try:
        stack.start()
        # The kernel reaches the spoofed sources through the flood's port, so its SYN-ACKs have a
        # route and reverse-path filtering passes.
        stack.ns(["ip", "route", "add", SOURCES, "via", harness.STACK_IP, "dev", stack.iface, "onlink"])
        stack.ns(["sysctl", "-qw", "net.ipv4.tcp_syncookies=1"])
        if setup:
            setup(stack)
        listener = subprocess.Popen(["ip", "netns", "exec", stack.netns, sys.executable, "-c",
                                     "import socket,sys,time\ns=socket.socket()\n"
                                     "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                                     f"s.bind(('0.0.0.0',{PORT}))\ns.listen(128)\nprint('listening',flush=True)\n"
                                     "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
        assert listener.stdout.readline().strip() == "listening"
        pcap = os.path.join(stack.workdir, "flood.pcap")
        capture = start_capture(stack, pcap, f"tcp and dst port {PORT}")
        before = kernel_counters(stack)
        summary = stack.wait_exit(timeout=30)
        time.sleep(0.3)
        after = kernel_counters(stack)
        stop_capture(capture)
        capture = None
        packets = read_capture(stack, pcap)
        deltas = {k: delta(before, after, k) for k in after if k in before}
    finally:
        if capture is not None:
            capture.kill()
        if listener is not None:
            listener.kill()
            listener.wait()
        stack.stop()
    assert stack.exit_code == 0, stack.output
    assert "NOT returned" not in stack.output, stack.output
    return summary, stack.output, deltas, packets


def segments(packets):
    """(source address, flags, the line) per captured segment."""
    out = []
    for line in packets:
        match = re.match(r"(\d+\.\d+\.\d+\.\d+)\.(\d+) > [\d.]+: Flags \[([^\]]*)\]", line)
        assert match, line
        out.append((match.group(1), match.group(3), line))
    return out


def check_sources(found):
    prefix = ipaddress.ip_network(SOURCES)
    addresses = {src for src, _, _ in found}
    outside = [a for a in addresses if ipaddress.ip_address(a) not in prefix]
    assert not outside, f"sources outside {SOURCES}: {outside[:5]}"
    return addresses


def test_syn_flood_reaches_listener_with_spoofed_sources():
    summary, output, d, packets = flood("flsyn", "syn", 2000)
    assert summary["sent"] + summary["dropped"] == 2000, output
    assert summary["stopped_by"] == "count", output
    assert summary["sent_by_kind"]["syn"] == summary["sent"], output
    sent = summary["sent"]
    assert sent >= 1990, output  # tap takes every packet unless its queue overflows
    # The kernel received them all, with valid checksums ...
    assert d["Tcp.InSegs"] == sent, (d["Tcp.InSegs"], output)
    assert d["Tcp.InCsumErrors"] == 0 and d["Ip.InHdrErrors"] == 0, d
    # ... as SYNs to a listener whose queue (128) overflowed into cookies.
    assert d["TcpExt.SyncookiesSent"] > 0, d
    assert d["TcpExt.TCPReqQFullDoCookies"] > 0, d
    found = segments(packets)
    assert len(found) == sent, (len(found), sent)
    assert all(flags == "S" for _, flags, _ in found), found[:3]
    addresses = check_sources(found)
    assert len(addresses) > sent * 0.9, len(addresses)  # drawn at random from 65534 addresses
    # Linux's SYN options, in Linux's order.
    assert all(re.search(r"options \[mss 1460,sackOK,TS val \d+ ecr 0,nop,wscale 7\]", line) for _, _, line in found), \
        found[0][2]
    # Past the queue's 128 entries every SYN was answered with a cookie.
    assert d["TcpExt.SyncookiesSent"] >= sent - 128 - 10, d


def test_ack_rst_fin_mix_floods_counted_by_kernel():
    for kind, flags in (("ack", {"."}), ("rst", {"R"}), ("fin", {"F."}), ("mix", {"S", ".", "R", "F."})):
        summary, output, d, packets = flood(f"fl{kind}", kind, 500, "--rate", "20000")
        assert summary["sent"] == 500 and summary["dropped"] == 0, output
        assert summary["stopped_by"] == "count", output
        found = segments(packets)
        assert len(found) == 500, (kind, len(found), d["Tcp.InSegs"])
        # One run in many counted a 501st segment (not seen in the capture, not reproduced since).
        assert 500 <= d["Tcp.InSegs"] <= 502, (kind, d["Tcp.InSegs"], output)
        assert d["Tcp.InCsumErrors"] == 0 and d["Ip.InHdrErrors"] == 0, (kind, d)
        assert {f for _, f, _ in found} == flags, (kind, {f for _, f, _ in found})
        check_sources(found)
        # --rate 20000: 500 packets take about 25 ms.
        assert 0.015 < summary["duration_s"] < 0.5, (kind, summary)
        if kind == "mix":
            by_kind = summary["sent_by_kind"]
            assert all(by_kind[k] > 50 for k in ("syn", "ack", "rst", "fin")), by_kind


def test_duration_bounds_the_flood():
    summary, output, d, _ = flood("fldur", "syn", 10 ** 9, "--rate", "1000", "--quiet")
    assert summary["stopped_by"] == "duration", output
    assert 4.5 < summary["duration_s"] < 5.5, summary
    # --rate keeps a schedule: an engine that loses its core catches up afterwards (up to 1 s'
    # worth), so it may send less on a loaded machine, never more than rate x duration (+ a burst).
    assert 0 < summary["sent"] <= 5200, summary
    assert d["Tcp.InSegs"] == summary["sent"], (d["Tcp.InSegs"], summary)


def write_config(stack, extra):
    with open(stack.config_path, "a") as f:
        f.write(extra)


def run_refused(name, args, extra_config="", expect_code=1):
    stack = Flood(name)
    write_config(stack, extra_config)
    result = subprocess.run([harness.synwave_binary("SYNWAVE_FLOOD_BIN"), "--config", stack.config_path] + args,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == expect_code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    # Refused before the EAL: no port, so not even the TAP interface came to be.
    assert harness.run(["ip", "link", "show", stack.iface], check=False).returncode != 0
    return result.stderr


def test_refuses_destinations_outside_allowed():
    for target in ("10.0.0.1", "198.20.0.1", "198.17.255.255", "8.8.8.8"):
        err = run_refused("flref", ["--target", f"{target}:80", "--kind", "syn", "--count", "10", "--duration", "1"])
        assert f"refused: {target} is outside the allowed destinations (198.18.0.0/15" in err, err
        assert "nothing was sent" in err, err
    # A narrower [flood] allowed_destinations refuses even inside the benchmarking range.
    err = run_refused("flref2", ["--target", "198.18.0.1:80", "--kind", "ack", "--count", "10", "--duration", "1"],
                      "[flood]\nallowed_destinations = 198.18.1.0/24\n")
    assert "refused: 198.18.0.1 is outside the allowed destinations (198.18.1.0/24" in err, err


def test_refuses_without_count_or_duration():
    base = ["--target", f"{harness.KERNEL_IP}:{PORT}", "--kind", "syn"]
    err = run_refused("flnoc", base + ["--duration", "1"], expect_code=2)
    assert "--count N and --duration S are both required (missing: --count)" in err, err
    err = run_refused("flnod", base + ["--count", "10"], expect_code=2)
    assert "--count N and --duration S are both required (missing: --duration)" in err, err
    err = run_refused("flnon", base, expect_code=2)
    assert "(missing: both)" in err, err
    for bad in (["--count", "0", "--duration", "1"], ["--count", "10", "--duration", "0"],
                ["--count", "10", "--duration", "1", "--kind", "xmas"],
                ["--count", "10", "--duration", "1", "--source-prefix", "198.19.0.1/16"],
                ["--count", "10", "--duration", "1", "--rate", "-5"]):
        err = run_refused("flbad", base + bad, expect_code=2)
        assert err.startswith("synwave-flood: bad "), (bad, err)


if __name__ == "__main__":
    sys.exit(harness.main([test_refuses_destinations_outside_allowed, test_refuses_without_count_or_duration,
                           test_syn_flood_reaches_listener_with_spoofed_sources,
                           test_ack_rst_fin_mix_floods_counted_by_kernel, test_duration_bounds_the_flood]))
