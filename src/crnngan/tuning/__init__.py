"""Optuna searches whose trials are MLflow runs."""
