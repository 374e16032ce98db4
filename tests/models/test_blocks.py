"""The shared building blocks (``models/blocks.py``) and the backbone params both encoders extend
(``models/configuration_blocks.py``): one backbone taking a ``norm_layer``, keys that do not depend on the norm."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from sound2video.models.blocks import Backbone, GradualStyleBlock
from sound2video.models.configuration_blocks import BackboneParams
from sound2video.models.inversion.configuration_inversion import EncoderParams
from sound2video.models.inversion.encoder import GradualStyleEncoder
from sound2video.models.video.configuration_video import SoundEncoderParams
from sound2video.models.video.sound_encoder import SoundEncoder

RUNNING_STATS = ("running_mean", "running_var", "num_batches_tracked")


def group_norm(channels: int) -> torch.nn.Module:
    return torch.nn.GroupNorm(2, channels)


@pytest.mark.parametrize("kind", ["resnet34", "ir_se50"])
def test_backbone_norm_layer_sets_every_norm_and_keeps_the_keys(kind):
    batch = Backbone(kind, 4, [1, 2, 1, 1], in_channels=1)
    group = Backbone(kind, 4, [1, 2, 1, 1], in_channels=1, norm_layer=group_norm)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in group.modules())
    assert sum(isinstance(m, torch.nn.GroupNorm) for m in group.modules()) == sum(
        isinstance(m, torch.nn.BatchNorm2d) for m in batch.modules()
    )
    assert [k for k in batch.state_dict() if not k.endswith(RUNNING_STATS)] == list(group.state_dict())
    feats = group(torch.randn(2, 1, 32, 48))
    assert [tuple(f.shape) for f in feats] == [(2, 8, 8, 12), (2, 16, 4, 6), (2, 32, 2, 3)]
    assert group.channels == [8, 16, 32]


def test_backbone_and_heads_name_a_wrong_input():
    with pytest.raises(ValueError, match=r"Backbone input has shape \[2, 3, 32, 32\], expected \[N, 1, H, W\]"):
        Backbone("resnet34", 4, [1, 1, 1, 1], in_channels=1)(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"GradualStyleBlock input has shape \[2, 4, 8, 8\], expected \[N, 8, H, W\]"):
        GradualStyleBlock(8, 16, 8)(torch.randn(2, 4, 8, 8))
    with pytest.raises(ValueError, match="backbone kind must be one of"):
        Backbone("vgg", 4, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="4 stages of at least 1 unit"):
        Backbone("resnet34", 4, [1, 1, 1])


def test_state_dict_keys_of_models_saved_before_the_shared_backbone():
    """Keys as the encoders wrote them before the shared backbone (old model folders must load)."""
    inv = GradualStyleEncoder(EncoderParams(backbone="ir_se50", width=8, blocks=[1, 1, 1, 1]), 10, 24, 64)
    inv_keys = set(inv.state_dict())
    assert {
        "body.stem.0.weight",
        "body.stem.1.running_var",
        "body.stem.2.weight",
        "body.stages.0.0.residual.0.weight",
        "body.stages.0.0.residual.5.fc1.weight",
        "body.stages.1.0.shortcut.1.running_mean",
        "top.weight",
        "lateral2.bias",
        "lateral1.weight",
        "styles.9.convs.0.weight",
        "styles.9.linear.bias",
    } <= inv_keys
    params = SoundEncoderParams(width=4, blocks=[1, 1, 1, 1], style_channels=8, sound_dim=8)
    snd_keys = set(SoundEncoder(params, 10, 16, 20, 40, [3, 6]).state_dict())
    assert {
        "body.stem.1.weight",  # a GroupNorm where the inversion encoder has a BatchNorm
        "body.stages.1.0.bn1.bias",
        "body.stages.1.0.shortcut.1.weight",
        "top.weight",
        "lateral1.bias",
        "heads.0.linear.weight",
        "sound.weight",
    } <= snd_keys
    assert not any(k.endswith(RUNNING_STATS) for k in snd_keys)


def test_backbone_params_are_declared_once_and_the_yaml_keys_are_kept():
    shared = ["backbone", "width", "blocks", "style_channels"]
    assert list(BackboneParams.model_fields) == shared
    assert list(EncoderParams.model_fields) == shared  # train_inversion.encoder
    assert list(SoundEncoderParams.model_fields) == [*shared, "sound_dim", "norm", "norm_groups", "init_scale"]
    for cls in (EncoderParams, SoundEncoderParams):
        assert issubclass(cls, BackboneParams)
        assert [repr(cls.model_fields[k]) for k in shared] == [repr(BackboneParams.model_fields[k]) for k in shared]
        with pytest.raises(ValidationError, match="blocks"):
            cls(blocks=[1, 0, 1, 1])
    assert EncoderParams(backbone="ir_se50").stage_blocks == [3, 4, 14, 3]
    assert SoundEncoderParams().stage_blocks == [3, 4, 6, 3]
    assert SoundEncoderParams(blocks=[1, 2, 1, 1]).stage_blocks == [1, 2, 1, 1]
    assert EncoderParams().style_width(512) == 512 and EncoderParams(style_channels=32).style_width(512) == 32
