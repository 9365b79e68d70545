"""One seaborn figure per function, nothing else.

Each function takes a tidy table from :mod:`qcikit.metrics`,
:mod:`qcikit.reliability` or :mod:`qcikit.inventory` and returns the
matplotlib ``Axes`` it drew on, so a notebook cell can end with ``;``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

PALETTE = {"brand": "#1f5f8b", "good": "#2a9d8f", "bad": "#e76f51", "muted": "#8d99ae"}


def _ax(ax, size=(7, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def estimates_with_ci(table: pd.DataFrame, label: str, title: str = "", target: float | None = None,
                      value: str = "estimate", ax=None, confidence: float = 0.95):
    """Horizontal points with confidence bars (one row per group); small cells hatched grey."""
    t = table.sort_values(value, ascending=True).reset_index(drop=True)
    ax = _ax(ax, (7, 0.35 * len(t) + 1.2))
    small = t["small"].to_numpy() if "small" in t else np.zeros(len(t), dtype=bool)
    colors = [PALETTE["muted"] if s else PALETTE["brand"] for s in small]
    y = np.arange(len(t))
    ax.hlines(y, t["ci_low"], t["ci_high"], color=colors, lw=2)
    ax.scatter(t[value], y, color=colors, zorder=3)
    ax.set_yticks(y, t[label].astype(str))
    if target is not None:
        ax.axvline(target, ls="--", color=PALETTE["bad"], lw=1, label=f"target {target:g}")
        ax.legend(loc="lower right", frameon=False)
    ax.set_xlabel(f"score (0–100) with {100 * confidence:g}% CI")
    ax.set_title(title)
    sns.despine(ax=ax)
    return ax


def wave_change(change: pd.DataFrame, ax=None):
    """Change since the previous wave per element with the reported (adjusted) interval; in colour exactly
    where that interval excludes 0 (``significant``)."""
    t = change[change["kind"] == "element"].sort_values("change").reset_index(drop=True)
    ax = _ax(ax, (7, 0.3 * len(t) + 1.2))
    y = np.arange(len(t))
    colors = [PALETTE["good"] if (s and c > 0) else PALETTE["bad"] if s else PALETTE["muted"]
              for s, c in zip(t["significant"], t["change"])]
    ax.hlines(y, t["ci_low"], t["ci_high"], color=colors, lw=2)
    ax.scatter(t["change"], y, color=colors, zorder=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, t["name"] if "name" in t else t["measure"])
    level = 100 * change.attrs.get("confidence", 0.95)
    m = int(t["comparisons"].max()) if "comparisons" in t and len(t) else 1
    ax.set_xlabel(f"change {change.attrs.get('before', '')} → {change.attrs.get('after', '')} "
                  f"(points; {level:g}% intervals adjusted for {m} elements)")
    sns.despine(ax=ax)
    return ax


def competitive_edge(edge: pd.DataFrame, ax=None):
    """Edge over each competitor (client − competitor) per element, grouped by competitor."""
    t = edge[edge["measure"] != "QCI"]
    ax = _ax(ax, (7, 0.3 * t["measure"].nunique() + 1.5))
    sns.barplot(data=t, y="name" if "name" in t else "measure", x="edge", hue="competitor", ax=ax, errorbar=None,
                palette=[PALETTE["brand"], PALETTE["good"], PALETTE["bad"]][: t["competitor"].nunique()])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("edge over competitor (points; > 0 = client ahead)")
    ax.set_ylabel("")
    sns.despine(ax=ax)
    return ax


def scenario_heatmap(frame: pd.DataFrame, rows: str, cols: str, excluded: pd.DataFrame | None = None, ax=None):
    """Counts of sampled interactions by two facets; excluded combinations greyed out."""
    table = pd.crosstab(frame[rows], frame[cols])
    if excluded is not None:
        table = table.reindex(index=sorted(set(table.index) | set(excluded[rows])),
                              columns=sorted(set(table.columns) | set(excluded[cols])), fill_value=0)
    ax = _ax(ax, (1.1 * len(table.columns) + 2, 0.5 * len(table.index) + 1.5))
    mask = np.zeros(table.shape, dtype=bool)
    if excluded is not None:
        for _, r in excluded.iterrows():
            if r[rows] in table.index and r[cols] in table.columns:
                mask[table.index.get_loc(r[rows]), table.columns.get_loc(r[cols])] = True
    ax.set_facecolor("#d9d9d9")
    sns.heatmap(table, annot=True, fmt="d", cmap="Blues", mask=mask, cbar=False, ax=ax, linewidths=0.5)
    ax.set_title(f"sampled interactions by {rows} × {cols} (grey: cannot occur)")
    return ax


def rater_bias(calibration: pd.DataFrame, ax=None):
    """Each rater's mean bias against gold per element (points); raters to coach stand out."""
    t = calibration[calibration["element"] != "(all)"].pivot(index="element", columns="rater", values="bias")
    ax = _ax(ax, (1.2 * t.shape[1] + 3, 0.35 * t.shape[0] + 1.5))
    lim = float(np.nanmax(np.abs(t.to_numpy()))) if t.size else 1.0
    sns.heatmap(t, annot=True, fmt=".2f", cmap="RdBu_r", center=0, vmin=-lim, vmax=lim, ax=ax, cbar=False)
    ax.set_title("rater − gold, mean points per element")
    return ax


def sample_size_curve(table: pd.DataFrame, ax=None):
    """Sample size against margin of error, one line per confidence level."""
    ax = _ax(ax)
    sns.lineplot(data=table, x="margin", y="n", hue="confidence", marker="o", ax=ax)
    ax.set_xlabel("margin of error (±)")
    ax.set_ylabel("interactions to sample")
    sns.despine(ax=ax)
    return ax
