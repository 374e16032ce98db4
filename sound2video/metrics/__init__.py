"""The paper's metrics: FVD, Inception Score (per-frame Inception-v3 or C3D), CLIP similarities, LPIPS/MSE/PSNR.

Every result records its protocol (detector and checksum, sample counts, clip sampling, resize, estimator), since
these scores move with each of them.
"""
