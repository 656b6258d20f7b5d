"""Probe and decode: exact frames, seeking, rotation, short and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sfc_core.video import FrameReader, VideoError, decode_frames, probe
from tests.clips import (
    gray_level,
    truncate,
    write_audio_only,
    write_frames,
    write_gray_ramp_clip,
    write_noise_clip,
    write_png,
    write_video_without_frames,
)


def test_probe_reads_metadata(ramp_clip: Path) -> None:
    info = probe(ramp_clip)
    assert (info.width, info.height, info.fps, info.num_frames) == (96, 64, 30.0, 110)
    assert info.frames_counted and info.codec == "h264" and info.rotation == 0
    assert info.duration_s == pytest.approx(110 / 30, abs=0.05)


def test_decode_returns_the_requested_frames_in_request_order(ramp_clip: Path) -> None:
    requested = [93, 0, 7, 7, 64, 109, 3]
    decoded = decode_frames(ramp_clip, requested)
    assert decoded.source_indices == requested
    assert decoded.timestamps_s == pytest.approx([i / 30 for i in requested])
    levels = [int(round(frame.mean())) for frame in decoded.frames]
    assert levels == pytest.approx([gray_level(i) for i in requested], abs=2)
    assert decoded.notes == []


def test_seeking_and_decoding_through_give_identical_frames(ramp_clip: Path) -> None:
    requested = [2, 40, 41, 90, 105]
    seeking = decode_frames(ramp_clip, requested, seek_gap=1)
    through = decode_frames(ramp_clip, requested, seek_gap=10**6)
    assert seeking.source_indices == through.source_indices == requested
    for a, b in zip(seeking.frames, through.frames):
        np.testing.assert_array_equal(a, b)


def test_frames_past_the_end_repeat_the_last_with_a_note(ramp_clip: Path) -> None:
    decoded = decode_frames(ramp_clip, [100, 150, 200])
    assert decoded.source_indices == [100, 109, 109]
    assert "the video ended at frame 109" in decoded.notes[0]
    assert "repeated for 2 sampled position(s)" in decoded.notes[0]


def test_max_short_side_downscales_in_the_decoder(tmp_path: Path) -> None:
    path = write_noise_clip(tmp_path / "big.mp4", 3, 640, 360)
    frame = decode_frames(path, [1], max_short_side=90).frames[0]
    assert frame.shape == (90, 160, 3)


@pytest.mark.parametrize("rotation,expected_corner", [(90, (-1, 0)), (-90, (0, -1)), (180, (-1, -1))])
def test_rotation_is_applied_so_frames_are_upright(tmp_path: Path, rotation: int, expected_corner) -> None:
    image = np.zeros((48, 64, 3), np.uint8)
    image[:8, :8] = 255  # white block in the top-left corner of the coded frame
    path = write_frames(tmp_path / "rotated.mp4", [image] * 3, rotation=rotation)
    info = probe(path)
    assert info.rotation == rotation % 360
    assert (info.width, info.height) == ((48, 64) if rotation % 180 else (64, 48))
    frame = decode_frames(path, [0]).frames[0]
    assert frame.shape[:2] == (info.height, info.width)
    # np.rot90 by +90 (counter-clockwise) moves the top-left corner to the bottom-left.
    y, x = expected_corner
    corner = frame[y * 7 : y * 7 + 4 if y == 0 else None, x * 7 : x * 7 + 4 if x == 0 else None]
    assert corner.mean() > 200


@pytest.mark.parametrize("suffix,codec", [(".webm", "libvpx-vp9"), (".avi", "mpeg4"), (".mkv", "libx264")])
def test_other_containers_and_codecs_decode(tmp_path: Path, suffix: str, codec: str) -> None:
    path = write_gray_ramp_clip(tmp_path / f"clip{suffix}", 40, 64, 48, codec=codec)
    info = probe(path)
    assert info.num_frames == 40
    decoded = decode_frames(path, [0, 20, 39])
    assert decoded.source_indices == [0, 20, 39]
    levels = [frame.mean() for frame in decoded.frames]
    assert levels == pytest.approx([gray_level(i) for i in (0, 20, 39)], abs=4)


def test_truncated_moov_first_mp4_decodes_what_is_there_with_a_note(tmp_path: Path) -> None:
    path = write_noise_clip(
        tmp_path / "clip.mp4", 90, 64, 48, options={"crf": "23", "g": "10"}, container_options={"movflags": "faststart"}
    )
    truncate(path, 0.5)
    info = probe(path)  # the header still says 90 frames
    decoded = decode_frames(path, list(range(0, info.num_frames, 10)))
    assert decoded.source_indices[-1] < 89
    assert decoded.notes and "truncated" in decoded.notes[0]


BAD_FILES = {
    "zero-byte": (lambda p: p.write_bytes(b""), r"is empty \(0 bytes\)"),
    "random bytes": (
        lambda p: p.write_bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes()),
        r"could not be read as a video: it is not in a known video container format",
    ),
    "text file": (lambda p: p.write_text("not a video\n" * 300), r"could not be read as a video"),
    "png image": (write_png, r"is a still image \(png\), not a video"),
    "audio only": (write_audio_only, r"contains only audio; it has no video stream"),
    "zero frames": (write_video_without_frames, r"has no video stream \(no video track, or a video track with no"),
    "truncated mp4 (moov at the end)": (
        lambda p: truncate(write_noise_clip(p, 60, 64, 48, options={"crf": "23"}), 0.5),
        r"could not be read as a video: .*truncated",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_inputs_raise_one_clear_video_error(tmp_path: Path, kind: str) -> None:
    make, message = BAD_FILES[kind]
    path = tmp_path / "upload.mp4"
    make(path)
    with pytest.raises(VideoError, match=message):
        probe(path)
    with pytest.raises(VideoError, match=message):
        decode_frames(path, [0])


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="File not found"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(VideoError, match="is a folder"):
        probe(tmp_path)


def test_a_frame_reader_serves_clips_in_order_and_forgets_what_is_behind(ramp_clip: Path) -> None:
    """Clips taken one after another (overlapping, as dense clips and SFC's chunks do) get the same
    frames as decoding them all at once; a frame asked for after it was forgotten is an error."""
    clips = [[0, 4, 8, 12], [8, 12, 16, 20], [30, 31, 32]]
    wanted = sorted({i for clip in clips for i in clip})
    whole = decode_frames(ramp_clip, wanted)
    with FrameReader(ramp_clip, wanted) as reader:
        for number, clip in enumerate(clips):
            taken = reader.take(clip)
            for index, frame in zip(clip, taken.frames):
                assert np.array_equal(frame, whole.frames[wanted.index(index)])
            if number + 1 < len(clips):
                reader.forget_before(min(clips[number + 1]))
        with pytest.raises(VideoError, match="after it was forgotten"):
            reader.take([4])
