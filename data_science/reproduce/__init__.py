"""Every step as plain Python: the code that reproduces a tool call, and the chat as a notebook."""
