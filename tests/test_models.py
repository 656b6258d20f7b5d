"""Backbones: parity with the reference implementations, exact head/tail split, registry."""

from __future__ import annotations

import pytest
import torch

from sfc_core import models
from sfc_core.errors import ConfigError, WeightsError
from tests.marks import slow_cases
from tests.references import pytorchvideo_hub, randomize_, torchvision_video_models


def _relative_logit_diff(ours: torch.nn.Module, reference: torch.nn.Module, x: torch.Tensor) -> float:
    """The largest difference of the two networks' logits relative to their scale, in float64. In float32,
    rounding (which differs with the CPU's vector width and with how many threads split the work) moved a
    random SlowOnly's logits by 0.02, too much to tell from a real difference. In float64 both run the
    standard convolution; the float32 kernel the models run (`layers.Conv3d`) is compared with it in
    test_batch_one_takes_the_fast_kernel_with_the_same_result_and_flop_count."""
    result = ours.load_state_dict(reference.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    with torch.no_grad():
        expected = reference.double()(x.double())
        return ((ours.double()(x.double()) - expected).abs().max() / expected.abs().max()).item()


@pytest.mark.parametrize("name", slow_cases(["r2plus1d_18", "r3d_18"], {"r2plus1d_18"}))
def test_video_resnet_matches_torchvision(name: str) -> None:
    reference = randomize_(getattr(torchvision_video_models(), name)(), seed=1)
    ours = models.create(name)
    assert ours.state_dict().keys() == reference.state_dict().keys()
    x = torch.randn(1, 3, 8, 64, 64)  # every layer at work, down to 1 x 4 x 4 positions
    assert _relative_logit_diff(ours, reference, x) < 1e-10


@pytest.mark.parametrize("size", slow_cases([224, 256], {256}))
def test_slowonly_matches_pytorchvideo_slow_r50(size: int) -> None:
    reference = randomize_(pytorchvideo_hub().slow_r50(pretrained=False), seed=2)
    ours = models.create("slowonly_r50")
    assert ours.state_dict().keys() == reference.state_dict().keys()
    x = torch.randn(1, 3, 8, size, size)
    assert _relative_logit_diff(ours, reference, x) < 1e-10


@pytest.mark.parametrize(("name", "size"), slow_cases([("x3d_s", 160), ("x3d_s", 182), ("x3d_m", 224), ("x3d_m", 256)],
                                                   {("x3d_s", 182), ("x3d_m", 224), ("x3d_m", 256)}))
def test_x3d_matches_pytorchvideo(name: str, size: int) -> None:
    """pytorchvideo's X3D ends in a softmax averaged over positions; ours returns its log. Compared in
    float64: random X3D features reach ~1e4, where float32 rounding alone (which differs between CPUs'
    vector widths) moves log-probabilities by ~1e-4."""
    reference = randomize_(getattr(pytorchvideo_hub(), name)(pretrained=False), seed=5)
    with torch.no_grad():  # random X3D features are large (~1e4): keep the softmax away from one-hot
        reference.blocks[5].proj.weight.mul_(1e-4)
    ours = models.create(name)
    assert ours.state_dict().keys() == reference.state_dict().keys()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, models.get_config(name).input_spec.frames, size, size, dtype=torch.float64)
    with torch.no_grad():
        log_p_ours, log_p_reference = ours.double()(x).log_softmax(1), reference.double()(x).log()
    assert log_p_reference.std() > 0.5 and log_p_reference.max() > -3  # neither uniform nor one-hot
    assert (log_p_ours - log_p_reference).abs().max().item() < 1e-9


@pytest.mark.parametrize("name", slow_cases(models.list_models(),
                                             {"slowonly_r50", "r2plus1d_18", "r3d_18", "x3d_s", "x3d_m"}))
def test_head_tail_split_is_exact_at_every_stage(name: str) -> None:
    spec = models.get_config(name).input_spec
    model = randomize_(models.create(name), seed=3)
    x = torch.randn(1, 3, spec.frames, spec.crop, spec.crop)
    with torch.no_grad():
        full = model(x)
        for stage in model.stage_names[:-1]:
            head, tail = model.split(stage)
            assert torch.equal(tail(head(x)), full), stage


def test_split_shares_parameters_and_rejects_unknown_stage() -> None:
    model = models.create("tiny")
    head, tail = model.split("res3")
    model_params = {id(p) for p in model.parameters()}
    assert {id(p) for p in head.parameters()} | {id(p) for p in tail.parameters()} == model_params
    with pytest.raises(ConfigError, match="cannot split after 'classifier'"):
        model.split("classifier")


def test_create_loads_publisher_checkpoint_layout(tmp_path) -> None:
    source = randomize_(models.create("tiny"), seed=4)
    path = tmp_path / "ckpt.pyth"
    torch.save({"model_state": source.state_dict(), "epoch": 3}, path)  # pytorchvideo's layout
    loaded = models.create("tiny", weights=path)
    x = torch.randn(1, 3, 16, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x), source(x))


def test_create_rejects_checkpoint_of_another_model(tmp_path) -> None:
    path = tmp_path / "other.pth"
    torch.save(models.create("tiny").state_dict(), path)
    with pytest.raises(WeightsError, match="does not fit r3d_18"):
        models.create("r3d_18", weights=path)


def test_registry_entries_have_labels_for_every_class() -> None:
    for name in models.list_models():
        config = models.get_config(name)
        assert len(config.labels()) == config.num_classes
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        models.get_config("nope")


class _NotATensor:
    pass


def test_checkpoints_load_only_with_weights_only(tmp_path) -> None:
    path = tmp_path / "pickled_object.pth"
    torch.save({"model_state": {"w": torch.ones(1)}, "extra": _NotATensor()}, path)
    with pytest.raises(WeightsError, match="is not a readable PyTorch checkpoint"):
        models.load_state_dict_file(path)


@pytest.mark.parametrize("name", slow_cases(["tiny", "r2plus1d_18", "x3d_s"], {"r2plus1d_18"}))
def test_batch_one_takes_the_fast_kernel_with_the_same_result_and_flop_count(name: str) -> None:
    """PyTorch's heuristic sends small batch-1 3D convolutions to the slow reference kernel; ours
    always takes oneDNN. Same outputs as nn.Conv3d, and FLOPs still counted (deep copy with plain convs)."""
    import copy

    from torch.profiler import ProfilerActivity, profile

    from sfc_core.models.layers import Conv3d
    from sfc_core.profiling import count_flops

    model = randomize_(models.create(name), seed=3)
    plain = copy.deepcopy(model)
    for module in plain.modules():
        if isinstance(module, Conv3d):
            module.__class__ = torch.nn.Conv3d
    spec = models.get_config(name).input_spec
    x = torch.randn(1, 3, spec.frames, 64, 64)
    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as trace:
        ours = model(x)
    kernels = {event.key for event in trace.key_averages()}
    assert "aten::slow_conv3d_forward" not in kernels and "aten::mkldnn_convolution" in kernels
    with torch.inference_mode():
        torch.testing.assert_close(ours.softmax(1), plain(x).softmax(1), atol=1e-5, rtol=1e-4)
        assert count_flops(lambda: model(x))[1] == count_flops(lambda: plain(x))[1] > 0
