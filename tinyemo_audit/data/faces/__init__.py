"""The procedural faces corpus (``--dataset faces``): expressions, protected attributes, twins, bias knobs."""

from .attributes import EXPRESSIONS, MONK_SKIN_TONE_SWATCHES, NUISANCE_ATTRIBUTES, PROTECTED_ATTRIBUTES, SKIN_TONE_SWATCH
from .corpus import AnnotationBias, FacesConfig, FacesTwins, load_faces, load_twins
from .preview import write_preview

__all__ = [
    "EXPRESSIONS",
    "PROTECTED_ATTRIBUTES",
    "NUISANCE_ATTRIBUTES",
    "MONK_SKIN_TONE_SWATCHES",
    "SKIN_TONE_SWATCH",
    "AnnotationBias",
    "FacesConfig",
    "FacesTwins",
    "load_faces",
    "load_twins",
    "write_preview",
]
