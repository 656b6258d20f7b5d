"""Where the learned SFC module's time goes on this CPU, against the FLOP rates dense sampling and a plain
matrix product reach here.

    python -m scripts.attention_report

The learned module with untrained weights (its cost only, as `sfc="untrained"` runs it) on SlowOnly-R50's
head output for the default 64-frame clip at 256 px (the real head, random weights, on a random clip:
512 x 64 x 32 x 32), fed as many positions at a time as the head's default chunk yields (one): `compress`
timed (best of RUNS after a warm-up) and its FLOPs counted (`profiling.count_flops`). Then its attention
alone (8192 queries over 16384 pooled keys, 128 wide, the keys laid out as `compress` stores them) through
`sfc.chunked_attention` at several query-chunk sizes, beside PyTorch's fused `scaled_dot_product_attention`
(its flash kernel, which returns no weights: SFC's heatmaps are built from the weights, so it shows what a
fused kernel would give, not an option). For scale: one dense view of the network on PyTorch (channels-last,
as requests run it) and a 2048x2048 float32 matrix product (`stream_report.matmul_flops_per_s`), in the
same run.

For a target of TARGET x the FLOPs ratio in time (SFC against dense one view at a time), the whole SFC
request must run its FLOPs at TARGET x dense sampling's rate; if the head and tail ran at dense's rate, the
module alone would need `required_module_rate`. Writes benchmarks/attention-cpu-2core/report.json and
report.md.
"""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F

import sfc_core
from scripts.bench_reports import BENCHMARKS
from scripts.stream_report import best_time, matmul_flops_per_s
from sfc_core.environment import environment
from sfc_core.profiling import count_flops
from sfc_core.sfc import SFCOutput, chunked_attention

OUT = BENCHMARKS / "attention-cpu-2core"
RUNS = 5
QUERY_CHUNKS = (64, 128, 256, 512)
TARGET = 0.95  # SFC's time ratio over dense one view at a time, as a share of its FLOPs ratio
MODEL = "slowonly_r50"


def rate(flops: int, seconds: float) -> dict[str, float]:
    """A measured row: FLOPs, best time, and the FLOP rate they make."""
    return {"flops": flops, "time_s": seconds, "flops_per_s": flops / seconds}


def required_module_rate(module_flops: int, head_tail_flops: int, dense_rate: float, target: float = TARGET) -> float:
    """The module's FLOP rate at which head + tail (at `dense_rate`) + module run at `target` x `dense_rate`."""
    total = module_flops + head_tail_flops
    return module_flops / (total / (target * dense_rate) - head_tail_flops / dense_rate)


def main() -> None:
    torch.manual_seed(0)
    model = sfc_core.load(MODEL, backbone="random", sfc="untrained", device="cpu")
    with torch.inference_mode():
        result = measure(model)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(result, indent=1))
    (OUT / "report.md").write_text(to_markdown(result))
    print(to_markdown(result))


def measure(model: sfc_core.SFCModel) -> dict:
    """Every row of the report, measured on `model`'s head output for a random clip."""
    spec, settings = model.config.input_spec, model.settings
    backbone = model.backbone.eval().to(memory_format=torch.channels_last_3d)
    head, tail = backbone.split(settings.split)
    module = model.sfc.eval()

    view = torch.randn(1, 3, spec.frames, spec.crop, spec.crop).contiguous(memory_format=torch.channels_last_3d)
    _, view_flops = count_flops(lambda: backbone(view))
    dense = rate(view_flops, best_time(lambda: backbone(view), RUNS))

    clip = torch.randn(1, 3, settings.length, spec.crop, spec.crop).contiguous(memory_format=torch.channels_last_3d)
    features, head_flops = count_flops(lambda: head(clip))
    step = max(1, (settings.head_chunk_frames or settings.length) // model.geometry.stride)  # positions a head step

    def compress() -> SFCOutput:
        return module.compress(iter(features.split(step, dim=2)), features.shape[2])

    out, module_flops = count_flops(compress)
    _, tail_flops = count_flops(lambda: tail(out.features))
    module_rate = rate(module_flops, best_time(compress, RUNS))

    frames, height, width = features.shape[2:]
    queries = settings.keep * (height // module.spatial_stride) * (width // module.spatial_stride)
    keys = frames * -(-height // module.kv_stride) * -(-width // module.kv_stride)
    channels = module.abstraction_channels
    q, v = torch.randn(1, queries, channels), torch.randn(1, keys, channels)
    k = torch.randn(1, channels, keys).transpose(1, 2)  # stored transposed, as `compress` stores its keys
    attention_flops = 4 * queries * keys * channels  # the two products: queries x keys, then weights x values
    chunks = {str(chunk): rate(attention_flops, best_time(lambda c=chunk: chunked_attention(q, k, v, c * keys), RUNS))
              for chunk in QUERY_CHUNKS}
    q4, k4, v4 = (x[:, None] for x in (q, k.contiguous(), v))  # (B, heads, N, D): the fused kernel's layout
    fused = rate(attention_flops, best_time(lambda: F.scaled_dot_product_attention(q4, k4, v4), RUNS))

    return {
        "command": "python -m scripts.attention_report", "environment": environment(), "runs": RUNS,
        "model": MODEL, "keep": settings.keep, "positions_per_step": step, "target": TARGET,
        "features_shape": list(features.shape), "queries": queries, "keys": keys, "attention_width": channels,
        "matmul_flops_per_s": matmul_flops_per_s(), "dense_view": dense, "module_compress": module_rate,
        "head_flops": head_flops, "tail_flops": tail_flops,
        "attention_by_query_chunk": chunks, "attention_fused_no_weights": fused,
        "required_module_rate": required_module_rate(module_flops, head_flops + tail_flops, dense["flops_per_s"]),
    }


def _gflops(value: float) -> str:
    return f"{value / 1e9:.1f}"


def to_markdown(result: dict) -> str:
    env = result["environment"]
    channels, frames, height, width = result["features_shape"][1:]
    rows = [(f"one dense view of {result['model']} (PyTorch, channels-last)", result["dense_view"]),
            (f"the learned module's `compress`, {result['positions_per_step']} position(s) at a time (untrained "
             "weights)", result["module_compress"])]
    rows += [(f"its attention alone, {chunk} queries per chunk (`chunked_attention`)", measured)
             for chunk, measured in result["attention_by_query_chunk"].items()]
    rows.append(("fused `scaled_dot_product_attention` (returns no weights: no heatmap)",
                 result["attention_fused_no_weights"]))
    measured, required = result["module_compress"]["flops_per_s"], result["required_module_rate"]
    lines = ["# The learned SFC module's FLOP rate on a CPU", "",
             f"On {env['cpu']} ({env['cpu_cores']} cores, {env['torch_threads']} threads, torch {env['torch']}): "
             f"{result['model']}'s head output for a {frames}-frame clip ({channels} x {frames} x {height} x "
             f"{width}), keep {result['keep']}; the attention: {result['queries']} queries over {result['keys']} "
             f"pooled keys, {result['attention_width']} wide. Best of {result['runs']} after a warm-up. "
             f"A 2048x2048 float32 matrix product runs at {_gflops(result['matmul_flops_per_s'])} GFLOP/s here. "
             f"Regenerate: `{result['command']}`.", "",
             "| what | GFLOPs | time (s) | GFLOP/s |", "|---|---|---|---|"]
    lines += [f"| {name} | {m['flops'] / 1e9:.1f} | {m['time_s']:.3f} | {_gflops(m['flops_per_s'])} |"
              for name, m in rows]
    lines += ["", f"For SFC's time ratio to reach {result['target']}x its FLOPs ratio (against dense one view at a "
              f"time), with the head ({result['head_flops'] / 1e9:.0f} GFLOPs) and tail "
              f"({result['tail_flops'] / 1e9:.0f} GFLOPs) at dense's rate, the module would need "
              f"{_gflops(required)} GFLOP/s; it ran at {_gflops(measured)} ({measured / required:.2f} of that)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
