"""Developer tools around the pipeline: the MLflow UI, screenshots, seed experiments, params overlays."""
