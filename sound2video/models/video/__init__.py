"""The sound-guided video model: sound inversion encoder, recurrent latent generator, rendering, discriminators,
losses (the ``train_video`` stage's networks)."""
