"""The datasets the offline model's evaluation runs over, as the catalogue `list_data_files` shows.

Each dataset is a real table (palmerpenguins, scikit-learn's bundled sets, statsmodels' CO2
series, and small shop/review/sales tables made here, with passenger, flight, diamond and company
tables shaped like the public ones analysts ask about), written to a file and read back with
the app's own reader, so column names and types are exactly what an upload would give (dates in
a CSV stay text, as they do for a real upload).
"""

from __future__ import annotations

import hashlib
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from palmerpenguins import load_penguins
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from statsmodels.datasets import co2

from data_science.storage.tables import describe_columns, read_table

SEED = 7


def _sales() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    months = pd.date_range("2019-01-01", periods=48, freq="MS")
    rows = []
    for store in ("north", "south"):
        season = 100 + 20 * np.sin(np.arange(48) * 2 * np.pi / 12)
        sales = season + np.arange(48) * 1.5 + rng.normal(0, 5, 48)
        for month, value in zip(months, sales, strict=True):
            rows.append(
                {
                    "month": month.date().isoformat(),
                    "store": store,
                    "sales": round(float(value), 2),
                    "visitors": int(value * 3),
                    "on_promotion": bool(rng.random() < 0.3),
                }
            )
    return pd.DataFrame(rows)


def _reviews() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    n = 120
    ordered = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    texts = ["great value", "arrived broken", "works as described", "too small", "love it"]
    return pd.DataFrame(
        {
            "review_id": np.arange(1, n + 1),
            "order_date": ordered.strftime("%Y-%m-%d"),
            "ship_date": (ordered + pd.Timedelta(days=2)).strftime("%d/%m/%Y"),
            "customer_name": rng.choice(["Ana", "Ben", "Chloé", "Dev", "Eli"], n),
            "product_category": rng.choice(["books", "garden", "toys", "kitchen"], n),
            "review_text": rng.choice(texts, n),
            "rating": rng.integers(1, 6, n),
            "price": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2.0, 15.0, n).round(2)),
            "returned": rng.random(n) < 0.15,
        }
    )


def _orders() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    return pd.DataFrame(
        {
            "order_id": np.arange(1, 41),
            "customer_id": rng.integers(1, 11, 40),
            "order_date": pd.date_range("2024-01-01", periods=40, freq="D").strftime("%Y-%m-%d"),
            "amount": rng.gamma(2.0, 20.0, 40).round(2),
            "status": rng.choice(["paid", "shipped", "refunded"], 40),
        }
    )


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, 11),
            "name": [f"customer {index}" for index in range(1, 11)],
            "country": ["FR", "DE", "NL", "FR", "BE", "DE", "FR", "NL", "BE", "DE"],
            "signup_date": pd.date_range("2023-01-01", periods=10, freq="MS").strftime("%Y-%m-%d"),
            "segment": ["retail", "pro"] * 5,
        }
    )


def _budget() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "department": ["sales", "ops", "it"] * 4,
            "month": pd.date_range("2024-01-01", periods=12, freq="MS"),
            "budget": np.arange(12) * 1000.0 + 5000,
            "actual": np.arange(12) * 950.0 + 5200,
        }
    )


def _co2() -> pd.DataFrame:
    frame = co2.load_pandas().data
    return frame.reset_index(names="date").assign(date=lambda f: f["date"].dt.date.astype(str))


def _titanic() -> pd.DataFrame:
    """A passenger list shaped like the Titanic one (camelCase names, a 0/1 outcome, gaps)."""
    rng = np.random.default_rng(SEED)
    n = 300
    klass = rng.choice([1, 2, 3], n, p=[0.25, 0.2, 0.55])
    sex = rng.choice(["male", "female"], n, p=[0.65, 0.35])
    chance = 0.15 + 0.5 * (sex == "female") + 0.1 * (3 - klass)
    return pd.DataFrame(
        {
            "passengerId": np.arange(1, n + 1),
            "survived": (rng.random(n) < chance).astype(int),
            "passengerClass": klass,
            "name": [f"Passenger {index}" for index in range(1, n + 1)],
            "sex": sex,
            "age": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(1, 75, n).round(1)),
            "siblingsSpouses": rng.integers(0, 4, n),
            "parentsChildren": rng.integers(0, 3, n),
            "fare": rng.gamma(2.0, 16.0, n).round(2),
            "cabin": np.where(rng.random(n) < 0.7, None, rng.choice(["B5", "C22", "E8"], n)),
            "embarked": np.where(rng.random(n) < 0.02, None, rng.choice(["S", "C", "Q"], n)),
        }
    )


def _flights() -> pd.DataFrame:
    """Departures from three New York airports, shaped like nycflights13."""
    rng = np.random.default_rng(SEED)
    n = 400
    delay = rng.gamma(1.2, 15.0, n).round() - 10
    return pd.DataFrame(
        {
            "date": (
                pd.Timestamp("2013-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D")
            ).strftime("%Y-%m-%d"),
            "carrier": rng.choice(["UA", "AA", "B6", "DL", "EV"], n),
            "flight": rng.integers(1, 2000, n),
            "origin": rng.choice(["JFK", "LGA", "EWR"], n),
            "dest": rng.choice(["ATL", "ORD", "LAX", "BOS", "MIA"], n),
            "dep_delay": np.where(rng.random(n) < 0.03, np.nan, delay),
            "arr_delay": delay + rng.normal(0, 8, n).round(),
            "distance": rng.integers(180, 2500, n),
            "air_time": rng.uniform(30, 350, n).round(),
        }
    )


def _diamonds() -> pd.DataFrame:
    """Diamonds shaped like ggplot2's: carat, the 4 Cs as text, prices and sizes."""
    rng = np.random.default_rng(SEED)
    n = 400
    carat = rng.gamma(2.0, 0.4, n).round(2) + 0.2
    return pd.DataFrame(
        {
            "carat": carat,
            "cut": rng.choice(["Fair", "Good", "Very Good", "Premium", "Ideal"], n),
            "color": rng.choice(list("DEFGHIJ"), n),
            "clarity": rng.choice(["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"], n),
            "depth": rng.normal(61.7, 1.4, n).round(1),
            "table": rng.normal(57.4, 2.2, n).round(),
            "price": (carat * 4000 + rng.normal(0, 600, n)).round().clip(326),
            "x": (carat**0.33 * 6.4).round(2),
            "y": (carat**0.33 * 6.4 + rng.normal(0, 0.05, n)).round(2),
            "z": (carat**0.33 * 3.9).round(2),
        }
    )


def _companies() -> pd.DataFrame:
    """Companies with figures as a scraped table gives them: market cap and growth as text."""
    rng = np.random.default_rng(SEED)
    n = 60
    revenue = rng.gamma(2.0, 900.0, n).round(1)
    return pd.DataFrame(
        {
            "company": [f"Company {index}" for index in range(1, n + 1)],
            "sector": rng.choice(["energy", "retail", "tech", "finance"], n),
            "country": rng.choice(["US", "DE", "JP", "FR"], n),
            "founded": rng.integers(1900, 2015, n),
            "employees": rng.integers(50, 90000, n),
            "revenue": revenue,
            "profit": (revenue * rng.normal(0.08, 0.06, n)).round(1),
            "market_cap": [f"${value:,.2f}" for value in rng.gamma(2.0, 5000.0, n)],
            "growth": [f"{value:.1f}%" for value in rng.normal(5, 8, n)],
        }
    )


FRAMES = {
    "penguins.csv": load_penguins,
    "diabetes.csv": lambda: load_diabetes(as_frame=True).frame,
    "wine.csv": lambda: load_wine(as_frame=True).frame,
    "breast_cancer.csv": lambda: load_breast_cancer(as_frame=True).frame,
    "co2.csv": _co2,
    "monthly_sales.csv": _sales,
    "reviews.csv": _reviews,
    "orders.csv": _orders,
    "customers.csv": _customers,
    "budget.xlsx": _budget,
    "titanic.csv": _titanic,
    "flights.csv": _flights,
    "diamonds.csv": _diamonds,
    "companies.csv": _companies,
}
# The eval's dataset names: the files uploaded to the chat, oldest first.
SESSIONS = {
    "penguins": ["penguins.csv"],
    "diabetes": ["diabetes.csv"],
    "wine": ["wine.csv"],
    "breast_cancer": ["breast_cancer.csv"],
    "co2": ["co2.csv"],
    "sales": ["monthly_sales.csv"],
    "reviews": ["reviews.csv"],
    "shop": ["orders.csv", "customers.csv"],
    "budget": ["budget.xlsx"],
    "titanic": ["titanic.csv"],
    "flights": ["flights.csv"],
    "diamonds": ["diamonds.csv"],
    "companies": ["companies.csv"],
}


def dataset_id(name: str) -> str:
    return "ds_" + hashlib.sha256(name.encode()).hexdigest()[:16]


@cache
def _entry(name: str) -> tuple[tuple[str, Any], ...]:
    frame = FRAMES[name]()
    extension = name.rsplit(".", 1)[1]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        if extension == "xlsx":
            frame.to_excel(path, index=False)
        else:
            frame.to_csv(path, index=False)
        parsed = read_table(path, extension)
    entry = {
        "id": dataset_id(name),
        "kind": "table",
        "name": name,
        "rows": int(parsed.shape[0]),
        "columns": describe_columns(parsed),
    }
    return tuple(entry.items())


def catalogue(session: str) -> dict[str, Any]:
    """A fresh catalogue (as `list_data_files` returns it) for one of the eval's sessions."""
    return {
        "status": "ok",
        "datasets": [dict(_entry(name)) for name in SESSIONS[session]],
        "models": [],
    }
