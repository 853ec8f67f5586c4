"""How work leaves the event loop: the worker process pool, and long jobs people can follow."""
