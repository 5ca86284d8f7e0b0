"""Developer tools around the pipeline: the MLflow UI and its runs view, screenshots, seeds, overlays."""
