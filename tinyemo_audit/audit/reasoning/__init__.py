"""The reasoning audit: what a bundle's MM-LLM writes about counterfactual twins (issue 14).

Four probes over texts (never over a model), each record carrying a p-value for the audit's one
Benjamini–Hochberg correction and flag rule:

- free-mode twins: the label the MM-LLM states, its flip rate and stated-label shift (:mod:`._stated`);
- conditional-mode twins: a paired shift of how strongly the text reads as each emotion (:mod:`._reading`);
- attribute mentions by group and emotion, from lexicons kept as data (:mod:`._mentions`, :mod:`._lexicon`);
- LIC-style leakage of the attribute with its words masked, and its amplification over the
  reference reasoning (:mod:`._leakage`).

:func:`reasoning_section` builds results.json's ``reasoning`` section from :class:`TwinTexts`;
:func:`attach_reasoning_examples` puts pairs of texts under the findings. The runner's hook
(:func:`reasoning_status`, :func:`collect_texts`) is the only part that reaches the MM-LLM, through the
reasoning package, imported where used.
"""

from ._collect import collect_texts, reasoning_status, select_identities
from ._findings import attach_reasoning_examples, reasoning_findings, reasoning_records
from ._section import ReasoningEvidence, reasoning_section
from ._texts import TwinTexts

__all__ = [
    "ReasoningEvidence", "TwinTexts", "attach_reasoning_examples", "collect_texts", "reasoning_findings",
    "reasoning_records", "reasoning_section", "reasoning_status", "select_identities",
]
