"""Deterministic generator of a realistic telescope data set with ground truth."""
