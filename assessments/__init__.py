"""Assay's service: storage, the REST API, web pages, LTI, import/export, jobs and the CLI.

Everything that touches a database, a request or a clock lives here; the grading logic lives in
the pure ``engine`` package.
"""
