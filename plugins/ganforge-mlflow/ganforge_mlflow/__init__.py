"""An MLflow tracker for ganforge."""
