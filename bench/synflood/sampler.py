#!/usr/bin/env python3
"""Samples a flooded server's memory and counters while bench/synflood_compare runs a step.

One JSON object per line to --out, every --interval seconds, until SIGTERM/SIGINT:
  {"t": unix seconds, "rss_kb": the server process's resident memory, ...}
  synwave (its DPDK telemetry socket, as synwave-ctl reads it):
    "mbufs_in_use", "mbufs_size" (summed over the engines' pools), "syn_recv" (half-open
    connections), "counters": {tcp_syncookies_sent, tcp_passive_opens, drop_no_route, ...}
  kernel (run inside the server's namespace, so /proc/net is that namespace's):
    "sockstat": {"inuse", "orphan", "tw", "alloc", "mem_pages"}, "slab": {cache: [active objects,
    object size]} for request_sock_TCP, TCP and skbuff_head_cache (global: the machine's),
    "counters": {SyncookiesSent, ListenDrops, ..., softnet_dropped, sink_tx_packets (with --sink)}
"""
import argparse
import json
import os
import signal
import socket
import time

SYNWAVE_COUNTERS = ("drop_no_route", "tcp_syncookies_sent", "tcp_syncookies_recv", "tcp_syncookies_failed", "tcp_passive_opens",
                    "tcp_segments_in", "tcp_segments_out", "tcp_listen_overflows", "tcp_req_q_full_do_cookies",
                    "tcp_req_q_full_drop", "drop_tcp_listen_drops", "drop_no_mbuf", "tcp_retransmits")
KERNEL_COUNTERS = ("TcpExt.SyncookiesSent", "TcpExt.SyncookiesRecv", "TcpExt.SyncookiesFailed", "Tcp.PassiveOpens",
                   "Tcp.InSegs", "Tcp.OutSegs", "TcpExt.ListenOverflows", "TcpExt.ListenDrops",
                   "TcpExt.TCPReqQFullDoCookies", "TcpExt.TCPReqQFullDrop", "Tcp.RetransSegs")
SLABS = ("request_sock_TCP", "TCP", "skbuff_head_cache")

running = True


def stop(*_):
    global running
    running = False


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Telemetry:
    """DPDK's telemetry socket (SOCK_SEQPACKET, JSON answers), as synwave-ctl speaks it."""

    def __init__(self, prefix):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(2)
        self.sock.connect(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
        greeting = json.loads(self.sock.recv(1 << 16))
        self.max_len = int(greeting.get("max_output_len", 16384))

    def query(self, command):
        self.sock.send(command.encode())
        reply = json.loads(self.sock.recv(self.max_len + 1024))
        return reply.get(command.split(",")[0])


def synwave_sample(telemetry):
    pools = telemetry.query("/synwave/mempools") or {}
    states = telemetry.query("/synwave/tcp/states") or {}
    counters = telemetry.query("/synwave/counters") or {}
    return {"mbufs_in_use": sum(p.get("in_use", 0) for p in pools.values()),
            "mbufs_size": sum(p.get("size", 0) for p in pools.values()),
            "syn_recv": states.get("SYN_RECV", 0),
            "counters": {k: counters.get(k, 0) for k in SYNWAVE_COUNTERS}}


def kernel_counters():
    out = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        with open(path) as f:
            lines = f.read().splitlines()
        for names, values in zip(lines[0::2], lines[1::2]):
            group, names = names.split(":", 1)
            for name, value in zip(names.split(), values.split(":", 1)[1].split()):
                key = f"{group}.{name}"
                if key in KERNEL_COUNTERS:
                    out[key] = int(value)
    return out


def kernel_sample(sink):
    sockstat = {}
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                fields = line.split()[1:]
                values = dict(zip(fields[0::2], map(int, fields[1::2])))
                sockstat = {"inuse": values.get("inuse"), "orphan": values.get("orphan"), "tw": values.get("tw"),
                            "alloc": values.get("alloc"), "mem_pages": values.get("mem")}
    slab = {}
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] in SLABS:
                    slab[parts[0]] = [int(parts[1]), int(parts[3])]  # active objects, object size
    except OSError:
        pass
    counters = kernel_counters()
    # Frames the receive backlog (netdev_max_backlog) dropped before the stack saw them: where a
    # veth delivers what the server cannot take in time. Machine-wide, all CPUs.
    with open("/proc/net/softnet_stat") as f:
        counters["softnet_dropped"] = sum(int(line.split()[1], 16) for line in f if line.strip())
    if sink:  # the device the answers to the spoofed sources are routed into (it drops them)
        total = 0
        for stat in ("tx_packets", "tx_dropped"):
            with open(f"/sys/class/net/{sink}/statistics/{stat}") as f:
                total += int(f.read())
        counters["sink_tx_packets"] = total
    return {"sockstat": sockstat, "slab": slab, "counters": counters}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", choices=("synwave", "kernel"), required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--prefix", help="synwave: the server's eal.file_prefix")
    ap.add_argument("--sink", help="kernel: the device answers to spoofed sources are routed into")
    ap.add_argument("--interval", type=float, default=0.25)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    telemetry = None
    with open(args.out, "w") as out:
        while running:
            sample = {"t": time.time(), "rss_kb": rss_kb(args.pid)}
            try:
                if args.system == "synwave":
                    telemetry = telemetry or Telemetry(args.prefix)
                    sample.update(synwave_sample(telemetry))
                else:
                    sample.update(kernel_sample(args.sink))
            except (OSError, ValueError) as e:  # the server not up yet, or gone
                telemetry = None
                sample["error"] = str(e)
            out.write(json.dumps(sample) + "\n")
            out.flush()
            time.sleep(args.interval)


if __name__ == "__main__":
    main()
