"""The code shown for merge_datasets, load_sheet, export_dataset and run_sql makes the same
datasets and files the tools made."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.reproduce.code import Names, Source, Step, step_code
from data_science.storage.tables import table_summary
from data_science.tools.base import workspace_for
from data_science.tools.files import export_dataset, load_sheet, merge_datasets
from data_science.tools.query import run_sql
from tests.conftest import add_dataset, call, load_table
from tests.reproduce_checks import Replay, run_code

ORDERS = pd.DataFrame(
    {
        "order": [1, 2, 3, 4, 5],
        "customer": ["a", "b", "b", "z", "c"],
        "amount": [10.0, 20.0, 5.0, 7.5, -3.0],
        "note": ["=SUM(A1)", "+1", "plain", None, "@home"],
    }
)
CUSTOMERS = pd.DataFrame(
    {"customer_code": ["a", "b", "c", "d"], "city": ["Bern", "Basel", "Chur", "Sion"]}
)


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
async def test_a_merge_reruns_to_the_same_dataset_and_match_counts(
    tool_context: ToolContext, tmp_path: Path, how: str
) -> None:
    orders = add_dataset(tool_context, ORDERS, "orders.csv")
    customers = add_dataset(tool_context, CUSTOMERS, "customers.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(
        merge_datasets,
        left_dataset_id=orders,
        right_dataset_id=customers,
        on=["customer"],
        right_on=["customer_code"],
        how=how,
    )
    replay.assert_same_table(result["dataset_id"])
    replay.assert_shows(
        result["rows"], result["matched_rows"], result["left_rows"], result["right_rows"]
    )
    for key, label in (("only_left_rows", "left_only"), ("only_right_rows", "right_only")):
        assert re.search(rf"^{label}\s+{result[key]}$", replay.printed, re.MULTILINE)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
async def test_an_export_writes_the_same_file_as_the_download(
    tool_context: ToolContext, tmp_path: Path, file_format: str
) -> None:
    orders = add_dataset(tool_context, ORDERS, "orders.csv")
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(export_dataset, dataset_id=orders, file_format=file_format)
    written = Path(result["file"])  # the settings fixture runs each test in its tmp_path
    assert written.is_file()
    download = await tool_context.load_artifact(result["file"])
    assert download is not None and download.inline_data is not None
    if file_format == "csv":
        assert written.read_bytes() == download.inline_data.data
        assert "'=SUM(A1)" in written.read_text()  # a formula stays text in the file
    else:
        ours = pd.read_excel(written)
        theirs = pd.read_excel(pd.io.common.BytesIO(download.inline_data.data))
        pd.testing.assert_frame_equal(ours, theirs)
    replay.assert_shows(result["rows"])


async def test_another_sheet_is_read_from_the_uploaded_workbook(
    tool_context: ToolContext, tmp_path: Path
) -> None:
    folder = tmp_path / "beside"
    folder.mkdir()
    book = folder / "book 'q\".xlsx"  # quotes in the upload's name stay a string
    with pd.ExcelWriter(book) as writer:
        ORDERS.to_excel(writer, sheet_name="orders", index=False)
        CUSTOMERS.to_excel(writer, sheet_name="it's customers", index=False)
    record = workspace_for(tool_context).adopt_file(
        book,
        kind="table",
        name=book.name,
        stored_name="book.xlsx",
        summary=table_summary(ORDERS),
    )
    (folder / book.name).write_bytes(workspace_for(tool_context).data_path(record).read_bytes())
    result = await call(load_sheet, tool_context, dataset_id=record.id, sheet="it's customers")
    names = Names({record.id: Source(book.name, "read_excel")})
    code = step_code(
        Step("load_sheet", {"dataset_id": record.id, "sheet": "it's customers"}, result), names
    )
    namespace, printed = run_code([code], folder)
    made = namespace[names.frame(result["dataset_id"])]
    pd.testing.assert_frame_equal(made, load_table(tool_context, result["dataset_id"]))
    assert f"rows: {result['rows']} columns: {len(CUSTOMERS.columns)}" in printed


SQL = [
    "SELECT customer, sum(amount) AS total FROM orders GROUP BY customer ORDER BY customer",
    "SELECT o.order, c.city FROM {orders} o JOIN Customers c ON o.customer = c.customer_code "
    "ORDER BY o.order",
    "WITH big AS (SELECT * FROM orders WHERE amount > 6) "
    "SELECT b.customer, count(*) AS n FROM big b LEFT JOIN {customers} USING (customer) "
    "GROUP BY ALL ORDER BY 1",
]


@pytest.mark.parametrize("sql", SQL)
async def test_sql_reruns_on_duckdb_to_the_same_dataset(
    tool_context: ToolContext, tmp_path: Path, sql: str
) -> None:
    orders = add_dataset(tool_context, ORDERS, "orders.csv")
    customers = add_dataset(
        tool_context,
        CUSTOMERS.rename(columns={"customer_code": "customer"}) if "USING" in sql else CUSTOMERS,
        "customers.csv",
    )
    replay = Replay(tool_context, tmp_path / "beside")
    result = await replay.run_step(run_sql, sql=sql.format(orders=orders, customers=customers))
    replay.assert_same_table(result["dataset_id"])
    replay.assert_shows(result["rows"])
