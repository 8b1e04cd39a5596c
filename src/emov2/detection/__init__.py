"""Object detection and instance segmentation on EMOv2 backbones (torchvision SSDLite, RetinaNet, Mask R-CNN)."""

from .backbone import EMOv2Features, EMOv2FPN
from .factory import DETECTORS, create_detector

__all__ = ["DETECTORS", "EMOv2FPN", "EMOv2Features", "create_detector"]
