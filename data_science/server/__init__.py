"""The HTTP server: app factory, upload route, health probes and the static chat page."""
