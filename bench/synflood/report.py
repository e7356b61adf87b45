#!/usr/bin/env python3
"""bench/synflood_compare's report: reads each step's synwave-loadgen JSON (timeline, phases,
flood) and the server samples, prints the table and writes report.json.

Per system and flood step:
  rate_before      legitimate connections/s before the flood (its first second left out: warm-up)
  kept_pct         the rate during the flood, as a % of rate_before
  failures         legitimate connections that failed during the flood (and over the whole step)
  p50/p99          connect-to-last-byte latency of the legitimate CRR transactions, before and during
  offered pps      SYNs per second the flood offered (built); taken pps: what the generator's port
                   took (memif: the server's receive ring; the rest was dropped at the full ring,
                   as a NIC would; af_packet: the veth, whose drops happen further on, in the
                   server's softirq backlog)
  answered_pps     frames per second the server sent to the spoofed sources during the flood (its
                   SYN-ACKs, cookies or not, and retransmissions): by default counted where they
                   end, past the server (synwave: drop_no_route, it has no gateway; kernel: the
                   sink veth's transmitted + dropped frames); with --answers-to generator, as received back at the
                   generator. cookies_sent: the server's own count of cookie SYN-ACKs over the step
  memory           synwave: mbufs in use (its pools) and resident memory; kernel: TCP socket memory
                   (sockstat, pages), request socks and skbuff heads (slab, machine-wide), and the
                   server process's resident memory: before the flood, the peak during, the end
  recovery_s       from the flood's end until the legitimate rate (0.5 s average) is back at 90 % of
                   rate_before; 0 when it never dropped below that; null when not within the after phase
"""
import argparse
import json
import os
import statistics


def load_json(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def load_samples(path):
    out = []
    try:
        for line in open(path):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    except OSError:
        pass
    return out


def rate_between(completed, slice_s, t0, t1):
    i0, i1 = int(round(t0 / slice_s)), int(round(t1 / slice_s))
    part = completed[i0:i1]
    return sum(part) / (len(part) * slice_s) if part else 0.0


def recovery(completed, slice_s, flood_end, baseline):
    window = max(1, int(round(0.5 / slice_s)))
    start = int(round(flood_end / slice_s))
    for k in range(start, len(completed) - window + 1):
        if sum(completed[k:k + window]) / (window * slice_s) >= 0.9 * baseline:
            return max(0.0, k * slice_s - flood_end)
    return None


def memory(system, samples, origin, flood_start, flood_end):
    """before (last sample before the flood), peak during, end (last sample), per measure."""
    def measures(s):
        if "error" in s:
            return None
        m = {"rss_kb": s.get("rss_kb")}
        if system == "synwave":
            m.update(mbufs_in_use=s.get("mbufs_in_use"), syn_recv=s.get("syn_recv"))
        else:
            slab = s.get("slab", {})
            m.update(tcp_mem_pages=s.get("sockstat", {}).get("mem_pages"),
                     request_socks=slab.get("request_sock_TCP", [None])[0],
                     skbuff_heads=slab.get("skbuff_head_cache", [None])[0])
        return m
    rows = [(s["t"] - origin, measures(s)) for s in samples]
    rows = [(t, m) for t, m in rows if m]
    if not rows:
        return {}
    before = [m for t, m in rows if t < flood_start] or [rows[0][1]]
    during = [m for t, m in rows if flood_start <= t < flood_end] or [before[-1]]
    out = {}
    for key in rows[0][1]:
        vals = [m.get(key) for m in during if m.get(key) is not None]
        out[key] = {"before": before[-1].get(key), "peak_during": max(vals) if vals else None, "end": rows[-1][1].get(key)}
    return out


def counter_delta(samples, name):
    vals = [s["counters"][name] for s in samples if "counters" in s and name in s["counters"]]
    return vals[-1] - vals[0] if len(vals) >= 2 else None


def counter_rate(samples, name, origin, t0, t1):
    """A counter's increase per second between the samples nearest t0 and t1 (after the origin)."""
    pts = [(s["t"] - origin, s["counters"][name]) for s in samples if name in s.get("counters", {})]
    inside = [p for p in pts if t0 - 0.3 <= p[0] <= t1 + 0.3]
    if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
        return None
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def analyse(system, step, results, phase, answers_to):
    base = os.path.join(results, f"{system}-{step}")
    r = load_json(base + ".json")
    if r is None:
        return None
    tl, ph, fl = r["timeline"], r["phases"], r.get("flood", {})
    slice_s, completed = tl["slice_s"], tl["completed"]
    flood_start, flood_end = phase, 2 * phase
    baseline = rate_between(completed, slice_s, min(1.0, phase / 2), flood_start)
    during = rate_between(completed, slice_s, flood_start, flood_end)
    after = rate_between(completed, slice_s, flood_end, 3 * phase)
    i0, i1 = int(round(flood_start / slice_s)), int(round(flood_end / slice_s))
    answers = sum(tl["answers"][i0:i1])
    elapsed = fl.get("elapsed_s") or 0
    samples = load_samples(base + ".samples")
    cookie_counter = "tcp_syncookies_sent" if system == "synwave" else "TcpExt.SyncookiesSent"
    # Answers to the spoofed sources: counted where they went (the generator, or the server's sink).
    if answers_to == "generator":
        answered_pps = answers / elapsed if elapsed else None
    else:
        sink = "drop_no_route" if system == "synwave" else "sink_tx_packets"
        answered_pps = counter_rate(samples, sink, tl["started_unix_s"], flood_start, flood_end)
    lat = lambda p: {"p50_us": p["latency_ns"]["p50"] / 1e3, "p99_us": p["latency_ns"]["p99"] / 1e3}
    return {
        "system": system, "step": step,
        "rate_before": baseline, "rate_during": during, "rate_after": after,
        "kept_pct": 100.0 * during / baseline if baseline else None,
        "failures_during": ph["during"]["errors"], "failures_total": r.get("errors"),
        "latency_before": lat(ph["before"]), "latency_during": lat(ph["during"]), "latency_after": lat(ph["after"]),
        "flood_offered": fl.get("offered"), "flood_offered_pps": fl.get("offered_pps"),
        "flood_sent": fl.get("sent"), "flood_pps": fl.get("pps"), "flood_elapsed_s": elapsed,
        "flood_dropped_at_ring": fl.get("dropped"), "flood_unsent": fl.get("unsent"),
        "flood_ring_full": fl.get("ring_full"), "flood_forgiven": fl.get("forgiven"),
        "load_tx_drops": fl.get("load_tx_drops"),
        # Lost on the way in because the server did not take them in time: synwave: its memif ring
        # was full (the flood's and the load's frames the generator's port refused); kernel: the
        # receive backlog's drops (softnet_stat, machine-wide) over the step.
        "dropped_before_server": ((fl.get("dropped") or 0) + (fl.get("load_tx_drops") or 0) if system == "synwave"
                                  else counter_delta(samples, "softnet_dropped")),
        "answered_pps": answered_pps,
        "answered_pct": 100.0 * answered_pps / fl["pps"] if answered_pps is not None and fl.get("pps") else None,
        "answers_seen_at_generator": answers,
        "cookies_pps_during": counter_rate(samples, cookie_counter, tl["started_unix_s"], flood_start, flood_end),
        "cookies_sent": counter_delta(samples, cookie_counter),
        "memory": memory(system, samples, tl["started_unix_s"], flood_start, flood_end),
        "recovery_s": recovery(completed, slice_s, flood_end, baseline) if baseline else None,
        "timeline": {"slice_s": slice_s, "completed": completed, "errors": tl["errors"],
                     "flood_sent": tl["flood_sent"], "answers": tl["answers"]},
    }


def fmt(v, spec, none="-"):
    return format(v, spec) if v is not None else none


def mem_text(row):
    m = row["memory"]
    def trio(key, scale=1.0, unit=""):
        e = m.get(key)
        if not e or e["before"] is None:
            return "-"
        f = lambda v: f"{v / scale:.0f}{unit}" if v is not None else "?"
        return f"{f(e['before'])}/{f(e['peak_during'])}/{f(e['end'])}"
    if row["system"] == "synwave":
        return f"mbufs {trio('mbufs_in_use')} rss {trio('rss_kb', 1024, 'M')} synrecv {trio('syn_recv')}"
    return (f"tcpmem {trio('tcp_mem_pages')}p reqsk {trio('request_socks')} skb {trio('skbuff_heads')} "
            f"rss {trio('rss_kb', 1024, 'M')}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--steps", required=True)
    ap.add_argument("--phase-seconds", type=float, required=True)
    ap.add_argument("--concurrency", type=int, required=True)
    ap.add_argument("--answers-to", choices=("sink", "generator"), default="sink")
    args = ap.parse_args()
    rows = []
    for step in args.steps.split(","):
        for system in ("synwave", "kernel"):
            row = analyse(system, step, args.results, args.phase_seconds, args.answers_to)
            if row:
                rows.append(row)
    print()
    print(f"legitimate CRR, {args.concurrency} in flight; {args.phase_seconds:g} s before / during / after each flood;"
          " latency connect to last byte")
    print(f"{'step':>8} {'system':8} {'conn/s before':>13} {'during':>8} {'kept':>6} {'after':>8} {'fail':>5} "
          f"{'p50/p99 ms before':>18} {'p50/p99 ms during':>18} {'offered pps':>11} {'taken pps':>10} {'answered':>10} "
          f"{'recover s':>9}")
    for r in rows:
        lb, ld = r["latency_before"], r["latency_during"]
        print(f"{r['step']:>8} {r['system']:8} {r['rate_before']:13.0f} {r['rate_during']:8.0f} "
              f"{fmt(r['kept_pct'], '5.0f')}% {r['rate_after']:8.0f} {r['failures_during']:5d} "
              f"{lb['p50_us'] / 1e3:8.2f}/{lb['p99_us'] / 1e3:<9.2f} {ld['p50_us'] / 1e3:8.2f}/{ld['p99_us'] / 1e3:<9.2f} "
              f"{fmt(r['flood_offered_pps'], '11.0f')} {fmt(r['flood_pps'], '10.0f')} {fmt(r['answered_pps'], '10.0f')} "
              f"{fmt(r['recovery_s'], '9.1f', '   never')}")
    print("server memory before / peak during / end of step:")
    for r in rows:
        print(f"{r['step']:>8} {r['system']:8} {mem_text(r)}  cookies sent {fmt(r['cookies_sent'], 'd')}"
              f"  dropped before the server {fmt(r['dropped_before_server'], 'd')}"
              f" (of which legitimate {fmt(r['load_tx_drops'], 'd') if r['system'] == 'synwave' else '?'})")
    print("kept: legitimate conn/s during the flood as % of before; offered/taken: flood SYNs per second built / taken by")
    where = ("received back at the generator" if args.answers_to == "generator" else
             "sent by the server (synwave: no_route drops; kernel: its sink veth's transmitted + dropped frames)")
    print(f"the generator's port; answered: frames per second to the spoofed sources (SYN-ACKs), {where};")
    print("recover: s after the flood until 90 % of the rate before (0.5 s average); dropped before the server: frames")
    print("lost because the server did not take them in time (synwave: its full memif ring; kernel: the backlog)")
    # The same step is not always the same flood at the server: each side's port takes what it
    # can (memif's ring, af_packet's sendto on the generator's core). Say so where they differ.
    for step in args.steps.split(","):
        taken = {r["system"]: r["flood_pps"] for r in rows if r["step"] == step and r["flood_pps"]}
        if len(taken) == 2 and max(taken.values()) > 1.5 * min(taken.values()):
            print(f"note: at step {step} the servers took different floods (synwave {taken['synwave']:,.0f}/s, kernel "
                  f"{taken['kernel']:,.0f}/s): compare kept % at similar taken rates, not only by step")
    report = {"phase_seconds": args.phase_seconds, "answers_to": args.answers_to, "concurrency": args.concurrency, "steps": args.steps.split(","),
              "load_average": open("/proc/loadavg").read().split()[:3], "rows": rows}
    json.dump(report, open(os.path.join(args.results, "report.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
