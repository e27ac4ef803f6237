"""The registry: datasets, versions, splits, models, evaluations, jobs and overlap reports."""
