"""Fuzzing the probe/decode entry points with mutated real video bytes: every case ends, quickly,
in a result or a `VideoError`; never another exception, never a hang."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfc_core.video import VideoError, decode_frames, probe
from tests.clips import write_noise_clip

pytestmark = pytest.mark.slow  # 150 fuzzed files

SECONDS_PER_CASE = 10.0


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Small real files in the containers people upload: MP4 (moov first and last), WebM, MKV."""
    folder = tmp_path_factory.mktemp("fuzz-seeds")
    files = [
        write_noise_clip(folder / "faststart.mp4", 12, 48, 32, options={"g": "4"},
                         container_options={"movflags": "faststart"}),
        write_noise_clip(folder / "plain.mp4", 12, 48, 32, options={"g": "4"}),
        write_noise_clip(folder / "vp9.webm", 8, 48, 32, codec="libvpx-vp9"),
        write_noise_clip(folder / "mpeg4.mkv", 8, 48, 32, codec="mpeg4"),
    ]
    return [path.read_bytes() for path in files]


@st.composite
def mutations(draw: st.DrawFn) -> tuple[int, list[tuple[str, int, int]]]:
    """Which seed file, then a few edits: flip a byte, overwrite a run, cut the end, insert junk."""
    seed = draw(st.integers(0, 3))
    edits = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["flip", "overwrite", "truncate", "insert", "zero"]),
                st.integers(0, 2**31 - 1),  # position, taken modulo the length
                st.integers(0, 255),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return seed, edits


def _mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    buffer = bytearray(data)
    for kind, position, value in edits:
        if not buffer:
            break
        at = position % len(buffer)
        if kind == "flip":
            buffer[at] ^= value or 1
        elif kind == "overwrite":
            buffer[at : at + 8] = bytes([value]) * len(buffer[at : at + 8])
        elif kind == "truncate":
            del buffer[at:]
        elif kind == "insert":
            buffer[at:at] = bytes([value]) * (1 + value % 16)
        else:  # zero a 4-byte field: box sizes, counts, timestamps
            buffer[at : at + 4] = b"\0" * len(buffer[at : at + 4])
    return bytes(buffer)


def _probe_and_decode(path: Path) -> None:
    try:
        info = probe(path)
        decode_frames(path, [0, info.num_frames // 2, info.num_frames - 1, info.num_frames + 5], max_short_side=32)
    except VideoError as error:
        assert str(error), "a VideoError must carry a message"


def _bounded(function, *args) -> None:
    """Run `function` in a thread; fail if it raises anything but VideoError or does not end in time."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            function(*args)
        except BaseException as error:
            failure.append(error)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(SECONDS_PER_CASE)
    assert not worker.is_alive(), f"probe/decode did not finish within {SECONDS_PER_CASE} s (hang)"
    if failure:
        raise failure[0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(case=mutations())
def test_mutated_videos_give_a_result_or_a_video_error(case, seeds, tmp_path_factory) -> None:
    seed, edits = case
    path = tmp_path_factory.mktemp("fuzz") / ("case" + (".mp4", ".mp4", ".webm", ".mkv")[seed])
    path.write_bytes(_mutate(seeds[seed], edits))
    _bounded(_probe_and_decode, path)
