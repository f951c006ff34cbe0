"""LLM usage accounting as a table, with cost when a price table is configured.

Prices come from ``GRAPHMEM_LLM_PRICES`` as ``model=input:output`` pairs (US dollars per
million tokens), comma separated, e.g. ``gpt-4o-mini=0.15:0.6``. Cached calls cost
nothing and are counted apart, so the table also shows what the cache saved.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from graphmem.config import ConfigError


def parse_prices(spec: str | None) -> dict[str, tuple[float, float]]:
    prices: dict[str, tuple[float, float]] = {}
    if not spec:
        return prices
    for item in spec.split(","):
        if not item.strip():
            continue
        try:
            model, rates = item.rsplit("=", 1)
            inp, out = rates.split(":")
            prices[model.strip()] = (float(inp), float(out))
        except ValueError as exc:
            raise ConfigError(f"GRAPHMEM_LLM_PRICES item {item!r} is not model=input:output "
                              "(dollars per million tokens)") from exc
    return prices


def cost(row: dict[str, Any], prices: dict[str, tuple[float, float]]) -> float | None:
    rate = prices.get(row["model"])
    if rate is None:
        return None
    return (row["prompt_tokens"] * rate[0] + row["completion_tokens"] * rate[1]) / 1e6


def usage_table(rows: list[dict[str, Any]], price_spec: str | None = None) -> Table:
    prices = parse_prices(price_spec)
    table = Table(title="LLM usage")
    for col in ("model", "kind", "calls", "cached", "prompt tokens", "completion tokens"):
        table.add_column(col, justify="left" if col in ("model", "kind") else "right")
    if prices:
        table.add_column("cost $", justify="right")
    for r in rows:
        cells = [r["model"], r["kind"], str(r["calls"]), str(r["cached_calls"]),
                 f"{r['prompt_tokens']:,}", f"{r['completion_tokens']:,}"]
        if prices:
            c = cost(r, prices)
            cells.append("?" if c is None else f"{c:.4f}")
        table.add_row(*cells)
    return table
