"""Training code for the bundled models: one module per model, run from the repository root as
``python -m training.<model>`` (commands in ``models/MODELS.md``).

Kept outside the ``napari_semcolor`` package on purpose: it needs the training data and a
checkout, never runs inside napari, and the plugin never imports it, so the wheel users install
does not ship it (the sdist does, for reproducibility).
"""
