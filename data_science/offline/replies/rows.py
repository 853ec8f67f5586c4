"""Replies for the row tools and SQL: how many rows were kept, the new column, the top rows, what
a query returned; each with the first rows of the new dataset (none in summary mode)."""

from __future__ import annotations

import re
from typing import Any

from data_science.offline.replies.format import names, number, table

PREVIEW_ROWS = 5
# Counts the tools add when some rows could not take the new value.
DETAILS = {
    "divided_by_zero": "rows divided by zero (left missing)",
    "outside_bins": "rows outside the bins (left missing)",
}


def filtered(result: dict[str, Any]) -> str:
    kept, total = result.get("rows_after"), result.get("rows_before")
    action = str(result.get("action") or "")
    said = re.match(r"kept [\d,]+ of [\d,]+ rows\s*(.*)$", action)  # the tool's own sentence
    which = said.group(1) if said else (f"({action})" if action else "")
    lines = [
        f"Kept **{number(kept)} of {number(total)} rows**{_share(kept, total)} {which}".rstrip()
        + ".",
        _stored(result),
    ]
    return "\n".join([*lines, *_preview(result)])


def derived(result: dict[str, Any]) -> str:
    column = _new_column(result)
    action = str(result.get("action") or "a new column was added")
    said = re.match(r"added the column '(.+?)' = (.+)$", action)
    lines = [
        f"Added the column **{said.group(1)}** = {said.group(2)}."
        if said
        else (f"Added the column **{column}**: {action}." if column else f"Done: {action}."),
        *(
            f"{number(result[key])} {words}."
            for key, words in DETAILS.items()
            if isinstance(result.get(key), int) and result[key]
        ),
        _stored(result),
    ]
    return "\n".join([*lines, *_preview(result)])


def sorted_rows(result: dict[str, Any]) -> str:
    action = str(result.get("action") or "the rows are sorted")
    kept, total = result.get("rows_after"), result.get("rows_before")
    shape = (
        f" The new dataset has {number(kept)} of the {number(total)} rows." if kept != total else ""
    )
    lines = [f"{action[:1].upper()}{action[1:]}.{shape}", _stored(result)]
    return "\n".join([*lines, *_preview(result, "The top rows:")])


def queried(result: dict[str, Any]) -> str:
    used = result.get("tables_used") or []
    source = f" from {names(list(used))}" if used else ""
    lines = [
        f"The query returned **{number(result.get('rows'))} rows** and "
        f"{len(result.get('columns') or [])} columns{source}.",
        f"They are stored as dataset `{result.get('dataset_id')}`.",
    ]
    return "\n".join([*lines, *_preview(result)])


def _share(kept: Any, total: Any) -> str:
    if isinstance(kept, int) and isinstance(total, int) and total:
        return f" ({100 * kept / total:.1f} %)"
    return ""


def _stored(result: dict[str, Any]) -> str:
    return f"Stored as the new dataset `{result.get('dataset_id')}`; the original is unchanged."


def _new_column(result: dict[str, Any]) -> str | None:
    """The derived column's name: said in the result, or the first column of its preview (the
    tool shows it first)."""
    named = result.get("column") or result.get("name")
    if isinstance(named, str):
        return named
    preview = result.get("preview") or []
    if preview and isinstance(preview[0], dict) and preview[0]:
        return str(next(iter(preview[0])))
    return None


def _preview(result: dict[str, Any], title: str = "The first rows:") -> list[str]:
    """The first rows as a table: the tool gives them as {column: value}, or (like
    preview_rows) as {"row": n, "values": {...}}."""
    rows = [row for row in result.get("preview") or [] if isinstance(row, dict)][:PREVIEW_ROWS]
    if not rows:
        return []
    records = [
        row.get("values", row) if isinstance(row.get("values"), dict) else row for row in rows
    ]
    header = list(dict.fromkeys(key for record in records for key in record))
    return [
        "",
        title,
        "",
        *table(header, [[record.get(key) for key in header] for record in records]),
    ]
