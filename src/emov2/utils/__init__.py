"""Leaf helpers with no package dependencies (file writes, weights-only loading)."""
