"""The indicator system as data: per-year YAML files, the units, the tagging vocabulary, and
the loader that validates them (`rubrics.indicators`). Knows no database and no screen."""
