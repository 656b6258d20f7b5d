"""Published checkpoints: download once, cache, verify, and explain every failure (`sfc-weights` lists
and downloads them).

Registered backbones download from their publisher's URL into torch's hub cache
(`$TORCH_HOME/hub/checkpoints`, the file torchvision/pytorchvideo would use too), or
`$SFC_WEIGHTS_DIR` when set. SFC checkpoints may also be a local path, an http(s) URL or a
Hugging Face Hub file `hf://owner/repo/path/file.pth[@revision]` (cached under `$HF_HOME`,
endpoint `$HF_ENDPOINT`). `$SFC_WEIGHTS_MIRROR` points registered downloads at a mirror.

Verification, strongest available first: the full SHA-256 in the registry; the hash prefix the
publisher embeds in the file name (torchvision's `r3d_18-b3b3357e.pth`); the exact size. When the
publisher gives none of these (pytorchvideo's model zoo), the SHA-256 is recorded next to the
file at download and every later load is checked against it, and `models.create` refuses any
checkpoint whose keys or shapes differ from the architecture.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import http.client
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import torch

from .errors import WeightsError
from .models import StagedBackbone, WeightsSpec, create, get_config

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)
CHUNK_BYTES = 1 << 20
TIMEOUT_S = 30.0
_NAME_HASH = re.compile(r"-([0-9a-f]{8,64})\.[^.]+$")
_DOWNLOADING = threading.Lock()


def cache_dir() -> Path:
    override = os.environ.get("SFC_WEIGHTS_DIR")
    return Path(override) if override else Path(torch.hub.get_dir()) / "checkpoints"


def hf_cache_dir() -> Path:
    return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "sfc-studio"


def file_name(url: str) -> str:
    return Path(urlparse(url).path).name


def verification(spec: WeightsSpec) -> str:
    """How a download of `spec` is verified, in words (for the CLI, the app and the docs)."""
    if spec.sha256:
        return "full SHA-256"
    if _NAME_HASH.search(file_name(spec.url)):
        return "SHA-256 prefix in the file name"
    if spec.size_bytes:
        return "exact size"
    return "SHA-256 recorded at first download + exact key/shape check"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _pin_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def verify(path: Path, spec: WeightsSpec) -> str:
    """Check `path` against `spec` (see the module docstring); returns its SHA-256."""
    digest = sha256_of(path)
    prefix = _NAME_HASH.search(file_name(spec.url))
    pinned = _pin_path(path).read_text().strip() if _pin_path(path).exists() else None
    if spec.sha256:
        expected, how = spec.sha256, "the registry's"
    elif prefix:
        expected, how = prefix.group(1), "the file name's"
    elif pinned:
        expected, how = pinned, "the one recorded at download"
    else:
        expected, how = None, ""
    if expected is not None and not digest.startswith(expected.lower()):
        raise WeightsError(
            f"{path.name} has SHA-256 {digest[:12]}..., not {how} {expected[:12]}...: the file is corrupt or "
            f"was replaced. Delete {path} and run again to download it afresh."
        )
    if spec.size_bytes is not None and path.stat().st_size != spec.size_bytes:
        raise WeightsError(
            f"{path.name} is {path.stat().st_size} bytes, expected {spec.size_bytes}: the file is incomplete or "
            f"was replaced. Delete {path} and run again to download it afresh."
        )
    return digest


def _download(url: str, target: Path, progress: Progress | None) -> None:
    """Stream `url` to `target` through a `.part` file, so an interrupted download never looks whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    host = urlparse(url).netloc
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            total = int(response.headers["Content-Length"]) if response.headers.get("Content-Length") else None
            if total is not None and shutil.disk_usage(target.parent).free < total:
                raise OSError(errno.ENOSPC, "not enough free space")
            done = 0
            with open(partial, "wb") as handle:
                while block := response.read(CHUNK_BYTES):
                    handle.write(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
        if total is not None and done != total:
            raise WeightsError(f"the download of {url} stopped after {done} of {total} bytes; run again to retry")
        os.replace(partial, target)
    except http.client.IncompleteRead as error:
        raise WeightsError(
            f"the download of {url} stopped after {len(error.partial)} bytes of the current block (the connection "
            "closed early); run again to retry"
        ) from None
    except urllib.error.HTTPError as error:
        raise WeightsError(
            f"{url} answered {error.code} {error.reason}: the checkpoint is not there (moved or misspelt). "
            "Download it by hand and pass its path instead."
        ) from None
    except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise WeightsError(
            f"cannot reach {host} to download {target.name} ({reason}): you seem to be offline. Connect, or copy "
            f"the file from {url} to {target} by hand. The embedded model works offline."
        ) from None
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise WeightsError(
                f"no space left in {target.parent} for {target.name}: free some space, or set SFC_WEIGHTS_DIR to a "
                "folder on a disk with room"
            ) from None
        raise WeightsError(f"cannot write {target} ({error.strerror or error})") from None
    finally:
        partial.unlink(missing_ok=True)


def fetch(spec: WeightsSpec, directory: Path | None = None, progress: Progress | None = None) -> Path:
    """The verified local copy of `spec`, downloading it first if it is not cached."""
    path = (directory or cache_dir()) / file_name(spec.url)
    with _DOWNLOADING:  # two threads (two app users) asking for one file must not both write it
        if not path.exists():
            _pin_path(path).unlink(missing_ok=True)  # a record from an earlier, deleted copy
            _download(spec.url, path, progress)
            try:
                digest = verify(path, spec)
            except WeightsError as error:
                path.unlink(missing_ok=True)
                raise WeightsError(f"downloaded {path.name} did not verify and was deleted: {error}") from None
            _pin_path(path).write_text(digest + "\n")
            return path
    verify(path, spec)
    return path


def is_cached(spec: WeightsSpec) -> bool:
    return (cache_dir() / file_name(spec.url)).exists()


def backbone_weights(name: str, progress: Progress | None = None) -> Path:
    """The published checkpoint of registered backbone `name`, downloaded and verified.

    `$SFC_WEIGHTS_MIRROR` (a base URL) serves the same file names instead of the publisher, for
    machines that reach only an internal mirror; verification is unchanged."""
    spec = get_config(name).weights
    if spec is None:
        raise WeightsError(f"{name} has no published checkpoint in the registry; pass a checkpoint path")
    mirror = os.environ.get("SFC_WEIGHTS_MIRROR")
    if mirror:
        spec = dataclasses.replace(spec, url=f"{mirror.rstrip('/')}/{file_name(spec.url)}")
    return fetch(spec, progress=progress)


def published_backbone(name: str, progress: Progress | None = None) -> tuple[StagedBackbone, Path]:
    """Backbone `name` with its published weights (downloaded and verified on first use), and their file.
    Verified bytes that do not load as this architecture are deleted, so the next try downloads afresh."""
    path = backbone_weights(name, progress)
    try:
        return create(name, weights=path), path
    except WeightsError as error:
        path.unlink(missing_ok=True)
        _pin_path(path).unlink(missing_ok=True)
        raise WeightsError(
            f"{path.name} does not load as {name} and was deleted ({error}); run again to retry"
        ) from None


def resolve(source: str | Path, progress: Progress | None = None) -> Path:
    """A local checkpoint for `source`: a path, an http(s) URL, or `hf://owner/repo/file[@revision]`."""
    text = str(source)
    if text.startswith("hf://"):
        location, _, revision = text[len("hf://") :].partition("@")
        parts = location.split("/")
        if len(parts) < 3 or not all(parts):
            raise WeightsError(f"{text} is not hf://owner/repo/path/to/file")
        repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
        url = f"{endpoint}/{repo}/resolve/{revision or 'main'}/{filename}"
        directory = hf_cache_dir() / repo / (revision or "main") / Path(filename).parent
        return fetch(WeightsSpec(url=url), directory=directory, progress=progress)
    if text.startswith(("http://", "https://")):
        return fetch(WeightsSpec(url=text), directory=cache_dir() / "urls", progress=progress)
    path = Path(source).expanduser()
    if not path.is_file():
        raise WeightsError(f"checkpoint not found: {path}")
    return path
