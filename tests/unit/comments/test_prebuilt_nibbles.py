"""The prebuilt matcher's int8 tables (the learned model's compact weights, embeddings) round-trip exactly."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tutela.comments import prebuilt
from tutela.comments.hashed import BucketRows, compact_rows


def _round_trip(obj: object) -> object:
    out = io.BytesIO()
    writer = prebuilt._Writer(out)
    writer.dump(obj)
    return prebuilt._Reader(out.getvalue(), memoryview(bytes(writer.blobs))).load()


@pytest.mark.parametrize("shape", [(1 << 20,), (3, 400_001), (240_001, 16)])
def test_every_int8_value_survives_the_nibble_encoding(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(-128, 128, size=shape, dtype=np.int8)
    a.reshape(-1)[::3] = rng.integers(-7, 8, size=a.reshape(-1)[::3].shape)  # mostly small, as weights are
    a.reshape(-1)[:11] = [-128, 127, -8, -7, 7, 8, 0, -1, 1, -9, 9]  # the edges and the escape marker
    got = _round_trip({"t": a})["t"]  # type: ignore[index]
    assert got.dtype == np.int8 and got.shape == a.shape and got.tobytes() == a.tobytes()
    assert got.flags.writeable and got.flags.c_contiguous


def test_a_corrupt_nibble_table_is_refused() -> None:
    a = np.arange(1 << 20, dtype=np.int64).astype(np.int8)  # many values outside [-7, 7]
    out = io.BytesIO()
    writer = prebuilt._Writer(out)
    writer.dump(a)
    blobs = bytearray(writer.blobs)
    blobs[0] = 0x88  # two small entries turned into escape markers: the escape count no longer matches
    with pytest.raises(Exception):  # noqa: B017  (load() turns any error into "build from the files")
        prebuilt._Reader(out.getvalue(), memoryview(bytes(blobs))).load()


def test_bucket_rows_map_every_bucket_and_round_trip() -> None:
    idx = np.array([9, 3, 200, 3, 70_000], dtype=np.int64)  # unsorted, bucket 3 listed twice: the last wins
    q = np.arange(10, dtype=np.int8).reshape(5, 2)
    index, table = compact_rows(idx, q, 17)
    assert index.ids.tolist() == [3, 9, 200, 70_000]
    dense = np.zeros((1 << 17, 2), dtype=np.int8)
    dense[idx] = q  # what the dense table held
    assert table.shape == (5, 2) and not table[-1].any()
    assert table[index.row].tobytes() == dense.tobytes()
    again = _round_trip(index)
    assert isinstance(again, BucketRows)
    assert again.ids.tobytes() == index.ids.tobytes() and again.row.tobytes() == index.row.tobytes()
    with pytest.raises(ValueError):
        BucketRows.of(np.array([5, 5]), 8)
    with pytest.raises(ValueError):
        BucketRows.of(np.array([256]), 8)


def test_rule_vectors_round_trip_as_one_table() -> None:
    """The model's rule-feature dicts (str -> equal-length float vectors) travel as keys + one table: the
    same keys in the same order, the same numbers, writable float64 rows; other dicts pickle as they are."""
    rng = np.random.default_rng(3)
    vectors = {f"minor|term:{i}": rng.normal(size=6) for i in range(300)}
    vectors[""] = np.zeros(6)
    mixed = {f"k{i}": rng.normal(size=6 if i else 5) for i in range(100)}  # another length: not a table
    nul = {f"k\0{i}": rng.normal(size=6) for i in range(100)}  # a key the table could not split
    out = io.BytesIO()
    writer = prebuilt._Writer(out)
    writer.dump([vectors, mixed, nul])
    assert len(writer.blobs) == 301 * 6 * 8  # only the first went to the blobs
    got = prebuilt._Reader(out.getvalue(), memoryview(bytes(writer.blobs))).load()
    for want, have in zip([vectors, mixed, nul], got, strict=True):  # type: ignore[call-overload]
        assert list(have) == list(want)
        for k, v in want.items():
            assert have[k].dtype == v.dtype and have[k].tobytes() == v.tobytes() and have[k].flags.writeable
