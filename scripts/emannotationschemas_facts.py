#!/usr/bin/env python3
"""Record facts about emannotationschemas that its JSON Schema output does not carry.

The schema service sorts `properties` alphabetically, so the declaration order of a
schema's fields (which fixes the column order of CAVE's tables) cannot be read from the
JSON. This script asks the real library and writes:

  cave-schema/data/declaration_order.json
      {schema type: [root-definition field names in declaration order]}
  cave-schema/tests/fixtures/emannotationschemas-columns.json
      {schema type: [[column, SQL type, nullable], ...]} from models.create_table_dict,
      the ground truth the flattening tests compare against.

Usage (needs PyPI):
  python3 -m venv /tmp/emvenv && /tmp/emvenv/bin/pip install setuptools wheel \
      "emannotationschemas==5.26.3"
  /tmp/emvenv/bin/python scripts/emannotationschemas_facts.py
"""
import json
import pathlib

import emannotationschemas
from emannotationschemas import get_schema, type_mapping
from emannotationschemas.flatten import create_flattened_schema
from emannotationschemas.models import create_table_dict

ROOT = pathlib.Path(__file__).resolve().parent.parent


def write(path, data):
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def main():
    order, columns = {}, {}
    for name in type_mapping:
        schema = get_schema(name)
        order[name] = list(schema._declared_fields)
        table = create_table_dict(
            "t",
            create_flattened_schema(schema),
            segmentation_source=None,
            table_metadata={"reference_table": "target"},
            with_crud_columns=True,
        )
        columns[name] = [
            [col, str(c.type), bool(c.nullable)]
            for col, c in table.items()
            if not col.startswith("__")
        ]
    version = getattr(emannotationschemas, "__version__", "5.26.3")
    write(ROOT / "cave-schema/data/declaration_order.json",
          {"emannotationschemas": version, "types": order})
    write(ROOT / "cave-schema/tests/fixtures/emannotationschemas-columns.json",
          {"emannotationschemas": version, "types": columns})


if __name__ == "__main__":
    main()
