"""The provider layer is on the runtime path: it must stay light to import."""

from __future__ import annotations

import subprocess
import sys


def test_gateway_imports_no_cli_or_pricing_heavyweights() -> None:
    code = (
        "import sys\n"
        "import promptctl.providers.gateway, promptctl.plan.routing\n"
        "from promptctl.providers.base import ADAPTERS, load_adapter\n"
        "[load_adapter(k) for k in ADAPTERS]\n"
        "from promptctl.providers.pricing import price_for\n"
        "price_for('openai/gpt-4o-mini')\n"
        "heavy = ('typer', 'rich', 'git', 'deepdiff', 'click', 'genai_prices', 'pydantic',"
        " 'jsonschema')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
