"""Checkpoint download, cache and verification, against real checkpoint files served on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
from pathlib import Path

import pytest
import torch

from sfc_core import models, weights
from sfc_core.cli import weights as weights_cli
from sfc_core.models import registry
from sfc_core.models.registry import WeightsSpec
from sfc_core.sfc import SFC, load_sfc, save_sfc
from tests.references import randomize_
from tests.weights_server import serve


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("SFC_WEIGHTS_DIR", str(directory))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return directory


@pytest.fixture
def published(tmp_path) -> tuple[Path, torch.nn.Module]:
    """A folder as a publisher would serve it: a tiny backbone in pytorchvideo's layout, also
    under a torchvision-style name carrying its own SHA-256 prefix."""
    folder = tmp_path / "published"
    folder.mkdir()
    model = randomize_(models.create("tiny"), seed=11)
    torch.save({"model_state": model.state_dict(), "epoch": 196}, folder / "TINY.pyth")
    digest = hashlib.sha256((folder / "TINY.pyth").read_bytes()).hexdigest()
    (folder / f"tiny-{digest[:8]}.pth").write_bytes((folder / "TINY.pyth").read_bytes())
    (folder / "tiny-0badf00d.pth").write_bytes((folder / "TINY.pyth").read_bytes())  # name lies
    return folder, model


def _hashed_name(folder: Path) -> str:
    return next(p.name for p in folder.glob("tiny-*.pth") if "0badf00d" not in p.name)


def _same_outputs(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    x = torch.randn(1, 3, 16, 64, 64)
    with torch.no_grad():
        return torch.equal(a(x), b(x))


def test_download_verifies_name_hash_caches_and_reports_progress(cache, published) -> None:
    folder, model = published
    name = _hashed_name(folder)
    seen = []
    with serve(folder) as (url, requests):
        spec = WeightsSpec(url=f"{url}/{name}")
        path = weights.fetch(spec, progress=lambda done, total: seen.append((done, total)))
        again = weights.fetch(spec)
    assert path == again == cache / name
    assert requests == [f"/{name}"]  # the second call used the cache
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert weights.verification(spec) == "SHA-256 prefix in the file name"
    assert (cache / f"{name}.sha256").read_text().strip() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert _same_outputs(models.create("tiny", weights=path), model)


def test_full_sha256_and_exact_size_are_checked(cache, published) -> None:
    folder, _ = published
    data = (folder / "TINY.pyth").read_bytes()
    with serve(folder) as (url, _):
        good = WeightsSpec(url=f"{url}/TINY.pyth", sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
        assert weights.fetch(good).read_bytes() == data
        (cache / "TINY.pyth").unlink()
        wrong_hash = dataclasses.replace(good, sha256="0" * 64)
        with pytest.raises(weights.WeightsError, match="did not verify and was deleted: .*not the registry's 000000"):
            weights.fetch(wrong_hash)
        assert not (cache / "TINY.pyth").exists()
        wrong_size = dataclasses.replace(good, sha256=None, size_bytes=len(data) + 1)
        with pytest.raises(weights.WeightsError, match=f"is {len(data)} bytes, expected {len(data) + 1}"):
            weights.fetch(wrong_size)


def test_corrupted_file_is_rejected_and_not_cached(cache, published) -> None:
    folder, _ = published
    with serve(folder) as (url, _), pytest.raises(weights.WeightsError, match="not the file name's 0badf00d"):
        weights.fetch(WeightsSpec(url=f"{url}/tiny-0badf00d.pth"))
    assert list(cache.iterdir()) == []


def test_truncated_download_leaves_nothing_behind(cache, published) -> None:
    folder, _ = published
    with serve(folder) as (url, _), pytest.raises(weights.WeightsError, match="stopped after .*run again to retry"):
        weights.fetch(WeightsSpec(url=f"{url}/truncated/TINY.pyth"))
    assert list(cache.iterdir()) == []  # no partial file that could pass for a whole one


def test_missing_file_says_404(cache, published) -> None:
    folder, _ = published
    with serve(folder) as (url, _), pytest.raises(weights.WeightsError, match="answered 404 .*not there"):
        weights.fetch(WeightsSpec(url=f"{url}/NOPE.pyth"))


def test_offline_says_so_and_what_to_do(cache) -> None:
    with socket.socket() as sock:  # a port on which nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(weights.WeightsError, match="you seem to be offline.*copy the file from .* by hand"):
        weights.fetch(WeightsSpec(url=f"http://127.0.0.1:{port}/X3D_S.pyth"))


def test_disk_full_says_where_and_what_to_do(cache, published, monkeypatch) -> None:
    folder, _ = published
    monkeypatch.setattr(weights.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 10})())
    with serve(folder) as (url, _), pytest.raises(weights.WeightsError, match="no space left in .*SFC_WEIGHTS_DIR"):
        weights.fetch(WeightsSpec(url=f"{url}/TINY.pyth"))


def test_unhashed_download_is_pinned_and_later_tampering_caught(cache, published) -> None:
    folder, _ = published
    with serve(folder) as (url, _):
        spec = WeightsSpec(url=f"{url}/TINY.pyth")
        path = weights.fetch(spec)
    assert weights.verification(spec).startswith("SHA-256 recorded at first download")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(weights.WeightsError, match="not the one recorded at download.*Delete"):
        weights.fetch(spec)


def test_registered_backbone_downloads_and_loads(cache, published, monkeypatch) -> None:
    folder, model = published
    with serve(folder) as (url, _):
        config = dataclasses.replace(
            models.get_config("tiny"), name="tiny_published", weights=WeightsSpec(url=f"{url}/TINY.pyth")
        )
        monkeypatch.setitem(registry._REGISTRY, "tiny_published", config)
        assert _same_outputs(weights.published_backbone("tiny_published")[0], model)
        # A checkpoint of another architecture downloads fine but must not stay in the cache.
        torch.save(models.create("r3d_18").state_dict(), folder / "R3D.pth")
        wrong = dataclasses.replace(config, name="tiny_wrong", weights=WeightsSpec(url=f"{url}/R3D.pth"))
        monkeypatch.setitem(registry._REGISTRY, "tiny_wrong", wrong)
        with pytest.raises(weights.WeightsError, match="does not load as tiny_wrong and was deleted"):
            weights.published_backbone("tiny_wrong")
    assert not (cache / "R3D.pth").exists() and not (cache / "R3D.pth.sha256").exists()


def test_cli_download_prints_hash_and_fails_cleanly_offline(cache, published, monkeypatch, capsys) -> None:
    folder, _ = published
    with serve(folder) as (url, _):
        config = dataclasses.replace(models.get_config("tiny"), name="tiny_cli",
                                     weights=WeightsSpec(url=f"{url}/TINY.pyth"))
        monkeypatch.setitem(registry._REGISTRY, "tiny_cli", config)
        assert weights_cli.main(["download", "tiny_cli"]) == 0
    digest = hashlib.sha256((folder / "TINY.pyth").read_bytes()).hexdigest()
    assert f"sha256={digest}" in capsys.readouterr().out
    (cache / "TINY.pyth").unlink()
    assert weights_cli.main(["download", "tiny_cli"]) == 2  # the server is gone now
    assert "offline" in capsys.readouterr().err


def test_hugging_face_hub_file_and_local_path(cache, tmp_path, monkeypatch) -> None:
    hub = tmp_path / "hub"
    (hub / "someone/sfc-weights/resolve/main/tiny").mkdir(parents=True)
    module = SFC(channels=32, keep=4)
    torch.nn.init.normal_(module.out.weight)
    save_sfc(hub / "someone/sfc-weights/resolve/main/tiny/sfc.pth", module, {"backbone": "tiny"})
    with serve(hub) as (url, requests):
        monkeypatch.setenv("HF_ENDPOINT", url)
        path = weights.resolve("hf://someone/sfc-weights/tiny/sfc.pth")
    assert requests == ["/someone/sfc-weights/resolve/main/tiny/sfc.pth"]
    assert path.is_relative_to(tmp_path / "hf")
    loaded, meta = load_sfc(path)
    assert meta == {"backbone": "tiny"} and torch.equal(loaded.out.weight, module.out.weight)
    assert weights.resolve(path) == path  # a local path is used as is
    with pytest.raises(weights.WeightsError, match="checkpoint not found"):
        weights.resolve(tmp_path / "nothing.pth")
    with pytest.raises(weights.WeightsError, match="is not hf://owner/repo/path/to/file"):
        weights.resolve("hf://only-owner/file.pth")


def test_ddp_prefixed_checkpoint_loads(tmp_path) -> None:
    model = randomize_(models.create("tiny"), seed=12)
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, tmp_path / "ddp.pth")
    assert _same_outputs(models.create("tiny", weights=tmp_path / "ddp.pth"), model)


def test_every_kinetics_model_is_registered_with_its_publisher_url() -> None:
    expected = {
        "slowonly_r50": "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/SLOW_8x8_R50.pyth",
        "r2plus1d_18": "https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth",
        "r3d_18": "https://download.pytorch.org/models/r3d_18-b3b3357e.pth",
        "x3d_s": "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/X3D_S.pyth",
        "x3d_m": "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/X3D_M.pyth",
    }
    for name, url in expected.items():
        config = models.get_config(name)
        assert config.weights.url == url and config.label_set == "kinetics400" and config.weights.download_mb
