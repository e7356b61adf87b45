"""A bounded SYN flood with spoofed sources, out of an interface as raw Ethernet frames: run it
inside the test namespace with `ip netns exec`, so the frames reach synwave through the TAP.

Every SYN comes from an address of its own in 198.19.0.0/16 (198.19.0.1, 198.19.0.2, ...), so each
is a new 4-tuple to the listener. First --burst SYNs at once, then --rate per second until
--count SYNs were sent, --duration seconds passed, or SIGTERM came, whichever is first. Prints
"burst N" once the burst is out, and at the end one JSON line: {"sent": N, "stopped_by": ...}.

    syn_flood.py IFACE DST_MAC SRC_MAC DST_IP DST_PORT --count N --duration S [--rate R] [--burst B]
"""

import argparse
import ipaddress
import json
import os
import random
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frames  # noqa: E402

ALLOWED = ipaddress.ip_network("198.18.0.0/15")  # RFC 2544 benchmarking: nothing real lives there
SOURCES = ipaddress.ip_network("198.19.0.0/16")
MSS_1460 = b"\x02\x04\x05\xb4"
SYN = 0x02

stop_requested = False


def request_stop(signum, frame):
    global stop_requested
    stop_requested = True


def source(n):
    """The n-th spoofed source address (n >= 1): 198.19.0.1, ..., 198.19.255.254."""
    return str(SOURCES.network_address + n)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("iface")
    parser.add_argument("dst_mac")
    parser.add_argument("src_mac")
    parser.add_argument("dst_ip")
    parser.add_argument("dst_port", type=int)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--burst", type=int, default=0)
    args = parser.parse_args()
    if ipaddress.ip_address(args.dst_ip) not in ALLOWED:
        sys.exit(f"syn_flood: refused: {args.dst_ip} is outside {ALLOWED}")
    if not 0 < args.count <= SOURCES.num_addresses - 2 or args.duration <= 0 or args.rate <= 0:
        sys.exit("syn_flood: --count must be 1..65534, --duration and --rate positive")
    signal.signal(signal.SIGTERM, request_stop)

    def frame(n):
        src = source(n)
        segment = frames.tcp(src, args.dst_ip, 1024 + n % 64000, args.dst_port, random.getrandbits(32), SYN,
                             options=MSS_1460)
        return frames.ethernet(args.dst_mac, args.src_mac, 0x0800,
                               frames.ipv4(src, args.dst_ip, segment, protocol=6))

    sent = 0
    stopped_by = "count"
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((args.iface, 0))
        started = time.monotonic()
        deadline = started + args.duration
        burst = min(args.burst, args.count)
        while sent < burst:
            sock.send(frame(sent + 1))
            sent += 1
        print(f"burst {sent}", flush=True)
        paced_from = time.monotonic()
        while sent < args.count:
            if stop_requested:
                stopped_by = "signal"
                break
            now = time.monotonic()
            if now >= deadline:
                stopped_by = "duration"
                break
            due = burst + int((now - paced_from) * args.rate)
            if sent >= due:
                time.sleep(min(0.005, deadline - now))
                continue
            for _ in range(min(due, args.count) - sent):
                sock.send(frame(sent + 1))
                sent += 1
    print(json.dumps({"sent": sent, "stopped_by": stopped_by, "duration_s": round(time.monotonic() - started, 3)}),
          flush=True)


if __name__ == "__main__":
    main()
