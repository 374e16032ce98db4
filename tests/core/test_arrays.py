"""``core.arrays.cached_array``: reuse while the key holds, stale keys of the same name removed, nothing left behind
when making the array fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sound2video.core.arrays import cached_array


def _maker(value: float, calls: list[float]):
    def make() -> np.ndarray:
        calls.append(value)
        return np.full((2, 3), value, np.float32)

    return make


def test_an_existing_key_is_reused_without_making_it_again(tmp_path: Path):
    calls: list[float] = []
    first = cached_array(tmp_path / "targets-aaaa.npy", _maker(1.0, calls))
    again = cached_array(tmp_path / "targets-aaaa.npy", _maker(2.0, calls))
    assert calls == [1.0] and np.array_equal(first, again) and again.dtype == np.float32
    mapped = cached_array(tmp_path / "targets-aaaa.npy", _maker(3.0, calls), mmap=True)
    assert calls == [1.0] and isinstance(mapped, np.memmap) and not mapped.flags.writeable
    assert np.array_equal(mapped, first)


def test_a_new_key_removes_the_stale_keys_of_that_name_only(tmp_path: Path):
    calls: list[float] = []
    cached_array(tmp_path / "targets-aaaa.npy", _maker(1.0, calls))
    cached_array(tmp_path / "inverted-aaaa.npy", _maker(1.0, calls))
    cached_array(tmp_path / "targets_x-aaaa.npy", _maker(1.0, calls))
    cached_array(tmp_path / "targets-x-aaaa.npy", _maker(1.0, calls))  # a longer name with the same prefix
    made = cached_array(tmp_path / "targets-bbbb.npy", _maker(2.0, calls), mmap=True)
    assert calls == [1.0, 1.0, 1.0, 1.0, 2.0] and float(made[0, 0]) == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "inverted-aaaa.npy",
        "targets-bbbb.npy",
        "targets-x-aaaa.npy",
        "targets_x-aaaa.npy",
    ]


def test_a_failing_make_leaves_no_file_and_the_next_call_makes_it(tmp_path: Path):
    def broken() -> np.ndarray:
        raise RuntimeError("decoder failed")

    with pytest.raises(RuntimeError, match="decoder failed"):
        cached_array(tmp_path / "rows" / "model-cccc.npy", broken)
    assert not (tmp_path / "rows").exists() or list((tmp_path / "rows").iterdir()) == []

    class Unsaveable:  # np.save pickles it; the pickle fails half-way through the write
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    (tmp_path / "rows").mkdir(exist_ok=True)
    with pytest.raises(RuntimeError, match="cannot pickle"):
        cached_array(tmp_path / "rows" / "model-cccc.npy", lambda: np.array([Unsaveable()], dtype=object))
    assert list((tmp_path / "rows").iterdir()) == []  # no partial file, no temporary left
    calls: list[float] = []
    assert float(cached_array(tmp_path / "rows" / "model-cccc.npy", _maker(4.0, calls))[1, 2]) == 4.0
    assert calls == [4.0]


def test_names_without_a_key_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="<name>-<key>.npy"):
        cached_array(tmp_path / "targets.npy", lambda: np.zeros(1))
