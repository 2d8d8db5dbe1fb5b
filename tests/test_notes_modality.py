"""The core side of a third modality: the model's notes branch with extra features, the
fusion of any modalities, PackAQAInputs' notes and extra inputs, the ordinal baseline
model, and a config's required plugins."""
import numpy as np
import pytest
import torch

from pisa.data.transforms.clip_transforms import PackAQAInputs
from pisa.engine.validate import ConfigError, check_required_plugins
from pisa.evaluation.baselines.ordinal import CumulativeLogistic
from pisa.registry import MODELS

HEAD = dict(type="LevelHead", hidden=8, num_classes=4)
ROLL = dict(type="AudioResNet18", width=4)  # any backbone of an image per clip


def notes_model(**kwargs):
    cfg = dict(type="AQAModel", audio_backbone=ROLL, notes_backbone=ROLL, head=HEAD,
               branches=("audio", "notes", "multimodal"), fusion_modalities=("audio", "notes"))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def batch(b=2, k=3, clip=5, sample=7):
    g = torch.Generator().manual_seed(0)
    return {"audio": torch.randn(b, k, 1, 16, 16, generator=g),
            "notes": torch.randn(b, k, 1, 16, 16, generator=g),
            "notes_clip_features": torch.randn(b, k, clip, generator=g),
            "notes_sample_features": torch.randn(b, sample, generator=g)}


def test_notes_branch_fuses_with_audio_and_reads_its_extra_features():
    model = notes_model(extra_features=dict(notes=dict(clip=5, sample=7)))
    assert model.modalities == ("audio", "notes")
    # the (averaging) aggregator keeps backbone + clip features; the fusion gets audio,
    # and notes with the sample features
    assert model.fusion.in_features == [model.audio_backbone.out_features,
                                        model.notes_backbone.out_features + 5 + 7]
    inputs = batch()
    out = model(inputs, mode="tensor")
    assert set(out) == {"audio", "notes", "multimodal"}
    # the sample features reach the notes head: changing them changes its output, not audio's
    model.eval()
    before = model(inputs, mode="tensor")
    changed = dict(inputs, notes_sample_features=inputs["notes_sample_features"] + 3.0)
    after = model(changed, mode="tensor")
    assert not torch.allclose(before["notes"]["cls"], after["notes"]["cls"])
    assert torch.allclose(before["audio"]["cls"], after["audio"]["cls"])
    losses = model(inputs, dict(label=torch.tensor([0, 3]), score=torch.tensor([0.0, 3.0])), mode="loss")
    sum(losses.values()).backward()
    assert model.extra_norms["notes_clip"].weight.grad is not None


def test_a_training_batch_of_one_sample_uses_the_running_statistics():
    model = notes_model(extra_features=dict(notes=dict(clip=5, sample=7)))
    inputs = {k: v[:1] for k, v in batch().items()}
    losses = model(inputs, dict(label=torch.tensor([1]), score=torch.tensor([1.0])), mode="loss")
    assert all(torch.isfinite(v) for v in losses.values())


def test_extra_features_missing_or_misshaped_are_named():
    model = notes_model(extra_features=dict(notes=dict(clip=5)))
    inputs = batch()
    inputs.pop("notes_clip_features")
    with pytest.raises(ValueError, match=r"inputs\['notes_clip_features'\] of shape \(2, 3, 5\); it is missing"):
        model(inputs, mode="tensor")
    with pytest.raises(ValueError, match=r"it is shape \(2, 3, 4\)"):
        model(dict(batch(), notes_clip_features=torch.zeros(2, 3, 4)), mode="tensor")
    with pytest.raises(ValueError, match="extra_features takes"):
        notes_model(extra_features=dict(video=dict(clip=3)))


def test_fusion_modalities_are_checked_and_default_to_video_and_audio():
    with pytest.raises(ValueError, match="fusion_modalities must be two or more"):
        notes_model(fusion_modalities=("notes",))
    with pytest.raises(ValueError, match=r"need 'notes_backbone'"):
        MODELS.build(dict(type="AQAModel", audio_backbone=ROLL, head=HEAD, branches=("notes",)))
    three = MODELS.build(dict(type="AQAModel", audio_backbone=ROLL, notes_backbone=ROLL, head=HEAD,
                              video_backbone=dict(type="C3D", widths=(4, 8), feature_dim=16,
                                                  clip_len=4, size=16),
                              fusion_modalities=("video", "audio", "notes")))
    assert three.modalities == ("video", "audio", "notes")
    assert len(three.fusion.in_features) == 3


def test_pack_inputs_packs_the_piano_roll_and_named_extras():
    roll = np.random.default_rng(0).random((3, 3, 88, 16)).astype(np.float32)
    results = dict(piano_roll=roll, note_descriptors=np.ones((3, 5)), performance_descriptors=np.arange(7.0),
                   label=2, score=2.0, sample_id="s", group="g", ann_source="test")
    pack = PackAQAInputs(modalities=("notes",), extra_inputs=dict(
        notes_clip_features="note_descriptors", notes_sample_features="performance_descriptors"))
    packed = pack(dict(results))
    assert packed["inputs"]["notes"].dtype == torch.float32
    assert torch.equal(packed["inputs"]["notes"], torch.from_numpy(roll))
    assert packed["inputs"]["notes_sample_features"].tolist() == list(range(7))
    assert packed["inputs"]["notes_clip_features"].shape == (3, 5)
    results.pop("note_descriptors")
    with pytest.raises(KeyError, match="has no 'note_descriptors'"):
        pack(results)
    with pytest.raises(ValueError, match="non-empty subset"):
        PackAQAInputs(modalities=("notes", "smell"))


def test_cumulative_logistic_uses_the_order_of_the_levels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1))
    y = np.clip(np.round(x[:, 0] * 1.5 + 2 + rng.normal(scale=0.3, size=200)), 0, 4).astype(np.int64)
    model = CumulativeLogistic(num_classes=6, C=10.0).fit(x, y)  # level 5 never seen
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    piped = make_pipeline(StandardScaler(), CumulativeLogistic(num_classes=6, C=10.0)).fit(x, y)
    piped_probs = piped.predict_proba(x[:5])  # a scikit-learn estimator: it fits in a pipeline
    assert piped_probs.shape == (5, 6) and np.allclose(piped_probs.sum(axis=1), 1.0)
    probs = model.predict_proba(np.array([[-3.0], [0.0], [3.0]]))
    assert probs.shape == (3, 6) and np.allclose(probs.sum(axis=1), 1.0) and (probs >= 0).all()
    expected = probs @ np.arange(6)
    assert expected[0] < expected[1] < expected[2]
    assert probs[:, 5].max() < 1e-9  # P(y >= 5) is the constant 0 of its training data


def test_required_plugins_name_the_missing_distribution_in_one_line():
    check_required_plugins(["pisa-core"])  # installed by the set-up
    with pytest.raises(ConfigError) as err:
        check_required_plugins(["pisa-no-such-plugin"], "my_config.py")
    message = str(err.value)
    assert "\n" not in message
    assert "my_config.py: needs the plugin distribution 'pisa-no-such-plugin'" in message
    with pytest.raises(ConfigError, match="must be a list"):
        check_required_plugins([3])


def test_an_optional_baseline_counts_as_registered_only_when_its_type_is():
    from pisa.engine.hooks.baseline_hook import _registered

    assert _registered("MajorityBaseline")
    assert not _registered("NoSuchBaseline")  # scored only where a plugin registers it
