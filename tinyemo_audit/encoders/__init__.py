"""Frozen vision encoders behind one interface, faces-mini LiT training, and the feature cache."""

from .base import Encoder
from .cache import dataset_fingerprint, encode_dataset, feature_cache_path
from .faces_mini import FacesMiniConfig, FacesMiniEncoder
from .hf import HFVisionEncoder
from .known import KnownEncoder, known_encoders, list_known_encoders
from .lit import train_faces_mini
from .registry import ENCODERS, resolve_encoder

__all__ = [
    "ENCODERS",
    "Encoder",
    "FacesMiniConfig",
    "FacesMiniEncoder",
    "HFVisionEncoder",
    "KnownEncoder",
    "dataset_fingerprint",
    "encode_dataset",
    "feature_cache_path",
    "known_encoders",
    "list_known_encoders",
    "resolve_encoder",
    "train_faces_mini",
]
