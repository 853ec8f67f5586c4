"""Code templates for the tools of `data_science.tools.prep`: cleaning (imputing, dropping,
renaming, converting, de-duplicating, outliers), scaling and encoding, date parts and TF-IDF.
Each makes a new frame from the one it was given; the columns are those the tool treated, as
its result names them."""

from __future__ import annotations

from typing import Any

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates._shared import arguments_and_frame, cell

SEED = 42
KNN_NEIGHBORS = 5
ITERATIVE_ROUNDS = 10
ONEHOT_MAX_CATEGORIES = 50  # beyond them, the rarer values share <column>_other
FIT_SAMPLE_ROWS = 20_000  # data_science.ml.prep.cleaning: bigger tables fit on a sample


def _start(step: Step, names: Names) -> tuple[dict[str, Any], str, str]:
    """The arguments, the input frame's variable and the new frame's variable."""
    args, data = arguments_and_frame(step, names)
    return args, data, names.new_frame(str(step.result["dataset_id"]))


def _rows(data: str, made: str) -> str:
    return f'print("rows:", len({data}), "->", len({made}), "columns:", {made}.shape[1])'


@code_for("impute_missing")
def impute_missing(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    strategy = str(args["strategy"])
    columns = [str(name) for name in step.result.get("filled_per_column", {})]
    lines = [f"columns = {literal(columns)}  # the columns with gaps that were filled"]
    imports = ["import pandas as pd"]
    if strategy in {"mean", "median"}:
        lines.append(f"fill = {{name: float({data}[name].{strategy}()) for name in columns}}")
    elif strategy == "most_frequent":  # the smallest of tied values, as scikit-learn does
        lines += [
            "fill = {}",
            "for name in columns:",
            f"    counts = {data}[name].value_counts()",
            "    fill[name] = sorted(counts[counts == counts.max()].index)[0]",
        ]
    elif strategy == "constant":
        lines.append(f"fill = {literal(dict(step.result.get('fill_values') or {}))}")
    else:
        model_lines, imports = _model_imputation(data, made, strategy, step.result)
        lines += model_lines
    if strategy in {"mean", "median", "most_frequent", "constant"}:
        lines += [
            f"{made} = {data}.copy()",
            "for name, value in fill.items():",
            f"    {made}[name] = {made}[name].fillna(value)",
            'print("fill values:", fill)',
        ]
    lines += [
        "# values filled per column",
        f"print(({data}[columns].isna().sum() - {made}[columns].isna().sum()).to_string())",
        _rows(data, made),
    ]
    return cell(imports, *lines)


def _model_imputation(
    data: str, made: str, strategy: str, result: Any
) -> tuple[list[str], list[str]]:
    evidence = [str(name) for name in result.get("evidence_columns", [])]
    if strategy == "knn":
        imports = [
            "import pandas as pd",
            "from sklearn.impute import KNNImputer",
            "from sklearn.preprocessing import StandardScaler",
        ]
        make = f"KNNImputer(n_neighbors={KNN_NEIGHBORS}, keep_empty_features=True)"
    else:
        imports = [
            "import pandas as pd",
            "from sklearn.experimental import enable_iterative_imputer  # noqa: F401",
            "from sklearn.impute import IterativeImputer",
        ]
        make = (
            f"IterativeImputer(random_state={SEED}, max_iter={ITERATIVE_ROUNDS},"
            " keep_empty_features=True)"
        )
    lines = [
        "# every numeric column is evidence for the missing values",
        f"values = {data}[{literal(evidence)}].astype(float)",
    ]
    if strategy == "knn":  # neighbours are found on standardized columns
        lines += [
            "scaler = StandardScaler().fit(values)",
            "scaled = scaler.transform(values)",
        ]
        source = "scaled"
    else:
        source = "values.to_numpy()"
    lines.append(f"imputer = {make}")
    if result.get("fitted_on_rows"):
        lines += [
            f"fit_rows = {data}.index.get_indexer("
            f"{data}.sample(n={FIT_SAMPLE_ROWS}, random_state={SEED}).index)",
            f"filled = imputer.fit({source}[fit_rows]).transform({source})",
        ]
    else:
        lines.append(f"filled = imputer.fit_transform({source})")
    if strategy == "knn":
        lines.append("filled = scaler.inverse_transform(filled)")
    lines += [
        f"filled = pd.DataFrame(filled, index={data}.index, columns=values.columns)",
        f"{made} = {data}.copy()",
        "for name in columns:",
        f"    {made}[name] = {data}[name].astype(float).fillna(filled[name])",
    ]
    return lines, imports


@code_for("drop_columns")
def drop_columns(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    removed = [str(name) for name in step.result.get("removed_columns") or args["columns"]]
    return cell([], f"{made} = {data}.drop(columns={literal(removed)})", _rows(data, made))


@code_for("rename_columns")
def rename_columns(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    renamed = step.result.get("renamed")
    if renamed is None:
        renamed = {str(old): str(new).strip() for old, new in args["mapping"].items()}
    return cell(
        [],
        f"{made} = {data}.rename(columns={literal(dict(renamed))})",
        f"print(list({made}.columns))",
        _rows(data, made),
    )


@code_for("remove_duplicates")
def remove_duplicates(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    compared = step.result.get("compared_on")
    subset = literal(list(compared)) if isinstance(compared, list) else "None"
    keep = args["keep"]
    kept = literal(keep if keep != "none" else False)  # False: no copy of a duplicate stays
    lines = [
        f"subset = {subset}  # None: rows equal in every column",
        f"duplicated = {data}.duplicated(subset=subset, keep={kept})",
        f"{made} = {data}[~duplicated].reset_index(drop=True)",
        f"groups = {data}[{data}.duplicated(subset=subset, keep=False)]"
        ".drop_duplicates(subset).shape[0]",
        'print("rows removed:", int(duplicated.sum()), "duplicate groups:", groups)',
        _rows(data, made),
    ]
    return cell([], *lines)


@code_for("handle_outliers")
def handle_outliers(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    method, action = str(args["method"]), str(args["action"])
    threshold = args.get("threshold")
    threshold = float(threshold) if threshold is not None else (1.5 if method == "iqr" else 3.0)
    checked = [str(name) for name in step.result.get("bounds", {})]
    if method == "iqr":
        bounds = [
            "    q1, q3 = np.percentile(values.dropna(), [25, 75])",
            f"    lower, upper = q1 - {threshold} * (q3 - q1), q3 + {threshold} * (q3 - q1)",
        ]
    else:  # z-score with the population standard deviation (ddof=0)
        bounds = [
            "    mean, std = values.mean(), values.std(ddof=0)",
            f"    lower, upper = mean - {threshold} * std, mean + {threshold} * std",
        ]
    lines = [
        "bounds = {}",
        f"outside = pd.Series(False, index={data}.index)",
        f"for name in {literal(checked)}:",
        f"    values = {data}[name].astype(float)",
        *bounds,
        "    below, above = values < lower, values > upper",
        "    outside |= below | above",
        '    bounds[name] = {"lower": lower, "upper": upper,'
        ' "below": int(below.sum()), "above": int(above.sum())}',
        "print(pd.DataFrame(bounds).T.to_string())",
    ]
    if action == "remove":
        lines.append(f"{made} = {data}[~outside].reset_index(drop=True)")
    else:
        lines += [
            f"{made} = {data}.copy()",
            "for name, bound in bounds.items():",
            '    if bound["below"] + bound["above"]:  # replaced by the nearest bound',
            f"        {made}[name] = {data}[name].astype(float)"
            '.clip(bound["lower"], bound["upper"])',
        ]
    lines += ['print("rows with outliers:", int(outside.sum()))', _rows(data, made)]
    return cell(["import numpy as np", "import pandas as pd"], *lines)


@code_for("cast_column")
def cast_column(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    name = str(step.result.get("column", args["column"]))
    to = str(args["to"])
    source = f"{data}[{literal(name)}]"
    lines, imports = _conversion(source, to)
    lines += [
        f"{made} = {data}.copy()",
        f"{made}[{literal(name)}] = converted",
        f"failed = int(({source}.notna() & converted.isna()).sum())",
        f'print("converted:", int({source}.notna().sum()) - failed, "could not convert:", failed,'
        f' "already missing:", int({source}.isna().sum()))',
    ]
    return cell(["import pandas as pd", *imports], *lines)


NUMBER_READER = r'''NUMBER = re.compile(
    r"^(?P<sign>[+\-\u2212])?\s*(?P<currency>[$€£¥₹])?\s*(?P<inner_sign>[+\-\u2212])?\s*"
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)"
    r"\s*(?P<after>[$€£¥₹])?\s*(?P<percent>%)?$"
)


def read_number(text):
    """A number as people write it: "1,200", "$4", "12.5%" (12.5), "(1,000)" (-1000).
    A decimal comma ("1.234,5") is ambiguous and stays missing."""
    if pd.isna(text):
        return float("nan")
    body, negative = text, False
    if body.startswith("(") and body.endswith(")"):
        body, negative = body[1:-1].strip(), True
    match = NUMBER.match(body)
    if match is None:
        return float("nan")
    if any(match[part] in ("-", "\u2212") for part in ("sign", "inner_sign") if match[part]):
        negative = True
    number = float(match["digits"].replace(",", ""))
    return -number if negative else number


text = {source}.astype("string").str.strip()
numbers = pd.to_numeric(text, errors="coerce").astype(float)
numbers = numbers.where(numbers.notna(), text.astype(object).map(read_number).astype(float))'''


def _conversion(source: str, to: str) -> tuple[list[str], list[str]]:
    """The lines computing `converted` from the column, and the imports they need."""
    numeric = f"pd.api.types.is_numeric_dtype({source}) or pd.api.types.is_bool_dtype({source})"
    if to in {"number", "integer"}:
        lines = [
            f"if {numeric}:",
            f"    numbers = {source}.astype(float)",
            "else:  # text: thousands separators, currency and percent signs, (negatives)",
            *(
                "    " + line if line else ""
                for line in NUMBER_READER.replace("{source}", source).splitlines()
            ),
        ]
        if to == "number":
            lines.append("converted = numbers")
        else:  # whole numbers only: a decimal cannot convert
            lines.append(
                "converted = numbers.where(np.isfinite(numbers) & (numbers == np.round(numbers)))"
                '.astype("Int64")'
            )
        return lines, ["import re", "import numpy as np"]
    if to == "text":
        return [f"converted = {source}.map(str, na_action='ignore').astype(object)"], []
    if to == "category":
        return [f'converted = {source}.astype("category")'], []
    if to == "boolean":
        return [
            f'words = {source}.astype("string").str.strip().str.lower()',
            'converted = pd.Series(pd.NA, index=words.index, dtype="boolean")',
            'converted[words.isin(["true", "t", "yes", "y", "1", "1.0", "on"])'
            ".fillna(False).astype(bool)] = True",
            'converted[words.isin(["false", "f", "no", "n", "0", "0.0", "off"])'
            ".fillna(False).astype(bool)] = False",
        ], []
    return [*dates_code(source, "converted")], ["import warnings"]


def dates_code(source: str, target: str) -> list[str]:
    """`target` = the column read as dates (unreadable values missing), as the tools read one:
    numbers as years or YYYYMMDD, text in any common format."""
    return [
        f"if pd.api.types.is_datetime64_any_dtype({source}):",
        f"    {target} = {source}",
        "else:",
        f"    text = {source}.astype('string').str.strip()",
        f"    if pd.api.types.is_numeric_dtype({source}):  # 2024 or 20240131",
        f"        text = {source}.map(lambda v: f'{{v:.0f}}' if float(v).is_integer() else str(v),"
        " 'ignore')",
        "    with warnings.catch_warnings():",
        '        warnings.simplefilter("ignore", UserWarning)',
        f'        {target} = pd.to_datetime(text, errors="coerce", format="mixed")',
    ]


@code_for("scale_columns")
def scale_columns(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    method = str(args["method"])
    scaler = {"standard": "StandardScaler", "minmax": "MinMaxScaler", "robust": "RobustScaler"}
    parameters = {
        "standard": '{"mean": scaler.mean_, "std": scaler.scale_}',
        "minmax": '{"min": scaler.data_min_, "max": scaler.data_max_}',
        "robust": '{"median": scaler.center_, "iqr": scaler.scale_}',
    }
    columns = [str(name) for name in step.result.get("changed_columns", [])]
    return cell(
        ["import pandas as pd", f"from sklearn.preprocessing import {scaler[method]}"],
        f"columns = {literal(columns)}",
        f"scaler = {scaler[method]}().fit({data}[columns].astype(float))",
        f"{made} = {data}.copy()",
        f"{made}[columns] = scaler.transform({data}[columns].astype(float))",
        f"print(pd.DataFrame({parameters[method]}, index=columns).to_string())",
        _rows(data, made),
    )


@code_for("encode_columns")
def encode_columns(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    method = str(args["method"])
    encoded = [str(name) for name in args["columns"]]
    per_column = step.result.get("per_column") or step.result.get("codes") or {}
    if per_column:
        known = list(per_column)
        encoded = [next((k for k in known if k.lower() == n.lower()), n) for n in encoded]
    if method == "onehot":
        return cell(["import pandas as pd"], *_onehot(data, made, encoded))
    if method == "ordinal":
        lines = [
            f"{made} = {data}.copy()",
            f"for name in {literal(encoded)}:  # sorted categories coded 0..n-1",
            f"    values = {data}[name]",
            "    if not pd.api.types.is_numeric_dtype(values):",
            "        values = values.map(str, na_action='ignore')",
            "    codes = {category: code for code, category in enumerate(sorted(values.dropna()"
            ".unique()))}",
            "    print(name, codes)",
            f"    {made}[name] = values.map(codes).astype(float if values.isna().any()"
            ' else "int64")',
            _rows(data, made),
        ]
        return cell(["import pandas as pd"], *lines)
    return _target_encoding(data, made, encoded, step.result)


def _onehot(data: str, made: str, encoded: list[str]) -> list[str]:
    return [
        f"parts = {{name: {data}[[name]] for name in {data}.columns}}",
        f"for name in {literal(encoded)}:",
        f"    labels = {data}[name].map(str, na_action='ignore')",
        "    counts = labels.value_counts()",
        "    ranked = sorted(counts.index, key=lambda value: (-counts[value], value))",
        f"    kept = sorted(ranked[:{ONEHOT_MAX_CATEGORIES}])",
        "    columns = {f'{name}_{value}': labels == value for value in kept}",
        f"    if len(ranked) > {ONEHOT_MAX_CATEGORIES}:  # the rarer values share one column",
        f"        columns[f'{{name}}_other'] = labels.isin(ranked[{ONEHOT_MAX_CATEGORIES}:])",
        "    parts[name] = pd.DataFrame(columns).fillna(False).astype('uint8')",
        "    print(name, len(counts), 'categories ->', parts[name].shape[1], 'columns')",
        f"{made} = pd.concat(parts.values(), axis=1)  # each block where its column was",
        _rows(data, made),
    ]


def _target_encoding(data: str, made: str, encoded: list[str], result: Any) -> str:
    target = str(result["target"])
    target_type = str(result["target_type"])
    folds = "KFold" if target_type == "continuous" else "StratifiedKFold"
    lines = [
        f"columns, target = {literal(encoded)}, {literal(target)}",
        f"labelled = {data}[target].notna()",
        f"y = {data}.loc[labelled, target]"
        + ("" if target_type == "continuous" else ".astype(str)"),
        f"features = {data}[columns].astype(object).where({data}[columns].notna(), np.nan)",
        "# cross-fitted: a row's value never uses its own target",
        f"folds = {folds}(n_splits=5, shuffle=True, random_state={SEED})",
        f"encoder = TargetEncoder(target_type={literal(target_type)}, cv=folds)",
        "fitted = encoder.fit_transform(features[labelled], y)",
        "names = list(encoder.get_feature_names_out())",
        f"encoded = np.full((len({data}), len(names)), np.nan)",
        "encoded[labelled.to_numpy()] = fitted",
        "if (~labelled).any():",
        "    encoded[~labelled.to_numpy()] = encoder.transform(features[~labelled])",
        f"block = pd.DataFrame(encoded, index={data}.index, columns=names)",
    ]
    if target_type == "multiclass":  # one column per class, at the end
        lines.append(f"{made} = pd.concat([{data}.drop(columns=columns), block], axis=1)")
    else:
        lines.append(f"{made} = {data}.assign(**{{name: block[name] for name in columns}})")
    lines += ["print(block.describe().to_string())", _rows(data, made)]
    return cell(
        [
            "import numpy as np",
            "import pandas as pd",
            f"from sklearn.model_selection import {folds}",
            "from sklearn.preprocessing import TargetEncoder",
        ],
        *lines,
    )


@code_for("expand_dates")
def expand_dates(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    name = str(step.result.get("column", args["column"]))
    parts = list(step.result.get("parts") or [])
    source = f"{data}[{literal(name)}]"
    lines = [
        *dates_code(source, "dates"),
        "parts = {",
        '    "year": dates.dt.year,',
        '    "month": dates.dt.month,',
        '    "day": dates.dt.day,',
        '    "weekday": dates.dt.weekday,  # 0 = Monday',
        '    "dayofyear": dates.dt.dayofyear,',
    ]
    if "hour" in parts:  # only when the values have a time of day
        lines.append('    "hour": dates.dt.hour,')
    lines += [
        '    "is_weekend": (dates.dt.weekday >= 5).where(dates.notna()),',
        "}",
        f"{made} = {data}.copy()",
        "for part, values in parts.items():  # whole numbers where no date is missing",
        "    values = values.astype(float)",
        f"    {made}[{literal(name)} + '_' + part] = values.astype('int64')"
        " if values.notna().all() else values",
        f'print("could not parse:", int(({source}.notna() & dates.isna()).sum()))',
        _rows(data, made),
    ]
    return cell(["import warnings", "import pandas as pd"], *lines)


@code_for("text_to_tfidf")
def text_to_tfidf(step: Step, names: Names) -> str:
    args, data, made = _start(step, names)
    name = str(step.result.get("column", args["column"]))
    lines = [
        f"texts = {data}[{literal(name)}].map(str, na_action='ignore').fillna('')",
        "vectorizer = TfidfVectorizer(stop_words='english',"
        f" max_features={int(args['max_features'])})",
        "weights = vectorizer.fit_transform(texts)  # each row L2-normalised",
        "terms = vectorizer.get_feature_names_out()",
        "block = pd.DataFrame(weights.toarray(), index=texts.index,"
        " columns=[f'tfidf_{term}' for term in terms])",
        f"{made} = pd.concat([{data}, block], axis=1)",
        "mean_weight = pd.Series(np.asarray(weights.mean(axis=0)).ravel(), index=terms)",
        'print("terms:", len(terms))',
        "print(mean_weight.sort_values(ascending=False, kind='stable').head(20).to_string())",
        _rows(data, made),
    ]
    return cell(
        [
            "import numpy as np",
            "import pandas as pd",
            "from sklearn.feature_extraction.text import TfidfVectorizer",
        ],
        *lines,
    )
