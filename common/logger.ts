/** Structured JSON-lines logger shared by the worker, the CLI and the dev stack. */
export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type LogMeta = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, message: string, meta?: LogMeta): void;
  trace(message: string, meta?: LogMeta): void;
  debug(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  error(message: string, meta?: LogMeta): void;
}

const ORDER: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

function parseLevel(value: string | undefined): LogLevel {
  const upper = (value ?? 'INFO').toUpperCase();
  return upper in ORDER ? (upper as LogLevel) : 'INFO';
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function createJsonLogger(
  component: string,
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
  minLevel: LogLevel = parseLevel(process.env.DR_LOG_LEVEL),
): Logger {
  const log = (level: LogLevel, message: string, meta: LogMeta = {}) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    const fields: LogMeta = {};
    for (const [key, value] of Object.entries(meta)) fields[key] = serialise(value);
    write(JSON.stringify({ time: new Date().toISOString(), level, component, message, ...fields }));
  };
  return {
    log,
    trace: (m, meta) => log('TRACE', m, meta),
    debug: (m, meta) => log('DEBUG', m, meta),
    info: (m, meta) => log('INFO', m, meta),
    warn: (m, meta) => log('WARN', m, meta),
    error: (m, meta) => log('ERROR', m, meta),
  };
}
