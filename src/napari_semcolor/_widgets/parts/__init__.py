"""Parts the dock widgets are built from: run/cancel/progress, debouncing, backend options,
the region colour table and the proposal readout."""
