"""Fixed prose of the report: plain-language labels and the methods glossary."""

from __future__ import annotations

STATUS_WORDS = {
    "biased": "Bias found",
    "gate-failed": "A CI gate failed",
    "metric-space-only": "No decision bias · metric-space properties found",
    "no-flag": "No bias flagged in what was tested",
    "untested": "Not tested: nothing was compared",
}
# A second line under the headline where the status word alone could mislead.
STATUS_NOTES = {
    "metric-space-only": "The classifier's outputs did not differ between groups beyond the rules, but the embedding "
                         "space places groups differently. These properties do not change a prediction today; they "
                         "can under another label set, prompt or threshold.",
    "no-flag": "No result passed the rules below. That is not proof of fairness: it holds for the attributes, groups "
               "and probes listed, at this data size.",
    "untested": "No protected attribute had two groups large enough to compare, so no comparison was made. This is "
                "not a clean bill of health.",
}
CATEGORIES = {
    "decision": ("Decision biases",
                 "Change what the classifier outputs: counterfactual twins, group disparities, error clusters."),
    "metric_space": ("Metric-space properties",
                     "Where embeddings sit, without changing a prediction: retrieval skew, associations, "
                     "label-word geometry (text probes)."),
}
CATEGORY_CHIPS = {"decision": "decision bias", "metric_space": "metric-space property"}
# Schema 1.0 findings carry no category: their kind implies it (the same split the 1.1 audit writes).
KIND_CATEGORY = {"counterfactual": "decision", "disparity": "decision", "cluster": "decision",
                 "text_probe": "metric_space", "association": "metric_space", "skew": "metric_space"}
REVIEW_LEAD = ("One card per root cause, ranked by severity, with the probes that support it. The tool proposes; a "
               "person decides: confirm or reject each card and add a note. Decisions are kept in this browser for "
               "this run; download them as a JSON file, or load a saved review back.")

KIND_WORDS = {
    "counterfactual": "counterfactual twins",
    "disparity": "group disparity",
    "text_probe": "text probe",
    "association": "association (WEAT/iEAT)",
    "skew": "retrieval skew",
    "cluster": "discovered cluster",
}

FRAMEWORK_STATEMENT = (
    "The semi-automated bias framework in this report is tinyemo-audit's own design. TinyEmo's paper mentions "
    "semi-automated bias detection, but its method is not available, so nothing here reproduces it. The tool "
    "proposes findings from statistical tests; a person reviews each one (confirm, reject and a note in the "
    "Findings section) and decides whether it is a real bias."
)

# Keys match results["methods"]["metrics"] where the audit provides its own wording (which then wins).
GLOSSARY: dict[str, tuple[str, str]] = {
    "accuracy": ("Accuracy per group",
                 "Share of images whose predicted emotion equals the annotated one, computed separately for each "
                 "value of a protected attribute."),
    "tpr_fpr": ("TPR / FPR per class",
                "True-positive rate: of the images that truly show an emotion, the share predicted as it. "
                "False-positive rate: of the images that do not show it, the share wrongly predicted as it. "
                "Both are one-vs-rest, per emotion and per group."),
    "disparity": ("Disparity difference and ratio",
                  "Difference: worst group's value minus best group's value (in percentage points for rates). "
                  "Ratio: worst divided by best; 1.0 means parity."),
    "equalized_odds": ("Equalized-odds difference",
                       "The largest gap between groups in TPR or FPR, over all emotions; the report names the "
                       "emotion where it occurs. 0 means every group is treated alike on both error types."),
    "flip_rate": ("Flip rate",
                  "Twins are the same synthetic face rendered with only one attribute changed (e.g. skin tone). "
                  "The flip rate is the share of twin pairs whose predicted emotion differs. Ideally 0."),
    "similarity_shift": ("Similarity shift",
                         "The classifier picks the emotion label nearest to the projected image embedding. The "
                         "shift is the mean change of the cosine similarity to one label when only the attribute "
                         "changes; positive means the face moved toward that label. Shown with 3 decimals."),
    "kl": ("KL divergence",
           "How much the whole distribution over emotion labels changes between twins (0 = unchanged)."),
    "bootstrap_ci": ("95 % CI",
                     "The bracketed range. For one group's rate (accuracy, TPR, FPR, selection rate) it is the "
                     "Wilson score interval of that proportion; for a difference between groups or twins, the "
                     "middle 95 % of the values recomputed on many resamples of the items (bootstrap, fixed "
                     "seed). Wide brackets mean little data."),
    "permutation_p": ("Permutation p-value",
                      "How often a difference at least this large appears when group labels (or twin sides) are "
                      "shuffled at random. Small means unlikely to be chance."),
    "bh_q": ("Benjamini–Hochberg q-value",
             "The p-value corrected for the many tests in one audit (false discovery rate). A finding needs q "
             "below the audit's threshold; small values are written like 2.0e-04."),
    "small_n": ("Small groups",
                "Groups with fewer items than the audit's minimum are shown in the tables but never flagged: their "
                "n is marked “n < minimum: not flagged”."),
    "weat": ("WEAT / iEAT effect size",
             "Association test between two groups of images (iEAT) or prompts (WEAT) and two sets of emotion "
             "labels (e.g. negative vs positive): the standardised difference of mean similarities, like Cohen's "
             "d. Positive means the first group sits closer to the first label set."),
    "skew": ("MaxSkew@k and NDKL",
             "Rank all images by similarity to an emotion label and take the top k. MaxSkew@k is the largest log "
             "ratio between a group's share in the top k and its share overall (0 = fair). NDKL is a "
             "rank-discounted KL divergence between those shares over all cut-offs (0 = fair)."),
    "representation": ("ENS, Simpson and imbalance ratio",
                       "Effective number of species (exp of the entropy of group shares), Simpson's inverse index "
                       "and largest/smallest group count: how evenly the audited data covers each attribute. ENS "
                       "equal to the number of groups means perfectly even."),
    "stereotype": ("Cramér's V, NMI and Theil's U",
                   "Strength of association between an attribute and the emotion labels in the audited data "
                   "(bias-corrected Cramér's V; normalised mutual information; Theil's uncertainty "
                   "coefficient). 0 means the data itself does not tie emotions to groups."),
    "discovery": ("Discovery: UMAP, clusters, SliceLine",
                  "Projected embeddings are mapped to 2-D with UMAP and clustered. Each cluster gets an error "
                  "rate, an error ratio (vs. overall), a SliceLine-style score trading error against size, its "
                  "over-represented attribute values, and a name made from its nearest words in the language "
                  "model's vocabulary."),
}
