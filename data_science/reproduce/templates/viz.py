"""Code templates for the tools of `data_science.tools.viz`: the same kind of chart drawn with
matplotlib, saved under the chart's file name and shown, with the numbers the tool reported
(rows plotted, bars, x points, the strongest correlations, pie shares, model-chart metrics)."""

from __future__ import annotations

from typing import Any

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates._shared import arguments_and_frame, cell, comment

SEED = 42
MAX_POINTS = 20_000  # scatter and violin draw a seeded sample of bigger tables
MAX_BARS = 30
MAX_SLICES = 8
IMPORTANCE_REPEATS = 5
MAX_IMPORTANCE_ROWS = 5_000
IMPORTS = ["import matplotlib.pyplot as plt", "import numpy as np", "import pandas as pd"]


def _finish(title: str, file_name: str) -> list[str]:
    return [
        f"axes.set_title({literal(title)})",
        f"figure.savefig({literal(file_name)})",
        "plt.show()",
    ]


def chart_lines(data: str, kind: str, spec: dict[str, Any]) -> list[str]:
    """The lines drawing one chart of `data` on `axes` (see `plot` for the kinds)."""
    x, ys, color = spec.get("x"), list(spec.get("y") or []), spec.get("color_by")
    agg = spec.get("agg")
    if kind == "histogram":
        return _histogram(data, str(x), color)
    if kind == "scatter":
        return _scatter(data, str(x), str(ys[0]), color)
    if kind in {"line", "area"}:
        return _over_x(data, kind, str(x), ys, color, agg or ("mean" if kind == "line" else "sum"))
    if kind == "bar":
        return _bar(data, str(x), ys[0] if ys else None, agg or "mean")
    if kind in {"box", "violin"}:
        return _spread(data, kind, str(x), ys[0] if ys else None)
    if kind == "heatmap":
        return _heatmap(data, ys)
    return _pie(data, str(x), ys[0] if ys else None)


def _histogram(data: str, x: str, color: Any) -> list[str]:
    lines = [
        f"series = {data}[{literal(x)}]",
        "if pd.api.types.is_numeric_dtype(series):  # numbers are binned",
        "    values = series.dropna().astype(float)",
        "    edges = np.histogram_bin_edges(values, bins='auto')  # Freedman-Diaconis or Sturges",
    ]
    if color:
        lines += [
            f"    groups = {data}.loc[values.index, {literal(str(color))}].astype(str)",
            "    for group in groups.value_counts().index:",
            "        axes.hist(values[groups == group], bins=edges, alpha=0.55, label=group)",
            "    axes.legend()",
        ]
    else:
        lines += [
            "    counts, _, _ = axes.hist(values, bins=edges, edgecolor='white')",
            "    print('bin counts:', counts.astype(int).tolist())",
        ]
    lines += [
        "else:  # text is counted",
        "    values = series.dropna()",
        f"    counts = values.value_counts().head({MAX_BARS})[::-1]",
        "    axes.barh(counts.index.astype(str), counts.to_numpy())",
        "print('rows plotted:', len(values))",
    ]
    return lines


def _scatter(data: str, x: str, y: str, color: Any) -> list[str]:
    columns = [x, y] + ([str(color)] if color else [])
    lines = [
        f"points = {data}[{literal(columns)}].dropna()",
        f"if len(points) > {MAX_POINTS}:  # a seeded sample of big tables",
        f"    points = points.sample({MAX_POINTS}, random_state={SEED})",
    ]
    if color:
        lines += [
            f"for group, part in points.groupby({literal(str(color))}):",
            f"    axes.scatter(part[{literal(x)}], part[{literal(y)}], s=12, label=str(group))",
            "axes.legend()",
        ]
    else:
        lines.append(f"axes.scatter(points[{literal(x)}], points[{literal(y)}], s=12)")
    return [*lines, "print('rows plotted:', len(points))"]


def _over_x(data: str, kind: str, x: str, ys: list[str], color: Any, agg: str) -> list[str]:
    lines = [
        f"key = {data}[{literal(x)}]",
        "if not pd.api.types.is_numeric_dtype(key):  # dates, also dates written as text",
        "    key = pd.to_datetime(key, errors='coerce', format='mixed')",
        f"points = {data}[{literal(ys + ([str(color)] if color else []))}].assign(x=key)",
        "points = points.dropna(subset=['x'" + (f", {literal(str(color))}" if color else "") + "])",
    ]
    if color:
        measured = f"[{literal(ys[0])}].agg({literal(agg)})" if ys else ".size()"
        lines.append(
            f"wide = points.groupby(['x', {literal(str(color))}]){measured}"
            f".unstack({literal(str(color))})" + ("" if ys else ".fillna(0)")
        )
    elif ys:
        lines.append(f"wide = points.groupby('x')[{literal(ys)}].agg({literal(agg)})")
    else:
        lines.append("wide = points.groupby('x').size().to_frame('rows')")
    draw = "wide.plot.area(ax=axes, stacked=True)" if kind == "area" else "wide.plot(ax=axes)"
    return [*lines, draw, "print('rows plotted:', len(points), 'x points:', len(wide))"]


def _bar(data: str, x: str, y: Any, agg: str) -> list[str]:
    if y is None:
        lines = [
            f"counts = {data}[{literal(x)}].value_counts()",
            f"values = counts.head({MAX_BARS})  # rows per category",
            "rows = int(counts.sum())",
        ]
    else:
        lines = [
            f"points = {data}[{literal([x, str(y)])}].dropna()",
            f"top = points[{literal(x)}].value_counts().index[:{MAX_BARS}]",
            f"values = points[points[{literal(x)}].isin(top)].groupby({literal(x)},"
            f" observed=True)[{literal(str(y))}].agg({literal(agg)})",
            "rows = len(points)",
        ]
    return [
        *lines,
        "values = values.sort_values(ascending=False)",
        "axes.barh(values.index.astype(str)[::-1], values.to_numpy()[::-1])",
        "print(values.to_string())",
        "print('rows plotted:', rows, 'bars:', len(values))",
    ]


def _spread(data: str, kind: str, x: str, y: Any) -> list[str]:
    draw = "axes.violinplot" if kind == "violin" else "axes.boxplot"
    if y is None:  # one numeric column alone
        return [
            f"values = {data}[{literal(x)}].dropna().astype(float)",
            f"{draw}([values])",
            "print('rows plotted:', len(values))",
        ]
    return [
        f"points = {data}[{literal([x, str(y)])}].dropna()",
        f"groups = points[{literal(x)}].astype(str).value_counts().index[:{MAX_BARS}]",
        f"{draw}([points.loc[points[{literal(x)}].astype(str) == group, {literal(str(y))}]"
        " for group in groups])",
        "axes.set_xticks(range(1, len(groups) + 1), groups)",
        "print('rows plotted:', len(points))",
    ]


def _heatmap(data: str, ys: list[str]) -> list[str]:
    chosen = (
        literal(ys)
        if ys
        else f"[name for name in {data}.columns if pd.api.types.is_numeric_dtype({data}[name])"
        f" and not pd.api.types.is_bool_dtype({data}[name])]"
    )
    return [
        f"columns = [name for name in {chosen} if {data}[name].nunique() > 1]",
        f"corr = {data}[columns].corr()  # Pearson",
        "image = axes.imshow(corr, cmap='RdBu_r', vmin=-1, vmax=1)",
        "figure.colorbar(image, ax=axes)",
        "axes.set_xticks(range(len(columns)), columns, rotation=45, ha='right')",
        "axes.set_yticks(range(len(columns)), columns)",
        "pairs = corr.where(np.triu(np.ones(corr.shape, dtype=bool), k=1)).stack()",
        "strongest = pairs.reindex(pairs.abs().sort_values(ascending=False, kind='stable')"
        ".index).head(5)",
        "print(strongest.round(4).to_string())",
        f"print('rows plotted:', len({data}))",
    ]


def _pie(data: str, x: str, y: Any) -> list[str]:
    if y is None:
        lines = [f"values = {data}[{literal(x)}].value_counts()", "rows = int(values.sum())"]
    else:
        lines = [
            f"points = {data}[{literal([x, str(y)])}].dropna()",
            f"values = points.groupby({literal(x)}, observed=True)[{literal(str(y))}].sum()"
            ".sort_values(ascending=False)",
            "rows = len(points)",
        ]
    return [
        *lines,
        f"shown = values.head({MAX_SLICES})",
        f"if len(values) > {MAX_SLICES}:  # the smallest share one slice",
        f"    shown[f'other ({{len(values) - {MAX_SLICES}}})'] = values.iloc[{MAX_SLICES}:].sum()",
        "axes.pie(shown, labels=shown.index.astype(str), autopct='%1.1f%%', startangle=90,"
        " counterclock=False)",
        "print((shown / shown.sum()).round(4).to_string())",
        "print('rows plotted:', rows)",
    ]


@code_for("plot")
def plot(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    y = args.get("y")
    spec = {
        "x": args.get("x"),
        "y": [y] if isinstance(y, str) else list(y or []),
        "color_by": args.get("color_by"),
        "agg": args.get("agg"),
    }
    kind = str(args["kind"])
    return cell(
        IMPORTS,
        "figure, axes = plt.subplots()",
        *chart_lines(data, kind, spec),
        *_finish(str(step.result.get("title", kind)), str(step.result.get("chart", "chart.png"))),
    )


@code_for("auto_charts")
def auto_charts(step: Step, names: Names) -> str:
    _, data = arguments_and_frame(step, names)
    lines: list[str] = []
    for chart in step.result.get("charts", []):
        kind, columns = str(chart["kind"]), [str(name) for name in chart.get("columns", [])]
        if kind == "heatmap":
            spec: dict[str, Any] = {"y": columns}
        else:  # x, then y, then the colour column, as the overview chose them
            spec = {
                "x": columns[0],
                "y": columns[1:2],
                "color_by": columns[2] if len(columns) > 2 else None,
            }
        lines += [
            comment(f"# {kind}: {chart.get('why', '')}"),
            "figure, axes = plt.subplots()",
            *chart_lines(data, kind, spec),
            *_finish(str(chart.get("title", kind)), str(chart.get("chart", "chart.png"))),
            "",
        ]
    return cell(IMPORTS, *lines)


@code_for("plot_model")
def plot_model(step: Step, names: Names) -> str:
    model = names.model(str(step.args["model_id"]))
    kind = str(step.args["kind"])
    lines = [
        "# The model's held-out test rows: X_test and y_test of the split its `train` cell made",
        f"x_test, y_test = X_test[list({model}.feature_names_in_)], y_test",
    ]
    imports = ["import matplotlib.pyplot as plt", "import numpy as np", "import pandas as pd"]
    if kind == "confusion_matrix":
        imports.append("from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix")
        lines += [
            f"labels = [str(label) for label in {model}.classes_]",
            f"predicted = np.ravel({model}.predict(x_test)).astype(str)",
            "matrix = confusion_matrix(y_test.astype(str), predicted, labels=labels)",
            "ConfusionMatrixDisplay(matrix, display_labels=labels).plot()",
            "print(pd.DataFrame(matrix, index=labels, columns=labels).to_string())",
            "print('accuracy:', np.trace(matrix) / matrix.sum())",
        ]
    elif kind == "roc_curve":
        imports.append("from sklearn.metrics import RocCurveDisplay, roc_auc_score")
        lines += _roc(model)
    elif kind == "residuals":
        imports.append(
            "from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error"
        )
        lines += [
            "actual = y_test.to_numpy(float)",
            f"predicted = np.ravel({model}.predict(x_test)).astype(float)",
            "figure, (fit_axes, residual_axes) = plt.subplots(1, 2, figsize=(11, 5))",
            "fit_axes.scatter(predicted, actual, s=12)",
            "residual_axes.scatter(predicted, actual - predicted, s=12)",
            "residual_axes.axhline(0, linestyle='--', color='grey')",
            "print(pd.Series({'rmse': root_mean_squared_error(actual, predicted),",
            "                 'mae': mean_absolute_error(actual, predicted),",
            "                 'r2': r2_score(actual, predicted),",
            "                 'mean_residual': (actual - predicted).mean()}).to_string())",
        ]
    else:
        imports += [
            "from sklearn.inspection import permutation_importance",
            "from sklearn.metrics import accuracy_score, r2_score",
        ]
        lines += _importance(model)
    lines += [
        "print('test rows:', len(y_test))",
        f"plt.savefig({literal(str(step.result.get('chart', 'chart.png')))})",
        "plt.show()",
    ]
    return cell(imports, *lines)


def _roc(model: str) -> list[str]:
    return [
        f"classes = [str(label) for label in {model}.classes_]",
        "truth = y_test.astype(str)",
        f"scores = {model}.predict_proba(x_test) if hasattr({model}, 'predict_proba')"
        f" else {model}.decision_function(x_test)",
        "if len(classes) == 2:  # the second class is the positive one",
        "    scores = scores[:, 1] if np.ndim(scores) == 2 else scores",
        "    RocCurveDisplay.from_predictions(truth == classes[1], scores)",
        "    print('roc_auc:', roc_auc_score(truth == classes[1], scores))",
        "else:  # one curve per class against the rest",
        "    by_class = {  # classes absent from the test rows have no curve",
        "        label: roc_auc_score(truth == label, scores[:, index])",
        "        for index, label in enumerate(classes)",
        "        if 0 < (truth == label).sum() < len(truth)",
        "    }",
        "    for label in by_class:",
        "        RocCurveDisplay.from_predictions(truth == label, scores[:, classes.index(label)],"
        " ax=plt.gca(), name=label)",
        "    print(pd.Series(by_class).to_string())",
        "    print('roc_auc_macro_ovr:', np.mean(list(by_class.values())))",
    ]


def _importance(model: str) -> list[str]:
    return [
        "classification = not pd.api.types.is_numeric_dtype(y_test)",
        f"if len(x_test) > {MAX_IMPORTANCE_ROWS}:",
        f"    x_test = x_test.sample({MAX_IMPORTANCE_ROWS}, random_state={SEED})",
        "    y_test = y_test.loc[x_test.index]",
        "def score(model, x, y):  # the drop in test accuracy (or R²) when a feature is shuffled",
        "    predicted = np.ravel(model.predict(x))",
        "    if classification:",
        "        return accuracy_score(y.astype(str), predicted.astype(str))",
        "    return r2_score(y, predicted)",
        f"result = permutation_importance({model}, x_test, y_test, scoring=score,"
        f" n_repeats={IMPORTANCE_REPEATS}, random_state={SEED}, n_jobs=1)",
        "importances = pd.DataFrame({'mean': result.importances_mean,"
        " 'std': result.importances_std}, index=x_test.columns)",
        "importances = importances.sort_values('mean', ascending=False, kind='stable').head(20)",
        "importances['mean'][::-1].plot.barh(xerr=importances['std'][::-1])",
        "print(importances.to_string())",
    ]
