"""Model requests: which column to predict, which model family, and the tool that does it."""

from __future__ import annotations

import re
from typing import Any

from data_science.offline.intents.columns import Mention
from data_science.offline.intents.context import Context, Plan, ask
from data_science.offline.intents.options import split_options, tree_options

# Longest phrases first: "hist gradient boosting" before "gradient boosting".
FAMILIES = [
    ("hist_gradient_boosting", r"\bhist(ogram)? ?gradient ?boost|\bhistgb\b|\bhgb\b"),
    ("lightgbm", r"\blight ?gbm\b|\blgbm?\b"),
    ("xgboost", r"\bxg ?boost\b|\bxgb\b"),
    ("catboost", r"\bcat ?boost\b"),
    ("gradient_boosting", r"\bgradient ?boost|\bgbm\b|\bboosted trees\b"),
    ("extra_trees", r"\bextra ?trees?\b|\bextremely randomi[sz]ed\b"),
    ("random_forest", r"\brandom ?forr?ests?\b|\brf\b|\bforests?\b"),
    ("decision_tree", r"\bdecision ?trees?\b|\bcart\b|\b(single|one) tree\b"),
    ("logistic", r"\blogistic\b|\blogreg\b|\blogit\b"),
    ("linear", r"\blinear\b|\bols\b"),
    ("ridge", r"\bridge\b"),
    ("lasso", r"\blasso\b"),
    ("svm", r"\bsvm\b|\bsupport vector|\bsvc\b|\bsvr\b"),
    ("knn", r"\bk ?nn\b|\bk nearest|\bnearest neighbo"),
    ("naive_bayes", r"\bnaive ?bayes\b|\bbayes\b"),
]
UNSUPPORTED = (
    r"\b(neural (network|net)|mlp|deep learning|lstm|transformer|adaboost|"
    r"perceptron|prophet)\b"
)
TUNABLE = frozenset(
    {
        "random_forest", "extra_trees", "hist_gradient_boosting", "gradient_boosting", "lightgbm",
        "logistic", "ridge", "lasso", "svm", "knn", "naive_bayes",
    }
)  # fmt: skip
STRONG_CUES = r"\b(predict\w*|target|label|classif\w*|estimat\w*|forecast\w*|explain\w*)\b"
WEAK_CUES = r"\b(for|on|of|model|modell?ing|about)\b"
SELECTION_METHODS = [
    ("rfecv", r"\brfecv\b|\brfe (with|using) (cv|cross)|\bcross validated rfe\b"),
    ("rfe", r"\brfe\b|\brecursive\b"),
    ("mutual_info", r"\bmutual\b|\bnon ?linear\b"),
    ("sequential", r"\bsequential\b|\bforward\b|\bbackward\b|\bstepwise\b"),
    ("model_importance", r"\bimportances?\b|\bforest\b|\btree based\b|\bmodel based\b"),
    ("univariate", r"\bunivariate\b|\bf test\b|\bstatistical\b"),
]


def families(ctx: Context) -> list[str]:
    """The model families the request names, in the order it names them."""
    found: list[tuple[str, int]] = []
    text = ctx.free.text
    for name, pattern in FAMILIES:
        match = re.search(pattern, text)
        if match and not (name == "random_forest" and "extra_trees" in dict(found)):
            found.append((name, match.start()))
    return [name for name, _ in sorted(found, key=lambda pair: pair[1])]


def pick_target(ctx: Context, base: dict[str, Any]) -> str | None:
    """The column to predict: the one named "as the target", else the best-named one after
    "predict"/"target"/…, then after "for"/"on"/… (up to "from"/"using"), then the best-named
    one, then the earlier step's target, then a column called "target"."""
    mentions = ctx.mentions
    for mention in mentions:
        after = " ".join(ctx.u.corrected[mention.end : mention.end + 3])
        if re.match(r"(is )?(as )?(the |my )?(target|label|outcome)\b", after):
            return mention.column
    for cues in (STRONG_CUES, WEAK_CUES):
        for position in [m.start() for m in re.finditer(cues, ctx.u.text)]:
            index = ctx.u.text[: position + 1].count(" ") - 1
            stop = ctx.u.find(r"\b(from|using|based on|given|with)\b", after=index)
            following = [m for m in mentions if m.start >= index and (stop < 0 or m.start < stop)]
            if following:
                return _best(following)
    if mentions:
        strongest = max(mention.strength for mention in mentions)
        best = [mention for mention in mentions if mention.strength == strongest]
        return best[0].column if len(best) == 1 else None
    if base.get("target"):
        return str(base["target"])
    if ctx.models:
        return str(ctx.models[-1].get("target") or "") or ctx.schema.target_like()
    return ctx.schema.target_like()


def _best(mentions: list[Mention]) -> str:
    """The first of the best-named mentions ("the wine target": `target`, not "wine")."""
    strongest = max(mention.strength for mention in mentions)
    return next(mention.column for mention in mentions if mention.strength == strongest)


def pick_model(ctx: Context, base: dict[str, Any]) -> dict[str, Any] | None:
    """The model the request means: one predicting a column it names, else the latest."""
    models = ctx.models
    for model in reversed(models):
        if model.get("target") in ctx.columns:
            return dict(model)
    wanted = base.get("model_id") or ctx.history.model_id()
    chosen = next((model for model in models if model["id"] == wanted), None)
    return chosen or (models[-1] if models else None)


def _which_target(ctx: Context) -> Plan:
    names = ", ".join(f"`{m.column}`" for m in ctx.mentions)
    if len(ctx.mentions) > 1:
        return ask(f"Which column should the model predict: {names}?")
    return ctx.ambiguity("column") or ask(
        f"Which column should the model predict? Columns of {ctx.dataset_name}: {ctx.listing()}."
    )


def _family(ctx: Context, base: dict[str, Any], target: str) -> tuple[str | None, Plan | None]:
    """The family to use (None: the default), or a question when it is not one we have."""
    named = families(ctx)
    if ctx.u.has(UNSUPPORTED) and not named:
        return None, ask(
            "Which of the model families I have should I use instead? That one is not available; "
            "I can train: random forest, extra trees, a decision tree, gradient boosting, hist "
            "gradient boosting, LightGBM, XGBoost, CatBoost, logistic/linear regression, ridge, "
            "lasso, SVM, k-nearest neighbours and naive Bayes."
        )
    revising = ctx.follow_up or bool(_options(ctx, {}, tree=True) and not ctx.mentions)
    family = named[0] if named else (base.get("model") if revising else None)
    if family == "linear" and not ctx.u.has(r"\bregression\b") and ctx.schema.categorical(target):
        family = "logistic"
    return (None if family == "auto" else family), None


def _options(ctx: Context, base: dict[str, Any], tree: bool = False) -> dict[str, Any]:
    """The split (and for `train` the tree) options the request sets, over those of the step it
    revises ("use a 70/30 split" keeps the earlier seed)."""
    keys = ("test_size", "seed", "stratify", *(("max_depth", "class_weight") if tree else ()))
    revising = ctx.follow_up or not ctx.mentions
    found = {key: base[key] for key in keys if key in base and revising}
    found.update(split_options(ctx.u))
    if tree:
        found.update(tree_options(ctx.u))
    return found


def plan_train(ctx: Context, base: dict[str, Any]) -> Plan:
    target = pick_target(ctx, base)
    if target is None:
        return _which_target(ctx)
    family, question = _family(ctx, base, target)
    if question:
        return question
    return ctx.call(
        "train",
        dataset_id=ctx.dataset_id,
        target=target,
        model=family,
        **_options(ctx, base, tree=True),
    )


def plan_cross_validate(ctx: Context, base: dict[str, Any]) -> Plan:
    target = pick_target(ctx, base)
    if target is None:
        return _which_target(ctx)
    family, question = _family(ctx, base, target)
    if question:
        return question
    folds = ctx.u.number_before("fold", "folds") or ctx.u.number_after("k")
    return ctx.call(
        "cross_validate",
        dataset_id=ctx.dataset_id,
        target=target,
        model=family,
        folds=folds or base.get("folds"),
        **_options(ctx, base),
    )


def plan_tune(ctx: Context, base: dict[str, Any]) -> Plan:
    target = pick_target(ctx, base)
    if target is None:
        return _which_target(ctx)
    named = families(ctx)
    family = named[0] if named else base.get("model")
    family = "hist_gradient_boosting" if family in {None, "auto"} else family
    if family not in TUNABLE:
        return ask(
            f"Which family should I tune instead? {family} has no tuning grid here; tunable: "
            f"{', '.join(sorted(TUNABLE))}."
        )
    random = ctx.u.has(r"\brandom(ized)? search\b|\brandomi[sz]ed\b")
    search = "random" if random or family in {"random_forest", "extra_trees"} else None
    iterations = ctx.u.number_before("iterations", "iteration", "iter", "tries", "trials")
    iterations = iterations or ctx.u.number_before("candidates", "combinations", "samples")
    return ctx.call(
        "tune_model",
        dataset_id=ctx.dataset_id,
        target=target,
        model=family,
        search=search,
        n_iter=iterations,
        folds=ctx.u.number_before("fold", "folds"),
        **_options(ctx, base),
    )


def plan_ensemble(ctx: Context, base: dict[str, Any]) -> Plan:
    target = pick_target(ctx, base)
    if target is None:
        return _which_target(ctx)
    members = families(ctx) or list(base.get("models") or [])
    if len(members) < 2:
        return ask(
            "Which 2 to 5 model families should I combine? For example: random forest, logistic "
            "regression and knn."
        )
    method = "stacking" if ctx.u.has(r"\bstack") else None
    return ctx.call(
        "train_ensemble",
        dataset_id=ctx.dataset_id,
        target=target,
        models=members,
        method=method,
        **_options(ctx, base),
    )


def plan_search(ctx: Context, base: dict[str, Any]) -> Plan:
    target = pick_target(ctx, base)
    if target is None:
        return _which_target(ctx)
    return ctx.call(
        "search_models",
        dataset_id=ctx.dataset_id,
        target=target,
        time_budget_seconds=ctx.u.seconds(),
        **_options(ctx, base),
    )


def plan_automl(ctx: Context, base: dict[str, Any]) -> Plan:
    target = pick_target(ctx, base)
    if target is None:
        return _which_target(ctx)
    return ctx.call(
        "automl",
        dataset_id=ctx.dataset_id,
        target=target,
        time_budget_seconds=ctx.u.seconds() or base.get("time_budget_seconds"),
        **_options(ctx, base),
    )


def plan_select_features(ctx: Context, base: dict[str, Any]) -> Plan:
    target = pick_target(ctx, base)
    if target is None:
        return _which_target(ctx)
    free = ctx.free
    method = next((name for name, pattern in SELECTION_METHODS if free.has(pattern)), None)
    k = ctx.u.number_before("features", "best", "columns", "variables")
    k = k or ctx.u.number_after("top", "keep", "best", "k")
    tree = method in {"rfe", "rfecv"} and free.has(r"\b(tree|trees|forest)\b")
    keep = free.has(r"\bkeep only\b|\bonly the selected\b|\bdrop the rest\b|\bkeep just\b")
    return ctx.call(
        "select_features",
        dataset_id=ctx.dataset_id,
        target=target,
        method=method,
        k=k,
        estimator="tree" if tree else None,
        keep_only_selected=True if keep else None,
    )


def plan_one_shot(ctx: Context, base: dict[str, Any]) -> Plan:
    target = pick_target(ctx, base)
    if target is None:
        return _which_target(ctx)
    return ctx.call("analyze_and_model", dataset_id=ctx.dataset_id, target=target)


def plan_regression_report(ctx: Context, base: dict[str, Any]) -> Plan:
    """ "regression summary of price on carat and depth", "regress profit on revenue": the
    column before "on" is the target, those after it the features (all others when none);
    "also include table" adds to the features of the report before."""
    cut = ctx.u.find(r"\b(on|against|using|from|with)\b")
    if base.get("target") and ctx.follow_up and cut < 0:
        target: str | None = str(base["target"])
        after = [*(base.get("features") or []), *ctx.columns]
    else:
        before = [m.column for m in ctx.mentions if cut < 0 or m.start < cut]
        after = [m.column for m in ctx.mentions if cut >= 0 and m.start > cut]
        target = before[-1] if before else (None if after else pick_target(ctx, base))
    if target is None:
        return _which_target(ctx)
    features = list(dict.fromkeys(name for name in after if name != target)) or None
    held_out = ctx.u.has(r"\bheld ?out\b|\btest (set|rows|data)\b|\bout of sample\b|\bunseen\b")
    return ctx.call(
        "regression_report",
        dataset_id=ctx.dataset_id,
        target=target,
        features=features,
        kind=_report_kind(ctx, target),
        held_out=True if held_out else None,
        **split_options(ctx.u),
    )


def _report_kind(ctx: Context, target: str) -> str | None:
    """ "logit" or "ols" only when asked for what "auto" would not pick for this target (a
    logistic model of a 0/1 column is what "auto" fits anyway)."""
    binary = ctx.schema.binary(target) or ctx.schema.categorical(target)
    if ctx.u.has(r"\b(logistic|logit)\b") and not binary:
        return "logit"
    if ctx.u.has(r"\b(ols|linear|least squares)\b") and binary:
        return "ols"
    return None


def plan_predict(ctx: Context, base: dict[str, Any]) -> Plan:
    model = pick_model(ctx, base)
    if model is None:
        return ask(
            "There is no trained model yet: which column should I train one to predict? "
            f"Columns: {ctx.listing()}."
        )
    return ctx.call("predict", model_id=model["id"], dataset_id=ctx.dataset_id)


def plan_export_model(ctx: Context, base: dict[str, Any]) -> Plan:
    model = pick_model(ctx, base)
    if model is None:
        return ask(
            "There is no trained model to download yet: which column should I train one to "
            f"predict? Columns: {ctx.listing()}."
        )
    return ctx.call("export_model", model_id=model["id"])
