"""The AQA model: video, audio and multimodal branches (Fig. 4 of the PISA paper),
any subset of them, from one config; a third modality, ``notes`` (a piano roll per clip,
from a transcription plugin), joins them the same way."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from pisa.models.batch import sample_column
from pisa.models.losses import loss_name_of
from pisa.registry import AGGREGATORS, BACKBONES, FUSIONS, HEADS, LOSSES, MODELS, component

#: the modalities a model reads, in the order the multimodal branch fuses them
MODALITIES = ("video", "audio", "notes")
BRANCHES = MODALITIES + ("multimodal",)
#: branch -> the modalities (input keys) it reads; the multimodal branch's default (a
#: model may fuse other modalities: ``fusion_modalities``)
BRANCH_MODALITIES = {"video": ("video",), "audio": ("audio",), "notes": ("notes",),
                     "multimodal": ("video", "audio")}
#: modality -> dimensions of its input, ``(B, K, ...)``
INPUT_DIMS = {"video": 6, "audio": 5, "notes": 5}
#: where a modality's extra features come in: ``inputs[f'{modality}_{where}_features']``
EXTRA_PLACES = ("clip", "sample")

ConfigType = Union[dict, nn.Module]


def _build(registry, cfg: Optional[ConfigType], **default_args: Any) -> Optional[nn.Module]:
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return registry.build(cfg, default_args=default_args or None)


@component("model")
class AQAModel(BaseModel):
    """Clips -> per-modality backbone -> clip aggregation -> per-branch head.

    ``inputs``: ``{'video': (B, K, 3, T, H, W), 'audio': (B, K, 1, F, W)}`` (after
    :class:`AQADataPreprocessor`); clips are folded into the batch for the backbone
    (``(B*K, ...)``) and the features unfolded to ``(B, K, D)`` for the aggregator.
    The multimodal branch fuses the aggregated features of ``fusion_modalities`` (default
    video and audio, in that order). Every branch in ``branches`` gets its own head built
    from ``head`` and is trained with every loss in ``losses``; ``decision_branch`` gives
    ``pred_label``/``pred_score``.

    ``notes``: ``inputs['notes']`` ``(B, K, C, P, W)`` (a piano roll per clip, from a
    transcription plugin) through ``notes_backbone`` and ``notes_aggregator`` like the
    audio mel images. ``extra_features`` adds fixed features to a modality:
    ``{'notes': dict(clip=E, sample=G)}`` reads ``inputs['notes_clip_features']``
    ``(B, K, E)`` (per clip, concatenated to the backbone's clip features before the
    aggregator) and ``inputs['notes_sample_features']`` ``(B, G)`` (per sample, e.g. the
    whole performance's descriptors, concatenated after it); each is standardised by a
    ``BatchNorm1d`` first, since hand-made features come in unrelated units.
    ``decision`` is the rule (:mod:`pisa.models.decisions`, default the classifier's
    argmax) that turns the class probabilities ``softmax(cls / temperature)`` and the
    regression output into ``pred_label``; a run may replace both after training
    (:meth:`set_decision`: temperature scaling and the rule chosen on validation).
    """

    def __init__(
        self,
        video_backbone: Optional[ConfigType] = None,
        audio_backbone: Optional[ConfigType] = None,
        video_aggregator: ConfigType = dict(type="AvgAggregator"),
        audio_aggregator: ConfigType = dict(type="AvgAggregator"),
        fusion: Optional[ConfigType] = dict(type="ConcatFusion", detach=True),
        notes_backbone: Optional[ConfigType] = None,
        notes_aggregator: ConfigType = dict(type="AvgAggregator"),
        fusion_modalities: Optional[Sequence[str]] = None,
        extra_features: Optional[Dict[str, Dict[str, int]]] = None,
        head: dict = dict(type="LevelHead", hidden=128, num_classes=10),
        losses: Sequence[ConfigType] = (dict(type="CrossEntropyLoss", weight=1.0),
                                        dict(type="L1L2Loss", weight=0.1)),
        mixup: Optional[dict] = None,
        branches: Sequence[str] = ("video", "audio", "multimodal"),
        decision_branch: Optional[str] = None,
        decision: Optional[Union[str, dict]] = None,
        temperature: float = 1.0,
        data_preprocessor: Optional[ConfigType] = None,
        init_cfg: Optional[dict] = None,
    ) -> None:
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.branches = self._check_branches(branches)
        self.decision_branch = decision_branch or (
            "multimodal" if "multimodal" in self.branches else self.branches[0])
        if self.decision_branch not in self.branches:
            raise ValueError(
                f"AQAModel: decision_branch {self.decision_branch!r} is not one of the "
                f"configured branches {list(self.branches)}"
            )
        self.set_decision(decision, temperature)
        self.branch_modalities = dict(BRANCH_MODALITIES)
        if fusion_modalities is not None:
            fused = (fusion_modalities,) if isinstance(fusion_modalities, str) else tuple(fusion_modalities)
            if len(fused) < 2 or len(set(fused)) != len(fused) or set(fused) - set(MODALITIES):
                raise ValueError(f"AQAModel: fusion_modalities must be two or more distinct names "
                                 f"from {list(MODALITIES)}, got {list(fused)}")
            self.branch_modalities["multimodal"] = fused
        self.modalities = tuple(m for m in MODALITIES if any(
            m in self.branch_modalities[b] for b in self.branches))
        self.extra_features = self._check_extras(extra_features)
        backbone_cfgs = {"video": video_backbone, "audio": audio_backbone, "notes": notes_backbone}
        aggregator_cfgs = {"video": video_aggregator, "audio": audio_aggregator,
                           "notes": notes_aggregator}
        feature_sizes: Dict[str, int] = {}
        self.extra_norms = nn.ModuleDict()
        for modality in self.modalities:
            if backbone_cfgs[modality] is None:
                users = [b for b in self.branches if modality in self.branch_modalities[b]]
                raise ValueError(
                    f"AQAModel: branches {users} need '{modality}_backbone', which is not set"
                )
            backbone = _build(BACKBONES, backbone_cfgs[modality])
            extras = self.extra_features.get(modality, {})
            for where, size in extras.items():
                self.extra_norms[f"{modality}_{where}"] = nn.BatchNorm1d(size)
            aggregator = _build(AGGREGATORS, aggregator_cfgs[modality],
                                in_features=backbone.out_features + extras.get("clip", 0))
            setattr(self, f"{modality}_backbone", backbone)
            setattr(self, f"{modality}_aggregator", aggregator)
            feature_sizes[modality] = aggregator.out_features + extras.get("sample", 0)
        self.fusion = None
        if "multimodal" in self.branches:
            if fusion is None:
                raise ValueError("AQAModel: the 'multimodal' branch needs 'fusion', which is not set")
            self.fusion = _build(FUSIONS, fusion, in_features=[
                feature_sizes[m] for m in self.branch_modalities["multimodal"]])
            feature_sizes["multimodal"] = self.fusion.out_features
        self.heads = nn.ModuleDict(
            {b: _build(HEADS, dict(head), in_features=feature_sizes[b]) for b in self.branches})
        self.losses = nn.ModuleList([_build(LOSSES, cfg) for cfg in losses])
        self._check_losses()
        # mixup of training batches (see loss): None, or dict(alpha=0.2, prob=1.0)
        if mixup is not None:
            given = dict(mixup)
            alpha, prob = float(given.pop("alpha", 0.2)), float(given.pop("prob", 1.0))
            if given or not alpha > 0 or not 0.0 <= prob <= 1.0:
                raise ValueError(f"AQAModel: mixup takes alpha > 0 and prob in [0, 1] "
                                 f"(dict(alpha=0.2, prob=1.0)), got {dict(mixup)}")
            mixup = dict(alpha=alpha, prob=prob)
        self.mixup = mixup

    @staticmethod
    def _check_branches(branches: Sequence[str]) -> tuple:
        if isinstance(branches, str):
            branches = (branches,)
        branches = tuple(branches)
        unknown = [b for b in branches if b not in BRANCHES]
        if unknown or not branches or len(set(branches)) != len(branches):
            raise ValueError(
                f"AQAModel: branches must be distinct names from {list(BRANCHES)}, got {list(branches)}"
            )
        return branches

    def _check_extras(self, extra_features: Optional[Dict[str, Dict[str, int]]]) -> Dict[str, Dict[str, int]]:
        extras = {m: dict(v) for m, v in (extra_features or {}).items()}
        for modality, places in extras.items():
            if modality not in self.modalities or set(places) - set(EXTRA_PLACES) or not all(
                    isinstance(n, int) and n > 0 for n in places.values()):
                raise ValueError(
                    f"AQAModel: extra_features takes {{modality: dict(clip=E, sample=G)}} for "
                    f"modalities the model reads {list(self.modalities)}, sizes > 0; got "
                    f"{modality!r}: {places}")
        return extras

    def _extra(self, inputs: Dict[str, torch.Tensor], modality: str, where: str,
               leading: tuple) -> torch.Tensor:
        key = f"{modality}_{where}_features"
        size = self.extra_features[modality][where]
        x = inputs.get(key) if isinstance(inputs, dict) else None
        if x is None or tuple(x.shape) != (*leading, size):
            got = "missing" if x is None else f"shape {tuple(x.shape)}"
            raise ValueError(f"AQAModel: extra_features needs inputs[{key!r}] of shape "
                             f"{(*leading, size)}; it is {got}")
        norm = self.extra_norms[f"{modality}_{where}"]
        flat = x.float().reshape(-1, size)
        if self.training and flat.shape[0] == 1:
            # one value per feature has no batch statistics (a last batch of one sample):
            # standardise it with the running ones
            return nn.functional.batch_norm(flat, norm.running_mean, norm.running_var, norm.weight,
                                            norm.bias, False, 0.0, norm.eps).view(*leading, size)
        return norm(flat).view(*leading, size)

    def _check_losses(self) -> None:
        if not len(self.losses):
            raise ValueError("AQAModel: 'losses' is empty; configure at least one loss")
        names = [loss_name_of(loss) for loss in self.losses]
        if len(set(names)) != len(names):
            raise ValueError(f"AQAModel: two losses share a loss_name: {names}; set loss_name")
        for branch, head in self.heads.items():
            for loss in self.losses:
                if getattr(loss, "requires", None) == "cls" and getattr(head, "num_classes", 1) == 0:
                    raise ValueError(
                        f"AQAModel: loss {type(loss).__name__} needs class logits but the "
                        f"{branch} head has num_classes=0"
                    )

    # ------------------------------------------------------------------ features
    def _clip_input(self, inputs: Dict[str, torch.Tensor], modality: str) -> torch.Tensor:
        if not isinstance(inputs, dict) or modality not in inputs:
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            users = [b for b in self.branches if modality in self.branch_modalities[b]]
            raise KeyError(
                f"AQAModel: inputs[{modality!r}] is missing (needed by branches {users}); "
                f"got {got}"
            )
        x = inputs[modality]
        if x.dim() != INPUT_DIMS[modality]:
            raise ValueError(
                f"AQAModel: inputs[{modality!r}] must have {INPUT_DIMS[modality]} dims "
                f"(B, K, ...), got shape {tuple(x.shape)}"
            )
        return x

    def extract_feats(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``inputs`` -> ``{modality: (B, D)}`` aggregated sample features."""
        feats = {}
        for modality in self.modalities:
            x = self._clip_input(inputs, modality)
            batch, clips = x.shape[:2]
            clip_feats = getattr(self, f"{modality}_backbone")(x.flatten(0, 1))
            clip_feats = clip_feats.view(batch, clips, -1)
            extras = self.extra_features.get(modality, {})
            if "clip" in extras:
                clip_feats = torch.cat([clip_feats, self._extra(inputs, modality, "clip",
                                                                (batch, clips))], dim=2)
            feats[modality] = getattr(self, f"{modality}_aggregator")(clip_feats)
            if "sample" in extras:
                feats[modality] = torch.cat([feats[modality], self._extra(inputs, modality, "sample",
                                                                          (batch,))], dim=1)
        return feats

    def branch_outputs(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, Dict[str, torch.Tensor]]:
        """``inputs`` -> ``{branch: {'cls': (B, C), 'reg': (B,)}}``."""
        feats = self.extract_feats(inputs)
        outputs = {}
        for branch in self.branches:
            if branch == "multimodal":
                x = self.fusion([feats[m] for m in self.branch_modalities["multimodal"]])
            else:
                x = feats[branch]
            outputs[branch] = self.heads[branch](x)
        return outputs

    # ------------------------------------------------------------------ modes
    def forward(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[dict] = None,
                mode: str = "tensor") -> Union[Dict[str, Any], List[dict]]:
        """``mode='loss'``: ``{'loss_<branch>_<name>': scalar}``; ``'predict'``: one dict
        per sample; ``'tensor'``: :meth:`branch_outputs`."""
        if mode == "tensor":
            return self.branch_outputs(inputs)
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        raise ValueError(f"AQAModel: unknown mode {mode!r}; use 'loss', 'predict' or 'tensor'")

    def _targets(self, data_samples: Optional[dict], device: torch.device) -> Dict[str, torch.Tensor]:
        if not isinstance(data_samples, dict):
            raise ValueError("AQAModel: mode='loss' needs data_samples with 'label' and 'score'")
        targets = {}
        for key, dtype in (("label", torch.long), ("score", torch.float32)):
            if key not in data_samples:
                raise KeyError(f"AQAModel: data_samples[{key!r}] is missing; got {sorted(data_samples)}")
            targets[key] = torch.as_tensor(data_samples[key], device=device).to(dtype)
        return targets

    def loss(self, inputs: Dict[str, torch.Tensor], data_samples: dict,
             mix: Optional[tuple] = None) -> Dict[str, torch.Tensor]:
        """Each loss on each branch, weighted by the loss's ``weight`` (Eq. 1).

        Mixup (``mixup=dict(alpha, prob)``, in training mode; as mmaction2 blends, with
        hard targets): with probability ``prob`` the batch is blended with itself
        reordered, ``x = lam * x + (1 - lam) * x[perm]`` for every modality, and each loss
        is ``lam * L(out, targets) + (1 - lam) * L(out, targets[perm])`` (the label and the
        regression score alike). ``u ~ U(0, 1)`` (mixed when ``u < prob``), ``lam ~
        Beta(alpha, alpha)`` and ``perm`` (a permutation of the batch), in that order,
        come from torch's global CPU generator, which the runner seeds and
        ``EpochSeedHook`` reseeds each epoch: a resumed run mixes as an uninterrupted one.
        ``mix = (lam, perm)`` blends with those instead (drawing nothing)."""
        if (mix is None and self.mixup is not None and self.training
                and isinstance(inputs, dict) and inputs):
            batch = len(next(iter(inputs.values())))
            if float(torch.rand(())) < self.mixup["prob"]:
                alpha = torch.tensor(self.mixup["alpha"], dtype=torch.float64)
                mix = (float(torch.distributions.Beta(alpha, alpha).sample()), torch.randperm(batch))
        if mix is not None:
            lam, perm = float(mix[0]), torch.as_tensor(mix[1], dtype=torch.long)
            inputs = {m: lam * x + (1.0 - lam) * x[perm.to(x.device)] for m, x in inputs.items()}
        outputs = self.branch_outputs(inputs)
        device = next(iter(outputs.values()))["reg"].device
        targets = self._targets(data_samples, device)
        if mix is None:
            return {f"loss_{branch}_{loss_name_of(loss)}": loss(out, targets)
                    for branch, out in outputs.items() for loss in self.losses}
        other = {key: value[perm.to(device)] for key, value in targets.items()}
        return {f"loss_{branch}_{loss_name_of(loss)}":
                lam * loss(out, targets) + (1.0 - lam) * loss(out, other)
                for branch, out in outputs.items() for loss in self.losses}

    def set_decision(self, decision: Optional[Union[str, dict]] = None,
                     temperature: float = 1.0) -> None:
        """Use ``decision`` (a rule config or registered name; None = argmax) and divide
        the class logits by ``temperature`` (> 0) before the softmax in :meth:`predict`."""
        from pisa.models.decisions import build_decision_rule

        if not float(temperature) > 0:
            raise ValueError(f"AQAModel: temperature must be > 0, got {temperature}")
        self.decision_rule = build_decision_rule(decision)
        self.temperature = float(temperature)

    @torch.no_grad()
    def predict(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[dict] = None) -> List[dict]:
        """One dict per sample: ``pred_label`` (the decision rule on the decision branch's
        probabilities and regression; -1 without a classifier), ``probs`` (C floats,
        ``softmax(cls / temperature)``), ``pred_score``, ``gt_label``, ``gt_score``,
        ``sample_id``, ``group``, ``decision`` (the rule's config) and ``temperature``,
        and ``branches`` with each branch's own ``pred_label``, ``probs``, ``pred_score``."""
        outputs = self.branch_outputs(inputs)
        per_branch = {}
        for branch, out in outputs.items():
            cls = out["cls"].float()
            reg = out["reg"].float()
            probs = torch.softmax(cls / self.temperature, dim=1) if cls.shape[1] else cls
            if cls.shape[1]:
                labels = self.decision_rule(probs.cpu().double().numpy(),
                                            reg.cpu().double().numpy()).tolist()
            else:
                labels = [-1] * len(cls)
            per_branch[branch] = (labels, probs.tolist(), reg.tolist())
        batch = len(next(iter(per_branch.values()))[0])
        gt_label = sample_column(data_samples, "label", int, batch)
        gt_score = sample_column(data_samples, "score", float, batch)
        sample_id = sample_column(data_samples, "sample_id", str, batch)
        group = sample_column(data_samples, "group", str, batch)
        rule = self.decision_rule.config()
        results = []
        for i in range(batch):
            branches = {b: {"pred_label": int(v[0][i]), "probs": v[1][i], "pred_score": v[2][i]}
                        for b, v in per_branch.items()}
            decision = branches[self.decision_branch]
            results.append(dict(decision, gt_label=gt_label[i], gt_score=gt_score[i],
                                sample_id=sample_id[i], group=group[i],
                                decision=rule, temperature=self.temperature,
                                branches=branches))
        return results
