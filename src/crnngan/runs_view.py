"""The runs-table view that ``make ui`` opens, stored on the experiment by the evaluate stage.

MLflow's own default runs table shows no metric column; this view shows the key figures
(:data:`crnngan.evaluation.metrics.KEY_METRICS`).
"""

from __future__ import annotations

import json
from typing import Any

from mlflow import MlflowClient

from crnngan.tracking import tracking_uri

# The runs-table view that `make ui` opens. MLflow's UI reads a shared view from the experiment
# tag ``mlflow.sharedViewState.<key>`` when the URL carries ``?viewStateShareKey=<key>``; its
# own default shows no metric column. The view is plain JSON: the UI also accepts deflated text.
RUNS_VIEW = "key-figures"
_VIEW_TAG = "mlflow.sharedViewState."


def runs_view_state(metric_keys: list[str]) -> dict[str, Any]:
    """The UI state of the runs table showing ``metric_keys`` as columns (newest runs first);
    every other field at the UI's own default (MLflow 3.17), as the UI replaces its state
    with this one whole."""
    return {
        "selectedColumns": ["attributes.`Duration`"] + [f"metrics.`{k}`" for k in metric_keys],
        "columnOrder": [],
        "columnWidths": {},
        "runsExpanded": {},
        "runsPinned": [],
        "runsHidden": [],
        "runsVisibilityMap": {},
        "runsHiddenMode": "FIRST_10_RUNS",
        "viewMaximized": False,
        "runListHidden": False,
        "isAccordionReordered": False,
        "useGroupedValuesInCharts": True,
        "hideEmptyCharts": True,
        "groupBy": None,
        "groupsExpanded": {},
        "autoRefreshEnabled": True,
        "globalLineChartConfig": {"xAxisKey": "step", "lineSmoothness": 0, "selectedXAxisMetricKey": ""},
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
    }


def save_runs_view(experiment_id: str, metric_keys: list[str]) -> None:
    """Store the :data:`RUNS_VIEW` view of ``metric_keys`` on the experiment (replacing it)."""
    MlflowClient(tracking_uri()).set_experiment_tag(
        experiment_id, _VIEW_TAG + RUNS_VIEW, json.dumps(runs_view_state(metric_keys))
    )


def runs_view_url(base: str, experiment_id: str) -> str:
    """The UI address of the experiment's runs table in the :data:`RUNS_VIEW` view, in the
    UI's model-training mode (MLflow 3 opens on its GenAI overview otherwise)."""
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning&viewStateShareKey={RUNS_VIEW}"
