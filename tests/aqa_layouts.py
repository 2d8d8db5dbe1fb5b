"""Small AQA-7, FineDiving and JIGSAWS trees in their released layouts, made on the fly
(nothing is checked in) by each adapter's own ``write_released_layout``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Sequence

from pisa.data.adapters import aqa7, finediving, jigsaws


def make_score_roots(mktemp: Callable[[str], Path], actions: Sequence[str] = ("diving",),
                     frames: int = 16) -> Dict[str, Path]:
    """Small AQA-7 (the given ``actions``), FineDiving and JIGSAWS Suturing roots in their
    released layouts, made in folders from ``mktemp(name)``; ``{'aqa7', 'finediving',
    'jigsaws'} -> root``. Two difficulties with two training dives each (pairs of the same
    difficulty exist), five surgeons with two trials each (folds by surgeon)."""
    roots = {name: Path(mktemp(name)) for name in ("aqa7", "finediving", "jigsaws")}
    aqa7.write_released_layout(roots["aqa7"], {a: ([30.0, 50.0, 70.0, 90.0], [40.0, 80.0])
                                               for a in actions}, frames=frames)
    finediving.write_released_layout(roots["finediving"], [
        ("v1", i, split, score, difficulty, "107B") for i, (split, score, difficulty) in enumerate(
            [("train", 60.0, 2.0), ("train", 66.0, 2.0), ("train", 75.0, 3.0), ("train", 81.0, 3.0),
             ("test", 63.0, 2.0), ("test", 78.0, 3.0)])], frames=frames)
    jigsaws.write_released_layout(roots["jigsaws"], "Suturing", [
        (user, n, "N", 10 + 2 * i + n) for i, user in enumerate("BCDEF") for n in (1, 2)], frames=16)
    return roots
