"""`python -m skalds ...` is the `skalds` command."""

from skalds.cli.main import main

if __name__ == "__main__":
    main()
