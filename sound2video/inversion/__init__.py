"""LHQ inversion into StyleGAN3's W+ (pSp-style encoder): the ``invert_lhq`` stage."""
