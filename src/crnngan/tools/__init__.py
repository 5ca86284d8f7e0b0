"""Developer tools around the pipeline: the MLflow UI, screenshots, params overlays."""
