"""Structure-from-motion on folders of images: ``cvlearned data reconstruct``.

Each scene (a folder of images) → pycolmap feature extraction, exhaustive or sequential
matching with geometric verification, incremental mapping → the largest model, written
as plain files under ``<out>/<scene>/`` (layout and conventions:
:mod:`cvlearned.reconstruction_io`; read back with :func:`load_reconstruction`).

- ``feature="sift"``: COLMAP's own SIFT, matcher and verifier; camera model
  ``camera_model`` (default SIMPLE_RADIAL: focal, centred principal point, one radial term),
  shared by all images with ``single_camera``, else per COLMAP's AUTO mode (images of one
  size and EXIF focal length share a camera; without EXIF each image has its own).
- any other registered feature: ``cvlearned extract`` / ``cvlearned match`` files
  (``features.h5``, ``matches.h5`` in the scene folder), essential-matrix RANSAC, then the
  COLMAP adapter (:mod:`cvlearned.adapters.colmap`); a pinhole camera (no distortion).

In both cases the focal length starts at 1.2 x the longest side and is refined; keypoints
stay in original pixels even with ``max_side``. A scene whose ``summary.json`` exists is
skipped (resume); a scene without one (interrupted, or failed with an error) or whose
number of images changed is redone from scratch. Scenes with fewer than 2 images or no model get a summary saying so.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from cvlearned.adapters import colmap
from cvlearned.reconstruction_database import feature_database, sift_database
from cvlearned.reconstruction_io import (
    CAMERA_MODELS,
    Reconstruction,
    load_reconstruction,
    read_summary,
    write_json,
    write_reconstruction,
)
from cvlearned.synthetic.photos import IMAGE_EXTENSIONS

__all__ = ["ReconstructOptions", "SceneImages", "SceneReport", "Reconstruction", "find_scenes",
           "load_reconstruction", "reconstruct_scene", "reconstruct_scenes"]

PathLike = str | os.PathLike
MATCHERS = ("exhaustive", "sequential")
#: files and folders a scene run writes (removed before a scene is redone)
SCENE_OUTPUTS = ("database.db", "features.h5", "matches.h5", "models", "sparse", "cameras.json",
                 "images.json", "points.h5", "summary.json")
#: smallest model COLMAP keeps (its default, 10, hides small models from the report)
MIN_MODEL_SIZE = 3
#: options that must agree for a finished scene to be reused
RESUME_KEYS = ("feature", "matcher", "window", "max_side", "camera_model", "single_camera")


@dataclass(frozen=True)
class ReconstructOptions:
    """How to reconstruct each scene (see the module docstring)."""

    feature: str = "sift"
    matcher: str = "exhaustive"  # or "sequential": each image with the next ``window`` ones
    window: int = 10
    max_side: int | None = None  # longest image side used for extraction
    camera_model: str = "SIMPLE_RADIAL"  # COLMAP model of the "sift" path
    single_camera: bool = False  # "sift" path: one camera for all images (else COLMAP's AUTO)
    descriptor_matcher: str = "mnn"  # matcher of the other features (cvlearned.list_matchers())
    seed: int = 0
    num_threads: int = -1

    def __post_init__(self) -> None:
        from cvlearned.registry import feature_spec

        object.__setattr__(self, "feature", feature_spec(self.feature).name)  # ValueError: unknown name
        if self.matcher not in MATCHERS:
            raise ValueError(f"matcher must be one of {', '.join(MATCHERS)}, got {self.matcher!r}")
        if self.camera_model not in CAMERA_MODELS:
            raise ValueError(f"camera_model must be one of {', '.join(CAMERA_MODELS)}, got {self.camera_model!r}")
        for name in ("window", "max_side"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}")


@dataclass(frozen=True)
class SceneImages:
    """One scene: its ``name``, the folder of its images and their (sorted) file names."""

    name: str
    image_dir: Path
    image_names: tuple[str, ...]


@dataclass
class SceneReport:
    """Outcome of one scene: its summary (``summary.json``) and whether it was reused."""

    name: str
    summary: dict[str, Any]
    skipped: bool = False
    out_dir: Path = field(default_factory=Path)

    @property
    def status(self) -> str:
        return str(self.summary["status"])

    def describe(self) -> str:
        """One console line: counts, or why there is no model; unregistered images named."""
        s = self.summary
        head = f"{self.name}: " + ("already done, " if self.skipped else "")
        if s["status"] != "ok":
            return head + f"{s['status']}: {s.get('message', '')}"
        text = (head + f"registered {s['num_registered']}/{s['num_images']} images, {s['num_points3D']} points, "
                f"mean track length {s['mean_track_length']:.2f}, "
                f"mean reprojection error {s['mean_reprojection_error']:.3f} px")
        unregistered = s["unregistered"]
        if unregistered:
            text += f"; unregistered: {', '.join(unregistered[:10])}" + (" ..." if len(unregistered) > 10 else "")
        if s["other_models"]:
            sizes = ", ".join(str(len(m)) for m in s["other_models"])
            text += f"; {len(s['other_models'])} smaller model(s) dropped ({sizes} images)"
        return text


# ----------------------------------------------------------------------------- scenes


def _image_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _scene_at(folder: Path) -> SceneImages | None:
    """``folder`` as a scene: its own images, else those of ``folder/images``; None if neither.
    A folder named ``images`` gives its scene its parent's name."""
    folder = folder.resolve()
    for image_dir in (folder, folder / "images"):
        if image_dir.is_dir():
            names = _image_names(image_dir)
            if names:
                name = folder.parent.name if folder.name == "images" else folder.name
                return SceneImages(name, image_dir, tuple(names))
    return None


def find_scenes(path: PathLike) -> list[SceneImages]:
    """The scenes of ``path``: ``path`` itself when it (or ``path/images``) holds images,
    else every sub-folder that does (``<scene>/*.jpg`` or ``<scene>/images/*.jpg``), by name."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist")
    scene = _scene_at(root)
    if scene is not None:
        return [scene]
    scenes = [s for s in (_scene_at(d) for d in sorted(root.iterdir()) if d.is_dir()) if s is not None]
    if not scenes:
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {root}, {root}/images "
                         f"or its sub-folders")
    return scenes


# ----------------------------------------------------------------------------- mapping


def _other_models(models_dir: Path, kept: Any) -> list[list[str]]:
    """Registered image names of each model COLMAP made besides ``kept``, largest first."""
    pycolmap = colmap.import_pycolmap()
    models = [list(colmap.summarize(pycolmap.Reconstruction(str(d))).registered_names)
              for d in models_dir.iterdir() if d.is_dir()]
    kept_names = list(colmap.summarize(kept).registered_names)
    return sorted((m for m in models if m != kept_names), key=len, reverse=True)


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: undefined means (no points) become null."""
    return float(value) if np.isfinite(value) else None


def _model_summary(rec: Any, scene: SceneImages, other_models: list[list[str]]) -> dict[str, Any]:
    s = colmap.summarize(rec, len(scene.image_names))
    registered = set(s.registered_names)
    out = {"num_images": s.num_images, "num_registered": s.num_registered,
           "unregistered": [n for n in scene.image_names if n not in registered],
           "num_points3D": s.num_points3D, "mean_track_length": _finite_or_none(s.mean_track_length),
           "mean_reprojection_error": _finite_or_none(s.mean_reprojection_error), "other_models": other_models}
    if rec is None or not s.num_registered:
        out.update(status="no_model", message=f"COLMAP registered none of the {s.num_images} images "
                                              "(too little overlap or texture)")
    else:
        out["status"] = "ok"
    return out


def _run_scene(scene: SceneImages, out: Path, options: ReconstructOptions, bar: tqdm,
               progress: bool) -> dict[str, Any]:
    """The stages of one scene; returns the summary fields they produce."""
    seconds: dict[str, float] = {}

    def stage(name: str) -> None:
        bar.set_postfix_str(name)
        seconds[name] = time.perf_counter()

    def done(name: str) -> None:
        seconds[name] = round(time.perf_counter() - seconds[name], 3)
        bar.update()

    stage("features+matching")
    if options.feature == "sift":
        frames = sift_database(scene, out / "database.db", options)
    else:
        frames = feature_database(scene, out, options, progress)
    done("features+matching")
    stage("mapping")
    mapping = colmap.mapping_options(refine_intrinsics=True, num_threads=options.num_threads, seed=options.seed)
    mapping.min_model_size = MIN_MODEL_SIZE
    rec = colmap.reconstruct(out / "database.db", scene.image_dir, out / "models", mapping)
    other = _other_models(out / "models", rec)
    done("mapping")
    stage("export")
    summary = _model_summary(rec, scene, other)
    if summary["status"] == "ok":
        write_reconstruction(rec, out, frames)
    shutil.rmtree(out / "models", ignore_errors=True)
    done("export")
    return {**summary, "seconds": seconds}


def _check_resumable(summary: dict[str, Any], options: ReconstructOptions, out: Path) -> None:
    previous = summary.get("options", {})
    changed = [k for k in RESUME_KEYS if previous.get(k) != getattr(options, k)]
    if changed:
        was = ", ".join(f"{k}={previous.get(k)!r}" for k in changed)
        raise ValueError(f"{out} was reconstructed with other options ({was}); delete it or choose another --out")


def _clear(out: Path) -> None:
    for name in SCENE_OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def reconstruct_scene(scene: SceneImages, out_dir: PathLike, options: ReconstructOptions = ReconstructOptions(),
                      progress: bool = False, verbose: bool = False) -> SceneReport:
    """Reconstruct ``scene`` into ``out_dir`` (the scene's own folder) and write its files.

    ``summary.json`` holds ``status`` ("ok", "too_few_images", "no_model" or "error"),
    ``message``, ``num_images``, ``num_registered``, ``unregistered`` (names),
    ``num_points3D``, ``mean_track_length``, ``mean_reprojection_error`` (px),
    ``other_models`` (image names of each smaller model COLMAP also made, >= 3 images),
    ``seconds`` per stage, ``image_dir`` and ``options``. Errors of COLMAP or of the images
    are reported in the summary (status "error"), not raised; the scene is then redone by
    the next run, as is one whose number of images changed. Otherwise a finished scene is
    skipped (ValueError if its options differ).
    """
    out = Path(out_dir)
    previous = read_summary(out)
    if previous is not None and previous.get("status") != "error" \
            and previous.get("num_images") == len(scene.image_names):
        _check_resumable(previous, options, out)
        return SceneReport(scene.name, previous, skipped=True, out_dir=out)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    base = {"scene": scene.name, "image_dir": str(scene.image_dir.resolve()), "options": asdict(options)}
    if len(scene.image_names) < 2:
        summary = {**base, "status": "too_few_images", "num_images": len(scene.image_names), "num_registered": 0,
                   "unregistered": list(scene.image_names),
                   "message": f"{len(scene.image_names)} image(s); at least 2 are needed"}
    else:
        with tqdm(total=3, desc=scene.name, unit="stage", leave=False, disable=not progress) as bar, \
                colmap.colmap_log(verbose):
            try:
                summary = {**base, **_run_scene(scene, out, options, bar, progress)}
            except (RuntimeError, ValueError, OSError, KeyError) as exc:
                summary = {**base, "status": "error", "num_images": len(scene.image_names), "num_registered": 0,
                           "unregistered": list(scene.image_names), "message": f"{type(exc).__name__}: {exc}"}
    write_json(out / "summary.json", summary)
    return SceneReport(scene.name, summary, out_dir=out)


def reconstruct_scenes(
    path: PathLike, out_dir: PathLike, options: ReconstructOptions = ReconstructOptions(),
    progress: bool = False, verbose: bool = False, report: Callable[[SceneReport], None] | None = None,
    scenes: Sequence[SceneImages] | None = None,
) -> list[SceneReport]:
    """Every scene of ``path`` (:func:`find_scenes`, or ``scenes``) into ``out_dir/<scene>/``;
    ``report`` is called with each scene's outcome as soon as it is known."""
    scenes = find_scenes(path) if scenes is None else list(scenes)
    reports = []
    for scene in tqdm(scenes, desc="scenes", unit="scene", disable=not progress):
        reports.append(reconstruct_scene(scene, Path(out_dir) / scene.name, options, progress, verbose))
        if report is not None:
            report(reports[-1])
    return reports
