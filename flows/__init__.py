"""Prefect flows, tasks, configuration and the `xlcorpus` CLI. Calls pipelines and xlmodel."""
