"""tinyemo-audit: bias audits for TinyEmo-style emotion classifiers."""
