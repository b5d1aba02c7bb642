"""Wikipedia + Wikidata → entity-linked sentences → EntityCS code-switched samples (stage `wiki`).

Modules (plain functions first, Beam wrappers last):
  titles     MediaWiki title normalization and link classification
  wikitext   wikitext → plain paragraphs with anchor spans (mwparserfromhell)
  dump       streaming MediaWiki XML export reader (bz2/gz/plain, multistream index)
  wikidata   streaming Wikidata JSON dump reader (one entity per line)
  langs      Wikidata/Wikipedia language codes → project codes (xxx_Scrp) and back
  sentences  sentence splitting that never cuts an anchor; the EntityCS filters
  codeswitch one EntityCS sample per sampled language; release-format rows
  transforms the composite PTransforms (ReadWikipediaDump, ReadWikidataDump, ResolveEntities, ...)
  pipeline   the whole stage graph
  export     EntityCS release-format JSONL export
"""
