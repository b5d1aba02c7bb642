"""xlmodel: a lean multi-objective trainer (MLM, TLM, code-switched MLM, EntityCS entity masking) for
XLM-R-style encoders, reading xlcorpus token shards directly. No Beam, no Prefect: only torch,
numpy, pyarrow and the schemas package."""
