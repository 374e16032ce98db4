"""Every ffmpeg/ffprobe command line of the project, one builder per job; ``media.runner`` runs them.

The argv (order included) decides the bytes of clips, shards, synthetic renders and caches: a change here is a
change of data (``tests/media/test_media_argv.py`` pins each builder's argv).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

QUIET = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]  # no prompts, no banner, errors only, overwrite
# Reproducible bytes: no encoder/muxer version strings or creation times in the container, no metadata copied from
# an input.
BITEXACT_MP4 = [
    "-map_metadata",
    "-1",
    "-map_chapters",
    "-1",
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
    "-flags:a",
    "+bitexact",
]
LANCZOS_PRECISE = "lanczos+accurate_rnd+full_chroma_int"  # the video model's scaler: exact rounding, full chroma


def exact_rate(fps: float) -> Fraction:
    """fps as an exact fraction for ffmpeg (29.97 -> 2997/100, 12.5 -> 25/2)."""
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(10000)


def _fraction(fps: float) -> str:
    fr = exact_rate(fps)
    return f"{fr.numerator}/{fr.denominator}"


# ------------------------------------------------------------------------------------------------ probing ----


def version_command() -> list[str]:
    return ["ffmpeg", "-version"]


def probe_command(path: str | Path, timeout: float = 60.0) -> list[str]:
    """Format and streams as JSON. ``-timeout`` is the protocol's I/O timeout (ffmpeg-python's ``probe`` passed
    it so, and the argv stays as it was); the runner bounds the process itself."""
    return ["ffprobe", "-show_format", "-show_streams", "-of", "json", "-timeout", f"{timeout}", str(path)]


def streams_command(path: str | Path) -> list[str]:
    """The streams as JSON, errors only."""
    return ["ffprobe", "-v", "error", "-of", "json", "-show_streams", str(path)]


# ------------------------------------------------------------------------------------------------ copying ----


def remux_command(src: str | Path, out: str | Path) -> list[str]:
    """First video and (optional) first audio stream copied into Matroska, timestamps mended as ffmpeg reads."""
    return [
        "ffmpeg",
        *QUIET,
        "-i",
        str(src),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-c",
        "copy",
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-f",
        "matroska",
        str(out),
    ]


def concat_command(listing: str | Path, out: str | Path) -> list[str]:
    """The files of a concat ``listing`` joined without re-encoding (yt-dlp's downloaded windows, in order)."""
    return [
        "ffmpeg",
        *QUIET,
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(listing),
        "-c",
        "copy",
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        str(out),
    ]


# ----------------------------------------------------------------------------------------------- decoding ----


def square_frames_filter(fps: float, resolution: int) -> str:
    """Resample to ``fps``, centre-crop to a square, Lanczos-resize to ``resolution``, RGB."""
    return (
        f"fps={_fraction(fps)},crop='min(iw,ih)':'min(iw,ih)',"
        f"scale={resolution}:{resolution}:flags={LANCZOS_PRECISE},setsar=1,format=rgb24"
    )


def decode_rgb_command(path: str | Path, video_filter: str, count: int) -> list[str]:
    """The first ``count`` frames of the first video stream through ``video_filter``, raw RGB on stdout; one thread
    each for the decoder and the filter graph (several run side by side)."""
    return [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        "-threads",
        "1",
        "-filter_threads",
        "1",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        video_filter,
        "-frames:v",
        str(count),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ]


def decode_ppm_command(path: str | Path, num_frames: int, stride: int = 1) -> list[str]:
    """The first ``num_frames`` frames, every ``stride``-th, as PPM images on stdout (each carries its size)."""
    vf = [] if stride == 1 else ["-vf", f"select=not(mod(n\\,{stride}))", "-fps_mode", "passthrough"]
    return [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        *vf,
        "-frames:v",
        str(num_frames),
        "-f",
        "image2pipe",
        "-c:v",
        "ppm",
        "pipe:1",
    ]


def decode_pcm_command(path: str | Path, sample_rate: int, channels: int) -> list[str]:
    """The first audio stream at ``sample_rate`` as float32 PCM on stdout, ``channels`` interleaved."""
    return [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-ar",
        str(int(sample_rate)),
        "-ac",
        str(channels),
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "pipe:1",
    ]


def decode_mono_command(path: str | Path, sample_rate: int) -> list[str]:
    """The first audio stream downmixed to mono at ``sample_rate``, float32 on stdout (the metrics' reader)."""
    return [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        "-f",
        "f32le",
        "pipe:1",
    ]


def jpeg_frames_command(mp4: str | Path, picks: list[int], qscale: int, pattern: str | Path) -> list[str]:
    """The frames numbered ``picks`` as JPEG files named by ``pattern`` (e.g. ``dir/f%03d.jpg``), deterministic."""
    select = "+".join(f"eq(n\\,{i})" for i in picks)
    return [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(mp4),
        "-vf",
        f"select={select}",
        "-fps_mode",
        "passthrough",
        "-frames:v",
        str(len(picks)),
        "-c:v",
        "mjpeg",
        "-q:v",
        str(qscale),
        "-pix_fmt",
        "yuvj420p",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        str(pattern),
    ]


# ----------------------------------------------------------------------------------------------- encoding ----


def synthetic_render_command(
    picture: tuple[int, int], fps: int, wav: str | Path, size: tuple[int, int], crf: int, out: str | Path
) -> list[str]:
    """Raw RGB pictures of ``picture`` (width, height) on stdin plus ``wav``, bicubic-scaled to ``size`` and
    encoded to H.264 + AAC in mp4 (the synthetic source)."""
    return [
        "ffmpeg",
        *QUIET,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{picture[0]}x{picture[1]}",
        "-r",
        str(fps),
        "-i",
        "pipe:0",
        "-i",
        str(wav),
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-vf",
        f"scale={size[0]}:{size[1]}:flags=bicubic,format=yuv420p",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        str(crf),
        "-threads",
        "1",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        # no -frames:v: it would stop the muxer while AAC frames are still buffered; the pipe ends after n frames
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        "-f",
        "mp4",
        str(out),
    ]


@dataclass(frozen=True)
class H264Encoding:
    """How the video model's frames are encoded: raw RGB frames of ``frame_size`` at ``fps`` on stdin, Lanczos to
    ``size`` when it differs, H.264 yuv420p at ``crf``/``preset`` with single-threaded x264 and filter graph (so
    the bytes do not depend on the cores), and ``audio`` (any file ffmpeg reads) muxed as AAC when given."""

    fps: float
    frame_size: tuple[int, int]
    size: tuple[int, int]
    crf: int = 18
    preset: str = "medium"
    audio: Path | None = None
    aac_bitrate: str = "160k"
    # AAC pads the stream's end up to a whole 1024-sample frame and mp4 keeps it: at 48 kHz the muxed sound outlasts
    # the input by under 21.3 ms (less than a frame up to 46 fps) where 16 kHz would gain up to 64 ms.
    aac_sample_rate: int = 48000


def encode_h264_command(enc: H264Encoding, out: str | Path) -> list[str]:
    """The argv of ``enc`` writing mp4 (moov atom first) to ``out``."""
    cmd = ["ffmpeg", *QUIET, "-filter_threads", "1", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    cmd += ["-s", f"{enc.frame_size[0]}x{enc.frame_size[1]}", "-framerate", _fraction(enc.fps), "-i", "pipe:0"]
    if enc.audio is not None:
        cmd += ["-i", str(enc.audio)]
    vf = [] if enc.size == enc.frame_size else [f"scale={enc.size[0]}:{enc.size[1]}:flags={LANCZOS_PRECISE}"]
    cmd += ["-map", "0:v:0", "-vf", ",".join([*vf, "format=yuv420p"]), "-c:v", "libx264", "-preset", enc.preset]
    cmd += ["-crf", str(enc.crf), "-threads:v", "1", "-pix_fmt", "yuv420p"]
    if enc.audio is not None:
        # asetpts: the sound's samples restamped from zero (the convention of the audio decoders too)
        cmd += ["-map", "1:a:0", "-af", "asetpts=N/SR/TB", "-ar", str(enc.aac_sample_rate)]
        cmd += ["-c:a", "aac", "-b:a", enc.aac_bitrate]
    return cmd + BITEXACT_MP4 + ["-movflags", "+faststart", "-f", "mp4", str(out)]


@dataclass(frozen=True)
class ClipEncoding:
    """One clip of the cut stage: ``frames`` video frames at ``fps`` scaled and centre-cropped to ``size``,
    ``samples`` audio samples at ``sample_rate`` (padded with silence), H.264 + AAC mp4, 16-bit FLAC, and the
    same frames at ``analysis_size`` as raw BGR on stdout for the scene/freeze checks."""

    seconds: float
    fps: int
    size: tuple[int, int]
    frames: int
    sample_rate: int
    channels: int
    samples: int
    preset: str
    crf: int
    threads: int
    aac_bitrate: str
    analysis_size: tuple[int, int]


_CLIP_BITEXACT = {
    "map_metadata": -1,
    "map_chapters": -1,
    "fflags": "+bitexact",
    "flags:v": "+bitexact",
    "flags:a": "+bitexact",
}


def clip_command(src: str | Path, start: float, enc: ClipEncoding, mp4: str | Path, flac: str | Path) -> list[str]:
    """The cut's single pass over ``src`` from ``start`` (graph built with ffmpeg-python)."""
    import ffmpeg

    # Input-side seek (-ss before -i) is fast and, since we re-encode, frame-accurate. Read a little past the end
    # so that the frame and sample counts are set by the output limits below, not by rounding at the input.
    # reinit_filter 0: a source whose picture size changes mid-stream (joined recordings, broadcast streams) must not
    # rebuild the filter graph, which would restart the trim counters and let a clip run long; scale adapts by itself.
    inp = ffmpeg.input(str(src), ss=f"{start:.6f}", t=f"{enc.seconds + 2.0 / enc.fps:.6f}", reinit_filter=0)
    width, height = enc.size
    video = (
        inp.video.filter("fps", fps=enc.fps)
        .filter("scale", width, height, force_original_aspect_ratio="increase", flags="bicubic")
        .filter("crop", width, height)
        .filter("setsar", 1)
        .filter("format", "yuv420p")
        .filter("trim", end_frame=enc.frames)
        .filter_multi_output("split", 2)
    )
    audio = (
        inp.audio.filter("aresample", enc.sample_rate)
        .filter("aformat", sample_fmts="fltp", channel_layouts="stereo" if enc.channels == 2 else "mono")
        .filter("apad")
        .filter("atrim", end_sample=enc.samples)
        .filter_multi_output("asplit", 2)
    )
    tiny = video[1].filter("scale", *enc.analysis_size, flags="area")
    out_mp4 = ffmpeg.output(
        video[0],
        audio[0],
        str(mp4),
        f="mp4",
        vcodec="libx264",
        preset=enc.preset,
        crf=enc.crf,
        threads=enc.threads,
        pix_fmt="yuv420p",
        acodec="aac",
        **{"b:a": enc.aac_bitrate, "frames:v": enc.frames},
        **_CLIP_BITEXACT,
    )
    out_flac = ffmpeg.output(audio[1], str(flac), f="flac", acodec="flac", sample_fmt="s16", **_CLIP_BITEXACT)
    out_pipe = ffmpeg.output(tiny, "pipe:1", f="rawvideo", pix_fmt="bgr24", **{"frames:v": enc.frames})
    cmd = (
        ffmpeg.merge_outputs(out_mp4, out_flac, out_pipe)
        .global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-filter_threads", "1")
        .overwrite_output()
    )
    return list(cmd.compile())
