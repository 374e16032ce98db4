"""Class-specific synthetic soundscapes: band-shaped noise, impulses and chirps with distinct spectra and rhythms.

Each generator returns float32 samples in [-1, 1]; the classes differ in spectral band and temporal structure so
that a model can tell them apart from sound alone. Which classes there are is ``synthetic_classes``'s table; each
has a generator of its name here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sound2video.data.sources.synthetic_classes import recipes

Rng = np.random.Generator


def band_noise(rng: Rng, n: int, sr: int, lo: float, hi: float, tilt: float = 0.0) -> np.ndarray:
    """White noise restricted to [lo, hi] Hz (FFT mask), with an optional spectral tilt (dB per octave / 6)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    mask = ((freqs >= lo) & (freqs <= hi)).astype(np.float64)
    if tilt:
        mask *= np.power(np.maximum(freqs, 1.0) / max(lo, 1.0), -tilt)
    out = np.fft.irfft(spec * mask, n)
    return out / (np.abs(out).max() + 1e-9)


def _events(rng: Rng, duration: float, rate: float) -> np.ndarray:
    """Poisson event times in seconds."""
    count = rng.poisson(rate * duration)
    return np.sort(rng.uniform(0, duration, count))


def _decay(n: int, sr: int, tau: float, attack: float = 0.002) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(t / attack, 1.0) * np.exp(-t / tau)


def _add(dst: np.ndarray, src: np.ndarray, start: int) -> None:
    end = min(len(dst), start + len(src))
    if start < end:
        dst[start:end] += src[: end - start]


def _bursts(
    rng: Rng, n: int, sr: int, rate: float, lo: float, hi: float, tau: tuple[float, float], gain: tuple[float, float]
) -> np.ndarray:
    out = np.zeros(n)
    for t0 in _events(rng, n / sr, rate):
        length = int(min(n, sr * 5 * tau[1]))
        env = _decay(length, sr, rng.uniform(*tau))
        _add(out, band_noise(rng, length, sr, lo, hi) * env * rng.uniform(*gain), int(t0 * sr))
    return out


def thunderstorm(rng: Rng, n: int, sr: int) -> np.ndarray:
    rumble = band_noise(rng, n, sr, 20, 160) * 0.3
    claps = _bursts(rng, n, sr, 0.6, 25, 400, (0.6, 1.6), (0.6, 1.0))
    rain = band_noise(rng, n, sr, 3000, 9000) * 0.1
    return rumble + claps + rain


def waterfall_burbling(rng: Rng, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    body = band_noise(rng, n, sr, 250, 5000, tilt=0.3)
    return body * (0.8 + 0.2 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6.28)))


def volcano_eruption(rng: Rng, n: int, sr: int) -> np.ndarray:
    roar = band_noise(rng, n, sr, 30, 300) * 0.6
    lava_hiss = band_noise(rng, n, sr, 1000, 3000) * 0.15
    blasts = _bursts(rng, n, sr, 0.5, 40, 2500, (0.3, 0.9), (0.7, 1.0))
    return roar + lava_hiss + blasts


def squishing_water(rng: Rng, n: int, sr: int) -> np.ndarray:
    out = band_noise(rng, n, sr, 100, 600) * 0.02
    for t0 in _events(rng, n / sr, 3.0):
        length = int(sr * rng.uniform(0.10, 0.25))
        tt = np.arange(length) / sr
        f = rng.uniform(300, 600) * (1 + 2.0 * tt / tt[-1])
        wobble = np.sin(2 * np.pi * np.cumsum(f) / sr)
        env = np.sin(np.pi * tt / tt[-1]) ** 2
        squelch = (0.6 * wobble + 0.4 * band_noise(rng, length, sr, 400, 1200)) * env
        _add(out, squelch * rng.uniform(0.5, 1.0), int(t0 * sr))
    return out


def wind_noise(rng: Rng, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    gusts = 0.35 + 0.65 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.15 * t + rng.uniform(0, 6.28))) ** 2
    base = band_noise(rng, n, sr, 80, 900, tilt=0.5)
    # A whistle: narrow noise whose centre wanders slowly.
    centre = 500 + 250 * np.sin(2 * np.pi * 0.08 * t + rng.uniform(0, 6.28))
    whistle = np.sin(2 * np.pi * np.cumsum(centre) / sr) * band_noise(rng, n, sr, 0, 30)
    return gusts * (base + 0.5 * whistle)


def fire_crackling(rng: Rng, n: int, sr: int) -> np.ndarray:
    out = band_noise(rng, n, sr, 80, 500) * 0.08
    for t0 in _events(rng, n / sr, 18.0):
        length = int(sr * 0.012)
        click = band_noise(rng, length, sr, 2000, 12000) * _decay(length, sr, rng.uniform(0.001, 0.004), 0.0002)
        _add(out, click * rng.uniform(0.4, 1.0), int(t0 * sr))
    return out


def raining(rng: Rng, n: int, sr: int) -> np.ndarray:
    hiss = band_noise(rng, n, sr, 2500, 11000) * 0.35
    drops = _bursts(rng, n, sr, 120.0, 3000, 9000, (0.003, 0.008), (0.1, 0.4))
    return hiss + drops


def underwater_bubbling(rng: Rng, n: int, sr: int) -> np.ndarray:
    out = band_noise(rng, n, sr, 20, 400) * 0.12
    for t0 in _events(rng, n / sr, 8.0):
        length = int(sr * rng.uniform(0.03, 0.08))
        tt = np.arange(length) / sr
        f0 = rng.uniform(300, 900)
        f = f0 * (1 + 0.8 * tt / tt[-1])
        chirp = np.sin(2 * np.pi * np.cumsum(f) / sr) * _decay(length, sr, tt[-1] / 2.5)
        _add(out, chirp * rng.uniform(0.4, 1.0), int(t0 * sr))
    return out


def splashing_water(rng: Rng, n: int, sr: int) -> np.ndarray:
    splashes = _bursts(rng, n, sr, 0.8, 500, 8000, (0.25, 0.6), (0.6, 1.0))
    droplets = _bursts(rng, n, sr, 10.0, 1500, 6000, (0.01, 0.03), (0.05, 0.2))
    return splashes + droplets


def dog_barking(rng: Rng, n: int, sr: int) -> np.ndarray:
    out = band_noise(rng, n, sr, 100, 2000) * 0.01
    for t0 in _events(rng, n / sr, 1.5):
        for k in range(int(rng.integers(1, 4))):  # barks come in short runs
            length = int(sr * rng.uniform(0.12, 0.2))
            tt = np.arange(length) / sr
            f0 = rng.uniform(450, 700) * (1 - 0.3 * tt / tt[-1])
            phase = 2 * np.pi * np.cumsum(f0) / sr
            bark = sum(np.sin(h * phase) / h for h in range(1, 6)) * _decay(length, sr, 0.06, 0.005)
            _add(out, bark * rng.uniform(0.5, 1.0), int((t0 + 0.25 * k) * sr))
    return out


def church_bell_ringing(rng: Rng, n: int, sr: int) -> np.ndarray:
    out = np.zeros(n)
    base = rng.uniform(300, 420)
    partials = (0.5, 1.0, 1.2, 1.5, 2.0, 2.6)  # a bell's inharmonic partials (hum, prime, tierce, ...)
    period = rng.uniform(1.1, 1.6)
    for t0 in np.arange(rng.uniform(0, period), n / sr, period):
        length = min(n, int(sr * 3.0))
        tt = np.arange(length) / sr
        strike = sum(
            np.sin(2 * np.pi * base * p * tt) * np.exp(-tt / (1.5 / p)) / (1 + i) for i, p in enumerate(partials)
        )
        _add(out, strike * rng.uniform(0.7, 1.0), int(t0 * sr))
    return out


def engine_idling(rng: Rng, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    firing = rng.uniform(25, 40) * (1 + 0.02 * np.sin(2 * np.pi * 0.5 * t))  # cylinder firings per second
    phase = 2 * np.pi * np.cumsum(firing) / sr
    hum = sum(np.sin(h * phase + rng.uniform(0, 6.28)) / h for h in range(1, 9))
    return hum * (0.8 + 0.2 * np.sin(phase / 2) ** 2) + band_noise(rng, n, sr, 50, 600) * 0.15


def frog_croaking(rng: Rng, n: int, sr: int) -> np.ndarray:
    """Curation demo class: regular low croaks (a pulsed buzz near 150-250 Hz) over a faint night hum."""
    out = band_noise(rng, n, sr, 60, 300) * 0.02
    period = rng.uniform(0.7, 1.0)
    f0 = rng.uniform(150, 250)
    for t0 in np.arange(rng.uniform(0, period), n / sr, period):
        length = int(sr * 0.25)
        tt = np.arange(length) / sr
        pulses = (np.sin(2 * np.pi * 30 * tt) > 0).astype(np.float64)  # the croak's buzz: 30 pulses a second
        croak = sum(np.sin(2 * np.pi * f0 * h * tt) / h for h in range(1, 4)) * pulses * np.sin(np.pi * tt / tt[-1])
        _add(out, croak * rng.uniform(0.6, 1.0), int(t0 * sr))
    return out


def ocean_waves(rng: Rng, n: int, sr: int) -> np.ndarray:
    """Curation demo class: broadband surf swelling and ebbing every 6-9 s."""
    t = np.arange(n) / sr
    swell = (0.5 + 0.5 * np.sin(2 * np.pi * t / rng.uniform(6, 9) + rng.uniform(0, 6.28))) ** 3
    return band_noise(rng, n, sr, 150, 7000, tilt=0.2) * (0.1 + 0.9 * swell)


# one generator per class of the table in synthetic_classes, found by its name
SOUNDS: dict[str, Callable[[Rng, int, int], np.ndarray]] = recipes(globals(), "sound")


def render_audio(name: str, rng: Rng, seconds: float, sr: int) -> np.ndarray:
    """Stereo float32 audio (n, 2) for class ``name``, peak-normalised to 0.7, slightly decorrelated channels."""
    if name not in SOUNDS:
        raise KeyError(f"no synthetic sound for class {name!r}; known: {sorted(SOUNDS)}")
    n = int(round(seconds * sr))
    left = SOUNDS[name](rng, n, sr)
    right = np.roll(left, int(0.0007 * sr)) * 0.9 + 0.1 * left
    stereo = np.stack([left, right], axis=1)
    stereo *= 0.7 / (np.abs(stereo).max() + 1e-9)
    return stereo.astype(np.float32)
