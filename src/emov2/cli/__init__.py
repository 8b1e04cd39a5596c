"""The ``emov2`` command line."""
