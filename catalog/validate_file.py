"""Validate one YAML data file against one schema: ``python -m catalog.validate_file Schema FILE``.

A development aid for people editing data; the test suite validates the whole catalog.
"""

from __future__ import annotations

import sys

import yaml
from pydantic import ValidationError

from catalog import schemas


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m catalog.validate_file SCHEMA FILE.yaml", file=sys.stderr)
        return 2
    schema = getattr(schemas, argv[0])
    with open(argv[1], encoding="utf-8") as fh:
        entries = yaml.safe_load(fh) or []
    errors = 0
    ids: set[str] = set()
    for index, raw in enumerate(entries):
        label = raw.get("id", f"#{index}") if isinstance(raw, dict) else f"#{index}"
        try:
            entry = schema.model_validate(raw)
        except ValidationError as exc:
            errors += 1
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                print(f"{argv[1]}: entry {label}: field {loc}: {err['msg']}")
            continue
        key = getattr(entry, "id", None)
        if key is None:
            continue
        if key in ids:
            errors += 1
            print(f"{argv[1]}: entry {label}: duplicate id")
        ids.add(key)
    print(f"{argv[1]}: {len(entries)} entries, {errors} with errors")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
