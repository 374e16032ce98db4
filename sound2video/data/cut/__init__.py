"""The cut stage: source videos -> exact fixed-size audio-visual clips with quality flags."""
