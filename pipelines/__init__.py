"""Apache Beam code of xlcorpus: readers, transforms, writers and pipeline builders (no Prefect)."""
