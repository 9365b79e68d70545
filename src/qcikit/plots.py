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


def competitive_edge(edge: pd.DataFrame, label=None, ax=None):
    """Edge over each competitor (client − competitor's shops) per measure, with its reported interval.

    One row per measure (the QCI first), one marker per competitor, dodged; a
    competitor's legend entry gives its number of shops. Competitors without an
    interval (``note``, fewer than 2 shops) show the point alone. ``label`` maps a
    measure id to the text shown (default: the ``name`` column).
    """
    t = edge[edge["n_shops"] > 0].copy()  # a competitor without shops this wave is named in the text, not drawn
    names = t["name"] if "name" in t else t["measure"]
    t["label"] = [label(m) if label else n for m, n in zip(t["measure"], names)]
    order = ["QCI", *[m for m in dict.fromkeys(t["measure"]) if m != "QCI"]]
    comps = list(dict.fromkeys(t["competitor"]))
    colors = [PALETTE["brand"], PALETTE["bad"], PALETTE["good"], "#6c4f9c", "#b07d2b"]
    ax = _ax(ax, (7.5, 0.42 * len(order) + 1.8))
    step = 0.7 / max(len(comps), 1)
    for k, comp in enumerate(comps):
        part = t[t["competitor"] == comp].set_index("measure").reindex(order)
        y = np.arange(len(order)) - 0.35 + step * (k + 0.5)
        n = int(part["n_shops"].max())
        c = colors[k % len(colors)]
        ax.hlines(y, part["ci_low"], part["ci_high"], color=c, lw=2)
        ax.scatter(part["edge"], y, color=c, zorder=3, label=f"{comp} ({n} shops)")
    labels = t.drop_duplicates("measure").set_index("measure")["label"].reindex(order)
    ax.set_yticks(np.arange(len(order)), labels)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    level = 100 * edge.attrs.get("confidence", 0.95)
    ax.set_xlabel(f"edge over competitor (points; > 0 = client ahead; {level:g}% intervals)")
    ax.set_ylabel("")
    # Above the axes, never over a marker.
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(comps), 3), frameon=False)
    sns.despine(ax=ax)
    return ax


def qci_trend(trend: pd.DataFrame, target: float | None = None, ax=None):
    """The QCI of every wave with its interval bars (``metrics.trend``), and the target as a dashed line."""
    ax = _ax(ax, (6.5, 2.8))
    x = np.arange(len(trend))
    # Bars, not a band: waves are separate samples, and nothing is measured between them.
    ax.errorbar(x, trend["estimate"], yerr=[trend["estimate"] - trend["ci_low"], trend["ci_high"] - trend["estimate"]],
                color=PALETTE["brand"], marker="o", lw=2, capsize=5)
    for xi, v in zip(x, trend["estimate"]):
        ax.annotate(f"{v:.1f}", (xi, v), textcoords="offset points", xytext=(8, 0), ha="left", va="center", fontsize=9)
    if target is not None:
        ax.axhline(target, ls="--", color=PALETTE["bad"], lw=1)
        ax.annotate(f"target {target:g}", (x[-1] if len(x) else 0, target), textcoords="offset points",
                    xytext=(0, 4), ha="right", fontsize=9, color=PALETTE["bad"])
    ax.set_xticks(x, trend["wave"].astype(str))
    if len(x) == 1:
        ax.set_xlim(-0.5, 0.5)
    lo = min(float(trend["ci_low"].min()) if len(trend) else 0, target if target is not None else 100)
    hi = max(float(trend["ci_high"].max()) if len(trend) else 100, target if target is not None else 0)
    ax.set_ylim(max(0, lo - 8), min(100, hi + 8))
    level = 100 * trend.attrs.get("confidence", 0.95)
    ax.set_ylabel(f"QCI (0–100), {level:g}% CI")
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
