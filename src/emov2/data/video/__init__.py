"""Video data: decoding (TorchCodec, PyAV fallback), Kinetics-style folders and mmaction2 list files,
UniformSample clips, the V-EMOv2 clip transforms, a collate function that skips unreadable videos (batches come
from the engine's ``EpochLoader``), the embedded moving Fashion-MNIST set and contact sheets.

Needs the ``video`` extra (``pip install "emov2[video]"``: PyAV; TorchCodec is used when it is installed and
finds the system FFmpeg libraries).
"""

from .collate import SkippedVideos, collate_clips
from .contact_sheet import contact_sheet, save_contact_sheet
from .datasets import VIDEO_EXTENSIONS, BadVideo, VideoClipDataset, read_video_list, scan_video_folder
from .decode import (
    VideoDecodeError,
    VideoInfo,
    available_backends,
    num_frames,
    open_video,
    read_frames,
    resolve_backend,
    video_info,
)
from .encode import write_video
from .sampling import uniform_sample
from .synthetic import MOTION_CLASSES, make_videos
from .transforms import (
    VIDEO_MEAN,
    VIDEO_STD,
    ThreeCrop,
    build_video_eval_transform,
    build_video_train_transform,
    clip_to_frames,
)

__all__ = [
    "MOTION_CLASSES",
    "VIDEO_EXTENSIONS",
    "VIDEO_MEAN",
    "VIDEO_STD",
    "BadVideo",
    "ThreeCrop",
    "VideoClipDataset",
    "VideoDecodeError",
    "SkippedVideos",
    "VideoInfo",
    "available_backends",
    "build_video_eval_transform",
    "build_video_train_transform",
    "clip_to_frames",
    "collate_clips",
    "contact_sheet",
    "make_videos",
    "num_frames",
    "open_video",
    "read_frames",
    "read_video_list",
    "resolve_backend",
    "save_contact_sheet",
    "scan_video_folder",
    "uniform_sample",
    "video_info",
    "write_video",
]
