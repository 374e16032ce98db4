"""The mp4 writer of the video model (``models/video/writer.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from sound2video.models.video.writer import VideoWriter, VideoWriterError


def test_writer_failure_leaves_nothing(tmp_path):
    out = tmp_path / "w.mp4"
    with pytest.raises(VideoWriterError) as e:
        with VideoWriter(out, 10, 16, 16, audio_path=tmp_path / "no-such-audio.wav") as w:
            for _ in range(50):  # ffmpeg fails on the missing input; writing then hits a closed pipe
                w.write(np.zeros((4, 16, 16, 3), np.uint8))
    assert "no-such-audio.wav" in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_frames_of_the_wrong_shape(tmp_path):
    with pytest.raises(VideoWriterError, match="uint8"):
        with VideoWriter(tmp_path / "w.mp4", 10, 16, 16) as w:
            w.write(np.zeros((2, 16, 8, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
