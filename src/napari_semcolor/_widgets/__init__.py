"""napari adapters: thin dock widgets over the core (the only part that imports napari/Qt)."""
