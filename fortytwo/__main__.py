"""``python -m fortytwo`` and the frozen executable's entry point."""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()  # must come first in a frozen build

    from fortytwo.cli import main

    main()
