"""``pisa predict`` and :mod:`pisa.apis` with a pair-wise config (CoRe on MTL-AQA): a new
recording is the query, its exemplars come from the training split as ``pisa test``
draws them, so the predicted score is the one ``pisa test`` gives the same dive; what
the recording lacks for its exemplars is a one-line error."""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
from media import frame_level
from test_method_plugins import CONFIGS, _tiny

from pisa.apis import init_assessor
from pisa.cli import main
from pisa.evaluation.assessment import format_prediction
from pisa.io.media import write_video
from pisa.io.safe_load import load_pickle

FRAMES = 12  # one dive per video, all of it: the recording is exactly the annotated dive
#: (difficulty, final score) of the training dives, then of the test dives. The first test
#: dive has 4 training dives of its difficulty for 3 exemplar slots (the seeded draw picks
#: them), the second exactly 3 (all vote).
TRAIN: List[Tuple[float, float]] = [(2.0, 40.0), (2.0, 46.0), (2.0, 52.0),
                                    (3.2, 60.0), (3.2, 66.0), (3.2, 75.0), (3.2, 81.0)]
TEST: List[Tuple[float, float]] = [(3.2, 70.0), (2.0, 44.0)]
EVALUATORS = """_base_ = ['{config}']
test_evaluator = [dict(type='ScoreMetrics'), dict(type='DumpResults', out_file_path='{dump}')]
"""


def write_mtl_aqa_dives(root: Path) -> List[Path]:
    """MTL-AQA's released layout with one dive per video (``<i + 1:02d>.mp4``, key ``(i + 1,
    1)``, frames 0..FRAMES-1; each video's frames of its own grey levels); returns the
    videos, training dives first."""
    videos = []
    for i, (difficulty, score) in enumerate(TRAIN + TEST):
        frames = [np.full((24, 32, 3), frame_level(5 * i + j), dtype=np.uint8) for j in range(FRAMES)]
        videos.append(write_video(root / f"{i + 1:02d}.mp4", frames, 25.0))
    annotations = {(i + 1, 1): {"start_frame": 0, "end_frame": FRAMES - 1, "final_score": score,
                                "difficulty": difficulty}
                   for i, (difficulty, score) in enumerate(TRAIN + TEST)}
    files = {"final_annotations_dict.pkl": annotations,
             "train_split_0.pkl": [(i + 1, 1) for i in range(len(TRAIN))],
             "test_split_0.pkl": [(len(TRAIN) + i + 1, 1) for i in range(len(TEST))]}
    for name, obj in files.items():
        (root / name).write_bytes(pickle.dumps(obj, protocol=3))
    return videos


def cli_options(options: Dict) -> List[str]:
    """``--cfg-options`` words for a dict of options (tuples written without spaces)."""
    def text(value):
        if isinstance(value, tuple):
            return "(" + ",".join(map(str, value)) + ")"
        return str(value)

    return ["--cfg-options"] + [f"{key}={text(value)}" for key, value in options.items()]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Dict:
    """The CoRe MTL-AQA config shrunk by the method tests' options, trained one epoch on
    the generated dives, then tested by ``pisa test`` with its predictions dumped."""
    tmp = tmp_path_factory.mktemp("predict_pairs")
    data = tmp / "data"
    data.mkdir()
    videos = write_mtl_aqa_dives(data)
    dump = tmp / "test_predictions.pkl"
    config = tmp / "core_tiny.py"
    config.write_text(EVALUATORS.format(config=CONFIGS["core"], dump=dump))
    options = cli_options(_tiny("core"))
    assert main(["train", str(config), "--data-root", str(data), "--work-dir", str(tmp / "train"),
                 *options]) == 0
    checkpoint = json.loads((tmp / "train" / "results.json").read_text())["checkpoint"]
    dump.unlink()  # the training run's own test pass wrote it: keep only `pisa test`'s
    assert main(["test", str(config), checkpoint, "--data-root", str(data),
                 "--work-dir", str(tmp / "test"), *options]) == 0
    samples = {s["sample_id"]: s for s in load_pickle(dump)}
    return dict(data=data, config=config, checkpoint=checkpoint, options=options, samples=samples,
                tests=videos[len(TRAIN):])


def test_predict_scores_a_recording_as_pisa_test_scores_its_dive(trained, capsys):
    samples, tests = trained["samples"], trained["tests"]
    assert sorted(samples) == [f"{len(TRAIN) + i + 1:02d}_1/0" for i in range(len(TEST))]
    capsys.readouterr()
    for i, ((difficulty, _), video) in enumerate(zip(TEST, tests)):
        expected = samples[f"{len(TRAIN) + i + 1:02d}_1/0"]
        assert len(expected["votes"]) == 3  # 3 exemplar slots, every one a training dive
        assert main(["predict", str(trained["config"]), trained["checkpoint"], str(video),
                     "--data-root", str(trained["data"]), *trained["options"],
                     "--json", "--no-progress", "--meta", f"difficulty={difficulty}"]) == 0
        captured = capsys.readouterr()
        (rec,) = json.loads(captured.out)["recordings"]
        assert rec["media"] == str(video) and rec["num_samples"] == 1
        assert rec["score"] == pytest.approx(expected["pred_score"], abs=1e-5)
        assert rec["regression"] == rec["score"]
        assert rec["level"] == 0 and rec["probs"] == [] and rec["decision"] is None
        assert rec["dataset"].startswith("ExemplarDataset(MTLAQADataset from test_dataloader")
    # the Python API: the same score, and the recording's record carries the meta keys
    assessor = init_assessor(trained["config"], trained["checkpoint"], data_root=str(trained["data"]),
                             cfg_options=_tiny("core"))
    pred = assessor.assess(tests[0], meta={"difficulty": TEST[0][0]}, timeline=False)
    assert pred.score == pytest.approx(samples[f"{len(TRAIN) + 1:02d}_1/0"]["pred_score"], abs=1e-5)
    assert format_prediction(pred).startswith(f"{tests[0]}: score {pred.score:.2f},")
    pairs = assessor.recording_dataset(tests[0], meta={"difficulty": 3.2, "dive": "107B"})
    assert pairs.dataset.performances[0]["dive"] == "107B"
    assert sorted(pairs.exemplars.performances[i]["difficulty"] for i in pairs.candidates(0)) == [3.2] * 4


def test_what_a_recording_lacks_for_its_exemplars_is_a_one_line_error(trained, capsys, tmp_path):
    base = ["predict", str(trained["config"]), trained["checkpoint"], str(trained["tests"][0]),
            *trained["options"], "--no-progress"]
    assert main(base + ["--data-root", str(trained["data"])]) == 2
    err = capsys.readouterr().err
    assert "no 'difficulty'" in err and "--meta difficulty=VALUE" in err
    assert len(err.strip().splitlines()) == 1
    # no training dive of this difficulty, and a new recording cannot pair with itself
    assert main(base + ["--data-root", str(trained["data"]), "--meta", "difficulty=9.9"]) == 2
    err = capsys.readouterr().err
    assert "1 given recording sample(s) have no exemplar in the training split sharing ['difficulty']" in err
    assert "fallback='self' cannot pair a given recording with itself" in err
    # the training split the exemplars come from is missing
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    assert main(base + ["--data-root", str(empty), "--meta", "difficulty=3.2"]) == 2
    err = capsys.readouterr().err
    assert f"data root '{empty}'" in err and "final_annotations_dict.pkl: pickle file not found" in err
    assert main(base + ["--data-root", str(trained["data"]), "--meta", "difficulty"]) == 2
    assert "--meta takes KEY=VALUE, got 'difficulty'" in capsys.readouterr().err
