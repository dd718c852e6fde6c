"""Audit statistics engine: group metrics with bootstrap/permutation/BH, counterfactual, association, skew, dataset bias.

Definitions follow ``METRICS.md``. Every function works on arrays, takes a ``seed`` where
anything is random, and raises :class:`tinyemo_audit.errors.InputError` (bad data: NaN,
mismatched lengths) or :class:`tinyemo_audit.errors.UsageError` (bad arguments).
"""

from tinyemo_audit.metrics._association import weat
from tinyemo_audit.metrics._counterfactual import flip_rate, label_distribution_kl, paired_shift
from tinyemo_audit.metrics._dataset_bias import (
    cramers_v,
    cramers_v_table,
    effective_number,
    normalized_mutual_info,
    normalized_mutual_info_table,
    representation,
    representation_counts,
    theils_u,
    theils_u_table,
)
from tinyemo_audit.metrics._group import (
    METRICS,
    cell_counts,
    disparity,
    disparity_counts,
    equalized_odds,
    equalized_odds_counts,
    equalized_odds_difference,
    group_table,
    group_table_counts,
)
from tinyemo_audit.metrics._skew import max_skew, ndkl, ranked_skew, skew_at_k
from tinyemo_audit.metrics._skew_change import paired_top_k_change
from tinyemo_audit.metrics._stats import benjamini_hochberg, wilson_interval

__all__ = [
    "METRICS",
    "cell_counts",
    "cramers_v_table",
    "disparity_counts",
    "equalized_odds_counts",
    "group_table_counts",
    "normalized_mutual_info_table",
    "paired_top_k_change",
    "ranked_skew",
    "representation_counts",
    "theils_u_table",
    "benjamini_hochberg",
    "cramers_v",
    "disparity",
    "effective_number",
    "equalized_odds",
    "equalized_odds_difference",
    "flip_rate",
    "group_table",
    "label_distribution_kl",
    "max_skew",
    "ndkl",
    "normalized_mutual_info",
    "paired_shift",
    "representation",
    "skew_at_k",
    "theils_u",
    "weat",
    "wilson_interval",
]
