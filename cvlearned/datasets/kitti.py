"""KITTI odometry loader (Geiger et al., CVPR 2012).

Layout (as the official zips extract, optionally under ``dataset/``)::

    sequences/XX/image_0/000000.png ...   left grey camera (image_1 right, image_2/3 colour)
    sequences/XX/calib.txt                lines "P0: 12 numbers" ... (3x4 rectified projections)
    poses/XX.txt                          per frame 12 numbers = 3x4 T_w_cam0 (sequences 00-10)

Camera c sees ``X_c = X_cam0 + b_c`` with ``b_c = inv(K_c) @ P_c[:, 3]`` (rectified rig), so
``K = P_c[:3, :3]`` and pair poses follow from ``T_1_0 = inv(T_w_1) @ T_w_0``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .pair_list import PairList, PoseRecord, limit_records


def _find_root(root: Path) -> Path:
    if not (root / "sequences").is_dir() and (root / "dataset" / "sequences").is_dir():
        return root / "dataset"
    return root


def read_kitti_calib(path: str | Path) -> dict[str, np.ndarray]:
    """``calib.txt`` -> {"P0": (3, 4), ..., "Tr": (3, 4)} float64."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"KITTI calibration file not found: {path}")
    calib: dict[str, np.ndarray] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, rest = line.partition(":")
        try:
            values = np.array([float(v) for v in rest.split()])
        except ValueError:
            values = np.zeros(0)
        if not sep or values.size != 12:
            raise ValueError(f"{path}:{lineno}: expected 'NAME: 12 numbers'")
        calib[key.strip()] = values.reshape(3, 4)
    return calib


def read_kitti_poses(path: str | Path) -> np.ndarray:
    """``poses/XX.txt`` -> (N, 4, 4) float64 camera-to-world poses T_w_cam0."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"KITTI poses file not found: {path} (ground truth exists for sequences 00-10)"
        )
    poses = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values = np.array([float(v) for v in line.split()])
        except ValueError:
            values = np.zeros(0)
        if values.size != 12:
            raise ValueError(f"{path}:{lineno}: expected 12 numbers (3x4 pose)")
        poses.append(np.vstack([values.reshape(3, 4), [0.0, 0.0, 0.0, 1.0]]))
    return np.array(poses).reshape(-1, 4, 4)


def load_kitti_pairs(
    root: str | Path,
    sequence: str | int = "00",
    frame_gap: int = 1,
    max_pairs: int | None = None,
    step: int = 1,
    camera: int = 0,
) -> PairList:
    """Pairs (i, i + frame_gap), i = 0, step, 2*step, ... as PosePair (``X1 = R @ X0 + t``).

    Args:
        root: folder with ``sequences/`` and ``poses/`` (or its parent holding ``dataset/``).
        sequence: "00".."21" (ground-truth poses exist for 00-10).
        frame_gap: frame distance inside a pair (>= 1).
        max_pairs: keep the first ``max_pairs`` pairs.
        step: distance between the first frames of consecutive pairs (>= 1).
        camera: 0..3 -> ``image_<camera>`` with ``P<camera>`` (0 = left grey).
    """
    if frame_gap < 1 or step < 1:
        raise ValueError(f"frame_gap and step must be >= 1, got {frame_gap}, {step}")
    if camera not in (0, 1, 2, 3):
        raise ValueError(f"camera must be 0..3, got {camera}")
    limit_records([], max_pairs)
    root = _find_root(Path(root))
    seq = f"{int(sequence):02d}" if str(sequence).isdigit() else str(sequence)
    seq_dir = root / "sequences" / seq
    P = read_kitti_calib(seq_dir / "calib.txt").get(f"P{camera}")
    if P is None:
        raise ValueError(f"{seq_dir / 'calib.txt'}: no P{camera} line")
    K = P[:, :3].copy()
    T_c_0 = np.eye(4)
    T_c_0[:3, 3] = np.linalg.solve(K, P[:, 3])  # X_c = X_cam0 + b
    T_w_c = read_kitti_poses(root / "poses" / f"{seq}.txt") @ np.linalg.inv(T_c_0)

    image_dir = seq_dir / f"image_{camera}"
    records: list[PoseRecord] = []
    for i in range(0, len(T_w_c) - frame_gap, step):
        if max_pairs is not None and len(records) >= max_pairs:
            break
        j = i + frame_gap
        T_1_0 = np.linalg.inv(T_w_c[j]) @ T_w_c[i]
        records.append(
            PoseRecord(
                name=f"kitti{seq}/{i:06d}-{j:06d}",
                path0=image_dir / f"{i:06d}.png",
                path1=image_dir / f"{j:06d}.png",
                K0=K,
                K1=K,
                R=T_1_0[:3, :3].copy(),
                t=T_1_0[:3, 3].copy(),
            )
        )
    return PairList(records, name=f"kitti-{seq}", root=root)
