"""`make infra-plan STACK=prod|dr`: what `pulumi up` would create, without a cloud or the CLI.

Prints one line per AWS resource (`type-token name region`) and then `resources: N`.
Providers and components are logical and left out; they are counted on the summary's stderr line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ame_infra.mocked import Inventory, run_stack


def render(inventory: Inventory) -> list[str]:
    rows = sorted(inventory.cloud_resources, key=lambda r: (r.region or "", r.type, r.name))
    return [f"{r.type} {r.name} {r.region}" for r in rows] + [f"resources: {len(rows)}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, choices=["prod", "dr"])
    parser.add_argument("--package-dir", type=Path, help="chalice package output (default: build/chalice)")
    args = parser.parse_args(argv)
    inventory = run_stack(args.stack, args.package_dir)
    print("\n".join(render(inventory)))
    components = sum(1 for r in inventory.resources if r.is_component)
    providers = len(inventory.resources) - len(inventory.cloud_resources) - components
    print(f"({components} components and {providers} providers not counted)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
