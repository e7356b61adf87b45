#!/usr/bin/env python3
"""Writes a run's synwave config from one of config/net_memif_{server,client}.conf.

  memif_config.py SRC DST --lcore N --prefix FILE_PREFIX --socket PATH --idle-sleep-us U
                  [--gateway IP] [--burst-size N]

Own file prefix, memif socket and lcore; idle_sleep_us set; net_memif cannot change its MAC after
probing (rte_eth_dev_default_mac_addr_set gives ENOTSUP), so a [port.0] mac key, if any, moves
into the devargs. --gateway adds a gateway to [port.0] (a flooded server answers spoofed,
off-link sources through it); --burst-size sets [engine] burst_size.
"""
import argparse
import re

ap = argparse.ArgumentParser()
ap.add_argument("src")
ap.add_argument("dst")
ap.add_argument("--lcore", required=True)
ap.add_argument("--prefix", required=True)
ap.add_argument("--socket", required=True)
ap.add_argument("--idle-sleep-us", required=True)
ap.add_argument("--gateway")
ap.add_argument("--burst-size")
args = ap.parse_args()

lines = open(args.src).read().splitlines()
mac = None
for l in lines:
    m = re.match(r"\s*mac\s*=\s*([0-9A-Fa-f:]+)", l)
    if m:
        mac = m.group(1)
out = []
section = None
for l in lines:
    key = l.split("#")[0].split("=")[0].strip()
    if key.startswith("["):
        section = key
    if key == "mac":
        continue
    if key == "lcores":
        l = f"lcores = {args.lcore}"
    elif key == "file_prefix":
        l = f"file_prefix = {args.prefix}"
    elif key == "idle_sleep_us":
        l = f"idle_sleep_us = {args.idle_sleep_us}"
    elif key == "devargs":
        v = l.split("#")[0].split("=", 1)[1].strip()
        v = re.sub(r"socket=[^,]*", f"socket={args.socket}", v)
        if mac:
            v += f",mac={mac}"
        l = f"devargs = {v}"
    elif key == "gateway" and section == "[port.0]" and args.gateway:
        continue  # replaced below
    elif key == "burst_size" and section == "[engine]" and args.burst_size:
        continue  # replaced below
    out.append(l)
    if key == "ipv4" and section == "[port.0]" and args.gateway:
        out.append(f"gateway = {args.gateway}")
if not any(l.split("=")[0].strip() == "idle_sleep_us" for l in out):
    out += ["", "[engine]", f"idle_sleep_us = {args.idle_sleep_us}"] if "[engine]" not in out else []
if args.burst_size:
    if "[engine]" not in [l.split("#")[0].strip() for l in out]:
        out += ["", "[engine]"]
    at = [l.split("#")[0].strip() for l in out].index("[engine]")
    out.insert(at + 1, f"burst_size = {args.burst_size}")
open(args.dst, "w").write("\n".join(out) + "\n")
