"""Executes one notebook with nbclient and reports progress as JSON lines on stdout.

Usage: python3 nbexec.py '<json: {"input", "output", "kernel", "timeout", "startupTimeout", "trust"}>'

Events (one JSON object per line):
  {"event": "start", "codeCells": n}
  {"event": "cell_start", "index": i}
  {"event": "cell_done", "index": i, "seconds": s}
  {"event": "cell_error", "index": i, "seconds": s, "text": "<the cell's stderr / traceback>"}
  {"event": "failed", "index": i or null, "message": "..."}   # timeouts, dead kernel, startup errors
  {"event": "kernel_retry", "attempt": n, "message": "..."}   # a kernel that failed to start, replaced
  {"event": "saved", "path": "...", "trusted": true/false, "trustError": "..."}
The executed notebook is saved to "output" whether or not execution succeeds. With "trust" it is
also signed for this user (what `jupyter trust` does; nbclient does not sign), so Notebook and
JupyterLab run the scripts of its HTML outputs, such as plots.
Exit status: 0 when every cell ran, 1 otherwise.
"""

import json
import os
import sys
import time

import nbformat
from jupyter_client.kernelspec import NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat.sign import NotebookNotary


KERNEL_STARTS = 3


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def error_text(cell):
    """tslab puts the real error (type error or stack) on stderr, not in ename/evalue."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            parts.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            parts.append("\n".join(output.get("traceback") or [f"{output.get('ename')}: {output.get('evalue')}"]))
    return "".join(parts).strip()


def sign(nb):
    try:
        NotebookNotary().sign(nb)
        return {"trusted": True}
    except Exception as e:
        return {"trusted": False, "trustError": f"{type(e).__name__}: {e}"}


def die_with_parent(parent_pid):
    """A runner killed outright (SIGKILL: a queue worker that vanished) cannot stop this driver, whose
    kernel would go on running the notebook next to the retry; Linux sends SIGTERM instead. The kernel
    itself exits when this driver does (lib/jupyter/parent-watch.cjs)."""
    try:
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return  # not Linux
    if parent_pid and os.getppid() != parent_pid:
        sys.exit(1)  # the runner died before the line above


def execute_with_fresh_kernels(new_client, any_cell_started, attempts=KERNEL_STARTS):
    """A kernel that dies or stays silent before the first cell (a port taken between jupyter_client
    choosing it and the kernel binding it) is replaced by one on fresh ports; once a cell has run,
    a failure is the notebook's and is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return new_client().execute()
        except (CellExecutionError, CellTimeoutError, NoSuchKernel):
            raise
        except Exception as e:
            if any_cell_started() or attempt == attempts:
                raise
            emit("kernel_retry", attempt=attempt, message=f"{type(e).__name__}: {e}")


def main():
    args = json.loads(sys.argv[1])
    die_with_parent(args.get("parentPid"))
    nb = nbformat.read(args["input"], as_version=4)
    started = {}
    running = []  # the index of the cell being executed, if any
    reported_error = []

    def on_cell_start(cell, cell_index, **_):
        if cell.cell_type == "code" and cell.source.strip():
            started[cell_index] = time.monotonic()
            running[:] = [cell_index]
            emit("cell_start", index=cell_index)

    def elapsed(cell_index):
        return round(time.monotonic() - started.get(cell_index, time.monotonic()), 3)

    def on_cell_executed(cell, cell_index, execute_reply, **_):
        running.clear()
        if execute_reply["content"].get("status") == "ok":
            emit("cell_done", index=cell_index, seconds=elapsed(cell_index))

    def on_cell_error(cell, cell_index, execute_reply, **_):
        reported_error.append(cell_index)
        emit("cell_error", index=cell_index, seconds=elapsed(cell_index), text=error_text(cell))

    def new_client():
        return NotebookClient(
            nb,
            kernel_name=args["kernel"],
            timeout=args["timeout"],
            startup_timeout=args["startupTimeout"],
            record_timing=True,
            on_cell_start=on_cell_start,
            on_cell_executed=on_cell_executed,
            on_cell_error=on_cell_error,
        )

    emit("start", codeCells=sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip()))
    ok = False
    try:
        execute_with_fresh_kernels(new_client, lambda: bool(started))
        ok = True
    except CellExecutionError:
        if not reported_error:
            emit("failed", index=None, message="a cell failed without an error report")
    except CellTimeoutError:
        emit("failed", index=running[0] if running else None,
             message=f"cell timed out after {args['timeout']} s (the per-cell timeout)")
    except DeadKernelError as e:
        emit("failed", index=running[0] if running else None, message=f"kernel died: {e}")
    except Exception as e:  # kernel start failures, missing kernel spec, ...
        emit("failed", index=running[0] if running else None, message=f"{type(e).__name__}: {e}")
    finally:
        partial = f"{args['output']}.{os.getpid()}.tmp"
        nbformat.write(nb, partial)
        os.replace(partial, args["output"])
        emit("saved", path=args["output"], **(sign(nb) if args.get("trust") else {}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
