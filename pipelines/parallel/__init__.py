"""The parallel stage's Beam code: read pairs → clean → word tokens → alignments → lexicon →
ALM and dictionary code-switched samples. Per-element logic lives in plain functions per module;
`pipeline.build_parallel` wires the composite transforms together."""
