"""Tiny model parts shared by the semi-supervised segmentor tests (not a test
module)."""

BN = dict(type='BN')


def tiny_unet_encoder() -> dict:
    """A 3-stage, base-4 UNetEncoder config (levels of 4, 8, 16 channels)."""
    return dict(
        type='UNetEncoder',
        in_channels=1,
        base_channels=4,
        num_stages=3,
        strides=(1, 1, 1),
        enc_num_convs=(1, 1, 1),
        dec_num_convs=(1, 1),
        downsamples=(True, True),
        enc_dilations=(1, 1, 1),
        dec_dilations=(1, 1),
        norm_cfg=BN)


def plain_preprocessor(**kwargs) -> dict:
    """SegDataPreProcessor without normalisation, labels padded with 255."""
    return dict(
        type='SegDataPreProcessor',
        mean=None,
        std=None,
        bgr_to_rgb=False,
        seg_pad_val=255,
        **kwargs)
