"""Curating a new audio-visual class: candidates, automatic scores, review decisions, publishing into a data set."""
