"""The duck-typed ``cv2.Feature2D`` contract that every cvlearned feature honours.

OpenCV's C++ cannot call a Python subclass of ``cv2.Feature2D``, so cvlearned mirrors the
Python-visible behaviour of ``cv2.SIFT`` instead: same method names, argument order,
return types (tuples of ``cv2.KeyPoint``; when nothing was found, the descriptors the
installed OpenCV's SIFT returns: ``None`` in 4.x, an empty ``(0, D)`` array in 5.x) and
list variants. Subclasses implement three hooks on an already validated (H, W) uint8 gray
image: :meth:`_detect`, :meth:`_compute` and optionally :meth:`_detect_and_compute`.
"""

from __future__ import annotations

import copy
import os
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import cv2
import numpy as np

from cvlearned.config import FeatureConfig, build_config, config_to_dict, typed_field_value
from cvlearned.cv_compat import descriptor_dtype, sift_empty_is_none
from cvlearned.image_input import as_gray_uint8, as_keypoint_tuple, as_mask, from_tensor
from cvlearned.keypoints import describable_keypoints, replace_keypoint, scale_keypoints

Keypoints = tuple[cv2.KeyPoint, ...]
_NONE_MARKER = "__none__"
_UNIT = (1.0, 1.0)  # how a ``None`` parameter is stored in cv2.FileStorage


class Feature2D:
    """Base class: validation, list variants, ``max_side`` resizing and persistence.

    Class attributes set by subclasses:
        config_class: the frozen dataclass of parameters.
        algorithm_name: short name, e.g. ``"SIFT"``; ``getDefaultName()`` is
            ``"Feature2D." + algorithm_name``.
    """

    config_class: ClassVar[type[FeatureConfig]] = FeatureConfig
    algorithm_name: ClassVar[str] = "Feature2D"
    #: ``compute`` passes keypoints with size <= 0 to ``_compute`` (which sizes them itself)
    describes_unsized_keypoints: ClassVar[bool] = False

    def __init__(self, config: FeatureConfig | None = None, **params: Any) -> None:
        if config is not None and params:
            raise TypeError("pass either a config object or keyword parameters, not both")
        if config is None:
            config = build_config(self.config_class, params)
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"config must be a {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.config = config
        self._configure()

    # ------------------------------------------------------------------ hooks
    def _configure(self) -> None:
        """(Re)build internal state from ``self.config``."""

    def _detect(self, gray: np.ndarray, mask: np.ndarray | None) -> Keypoints:
        raise NotImplementedError(f"{type(self).__name__} cannot detect keypoints")

    def _compute(self, gray: np.ndarray, keypoints: Keypoints) -> tuple[Keypoints, np.ndarray | None]:
        raise NotImplementedError(f"{type(self).__name__} cannot compute descriptors")

    def _detect_and_compute(
        self, gray: np.ndarray, mask: np.ndarray | None
    ) -> tuple[Keypoints, np.ndarray | None]:
        keypoints = self._detect(gray, mask)
        if not keypoints:
            return (), None
        return self._compute(gray, keypoints)

    def _detect_and_compute_many(
        self, grays: Sequence[np.ndarray], masks: Sequence[np.ndarray | None]
    ) -> list[tuple[Keypoints, np.ndarray | None]]:
        """:meth:`_detect_and_compute` of several images (the list form of
        :meth:`detectAndCompute`); network features override it to run equal-size images
        through the network as one batch."""
        return [self._detect_and_compute(gray, mask) for gray, mask in zip(grays, masks)]

    def _no_descriptors(self) -> np.ndarray | None:
        """The descriptors of an empty result, as the installed OpenCV's SIFT returns them."""
        if sift_empty_is_none():
            return None
        return np.empty((0, self.descriptorSize()), descriptor_dtype(self.descriptorType()))

    # ------------------------------------------------------------ public API
    def detect(self, image: Any, mask: Any = None, *, masks: Any = None) -> Keypoints | tuple[Keypoints, ...]:
        """Detect keypoints: image (H, W[, C]) → tuple of ``cv2.KeyPoint``.

        A list of images (with an optional list of ``masks``) gives a tuple of tuples, as
        OpenCV's binding does. A torch tensor (H, W) or (C, H, W) is one image, a
        (B, C, H, W) tensor a list of B images (:func:`~cvlearned.image_input.from_tensor`:
        C = 1 gray or 3 RGB; results equal those of the same numpy images).
        """
        if masks is not None:
            if mask is not None:
                raise TypeError("pass mask or masks, not both")
            mask = masks
        image = from_tensor(image)
        if isinstance(image, (list, tuple)):
            masks = _per_image(mask, len(image), "masks")
            return tuple(cast(Keypoints, self.detect(im, m)) for im, m in zip(image, masks))
        gray, scale = self._prepare(image)
        mask_arr = self._prepare_mask(mask, image, gray, scale)
        keypoints = self._detect(gray, mask_arr)
        return _unscale(keypoints, scale)

    def compute(
        self, image: Any, keypoints: Any, descriptors: Any = None
    ) -> tuple[Keypoints, np.ndarray | None] | tuple[tuple[Keypoints, ...], tuple[np.ndarray | None, ...]]:
        """Describe given keypoints: → (kept keypoints, (N, D) descriptors).

        Keypoints that cannot be described are dropped, as OpenCV drops border keypoints:
        a centre outside [0, W-1] x [0, H-1] (pixel centres of the full image), a size
        that is not finite or not in (0, 1e9] (HardNet sizes size <= 0 itself), a NaN or
        infinite angle, and what the feature itself cannot use (e.g. a SIFT ``octave``
        outside its pyramid). Angles are described as ``angle % 360`` (-1 = none) and
        returned so. After ``max_side`` downscaling, keypoints are clamped into the small
        image, so border keypoints are still described; they keep their given position.
        Images, lists of images and torch tensors are accepted as by :meth:`detect`.

        Raises:
            TypeError: ``keypoints`` is not a sequence of ``cv2.KeyPoint``.
            ValueError: a keypoint has a NaN or infinite position (or a bad image).
        """
        image = from_tensor(image)
        if isinstance(image, (list, tuple)):
            if not isinstance(keypoints, (list, tuple)) or len(keypoints) != len(image):
                raise ValueError("compute on a list of images needs a list of keypoint sequences of the same length")
            results = [cast(tuple[Keypoints, np.ndarray | None], self.compute(im, kps))
                       for im, kps in zip(image, keypoints)]
            return tuple(r[0] for r in results), tuple(r[1] for r in results)
        keypoints = as_keypoint_tuple(keypoints)
        gray, scale = self._prepare(image)
        usable = describable_keypoints(keypoints, _image_shape(image), self.describes_unsized_keypoints)
        if not usable:
            return (), self._no_descriptors()
        small = _scale_down(usable, scale, gray.shape)
        kept, desc = self._compute(gray, small)
        return _unscale(kept, scale, (usable, small)), self._finish_descriptors(kept, desc)

    def detectAndCompute(  # noqa: N802 (OpenCV naming)
        self,
        image: Any,
        mask: Any,
        descriptors: Any = None,
        useProvidedKeypoints: bool = False,  # noqa: N803
        keypoints: Any = None,
    ) -> tuple[Keypoints, np.ndarray | None]:
        """Detect and describe: → (keypoints, (N, D) descriptors).

        When nothing is found the descriptors are what the installed OpenCV's SIFT returns
        (``None`` in OpenCV 4.x, an empty ``(0, D)`` array in 5.x).

        ``useProvidedKeypoints=True`` needs ``keypoints=`` (OpenCV's Python binding cannot
        pass them) and is then the same as :meth:`compute`.

        A list of images (with ``mask`` None or a list of masks) gives a tuple of keypoint
        tuples and a tuple of descriptors, one per image, like the list form of ``compute``;
        so does a (B, C, H, W) torch tensor (tensors as in :meth:`detect`).
        """
        if useProvidedKeypoints:
            if keypoints is None:
                raise ValueError("useProvidedKeypoints=True needs keypoints=...")
            return self.compute(image, keypoints)  # type: ignore[return-value]
        image = from_tensor(image)
        if isinstance(image, (list, tuple)):
            masks = _per_image(mask, len(image), "mask")
            prepared = [self._prepare(im) for im in image]
            mask_arrs = [self._prepare_mask(m, im, gray, scale) for m, im, (gray, scale) in zip(masks, image, prepared)]
            results = self._detect_and_compute_many([gray for gray, _ in prepared], mask_arrs)
            kps = tuple(_unscale(kept, scale) for (kept, _), (_, scale) in zip(results, prepared))
            descs = tuple(self._finish_descriptors(kept, desc) for kept, desc in results)
            return kps, descs  # type: ignore[return-value]  # the list form (see the docstring)
        gray, scale = self._prepare(image)
        mask_arr = self._prepare_mask(mask, image, gray, scale)
        kept, desc = self._detect_and_compute(gray, mask_arr)
        return _unscale(kept, scale), self._finish_descriptors(kept, desc)

    def _finish_descriptors(self, keypoints: Sequence[cv2.KeyPoint], desc: np.ndarray | None) -> np.ndarray | None:
        if desc is None or len(keypoints) == 0:
            return self._no_descriptors()
        if desc.shape[0] != len(keypoints):
            raise RuntimeError(f"internal error: {desc.shape[0]} descriptors for {len(keypoints)} keypoints")
        return np.ascontiguousarray(desc)

    # ------------------------------------------------------ cv2.Algorithm API
    def descriptorSize(self) -> int:  # noqa: N802
        raise NotImplementedError

    def descriptorType(self) -> int:  # noqa: N802
        return cv2.CV_32F

    def defaultNorm(self) -> int:  # noqa: N802
        return cv2.NORM_L2

    def getDefaultName(self) -> str:  # noqa: N802
        return f"Feature2D.{self.algorithm_name}"

    def empty(self) -> bool:
        """False once the feature is ready to run (weights loaded)."""
        return False

    def write(self, fs: cv2.FileStorage | str | os.PathLike, name: str | None = None) -> None:
        """Write the parameters to a ``cv2.FileStorage`` (or a new file by name)."""
        if isinstance(fs, (str, os.PathLike)):
            storage = cv2.FileStorage(os.fspath(fs), cv2.FILE_STORAGE_WRITE)
            try:
                self._write_fields(storage)
            finally:
                storage.release()
            return
        if name:
            fs.startWriteStruct(name, cv2.FileNode_MAP)
            self._write_fields(fs)
            fs.endWriteStruct()
        else:
            self._write_fields(fs)

    def read(self, fn: cv2.FileNode | cv2.FileStorage | str | os.PathLike) -> None:
        """Read parameters written by :meth:`write` and rebuild the feature.

        All or nothing: the stored values are type-checked (:func:`typed_field_value`) and
        validated as constructor parameters, and the new state is built aside and swapped in
        at once, so a failed ``read()`` leaves the feature exactly as it was and a concurrent
        call never sees half of it. Keys the file lacks keep their current values.

        Raises:
            ValueError: unreadable file, parameters of another feature, an unknown key, or
                a value of the wrong type or out of range.
            TypeError: ``fn`` is not a FileNode, FileStorage or path.
        """
        if isinstance(fn, (str, os.PathLike)):
            storage = _open_for_reading(os.fspath(fn))
            try:
                config = self._read_fields(storage.root())
            finally:
                storage.release()
        elif isinstance(fn, (cv2.FileStorage, cv2.FileNode)):
            config = self._read_fields(fn.root() if isinstance(fn, cv2.FileStorage) else fn)
        else:
            raise TypeError(f"read() takes a cv2.FileNode, cv2.FileStorage or path, got {type(fn).__name__}")
        self._swap_in(config)

    def _swap_in(self, config: FeatureConfig) -> None:
        """Build the state for ``config`` on a shallow copy, then replace this object's state by
        it in one assignment: on any error nothing changes, and a concurrent call sees the
        old or the new state."""
        fresh = copy.copy(self)
        fresh.config = config
        try:
            fresh._configure()
        except cv2.error as exc:  # OpenCV refusing a parameter combination
            raise ValueError(f"cannot apply the parameters read: {exc}") from exc
        self.__dict__ = fresh.__dict__

    def save(self, filename: str | os.PathLike) -> None:
        """Same as ``write(filename)`` (``cv2.Algorithm.save``)."""
        self.write(filename)

    def getParams(self) -> dict[str, Any]:  # noqa: N802
        """The parameters as a dict (field name → value)."""
        return config_to_dict(self.config)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in config_to_dict(self.config).items())
        return f"{type(self).__name__}({params})"

    # -------------------------------------------------------------- internals
    def _prepare(self, image: Any) -> tuple[np.ndarray, tuple[float, float]]:
        """Gray uint8 image, downscaled to ``max_side``; returns it and its (sx, sy) scale."""
        gray = as_gray_uint8(image)
        max_side = self.config.max_side
        longest = max(gray.shape)
        if max_side is None or longest <= max_side:
            return gray, _UNIT
        scale = max_side / longest
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        return small, (size[0] / gray.shape[1], size[1] / gray.shape[0])

    def _prepare_mask(
        self, mask: Any, image: Any, gray: np.ndarray, scale: tuple[float, float]
    ) -> np.ndarray | None:
        mask_arr = as_mask(mask, _image_shape(image))
        if mask_arr is None or scale == _UNIT:
            return mask_arr
        return cv2.resize(mask_arr, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)

    def _encode_field(self, key: str, value: Any) -> Any:
        """The value :meth:`write` stores for parameter ``key`` (subclasses map objects to names)."""
        return value

    def _decode_field(self, key: str, item: cv2.FileNode, old: Any) -> Any:
        """The parameter value :meth:`read` restores from a stored ``item`` (``old`` = current),
        of the field's declared type (ValueError otherwise)."""
        return typed_field_value(self.config_class, key, _decode_value(item, key))

    def _write_fields(self, fs: cv2.FileStorage) -> None:
        fs.write("name", self.getDefaultName())
        for key, value in config_to_dict(self.config).items():
            value = self._encode_field(key, value)
            if value is None:
                fs.write(key, _NONE_MARKER)
            elif isinstance(value, bool):
                fs.write(key, int(value))
            else:
                fs.write(key, value)

    def _read_fields(self, node: cv2.FileNode) -> FeatureConfig:
        """The complete, validated config stored in the map ``node`` (missing keys: current values)."""
        current = config_to_dict(self.config)
        keys = list(node.keys()) if node.isMap() else []
        if not set(keys) & set(current):
            raise ValueError(
                f"no {self.getDefaultName()} parameters found (expected keys {list(current)}, "
                f"found {keys}); pass the FileNode of the struct written by write(fs, name)"
            )
        unknown = sorted(set(keys) - set(current) - {"name"})
        if unknown:
            raise ValueError(f"unknown key(s) {unknown} in the stored {self.getDefaultName()} parameters; "
                             f"valid keys: {['name', *current]}")
        if "name" in keys:
            stored_name = _decode_value(node.getNode("name"), "name")
            if stored_name != self.getDefaultName():
                raise ValueError(f"parameters are for {stored_name!r}, not {self.getDefaultName()!r}")
        params = {key: self._decode_field(key, node.getNode(key), old) for key, old in current.items() if key in keys}
        return build_config(self.config_class, {**current, **params})


def _open_for_reading(path: str) -> cv2.FileStorage:
    """An open ``cv2.FileStorage`` of ``path``; ValueError when it is missing or not YAML/XML/JSON."""
    try:
        storage = cv2.FileStorage(path, cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as exc:  # a parse error surfaces as SystemError caused by cv2.error
        reason = str(exc.__cause__ or exc).strip()
        raise ValueError(f"cannot parse {path!r} as an OpenCV FileStorage file (YAML, XML or JSON): {reason}") from exc
    if not storage.isOpened():
        raise ValueError(f"cannot open {path!r} for reading")
    return storage


def _decode_value(item: cv2.FileNode, key: str) -> Any:
    """The scalar stored in ``item``: None (stored as the None marker), a str, an int or a float.

    Raises:
        ValueError: ``item`` holds a sequence, a map or nothing.
    """
    if item.isString():
        text = item.string()
        return None if text == _NONE_MARKER else text
    if item.isInt():
        return int(item.real())
    if item.isReal():
        return item.real()
    held = "a sequence" if item.isSeq() else "a map" if item.isMap() else "nothing"
    raise ValueError(f"{key} must be stored as a single value (None as {_NONE_MARKER!r}), got {held}")


def _per_image(value: Any, count: int, argname: str) -> Sequence[Any]:
    if value is None:
        return [None] * count
    if not isinstance(value, (list, tuple)) or len(value) != count:
        raise ValueError(f"{argname} must be None or a list with one entry per image ({count})")
    return value


def _image_shape(image: Any) -> tuple[int, int]:
    """(H, W) of an image already accepted by :func:`as_gray_uint8`."""
    return np.shape(image.get() if isinstance(image, cv2.UMat) else image)[:2]


def _scale_down(keypoints: Keypoints, scale: tuple[float, float], shape: tuple[int, ...]) -> Keypoints:
    """Full-image keypoints mapped to the downscaled (H, W) image and clamped into it, so a
    keypoint on the border of the full image stays describable."""
    if scale == _UNIT:
        return keypoints
    height, width = shape[:2]
    return tuple(
        replace_keypoint(kp, x=min(max(kp.pt[0], 0.0), width - 1.0), y=min(max(kp.pt[1], 0.0), height - 1.0))
        for kp in scale_keypoints(keypoints, *scale)
    )


def _unscale(
    keypoints: Sequence[cv2.KeyPoint], scale: tuple[float, float], given: tuple[Keypoints, Keypoints] | None = None
) -> Keypoints:
    """Keypoints of the downscaled image mapped back to the full one.

    ``given`` = (full-image keypoints, their :func:`_scale_down` copies) of a ``compute``: a
    kept keypoint at the position of a copy takes back its full-image position (the first
    unused one among copies at that position, in order), so given keypoints keep theirs.
    """
    if scale == _UNIT:
        return tuple(keypoints)
    mapped = scale_keypoints(keypoints, 1.0 / scale[0], 1.0 / scale[1])
    if given is None:
        return mapped
    sources: dict[Sequence[float], list[Sequence[float]]] = defaultdict(list)  # KeyPoint.pt: (x, y)
    for full, small in zip(*given):
        sources[small.pt].append(full.pt)
    restored = []
    for kp, back in zip(keypoints, mapped):
        queue = sources.get(kp.pt)
        restored.append(replace_keypoint(back, *queue.pop(0)) if queue else back)
    return tuple(restored)
