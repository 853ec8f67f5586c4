"""Which kind of request a sentence is: an ordered list of cue patterns, the first match wins.

The order settles overlaps: "download the predictions" is a download before it is about
predictions, "correlation heatmap" is a chart before it is a correlation, "predict co2 for the
next 52 weeks" is a forecast before it is a model. Patterns run on the request's words after
typo correction, lower case, one space between words.
"""

from __future__ import annotations

import re

from data_science.offline.intents.text import Utterance

NUM = r"(\d+|two|three|four|five|six|seven|eight|nine|ten|twelve)"
CHART = (
    r"\bplot|\bchart|\bgraph|\bdraw\b|\bvisuali[sz]|\bhistogram|\bhist\b(?! gradient)|\bscatter|"
    r"\bbar ?(chart|plot|graph)s?\b|\bbarchart|\bbox ?plot|\bboxplot|\bbox and whisker|\bbox of\b|"
    r"\bwhisker|\bviolin|\bheat ?map|\bpie\b|\barea (chart|plot|graph)\b|"
    r"\bline (chart|plot|graph)\b|"
    r"\bover time\b|\b(show|see|display|view)\b.*\bdistribut|\bcorrelation matrix\b"
)
REMOVE = r"\b(remove|drop|delete|get rid of|eliminate|exclude|discard|filter out)\b"
REPORT = (
    r"\bregression (summary|report|table|output|results?|coefficients)\b|\bregress\b|\bols\b|"
    r"\bcoefficients?\b|\bstatsmodels\b|\b(logit|logistic) (summary|report|table)\b|"
    r"\bregression of \w+( \w+)? on\b|\bstandard errors?\b"
)
DERIVE = (
    r"^ (please )?(add|create|make|compute|calculate|derive|append|insert)\b (a |an |the )?"
    r"(new )?(column|variable|field|flag|indicator)s?\b|\bnew (column|variable|field)\b|"
    r"^ (please )?(add|create|compute|calculate|derive|make) \w+ (as|equal to|equals|that is)\b|"
    r"^ (please )?(bin|bucket|discreti[sz]e)\b|\b(bin|bucket) (the )?\w+ (\w+ )?(into|at|by)\b"
)
SUPERLATIVE = (
    r"(largest|biggest|highest|most|greatest|smallest|lowest|least|fewest|cheapest|expensive|"
    r"priciest|costliest|recent|newest|latest|oldest|youngest|earliest|best|worst)"
)
SORT = (
    r"\bsort|\b(order|rank)(ed)? (\w+ ){0,2}by\b|\barrange\b|"
    r"\b(top|bottom) \d+ (\w+ )?by\b(?! (the )?(number|count|frequency))|"
    r"\b\d+ "
    + SUPERLATIVE
    + r"\b|\bwhich \w+ (has|had|have|is|was) the "
    + SUPERLATIVE
    + r"\b(?! (missing|common|frequent|popular|correlated|important))|"
    r"\bthe (most|least) (expensive|recent)\b|\b(cheapest|priciest|newest|latest|oldest|youngest) "
    r"(\d+ )?\w+s\b"
)
FILTER = (
    r"\bfilter\b(?! out (the )?outliers)|\b(only|keep)\b(?!.*\bcolumns?\b)|\bwhere\b|\bwhose\b|"
    r"\bexcept\b|"
    r"\bexcluding\b|\bsubset\b|\b(rows|records|entries) (with|where|that|whose|in|from|for)\b|"
    r"\bexclude (the |all )?\w+ (from|with|where|whose|in)\b|"
    r"\b(remove|drop|delete|discard) (the |all )?(rows|records|entries)\b"
)
# Written only when these words stand in the request's text (not its typo-corrected words).
ASSIGNMENT = (
    r"^\s*(please\s+)?(add|create|make|compute|calculate|derive)\s+(a\s+)?(new\s+)?"
    r"(column\s+)?[A-Za-z_]\w*\s*=[^=]"
)

# fmt: off
RULES: list[tuple[str, str]] = [
    ("describe_model_families",
     r"\b(which|what)\b.*\b(models?|algorithms?|families)\b.*\b(available|supported|support|offer|"
     r"can (i|you|we)|do you (have|use|know)|options|are there|exist)|\blist (the |all )?(models|"
     r"algorithms)\b"),
    ("suggest_next_steps",
     r"\bsuggest|\brecommend|\bnext steps?\b|\bwhat (should|shall|can|could) (i|we) do\b|"
     r"\bwhere (should i|do i|to|should we) start\b|\bwhat now\b|\bwhat next\b|\bideas?\b|"
     r"\bwhat would you do\b"),
    ("analyze_and_model",
     r"\banaly[sz]e and model|\bfull analysis\b|\bend to end\b|\bbaseline\b|\bdo everything\b|"
     r"\banaly[sz](e|is) .*\band (build|train|fit) (a )?model\b"),
    ("list", r"\blist\b.*\b(files?|datasets?|data|uploads?)\b|\b(what|which) (files|datasets)\b|"
             r"\bmy (files|datasets|uploads)\b|\bfiles (do )?i (have|uploaded)\b"),
    ("export_notebook", r"\bnotebooks?\b|\bjupyter\b|\bipynb\b"),
    ("show_code",
     r"\b(show|see|give|print|display|view|what is|what ?s|share)\b (\w+ ){0,3}\bcode\b|"
     r"\bhow did you (do|get|compute|calculate|make|find|work out|come up with)\b|"
     r"\b(what|which) code\b|\bcode (for|of|behind|you (ran|used))\b|"
     r"\b(as|in) (python|pandas)( code)?\b"),
    ("export_model", r"\b(download|export|save)\b.*\bmodel\b(?! (to|for) )"),
    ("export_dataset",
     r"\bdownload|\bexport|\bsave\b.*\bas\b|\b(as|to|into) (an? )?(excel|csv|xlsx|spreadsheet|"
     r"workbook)\b"),
    ("load_sheet", r"\b(sheet|worksheet|tab)\b"),
    ("merge_datasets", r"\bjoin|\bmerge|\bvlookup\b|\bcombine\b.*\b(datasets|tables|files)\b"),
    ("regression_report", REPORT),
    ("plot_model",
     r"\bconfusion\b|\broc\b|\bauc curve\b|\bresidual|\bactual (vs|versus|against) predicted\b|"
     r"\bpredicted (vs|versus|against) actual\b|\bfeature importances?\b|\bimportant features\b|"
     r"\bfeatures? (were|are|was|is) (the )?most important\b|"
     r"\b(which|what) (features|columns|variables) matter(s|ed)?\b"),
    ("select_features",
     r"\bfeature selection\b|\bselect\b.*\bfeatures\b|\brfe(cv)?\b|\brecursive\b|"
     r"\bmutual info|\bfeatures? (are|is) (the )?(best|most useful|most predictive)\b|"
     r"\bbest features\b|\btop \d+ features\b|\bfeature ranking\b|"
     r"\brank (the )?features\b|\bforward selection\b|\bsequential (feature )?selection\b"),
    ("automl", r"\bautoml\b|\bauto ml\b|\bautogluon\b|\bauto gluon\b|\bbest (possible )?model "
               r"(you can|possible)\b"),
    ("search_models",
     r"\bflaml\b|\bmodel search\b|\bsearch (for )?(the )?(best )?(models?|algorithms?)\b|"
     r"\b(which|what) (model|algorithm|family|one)s? (works?|is|performs?|would be|does|will be) "
     r"(the )?best\b|\bwhich is (the )?best\b|\b(lots of|many|several|different|all the) "
     r"(models|algorithms)\b|\bbest (algorithm|model family)\b|"
     r"\bcompare (different |several |some )?"
     r"(models|algorithms)\b|\bfind the best (model|algorithm)\b"),
    ("train_ensemble", r"\bensemble|\bstack(ing|ed)?\b|\bvoting\b|\bblend"),
    ("tune_model", r"\btun(e|ing)\b|\bhyper ?parameters?\b|\bgrid search\b|"
                   r"\brandom(ized)? search\b|\boptimi[sz]e\b"),
    ("cross_validate", r"\bcross ?validat|\bcrossvalidat|\bcv\b|\bk ?folds?\b|\b\d+ folds?\b"),
    ("forecast",
     r"\bforecast|\bnext " + NUM + r" (days?|weeks?|months?|years?|quarters?|steps?|periods?|"
     r"hours?)\b|\bnext (day|week|month|year|quarter)\b|\b" + NUM + r" (steps?|periods?|days?|"
     r"weeks?|months?|years?) ahead\b|\bfuture\b|\bprojection|\bextrapolat"),
    ("predict",
     r"\bpredictions\b(?! model)|\bmake (a )?prediction\b(?! model)|"
     r"\bapply (the |this |my )?(model|it)\b|"
     r"\bscore (the|new|this)\b|\b(use|using|with) (it|the model|this model|my model)\b|"
     r"\bpredict (with|using|on) (it|the model)\b|\brun the model\b"),
    ("decompose_series", r"\bdecompos|\bseasonal"),
    ("choose_k",
     r"\bhow many (clusters|groups|segments)\b|\bnumber of (clusters|groups|segments)\b|"
     r"\boptimal (k|number)\b|\bbest (k|number of clusters)\b|\belbow\b|\bchoose k\b"),
    ("find_anomalies", r"\banomal|\bunusual\b|\bsuspicious\b|\bisolation forest\b|"
                       r"\bodd (rows|records|ones)\b|\bweird\b|\bfraud"),
    ("derive_column", DERIVE),
    ("cluster",
     r"\bcluster|\bsegment|\bk ?means\b|\bdbscan\b|\bgaussian mixture\b|\bgmm\b|"
     r"\bagglomerative\b|\bhierarchical\b|\bnatural group|\binto " + NUM + r" groups\b|"
     r"\bgroup the \w+ into\b"),
    ("impute_missing",
     r"\bimput|\bfill|\breplace (the )?(missing|nans?|nulls?|empty|blanks?|gaps)\b|"
     r"\bmissing\b.*\bwith\b|\b(handle|deal with|fix|treat) (the )?(missing|nans?|nulls?|gaps)\b|"
     r"\bnans?\b.*\bwith\b"),
    ("remove_duplicates", r"\bdedup|\bde dup|" + REMOVE + r".*\bduplicat"),
    ("handle_outliers",
     r"\bwinsori[sz]|\b(remove|drop|delete|get rid of|eliminate|clip|cap|capping|handle|treat|"
     r"deal with|fix|trim|limit|filter)\b.*\b(outliers?|extreme values?|extremes)\b|\bclip\b"),
    ("plot", CHART),
    ("decompose_series", r"\btrend\b|\bcyclical\b"),
    ("hypothesis_test",
     r"\bt ?test\b|\bttest\b|\bchi ?(square|squared|2)\b|\banova\b|\bhypothesis\b|\bsignifican|"
     r"\bstatistically\b|\bindependen|\b(differ|different|difference)\b.*"
     r"\b(between|across|among|by)\b"),
    ("correlations", r"\bcorrel|\bcorelat|\brelated\b|\brelationship\b|\bassociat|"
                     r"\bmove together\b"),
    ("describe_distribution",
     r"\boutliers?\b|\bskew|\bkurtosis\b|\bnormal(ly)? distributed\b|\bnormality\b|"
     r"\bextreme values?\b|\bheavy tails?\b|\bgaussian\b|\bis \w+ normal\b"),
    ("scale_columns", r"\bscal(e|ing|er)\b|\bstandardi[sz]|\bnormali[sz]|\bmin ?max\b|\brescale"),
    ("encode_columns", r"\bencod|\bone ?hot\b|\bdumm(y|ies)\b|\bordinal\b"),
    ("expand_dates",
     r"\bdate parts?\b|\bexpand\b.*\b(date|time|day|month)|\bextract\b.*\b(year|month|day|"
     r"weekday|hour|date)|\bdate ?(time )?features\b|\bsplit\b.*\bdate|\b(year|month|weekday|"
     r"day)s?\b.*\b(features|columns|parts)\b.*\bfrom\b|\b(break|separate)\b.*\bdate|"
     r"\bdate\b.*\binto (its )?(parts|years?|months?|days?)\b|"
     r"\b(year|month|weekday|day)s?\b.*\b(out of|from)\b.*\bdate\b"),
    ("text_to_tfidf", r"\btf ?idf\b|\bvectori[sz]|\bbag of words\b|\btext features\b|"
                      r"\bword (counts|features)\b"),
    ("rename_columns", r"\brename|\bchange the name\b"),
    ("cast_column",
     r"\bconvert\b|\bcast\b|\bchange (the )?(data )?type\b|\bparse\b|"
     r"\b(as|to|into) (a |an )?(dates?|datetime|integers?|int|numbers?|numeric|floats?|text|"
     r"string|categor(y|ical)|boolean|bool)\b|\bshould be (a |an )?\w+|\bmake \w+ (a |an )?"
     r"(dates?|datetime|integer|int|number|numeric|float|text|string|category|categorical|"
     r"boolean)\b"),
    ("sort_rows", SORT),
    ("filter_rows", FILTER),
    ("drop_columns", REMOVE),
    ("aggregate",
     r"\bgroup(ed)? by\b|\bpivot\b|\baggregat|\b(average|mean|avg|median|total|sum|max|maximum|"
     r"min|minimum|std|standard deviation|highest|lowest|rate|share|proportion|percentage|"
     r"fraction)\b.*\b(by|per|for each|for every|across|in each|of each)\b|\bvalue counts?\b|"
     r"\bcounts?\b|"
     r"\bhow many (rows|records) (per|by|for each|in each)\b|"
     r"\bhow many (?!rows\b|columns\b|duplicat|missing)|\bfrequenc|"
     r"\bmost (common|frequent|popular)\b|\bdistinct\b|"
     r"\bunique values\b|\bbreakdown\b|\bnumber of\b"),
    ("preview_rows",
     r"\bpreview\b|\bhead\b|\btail\b|\b(first|last|top|bottom) (\d+ |few |\w+ )?(rows|records|"
     r"lines|entries)\b|\b(random|some|few) (\w+ )?(rows|records|reviews|entries|examples)\b|"
     r"\bsample (a few |some |\d+ )?rows\b|\bshow (me )?(the )?(raw )?data\b|\blet me see\b|"
     r"\bpeek\b|\bprint\b.*\brows\b|\bshow (me )?\d+ (\w+ )?rows\b|"
     r"\b(show|see|print|display) (me )?\d+ (?!(clusters?|groups?|features?|folds?|steps?|"
     r"months?|weeks?|days?|years?)\b)\w+"),
    ("analyze_dataset",
     r"\bdescrib|\bsummar|\bprofil|\boverview\b|\bstatistic|\bstats\b|\bmissing\b|\bnulls?\b|"
     r"\bnans?\b|\bblanks?\b|\bwhat ?s in\b|\bwhat is in\b|\binfo\b|\btell me (about|more)\b|"
     r"\bwhat ?s going on\b|\bwhat is going on\b|"
     r"\bexplore\b|\blooks? like\b|\banaly[sz]|\bshape\b|\bhow many (rows|columns)\b|"
     r"\brows and columns\b|"
     r"\btypes\b|\bduplicat|\beda\b|\blook at\b|\bquality\b|\bcheck\b"),
    ("describe_distribution", r"\b(std|standard deviations?|variance)\b"),
    ("train",
     r"\btrain(s|ed|ing)?\b|\bfit\b|\bbuild (a |an )?(\w+ )?(model|classifier|regressor)\b|"
     r"\bmodel\b|"
     r"\bclassif|\bregress|\bpredict|\bmachine learning\b|\bestimate\b|\blearn to\b"),
    ("help",
     r"\bhelp\b|\bwhat can (you|i)\b|\bwhat do you do\b|\bhow (do|does|can|should) (i|this|you)\b|"
     r"\bcapabilit|\bwho are you\b|\bwhat are you\b|\binstructions\b|\bcommands\b"),
    ("greeting",
     r"^ (hi|hello|hey|hiya|yo|good (morning|afternoon|evening)|thanks|thank you|thx|cheers|ok|"
     r"okay|great|cool|nice|bye)( \w+){0,2} $"),
]
# fmt: on


def classify(u: Utterance, skip: frozenset[str] = frozenset()) -> str | None:
    """The family of the first rule whose pattern matches (leaving out the families in `skip`),
    or None."""
    if "derive_column" not in skip and re.match(ASSIGNMENT, u.raw, re.IGNORECASE):
        return "derive_column"  # "add margin = profit / revenue"
    return next(
        (family for family, pattern in RULES if family not in skip and u.has(pattern)), None
    )
