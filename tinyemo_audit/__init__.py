"""tinyemo-audit: bias audits for TinyEmo-style emotion classifiers.

A frozen vision encoder, a Metric Projector into a small LLM's token-embedding space and a
nearest-label rule make an emotion classifier; this package trains such stacks and audits them
for bias in their decisions and in their metric space. Any other classifier is audited from its
predictions.

The Python API (docs/api.md) is four functions and their results; the command line is a layer
over it (the function is ``audit_model`` because ``tinyemo_audit.audit`` is the subpackage of the probes):

- :func:`audit_model` — audit a bundle on a dataset, or a predictions table; returns an :class:`AuditResult`.
- :func:`load_results` — read a results.json back as an :class:`AuditResult`.
- :func:`compare` — compare a new audit with a baseline; returns a :class:`Comparison`.
- :func:`mitigate` — apply a bias mitigation to a bundle and measure it before/after (docs/mitigation.md).
"""

__version__ = "0.1.0"

from tinyemo_audit.api import AuditResult, Comparison, audit_model, compare, load_results, mitigate  # noqa: E402

__all__ = ["AuditResult", "Comparison", "__version__", "audit_model", "compare", "load_results", "mitigate"]
