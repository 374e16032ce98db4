"""LHQ inversion into StyleGAN3's W+ (pSp-style encoder): the ``train_inversion`` stage."""
