"""``pisa serve CONFIG CKPT|RUN_DIR [--host 127.0.0.1] [--port 8000] [--token T]
[--workers N] [--queue N] [--max-upload-mb N] [--timeout S] [--upload-dir DIR]
[--cfg-options K=V ...] [--data-root DIR]``: the assessor of ``pisa predict``, loaded
once, behind an HTTP service and a page (:mod:`pisa.serve`).

Safe by default: it listens on 127.0.0.1; listening on any other address without a
token (``--token`` or ``$PISA_SERVE_TOKEN``) is refused before anything is loaded."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from pisa.commands import CLIError, add_config_arguments, logs_to_stderr

TOKEN_ENV = "PISA_SERVE_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("checkpoint", help="trained weights (.pth), or the folder of one "
                        "--seeds/--folds call (the ensemble of its runs)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                        "any other needs a token)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: a free one)")
    parser.add_argument("--token", help=f"ask every request for 'Authorization: Bearer TOKEN' "
                        f"(default ${TOKEN_ENV}; the variable keeps it out of the process list)")
    parser.add_argument("--workers", type=int, default=1,
                        help="assessments at a time (default 1: the model already uses the "
                        "CPU's threads)")
    parser.add_argument("--queue", type=int, default=4,
                        help="requests that may wait for a worker; more are answered 503 "
                        "(default 4)")
    parser.add_argument("--max-upload-mb", type=float, default=200.0,
                        help="largest recording accepted, in MB (10^6 bytes; default 200)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds a request may take from its admission: upload, wait and "
                        "assessment (default 300)")
    parser.add_argument("--upload-dir", help="where the server makes its private upload folder "
                        "(default: the system's temporary folder)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--batch-size", type=int, default=2, help="samples per forward pass")


def _check(args: argparse.Namespace) -> None:
    for name, value, least in (("--workers", args.workers, 1), ("--queue", args.queue, 0),
                               ("--batch-size", args.batch_size, 1)):
        if value < least:
            raise CLIError(f"{name} must be >= {least}, got {value}")
    for name, value in (("--max-upload-mb", args.max_upload_mb), ("--timeout", args.timeout)):
        if not value > 0:
            raise CLIError(f"{name} must be > 0, got {value}")
    if not 0 <= args.port <= 65535:
        raise CLIError(f"--port must be 0..65535, got {args.port}")


def run(args: argparse.Namespace) -> int:
    from pisa.serve.app import is_loopback

    _check(args)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and not token:
        raise CLIError(f"refusing to listen on {args.host} without a token: anyone who can reach "
                       f"it could use the model; set ${TOKEN_ENV} (or --token), or listen on "
                       "127.0.0.1")
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise CLIError(f"pisa serve needs the 'serve' extra ({err.name} is missing): "
                       "pip install 'pisa-aqa[serve]'") from None
    from pisa.apis import init_assessor
    from pisa.apis.inference import member_checkpoints
    from pisa.serve.app import (ServeSettings, create_app, listening_socket, server_url,
                                uvicorn_server)

    try:  # before the model is loaded: a port in use fails fast
        sock = listening_socket(args.host, args.port)
    except OSError as err:
        raise CLIError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None
    try:
        with logs_to_stderr():
            assessor = init_assessor(args.config, args.checkpoint, device=args.device,
                                     cfg_options=dict(args.cfg_options or {}),
                                     data_root=args.data_root, batch_size=args.batch_size)
        settings = ServeSettings(
            token=token, workers=args.workers, queue=args.queue,
            max_upload_bytes=int(args.max_upload_mb * 1e6), timeout_s=float(args.timeout),
            upload_dir=args.upload_dir,
            model=dict(config=str(args.config), checkpoint=str(args.checkpoint),
                       checkpoints=member_checkpoints(args.checkpoint)))
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        app = create_app(assessor, settings)
        service = app.state.service
        print(f"pisa serve: listening on {server_url(sock)} ({args.workers} worker(s), queue "
              f"{args.queue}, uploads up to {args.max_upload_mb:g} MB in {service.uploads.root}, "
              f"{'token required' if token else 'no token'})", file=sys.stderr, flush=True)
        uvicorn_server(app).run(sockets=[sock])
    finally:
        sock.close()
    return 0
