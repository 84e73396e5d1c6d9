#!/usr/bin/env python3
"""Held-out check for the NAB configuration: coordinate search of the anomaly scorer's options
on one half of the corpus (category-stratified split A), then the chosen configuration is
scored on the other half (B), next to the all-files configuration and ARTime on the same half.

  bench/nab/heldout_tune.py BUILD_DIR [--tune A] [--passes 2]
"""
import argparse
import subprocess
import sys

GRID = {
    "point_tolerance": [0, 0.005, 0.01, 0.02, 0.05],
    "short_scale": [0, 8, 16, 24, 32],
    "short_tolerance": [0.005, 0.01, 0.02, 0.05],
    "short_weight": [0.25, 0.5, 1, 2],
    "long_scale": [0, 32, 48, 64, 96],
    "long_tolerance": [0.01, 0.02, 0.03, 0.05],
    "long_weight": [0.5, 1, 2],
    "season_scale": [0, 4, 6, 8, 12],
    "season_tolerance": [0.005, 0.01, 0.02],
    "season_learn_days": [2, 4, 7, 10],
    "refractory": [0, 5, 10, 20, 30, 50],
    "range_memory": [0, 2000, 4000, 8640, 15000],
    "warmup": [100, 150, 300],
}
# A neutral start, not the all-files optimum: NAB HTM's 5 % spatial rule alone.
START = {"point_tolerance": 0.05, "short_scale": 0, "long_scale": 0, "season_scale": 0,
         "refractory": 0, "range_memory": 0, "short_tolerance": 0.01, "short_weight": 1,
         "long_tolerance": 0.01, "long_weight": 1, "season_tolerance": 0.01,
         "season_learn_days": 2, "warmup": 150}


def run(binary, split, config):
    args = [binary, "--split", split]
    for k, v in config.items():
        args += ["--set", f"{k}={v}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [float(line.split()[1]) for line in out.splitlines()[:3]]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build")
    p.add_argument("--tune", default="A")
    p.add_argument("--passes", type=int, default=2)
    a = p.parse_args()
    binary = a.build + "/bench/nab/nab_run"
    other = "B" if a.tune == "A" else "A"
    config = dict(START)
    best = sum(run(binary, a.tune, config))
    for _ in range(a.passes):
        for key, values in GRID.items():
            for v in values:
                trial = dict(config, **{key: v})
                score = sum(run(binary, a.tune, trial))
                if score > best + 1e-9:
                    best, config = score, trial
        print("pass:", config, "sum on", a.tune, round(best, 2), file=sys.stderr)
    tuned = run(binary, a.tune, config)
    held = run(binary, other, config)
    default_held = run(binary, other, {})
    print(f"config tuned on {a.tune}: {config}")
    print(f"  on {a.tune} (in-sample):   std {tuned[0]:.2f}  lowFP {tuned[1]:.2f}  lowFN {tuned[2]:.2f}")
    print(f"  on {other} (held out):    std {held[0]:.2f}  lowFP {held[1]:.2f}  lowFN {held[2]:.2f}")
    print(f"all-files configuration on {other}: std {default_held[0]:.2f}  "
          f"lowFP {default_held[1]:.2f}  lowFN {default_held[2]:.2f}")


if __name__ == "__main__":
    main()
