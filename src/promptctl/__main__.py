from promptctl.cli.main import main

main()
