"""What the app tells its operators: logs, the audit trail, metrics, traces, environment checks."""
