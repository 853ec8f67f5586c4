"""Code templates for the tools of `data_science.tools.automl`: AutoGluon (`automl`) and FLAML
(`search_models`) on the same held-out split, with the same presets, budgets and seeds.

Both search under a time budget, so how far they get depends on how fast the machine is at that
moment: the split and the settings repeat exactly, the chosen models and the metrics need not.
Each cell says so.
"""

from __future__ import annotations

from data_science.ml import automl as autogluon_settings
from data_science.ml.search import ESTIMATORS, FIT_SHARE
from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates.heldout import Cell, metrics_code, print_metrics, split_code

BUDGET_NOTE = (
    "# {engine} searches within a time budget: how many models it tries depends on the "
    "machine's\n# speed, so its choice and metrics need not repeat exactly. The split, the "
    "settings and the\n# seed are the chat's."
)


@code_for("search_models")
def search_models_code(step: Step, names: Names) -> str:
    """FLAML's search over the same families with 5-fold CV on the training part."""
    result = step.result
    task = str(result["task"])
    cell = Cell()
    split_code(cell, step, names)
    metrics_code(cell, task)
    cell.need("from flaml import AutoML")
    budget = float(step.args.get("time_budget_seconds", 30)) * FIT_SHARE
    model = names.new_model(str(result["model_id"]))
    cell.add(
        BUDGET_NOTE.format(engine="FLAML"),
        f"{model} = AutoML()",
        f"{model}.fit(",
        "    X_train,",
        "    y_train,",
        f"    task={literal(task)},",
        f"    time_budget={literal(budget)},",
        f"    estimator_list={literal(ESTIMATORS[task])},",
        f"    seed={literal(result['seed'])},",
        "    verbose=0,",
        "    n_jobs=1,",
        "    eval_method='cv',",
        "    n_splits=5,",
        ")",
        "print(f'n_train: {len(X_train)}')",
        "print(f'n_test: {len(X_test)}')",
        f"print('best:', {model}.best_estimator, {model}.best_config)",
        f"print(f'best_cv_loss: {{{model}.best_loss:.4f}}')",
    )
    print_metrics(cell, f"test_metrics({model})", "test")
    return cell.render()


@code_for("automl")
def automl_code(step: Step, names: Names) -> str:
    """AutoGluon's TabularPredictor on the training part, scored on the test rows."""
    result = step.result
    task = str(result["task"])
    cell = Cell()
    split_code(cell, step, names)
    cell.need("import importlib.util", "from autogluon.tabular import TabularPredictor")
    budget = float(result["budget_seconds"])
    scoring = max(autogluon_settings.MIN_SCORING_SECONDS, budget * autogluon_settings.SCORING_SHARE)
    fit_seconds = max(
        autogluon_settings.MIN_FIT_SECONDS, (budget - scoring) * autogluon_settings.FIT_SHARE
    )
    model = names.new_model(str(result["model_id"]))
    problem = (
        "'regression'"
        if task == "regression"
        else "'binary' if y_train.nunique() == 2 else 'multiclass'"
    )
    cell.add(
        BUDGET_NOTE.format(engine="AutoGluon"),
        f"{model} = TabularPredictor(label=target, problem_type={problem}, verbosity=0)",
        f"{model}.fit(",
        "    X_train.assign(**{target: y_train}),",
        f"    time_limit={literal(round(fit_seconds, 1))},  # the fit's share of the "
        f"{budget:g} s budget",
        f"    presets={literal(result['preset'])},",
        "    # AutoGluon's neural networks need torch; without it they are left out.",
        "    excluded_model_types=[] if importlib.util.find_spec('torch') else "
        f"{literal(autogluon_settings.TORCH_MODELS)},",
        ")",
        f"predicted = {model}.predict(X_test).to_numpy()",
        "print(f'n_train: {len(X_train)}')",
        "print(f'n_test: {len(X_test)}')",
        f"print('best model:', {model}.model_best)",
    )
    _autogluon_metrics(cell, task, model)
    print_metrics(cell, "metrics", "test")
    return cell.render()


def _autogluon_metrics(cell: Cell, task: str, model: str) -> None:
    """The held-out metrics of `ml.supervised.held_out_metrics` for a predictor's answers."""
    if task == "regression":
        cell.need(
            "from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error"
        )
        cell.add(
            "metrics = {",
            "    'rmse': root_mean_squared_error(y_test, predicted),",
            "    'mae': mean_absolute_error(y_test, predicted),",
            "    'r2': r2_score(y_test, predicted),",
            "}",
        )
        return
    cell.need(
        "from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, "
        "roc_auc_score"
    )
    cell.add(
        "metrics = {",
        "    'accuracy': accuracy_score(y_test, predicted),",
        "    'balanced_accuracy': balanced_accuracy_score(y_test, predicted),",
        "    'f1_macro': f1_score(y_test, predicted, average='macro'),",
        "}",
        f"if {model}.problem_type == 'binary' and y_test.nunique() == 2:",
        f"    probabilities = {model}.predict_proba(X_test)",
        "    positive = probabilities.columns[-1]",
        "    metrics['roc_auc'] = roc_auc_score(y_test == positive, probabilities[positive])",
    )
