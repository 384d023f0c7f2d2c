"""Cache files written by several processes at once: whole or absent, never mixed."""

import numpy as np
import pytest
from processes import side_by_side

from prelu_robust.atomic import write_atomically


def _write_and_read(target: str, value: int, rounds: int, errors) -> None:
    from pathlib import Path

    path = Path(target)
    for _ in range(rounds):
        try:
            write_atomically(path, lambda partial: np.save(partial, np.full(200_000, value, np.int64)))
            loaded = np.load(path)
            assert loaded.shape == (200_000,) and (loaded == loaded[0]).all()  # one writer's file, whole
        except Exception as err:  # noqa: BLE001 - counted, the test asserts there are none
            errors.put(f"{type(err).__name__}: {err}")


def test_two_processes_writing_one_file_never_see_or_leave_a_half_written_one(tmp_path):
    target = tmp_path / "chunk_00000.npy"
    exit_codes, found = side_by_side(_write_and_read, [(str(target), value, 100) for value in (1, 2)])
    assert exit_codes == [0, 0] and found == [], found[:5]
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no partial file left


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_beside_it(tmp_path):
    target = tmp_path / "meta.json"
    target.write_text("old")

    def fail(partial):
        partial.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, fail)
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
