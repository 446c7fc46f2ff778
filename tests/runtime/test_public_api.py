"""The names applications import from `promptctl.runtime` are a deliberate API."""

import promptctl.runtime


def test_exported_names_exactly() -> None:
    assert sorted(promptctl.runtime.__all__) == [
        "BundleError",
        "ContextError",
        "EmbedResult",
        "InputValidationError",
        "LEDGER_ENV",
        "LoadedBundle",
        "PromptctlError",
        "ProviderError",
        "RenderError",
        "RunResult",
        "Runtime",
        "SkippedTarget",
        "StreamInterrupted",
        "ToolCall",
        "Usage",
    ]
    for name in promptctl.runtime.__all__:
        assert getattr(promptctl.runtime, name) is not None


def test_import_is_cheap_of_heavy_dependencies() -> None:
    import subprocess
    import sys

    # what the import adds (a coverage tracer in the child has loaded sqlite3 before it)
    code = (
        "import sys\nbefore = set(sys.modules)\nimport promptctl.runtime\n"
        "print(','.join(m for m in ('httpx2', 'httpx', 'cryptography', 'jsonschema', "
        "'sqlite3', 'opentelemetry') if m in set(sys.modules) - before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
