"""Reading a request: its words (with typos of command words corrected), numbers and quotes.

Column names are matched elsewhere, against the original words; here the words are folded to
lower case and split on anything that is not a letter or a digit, and between the parts of a
camelCase name, so "k-means", "K Means" and "k_means" read the same, as do "passengerClass" and
"passenger class". Each word keeps where it stands in the text, so a value can be quoted as typed
("JFK", "Very Good"). A word that is not one of the command words below, and not a word of a
column or dataset name, is corrected to the closest command word when it is one typo away
("histogarm", "modle", "forcast").
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field

TOKEN = re.compile(r"\d+\.\d+|[^\W_]+")
CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|\u2018([^\u2019]+)\u2019")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
DURATION = re.compile(
    r"(\d+(?:\.\d+)?|an?|one|two|three|four|five|ten)\s*"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b"
)
SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600}
SECONDS.update({"hr": 3600, "hour": 3600})
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "fifty": 50, "hundred": 100,
}  # fmt: skip
# Words typos are corrected to: the command words the rules look for.
VOCABULARY = frozenset(
    {
        "describe", "description", "summary", "summarise", "summarize", "statistics", "profile",
        "overview", "missing", "values", "preview", "first", "last", "random", "rows", "sample",
        "histogram", "scatter", "scatterplot", "plot", "chart", "graph", "draw", "visualise",
        "visualize", "visualisation", "visualization", "line", "bar", "barchart", "boxplot",
        "violin", "heatmap", "area", "distribution", "distributed", "correlation", "correlations",
        "correlated", "correlate", "relationship", "related", "average", "median", "total",
        "maximum", "minimum", "count", "counts", "frequency", "frequent", "common", "significant",
        "significance", "difference", "different", "differ", "hypothesis", "anova", "independent",
        "impute", "imputation", "imputer", "replace", "remove", "delete", "rename", "convert",
        "duplicate", "duplicates", "outlier", "outliers", "extreme", "winsorize", "winsorise",
        "standardise", "standardize", "normalise", "normalize", "scale", "scaling", "encode",
        "encoding", "dummy", "dummies", "ordinal", "expand", "extract", "tfidf", "vectorize",
        "vectorise", "feature", "features", "select", "selection", "important", "importance",
        "train", "model", "models", "predict", "prediction", "predictions", "classifier",
        "classify", "classification", "regression", "regressor", "forest", "boosting", "gradient",
        "logistic", "linear", "lasso", "neighbours", "neighbors", "bayes", "ensemble", "stacking",
        "stack", "voting", "combine", "tune", "tuning", "hyperparameters", "hyperparameter",
        "search", "cross", "validate", "validation", "crossvalidate", "folds", "automl",
        "autogluon", "algorithm", "algorithms", "cluster", "clusters", "clustering", "segment",
        "segments", "kmeans", "dbscan", "hierarchical", "agglomerative", "gaussian", "mixture",
        "anomaly", "anomalies", "unusual", "suspicious", "isolation", "forecast", "seasonality",
        "seasonal", "decompose", "decomposition", "trend", "download", "export", "excel",
        "spreadsheet", "merge", "join", "sheet", "suggest", "suggestions", "recommend", "help",
        "confusion", "matrix", "residuals", "predicted", "actual", "elbow", "optimal", "budget",
        "minutes", "seconds", "columns", "column", "dataset", "datasets", "group", "grouped",
        "aggregate", "categorical", "category", "categories", "numeric", "number", "integer",
        "datetime", "boolean", "recursive", "elimination", "information", "mutual", "normal",
        "normally", "standard", "deviation", "deviations", "variable", "variables", "filter",
        "sort", "sorted", "descending", "ascending", "population", "stratify", "stratified",
        "stratification", "coefficients", "decision", "largest", "smallest", "expensive",
        "cheapest", "biased", "regress", "kurtosis", "skewness",
    }
)  # fmt: skip
COMMANDS = sorted(VOCABULARY)
# Everyday words that must never be "corrected" into a command word.
PROTECTED = frozenset(
    {
        "there", "their", "these", "those", "where", "which", "while", "would", "could", "should",
        "other", "after", "again", "about", "above", "below", "under", "between", "before", "three",
        "seven", "eight", "they", "them", "then", "than", "what", "when", "with", "within",
        "without", "please", "thanks", "thank", "hello", "sales", "scale", "stores", "store",
        "price", "prices", "total",
    }
)  # fmt: skip


@dataclass
class Number:
    """A number in the request and the words around it ("3 groups", "k 3")."""

    value: float
    next_word: str
    previous_word: str


@dataclass
class Utterance:
    """One request, read: original and corrected words, numbers, quoted names, durations."""

    raw: str
    words: list[str]
    corrected: list[str]
    numbers: list[Number] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The corrected words joined by single spaces, padded so phrases match at the ends."""
        return f" {' '.join(self.corrected)} "

    def has(self, pattern: str) -> bool:
        """Whether the regular expression `pattern` matches the corrected words."""
        return re.search(pattern, self.text) is not None

    def find(self, pattern: str, after: int = -1) -> int:
        """The word index where `pattern` first matches past word `after`, or -1."""
        for match in re.finditer(pattern, self.text):
            index = self.text[: match.start() + 1].count(" ") - 1
            if index > after:
                return index
        return -1

    def percent(self) -> float | None:
        match = PERCENT.search(self.raw)
        return float(match.group(1)) / 100 if match else None

    def seconds(self) -> int | None:
        """A duration such as "2 minutes", "90 s" or "an hour", in seconds."""
        match = DURATION.search(self.raw.lower())
        if match is None:
            return None
        amount, unit = match.groups()
        value = NUMBER_WORDS.get(amount) or float(amount)
        unit = unit.rstrip("s") or "s"
        return round(value * SECONDS[unit])

    def number_before(self, *words: str) -> int | None:
        """A whole number written just before one of `words` ("5 clusters", "10-fold")."""
        for number in self.numbers:
            if number.next_word in words and number.value == int(number.value):
                return int(number.value)
        return None

    def number_after(self, *words: str) -> int | None:
        """A whole number written just after one of `words` ("k 4", "top 5")."""
        for number in self.numbers:
            if number.previous_word in words and number.value == int(number.value):
                return int(number.value)
        return None

    def original(self, start: int, end: int) -> str:
        """Words `start` to `end` (exclusive) as typed, with what stands between them."""
        if start >= end:
            return ""
        return self.raw[self.spans[start][0] : self.spans[end - 1][1]]


def tokens(text: str) -> list[tuple[str, int, int]]:
    """The words of `text` in lower case, each with where it starts and ends in `text`."""
    found = []
    for match in TOKEN.finditer(text):
        piece = match.group()
        cuts = [0, *(cut.start() for cut in CAMEL.finditer(piece)), len(piece)]
        if len(piece) < 6 or min(end - start for start, end in itertools.pairwise(cuts)) < 2:
            cuts = [0, len(piece)]  # "NaNs" and "iPhone" are words, not two names
        for start, end in itertools.pairwise(cuts):
            found.append((piece[start:end].lower(), match.start() + start, match.start() + end))
    return found


@functools.lru_cache(maxsize=4096)  # column and file names are read again at every request
def normalise(text: str) -> str:
    """Lower case, camelCase parts apart, every run of non-letters and non-digits folded into
    one space."""
    return " ".join(word for word, _, _ in tokens(text))


def read(text: str, names: frozenset[str] = frozenset()) -> Utterance:
    """Read `text`; `names` are words of column and dataset names, never corrected."""
    found = tokens(text)
    words = [word for word, _, _ in found]
    corrected = [_correct(word, names) for word in words]
    numbers = []
    for index, word in enumerate(corrected):
        value = _number(word)
        if value is not None:
            after = corrected[index + 1] if index + 1 < len(corrected) else ""
            before = corrected[index - 1] if index > 0 else ""
            numbers.append(Number(value, after, before))
    quoted = [next(group for group in match.groups() if group) for match in QUOTED.finditer(text)]
    spans = [(start, end) for _, start, end in found]
    return Utterance(text, words, corrected, numbers, quoted, spans)


def _number(word: str) -> float | None:
    if word in NUMBER_WORDS and word not in {"a", "an"}:
        return float(NUMBER_WORDS[word])
    try:
        return float(word)
    except ValueError:
        return None


def _correct(word: str, names: frozenset[str]) -> str:
    protected = word in names or word.rstrip("s") in names or word in PROTECTED
    return word if protected else _command_word(word)


@functools.cache
def _command_word(word: str) -> str:
    """The command word `word` is a typo of: one edit away (two for long words), where a swap
    of neighbouring letters counts as one edit; else `word` unchanged."""
    if word in VOCABULARY or len(word) < 4 or not word.isalpha():
        return word
    limit = 2 if len(word) >= 8 else 1
    best, best_distance = word, limit + 1
    for candidate in COMMANDS:
        if len(word) < 5 and sorted(word) != sorted(candidate):
            continue  # short words: only two swapped letters ("plto")
        found = edit_distance(word, candidate, limit)
        if found < best_distance:
            best, best_distance = candidate, found
    return best


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edit distance with swaps of neighbouring letters (optimal string alignment), capped at
    `limit` + 1 to stay cheap."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, letter in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, 1):
            cost = 0 if letter == other else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and letter == b[j - 2] and a[i - 2] == other:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]
