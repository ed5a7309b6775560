"""The reliability suite: every bad input, fault and attack citeqa has been tried against, kept as a test.

Each case says what was tried and what a user must see: a clear error (one line, no traceback) and nothing
lost (the index still answers, the user's files are untouched, no secret leaves the process). Fast cases run
in the default suite; cases that need seconds or more (megabytes of input, killed processes, real servers)
are marked ``heavy`` and run by ``make test``. Files are named ``test_rel_<topic>.py`` so that their
basenames never collide with the package test modules.
"""
