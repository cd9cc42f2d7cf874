/** How services tell the front door what is happening; the CLI prints, the API will stream. */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  /** Shown with -v only: commands run, fallbacks taken. */
  verbose(message: string): void;
}
