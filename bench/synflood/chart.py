#!/usr/bin/python3
"""bench/synflood_compare's chart: legitimate connections/s over time, one panel per flood step,
both systems (100 ms slices, faint, and their 0.5 s moving average), the flood period shaded. Needs matplotlib (Debian: python3-matplotlib, for
/usr/bin/python3).

  chart.py report.json chart.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

report = json.load(open(sys.argv[1]))
phase = report["phase_seconds"]
steps = report["steps"]
fig, axes = plt.subplots(len(steps), 1, figsize=(10, 3.2 * len(steps)), squeeze=False, sharex=True)
colors = {"synwave": "tab:blue", "kernel": "tab:orange"}
for ax, step in zip(axes[:, 0], steps):
    for row in report["rows"]:
        if row["step"] != step:
            continue
        tl = row["timeline"]
        s = tl["slice_s"]
        t = [i * s for i in range(len(tl["completed"]))]
        rate = [c / s for c in tl["completed"]]
        ax.plot(t, rate, color=colors[row["system"]], lw=0.6, alpha=0.35)
        # The 0.5 s moving average, so the shape shows through the 100 ms noise.
        w = max(1, int(round(0.5 / s)))
        smooth = [sum(rate[max(0, i - w + 1):i + 1]) / len(rate[max(0, i - w + 1):i + 1]) for i in range(len(rate))]
        kept = f"kept {row['kept_pct']:.0f} %, " if row["kept_pct"] is not None else ""
        taken = f"flood taken {row['flood_pps'] / 1e3:,.0f}k SYN/s" if row.get("flood_pps") else "no flood sent"
        ax.plot(t, smooth, color=colors[row["system"]], lw=1.6, label=f"{row['system']} ({kept}{taken})")
    ax.axvspan(phase, 2 * phase, color="red", alpha=0.12, label="flood")
    title = "as fast as the port goes" if step == "max" else f"{int(step):,} SYN/s"
    ax.set_title(f"SYN flood {title}", fontsize=10)
    ax.set_ylabel("legitimate conn/s")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
axes[-1, 0].set_xlabel("seconds since the legitimate load began")
fig.suptitle(f"CRR, {report['concurrency']} in flight: synwave (net_memif) vs Linux kernel, syncookies=1 (veth)",
             fontsize=11)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
