"""Benchmark output: a markdown table, CSV, JSON and a PNG of published top-1 against measured latency."""

from __future__ import annotations

import csv
import json
from pathlib import Path

__all__ = ["COLUMNS", "markdown_table", "plot_accuracy_latency", "profile_tables", "write_csv", "write_json"]

COLUMNS = [
    "model", "config", "mode", "device", "precision", "batch", "img_size", "params_m", "macs_m", "top1",
    "median_ms", "p10_ms", "p25_ms", "p75_ms", "p90_ms", "min_ms", "img_per_s", "reps", "parity_max_abs",
    "parity_rel", "top1_agree", "error",
]


def _fmt(value, digits: int = 2) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown_table(rows: list[dict]) -> str:
    """One line per row; exported runtimes add their parity against eager fp32 (max |diff| relative to the largest
    reference logit, and top-1 agreement on the calibration images)."""
    parity = any("parity_rel" in r for r in rows)
    extra = " parity (rel. max diff, top-1 agree) |" if parity else ""
    head = ("| model | config | params (M) | MACs (M) | top-1 | median ms | p10-p90 ms | IQR ms | img/s |" + extra +
            "\n|---|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if parity else ""))
    lines = [head]
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['model']} | {r['config']} | failed: {r['error']} | | | | | | |" + " |" * parity)
            continue
        cell = ""
        if parity:
            cell = f" {r['parity_rel']:.1e}, {r['top1_agree']:.0f}% |" if "parity_rel" in r else " - |"
        lines.append(
            f"| {r['model']} | {r['config']} | {_fmt(r['params_m'])} | {_fmt(r['macs_m'], 0)} | "
            f"{_fmt(r['top1'], 1)} | {_fmt(r['median_ms'])} | {_fmt(r['p10_ms'])}-{_fmt(r['p90_ms'])} | "
            f"{_fmt(r['p25_ms'])}-{_fmt(r['p75_ms'])} | {_fmt(r['img_per_s'], 1)} |" + cell
        )
    return "\n".join(lines)


def profile_tables(rows: list[dict]) -> str:
    """One markdown table per profiled row: operator, ms per step, share of all operators' self time."""
    parts = []
    for r in rows:
        if not r.get("top_ops"):
            continue
        lines = [f"### {r['model']} [{r['config']}]: where the time goes", "",
                 "| operator | ms per step | share |", "|---|---:|---:|"]
        lines += [f"| `{op['op'][:70]}` | {op['ms_per_step']:.3f} | {op['share']:.1%} |" for op in r["top_ops"]]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def write_csv(rows: list[dict], path: str | Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_json(rows: list[dict], meta: dict, path: str | Path) -> None:
    Path(path).write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")


def plot_accuracy_latency(rows: list[dict], path: str | Path, title: str = "") -> None:
    """Published ImageNet top-1 (y) against measured median latency (x), one marker style per config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
    configs = list(dict.fromkeys(r["config"] for r in rows))
    markers = "os^Dvx*"
    plotted = 0
    for i, config in enumerate(configs):
        pts = [r for r in rows if r["config"] == config and r.get("top1") is not None and not r.get("error")]
        for r in pts:
            color = "tab:red" if r["model"].startswith("emov2") else "tab:blue"
            if r["model"].startswith("official"):
                color = "tab:orange"
            ax.scatter(r["median_ms"], r["top1"], marker=markers[i % len(markers)], color=color)
            ax.annotate(r["model"], (r["median_ms"], r["top1"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
            plotted += 1
    if not plotted:
        ax.text(0.5, 0.5, "no model with a published top-1", ha="center", va="center", transform=ax.transAxes)
    if plotted:
        ax.set_xscale("log")
    ax.set_xlabel("measured median latency per batch (ms, log scale)")
    ax.set_ylabel("published ImageNet-1k top-1 (%)")
    ax.set_title(title or "top-1 vs latency (red: EMOv2, orange: official code, blue: peers)", fontsize=9)
    ax.grid(alpha=0.3)
    if plotted:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], marker=markers[i % len(markers)], color="gray", linestyle="", label=c)
                   for i, c in enumerate(configs)]
        ax.legend(handles=handles, fontsize=8, title="config (marker)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
