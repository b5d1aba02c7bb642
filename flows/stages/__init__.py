"""One module per stage. Each exposes:

- ``enabled(cfg) -> bool``: whether the config gives the stage anything to do;
- ``run(cfg, force=False, log_fn=None) -> StageReport``: the stage itself (via flows.stage_runner.run_stage);
- ``summarize(cfg, result) -> rich renderable | None``: the table the CLI / demo prints, from the
  task result dict (stage, skipped, seconds, counters, key) and the manifests on disk.
"""
