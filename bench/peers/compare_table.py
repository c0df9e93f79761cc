"""Print the Markdown table of scripts/compare-peers from its results.tsv.

Usage: /usr/bin/python3 compare_table.py RESULTS.tsv

Each row is the median samples/s over the repeats of one peer, workload and thread count,
with the range over the repeats and the ratio bmlp / peer against the project's target. It
also compares the peer's final loss with bmlp's and shows how busy other processes kept the
machine. FANN is single-threaded, so its runs at the smallest thread count fill the rows of
every thread count.
"""

import csv
import statistics
import sys
from collections import defaultdict

# Targets for bmlp's samples/s over the peer's, per workload and peer.
TARGETS = {
    "S": {"torch": 250, "onednn": 15, "fann": 40},
    "M": {"torch": 5, "onednn": 1.5, "fann": 30},
    "D": {"torch": 2, "onednn": 1.2, "fann": 25},
}
NETWORKS = {"S": "2-2-1", "M": "32-256-1", "D": "64-256-256-1"}
LABELS = {
    "bmlp": "bmlp",
    "torch": "PyTorch eager",
    "onednn": "oneDNN primitives",
    "fann-incremental": "FANN incremental",
    "fann-batch": "FANN batch (full epoch)",
}
PEER_ORDER = ["bmlp", "torch", "onednn", "fann-incremental", "fann-batch"]

# A peer's loss outside [LOSS_LOW, LOSS_HIGH] times bmlp's is flagged.
LOSS_LOW = 0.75
LOSS_HIGH = 1.33


def format_rate(rate):
    if rate >= 1e6:
        return f"{rate / 1e6:.3g}M"
    if rate >= 1e3:
        return f"{rate / 1e3:.3g}k"
    return f"{rate:.3g}"


def format_ratio(ratio):
    return f"{ratio:.3g}x"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: compare_table.py RESULTS.tsv")
    rates = defaultdict(list)
    losses = defaultdict(list)
    other_loads = defaultdict(list)
    epochs = {}
    thread_counts = defaultdict(set)
    with open(sys.argv[1], newline="") as tsv:
        for row in csv.DictReader(tsv, delimiter="\t"):
            key = (row["workload"], int(row["threads"]), row["peer"])
            try:
                rates[key].append(float(row["samples_per_second"]))
                losses[key].append(float(row["loss"]))
                other_loads[key].append(float(row["other_load"]))
            except ValueError:
                sys.exit(f"compare_table: run {row} has no figures; see its log")
            epochs[key] = row["epochs"]
            thread_counts[row["workload"]].add(int(row["threads"]))

    print(
        "| workload | threads | peer | epochs | samples/s (median) | range | bmlp / peer "
        "| target | met | loss (BCE) | loss / bmlp's | other load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for workload in ["S", "M", "D"]:
        if workload not in thread_counts:
            continue
        first_threads = min(thread_counts[workload])
        for threads in sorted(thread_counts[workload]):
            bmlp_key = (workload, threads, "bmlp")
            bmlp_rate = statistics.median(rates[bmlp_key]) if bmlp_key in rates else None
            bmlp_loss = statistics.median(losses[bmlp_key]) if bmlp_key in losses else None
            for peer in PEER_ORDER:
                runs_at = first_threads if peer.startswith("fann") else threads
                key = (workload, runs_at, peer)
                if key not in rates:
                    continue
                rate = statistics.median(rates[key])
                loss = statistics.median(losses[key])
                spread = f"{format_rate(min(rates[key]))}-{format_rate(max(rates[key]))}"
                label = LABELS[peer]
                if runs_at != threads and label.endswith(")"):
                    label = f"{label[:-1]}, {runs_at} thread)"
                elif runs_at != threads:
                    label += f" ({runs_at} thread)"
                ratio = target = met = loss_check = ""
                if peer != "bmlp" and bmlp_rate is not None:
                    ratio = format_ratio(bmlp_rate / rate)
                    goal = TARGETS[workload][peer.split("-")[0]]
                    target = f">= {goal:g}x"
                    met = "yes" if bmlp_rate / rate >= goal else "**no**"
                if peer != "bmlp" and bmlp_loss:
                    relative = loss / bmlp_loss
                    loss_check = f"{relative:.2f}"
                    if relative > LOSS_HIGH:
                        loss_check += " (**higher: out of range**)"
                    elif relative < LOSS_LOW:
                        loss_check += " (lower: out of range)"
                print(
                    f"| {workload} {NETWORKS[workload]} | {threads} | {label} | {epochs[key]} "
                    f"| {format_rate(rate)} | {spread} | {ratio} | {target} | {met} "
                    f"| {loss:.4f} | {loss_check} | {statistics.median(other_loads[key]):.2f} |"
                )

    print()
    print(
        f"samples/s: samples per epoch / median epoch time of a run, median over the runs; "
        f"range: slowest to fastest run. Loss: mean binary cross-entropy of the trained model "
        f"over all samples. A loss outside {LOSS_LOW} to {LOSS_HIGH} times bmlp's is flagged. "
        f"FANN minimizes squared error, steps once per sample in incremental mode and once "
        f"per epoch in batch mode, and runs on one thread in every row. Other load: mean "
        f"number of cores that other processes kept busy during a run (median over the runs); "
        f"well above 0, the machine was shared and the figures are less reliable."
    )


if __name__ == "__main__":
    main()
