/** One process (or group of processes) of the local stack. */
export interface StackService {
  name: string;
  /** Starts the service unless it already runs; refuses when its ports are held by something else. */
  up(): Promise<void>;
  status(): Promise<ServiceStatus>;
  /** Stops what this stack started; harmless when nothing runs. */
  down(): Promise<void>;
  /** Once stopped: deletes the state a move leaves behind, so that the next `up` starts from the initial topology. */
  forget?(): Promise<void>;
}

export interface ServiceStatus {
  name: string;
  running: boolean;
  pids: number[];
  endpoints: string[];
  detail?: string;
}
