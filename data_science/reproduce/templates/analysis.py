"""Code templates for the tools of `data_science.tools.analysis`."""

from __future__ import annotations

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates._shared import arguments_and_frame, cell

STD_DDOF = {"sample": 1, "population": 0}
SEED = 42  # data_science.ml.common.SEED: the random preview and the Shapiro-Wilk sample
SHAPIRO_MAX_VALUES = 5_000
MAX_GROUPS = 50


def _numbers(frame: str, name: str) -> str:
    """A column as floats with infinities counted as missing, as the analysis tools read it."""
    return f"{frame}[{name}].astype(float).replace([np.inf, -np.inf], np.nan)"


@code_for("preview_rows")
def preview_rows(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    count = int(step.result.get("rows_shown", args["n"]))
    position = str(args["position"])
    if position == "head":
        rows = f"np.arange({count})"
    elif position == "tail":
        rows = f"np.arange(len({data}) - {count}, len({data}))"
    else:  # a reproducible sample: numpy's generator seeded with 42, rows kept in order
        rows = (
            f"np.sort(np.random.default_rng({SEED}).choice(len({data}), size={count},"
            " replace=False))"
        )
    columns = step.result.get("columns") or list(args.get("columns") or [])
    lines = [f"rows = {rows}", f"shown = {data}.iloc[rows]"]
    if args.get("columns") or step.result.get("note"):
        lines[-1] += f"[{literal([str(name) for name in columns])}]"
    lines.append("print(shown.to_string())")
    return cell(["import numpy as np"], *lines)


@code_for("describe_distribution")
def describe_distribution(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    chosen = [str(entry["column"]) for entry in step.result.get("columns", [])]
    threshold = float(args["z_threshold"])
    ddof = STD_DDOF[str(args["std"])]
    if args["skew_kurtosis"] == "biased":
        shape = [
            '        "skewness": stats.skew(values, bias=True),',
            '        "excess_kurtosis": stats.kurtosis(values, bias=True),',
        ]
    else:
        shape = [
            '        "skewness": values.skew(),  # bias-corrected, as pandas',
            '        "excess_kurtosis": values.kurt(),',
        ]
    lines = [
        "rows = []",
        f"for column in {literal(chosen)}:",
        f"    values = {_numbers(data, 'column')}.dropna()",
        "    q1, q3 = np.percentile(values, [25, 75])",
        "    lower, upper = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)  # the IQR fences",
        f"    mean, std = values.mean(), values.std(ddof={ddof})  # {args['std']} std",
        "    z = (values - mean) / std",
        f"    tested = values if len(values) <= {SHAPIRO_MAX_VALUES} else "
        f"values.sample({SHAPIRO_MAX_VALUES}, random_state={SEED})",
        "    shapiro = stats.shapiro(tested.to_numpy())",
        "    rows.append({",
        '        "column": column,',
        '        "n": len(values),',
        f'        "missing": len({data}) - len(values),',
        '        "q1": q1,',
        '        "q3": q3,',
        '        "lower_fence": lower,',
        '        "upper_fence": upper,',
        '        "iqr_outliers": int(((values < lower) | (values > upper)).sum()),',
        '        "iqr_outliers_pct": round(100 * ((values < lower) | (values > upper)).sum()'
        " / len(values), 2),",
        '        "mean": mean,',
        '        "std": std,',
        f'        "z_outliers": int((z.abs() > {literal(threshold)}).sum()),',
        *shape,
        '        "shapiro_w": shapiro.statistic,',
        '        "shapiro_p": shapiro.pvalue,',
        "    })",
        'print(pd.DataFrame(rows).set_index("column").T.to_string())',
    ]
    return cell(["import numpy as np", "import pandas as pd", "from scipy import stats"], *lines)


@code_for("correlations")
def correlations(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    method = str(args["method"])
    pairs = step.result.get("pairs") or []
    compared = step.result.get("columns_compared") or (
        [pairs[0]["column_a"], pairs[0]["column_b"]] if pairs else []
    )
    lines = [
        f"columns = {literal([str(name) for name in compared])}",
        f"numbers = pd.DataFrame({{name: {_numbers(data, 'name')} for name in columns}})",
        "pairs = []",
        "for a, b in itertools.combinations(columns, 2):",
        "    both = numbers[[a, b]].dropna()  # the rows where both are present",
        '    pair = {"column_a": a, "column_b": b, "n": len(both)}',
    ]
    coefficients = []
    if method in ("pearson", "both"):
        coefficients.append("pearson_r")
        lines += [
            "    pearson = stats.pearsonr(both[a], both[b])",
            "    pair.update(pearson_r=pearson.statistic, pearson_p=pearson.pvalue)",
        ]
    if method in ("spearman", "both"):
        coefficients.append("spearman_rho")
        lines += [
            "    spearman = stats.spearmanr(both[a], both[b])",
            "    pair.update(spearman_rho=spearman.statistic, spearman_p=spearman.pvalue)",
        ]
    lines += [
        "    pairs.append(pair)",
        "table = pd.DataFrame(pairs)",
        "# The strongest pairs first: by the larger absolute coefficient",
        f"strength = table[{literal(coefficients)}].abs().max(axis=1)",
        f"table = table.loc[strength.sort_values(ascending=False, kind='stable').index]"
        f".head({int(args['top_k'])})",
        "print(table.to_string(index=False))",
    ]
    return cell(
        [
            "import itertools",
            "import numpy as np",
            "import pandas as pd",
            "from scipy import stats",
        ],
        *lines,
    )


@code_for("group_by")
def group_by(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    groups = [str(name) for name in step.result.get("group_columns", args["group_columns"])]
    values = [str(name) for name in step.result.get("value_columns", [])]
    aggregations = list(dict.fromkeys(args.get("aggregations") or ["count", "mean"]))
    if values:  # the group columns and the value columns read as numbers
        source = [
            f"data = {data}[groups].assign(**{{",
            *(f"    {literal(name)}: {data}[{literal(name)}].astype(float)," for name in values),
            "})",
        ]
    else:
        source = [f"data = {data}[groups]"]
    lines = [
        f"groups = {literal(groups)}",
        *source,
        "data = data.dropna(subset=groups)  # rows with a missing group value are left out",
        "grouped = data.groupby(groups, sort=False, observed=True)",
        'result = grouped.size().rename("rows").to_frame()',
    ]
    if values:
        ddof = STD_DDOF[str(args["std"])]
        lines.append("aggregated = pd.DataFrame({")
        for name in values:
            for how in aggregations:
                call = f"std(ddof={ddof})" if how == "std" else f"{how}()"
                lines.append(f"    {literal(f'{name}_{how}')}: grouped[{literal(name)}].{call},")
        first = f"{values[0]}_{aggregations[0]}"
        lines += ["})", "result = aggregated.join(result)"]
    else:
        first = "rows"
    lines += [
        f"result = result.sort_values({literal(first)}, ascending=False, na_position='last',"
        " kind='stable')",
        'print("groups:", len(result))',
        f"print(result.head({MAX_GROUPS}).to_string())",
    ]
    return cell(["import pandas as pd"], *lines)


@code_for("value_counts")
def value_counts(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    name = str(step.result.get("column", args["column"]))
    lines = [
        f"values = {data}[{literal(name)}]",
        "counts = values.value_counts(dropna=False)  # missing values counted too",
        f"top = counts.head({int(args['top_k'])})",
        'table = pd.DataFrame({"count": top, "pct": (100 * top / len(values)).round(2)})',
        'print("distinct:", values.nunique(), "missing:", int(values.isna().sum()))',
        "print(table.to_string())",
        'print("other values:", len(counts) - len(top), "count:", len(values) - int(top.sum()),',
        '      "pct:", round(100 * (len(values) - int(top.sum())) / len(values), 2))',
    ]
    return cell(["import pandas as pd"], *lines)


@code_for("hypothesis_test")
def hypothesis_test(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    test = str(args["test"])
    measured = str(step.result.get("column", args["column"]))
    grouping = str(step.result.get("group_column", args["group_column"]))
    if test == "chi_square":
        return _chi_square(data, measured, grouping)
    lines = [
        f"values = {_numbers(data, literal(measured))}",
        f"keys = {data}[{literal(grouping)}]",
        "present = values.notna() & keys.notna()  # rows missing either value are left out",
        "labels, values = keys[present].astype(str), values[present]",
    ]
    if test == "t_test":
        chosen = [str(group["group"]) for group in step.result.get("groups", [])]
        lines += [
            f"first = values[labels == {literal(chosen[0])}]",
            f"second = values[labels == {literal(chosen[1])}]",
            "result = stats.ttest_ind(first, second, equal_var=False)  # Welch's t-test",
            "low, high = result.confidence_interval(confidence_level=0.95)",
            "summary = pd.DataFrame(",
            '    {"n": s.size, "mean": s.mean(), "std": s.std(), "median": s.median()}'
            " for s in (first, second)",
            ")",
            f"summary.index = {literal(chosen)}",
            "print(summary.to_string())",
            'print("n:", len(first) + len(second))',
            'print("t:", result.statistic, "p:", result.pvalue, "df:", result.df)',
            'print("mean difference:", first.mean() - second.mean(), "95% CI:", low, high)',
        ]
        return cell(
            ["import numpy as np", "import pandas as pd", "from scipy import stats"], *lines
        )
    if args.get("groups"):
        chosen = [str(group["group"]) for group in step.result.get("groups", [])]
        lines.append(f"groups = {literal(chosen)}")
    else:
        lines.append("groups = list(labels.value_counts().index)")
    lines += [
        "samples = [values[labels == group] for group in groups]",
        "result = stats.f_oneway(*samples)  # one-way ANOVA",
        "used = pd.concat(samples)",
        "between = sum(len(s) * (s.mean() - used.mean()) ** 2 for s in samples)",
        "eta_squared = between / ((used - used.mean()) ** 2).sum()",
        'print("n:", len(used), "F:", result.statistic, "p:", result.pvalue,'
        ' "df:", len(groups) - 1, len(used) - len(groups), "eta squared:", eta_squared)',
        "summary = pd.DataFrame(",
        '    {"n": s.size, "mean": s.mean(), "std": s.std(), "median": s.median()}'
        " for s in samples",
        ")",
        "summary.index = groups",
        "print(summary.to_string())",
    ]
    return cell(["import numpy as np", "import pandas as pd", "from scipy import stats"], *lines)


def _chi_square(data: str, measured: str, grouping: str) -> str:
    lines = [
        f"both = {data}[[{literal(measured)}, {literal(grouping)}]].dropna().astype(str)",
        f"counts = pd.crosstab(both[{literal(measured)}], both[{literal(grouping)}])",
        "result = stats.chi2_contingency(counts.to_numpy())  # Yates' correction when df = 1",
        'cramers_v = stats.contingency.association(counts.to_numpy(), method="cramer")',
        'print("n:", int(counts.to_numpy().sum()), "chi-square:", result.statistic,'
        ' "p:", result.pvalue, "df:", result.dof, "Cramer\'s V:", cramers_v)',
        "print(counts.to_string())",
    ]
    return cell(["import pandas as pd", "from scipy import stats"], *lines)
