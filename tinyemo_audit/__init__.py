"""tinyemo-audit: bias audits for TinyEmo-style emotion classifiers.

A frozen vision encoder, a Metric Projector into a small LLM's token-embedding space and a
nearest-label rule make an emotion classifier; this package trains such stacks and audits them
for bias in their decisions and in their metric space.
"""

__version__ = "0.1.0"
