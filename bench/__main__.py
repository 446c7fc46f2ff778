"""Run every bench/<name>.py in turn (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
failed = 0
for script in sorted(here.glob("*.py")):
    if script.name.startswith("_"):
        continue
    print(f"== {script.stem}", flush=True)
    failed |= subprocess.run([sys.executable, str(script)], check=False).returncode
sys.exit(1 if failed else 0)
