"""The Calrissian runner: CWL runs as Kubernetes Jobs (see runner.py)."""
