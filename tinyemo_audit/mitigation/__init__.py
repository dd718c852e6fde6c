"""Mitigation of a bundle's bias, measured: four documented methods, the after-audit and the trade-off (docs/mitigation.md).

:func:`mitigate` runs the before-audit, applies ``reweigh`` (Kamiran & Calders), ``correlation-remover``
(fairlearn), ``prompt-projection`` (Chuang et al.) or ``thresholds`` (per-group offsets, or
fairlearn's ThresholdOptimizer), writes the mitigated bundle, audits it with the same code, and
compares the two runs with :mod:`tinyemo_audit.comparison`. The building blocks are public for tests
and notebooks: :func:`reweighing_weights`, :func:`fit_correlation_remover`, :func:`projection_matrix`,
:func:`fit_offsets`, :func:`fit_threshold_optimizer`.
"""

from tinyemo_audit.mitigation._correlation import fit_correlation_remover
from tinyemo_audit.mitigation._methods import CITATIONS, METHODS
from tinyemo_audit.mitigation._projection import PROJECTIONS, project_labels, projection_matrix
from tinyemo_audit.mitigation._reweigh import reweighing_weights
from tinyemo_audit.mitigation._run import METHOD_CHOICES, MitigationResult, mitigate
from tinyemo_audit.mitigation._thresholds import fit_offsets, fit_threshold_optimizer

__all__ = ["CITATIONS", "METHODS", "METHOD_CHOICES", "PROJECTIONS", "MitigationResult", "fit_correlation_remover",
           "fit_offsets", "fit_threshold_optimizer", "mitigate", "project_labels", "projection_matrix",
           "reweighing_weights"]
