"""napari adapters that are not dock widgets: the SEM calibration of layers, the writer, and the conversions between
napari layers and the core's arrays and hints. Thin; all the work is in the core."""
