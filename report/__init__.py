"""The generated report: ``python -m report.build`` turns the runs on disk into README.md."""
