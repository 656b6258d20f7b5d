"""The app served for real on 127.0.0.1 and called through gradio_client, as an outside tool would."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from app import analysis
from app.ui import build_demo
from sfc_core.video import probe

EXAMPLE = analysis.EXAMPLES_DIR / "grow.mp4"


@pytest.fixture(scope="module")
def url():
    demo = build_demo()
    _, local_url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield local_url
    finally:
        demo.close()


def test_analyze_endpoint_with_just_a_video(url: str) -> None:
    client = Client(url, verbose=False)
    outputs = client.predict(handle_file(str(EXAMPLE)), api_name="/analyze")
    summary, sfc_top5, dense_top5, table, *_, heatmap_video, explanations, report = outputs
    assert sfc_top5["label"] == "grow"
    assert report["sfc"]["top5"][0][0] == sfc_top5["label"]
    assert report["settings"] == {"length": 64, "split": "res3", "keep": 8, "spatial_stride": 1, "clips": 10,
                                  "crops": 3, "batch_size": 1,  # dense: one view at a time on a CPU
                                  "repeats": 1, "head_chunk_frames": 16, "precision": "fp32", "measure": "full"}
    assert report["provenance"]["sfc"] == {"kind": "trained", "source": "tiny_synth_sfc.pth", "verified": None}
    for key in ("top5", "model_time_s", "decode_time_s", "peak_memory_bytes", "flops", "device"):
        assert key in report["dense"] and key in report["sfc"]
    assert probe(heatmap_video).codec == "h264"  # the client downloads the served file


def test_bad_file_through_the_api_is_an_app_error_with_the_message(url: str, tmp_path: Path) -> None:
    bad = tmp_path / "image.mp4"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="could not be read as a video|still image"):
        client.predict(handle_file(str(bad)), api_name="/analyze")
