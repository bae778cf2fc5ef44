#!/usr/bin/env python3
"""Frames to mean return >= -200 (rolling mean of the last 100 finished non-first episodes) and the
final mean (last 100 / last 1000 non-first episodes) for episodes.csv files.

    python3 bench/ab/frames_to.py runs/*/summaries/episodes.csv
"""
import csv
import sys
from collections import deque


def analyse(path, threshold=-200.0, window=100):
    last = deque(maxlen=window)
    rets = []
    hit = None
    with open(path) as f:
        for row in csv.DictReader(f):
            if row["first_episode"] == "1":
                continue
            r = float(row["return"])
            last.append(r)
            rets.append(r)
            if hit is None and len(last) == window and sum(last) / window >= threshold:
                hit = int(row["frame"])
    final100 = sum(rets[-100:]) / max(1, len(rets[-100:]))
    final1000 = sum(rets[-1000:]) / max(1, len(rets[-1000:]))
    return hit, final100, final1000


if __name__ == "__main__":
    for p in sys.argv[1:]:
        hit, f100, f1000 = analyse(p)
        print(f"{p}: frames_to_-200 {hit}  final100 {f100:.1f}  final1000 {f1000:.1f}")
