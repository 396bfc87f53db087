// Sweeps across machines: notebook runs as BullMQ jobs on Redis (npm run nb -- --queue URL), executed
// by workers anywhere (npm run worker -- --queue URL) through the same runner.
export { readCheckout, notebookInCheckout, CheckoutError, type Checkout } from "./queue/checkout";
export { checkConnection, redisOptions, redactUrl, QueueConnectionError } from "./queue/connection";
export { jobId, parseJob, QUEUE_NAME, type NotebookJob, type JobOutcome } from "./queue/jobs";
export { enqueueJobs, prepareJobs, submitSweep, waitForJobs, type QueuedRun, type SubmitOptions } from "./queue/submit";
export { startNotebookWorker, type NotebookWorker, type NotebookWorkerOptions } from "./queue/worker";
