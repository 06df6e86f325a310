#!/usr/bin/env python3
"""CDK entry point: ``cdk synth`` / ``python app.py`` write the CloudFormation assembly to cdk.out.

Stack name: ``-c crosspost:stackName=...``, else $CROSSPOST_STACK_NAME, else "Crosspost".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The shared package (crosspost.resources) is the source of every name, key and route; it is a
# layer folder, not an installed package, in a fresh checkout.
for path in (ROOT / "layers" / "shared" / "python", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from infra.application import create_app  # noqa: E402  (needs the path above)


def main() -> None:
    # The CDK CLI says where to write (CDK_OUTDIR); run directly, the app would pick a temp dir.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(ROOT / "cdk.out")
    app, _ = create_app(outdir=outdir)
    app.synth()


if __name__ == "__main__":
    main()
