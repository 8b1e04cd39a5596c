"""Dataset readers and generators used by the dense-prediction tasks."""
