"""Whole-project views: the params registry and whole-file validation, profiles, the cost plan, and what
``dvc.yaml``'s stages write."""
