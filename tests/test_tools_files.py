"""Merging datasets, opening workbook sheets, and handing files back for download."""

import io
from pathlib import Path

import joblib
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.storage.tables import table_summary
from data_science.tools.base import workspace_for
from data_science.tools.files import export_dataset, export_model, load_sheet, merge_datasets
from data_science.tools.train import train
from tests.conftest import Refusal, add_dataset, call, call_error, load_table

ORDERS = pd.DataFrame(
    {"order": [1, 2, 3, 4], "customer": ["a", "b", "b", "z"], "amount": [10.0, 20.0, 5.0, 7.5]}
)
CUSTOMERS = pd.DataFrame({"customer_code": ["a", "b", "c"], "city": ["Bern", "Basel", "Chur"]})


async def test_a_left_join_matches_pandas_and_counts_unmatched_rows(
    tool_context: ToolContext,
) -> None:
    orders, customers = (
        add_dataset(tool_context, ORDERS, "orders"),
        add_dataset(tool_context, CUSTOMERS, "cust"),
    )
    result = await call(
        merge_datasets,
        tool_context,
        left_dataset_id=orders,
        right_dataset_id=customers,
        on=["customer"],
        right_on=["customer_code"],
        how="left",
    )
    expected = ORDERS.merge(CUSTOMERS, how="left", left_on="customer", right_on="customer_code")
    merged = load_table(tool_context, result["dataset_id"])
    pd.testing.assert_frame_equal(merged.fillna("-"), expected.fillna("-"))
    assert (result["matched_rows"], result["only_left_rows"]) == (3, 1)


@pytest.mark.parametrize(
    ("left", "right", "case"),
    [
        pytest.param(
            pd.DataFrame({"k": [1, 2]}),
            pd.DataFrame({"k": ["1", "2"]}),
            Refusal(merge_datasets, {"on": ["k"]}, "key_type_mismatch", ["cast"]),
            id="keys-of-different-kinds-are-explained",
        ),
        pytest.param(
            ORDERS,
            CUSTOMERS,
            Refusal(merge_datasets, {"on": ["client"]}, "unknown_column", ["customer"]),
            id="an-unknown-key-names-the-real-columns",
        ),
    ],
)
async def test_a_join_that_cannot_work_is_refused_with_the_way_forward(
    tool_context: ToolContext, left: pd.DataFrame, right: pd.DataFrame, case: Refusal
) -> None:
    await case.check(
        tool_context,
        left_dataset_id=add_dataset(tool_context, left, "l"),
        right_dataset_id=add_dataset(tool_context, right, "r"),
    )


async def test_another_sheet_of_a_workbook_opens_as_a_dataset(
    tool_context: ToolContext, tmp_path: Path
) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        ORDERS.to_excel(writer, sheet_name="orders", index=False)
        CUSTOMERS.to_excel(writer, sheet_name="customers", index=False)
    record = workspace_for(tool_context).adopt_file(
        path,
        kind="table",
        name="book.xlsx",
        stored_name="book.xlsx",
        summary=table_summary(ORDERS),
    )
    result = await call(load_sheet, tool_context, dataset_id=record.id, sheet="customers")
    assert result["rows"] == 3
    loaded = load_table(tool_context, result["dataset_id"])
    pd.testing.assert_frame_equal(loaded, CUSTOMERS)
    await call_error(
        load_sheet,
        tool_context,
        "unknown_sheet",
        says=["orders, customers"],
        dataset_id=record.id,
        sheet="nope",
    )


async def test_exported_csv_is_formula_safe_and_downloadable(tool_context: ToolContext) -> None:
    frame = pd.DataFrame({"note": ["=1+1", "fine"], "value": [-5, 2]})
    dataset_id = add_dataset(tool_context, frame, "notes.csv")
    result = await call(export_dataset, tool_context, dataset_id=dataset_id)
    assert result["file"] == "notes.csv"
    part = await tool_context.load_artifact(result["file"])
    assert part.inline_data.mime_type == "text/csv"
    exported = pd.read_csv(io.BytesIO(part.inline_data.data))
    assert exported["note"].tolist() == ["'=1+1", "fine"] and exported["value"].tolist() == [-5, 2]


async def test_a_trained_model_downloads_and_predicts(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    trained = await call(train, tool_context, dataset_id=dataset_id, target="species")
    result = await call(export_model, tool_context, model_id=trained["model_id"])
    part = await tool_context.load_artifact(result["file"])
    model = joblib.load(io.BytesIO(part.inline_data.data))
    assert set(model.predict(penguins[result["features"]].head(20))) <= set(penguins["species"])
