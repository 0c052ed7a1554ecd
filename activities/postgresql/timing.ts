/** How long a stop or a start may take on the host (pg_ctl -t), and the SSH command around it. */
export const PG_CTL_WAIT_SECONDS = 60;
export const COMMAND_MS = (PG_CTL_WAIT_SECONDS + 15) * 1000;
/** A read over SSH (pg_ctl status, pg_controldata). */
export const READ_MS = 30_000;
/** Between two reads of a server that is expected to move (replay, WAL receiver). */
export const POLL_MS = 200;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
