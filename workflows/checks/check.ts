export interface Check {
  name: string;
  ok: boolean;
  /** One plain sentence a human reads in the log, the UI and the report. */
  sentence: string;
}
