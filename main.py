"""Run the data-science agent: `uv run main.py`, then open http://localhost:8080.

The same as the installed `data-science-agent` command (data_science/server/launch.py).
"""

from data_science.server.launch import main

if __name__ == "__main__":
    main()
