"""Files on disk: plain images and results with sidecars (:mod:`.images`), SEM TIFFs with their
calibration and data bar (:mod:`.sem_tiff`). Qt- and napari-free."""
