#!/usr/bin/env python3
"""Prints the tables of bench/store/run_all.sh from its results file, with ratios."""
import json
import re
import sys
from collections import defaultdict


def kv(text):
    return dict(re.findall(r"(\w[\w+.-]*)=(\S+)", text))


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def ratio(a, b):
    return f"{a / b:.2f}" if b and b == b and a == a else "n/a"


def main(path):
    push = defaultdict(dict)
    cdisk, pdisk, rss = {}, {}, {}
    queries = defaultdict(dict)
    hist, ceiling = [], []
    for line in open(path):
        line = line.strip()
        if line.startswith("PUSH "):
            d = kv(line)
            push[d["profile"]][d["store"]] = d
        elif line.startswith("CANDOR_DISK "):
            prof = kv(line[: line.index("{")])["profile"]
            cdisk[prof] = json.loads(line[line.index("{"):])
        elif line.startswith("PROM_DISK "):
            d = kv(line)
            pdisk[d["profile"]] = d
        elif line.startswith("QUERY "):
            d = kv(line)
            queries[(d["profile"], d["name"])][d["store"]] = d
        elif line.startswith("RSS "):
            d = kv(line)
            rss[d["profile"]] = d
        elif line.startswith("HIST "):
            hist.append(kv(line))
        elif line.startswith("CEILING "):
            ceiling.append(kv(line))

    print("\n## Storage and ingest (same remote-write requests into both)\n")
    print("| profile | Prometheus B/sample | candor B/sample (all SSTs) | candor raw chunks B/sample"
          " | candor/Prom (all) | candor/Prom (raw) | Prom CPU-s per M samples | candor CPU-s per M"
          " | CPU ratio | Prom peak RSS MB | candor peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for prof in push:
        p, c = push[prof].get("prometheus", {}), push[prof].get("candor", {})
        pd, cd = pdisk.get(prof, {}), cdisk.get(prof, {})
        samples = num(c.get("samples"))
        prom_bps = num(pd.get("block_bytes")) / num(pd.get("block_samples")) if pd else float("nan")
        cand_bps = num(cd.get("sst_bytes")) / samples if cd else float("nan")
        cand_raw = num(cd.get("raw_sst_bytes")) / samples if cd else float("nan")
        pcpu = num(p.get("server_cpu_s")) / num(p.get("samples")) * 1e6
        ccpu = num(c.get("server_cpu_s")) / samples * 1e6
        r = rss.get(prof, {})
        print(f"| {prof} | {prom_bps:.2f} | {cand_bps:.2f} | {cand_raw:.2f} | {ratio(cand_bps, prom_bps)}"
              f" | {ratio(cand_raw, prom_bps)} | {pcpu:.3f} | {ccpu:.3f} | {ratio(ccpu, pcpu)}"
              f" | {r.get('prometheus_peak_mb', 'n/a')} | {r.get('candor_peak_mb', 'n/a')} |")
    print("\nPush wall time (s), Prometheus / candor: " + ", ".join(
        f"{prof} {push[prof].get('prometheus', {}).get('wall_s', '?')} / {push[prof].get('candor', {}).get('wall_s', '?')}"
        for prof in push))
    print("candor acknowledges a request only after fdatasync of its WAL; Prometheus does not fsync per request.")

    print("\n## Queries (median of repeats; full range at step 60 s)\n")
    print("| profile | query | Prom median ms | candor median ms | candor/Prom | Prom server CPU ms | candor server CPU ms | series (P/c) |")
    print("|---|---|---|---|---|---|---|---|")
    for (prof, name), d in queries.items():
        p, c = d.get("prometheus", {}), d.get("candor", {})
        pm, cm = num(p.get("median_ms")), num(c.get("median_ms"))
        print(f"| {prof} | {name} | {pm:.2f} | {cm:.2f} | {ratio(cm, pm)} | {p.get('server_cpu_median_ms', '?')}"
              f" | {c.get('server_cpu_median_ms', '?')} | {p.get('series', '?')}/{c.get('series', '?')} |")

    if hist:
        print("\n## Distributions: P99 over 1 h per entity\n")
        print("| store | form | query median ms | server CPU ms | mean rel. error vs exact P99 | max rel. error |")
        print("|---|---|---|---|---|---|")
        for h in hist:
            print(f"| {h.get('store')} | {h.get('form')} | {h.get('median_ms')} | {h.get('server_cpu_ms')}"
                  f" | {h.get('mean_rel_err')} | {h.get('max_rel_err')} |")
    if ceiling:
        print("\n## Store without HTTP (one thread)\n")
        for c in ceiling:
            print("- " + ", ".join(f"{k}={v}" for k, v in c.items()))


if __name__ == "__main__":
    main(sys.argv[1])
