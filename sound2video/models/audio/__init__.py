"""The audio tower: log-mel front-end, ResNet-style encoder into CLIP space, contrastive losses."""
