"""Where data is kept: the workspace (ids → items), reading tables, the session store, exports."""
