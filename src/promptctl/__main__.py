from promptctl.cli.main import entry

entry()
