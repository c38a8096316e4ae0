"""Uploaded files and their analysis (DESIGN §10 "Files"): CSV, XLSX, PDF, plain text and Markdown.

- `detection`: the type from the content, and whether the file can be read (encrypted/damaged refused).
- `extraction`: tables profiled in SQL as they stream in; documents cut into quotable passages (page, section).
- `analysis`: summary, key facts and suggested actions from the provider router (offline: `local_files`).
- `services` / `selectors`: upload, analyse, reanalyse, delete; scoped reads and the chat's file context.
- `signing`: short-lived signed download links (files are never served by path).
"""
