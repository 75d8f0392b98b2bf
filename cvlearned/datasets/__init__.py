"""Ground-truth image pairs: types, lazy dataset loaders and downloads.

Every loader returns a :class:`PairList`, a lazily loading sequence: ``len(pairs)``,
``pairs[i]`` (reads the two images now, returns a HomographyPair or PosePair),
``pairs[a:b]`` (a smaller PairList) and ``pairs.name``.

Loaders:

- :func:`load_pairs_txt` - generic ``pairs.txt`` (pose with/without distortion, 4x4 pose,
  homography); :func:`write_pairs_txt` writes it back.
- :func:`load_hpatches` - HPatches sequences (homographies, viewpoint/illumination).
- :func:`load_kitti_pairs` - KITTI odometry (poses from the ground-truth trajectories).
- :func:`load_scannet1500`, :func:`load_megadepth1500` - SuperGlue/LoFTR/glue-factory pair lists.

Downloads: :data:`DATASETS`, :func:`download`, :func:`list_datasets`, :func:`data_command`.
Conventions (``X1 = R @ X0 + t``, BGR uint8, pixel centres) are described in ``types``.
"""

from .download import (
    DATASETS,
    DatasetSpec,
    ManualDownloadRequired,
    RemoteFile,
    UnsafeArchiveError,
    data_command,
    download,
    extract_archive,
    list_datasets,
)
from .hpatches import load_hpatches
from .kitti import load_kitti_pairs
from .pair_list import HomographyRecord, PairList, PoseRecord, read_image, scale_matrix
from .pairs_txt import load_pairs_txt, write_pairs_txt
from .scannet_megadepth import SCANNET_PROTOCOL_SIZE, load_megadepth1500, load_scannet1500
from .types import HomographyPair, PosePair

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "HomographyPair",
    "HomographyRecord",
    "ManualDownloadRequired",
    "PairList",
    "PosePair",
    "PoseRecord",
    "RemoteFile",
    "SCANNET_PROTOCOL_SIZE",
    "UnsafeArchiveError",
    "data_command",
    "download",
    "extract_archive",
    "list_datasets",
    "load_hpatches",
    "load_kitti_pairs",
    "load_megadepth1500",
    "load_pairs_txt",
    "load_scannet1500",
    "read_image",
    "scale_matrix",
    "write_pairs_txt",
]
