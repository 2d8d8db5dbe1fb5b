"""The HTTP service of ``pisa serve``: one assessor (:mod:`pisa.apis`) loaded once and
answering uploads (:mod:`.app`), a bounded pool of workers (:mod:`.worker_pool`),
uploads streamed into private folders and checked by their content (:mod:`.uploads`,
:mod:`.media_types`), the page (``page.html``, ``page.js``, ``page.css``), and a small
client (:mod:`.client`) and child-process runner (:mod:`.process`) for scripts and
tests. It sits above the Python API, beside the command line; nothing below it imports
it. Its dependencies are the ``serve`` extra (FastAPI, uvicorn, python-multipart)."""
