"""Label spaces: where TinyEmo's emotion labels (and the naming vocabulary) are embedded."""

from .base import LabelSpace, TokenEmbeddingSpace
from .prompts import default_template, get_template, label_embeddings, list_templates
from .registry import LABEL_SPACES, list_label_spaces, resolve_label_space

__all__ = [
    "LABEL_SPACES",
    "LabelSpace",
    "TokenEmbeddingSpace",
    "default_template",
    "get_template",
    "label_embeddings",
    "list_label_spaces",
    "list_templates",
    "resolve_label_space",
]
