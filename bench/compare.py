#!/usr/bin/env python3
"""Compares `scripts/bench` results of two builds: the median of each figure per build.

Usage: bench/compare.py A:run1.json A:run2.json B:run1.json … (label:file). Prints one
Markdown table: figure, each build's runs (ratio, or the measured value for figures without a
limit), their medians and B's median over A's; under a figure, what one of its operations cost
where the run measured it (P2: CPU time and WAL a confirmation). `scripts/bench-compare` runs
the builds in alternation and calls this.
"""
import json
import statistics
import sys
from collections import OrderedDict


def value(row):
    """The figure's ratio to its limit, or the measured value where there is no limit (P5-P7)."""
    return row["ratio"] if row.get("ratio") is not None else row.get("measured")


def main(arguments):
    runs = OrderedDict()  # label -> list of {figure: value}
    for argument in arguments:
        label, _, path = argument.partition(":")
        with open(path) as file:
            result = json.load(file)
        if result.get("error") or result.get("problems"):
            print(f"compare: {path} is a broken run ({result.get('error') or result.get('problems')})", file=sys.stderr)
            return 1
        values = {}
        for row in result["figures"]:
            values[row["figure"]] = value(row)
            for name, cost in (row.get("costs") or {}).items():
                values[f"{row['figure']}: {name} a confirmation"] = cost
        runs.setdefault(label, []).append(values)
    if len(runs) != 2:
        print("compare: give the runs of exactly two builds (A:file … B:file …)", file=sys.stderr)
        return 2
    (a, a_runs), (b, b_runs) = runs.items()
    figures = list(OrderedDict.fromkeys(f for run in a_runs + b_runs for f in run))
    print(f"| figure | {a} runs | {b} runs | {a} median | {b} median | {b} ÷ {a} |")
    print("|---|---|---|---|---|---|")
    for figure in figures:
        av = [run[figure] for run in a_runs if run.get(figure) is not None]
        bv = [run[figure] for run in b_runs if run.get(figure) is not None]
        if not av or not bv:
            continue
        am, bm = statistics.median(av), statistics.median(bv)
        change = f"{bm / am:.3f}" if am else "–"
        print(f"| {figure} | {', '.join(f'{x:.3g}' for x in av)} | {', '.join(f'{x:.3g}' for x in bv)} "
              f"| {am:.3g} | {bm:.3g} | {change} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
