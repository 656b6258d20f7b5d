"""The app served for real on 127.0.0.1 and called through gradio_client, as an outside tool would."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from app.ui import AnalysisOutputs, build_demo
from sfc_core.resources import EXAMPLES_DIR
from sfc_core.video import probe

pytestmark = pytest.mark.slow  # a served app called through gradio_client

EXAMPLE = EXAMPLES_DIR / "grow.mp4"


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
    named = dict(zip([name for name in AnalysisOutputs._fields if name != "clip"], outputs, strict=True))
    sfc_top5, heatmap_video, report = named["sfc_top5"], named["heatmap_video"], named["report"]
    assert named["over_time"] == []  # a 5.6 s example: one window
    assert sfc_top5["label"] == "grow"
    assert report["sfc"]["top5"][0][0] == sfc_top5["label"]
    assert report["settings"] == {"length": 64, "split": "res3", "keep": 8, "spatial_stride": 1, "clips": 10,
                                  "crops": 3, "batch_size": 1,  # dense: one view at a time on a CPU
                                  "repeats": 1, "head_chunk_frames": 8, "precision": "fp32", "measure": "full",
                                  "backend": "torch"}
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


STRATEGY_KEEP = {"sfc": 8, "change": 4, "distinctiveness": 4, "energy": 6, "uniform": 4, "random": 5, "oracle": 8}


def test_explore_every_strategy_in_the_same_session_without_the_head(url: str) -> None:
    import time

    client = Client(url, verbose=False)
    report = client.predict(handle_file(str(EXAMPLE)), api_name="/analyze")[-1]
    for strategy, keep in STRATEGY_KEEP.items():
        begin = time.perf_counter()
        *_, answer = client.predict(strategy, keep, "", api_name="/explore")
        round_trip = time.perf_counter() - begin
        assert answer["strategy"] == strategy and len(answer["kept_frames"]) == keep
        assert len(answer["top5"]) == 5 and answer["time_s"] < round_trip < 10
        if strategy == "sfc":  # at its own keep, exactly what /analyze answered
            assert answer["kept_frames"] == report["sfc"]["kept_frames"] and answer["top5"] == report["sfc"]["top5"]
    frames = report["sfc"]["position_frames"]
    *_, manual = client.predict("manual", 3, f"{frames[2]}, {frames[20] + 1}", api_name="/explore")
    assert manual["strategy"] == "manual" and manual["kept_frames"] == [frames[2], frames[20]]
    with pytest.raises(Exception, match="frame numbers"):
        client.predict("manual", 3, "two, five", api_name="/explore")
    # the seed as README shows it (a number) and as the page sends it (text); empty draws anew
    first = client.predict("random", 8, "", 1234, api_name="/explore")[-1]
    again = client.predict("random", 8, "", "1234", api_name="/explore")[-1]
    fresh = client.predict("random", 8, "", "", api_name="/explore")[-1]
    assert first["seed"] == again["seed"] == 1234 and first["kept_positions"] == again["kept_positions"]
    assert fresh["seed"] is not None


def test_explore_before_analyze_says_what_to_do(url: str) -> None:
    with pytest.raises(Exception, match="Run an analysis first"):
        Client(url, verbose=False).predict("uniform", 4, "", api_name="/explore")


def test_two_sessions_never_see_each_others_clip(url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    clips = {"grow": EXAMPLES_DIR / "grow.mp4", "bounce": EXAMPLES_DIR / "bounce.mp4"}
    clients = {name: Client(url, verbose=False) for name in clips}

    def session(name: str) -> tuple[dict, dict]:
        report = clients[name].predict(handle_file(str(clips[name])), api_name="/analyze")[-1]
        return report, clients[name].predict("sfc", 8, "", api_name="/explore")[-1]

    with ThreadPoolExecutor(2) as pool:
        answers = dict(zip(clips, pool.map(session, clips)))
    for name, (report, explored) in answers.items():
        assert explored["kept_frames"] == report["sfc"]["kept_frames"] and explored["top5"][0][0] == name
    assert answers["grow"][1]["kept_frames"] != answers["bounce"][1]["kept_frames"]
