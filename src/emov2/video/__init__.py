"""Video recognition on the engine: V-EMOv2 (and the frame-averaged 2-D baseline) on Kinetics-style folders or
mmaction2 list files; ``emov2 video train | eval | predict``."""

from .config import VideoConfig
from .evaluate import evaluate_video
from .inference import eval_transform_for, predict_video, video_model_from_info
from .task import VideoTask, video_param_groups

__all__ = ["VideoConfig", "VideoTask", "eval_transform_for", "evaluate_video", "predict_video",
           "video_model_from_info", "video_param_groups"]
